// LiSSA (Agarwal, Bullins & Hazan 2017; Koh & Liang's influence estimator): A⁻¹v by the
// stochastic Neumann series h_j = v + (I − A_j / s) h_{j−1}, A_j the damped curvature of a
// random batch, s the scale, A⁻¹v ≈ h_J / s, averaged over independent repeats.
//
// Divergence is detected, not suffered: when every batch's A_j has its eigenvalues in [0, 2s],
// each factor (I − A_j / s) has norm at most 1, so ‖h_j‖ <= ‖v‖ + ‖h_{j−1}‖ <= (j + 1)‖v‖. A
// term above that bound proves a batch eigenvalue outside the range (the scale too small, or a
// batch Hessian with a negative eigenvalue the damping does not cover), and a divergent series
// passes it within a few terms of growing. (The tighter s / λ bound of a fixed matrix does not
// hold for a sequence of batches, so it is not used.) A scale the user set then stops the
// analysis with an error naming lissa_scale; the automatic one (lissa_scale = 0) is doubled and
// the queries' series rerun, since a small batch can exceed the whole set's largest eigenvalue.
// SPDX-License-Identifier: Apache-2.0
#include "tiles.hpp"

#include <grokkit/error.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

namespace influence::detail {

namespace {

// The auto scale's margin over the power iteration's estimate, which approaches the largest
// eigenvalue from below.
constexpr double auto_scale_margin = 1.25;

// Doublings of an automatic scale before a divergence is reported.
constexpr int max_scale_doublings = 8;

double norm(const double* v, std::size_t n) {
    return std::sqrt(dot(v, v, n));
}

// The largest eigenvalue of the (positive semi-definite) `product` by power iteration.
double largest_eigenvalue(grokkit::curvature_product& product, std::uint64_t seed) {
    const std::size_t p = product.size();
    std::vector<double> v(p), av;
    grokkit::rng r(seed, "lissa power iteration");
    for (double& x : v)
        x = r.normal();
    double lambda = 0.0;
    for (int it = 0; it < power_iterations; ++it) {
        const double n = norm(v.data(), p);
        if (!(n > 0.0))
            return 0.0;
        for (double& x : v)
            x /= n;
        product.apply(v, av);
        lambda = dot(v.data(), av.data(), p); // the Rayleigh quotient of the unit v
        v.swap(av);
    }
    return lambda;
}

std::string number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", x);
    return text;
}

// Everything one series needs besides the vectors.
struct series_setup {
    grokkit::model& net;
    const grokkit::example_set& train;
    const grokkit::loss_config& loss;
    const std::vector<double>& regulariser;
    const settings& s;
    double damping, scale;             // λ and s
    grokkit::curvature_product* whole; // the whole set's product, when a batch is the whole set
};

// Thrown by neumann() at the first term above the bound; lissa_solves() either retries with a
// larger automatic scale or reports it (diverged()).
struct divergence {
    std::int64_t repeat, term;
    double found, bound;
};

[[noreturn]] void diverged(const series_setup& c, const divergence& d) {
    const std::int64_t repeat = d.repeat, term = d.term;
    const double found = d.found, bound = d.bound;
    // A fresh product of the whole set: the batches' passes have replaced the model's cache.
    grokkit::curvature_product whole(c.net, c.train, c.loss, c.s.curvature, c.regulariser,
                                     c.damping);
    const double largest = largest_eigenvalue(whole, c.s.seed);
    throw grokkit::error(grokkit::diagnostic{
        "influence.run", "lissa_scale",
        "lissa diverged at term " + std::to_string(term) + " of series " + std::to_string(repeat) +
            ": a norm of " + number(found) + " passed the bound " + number(bound) +
            " a convergent series keeps, so some batch's damped curvature has an eigenvalue "
            "above 2 x lissa_scale = " +
            number(2.0 * c.scale) +
            (c.s.curvature == grokkit::curvature_kind::hessian
                 ? " or below 0 (a batch Hessian with a negative eigenvalue beyond the damping)"
                 : ""),
        "lissa_scale of at least " + number(std::max(auto_scale_margin * largest, 2.0 * c.scale)) +
            " (the whole set's largest eigenvalue is about " + number(largest) +
            "; small batches exceed it: raise lissa_batch_size or the scale), or 0 to choose it" +
            (c.s.curvature == grokkit::curvature_kind::hessian ? "; or curvature = \"gauss_newton\""
                                                               : ""),
        0, 0});
}

// x_i ≈ A⁻¹ v_i for the `count` rows of `v` (count, P), all series run in lockstep so each batch's
// passes serve every row. `done` counts terms for the progress display.
std::vector<double> neumann(const series_setup& c, const std::vector<double>& v, std::size_t count,
                            std::int64_t& done, std::int64_t total, const progress_fn& progress) {
    const std::size_t p = c.regulariser.size(), n = c.train.size();
    const auto batch_size = static_cast<std::size_t>(c.s.lissa_batch_size);
    std::vector<double> x(count * p, 0.0), h, ah, v_norm(count);
    for (std::size_t i = 0; i < count; ++i)
        v_norm[i] = norm(v.data() + i * p, p);
    const double per_repeat = 1.0 / static_cast<double>(c.s.lissa_repeats);
    std::vector<double> hi(p);
    for (std::int64_t rep = 0; rep < c.s.lissa_repeats; ++rep) {
        h = v;
        for (std::int64_t term = 1; term <= c.s.lissa_depth; ++term) {
            grokkit::example_set batch;
            std::unique_ptr<grokkit::curvature_product> sampled;
            grokkit::curvature_product* product = c.whole;
            if (batch_size < n) { // sampled with replacement, keyed by series and term
                grokkit::rng r(c.s.seed, "lissa batch",
                               static_cast<std::uint64_t>(rep * c.s.lissa_depth + term));
                std::vector<std::size_t> rows(batch_size);
                for (auto& k : rows)
                    k = static_cast<std::size_t>(r.below(n));
                batch = grokkit::subset(c.train, rows);
                sampled = std::make_unique<grokkit::curvature_product>(
                    c.net, batch, c.loss, c.s.curvature, c.regulariser, c.damping);
                product = sampled.get();
            }
            const double reach = static_cast<double>(term + 1);
            for (std::size_t i = 0; i < count; ++i) {
                std::copy_n(h.begin() + static_cast<std::ptrdiff_t>(i * p), p, hi.begin());
                product->apply(hi, ah);
                double* hrow = h.data() + i * p;
                const double* vrow = v.data() + i * p;
                for (std::size_t j = 0; j < p; ++j)
                    hrow[j] = vrow[j] + hi[j] - ah[j] / c.scale;
                const double found = norm(hrow, p), bound = v_norm[i] * reach * (1.0 + 1e-4);
                if (!std::isfinite(found) || found > bound + 1e-300)
                    throw divergence{rep, term, found, bound};
            }
            if (progress)
                progress("lissa terms", ++done, total);
        }
        for (std::size_t k = 0; k < x.size(); ++k)
            x[k] += per_repeat * h[k] / c.scale;
    }
    return x;
}

} // namespace

void lissa_solves(grokkit::curvature_product& product, grokkit::model& curvature_net,
                  grokkit::model& gradient_net, const grokkit::example_set& train,
                  const grokkit::loss_config& loss, const std::vector<double>& regulariser,
                  const std::vector<double>& query_grads, const settings& s, result& r,
                  const score_sink& sink, const progress_fn& progress) {
    const std::size_t p = product.size();
    // Query gradients, their series (x, h) and a product's work vectors; per example its
    // gradient, its scores and, for self-influence, its series.
    const double fixed = 8.0 * static_cast<double>(3 * r.n_queries * p + 3 * p);
    const double per_column = gradient_bytes(p) + 8.0 * static_cast<double>(r.n_queries) +
                              (s.self_influence ? 16.0 * static_cast<double>(p) : 0.0);
    const std::size_t columns = columns_per_tile(s, fixed, per_column, r.n_train,
                                                 "the query gradients and their series", r);
    auto t0 = std::chrono::steady_clock::now();
    r.mean_eigenvalue = mean_eigenvalue_estimate(product, s.seed); // at λ = 0
    r.damping = damping_of(s, r.mean_eigenvalue);
    product.set_damping(r.damping);
    // Power iteration finds the eigenvalue of largest magnitude, which for an indefinite
    // Hessian may be negative: its size sets the scale all the same.
    r.lissa_scale = s.lissa_scale > 0.0
                        ? s.lissa_scale
                        : auto_scale_margin * std::abs(largest_eigenvalue(product, s.seed));
    if (!(r.lissa_scale > 0.0))
        throw grokkit::error(
            grokkit::diagnostic{"influence.run", "damping", "lissa: the damped curvature is 0",
                                "damping > 0 (or a model the loss depends on)", 0, 0});
    r.seconds_curvature += seconds_since(t0);
    const bool whole = static_cast<std::size_t>(s.lissa_batch_size) >= r.n_train;
    series_setup c{curvature_net,
                   train,
                   loss,
                   regulariser,
                   s,
                   r.damping,
                   r.lissa_scale,
                   whole ? &product : nullptr};
    t0 = std::chrono::steady_clock::now();
    const std::int64_t n_series =
        1 + (s.self_influence ? static_cast<std::int64_t>((r.n_train + columns - 1) / columns) : 0);
    const std::int64_t total = n_series * s.lissa_repeats * s.lissa_depth;
    std::int64_t done = 0;
    // An automatic scale is doubled until the queries' series converge (batches can exceed the
    // whole set's largest eigenvalue); a scale the user set, or a divergence once tiles have
    // gone out, is an error naming lissa_scale.
    std::vector<double> solved;
    for (int attempt = 0;; ++attempt) {
        try {
            solved = neumann(c, query_grads, r.n_queries, done, total, progress);
            break;
        } catch (const divergence& d) {
            if (s.lissa_scale > 0.0 || attempt == max_scale_doublings)
                diverged(c, d);
            c.scale *= 2.0;
            done = 0;
        }
    }
    r.lissa_scale = c.scale;
    const solve_stats stats{s.lissa_depth * s.lissa_repeats, nan, true, false};
    r.query_solves.assign(r.n_queries, stats);
    double gradient_seconds = 0.0;
    stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            const std::vector<double> g =
                timed_gradients(gradient_net, train, loss, first, count, gradient_seconds);
            product_tile(solved, r.n_queries, g, count, p, tile);
            if (!s.self_influence)
                return;
            std::vector<double> x;
            try {
                x = neumann(c, g, count, done, total, progress);
            } catch (const divergence& d) {
                diverged(c, d);
            }
            for (std::size_t i = 0; i < count; ++i) {
                r.self_influence[first + i] = dot(g.data() + i * p, x.data() + i * p, p);
                r.self_solves[first + i] = stats;
            }
        },
        sink, s.self_influence ? progress_fn{} : progress, r);
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

} // namespace influence::detail
