// Influence functions (Koh & Liang 2017) solved exactly: the score of training example z on
// query z_q is ∇ℓ(z_q)ᵀ (H + R + λI)⁻¹ ∇ℓ(z), H the curvature of the mean training loss, R the
// regulariser's Hessian and λ the damping, by an explicit Cholesky factorisation or by
// conjugate gradient on exact curvature-vector products.
//
// Sign and scale, once: removing z from the training set changes the query's loss by about
// +score / n (n training examples). A positive score marks a proponent (the query's loss rises
// without it), a negative one an opponent. Scores are not divided by n, as kronfluence's are not;
// score = −I_up,loss of Koh & Liang. Self-influence ∇ℓ(z)ᵀ (H + R + λI)⁻¹ ∇ℓ(z) is the score of z
// on itself: n × the rise of z's own loss when it is left out, large for examples the model can
// only fit by memorising them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/curvature.hpp>
#include <grokkit/data.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace influence {

/// How the inverse curvature is applied.
enum class solver { exact, cg };

struct settings {
    solver method = solver::cg;
    grokkit::curvature_kind curvature = grokkit::curvature_kind::hessian;
    /// λ itself, or with relative_damping λ = damping × the mean eigenvalue of C + R, taken as 0
    /// when it is not positive (kronfluence's "0.1 × mean eigenvalue" is damping = 0.1 with
    /// relative_damping).
    double damping = 1e-3;
    bool relative_damping = false;
    /// Keys the Hutchinson probes that estimate CG's mean eigenvalue.
    std::uint64_t probe_seed = 0;
    double cg_tolerance = 1e-5; ///< stop at ‖r‖ <= cg_tolerance · ‖g‖
    std::int64_t cg_max_iterations = 1000;
    bool self_influence = true;
};

/// Probes of Hutchinson's trace estimate (CG): its relative standard error is about
/// sqrt(2 / probes) × ‖C‖_F / trace(C), a few percent for curvatures dominated by their diagonal.
inline constexpr int hutchinson_probes = 16;

/// The exact method forms a P × P matrix and factors it: refused above this many parameters.
inline constexpr std::size_t max_exact_parameters = 10'000;

/// One linear solve's outcome.
struct solve_stats {
    std::int64_t iterations = 0; ///< CG iterations (0 for exact)
    double residual = 0.0; ///< CG: ‖g − A x‖ / ‖g‖ of the answer; exact: NaN (not formed)
    bool converged = true;
    bool indefinite = false; ///< CG met pᵀAp <= 0: the answer is not a solve (scores NaN)
};

struct result {
    std::size_t n_queries = 0, n_train = 0, n_parameters = 0;
    std::vector<double> scores;         ///< (n_queries, n_train)
    std::vector<double> self_influence; ///< (n_train), empty unless settings::self_influence
    std::vector<double> query_loss;     ///< (n_queries) each query's own loss
    std::vector<solve_stats> query_solves, self_solves;
    double train_loss = 0.0; ///< mean training loss at these parameters
    double damping = 0.0;    ///< the λ used
    /// The mean eigenvalue trace(C + R) / P of the undamped curvature: exact from the matrix, for
    /// CG Hutchinson's estimate from hutchinson_probes Rademacher probes.
    double mean_eigenvalue = 0.0;
    /// exact, when H + R + λI is not positive definite: its smallest eigenvalue (every score and
    /// solve is then NaN and indefinite); NaN otherwise.
    double min_eigenvalue = std::numeric_limits<double>::quiet_NaN();
    double seconds_gradients = 0.0, seconds_curvature = 0.0, seconds_solves = 0.0;
};

/// Reports long work: (what, done, total).
using progress_fn = std::function<void(const std::string&, std::int64_t, std::int64_t)>;

/// Influence of every example of `train` on every example of `queries` for the model's current
/// parameters. `curvature_net` and `gradient_net` are two copies of the same model (curvature
/// products and per-example gradients run on them in turn); `regulariser` is
/// grokkit::regulariser_diagonal of the run. Throws grokkit::error for exact above
/// max_exact_parameters (naming cg). A damped curvature that is not positive definite gives NaN
/// scores for the solves it spoils (CG) or for all (exact, with result::min_eigenvalue).
result compute(grokkit::model& curvature_net, grokkit::model& gradient_net,
               const grokkit::example_set& train, const grokkit::example_set& queries,
               const grokkit::loss_config& loss, const std::vector<double>& regulariser,
               const settings& s, const progress_fn& progress = {});

/// One term of TracIn's sum: a checkpoint's weight, the learning rate summed over the updates it
/// stands for, and (read when needed) its parameters.
struct tracin_checkpoint {
    double weight = 0.0;
    std::function<std::vector<float>()> parameters;
};

/// TracIn-CP (Pruthi et al. 2020): score(z, q) = Σ_c w_c ∇ℓ(q; θ_c) · ∇ℓ(z; θ_c) over
/// `checkpoints`, and self-influence Σ_c w_c ‖∇ℓ(z; θ_c)‖². Positive marks a proponent, as for
/// the solves, but the scale differs: with full-batch gradient descent, w_c the learning rates of
/// the updates from checkpoint c to the next, and gradients that change little in between,
/// score / n_train is the first-order fall of the query's loss that z's share of those updates
/// caused. `net` ends with the parameters it started with (whose losses are reported).
result tracin(grokkit::model& net, const grokkit::example_set& train,
              const grokkit::example_set& queries, const grokkit::loss_config& loss,
              const std::vector<tracin_checkpoint>& checkpoints, bool self_influence,
              const progress_fn& progress = {});

/// Per row of `scores` (rows, cols): the columns of the k largest values, largest first
/// (`highest`) and of the k smallest, smallest first (`lowest`); NaN never ranks.
void rank_rows(const std::vector<double>& scores, std::size_t rows, std::size_t cols, std::size_t k,
               std::vector<std::int64_t>& highest, std::vector<std::int64_t>& lowest);

} // namespace influence
