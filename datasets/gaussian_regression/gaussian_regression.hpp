// The gaussian_regression dataset: x ~ N(0, Σ) in R^d, real-valued targets from a linear or a
// random-network teacher plus Gaussian noise (or their signs as two classes), for the
// interpolation regime: ridgeless double descent (Hastie et al. 2020) and the law of
// robustness (Bubeck and Sellke 2021).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/dataset.hpp>
#include <grokkit/least_squares.hpp>

#include <cstdint>
#include <string>

namespace gaussian_regression {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t dim = 100;
    std::int64_t n_train = 200;
    std::int64_t n_test = 1000;
    std::string covariance = "isotropic";
    double decay = 1.0;
    std::string teacher = "linear";
    std::int64_t teacher_width = 32;
    double signal = 1.0;
    double noise = 0.5;
    bool test_noise = false;
    std::string task = "regression";
    double label_noise = 0.0;
};

/// n_train + n_test points, point i from its own stream (seed, "points", i): x = Σ^½ z with z ~
/// N(0, I_d) and Σ diagonal, the identity ("isotropic") or eigenvalues ∝ j^−decay scaled to
/// mean 1 ("power_law"). The teacher f is drawn from the seed: "linear", f(x) = xᵀβ with β
/// uniform on the sphere of radius `signal`; or "random_network", f(x) = c Σ_k a_k (relu(w_kᵀx)
/// − 1/√(2π)) with w_k ~ N(0, I/d) and a_k ~ N(0, 1), c setting E f² to about signal² for
/// isotropic x. Regression targets are f(x) + noise·ε (the test set's without ε unless
/// test_noise, so its mean squared error is the excess risk); classification labels are 1 when
/// f(x) + noise·ε > 0, with label_noise of the training labels then flipped.
class dataset_impl : public grokkit::dataset, public grokkit::least_squares_theory {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    grokkit::dataset_split generate(std::uint64_t seed) const override;
    /// Hastie et al.'s limit (grokkit::isotropic_ridge_risk) at γ = dim / n_train, plus noise²
    /// when the test targets are noisy, for an isotropic linear regression; NaN otherwise.
    double least_squares_risk(const grokkit::dataset_split& data, double ridge) const override;

  private:
    params m_params;
};

} // namespace gaussian_regression
