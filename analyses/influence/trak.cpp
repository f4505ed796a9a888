// TRAK (Park et al. 2023) on one model: per-example gradients randomly projected to k
// dimensions, φ = Pᵀ∇, and scores from the Gram matrix of the projected margin gradients.
//
// For cross-entropy, TRAK's output function is the margin f = log(p_y / (1 − p_y)), whose
// gradient is the loss gradient over −(1 − p_y) (∂f/∂z = (e_y − p) / (1 − p_y)). Its estimator,
// φ_qᵀ (ΦᵀΦ)⁻¹ φ_i (1 − p_i) for the query's margin, is in this analysis' sign and scale
// (about n × the rise of the query's loss when i is left out)
//     score(q, i) = gᵀ_q P (Pᵀ (MᵀM / n + R + λI) P)⁻¹ Pᵀ g_i,
// g the loss gradients, M the rows of margin gradients, R the regulariser. MᵀM / n drops the
// p(1 − p) weights of the Gauss–Newton matrix, as TRAK does. k is at most P; at k = P the
// projection is square and invertible and cancels: the scores are those of that curvature,
// whatever the seed.
//
// P (P × k, entries ±1/√k) is never stored: row j is drawn from the seed and j alone, so
// chunks of rows are regenerated where needed and every tiling gives the same numbers.
// SPDX-License-Identifier: Apache-2.0
#include "tiles.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>

namespace influence::detail {

namespace {

// Examples per product that adds to the Gram matrix.
constexpr std::size_t gram_rows = 64;

// Rows of P per regenerated chunk: about 2^20 doubles (8 MB).
std::size_t chunk_rows(std::size_t p, std::size_t k) {
    return std::clamp<std::size_t>((std::size_t{1} << 20) / std::max<std::size_t>(k, 1), 1,
                                   std::max<std::size_t>(p, 1));
}

// Rows [first, first + rows) of P (p, k): random signs over sqrt(k), or, when k = p (no fewer
// dimensions than parameters), the identity. Square sign matrices are often singular (37% of
// 20,000 draws at p = 10 had rank below 10), which left the Gram matrix singular however it was
// damped; the identity is what a square projection stands for, since it cancels.
void projection_rows(std::uint64_t seed, std::size_t p, std::size_t first, std::size_t rows,
                     std::size_t k, std::vector<double>& out) {
    out.assign(rows * k, 0.0);
    if (k >= p) {
        for (std::size_t j = 0; j < rows; ++j)
            out[j * k + first + j] = 1.0;
        return;
    }
    const double entry = 1.0 / std::sqrt(static_cast<double>(k));
    for (std::size_t j = 0; j < rows; ++j) {
        grokkit::rng r(seed, "trak projection", first + j);
        std::uint64_t bits = 0;
        for (std::size_t c = 0; c < k; ++c) {
            if (c % 64 == 0)
                bits = r.next_u64();
            out[j * k + c] = (bits >> (c % 64)) & 1U ? entry : -entry;
        }
    }
}

// features (m, k) = g (m, p) · P.
void project(const std::vector<double>& g, std::size_t m, std::size_t p, std::size_t k,
             std::uint64_t seed, std::vector<double>& features) {
    features.assign(m * k, 0.0);
    std::vector<double> rows;
    const std::size_t chunk = chunk_rows(p, k);
    for (std::size_t first = 0; first < p && m > 0; first += chunk) {
        const std::size_t n = std::min(chunk, p - first);
        projection_rows(seed, p, first, n, k, rows);
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, m, k, n, 1.0,
                      g.data() + first, p, rows.data(), k, 1.0, features.data(), k);
    }
}

// Pᵀ diag(r) P and Pᵀ P, each (k, k).
void projected_diagonals(const std::vector<double>& r, std::size_t k, std::uint64_t seed,
                         std::vector<double>& ptrp, std::vector<double>& ptp) {
    const std::size_t p = r.size(), chunk = chunk_rows(p, k);
    ptrp.assign(k * k, 0.0);
    ptp.assign(k * k, 0.0);
    std::vector<double> rows, weighted;
    for (std::size_t first = 0; first < p; first += chunk) {
        const std::size_t n = std::min(chunk, p - first);
        projection_rows(seed, p, first, n, k, rows);
        weighted = rows;
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t c = 0; c < k; ++c)
                weighted[j * k + c] *= r[first + j];
        grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, k, k, n, 1.0, rows.data(), k,
                      weighted.data(), k, 1.0, ptrp.data(), k);
        grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, k, k, n, 1.0, rows.data(), k,
                      rows.data(), k, 1.0, ptp.data(), k);
    }
}

// 1 / (1 − p_y) times the loss's class scale for each example of `set`: the factor that turns
// its loss gradient into minus its margin gradient. 1 − p_y is summed from the other classes'
// probabilities, so it does not cancel to 0 for a well-fitted example.
std::vector<double> margin_factors(grokkit::model& m, const grokkit::example_set& set,
                                   std::size_t first, std::size_t count,
                                   const grokkit::loss_config& loss) {
    xt::xtensor<float, 2> logits;
    const grokkit::batch rows = grokkit::slice_batch(set, first, count);
    m.forward(rows, logits);
    grokkit::apply_class_mask(logits, rows.mask); // the margin is over the allowed classes
    const std::size_t c = logits.shape(1);
    std::vector<double> out(count);
    for (std::size_t i = 0; i < count; ++i) {
        const float* z = logits.data() + i * c;
        const auto y = static_cast<std::size_t>(set.labels[first + i]);
        const double top = *std::max_element(z, z + c);
        double total = 0.0, others = 0.0;
        for (std::size_t j = 0; j < c; ++j) {
            const double e = std::exp(static_cast<double>(z[j]) - top);
            total += e;
            others += j == y ? 0.0 : e;
        }
        out[i] = (loss.class_mean ? static_cast<double>(c) : 1.0) * total / others;
    }
    return out;
}

} // namespace

void trak_scores(grokkit::model& gradient_net, const grokkit::example_set& train,
                 const grokkit::example_set& queries, const grokkit::loss_config& loss,
                 const std::vector<double>& regulariser, const settings& s, result& r,
                 const score_sink& sink, const progress_fn& progress) {
    if (loss.name != "cross_entropy")
        throw grokkit::error(grokkit::diagnostic{
            "influence.run", "method",
            "trak on a " + loss.name +
                " loss: its features are gradients of the margin "
                "log(p / (1 - p)) of a softmax",
            "a cross_entropy run, or method = \"cg\", \"exact\" or \"lissa\"", 0, 0});
    const std::size_t p = r.n_parameters, n = r.n_train;
    // More dimensions than parameters would leave the projected matrix singular (its rank is P);
    // at k = P the projection is square, invertible and cancels.
    const std::size_t k = std::min(static_cast<std::size_t>(s.trak_dimension), p);
    r.projection_dimension = k;
    // Features are computed twice, for the Gram matrix and then per tile, rather than held for
    // every training example: n_train x k may not fit where a tile does.
    // The queries' gradients (float and double) are held while they are projected.
    const double fixed = 8.0 * static_cast<double>(r.n_queries * k + 3 * k * k +
                                                   (chunk_rows(p, k) + gram_rows) * k) +
                         gradient_bytes(p) * static_cast<double>(r.n_queries);
    const std::size_t columns = columns_per_tile(
        s, fixed, gradient_bytes(p) + 8.0 * static_cast<double>(r.n_queries + 3 * k), n,
        "the projected query features and the Gram matrix", r, "a smaller trak_dimension");
    auto t0 = std::chrono::steady_clock::now();
    std::vector<double> query_features;
    if (r.n_queries)
        project(gradients(gradient_net, queries, loss, 0, r.n_queries), r.n_queries, p, k, s.seed,
                query_features);
    // Pass 1: the Gram matrix of the projected margin gradients, summed over runs of
    // gram_rows examples fixed by their indices (a remainder waits for the next block), so the
    // order of the sums and hence every bit of the matrix is the same for any max_memory.
    std::vector<double> gram(k * k, 0.0), block, margins;
    gram_accumulator sums(gram, k, gram_rows, 1.0 / static_cast<double>(n));
    double trace = 0.0, loss_sum = 0.0;
    for (std::size_t first = 0; first < n; first += columns) {
        const std::size_t count = std::min(columns, n - first);
        const std::vector<double> g = gradients(gradient_net, train, loss, first, count);
        const std::vector<double> factor = margin_factors(gradient_net, train, first, count, loss);
        project(g, count, p, k, s.seed, block);
        margins = block;
        for (std::size_t i = 0; i < count; ++i) {
            for (std::size_t c = 0; c < k; ++c)
                margins[i * k + c] *= factor[i];
            trace += factor[i] * factor[i] / static_cast<double>(n) *
                     dot(g.data() + i * p, g.data() + i * p, p);
        }
        sums.add(margins.data(), count);
        if (progress)
            progress("projected gradients", static_cast<std::int64_t>(first + count),
                     static_cast<std::int64_t>(n));
    }
    sums.finish();
    for (const double x : example_losses(gradient_net, train, loss))
        loss_sum += x;
    r.train_loss = n ? loss_sum / static_cast<double>(n) : 0.0;
    r.seconds_gradients = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    // The curvature it stands for, MᵀM / n + R, has trace Σ‖m_i‖² / n + Σ r exactly.
    for (const double x : regulariser)
        trace += x;
    r.mean_eigenvalue = p ? trace / static_cast<double>(p) : 0.0;
    r.damping = damping_of(s, r.mean_eigenvalue);
    std::vector<double> ptrp, ptp;
    projected_diagonals(regulariser, k, s.seed, ptrp, ptp);
    for (std::size_t j = 0; j < k * k; ++j)
        gram[j] += ptrp[j] + r.damping * ptp[j];
    std::vector<double> diagonal(k);
    for (std::size_t c = 0; c < k; ++c)
        diagonal[c] = gram[c * k + c];
    const bool definite = grokkit::cholesky_factor(gram, k) == 0;
    r.seconds_curvature = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    if (!definite) { // every score NaN, as for exact; the smallest eigenvalue says why
        for (std::size_t c = 0; c < k; ++c)
            gram[c * k + c] = diagonal[c];
        r.min_eigenvalue = grokkit::symmetric_eigenvalues(gram, k).front();
        const solve_stats none{0, nan, false, true};
        r.query_solves.assign(r.n_queries, none);
        if (s.self_influence)
            r.self_solves.assign(n, none);
        stream_tiles(
            columns,
            [](std::size_t, std::size_t, std::vector<double>& tile) {
                std::fill(tile.begin(), tile.end(), nan);
            },
            sink, progress, r);
        return;
    }
    grokkit::cholesky_half_solve(gram, k, query_features.data(), r.n_queries);
    const double gradient_seconds = r.seconds_gradients;
    stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            project(timed_gradients(gradient_net, train, loss, first, count, r.seconds_gradients),
                    count, p, k, s.seed, block);
            grokkit::cholesky_half_solve(gram, k, block.data(), count);
            product_tile(query_features, r.n_queries, block, count, k, tile);
            for (std::size_t i = 0; s.self_influence && i < count; ++i)
                r.self_influence[first + i] = dot(block.data() + i * k, block.data() + i * k, k);
        },
        sink, progress, r);
    r.seconds_solves = seconds_since(t0) - (r.seconds_gradients - gradient_seconds);
}

} // namespace influence::detail
