// The low_temperature analysis: the reward of the model's actions sampled at each of a list of
// temperatures, beside the experts that generated its training data, measured the same way.
// Zhang et al. (2024, "Transcendence: Generative Models Can Outperform the Experts That Train
// Them") prove that a model imitating several experts can beat all of them at low
// temperature, when the experts' errors are diverse: low temperature is a majority vote. The
// dataset offers what is measured (grokkit/evaluation.hpp): a reward oracle over fixed states,
// or an environment of episodes, and its experts.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/evaluation.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace low_temperature {

struct params {
    std::vector<double> temperatures{0.0, 0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5};
    std::int64_t top_k = 0;
    double top_p = 1.0;
    std::string evaluation = "auto";
    std::int64_t samples = 1;
    std::int64_t workers = 0;
    std::string records_file;
    bool experts = true;
};

/// Whether the model transcends its experts: at some temperature its interval lies wholly above
/// the best expert's (the one of highest mean). Non-finite means (every episode aborted) are
/// passed over; an index equal to the count means there was none.
struct verdict {
    std::vector<bool> above;     ///< per temperature: lower bound > best expert's upper bound
    bool transcends = false;     ///< any of them
    std::size_t best = 0;        ///< the temperature of highest mean reward
    double margin = 0.0;         ///< its mean minus the best expert's mean (NaN: no experts)
    std::size_t best_expert = 0; ///< the expert of highest mean
};

/// The mean reward and its 95% interval: grokkit::mean_interval, except that when every reward
/// is the same value in [0, 1] (all games lost), whose normal interval has width 0, it is
/// Wilson's interval at that mean.
grokkit::interval_estimate reward_interval(const std::vector<double>& rewards);

verdict judge(const std::vector<grokkit::interval_estimate>& model,
              const std::vector<grokkit::interval_estimate>& experts);

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

    params m_params;

  private:
    /// "oracle" or "episodes": what the run measures with this dataset.
    std::string mode(const grokkit::dataset& source) const;
    grokkit::sampling_config sampling(std::size_t temperature) const;
};

} // namespace low_temperature
