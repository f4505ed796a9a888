// Exact curvature of a run's training objective: Hessian- and Gauss–Newton-vector products
// through the model's tangent passes (no finite differences), the run's regulariser, damping,
// and conjugate gradient on them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/export.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/optimizer.hpp>

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace grokkit {

/// Which curvature of the mean loss: the Hessian H = Σ Jᵀ ∇²ℓ J + Σ_c ∂ℓ/∂z_c ∇²z_c, or its
/// Gauss–Newton part G = Jᵀ ∇²ℓ J (positive semi-definite for cross-entropy and mse; the two
/// agree for models whose logits are linear in the parameters, such as `linear`).
enum class curvature_kind { hessian, gauss_newton };

/// Parses "hessian" or "gauss_newton"; throws grokkit::error naming both otherwise.
GROKKIT_VISIBLE curvature_kind curvature_from_string(const std::string& name);

/// The Hessian of the penalties the optimiser adds to the mean loss's gradient, as a diagonal
/// over flat parameters (flat_parameters order): l2 on every parameter, plus weight_decay on the
/// parameters with `decay` set for sgd and adam, whose decay is the gradient of ½·wd·‖w‖². AdamW's
/// decoupled decay shrinks weights outside the gradient and so is not the gradient of any
/// objective, and l1's Hessian is 0 wherever it is defined: neither adds a term.
GROKKIT_VISIBLE std::vector<double> regulariser_diagonal(model& m, const optimizer_config& cfg);

/// v ↦ (C + diag(r) + λI) v, with C the curvature (curvature_kind) of the mean loss over
/// `examples` at the model's current parameters, r the regulariser diagonal and λ the damping.
/// Products are in float through the model's passes and accumulated in double; v and the
/// result are double. The constructor runs forward() (and for the Hessian backward()) once;
/// each apply() then runs forward_tangent() and backward_tangent() (Hessian) or backward()
/// (Gauss–Newton) at those parameters, so nothing else may run on the model while this object
/// is in use (give it its own copy: analysis_context::copy_model()). A model may repeat its
/// forward and backward pass in its first tangent pass (transformer does, off its token table).
class GROKKIT_VISIBLE curvature_product {
  public:
    curvature_product(model& m, const example_set& examples, const loss_config& loss,
                      curvature_kind kind, std::vector<double> regulariser, double damping);
    curvature_product(const curvature_product&) = delete;
    curvature_product& operator=(const curvature_product&) = delete;

    /// P, the number of parameter values.
    std::size_t size() const { return m_regulariser.size(); }
    /// The mean loss over the examples at these parameters.
    double mean_loss() const { return m_mean_loss; }
    double damping() const { return m_damping; }
    /// Changes λ for later apply() calls (a damping relative to the curvature, once it is known).
    void set_damping(double damping);
    /// out = (C + diag(r) + λI) v; both have size() values.
    void apply(const std::vector<double>& v, std::vector<double>& out);
    /// The explicit (P, P) row-major matrix, one apply() per column, symmetrised as (A + Aᵀ)/2
    /// (float rounding leaves the columns asymmetric by ~1e-7 relative).
    std::vector<double> explicit_matrix();

  private:
    model& m_net;
    const example_set& m_examples;
    loss_config m_loss;
    curvature_kind m_kind;
    std::vector<double> m_regulariser;
    double m_damping;
    double m_mean_loss = 0.0;
    xt::xtensor<float, 2> m_logits, m_dlogits, m_t_logits, m_t_dlogits;
    loss_curvature m_loss_curvature;
    std::vector<float> m_direction;
};

/// What conjugate_gradient() reached.
struct cg_result {
    std::size_t iterations = 0;
    /// ‖b − A x‖ / ‖b‖ of the returned x, from one more product (not the recurrence's estimate,
    /// which drifts from it in finite precision); 0 for b = 0.
    double relative_residual = 0.0;
    bool converged = false;  ///< the recurrence's residual reached the tolerance
    bool indefinite = false; ///< a direction with pᵀ A p <= 0 was met: A is not positive definite
};

/// Solves A x = b for symmetric positive definite A given by `apply(v, out)` (out = A v), from
/// x = 0 (Hestenes–Stiefel). Stops when the recurrence's residual satisfies ‖r‖ <= tolerance ·
/// ‖b‖, after max_iterations, or at a direction of non-positive curvature (x is then the last
/// iterate). `x` is resized to b's size.
GROKKIT_VISIBLE cg_result conjugate_gradient(
    const std::function<void(const std::vector<double>&, std::vector<double>&)>& apply,
    const std::vector<double>& b, std::vector<double>& x, double tolerance,
    std::size_t max_iterations);

} // namespace grokkit
