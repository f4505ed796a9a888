// Influence functions (Koh & Liang 2017): the score of training example z on query z_q is
// ∇ℓ(z_q)ᵀ (C + R + λI)⁻¹ ∇ℓ(z), C the curvature of the mean training loss, R the regulariser's
// Hessian and λ the damping, with the inverse applied by one of several methods: an explicit
// Cholesky factor (exact), conjugate gradient (cg) or a stochastic Neumann series (lissa) on
// exact curvature-vector products, eigenvalue-corrected Kronecker factors of the linear layers
// (ekfac), or the Gram matrix of randomly projected margin gradients (trak). TracIn sums gradient
// dot products over checkpoints instead.
//
// Sign and scale, once: removing z from the training set changes the query's loss by about
// +score / n (n training examples). A positive score marks a proponent (the query's loss rises
// without it), a negative one an opponent. Scores are not divided by n, as kronfluence's are not;
// score = −I_up,loss of Koh & Liang. Self-influence ∇ℓ(z)ᵀ (C + R + λI)⁻¹ ∇ℓ(z) is the score of z
// on itself: n × the rise of z's own loss when it is left out, large for examples the model can
// only fit by memorising them.
//
// Memory is bounded: scores leave in tiles of whole columns (a block of training examples for
// every query) through a score_sink, sized so the blocks of gradients and scores fit
// settings::max_memory; the n_queries × n_train matrix never has to be held whole, and the top-k
// per query is kept exactly across tiles.
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
enum class solver { exact, cg, lissa, ekfac, trak };

struct settings {
    solver method = solver::cg;
    grokkit::curvature_kind curvature = grokkit::curvature_kind::hessian;
    /// λ itself, or with relative_damping λ = damping × the mean eigenvalue of C + R, taken as 0
    /// when it is not positive (kronfluence's "0.1 × mean eigenvalue" is damping = 0.1 with
    /// relative_damping).
    double damping = 1e-3;
    bool relative_damping = false;
    /// Keys every random draw: Hutchinson probes, LiSSA's batches, EK-FAC's sampled labels,
    /// TRAK's projection.
    std::uint64_t seed = 0;
    double cg_tolerance = 1e-5; ///< stop at ‖r‖ <= cg_tolerance · ‖g‖
    std::int64_t cg_max_iterations = 1000;
    bool self_influence = true;
    std::size_t top_k = 10; ///< proponents and opponents kept per query
    /// Bytes the method's matrices and blocks may take (the model and its cached passes aside).
    double max_memory = 1024.0 * 1024.0 * 1024.0;
    /// lissa: the series divides the curvature by this; it must exceed half its largest
    /// eigenvalue (of any batch's) to converge. 0: the largest eigenvalue of the whole set's,
    /// estimated by power iteration.
    double lissa_scale = 0.0;
    std::int64_t lissa_depth = 1000;     ///< lissa: terms of the series
    std::int64_t lissa_repeats = 1;      ///< lissa: independent series averaged
    std::int64_t lissa_batch_size = 128; ///< lissa: training examples per curvature product
    std::int64_t trak_dimension = 1024;  ///< trak: random projection's dimension (at most P)
};

/// Probes of Hutchinson's trace estimate (CG, LiSSA): its relative standard error is about
/// sqrt(2 / probes) × ‖C‖_F / trace(C), a few percent for curvatures dominated by their diagonal.
inline constexpr int hutchinson_probes = 16;

/// Power iterations of LiSSA's automatic scale.
inline constexpr int power_iterations = 30;

/// The exact method forms a P × P matrix and factors it: refused above this many parameters.
inline constexpr std::size_t max_exact_parameters = 10'000;

/// One linear solve's outcome.
struct solve_stats {
    std::int64_t iterations = 0; ///< CG iterations, LiSSA terms × repeats (0 for exact, trak)
    double residual = 0.0; ///< CG: ‖g − A x‖ / ‖g‖ of the answer; others: NaN (not formed)
    bool converged = true;
    bool indefinite = false; ///< CG met pᵀAp <= 0: the answer is not a solve (scores NaN)
};

/// The k highest and k lowest scores of each query, kept exactly while tiles of columns arrive.
/// NaN never ranks; ties go to the lower training index, so the ranking is reproducible and
/// does not depend on how the columns were tiled.
class ranking {
  public:
    ranking(std::size_t rows = 0, std::size_t k = 0);
    /// Columns [first, first + count) of every row: `tile` (rows, count), row-major.
    void add(const double* tile, std::size_t first, std::size_t count);
    std::size_t rows() const { return m_rows; }
    std::size_t k() const { return m_k; }
    /// (rows, k) row-major, best first; -1 and NaN where a row has fewer than k valid scores.
    std::vector<std::int64_t> highest() const { return indices(m_high); }
    std::vector<std::int64_t> lowest() const { return indices(m_low); }
    std::vector<double> highest_scores() const { return values(m_high); }
    std::vector<double> lowest_scores() const { return values(m_low); }

  private:
    struct entry {
        double score;
        std::int64_t index;
    };
    std::vector<std::int64_t> indices(const std::vector<std::vector<entry>>& kept) const;
    std::vector<double> values(const std::vector<std::vector<entry>>& kept) const;
    std::size_t m_rows, m_k;
    std::vector<std::vector<entry>> m_high, m_low;
};

/// Receives scores a tile at a time: columns [first, first + count) for every query, `tile`
/// (n_queries, count) row-major. Tiles arrive in column order and cover every column once.
using score_sink =
    std::function<void(std::size_t first, std::size_t count, const std::vector<double>& tile)>;

struct result {
    std::size_t n_queries = 0, n_train = 0, n_parameters = 0;
    /// (n_queries, n_train) when no sink was given; empty otherwise (the sink had them).
    std::vector<double> scores;
    ranking top;                        ///< the top_k proponents and opponents of each query
    std::vector<double> self_influence; ///< (n_train), empty unless settings::self_influence
    std::vector<double> query_loss;     ///< (n_queries) each query's own loss
    std::vector<solve_stats> query_solves, self_solves;
    double train_loss = 0.0; ///< mean training loss at these parameters
    double damping = 0.0;    ///< the λ used
    /// The mean eigenvalue trace(C + R) / P of the undamped curvature: exact from the matrix
    /// (exact, trak's Gram matrix), for cg and lissa Hutchinson's estimate.
    double mean_eigenvalue = 0.0;
    /// exact, when H + R + λI is not positive definite: its smallest eigenvalue (every score and
    /// solve is then NaN and indefinite); NaN otherwise.
    double min_eigenvalue = std::numeric_limits<double>::quiet_NaN();
    double lissa_scale = std::numeric_limits<double>::quiet_NaN(); ///< lissa: the scale used
    std::size_t projection_dimension = 0; ///< trak: k used, at most the parameter count
    std::size_t n_tiles = 0;              ///< tiles of columns the scores came in
    double memory_bytes = 0.0;            ///< the largest working set the method held, by its count
    double seconds_gradients = 0.0, seconds_curvature = 0.0, seconds_solves = 0.0;
};

/// Reports long work: (what, done, total).
using progress_fn = std::function<void(const std::string&, std::int64_t, std::int64_t)>;

/// Influence of every example of `train` on every example of `queries` for the model's current
/// parameters. `curvature_net` and `gradient_net` are two copies of the same model (curvature
/// products and per-example gradients run on them in turn); `regulariser` is
/// grokkit::regulariser_diagonal of the run. Throws grokkit::error naming the setting to change:
/// exact above max_exact_parameters, a max_memory too small for the method's fixed matrices, a
/// LiSSA series that diverges (lissa_scale), trak on a loss other than cross-entropy. A damped
/// curvature that is not positive definite gives NaN scores for the solves it spoils (CG) or for
/// all (exact, with result::min_eigenvalue).
result compute(grokkit::model& curvature_net, grokkit::model& gradient_net,
               const grokkit::example_set& train, const grokkit::example_set& queries,
               const grokkit::loss_config& loss, const std::vector<double>& regulariser,
               const settings& s, const score_sink& sink = {}, const progress_fn& progress = {});

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
/// caused. `net` ends with the parameters it started with (whose losses are reported). Reads
/// self_influence, top_k and max_memory from `s`.
result tracin(grokkit::model& net, const grokkit::example_set& train,
              const grokkit::example_set& queries, const grokkit::loss_config& loss,
              const std::vector<tracin_checkpoint>& checkpoints, const settings& s,
              const score_sink& sink = {}, const progress_fn& progress = {});

} // namespace influence
