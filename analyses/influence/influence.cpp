// Influence scores by exact (Cholesky) or CG solves on exact curvature products.
// SPDX-License-Identifier: Apache-2.0
#include "influence.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

namespace influence {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// λ: the damping itself, or relative to a mean eigenvalue, which is never taken below 0 (an
// indefinite Hessian's, or a noisy estimate's): the same rule for exact and cg.
double damping_of(const settings& s, double mean_eigenvalue) {
    return s.relative_damping ? s.damping * std::max(mean_eigenvalue, 0.0) : s.damping;
}

// Examples [first, first + count) of `set` as a batch view.
grokkit::batch slice(const grokkit::example_set& set, std::size_t first, std::size_t count) {
    grokkit::batch b;
    const std::size_t nt = set.tokens.shape(1), nf = set.features.shape(1);
    b.tokens = set.tokens.size() ? set.tokens.data() + first * nt : nullptr;
    b.features = set.features.size() ? set.features.data() + first * nf : nullptr;
    b.labels = set.labels.data() + first;
    b.n = count;
    return b;
}

// Rows of each example's own loss gradient, in double: (count, P).
std::vector<double> gradients(grokkit::model& m, const grokkit::example_set& set,
                              const grokkit::loss_config& loss, std::size_t first,
                              std::size_t count) {
    xt::xtensor<float, 2> rows;
    grokkit::example_gradients(m, slice(set, first, count), loss, rows);
    return std::vector<double>(rows.begin(), rows.end());
}

// Examples per block of gradients: about 2^24 doubles (128 MB) at a time.
std::size_t block_rows(std::size_t n_parameters, std::size_t n) {
    return std::clamp<std::size_t>((std::size_t{1} << 24) / std::max<std::size_t>(n_parameters, 1),
                                   1, std::max<std::size_t>(n, 1));
}

std::vector<double> example_losses(grokkit::model& m, const grokkit::example_set& set,
                                   const grokkit::loss_config& loss) {
    xt::xtensor<float, 2> logits;
    m.forward(grokkit::as_batch(set), logits);
    const std::size_t c = logits.shape(1);
    std::vector<double> out(set.size());
    xt::xtensor<float, 2> row = xt::zeros<float>({std::size_t{1}, c});
    for (std::size_t i = 0; i < set.size(); ++i) {
        std::copy_n(logits.data() + i * c, c, row.data());
        out[i] = grokkit::evaluate_loss(loss, row, set.labels.data() + i, nullptr).loss;
    }
    return out;
}

double dot(const double* a, const double* b, std::size_t n) {
    double s = 0.0;
    for (std::size_t j = 0; j < n; ++j)
        s += a[j] * b[j];
    return s;
}

// scores[:, first .. first + count) = alpha · left (n_left, P) · rightᵀ (P, count) + beta · itself
void score_block(const std::vector<double>& left, std::size_t n_left,
                 const std::vector<double>& right, std::size_t count, std::size_t p,
                 std::size_t first, result& r, double alpha = 1.0, double beta = 0.0) {
    if (n_left == 0 || count == 0 || p == 0)
        return;
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::yes, n_left, count, p, alpha,
                  left.data(), p, right.data(), p, beta, r.scores.data() + first, r.n_train);
}
// A damped curvature that is not positive definite has no Cholesky factor and its solves are no
// answers: every score is NaN and every solve counted indefinite, and the smallest eigenvalue
// says how much more damping would do. The factorisation left the strict lower triangle as it
// was; with the diagonal put back it is the matrix again.
void not_positive_definite(std::vector<double>& matrix, const std::vector<double>& diagonal,
                           const settings& s, result& r) {
    const std::size_t p = diagonal.size();
    for (std::size_t i = 0; i < p; ++i)
        matrix[i * p + i] = diagonal[i];
    r.min_eigenvalue = grokkit::symmetric_eigenvalues(matrix, p).front();
    std::fill(r.scores.begin(), r.scores.end(), nan);
    const solve_stats none{0, nan, false, true};
    r.query_solves.assign(r.n_queries, none);
    if (s.self_influence) {
        std::fill(r.self_influence.begin(), r.self_influence.end(), nan);
        r.self_solves.assign(r.n_train, none);
    }
}

void exact_solves(grokkit::curvature_product& product, grokkit::model& gradient_net,
                  const grokkit::example_set& train, const grokkit::loss_config& loss,
                  std::vector<double> query_grads, const settings& s, result& r,
                  const progress_fn& progress) {
    const std::size_t p = product.size();
    if (p > max_exact_parameters)
        throw grokkit::error(grokkit::diagnostic{
            "influence.run", "method", "exact: the model has " + std::to_string(p) + " parameters",
            "at most " + std::to_string(max_exact_parameters) + ", or method = \"cg\"", 0, 0});
    auto t0 = std::chrono::steady_clock::now();
    // Formed undamped (the product starts at λ = 0), so the trace gives the mean eigenvalue.
    std::vector<double> factor = product.explicit_matrix();
    double trace = 0.0;
    for (std::size_t i = 0; i < p; ++i)
        trace += factor[i * p + i];
    r.mean_eigenvalue = p ? trace / static_cast<double>(p) : 0.0;
    r.damping = damping_of(s, r.mean_eigenvalue);
    std::vector<double> diagonal(p);
    for (std::size_t i = 0; i < p; ++i)
        diagonal[i] = factor[i * p + i] += r.damping;
    const bool definite = grokkit::cholesky_factor(factor, p) == 0;
    if (!definite)
        not_positive_definite(factor, diagonal, s, r);
    r.seconds_curvature += seconds_since(t0);
    if (!definite)
        return;
    // With A = L Lᵀ, g_qᵀ A⁻¹ g_i = (L⁻¹ g_q) · (L⁻¹ g_i).
    t0 = std::chrono::steady_clock::now();
    grokkit::cholesky_half_solve(factor, p, query_grads.data(), r.n_queries);
    r.query_solves.assign(r.n_queries, solve_stats{0, nan, true, false});
    const std::size_t block = block_rows(p, r.n_train);
    double gradient_seconds = 0.0;
    for (std::size_t first = 0; first < r.n_train; first += block) {
        const std::size_t count = std::min(block, r.n_train - first);
        const auto g0 = std::chrono::steady_clock::now();
        std::vector<double> g = gradients(gradient_net, train, loss, first, count);
        gradient_seconds += seconds_since(g0);
        grokkit::cholesky_half_solve(factor, p, g.data(), count);
        score_block(query_grads, r.n_queries, g, count, p, first, r);
        for (std::size_t i = 0; s.self_influence && i < count; ++i) {
            r.self_influence[first + i] = dot(g.data() + i * p, g.data() + i * p, p);
            r.self_solves[first + i] = solve_stats{0, nan, true, false};
        }
        if (progress)
            progress("training examples", static_cast<std::int64_t>(first + count),
                     static_cast<std::int64_t>(r.n_train));
    }
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

// Hutchinson's estimate of trace(A) / P with Rademacher probes z: E[zᵀ A z] = trace(A).
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
               const progress_fn& progress) {
    const std::size_t p = product.size();
    auto t0 = std::chrono::steady_clock::now();
    r.mean_eigenvalue = mean_eigenvalue_estimate(product, s.probe_seed); // at λ = 0
    r.damping = damping_of(s, r.mean_eigenvalue);
    product.set_damping(r.damping);
    r.seconds_curvature += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const std::int64_t total =
        static_cast<std::int64_t>(r.n_queries + (s.self_influence ? r.n_train : 0));
    std::vector<double> solved(r.n_queries * p), x;
    for (std::size_t q = 0; q < r.n_queries; ++q) {
        r.query_solves[q] = cg_solve(product, query_grads.data() + q * p, p, s, x);
        std::copy(x.begin(), x.end(), solved.begin() + static_cast<std::ptrdiff_t>(q * p));
        if (progress)
            progress("solves", static_cast<std::int64_t>(q + 1), total);
    }
    const std::size_t block = block_rows(p, r.n_train);
    double gradient_seconds = 0.0;
    for (std::size_t first = 0; first < r.n_train; first += block) {
        const std::size_t count = std::min(block, r.n_train - first);
        const auto g0 = std::chrono::steady_clock::now();
        const std::vector<double> g = gradients(gradient_net, train, loss, first, count);
        gradient_seconds += seconds_since(g0);
        score_block(solved, r.n_queries, g, count, p, first, r);
        for (std::size_t i = 0; s.self_influence && i < count; ++i) {
            r.self_solves[first + i] = cg_solve(product, g.data() + i * p, p, s, x);
            r.self_influence[first + i] =
                r.self_solves[first + i].indefinite ? nan : dot(g.data() + i * p, x.data(), p);
            if (progress)
                progress("solves", static_cast<std::int64_t>(r.n_queries + first + i + 1), total);
        }
    }
    // An indefinite solve is no answer: its query's scores are NaN.
    for (std::size_t q = 0; q < r.n_queries; ++q)
        if (r.query_solves[q].indefinite)
            std::fill_n(r.scores.begin() + static_cast<std::ptrdiff_t>(q * r.n_train), r.n_train,
                        nan);
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

} // namespace

result compute(grokkit::model& curvature_net, grokkit::model& gradient_net,
               const grokkit::example_set& train, const grokkit::example_set& queries,
               const grokkit::loss_config& loss, const std::vector<double>& regulariser,
               const settings& s, const progress_fn& progress) {
    result r;
    r.n_queries = queries.size();
    r.n_train = train.size();
    r.n_parameters = grokkit::parameter_count(curvature_net);
    r.scores.assign(r.n_queries * r.n_train, 0.0);
    r.query_solves.resize(r.n_queries);
    if (s.self_influence) {
        r.self_influence.assign(r.n_train, nan);
        r.self_solves.resize(r.n_train);
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<double> query_grads;
    if (r.n_queries > 0) { // a chained set may be empty at a checkpoint
        r.query_loss = example_losses(gradient_net, queries, loss);
        query_grads = gradients(gradient_net, queries, loss, 0, r.n_queries);
    }
    r.seconds_gradients = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    // Undamped at first: each method measures the mean eigenvalue, then sets λ.
    grokkit::curvature_product product(curvature_net, train, loss, s.curvature, regulariser, 0.0);
    r.train_loss = product.mean_loss();
    r.seconds_curvature = seconds_since(t0); // the forward and backward pass it starts with
    // Both add the time of the training examples' gradients to seconds_gradients.
    if (s.method == solver::exact)
        exact_solves(product, gradient_net, train, loss, query_grads, s, r, progress);
    else
        cg_solves(product, gradient_net, train, loss, query_grads, s, r, progress);
    return r;
}

result tracin(grokkit::model& net, const grokkit::example_set& train,
              const grokkit::example_set& queries, const grokkit::loss_config& loss,
              const std::vector<tracin_checkpoint>& checkpoints, bool self_influence,
              const progress_fn& progress) {
    result r;
    r.n_queries = queries.size();
    r.n_train = train.size();
    r.n_parameters = grokkit::parameter_count(net);
    const std::size_t p = r.n_parameters;
    r.scores.assign(r.n_queries * r.n_train, 0.0);
    r.query_solves.assign(r.n_queries, solve_stats{0, nan, true, false});
    if (self_influence) {
        r.self_influence.assign(r.n_train, 0.0);
        r.self_solves.assign(r.n_train, solve_stats{0, nan, true, false});
    }
    r.damping = r.mean_eigenvalue = nan;
    // Losses at the parameters the model has (this checkpoint's), before the sum moves them.
    auto t0 = std::chrono::steady_clock::now();
    if (r.n_queries > 0)
        r.query_loss = example_losses(net, queries, loss);
    const std::vector<double> train_losses = example_losses(net, train, loss);
    r.train_loss = std::accumulate(train_losses.begin(), train_losses.end(), 0.0) /
                   static_cast<double>(std::max<std::size_t>(r.n_train, 1));
    const std::vector<float> current = grokkit::flat_parameters(net);
    double product_seconds = 0.0;
    const std::size_t block = block_rows(p, r.n_train);
    for (std::size_t c = 0; c < checkpoints.size(); ++c) {
        const double lr = checkpoints[c].weight;
        grokkit::set_flat_parameters(net, checkpoints[c].parameters());
        const std::vector<double> gq =
            r.n_queries ? gradients(net, queries, loss, 0, r.n_queries) : std::vector<double>{};
        for (std::size_t first = 0; first < r.n_train; first += block) {
            const std::size_t count = std::min(block, r.n_train - first);
            const std::vector<double> g = gradients(net, train, loss, first, count);
            const auto g0 = std::chrono::steady_clock::now();
            score_block(gq, r.n_queries, g, count, p, first, r, lr, 1.0);
            for (std::size_t i = 0; self_influence && i < count; ++i)
                r.self_influence[first + i] += lr * dot(g.data() + i * p, g.data() + i * p, p);
            product_seconds += seconds_since(g0);
        }
        if (progress)
            progress("checkpoints", static_cast<std::int64_t>(c + 1),
                     static_cast<std::int64_t>(checkpoints.size()));
    }
    grokkit::set_flat_parameters(net, current);
    r.seconds_solves = product_seconds;
    r.seconds_gradients = seconds_since(t0) - product_seconds;
    return r;
}

void rank_rows(const std::vector<double>& scores, std::size_t rows, std::size_t cols, std::size_t k,
               std::vector<std::int64_t>& highest, std::vector<std::int64_t>& lowest) {
    k = std::min(k, cols);
    highest.assign(rows * k, -1);
    lowest.assign(rows * k, -1);
    std::vector<std::size_t> order(cols);
    for (std::size_t q = 0; q < rows; ++q) {
        const double* row = scores.data() + q * cols;
        std::iota(order.begin(), order.end(), std::size_t{0});
        const auto valid_end = std::partition(order.begin(), order.end(),
                                              [&](std::size_t i) { return !std::isnan(row[i]); });
        const std::size_t n_valid = static_cast<std::size_t>(valid_end - order.begin());
        const std::size_t kk = std::min(k, n_valid);
        // Ties go to the lower index, so the ranking is reproducible.
        const auto by_score = [&](std::size_t a, std::size_t b) {
            return row[a] > row[b] || (row[a] == row[b] && a < b);
        };
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), valid_end,
                          by_score);
        for (std::size_t j = 0; j < kk; ++j)
            highest[q * k + j] = static_cast<std::int64_t>(order[j]);
        const auto by_low = [&](std::size_t a, std::size_t b) {
            return row[a] < row[b] || (row[a] == row[b] && a < b);
        };
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), valid_end,
                          by_low);
        for (std::size_t j = 0; j < kk; ++j)
            lowest[q * k + j] = static_cast<std::int64_t>(order[j]);
    }
}

} // namespace influence
