// Influence scores: the shared tiles and ranking, exact (Cholesky) and CG solves, TracIn.
// SPDX-License-Identifier: Apache-2.0
#include "influence.hpp"
#include "tiles.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace influence {

using detail::nan;
using detail::seconds_since;

// ---- ranking

ranking::ranking(std::size_t rows, std::size_t k)
    : m_rows(rows), m_k(k), m_high(rows), m_low(rows) {}

void ranking::add(const double* tile, std::size_t first, std::size_t count) {
    const auto higher = [](const entry& a, const entry& b) {
        return a.score > b.score || (a.score == b.score && a.index < b.index);
    };
    const auto lower = [](const entry& a, const entry& b) {
        return a.score < b.score || (a.score == b.score && a.index < b.index);
    };
    const auto merge = [this, first, count](std::vector<entry>& kept, const double* row,
                                            const auto& better) {
        for (std::size_t j = 0; j < count; ++j)
            if (!std::isnan(row[j]))
                kept.push_back({row[j], static_cast<std::int64_t>(first + j)});
        const std::size_t k = std::min(m_k, kept.size());
        std::partial_sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(k), kept.end(),
                          better);
        kept.resize(k);
    };
    for (std::size_t q = 0; q < m_rows; ++q) {
        merge(m_high[q], tile + q * count, higher);
        merge(m_low[q], tile + q * count, lower);
    }
}

std::vector<std::int64_t> ranking::indices(const std::vector<std::vector<entry>>& kept) const {
    std::vector<std::int64_t> out(m_rows * m_k, -1);
    for (std::size_t q = 0; q < m_rows; ++q)
        for (std::size_t j = 0; j < kept[q].size(); ++j)
            out[q * m_k + j] = kept[q][j].index;
    return out;
}

std::vector<double> ranking::values(const std::vector<std::vector<entry>>& kept) const {
    std::vector<double> out(m_rows * m_k, nan);
    for (std::size_t q = 0; q < m_rows; ++q)
        for (std::size_t j = 0; j < kept[q].size(); ++j)
            out[q * m_k + j] = kept[q][j].score;
    return out;
}

// ---- what the methods share

namespace detail {

std::vector<double> gradients(grokkit::model& m, const grokkit::example_set& set,
                              const grokkit::loss_config& loss, std::size_t first,
                              std::size_t count) {
    xt::xtensor<float, 2> rows;
    grokkit::example_gradients(m, grokkit::slice_batch(set, first, count), loss, rows);
    return std::vector<double>(rows.begin(), rows.end());
}

std::vector<double> example_losses(grokkit::model& m, const grokkit::example_set& set,
                                   const grokkit::loss_config& loss) {
    xt::xtensor<float, 2> logits;
    const grokkit::batch all = grokkit::as_batch(set);
    m.forward(all, logits);
    std::vector<double> out;
    for (const auto& one : grokkit::example_losses(loss, logits, all))
        out.push_back(one.loss);
    return out;
}

std::vector<double> timed_gradients(grokkit::model& m, const grokkit::example_set& set,
                                    const grokkit::loss_config& loss, std::size_t first,
                                    std::size_t count, double& seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<double> g = gradients(m, set, loss, first, count);
    seconds += seconds_since(t0);
    return g;
}

double dot(const double* a, const double* b, std::size_t n) {
    double s = 0.0;
    for (std::size_t j = 0; j < n; ++j)
        s += a[j] * b[j];
    return s;
}

std::size_t columns_per_tile(const settings& s, double fixed, double per_column,
                             std::size_t n_train, const std::string& what, result& r,
                             const std::string& alternative) {
    const auto mib = [](double bytes) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3g MiB", bytes / (1024.0 * 1024.0));
        return std::string(text);
    };
    if (fixed + per_column > s.max_memory)
        throw grokkit::error(grokkit::diagnostic{
            "influence.run", "max_memory",
            mib(s.max_memory) + " cannot hold " + what + " (" + mib(fixed) +
                ") and one training example's block (" + mib(per_column) + ")",
            "max_memory of at least " + mib(fixed + per_column) + ", or " + alternative, 0, 0});
    const double room = std::floor((s.max_memory - fixed) / per_column);
    const std::size_t columns = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::min(room, 1e15)), 1, std::max<std::size_t>(n_train, 1));
    r.memory_bytes = std::max(r.memory_bytes, fixed + per_column * static_cast<double>(columns));
    return columns;
}

void gram_accumulator::add(const double* rows, std::size_t n_rows) {
    m_pending.insert(m_pending.end(), rows, rows + n_rows * m_width);
    std::size_t done = 0;
    while (m_pending.size() - done * m_width >= m_run * m_width) {
        sum_rows(done, m_run);
        done += m_run;
    }
    m_pending.erase(m_pending.begin(),
                    m_pending.begin() + static_cast<std::ptrdiff_t>(done * m_width));
}

void gram_accumulator::finish() {
    sum_rows(0, m_width ? m_pending.size() / m_width : 0);
    m_pending.clear();
}

void gram_accumulator::sum_rows(std::size_t first, std::size_t n_rows) {
    if (n_rows == 0 || m_width == 0)
        return;
    const double* rows = m_pending.data() + first * m_width;
    grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, m_width, m_width, n_rows,
                  m_scale, rows, m_width, rows, m_width, 1.0, m_gram.data(), m_width);
}

void stream_tiles(std::size_t columns, const tile_producer& produce, const score_sink& sink,
                  const progress_fn& progress, result& r) {
    if (!sink)
        r.scores.assign(r.n_queries * r.n_train, nan);
    std::vector<double> tile;
    for (std::size_t first = 0; first < r.n_train; first += columns) {
        const std::size_t count = std::min(columns, r.n_train - first);
        tile.assign(r.n_queries * count, 0.0);
        produce(first, count, tile);
        r.top.add(tile.data(), first, count);
        ++r.n_tiles;
        if (sink)
            sink(first, count, tile);
        else
            for (std::size_t q = 0; q < r.n_queries; ++q)
                std::copy_n(tile.begin() + static_cast<std::ptrdiff_t>(q * count), count,
                            r.scores.begin() + static_cast<std::ptrdiff_t>(q * r.n_train + first));
        if (progress)
            progress("training examples", static_cast<std::int64_t>(first + count),
                     static_cast<std::int64_t>(r.n_train));
    }
}

void product_tile(const std::vector<double>& left, std::size_t n_left,
                  const std::vector<double>& right, std::size_t count, std::size_t p,
                  std::vector<double>& tile, double alpha, double beta) {
    if (n_left == 0 || count == 0 || p == 0)
        return;
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::yes, n_left, count, p, alpha,
                  left.data(), p, right.data(), p, beta, tile.data(), count);
}

double mean_eigenvalue_estimate(grokkit::curvature_product& product, std::uint64_t seed) {
    const std::size_t p = product.size();
    std::vector<double> z(p), az;
    double sum = 0.0;
    for (int k = 0; k < hutchinson_probes; ++k) {
        grokkit::rng r(seed, "hutchinson", static_cast<std::uint64_t>(k));
        for (double& x : z)
            x = r.uniform() < 0.5 ? -1.0 : 1.0;
        product.apply(z, az);
        for (std::size_t j = 0; j < p; ++j)
            sum += z[j] * az[j];
    }
    return sum / (static_cast<double>(hutchinson_probes) * static_cast<double>(p));
}

} // namespace detail

namespace {

using detail::dot;
using detail::gradient_bytes;

// Every score and solve NaN and indefinite: the damped matrix is not positive definite. The
// factorisation left the strict lower triangle as it was; with the diagonal put back it is the
// matrix again, whose smallest eigenvalue says how much more damping would do.
void not_positive_definite(std::vector<double>& matrix, const std::vector<double>& diagonal,
                           const settings& s, result& r, const score_sink& sink,
                           const progress_fn& progress) {
    const std::size_t p = diagonal.size();
    for (std::size_t i = 0; i < p; ++i)
        matrix[i * p + i] = diagonal[i];
    r.min_eigenvalue = grokkit::symmetric_eigenvalues(matrix, p).front();
    const solve_stats none{0, nan, false, true};
    r.query_solves.assign(r.n_queries, none);
    if (s.self_influence)
        r.self_solves.assign(r.n_train, none);
    const std::size_t columns = detail::columns_per_tile(s, 8.0 * static_cast<double>(p * p),
                                                         8.0 * static_cast<double>(r.n_queries),
                                                         r.n_train, "the curvature matrix", r);
    detail::stream_tiles(
        columns,
        [](std::size_t, std::size_t, std::vector<double>& tile) {
            std::fill(tile.begin(), tile.end(), nan);
        },
        sink, progress, r);
}

void exact_solves(grokkit::curvature_product& product, grokkit::model& gradient_net,
                  const grokkit::example_set& train, const grokkit::loss_config& loss,
                  std::vector<double> query_grads, const settings& s, result& r,
                  const score_sink& sink, const progress_fn& progress) {
    const std::size_t p = product.size();
    if (p > max_exact_parameters)
        throw grokkit::error(grokkit::diagnostic{
            "influence.run", "method", "exact: the model has " + std::to_string(p) + " parameters",
            "at most " + std::to_string(max_exact_parameters) + ", or method = \"cg\"", 0, 0});
    const double fixed = 8.0 * static_cast<double>(p * p + 2 * p + r.n_queries * p);
    const std::size_t columns = detail::columns_per_tile(
        s, fixed, gradient_bytes(p) + 8.0 * static_cast<double>(r.n_queries), r.n_train,
        "the " + std::to_string(p) + "^2 curvature matrix and the query gradients", r);
    auto t0 = std::chrono::steady_clock::now();
    // Formed undamped (the product starts at λ = 0), so the trace gives the mean eigenvalue.
    std::vector<double> factor = product.explicit_matrix();
    double trace = 0.0;
    for (std::size_t i = 0; i < p; ++i)
        trace += factor[i * p + i];
    r.mean_eigenvalue = p ? trace / static_cast<double>(p) : 0.0;
    r.damping = detail::damping_of(s, r.mean_eigenvalue);
    std::vector<double> diagonal(p);
    for (std::size_t i = 0; i < p; ++i)
        diagonal[i] = factor[i * p + i] += r.damping;
    const bool definite = grokkit::cholesky_factor(factor, p) == 0;
    r.seconds_curvature += seconds_since(t0);
    if (!definite)
        return not_positive_definite(factor, diagonal, s, r, sink, progress);
    // With A = L Lᵀ, g_qᵀ A⁻¹ g_i = (L⁻¹ g_q) · (L⁻¹ g_i).
    t0 = std::chrono::steady_clock::now();
    grokkit::cholesky_half_solve(factor, p, query_grads.data(), r.n_queries);
    r.query_solves.assign(r.n_queries, solve_stats{0, nan, true, false});
    double gradient_seconds = 0.0;
    detail::stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            std::vector<double> g =
                detail::timed_gradients(gradient_net, train, loss, first, count, gradient_seconds);
            grokkit::cholesky_half_solve(factor, p, g.data(), count);
            detail::product_tile(query_grads, r.n_queries, g, count, p, tile);
            for (std::size_t i = 0; s.self_influence && i < count; ++i) {
                r.self_influence[first + i] = dot(g.data() + i * p, g.data() + i * p, p);
                r.self_solves[first + i] = solve_stats{0, nan, true, false};
            }
        },
        sink, progress, r);
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

// x = A⁻¹ g by CG; returns its stats.
solve_stats cg_solve(grokkit::curvature_product& product, const double* g, std::size_t p,
                     const settings& s, std::vector<double>& x) {
    const std::vector<double> b(g, g + p);
    const auto apply = [&product](const std::vector<double>& v, std::vector<double>& out) {
        product.apply(v, out);
    };
    const grokkit::cg_result c = grokkit::conjugate_gradient(
        apply, b, x, s.cg_tolerance, static_cast<std::size_t>(s.cg_max_iterations));
    return solve_stats{static_cast<std::int64_t>(c.iterations), c.relative_residual, c.converged,
                       c.indefinite};
}

void cg_solves(grokkit::curvature_product& product, grokkit::model& gradient_net,
               const grokkit::example_set& train, const grokkit::loss_config& loss,
               const std::vector<double>& query_grads, const settings& s, result& r,
               const score_sink& sink, const progress_fn& progress) {
    const std::size_t p = product.size();
    // The query gradients, their solves and CG's four vectors.
    const double fixed = 8.0 * static_cast<double>(2 * r.n_queries * p + 4 * p);
    const std::size_t columns = detail::columns_per_tile(
        s, fixed, gradient_bytes(p) + 8.0 * static_cast<double>(r.n_queries), r.n_train,
        "the query gradients and their solves", r);
    auto t0 = std::chrono::steady_clock::now();
    r.mean_eigenvalue = detail::mean_eigenvalue_estimate(product, s.seed); // at λ = 0
    r.damping = detail::damping_of(s, r.mean_eigenvalue);
    product.set_damping(r.damping);
    r.seconds_curvature += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const std::int64_t total =
        static_cast<std::int64_t>(r.n_queries + (s.self_influence ? r.n_train : 0));
    std::vector<double> solved(r.n_queries * p), x;
    for (std::size_t q = 0; q < r.n_queries; ++q) {
        r.query_solves[q] = cg_solve(product, query_grads.data() + q * p, p, s, x);
        // An indefinite solve is no answer: its query's scores are NaN.
        if (r.query_solves[q].indefinite)
            std::fill(x.begin(), x.end(), nan);
        std::copy(x.begin(), x.end(), solved.begin() + static_cast<std::ptrdiff_t>(q * p));
        if (progress)
            progress("solves", static_cast<std::int64_t>(q + 1), total);
    }
    double gradient_seconds = 0.0;
    detail::stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            const std::vector<double> g =
                detail::timed_gradients(gradient_net, train, loss, first, count, gradient_seconds);
            detail::product_tile(solved, r.n_queries, g, count, p, tile);
            for (std::size_t i = 0; s.self_influence && i < count; ++i) {
                r.self_solves[first + i] = cg_solve(product, g.data() + i * p, p, s, x);
                r.self_influence[first + i] =
                    r.self_solves[first + i].indefinite ? nan : dot(g.data() + i * p, x.data(), p);
                if (progress)
                    progress("solves", static_cast<std::int64_t>(r.n_queries + first + i + 1),
                             total);
            }
        },
        sink, s.self_influence ? progress_fn{} : progress, r);
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

result start(grokkit::model& net, const grokkit::example_set& train,
             const grokkit::example_set& queries, const settings& s) {
    result r;
    r.n_queries = queries.size();
    r.n_train = train.size();
    r.n_parameters = grokkit::parameter_count(net);
    r.top = ranking(r.n_queries, std::min(s.top_k, r.n_train));
    r.query_solves.assign(r.n_queries, solve_stats{0, nan, true, false});
    if (s.self_influence) {
        r.self_influence.assign(r.n_train, nan);
        r.self_solves.assign(r.n_train, solve_stats{0, nan, true, false});
    }
    return r;
}

} // namespace

result compute(grokkit::model& curvature_net, grokkit::model& gradient_net,
               const grokkit::example_set& train, const grokkit::example_set& queries,
               const grokkit::loss_config& loss, const std::vector<double>& regulariser,
               const settings& s, const score_sink& sink, const progress_fn& progress) {
    result r = start(curvature_net, train, queries, s);
    auto t0 = std::chrono::steady_clock::now();
    if (r.n_queries > 0) // a chained set may be empty at a checkpoint
        r.query_loss = detail::example_losses(gradient_net, queries, loss);
    if (s.method == solver::trak) {
        r.seconds_gradients = seconds_since(t0);
        detail::trak_scores(gradient_net, train, queries, loss, regulariser, s, r, sink, progress);
        return r;
    }
    const std::vector<double> query_grads =
        r.n_queries ? detail::gradients(gradient_net, queries, loss, 0, r.n_queries)
                    : std::vector<double>{};
    r.seconds_gradients = seconds_since(t0);
    if (s.method == solver::ekfac) { // its own passes: no curvature product of the whole set
        const std::vector<double> losses = detail::example_losses(gradient_net, train, loss);
        r.train_loss = r.n_train ? std::accumulate(losses.begin(), losses.end(), 0.0) /
                                       static_cast<double>(r.n_train)
                                 : 0.0;
        detail::ekfac_scores(curvature_net, gradient_net, train, loss, regulariser, query_grads, s,
                             r, sink, progress);
        return r;
    }
    t0 = std::chrono::steady_clock::now();
    // Undamped at first: each method measures the mean eigenvalue, then sets λ.
    grokkit::curvature_product product(curvature_net, train, loss, s.curvature, regulariser, 0.0);
    r.train_loss = product.mean_loss();
    r.seconds_curvature = seconds_since(t0); // the forward and backward pass it starts with
    // Each adds the time of the training examples' gradients to seconds_gradients.
    if (s.method == solver::exact)
        exact_solves(product, gradient_net, train, loss, query_grads, s, r, sink, progress);
    else if (s.method == solver::cg)
        cg_solves(product, gradient_net, train, loss, query_grads, s, r, sink, progress);
    else
        detail::lissa_solves(product, curvature_net, gradient_net, train, loss, regulariser,
                             query_grads, s, r, sink, progress);
    return r;
}

result tracin(grokkit::model& net, const grokkit::example_set& train,
              const grokkit::example_set& queries, const grokkit::loss_config& loss,
              const std::vector<tracin_checkpoint>& checkpoints, const settings& s,
              const score_sink& sink, const progress_fn& progress) {
    result r = start(net, train, queries, s);
    const std::size_t p = r.n_parameters;
    if (s.self_influence)
        std::fill(r.self_influence.begin(), r.self_influence.end(), 0.0);
    r.damping = r.mean_eigenvalue = nan;
    // Losses at the parameters the model has (this checkpoint's), before the sum moves them.
    auto t0 = std::chrono::steady_clock::now();
    if (r.n_queries > 0)
        r.query_loss = detail::example_losses(net, queries, loss);
    const std::vector<double> train_losses = detail::example_losses(net, train, loss);
    r.train_loss = std::accumulate(train_losses.begin(), train_losses.end(), 0.0) /
                   static_cast<double>(std::max<std::size_t>(r.n_train, 1));
    const std::vector<float> current = grokkit::flat_parameters(net);
    // The checkpoints' query gradients are recomputed per tile rather than held for all of
    // them: tiles are few, checkpoints may be many.
    const std::size_t columns = detail::columns_per_tile(
        s, 8.0 * static_cast<double>(r.n_queries * p) + 4.0 * static_cast<double>(p),
        gradient_bytes(p) + 8.0 * static_cast<double>(r.n_queries), r.n_train,
        "the query gradients", r);
    double product_seconds = 0.0;
    detail::stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            for (const tracin_checkpoint& c : checkpoints) {
                grokkit::set_flat_parameters(net, c.parameters());
                const std::vector<double> gq =
                    r.n_queries ? detail::gradients(net, queries, loss, 0, r.n_queries)
                                : std::vector<double>{};
                const std::vector<double> g = detail::gradients(net, train, loss, first, count);
                const auto g0 = std::chrono::steady_clock::now();
                detail::product_tile(gq, r.n_queries, g, count, p, tile, c.weight, 1.0);
                for (std::size_t i = 0; s.self_influence && i < count; ++i)
                    r.self_influence[first + i] +=
                        c.weight * dot(g.data() + i * p, g.data() + i * p, p);
                product_seconds += seconds_since(g0);
            }
        },
        sink, progress, r);
    grokkit::set_flat_parameters(net, current);
    r.seconds_solves = product_seconds;
    r.seconds_gradients = seconds_since(t0) - product_seconds;
    return r;
}

} // namespace influence
