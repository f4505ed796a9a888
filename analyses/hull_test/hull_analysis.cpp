// hull_test: parameters, outputs, the points of a space, and the run at one checkpoint.
// SPDX-License-Identifier: Apache-2.0
#include "hull_analysis.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

namespace hull_test {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

[[noreturn]] void fail(const std::string& key, const std::string& what,
                       const std::string& expected) {
    throw grokkit::error(grokkit::diagnostic{"hull_test.outputs", key, what, expected, 0, 0});
}

// Rows `rows` of `set` as one contiguous batch (tokens, features, labels and masks gathered).
struct gathered {
    grokkit::example_set set;
    grokkit::batch b;
};

gathered gather(const grokkit::example_set& set, const std::int64_t* rows, std::size_t n) {
    gathered g;
    g.set = grokkit::subset(set, std::vector<std::size_t>(rows, rows + n));
    g.b = grokkit::as_batch(g.set);
    return g;
}

// The points of `space` for rows `rows` of `set`: dense features as they are, token inputs
// one-hot (position-major, n_tokens * vocab_size values), a representation flattened.
point_set space_points(grokkit::model& m, const grokkit::input_spec& spec,
                       const grokkit::example_set& set, const std::vector<std::int64_t>& rows,
                       const std::string& space) {
    point_set p;
    p.n = rows.size();
    const std::size_t chunk = 1024;
    for (std::size_t s = 0; s < rows.size(); s += chunk) {
        const std::size_t n = std::min(chunk, rows.size() - s);
        const gathered g = gather(set, rows.data() + s, n);
        if (space != "input") {
            const xt::xarray<float> r = m.representation(space, g.b);
            p.d = n ? r.size() / n : 0;
            p.x.insert(p.x.end(), r.begin(), r.end());
        } else if (spec.has_tokens()) {
            p.d = spec.n_tokens * spec.vocab_size;
            const std::size_t base = p.x.size();
            p.x.resize(base + n * p.d, 0.0);
            for (std::size_t k = 0; k < n; ++k)
                for (std::size_t t = 0; t < spec.n_tokens; ++t) {
                    const auto token = g.set.tokens.data()[k * spec.n_tokens + t];
                    if (token < 0 || static_cast<std::size_t>(token) >= spec.vocab_size)
                        throw grokkit::error(
                            "hull_test.run", "token " + std::to_string(token) + " in the data",
                            "tokens in [0, " + std::to_string(spec.vocab_size) + ")");
                    p.x[base + k * p.d + t * spec.vocab_size + static_cast<std::size_t>(token)] =
                        1.0;
                }
        } else {
            p.d = spec.n_features;
            p.x.insert(p.x.end(), g.set.features.begin(), g.set.features.end());
        }
    }
    return p;
}

std::vector<std::int64_t> iota(std::size_t n) {
    std::vector<std::int64_t> v(n);
    std::iota(v.begin(), v.end(), std::int64_t{0});
    return v;
}

principal_axes principal(const point_set& p) {
    principal_axes a;
    a.d = p.d;
    a.mean.assign(p.d, 0.0);
    for (std::size_t i = 0; i < p.n; ++i)
        for (std::size_t j = 0; j < p.d; ++j)
            a.mean[j] += p.row(i)[j] / static_cast<double>(p.n);
    std::vector<double> centred(p.x.size());
    for (std::size_t i = 0; i < p.n; ++i)
        for (std::size_t j = 0; j < p.d; ++j)
            centred[i * p.d + j] = p.row(i)[j] - a.mean[j];
    std::vector<double> cov(p.d * p.d, 0.0);
    grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, p.d, p.d, p.n,
                  1.0 / static_cast<double>(std::max<std::size_t>(p.n, 1)), centred.data(), p.d,
                  centred.data(), p.d, 0.0, cov.data(), p.d);
    auto e = grokkit::symmetric_eigen(std::move(cov), p.d);
    // Largest first.
    a.values.assign(e.values.rbegin(), e.values.rend());
    a.vectors.resize(p.d * p.d);
    for (std::size_t i = 0; i < p.d; ++i)
        for (std::size_t k = 0; k < p.d; ++k)
            a.vectors[i * p.d + k] = e.vectors[i * p.d + (p.d - 1 - k)];
    return a;
}

// Dimension of the affine hull: covariance eigenvalues above 1e-10 of the largest.
std::int64_t affine_rank(const principal_axes& a) {
    const double top = a.values.empty() ? 0.0 : a.values.front();
    return std::count_if(a.values.begin(), a.values.end(),
                         [&](double v) { return top > 0 && v > 1e-10 * top; });
}

// `p` in k dimensions: its first k coordinates, or its coordinates on the first k principal
// axes (about their mean).
point_set project(const point_set& p, std::size_t k, const principal_axes* axes) {
    point_set out;
    out.n = p.n;
    out.d = k;
    out.x.assign(p.n * k, 0.0);
    for (std::size_t i = 0; i < p.n; ++i)
        for (std::size_t c = 0; c < k; ++c) {
            if (!axes) {
                out.x[i * k + c] = p.row(i)[c];
                continue;
            }
            double s = 0.0;
            for (std::size_t j = 0; j < p.d; ++j)
                s += (p.row(i)[j] - axes->mean[j]) * axes->vectors[j * p.d + c];
            out.x[i * k + c] = s;
        }
    return out;
}

query_result to_result(const hull_answer& a, double seconds, bool keep) {
    query_result r;
    using v = hull_answer::verdict;
    r.status = a.status == v::inside ? 1 : a.status == v::outside ? 0 : 2;
    r.by = a.by == hull_answer::answered_by::lp ? 0 : a.by == hull_answer::answered_by::box ? 1 : 2;
    r.distance = a.status == v::failed ? nan : a.distance;
    r.residual = a.residual;
    r.seconds = seconds;
    r.rounds = a.rounds;
    r.columns = a.columns;
    if (keep) {
        for (const auto& [i, l] : a.weights) {
            r.weight_index.push_back(static_cast<std::int64_t>(i));
            r.weight.push_back(l);
        }
        if (a.status == v::outside) {
            r.hyperplane = a.w;
            r.hyperplane.push_back(a.b);
        }
    }
    return r;
}

} // namespace

std::vector<query_result> answer_all(const hull& h, const point_set& q,
                                     const std::vector<std::ptrdiff_t>& exclude, bool screens,
                                     bool keep_certificates, int threads,
                                     const std::function<void(std::size_t, std::size_t)>& tick) {
    std::vector<query_result> out(q.n);
    const std::size_t n_threads =
        std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), q.n));
    std::atomic<std::size_t> done{0};
    std::vector<std::exception_ptr> errors(n_threads);
    // Contiguous blocks: which thread answers which query, and so which plane each screen
    // remembers, depends on the thread count only.
    auto work = [&](std::size_t t) {
        try {
            screen s(h);
            const std::size_t begin = q.n * t / n_threads, end = q.n * (t + 1) / n_threads;
            for (std::size_t k = begin; k < end; ++k) {
                const auto t0 = std::chrono::steady_clock::now();
                hull_answer a;
                if (!(screens && s.separates(q.row(k), a))) {
                    a = h.contains(q.row(k), exclude.empty() ? -1 : exclude[k]);
                    if (screens)
                        s.remember(a);
                }
                out[k] = to_result(a, seconds_since(t0), keep_certificates);
                const std::size_t n_done = ++done;
                if (t == 0 && tick)
                    tick(n_done, q.n);
            }
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    {
        std::vector<std::jthread> pool; // joined on every way out, a failed start included
        for (std::size_t t = 1; t < n_threads; ++t)
            pool.emplace_back(work, t);
        work(0);
    }
    for (const auto& e : errors)
        if (e)
            std::rethrow_exception(e);
    if (tick)
        tick(q.n, q.n);
    return out;
}

void analysis_impl::declare(grokkit::param_set& ps) {
    auto& p = m_params;
    ps.add("space", p.space,
           "the space of the hull: input (features; token inputs one-hot) or a representation "
           "the model exposes (flattened)")
        .non_empty();
    ps.add("queries", p.queries,
           "test: test points against the training points; train: each training point against "
           "the others (leave-one-out)")
        .one_of({"test", "train"});
    ps.add("query_index", p.query_index,
           "optional: positions in the query split from an earlier analysis (<analysis>/<output>, "
           "int64), tested instead of the whole split")
        .input(grokkit::dtype::int64);
    ps.add("max_queries", p.max_queries,
           "test at most this many queries per checkpoint: a seeded sample, the same at every "
           "checkpoint")
        .at_least(1)
        .at_most(10'000'000);
    ps.add("dimensions", p.dimensions,
           "grid: the hull test in these dimensions too (first coordinates or principal axes, "
           "per projection); [] = the space's own")
        .at_least(1);
    ps.add("reference_sizes", p.reference_sizes,
           "grid: against these many training points too (nested seeded subsets); [] = all")
        .at_least(1);
    ps.add("projection", p.projection,
           "grid: coordinates (the first k) or pca (the k principal axes of the training points)")
        .one_of({"coordinates", "pca"});
    ps.add("screens", p.screens,
           "answer outside without an LP when the bounding box or an earlier hyperplane "
           "separates (distance then a lower bound)");
    ps.add("tolerance", p.tolerance,
           "inside when the L1 distance is at most tolerance * max(1, max |x_ij|)")
        .at_least(1e-10)
        .at_most(1e-2);
    ps.add("method", p.method,
           "generation (column generation, fast) or full (every point in one LP, a reference)")
        .one_of({"generation", "full"});
    ps.add("certificates", p.certificates,
           "also record each query's weights and hyperplane and the points they refer to "
           "(checkable without a solver)");
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("status", dtype::int64, {"n_queries"}, "code",
           "per query of the split: -1 not tested, 0 outside the hull, 1 inside, 2 failed (the "
           "solve or its certificate; never counted as in or out)")
        .axes({"query"});
    os.add("answered_by", dtype::int64, {"n_queries"}, "code",
           "-1 not tested, 0 the LP, 1 the bounding box, 2 an earlier query's hyperplane")
        .axes({"query"});
    os.add("distance", dtype::float64, {"n_queries"}, "L1",
           "L1 distance to the hull: 0 inside; outside, w.q - b of the certified hyperplane "
           "(exact for the LP, a lower bound for a screen); NaN not tested or failed")
        .axes({"query"});
    os.add("residual", dtype::float64, {"n_queries"}, "1",
           "certificate check: inside, max |X^T lambda - q|; outside (LP), the duality gap of the "
           "distance; NaN for screens and untested queries")
        .axes({"query"});
    os.add("solve_seconds", dtype::float64, {"n_queries"}, "s",
           "wall time of each query (screens and LP); NaN not tested; for space = input, the "
           "first checkpoint's (its answers are reused)")
        .axes({"query"});
    os.add("lp_columns", dtype::int64, {"n_queries"}, "1",
           "points in the LP's final working set (0 when a screen answered or not tested)")
        .axes({"query"});
    os.add("out_of_hull", dtype::int64, {}, "index",
           "positions in the query split of the queries outside the hull, ascending (for "
           "chaining: query_index of a later analysis)")
        .ragged();
    os.add("n_tested", dtype::int64, {}, "1", "queries tested at this checkpoint");
    os.add("n_inside", dtype::int64, {}, "1", "of them inside");
    os.add("n_outside", dtype::int64, {}, "1", "of them outside");
    os.add("n_failed", dtype::int64, {}, "1", "of them failed");
    os.add("n_screened", dtype::int64, {}, "1", "outside answers given by a screen");
    os.add("inside_fraction", dtype::float64, {}, "fraction", "n_inside / (n_inside + n_outside)");
    os.add("accuracy_inside", dtype::float64, {}, "fraction",
           "the model's accuracy on the queries inside (labels as trained; NaN when none)");
    os.add("accuracy_outside", dtype::float64, {}, "fraction", "on the queries outside");
    os.add("loss_inside", dtype::float64, {}, "nats",
           "the run's loss, mean over the queries inside (NaN when none)");
    os.add("loss_outside", dtype::float64, {}, "nats", "over the queries outside");
    os.add("dim", dtype::int64, {}, "1", "d: the dimension of the space");
    os.add("n_reference", dtype::int64, {}, "1", "N: the reference (training) points");
    os.add("affine_rank", dtype::int64, {}, "1",
           "dimension of the reference points' affine hull (covariance eigenvalues above 1e-10 of "
           "the largest); -1 when d > 1024 and no principal axes are needed");
    os.add("mean_lp_columns", dtype::float64, {}, "1", "lp_columns, mean over the LP's answers");
    os.add("seconds_points", dtype::float64, {}, "s",
           "computing the space's points (representations) and principal axes");
    os.add("seconds_queries", dtype::float64, {}, "s", "answering the queries (wall)");
    os.add("seconds_model", dtype::float64, {}, "s", "the model's accuracy and loss on them");
    os.add("seconds_grid", dtype::float64, {}, "s", "the grid (wall)");
    os.add("grid_dimensions", dtype::int64, {"n_dimensions"}, "1", "the grid's dimensions")
        .axes({"dimension"});
    os.add("grid_sizes", dtype::int64, {"n_sizes"}, "1", "the grid's reference sizes")
        .axes({"size"});
    os.add("grid_inside_fraction", dtype::float64, {"n_dimensions", "n_sizes"}, "fraction",
           "share of the tested queries inside the hull of that many reference points in that "
           "many dimensions (the full space and all points: the per-query answers)")
        .axes({"dimension", "size"});
    os.add("grid_accuracy_inside", dtype::float64, {"n_dimensions", "n_sizes"}, "fraction",
           "the model's accuracy on the queries inside in each cell (NaN when none)")
        .axes({"dimension", "size"});
    os.add("grid_accuracy_outside", dtype::float64, {"n_dimensions", "n_sizes"}, "fraction",
           "and on those outside")
        .axes({"dimension", "size"});
    os.add("grid_failed", dtype::int64, {"n_dimensions", "n_sizes"}, "1", "failed queries per cell")
        .axes({"dimension", "size"});
    os.add("grid_seconds_per_query", dtype::float64, {"n_dimensions", "n_sizes"}, "s",
           "mean wall time per query in each cell")
        .axes({"dimension", "size"});
    const std::string when = "certificates = true";
    os.add("weight_index", dtype::int64, {"n_queries"}, "index",
           "per query: the training points with non-zero weight (at most d + 1)")
        .ragged()
        .axes({"query"})
        .optional(when);
    os.add("weight", dtype::float64, {"n_queries"}, "1",
           "their weights (sum 1): inside they rebuild q; outside, the hull's L1-nearest point")
        .ragged()
        .axes({"query"})
        .optional(when);
    os.add("hyperplane", dtype::float64, {"n_queries"}, "1",
           "outside: w (d values, max |w_j| = 1) then b, with w.x_i <= b < w.q for every "
           "reference point (but the query's own, for queries = \"train\"); empty otherwise")
        .ragged()
        .axes({"query"})
        .optional(when);
    os.add("points", dtype::float64, {"n_reference", "d"}, "1",
           "the reference points the certificates refer to (training set order)")
        .axes({"point", "coordinate"})
        .optional(when);
    os.add("query_points", dtype::float64, {"n_queries", "d"}, "1",
           "the queries in the same space (NaN rows where not tested)")
        .axes({"query", "coordinate"})
        .optional(when);
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const auto& p = m_params;
    const auto reps = setup.net.representations();
    if (p.space != "input" && std::find(reps.begin(), reps.end(), p.space) == reps.end())
        fail("space", "the model has no representation \"" + p.space + "\"",
             "input or one of the model's representations: " + grokkit::join(reps));
    const auto& split = p.queries == "test" ? setup.data.test : setup.data.train;
    const std::size_t n_train = setup.data.train.size();
    if (n_train == 0 || split.size() == 0)
        fail("queries", "the " + p.queries + " split is empty", "a split with examples");
    // The space's dimension, from one training example.
    const point_set one = space_points(setup.net, setup.spec, setup.data.train, {0}, p.space);
    for (const auto k : p.dimensions)
        if (static_cast<std::size_t>(k) > one.d)
            fail("dimensions",
                 "dimension " + std::to_string(k) + " is above the space's " +
                     std::to_string(one.d),
                 "dimensions from 1 to " + std::to_string(one.d));
    if (!p.dimensions.empty() && p.projection == "pca" && one.d > 4096)
        fail("projection", "principal axes of a " + std::to_string(one.d) + "-dimensional space",
             "pca for spaces of at most 4096 dimensions, or projection = \"coordinates\"");
    for (const auto s : p.reference_sizes)
        if (static_cast<std::size_t>(s) > n_train)
            fail("reference_sizes", std::to_string(s) + " reference points asked for",
                 "at most the " + std::to_string(n_train) + " training points");
    out.size("n_queries", split.size());
    out.size("n_reference", n_train);
    out.size("d", one.d);
    out.size("n_dimensions", std::max<std::size_t>(1, p.dimensions.size()));
    out.size("n_sizes", std::max<std::size_t>(1, p.reference_sizes.size()));
    if (!p.certificates)
        for (const char* o : {"weight_index", "weight", "hyperplane", "points", "query_points"})
            out.skip(o);
}

std::vector<std::int64_t> analysis_impl::pick_queries(grokkit::analysis_context& ctx) const {
    const auto& split = m_params.queries == "test" ? ctx.data().test : ctx.data().train;
    std::vector<std::int64_t> candidates = iota(split.size());
    if (!m_params.query_index.empty()) {
        candidates = ctx.input(m_params.query_index).int64s();
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
        for (const auto i : candidates)
            if (i < 0 || static_cast<std::size_t>(i) >= split.size())
                throw grokkit::error("hull_test.run",
                                     "query_index \"" + m_params.query_index + "\" holds " +
                                         std::to_string(i),
                                     "positions in the " + m_params.queries + " split, 0 to " +
                                         std::to_string(split.size() - 1));
    }
    const auto cap = static_cast<std::size_t>(m_params.max_queries);
    if (candidates.size() <= cap)
        return candidates;
    const auto order = grokkit::rng(ctx.seed(), "queries").permutation(candidates.size());
    std::vector<std::int64_t> picked;
    for (std::size_t k = 0; k < cap; ++k)
        picked.push_back(candidates[order[k]]);
    std::sort(picked.begin(), picked.end());
    return picked;
}

namespace {

hull_options options_of(const params& p) {
    hull_options o;
    o.tolerance = p.tolerance;
    o.method = p.method == "full" ? lp_method::full : lp_method::generation;
    return o;
}

// The per-query outputs: one value per position of the query split, defaults where untested.
void write_queries(grokkit::analysis_context& ctx, std::size_t n_split,
                   const std::vector<std::int64_t>& picked, const std::vector<query_result>& r,
                   bool certificates) {
    std::vector<std::int64_t> status(n_split, -1), by(n_split, -1), columns(n_split, 0);
    std::vector<double> distance(n_split, nan), residual(n_split, nan), seconds(n_split, nan);
    std::vector<std::vector<std::int64_t>> weight_index(n_split);
    std::vector<std::vector<double>> weight(n_split), plane(n_split);
    std::vector<std::int64_t> outside;
    std::int64_t counts[3] = {0, 0, 0}, screened = 0;
    double lp_columns = 0;
    for (std::size_t k = 0; k < picked.size(); ++k) {
        const auto i = static_cast<std::size_t>(picked[k]);
        status[i] = r[k].status;
        by[i] = r[k].by;
        columns[i] = static_cast<std::int64_t>(r[k].columns);
        distance[i] = r[k].distance;
        residual[i] = r[k].residual;
        seconds[i] = r[k].seconds;
        ++counts[r[k].status];
        screened += r[k].by > 0;
        lp_columns += r[k].by == 0 ? static_cast<double>(r[k].columns) : 0.0; // failed ones too
        if (r[k].status == 0)
            outside.push_back(picked[k]);
        weight_index[i] = r[k].weight_index;
        weight[i] = r[k].weight;
        plane[i] = r[k].hyperplane;
    }
    ctx.write("status", status);
    ctx.write("answered_by", by);
    ctx.write("distance", distance);
    ctx.write("residual", residual);
    ctx.write("solve_seconds", seconds);
    ctx.write("lp_columns", columns);
    ctx.write("out_of_hull", std::vector<std::vector<std::int64_t>>{outside});
    ctx.write("n_tested", static_cast<std::int64_t>(picked.size()));
    ctx.write("n_outside", counts[0]);
    ctx.write("n_inside", counts[1]);
    ctx.write("n_failed", counts[2]);
    ctx.write("n_screened", screened);
    const std::int64_t decided = counts[0] + counts[1];
    ctx.write("inside_fraction", decided ? double(counts[1]) / double(decided) : nan);
    const std::int64_t by_lp = static_cast<std::int64_t>(picked.size()) - screened;
    ctx.write("mean_lp_columns", by_lp ? lp_columns / double(by_lp) : nan);
    if (certificates) {
        ctx.write("weight_index", weight_index);
        ctx.write("weight", weight);
        ctx.write("hyperplane", plane);
    }
}

} // namespace

std::vector<char> analysis_impl::write_model_fit(grokkit::analysis_context& ctx,
                                                 const std::vector<std::int64_t>& picked,
                                                 const std::vector<query_result>& results) {
    const auto& split = m_params.queries == "test" ? ctx.data().test : ctx.data().train;
    // Each tested query's loss and whether its arg-max is its label, from chunked logits.
    std::vector<char> correct(picked.size(), 0);
    std::vector<double> loss(picked.size(), 0.0);
    const std::size_t chunk = 2048;
    xt::xtensor<float, 2> logits;
    for (std::size_t s = 0; s < picked.size(); s += chunk) {
        const std::size_t n = std::min(chunk, picked.size() - s);
        const gathered b = gather(split, picked.data() + s, n);
        ctx.trained_model().forward(b.b, logits);
        const auto each = grokkit::example_losses(ctx.loss(), logits, b.b);
        for (std::size_t k = 0; k < n; ++k) {
            loss[s + k] = each[k].loss;
            correct[s + k] = each[k].correct;
        }
    }
    const char* names[2] = {"outside", "inside"};
    for (std::int64_t g = 0; g < 2; ++g) {
        double n = 0, right = 0, total = 0;
        for (std::size_t k = 0; k < picked.size(); ++k)
            if (results[k].status == g) {
                ++n;
                right += correct[k];
                total += loss[k];
            }
        ctx.write(std::string("accuracy_") + names[g], n > 0 ? right / n : nan);
        ctx.write(std::string("loss_") + names[g], n > 0 ? total / n : nan);
    }
    return correct;
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const auto& p = m_params;
    const bool train_queries = p.queries == "train";
    const auto& split = train_queries ? ctx.data().train : ctx.data().test;
    const std::vector<std::int64_t> picked = pick_queries(ctx);
    const bool input = p.space == "input";
    auto t0 = std::chrono::steady_clock::now();
    grokkit::model& m = ctx.trained_model();
    const point_set ref =
        space_points(m, ctx.spec(), ctx.data().train, iota(ctx.data().train.size()), p.space);
    const point_set q = space_points(m, ctx.spec(), split, picked, p.space);
    std::optional<principal_axes> axes;
    if ((!p.dimensions.empty() && p.projection == "pca") || ref.d <= 1024)
        axes = principal(ref);
    ctx.write("seconds_points", seconds_since(t0));
    ctx.write("dim", static_cast<std::int64_t>(ref.d));
    ctx.write("n_reference", static_cast<std::int64_t>(ref.n));
    ctx.write("affine_rank", axes ? affine_rank(*axes) : std::int64_t{-1});

    t0 = std::chrono::steady_clock::now();
    std::vector<query_result> results;
    if (input && m_cache.valid && m_cache.picked == picked) {
        results = m_cache.results;
    } else {
        const hull h(ref.x, ref.n, ref.d, options_of(p));
        std::vector<std::ptrdiff_t> exclude;
        if (train_queries)
            exclude.assign(picked.begin(), picked.end());
        results = answer_all(h, q, exclude, p.screens, p.certificates, ctx.threads(),
                             [&](std::size_t done, std::size_t total) {
                                 ctx.progress("queries", static_cast<std::int64_t>(done),
                                              static_cast<std::int64_t>(total));
                             });
        if (input) {
            m_cache.picked = picked;
            m_cache.results = results;
            m_cache.valid = true;
            m_cache.grid_valid = false;
        }
    }
    ctx.write("seconds_queries", seconds_since(t0));
    write_queries(ctx, split.size(), picked, results, p.certificates);

    t0 = std::chrono::steady_clock::now();
    const std::vector<char> correct = write_model_fit(ctx, picked, results);
    ctx.write("seconds_model", seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    write_grid(ctx, ref, q, axes ? &*axes : nullptr, picked, results, correct);
    ctx.write("seconds_grid", seconds_since(t0));
    if (p.certificates) {
        xt::xarray<double> points = xt::zeros<double>({ref.n, ref.d});
        std::copy(ref.x.begin(), ref.x.end(), points.begin());
        ctx.write("points", points);
        xt::xarray<double> queries = xt::zeros<double>({split.size(), ref.d});
        queries.fill(nan);
        for (std::size_t k = 0; k < picked.size(); ++k)
            std::copy(q.row(k), q.row(k) + q.d,
                      queries.begin() +
                          static_cast<std::ptrdiff_t>(static_cast<std::size_t>(picked[k]) * ref.d));
        ctx.write("query_points", queries);
    }
}

void analysis_impl::write_grid(grokkit::analysis_context& ctx, const point_set& ref,
                               const point_set& q, const principal_axes* axes,
                               const std::vector<std::int64_t>& picked,
                               const std::vector<query_result>& results,
                               const std::vector<char>& correct) {
    const auto& p = m_params;
    std::vector<std::int64_t> dims = p.dimensions, sizes = p.reference_sizes;
    if (dims.empty())
        dims = {static_cast<std::int64_t>(ref.d)};
    if (sizes.empty())
        sizes = {static_cast<std::int64_t>(ref.n)};
    const std::size_t nd = dims.size(), ns = sizes.size();
    if (!(p.space == "input" && m_cache.grid_valid)) {
        m_cache.grid_status.assign(nd * ns, {});
        m_cache.grid_seconds.assign(nd * ns, nan);
        // Nested reference subsets: the first s points of one seeded order.
        const auto order = grokkit::rng(ctx.seed(), "reference").permutation(ref.n);
        std::vector<std::size_t> rank(ref.n);
        for (std::size_t r = 0; r < ref.n; ++r)
            rank[order[r]] = r;
        for (std::size_t a = 0; a < nd; ++a) {
            const auto k = static_cast<std::size_t>(dims[a]);
            const bool same_space = k == ref.d;
            const principal_axes* use_axes = p.projection == "pca" ? axes : nullptr;
            const point_set ref_k = same_space ? ref : project(ref, k, use_axes);
            const point_set q_k = same_space ? q : project(q, k, use_axes);
            for (std::size_t b = 0; b < ns; ++b) {
                ctx.progress("grid cells", static_cast<std::int64_t>(a * ns + b),
                             static_cast<std::int64_t>(nd * ns));
                const auto s = static_cast<std::size_t>(sizes[b]);
                std::vector<query_result> cell;
                if (same_space && s == ref.n) {
                    cell = results; // the per-query answers: the same hull
                } else {
                    std::vector<double> sub;
                    sub.reserve(s * k);
                    for (std::size_t r = 0; r < s; ++r)
                        sub.insert(sub.end(), ref_k.row(order[r]), ref_k.row(order[r]) + k);
                    std::vector<std::ptrdiff_t> exclude;
                    if (p.queries == "train")
                        for (const auto i : picked) {
                            const std::size_t r = rank[static_cast<std::size_t>(i)];
                            exclude.push_back(r < s ? static_cast<std::ptrdiff_t>(r) : -1);
                        }
                    const hull h(std::move(sub), s, k, options_of(p));
                    cell = answer_all(h, q_k, exclude, p.screens, false, ctx.threads(), {});
                }
                double total = 0;
                for (const auto& r : cell) {
                    m_cache.grid_status[a * ns + b].push_back(r.status);
                    total += r.seconds;
                }
                m_cache.grid_seconds[a * ns + b] = cell.empty() ? nan : total / double(cell.size());
            }
        }
        m_cache.grid_valid = p.space == "input";
    }
    // Shares and accuracies from each cell's verdicts and this checkpoint's predictions.
    xt::xarray<double> fraction = xt::zeros<double>({nd, ns});
    xt::xarray<double> seconds = fraction, acc_in = fraction, acc_out = fraction;
    xt::xarray<std::int64_t> failed = xt::zeros<std::int64_t>({nd, ns});
    for (std::size_t c = 0; c < nd * ns; ++c) {
        const auto& status = m_cache.grid_status[c];
        double in = 0, out = 0, right_in = 0, right_out = 0;
        for (std::size_t k = 0; k < status.size(); ++k) {
            in += status[k] == 1;
            out += status[k] == 0;
            failed.data()[c] += status[k] == 2;
            right_in += status[k] == 1 && correct[k];
            right_out += status[k] == 0 && correct[k];
        }
        fraction.data()[c] = in + out > 0 ? in / (in + out) : nan;
        acc_in.data()[c] = in > 0 ? right_in / in : nan;
        acc_out.data()[c] = out > 0 ? right_out / out : nan;
        seconds.data()[c] = m_cache.grid_seconds[c];
    }
    ctx.write("grid_dimensions", dims);
    ctx.write("grid_sizes", sizes);
    ctx.write("grid_inside_fraction", fraction);
    ctx.write("grid_accuracy_inside", acc_in);
    ctx.write("grid_accuracy_outside", acc_out);
    ctx.write("grid_failed", failed);
    ctx.write("grid_seconds_per_query", seconds);
}

} // namespace hull_test
