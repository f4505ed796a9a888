// The memorisation analysis: how a model fits the training labels a dataset replaced.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <vector>

namespace memorisation {

/// Accuracies on the noisy and clean parts of the training set, from the logits.
struct fit_counts {
    double noisy_fit = 0;  ///< share of noisy examples predicted as their (wrong) training label
    double noisy_true = 0; ///< share of noisy examples predicted as their true label
    double clean_accuracy = 0; ///< share of clean training examples predicted correctly
};

/// `predicted` (n_train) arg-max classes; `train_labels` as trained; `noisy_index` positions
/// within the training set whose labels were replaced, `true_label` their true labels.
fit_counts count_fit(const std::vector<std::int32_t>& predicted, const std::int32_t* train_labels,
                     const std::vector<std::int64_t>& noisy_index,
                     const std::vector<std::int64_t>& true_label);

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

  private:
    bool m_per_example = false;
};

} // namespace memorisation
