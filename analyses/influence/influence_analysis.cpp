// influence: parameters, outputs, and the run at one checkpoint.
// SPDX-License-Identifier: Apache-2.0
#include "influence_analysis.hpp"

#include <grokkit/error.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

namespace influence {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void fail(const std::string& key, const std::string& what,
                       const std::string& expected) {
    throw grokkit::error(grokkit::diagnostic{"influence.outputs", key, what, expected, 0, 0});
}

settings settings_of(const params& p) {
    settings s;
    s.method = p.method == "exact"   ? solver::exact
               : p.method == "lissa" ? solver::lissa
               : p.method == "ekfac" ? solver::ekfac
               : p.method == "trak"  ? solver::trak
                                     : solver::cg;
    s.curvature = grokkit::curvature_from_string(p.curvature);
    s.damping = p.damping;
    s.relative_damping = p.relative_damping;
    s.cg_tolerance = p.cg_tolerance;
    s.cg_max_iterations = p.cg_max_iterations;
    s.self_influence = p.self_influence;
    s.top_k = static_cast<std::size_t>(p.top_k);
    s.max_memory = p.max_memory * 1024.0 * 1024.0;
    s.lissa_scale = p.lissa_scale;
    s.lissa_depth = p.lissa_depth;
    s.lissa_repeats = p.lissa_repeats;
    s.lissa_batch_size = p.lissa_batch_size;
    s.trak_dimension = p.trak_dimension;
    return s;
}

// Rows of `values` (rows, cols) as a 2-D array.
template <class T>
xt::xarray<T> table(const std::vector<T>& values, std::size_t rows, std::size_t cols) {
    xt::xarray<T> a = xt::xarray<T>::from_shape({rows, cols});
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}

} // namespace

void analysis_impl::declare(grokkit::param_set& ps) {
    auto& p = m_params;
    ps.add("method", p.method,
           "exact: the explicit curvature matrix and its Cholesky factor (models of at most "
           "10,000 parameters); cg: conjugate gradient on exact curvature-vector products; "
           "lissa: a stochastic Neumann series on curvature products of random batches "
           "(lissa_*); ekfac: eigenvalue-corrected Kronecker factors of the model's linear "
           "layers from labels sampled from the model (the Gauss-Newton matrix; other "
           "parameters play no part; kronfluence's damping is damping = 0.1 with "
           "relative_damping); trak: TRAK's estimator, per-example gradients randomly projected to "
           "trak_dimension and the Gram matrix of their margin gradients (cross-entropy only; "
           "curvature plays no part); tracin: TracIn-CP, gradient dot products summed over the "
           "checkpoints before this one, each weighted by the learning rate times the updates "
           "to the next (no curvature: curvature, damping and the solver settings play no part)")
        .one_of({"exact", "cg", "lissa", "ekfac", "trak", "tracin"});
    ps.add("curvature", p.curvature,
           "hessian: the training loss's Hessian (Koh & Liang); gauss_newton: its Gauss-Newton "
           "part J^T H_loss J, positive semi-definite (the same for linear models)")
        .one_of({"hessian", "gauss_newton"});
    ps.add("damping", p.damping,
           "lambda added to the curvature's diagonal, on top of the run's l2 and coupled weight "
           "decay (with relative_damping, the multiple of its mean eigenvalue)")
        .at_least(0);
    ps.add("relative_damping", p.relative_damping,
           "lambda = damping * the mean eigenvalue of the undamped curvature at each checkpoint "
           "(kronfluence's 0.1 x mean eigenvalue is damping = 0.1): a damping that keeps its "
           "weight as the curvature shrinks over training");
    ps.add("queries", p.queries, "the split the queries come from").one_of({"test", "train"});
    ps.add("query_positions", p.query_positions,
           "optional: these positions in the query split (each once; taken in ascending order), "
           "instead of the whole split")
        .at_least(0);
    ps.add("query_index", p.query_index,
           "optional: positions in the query split from an earlier analysis over the same split "
           "(<analysis>/<output>, int64), such as hull_test's out_of_hull")
        .input(grokkit::dtype::int64);
    ps.add("max_queries", p.max_queries,
           "at most this many queries per checkpoint: when more, a sample keyed by the run seed "
           "(the same for every influence analysis of the run); the rows of the query outputs")
        .at_least(1)
        .at_most(100'000);
    ps.add("top_k", p.top_k, "proponents and opponents kept per query").at_least(1);
    ps.add("self_influence", p.self_influence,
           "also the self-influence of every training example (cg: one solve each)");
    ps.add("cg_tolerance", p.cg_tolerance,
           "cg: stop when the residual norm is at most cg_tolerance times the gradient's")
        .above(0)
        .below(1);
    ps.add("cg_max_iterations", p.cg_max_iterations, "cg: iterations per solve at most")
        .at_least(1);
    ps.add("max_memory", p.max_memory,
           "MiB the method's matrices and blocks may take: scores are computed and written in "
           "tiles of training examples that fit, so the n_queries x n_train matrix is never "
           "held whole (the top_k are kept exactly across tiles); an error says what is needed "
           "when the fixed part (query gradients, exact's matrix, trak's features) does not fit")
        .above(0);
    ps.add("lissa_scale", p.lissa_scale,
           "lissa: s in h <- v + (I - A_batch / s) h; the series converges only when s exceeds "
           "half of every batch's largest eigenvalue, and is stopped with an error naming this "
           "knob when it does not; 0: 1.25 x the whole set's largest eigenvalue (30 power "
           "iterations), doubled until the queries' series converge")
        .at_least(0);
    ps.add("lissa_depth", p.lissa_depth,
           "lissa: terms of each series (it needs about lissa_scale / (damping + smallest "
           "eigenvalue) of them to converge)")
        .at_least(1);
    ps.add("lissa_repeats", p.lissa_repeats, "lissa: independent series averaged").at_least(1);
    ps.add("lissa_batch_size", p.lissa_batch_size,
           "lissa: training examples (drawn with replacement, keyed by the analysis seed) per "
           "curvature product; at least the training set's size: the whole set, a deterministic "
           "series")
        .at_least(1);
    ps.add("trak_dimension", p.trak_dimension,
           "trak: k, the dimension of the seeded random projection (with k >= the parameter "
           "count it is exact for its curvature)")
        .at_least(1)
        .at_most(65'536);
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("query", dtype::int64, {"n_queries"}, "index",
           "position in the query split of each row's query; -1 for rows unused at this "
           "checkpoint");
    os.add("query_loss", dtype::float64, {"n_queries"}, "nats", "each query's loss (NaN unused)");
    os.add("query_split", dtype::string, {}, "", "the split `query` indexes: test or train");
    os.add("scores", dtype::float64, {"n_queries", "n_train"}, "1",
           "grad l(query)^T (H + R + lambda I)^-1 grad l(train): about n_train times the rise in "
           "the query's loss when the training example is left out; > 0 a proponent, < 0 an "
           "opponent (NaN unused or indefinite); trak: with TRAK's curvature in projection; "
           "tracin: sum_c w_c grad l(query).grad l(train) at the checkpoints. Written in tiles "
           "(chunked by blocks, so one query's row reads alone)")
        .axes({"query", "train"})
        .tiled();
    os.add("proponents", dtype::int64, {"n_queries", "top_k"}, "index",
           "training examples of the highest scores, highest first (-1 unused)")
        .axes({"query", "rank"});
    os.add("proponent_scores", dtype::float64, {"n_queries", "top_k"}, "1", "their scores")
        .axes({"query", "rank"});
    os.add("opponents", dtype::int64, {"n_queries", "top_k"}, "index",
           "training examples of the lowest scores, lowest first (-1 unused)")
        .axes({"query", "rank"});
    os.add("opponent_scores", dtype::float64, {"n_queries", "top_k"}, "1", "their scores")
        .axes({"query", "rank"});
    os.add("self_influence", dtype::float64, {"n_train"}, "1",
           "grad l(z)^T (H + R + lambda I)^-1 grad l(z) per training example: a memorisation "
           "score; NaN where a solve met non-positive curvature (CG on an indefinite matrix need "
           "not meet it, and may then return any value, even negative); tracin: sum_c w_c "
           "|grad l(z)|^2")
        .optional("self_influence = true");
    os.add("query_iterations", dtype::int64, {"n_queries"}, "1",
           "CG iterations of each query's solve, lissa's terms times repeats (0 for exact, trak "
           "and tracin, -1 unused)");
    os.add("query_residual", dtype::float64, {"n_queries"}, "1",
           "cg: |g - A x| / |g| of each query's solve, from one more product; NaN for exact, "
           "tracin and unused rows");
    os.add("self_iterations", dtype::int64, {"n_train"}, "1",
           "CG iterations of each training example's self-influence solve (0 for exact and "
           "tracin)")
        .optional("self_influence = true");
    os.add("self_residual", dtype::float64, {"n_train"}, "1",
           "cg: the relative residual of each self-influence solve; NaN for exact and tracin")
        .optional("self_influence = true");
    os.add("n_used", dtype::int64, {}, "1", "queries scored at this checkpoint");
    os.add("n_tiles", dtype::int64, {}, "1",
           "tiles of training examples the scores were computed and written in (max_memory)");
    os.add("memory_mib", dtype::float64, {}, "MiB",
           "the largest working set of the method's matrices and blocks, by its own count (the "
           "model and its cached passes aside)");
    os.add("lissa_scale", dtype::float64, {}, "1",
           "lissa: the scale s used (the one set, or the automatic one); NaN otherwise");
    os.add("n_unconverged", dtype::int64, {}, "1",
           "CG solves that stopped at cg_max_iterations above the tolerance");
    os.add("n_indefinite", dtype::int64, {}, "1",
           "solves without an answer (their scores are NaN): CG's that met non-positive "
           "curvature, or all of exact's when H + R + lambda I is not positive definite");
    os.add("damping", dtype::float64, {}, "1", "the damping lambda used (NaN for tracin)");
    os.add("n_checkpoints", dtype::int64, {}, "1",
           "tracin: the checkpoints summed (every one before this); 0 otherwise");
    os.add("mean_eigenvalue", dtype::float64, {}, "1",
           "trace(C + R) / P of the undamped curvature: exact from the matrix (trak: of "
           "M^T M / n + R, M the margin gradients; ekfac: the mean corrected eigenvalue plus "
           "R over the linear layers' parameters), cg and lissa by Hutchinson's estimate from "
           "16 Rademacher probes; NaN for tracin");
    os.add("min_eigenvalue", dtype::float64, {}, "1",
           "exact: the smallest eigenvalue of H + R + lambda I when it is not positive definite "
           "(every score is then NaN: raise damping above damping - min_eigenvalue, or use "
           "gauss_newton), trak: of its projected matrix; NaN when it is");
    os.add("regulariser", dtype::float64, {}, "1",
           "the largest value of the regulariser's Hessian diagonal R (l2, plus coupled weight "
           "decay on decayed parameters; unused by tracin)");
    os.add("train_loss", dtype::float64, {}, "nats", "mean training loss at these parameters");
    os.add("n_parameters", dtype::int64, {}, "1", "P: the model's parameter count");
    os.add("seconds_gradients", dtype::float64, {}, "s", "per-example gradients");
    os.add("seconds_curvature", dtype::float64, {}, "s",
           "the forward and backward pass the curvature products start from, and for exact "
           "forming and factoring the matrix");
    os.add("seconds_solves", dtype::float64, {}, "s", "the solves and score products");
    os.add("seconds_total", dtype::float64, {}, "s", "the whole checkpoint (wall)");
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const auto& p = m_params;
    const auto& split = p.queries == "test" ? setup.data.test : setup.data.train;
    const std::size_t n_train = setup.data.train.size();
    if (n_train == 0)
        fail("queries", "the train split is empty", "a dataset with training examples");
    if (split.size() == 0)
        fail("queries", "the " + p.queries + " split is empty", "a split with examples");
    if (!p.query_positions.empty() && !p.query_index.empty())
        fail("query_positions", "both query_positions and query_index are set",
             "one way of choosing the queries");
    for (const auto i : p.query_positions)
        if (static_cast<std::size_t>(i) >= split.size())
            fail("query_positions", "position " + std::to_string(i),
                 "positions in the " + p.queries + " split, 0 to " +
                     std::to_string(split.size() - 1));
    std::vector<std::int64_t> sorted = p.query_positions;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        fail("query_positions",
             "position " + std::to_string(*std::adjacent_find(sorted.begin(), sorted.end())) +
                 " given twice",
             "each position once (the queries are taken in ascending order)");
    const std::size_t n_params = grokkit::parameter_count(setup.net);
    if (p.method == "exact" && n_params > max_exact_parameters)
        fail("method",
             "exact: the model has " + std::to_string(n_params) + " parameters (a " +
                 std::to_string(n_params) + "^2 matrix)",
             "at most " + std::to_string(max_exact_parameters) + " parameters, or method = \"cg\"");
    const std::size_t candidates =
        p.query_positions.empty() ? split.size() : p.query_positions.size();
    out.size("n_queries", std::min(candidates, static_cast<std::size_t>(p.max_queries)));
    out.size("n_train", n_train);
    out.size("top_k", std::min(n_train, static_cast<std::size_t>(p.top_k)));
    if (!p.self_influence)
        for (const char* o : {"self_influence", "self_iterations", "self_residual"})
            out.skip(o);
}

std::vector<std::int64_t> analysis_impl::pick_queries(grokkit::analysis_context& ctx) const {
    const auto& p = m_params;
    const auto& split = p.queries == "test" ? ctx.data().test : ctx.data().train;
    std::vector<std::int64_t> candidates(split.size());
    std::iota(candidates.begin(), candidates.end(), std::int64_t{0});
    if (!p.query_positions.empty())
        candidates = p.query_positions;
    if (!p.query_index.empty())
        candidates = ctx.input(p.query_index).int64s();
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (const auto i : candidates)
        if (i < 0 || static_cast<std::size_t>(i) >= split.size())
            throw grokkit::error("influence.run",
                                 "query_index \"" + p.query_index + "\" holds " + std::to_string(i),
                                 "positions in the " + p.queries + " split, 0 to " +
                                     std::to_string(split.size() - 1));
    // Keyed by the run seed, not this analysis' own: every influence analysis of a run (and
    // retraining) samples the same queries, so methods and settings compare row for row.
    std::vector<std::int64_t> picked;
    for (const std::size_t k :
         grokkit::sample_sorted(ctx.run_seed(), "influence queries", candidates.size(),
                                static_cast<std::size_t>(p.max_queries)))
        picked.push_back(candidates[k]);
    return picked;
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto& split = m_params.queries == "test" ? ctx.data().test : ctx.data().train;
    const std::vector<std::int64_t> picked = pick_queries(ctx);
    const grokkit::example_set queries =
        grokkit::subset(split, std::vector<std::size_t>(picked.begin(), picked.end()));
    const auto curvature_net = ctx.copy_model();
    const auto gradient_net = ctx.copy_model();
    const std::vector<double> regulariser =
        grokkit::regulariser_diagonal(*curvature_net, ctx.training().optimizer);
    const progress_fn progress = [&ctx](const std::string& what, std::int64_t done,
                                        std::int64_t total) { ctx.progress(what, done, total); };
    std::vector<tracin_checkpoint> checkpoints;
    if (m_params.method == "tracin") {
        // Every checkpoint before this one, weighted by the updates taken from it to the next:
        // this one's own updates are still to come (none at step 0, where every score is 0).
        const auto committed = ctx.checkpoints();
        for (std::size_t c = 0; c + 1 < committed.size(); ++c) {
            const double updates =
                static_cast<double>(committed[c + 1].updates - committed[c].updates);
            checkpoints.push_back({committed[c].learning_rate * updates,
                                   [&ctx, c] { return ctx.checkpoint_parameters(c); }});
        }
    }
    settings s = settings_of(m_params);
    s.seed =
        grokkit::rng(ctx.seed(), "influence", static_cast<std::uint64_t>(ctx.step())).next_u64();
    const score_sink sink = scores_to(ctx, queries.size());
    const result r = m_params.method == "tracin"
                         ? tracin(*gradient_net, ctx.data().train, queries, ctx.loss(), checkpoints,
                                  s, sink, progress)
                         : compute(*curvature_net, *gradient_net, ctx.data().train, queries,
                                   ctx.loss(), regulariser, s, sink, progress);
    ctx.write("n_checkpoints", static_cast<std::int64_t>(checkpoints.size()));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write(ctx, picked, r, seconds);
    const double largest =
        regulariser.empty() ? 0.0 : *std::max_element(regulariser.begin(), regulariser.end());
    ctx.write("regulariser", largest);
}

std::size_t analysis_impl::rows(const grokkit::analysis_context& ctx) const {
    const auto& split = m_params.queries == "test" ? ctx.data().test : ctx.data().train;
    const std::size_t candidates =
        m_params.query_positions.empty() ? split.size() : m_params.query_positions.size();
    return std::min(candidates, static_cast<std::size_t>(m_params.max_queries));
}

score_sink analysis_impl::scores_to(grokkit::analysis_context& ctx, std::size_t used) const {
    const std::size_t unused = rows(ctx) - used;
    return [&ctx, used, unused](std::size_t first, std::size_t count,
                                const std::vector<double>& tile) {
        if (used > 0)
            ctx.write_tile("scores", {0, first}, table(tile, used, count));
        if (unused > 0)
            ctx.write_tile("scores", {used, first},
                           table(std::vector<double>(unused * count, nan), unused, count));
    };
}

void analysis_impl::write(grokkit::analysis_context& ctx, const std::vector<std::int64_t>& picked,
                          const result& r, double seconds_total) const {
    const std::size_t rows = this->rows(ctx);
    const std::size_t k = std::min(r.n_train, static_cast<std::size_t>(m_params.top_k));
    const std::size_t used = r.n_queries;
    // Every per-query output has `rows` rows; the first `used` hold this checkpoint's queries.
    std::vector<std::int64_t> query(rows, -1), iterations(rows, -1);
    std::vector<double> query_loss(rows, nan), residual(rows, nan);
    std::int64_t unconverged = 0, indefinite = 0;
    for (std::size_t q = 0; q < used; ++q) {
        query[q] = picked[q];
        query_loss[q] = r.query_loss[q];
        iterations[q] = r.query_solves[q].iterations;
        residual[q] = r.query_solves[q].residual;
        unconverged += !r.query_solves[q].converged && !r.query_solves[q].indefinite;
        indefinite += r.query_solves[q].indefinite;
    }
    // The ranking's rows are the used queries; the rest stay -1 and NaN.
    const auto padded = [rows, k](auto values, auto fill) {
        values.resize(rows * k, fill);
        return table(values, rows, k);
    };
    ctx.write("query", query);
    ctx.write("query_split", m_params.queries);
    ctx.write("query_loss", query_loss);
    ctx.write("proponents", padded(r.top.highest(), std::int64_t{-1}));
    ctx.write("proponent_scores", padded(r.top.highest_scores(), nan));
    ctx.write("opponents", padded(r.top.lowest(), std::int64_t{-1}));
    ctx.write("opponent_scores", padded(r.top.lowest_scores(), nan));
    ctx.write("query_iterations", iterations);
    ctx.write("query_residual", residual);
    if (m_params.self_influence) {
        std::vector<std::int64_t> self_iterations;
        std::vector<double> self_residual;
        for (const solve_stats& s : r.self_solves) {
            self_iterations.push_back(s.iterations);
            self_residual.push_back(s.residual);
            unconverged += !s.converged && !s.indefinite;
            indefinite += s.indefinite;
        }
        ctx.write("self_influence", r.self_influence);
        ctx.write("self_iterations", self_iterations);
        ctx.write("self_residual", self_residual);
    }
    ctx.write("n_used", static_cast<std::int64_t>(used));
    ctx.write("n_tiles", static_cast<std::int64_t>(r.n_tiles));
    ctx.write("memory_mib", r.memory_bytes / (1024.0 * 1024.0));
    ctx.write("lissa_scale", r.lissa_scale);
    ctx.write("n_unconverged", unconverged);
    ctx.write("n_indefinite", indefinite);
    ctx.write("damping", r.damping);
    ctx.write("mean_eigenvalue", r.mean_eigenvalue);
    ctx.write("min_eigenvalue", r.min_eigenvalue);
    ctx.write("train_loss", r.train_loss);
    ctx.write("n_parameters", static_cast<std::int64_t>(r.n_parameters));
    ctx.write("seconds_gradients", r.seconds_gradients);
    ctx.write("seconds_curvature", r.seconds_curvature);
    ctx.write("seconds_solves", r.seconds_solves);
    ctx.write("seconds_total", seconds_total);
}

} // namespace influence
