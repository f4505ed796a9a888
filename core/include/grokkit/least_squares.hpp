// Least squares in closed form, for the interpolation regime: minimum-norm and ridge solutions
// from one SVD, models whose outputs are fixed features times a trained readout, and the
// asymptotic risk of ridge(less) regression on isotropic data (Hastie, Montanari, Rosset and
// Tibshirani 2020).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/export.hpp>
#include <grokkit/model.hpp>

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <vector>

namespace grokkit {

/// Every ridge solution of one least-squares problem from one thin SVD Φ = U S Vᵀ (LAPACK
/// dgesdd, in double): β_λ = V diag(s / (s² + nλ)) Uᵀ y minimises (1/n)‖y − Φβ‖² + λ‖β‖²
/// (Hastie et al.'s scaling of λ), and λ = 0 gives the minimum-norm least-squares solution Φ⁺y,
/// singular values below max(n, p) · ε · s_max counting as zero (numpy's pinv).
class GROKKIT_VISIBLE least_squares {
  public:
    /// `phi` (n, p) and `targets` (n, k), row-major. Throws grokkit::error for sizes that do not
    /// match, a non-finite value, or an SVD that does not converge.
    least_squares(std::vector<double> phi, std::size_t n, std::size_t p,
                  const std::vector<double>& targets, std::size_t k);
    /// β (p, k) row-major for `ridge` >= 0.
    std::vector<double> solve(double ridge) const;
    /// The number of singular values above the tolerance.
    std::size_t rank() const { return m_rank; }
    /// The singular values, descending (min(n, p) of them).
    const std::vector<double>& singular_values() const { return m_s; }

  private:
    std::size_t m_n = 0, m_p = 0, m_k = 0, m_rank = 0;
    std::vector<double> m_s;   // min(n, p)
    std::vector<double> m_v;   // (p, min(n, p)) column-major: the right singular vectors
    std::vector<double> m_uty; // (min(n, p), k) row-major: Uᵀ y
};

/// Capability of a model whose outputs are fixed features times one trained matrix, logits =
/// Φ(x) · W (a linear model without bias, random features): it can be fitted in closed form
/// (fit_readout), and trained from zero by gradient descent it converges to the same
/// minimum-norm solution. Find it with dynamic_cast on a model.
class GROKKIT_VISIBLE linear_readout {
  public:
    virtual ~linear_readout();
    /// Φ(x) (x.n, p), p the readout's rows. Throws grokkit::error when the model's settings make
    /// its outputs other than Φ(x) · W (a bias).
    virtual void readout_features(const batch& x, xt::xtensor<float, 2>& phi) = 0;
    /// parameters()[readout_index()] is W (p, n_outputs); any other parameter stays fixed.
    virtual std::size_t readout_index() const = 0;
    /// Whether Φ(x) = x: least squares on the raw inputs, of which theory speaks.
    virtual bool reads_raw_inputs() const = 0;
};

/// Sets the readout of `net` (a linear_readout) to the ridge(less) least-squares fit of
/// `train`'s real-valued targets (or one-hot labels) and returns the solver, for other ridge
/// values of the same fit. Throws grokkit::error for a model that is not a linear_readout.
least_squares fit_readout(model& net, const example_set& train, double ridge);

/// Sets the readout of `net` to β (p, n_outputs) row-major, as least_squares::solve gives it.
void set_readout(model& net, const std::vector<double>& beta);

/// Capability of a regression dataset for which least squares on its raw features has a known
/// asymptotic test risk. Find it with dynamic_cast on a dataset.
class GROKKIT_VISIBLE least_squares_theory {
  public:
    virtual ~least_squares_theory();
    /// The limit of the test risk that `data`'s test set measures (its mean squared error) for
    /// the ridge estimator with `ridge` fitted on data.train's raw features; NaN where no formula
    /// holds for the dataset's settings.
    virtual double least_squares_risk(const dataset_split& data, double ridge) const = 0;
};

/// The limiting excess risk E[(xᵀ(β̂ − β))²] of ridge regression with x ~ N(0, I_p), a teacher
/// β of norm `signal` and label noise of standard deviation `noise`, as p/n → `gamma`
/// (Hastie et al. 2020, Theorem 5): r²λ² m'(−λ) + σ²γ (m(−λ) − λ m'(−λ)), m the
/// Marchenko–Pastur law's Stieltjes transform. At ridge = 0 it is σ²γ/(1 − γ) for γ < 1 and
/// r²(1 − 1/γ) + σ²/(γ − 1) for γ > 1 (infinite at γ = 1).
double isotropic_ridge_risk(double gamma, double ridge, double signal, double noise);

} // namespace grokkit
