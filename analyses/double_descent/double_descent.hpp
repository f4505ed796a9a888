// The double_descent analysis: train and test risk of closed-form least squares as the ratio of
// parameters to samples, γ = p/n, crosses the interpolation threshold, for ridge values from 0,
// beside Hastie et al.'s (2020) limit where the dataset offers one.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace double_descent {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::string vary = "dataset.dim";
    std::vector<double> ratios = {0.2, 0.4, 0.6, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0};
    std::vector<double> ridges = {0.0};
    std::int64_t draws = 20;
};

/// One fitted variant: per ridge value, its risks and the solution's norm.
struct fit_result {
    double gamma = 0.0; ///< readout rows / training examples
    std::vector<double> train_risk, test_risk, test_error, norm;
};

/// At each ratio γ the run's dataset and model are regenerated (analysis_context::variant) with
/// the setting `vary` (a dataset or model parameter: the dimension d, a width p) at round(γ · n),
/// n the run's training examples, once per draw with the draw's own seed; the model (a
/// grokkit::linear_readout) is fitted in closed form for every ridge value from one SVD
/// (grokkit::least_squares), and its mean squared errors on the variant's training and test sets
/// and the solution's norm are recorded. The trained model of the run is not used: the analysis
/// needs a run of 0 steps.
class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

  private:
    fit_result fit_variant(grokkit::run_variant& v) const;

    params m_params;
};

} // namespace double_descent
