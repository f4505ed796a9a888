// The robustness analysis: how smooth a trained model's fit is. Input-gradient norms at training
// and test points, the largest slope along segments between training points (a lower bound on
// the Lipschitz constant), beside the scale sqrt(n d / P) that Bubeck and Sellke's (2021) law of
// robustness says an interpolating model of P parameters cannot beat on noisy data.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <vector>

namespace robustness {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t segments = 500;
    std::int64_t points_per_segment = 16;
};

/// Summary of the Jacobian norms ‖∂f/∂x‖_F over one example set.
struct gradient_summary {
    double mean = 0.0;
    double max = 0.0;
};

/// ‖∂f(x_i)/∂x_i‖_F of every example of `set` (one input_gradients pass per output).
std::vector<double> jacobian_norms(grokkit::model& net, const grokkit::example_set& set,
                                   std::size_t n_outputs);

/// The largest ‖f(x_{k+1}) − f(x_k)‖ / ‖x_{k+1} − x_k‖ over `points` evenly spaced points on
/// each segment [a, b] between the training inputs of `pairs` (i, j): a lower bound on the
/// Lipschitz constant of f in the Euclidean norms.
double largest_segment_slope(grokkit::model& net, const grokkit::example_set& train,
                             const std::vector<std::pair<std::size_t, std::size_t>>& pairs,
                             std::size_t points);

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

  private:
    params m_params;
};

} // namespace robustness
