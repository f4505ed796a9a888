// retraining: the retrainings, committed one by one, and the statistics drawn from them.
// SPDX-License-Identifier: Apache-2.0
#include "retraining.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace retraining {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void fail(const std::string& key, const std::string& what,
                       const std::string& expected) {
    throw grokkit::error(grokkit::diagnostic{"retraining.outputs", key, what, expected, 0, 0});
}

// Each example's loss and whether its arg-max is its label.
void losses_and_hits(grokkit::model& net, const grokkit::example_set& set,
                     const grokkit::loss_config& loss, std::vector<double>& losses,
                     std::vector<double>& hits) {
    losses.assign(set.size(), nan);
    hits.assign(set.size(), nan);
    if (set.size() == 0)
        return;
    xt::xtensor<float, 2> logits;
    const grokkit::batch all = grokkit::as_batch(set);
    net.forward(all, logits);
    const auto each = grokkit::example_losses(loss, logits, all);
    for (std::size_t i = 0; i < set.size(); ++i) {
        losses[i] = each[i].loss;
        hits[i] = each[i].correct ? 1.0 : 0.0;
    }
}

// Average ranks (1-based), ties sharing the mean of their ranks.
std::vector<double> ranks(const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        const double mean = 0.5 * static_cast<double>(i + j) + 1.0;
        for (std::size_t k = i; k <= j; ++k)
            r[order[k]] = mean;
        i = j + 1;
    }
    return r;
}

// What the items train on: item 0 the whole set, 1 .. n_loo without one example each, then the
// subsets.
struct plan {
    std::vector<std::size_t> loo;
    std::vector<std::vector<bool>> members; // (K, n_train)

    std::size_t size() const { return 1 + loo.size() + members.size(); }
    std::vector<std::size_t> rows(std::size_t item, std::size_t n_train) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < n_train; ++i) {
            const bool kept = item == 0            ? true
                              : item <= loo.size() ? i != loo[item - 1]
                                                   : members[item - 1 - loo.size()][i];
            if (kept)
                out.push_back(i);
        }
        return out;
    }
};

// The influence analysis `name`'s scores at this checkpoint, row by row of our queries: the row
// of each query it scored, or empty where it did not.
std::vector<std::vector<double>> scores_by_query(grokkit::analysis_context& ctx,
                                                 const std::string& name,
                                                 const std::vector<std::int64_t>& queries,
                                                 const std::string& split) {
    const std::string theirs = ctx.input(name + "/query_split").text();
    if (theirs != split)
        throw grokkit::error(grokkit::diagnostic{
            "retraining.run", "influence",
            "influence analysis \"" + name + "\" scores " + theirs + " queries",
            "influence analyses of the " + split + " split, as this one's `queries`", 0, 0});
    const xt::xarray<double> scores = ctx.input(name + "/scores").array();
    const std::vector<std::int64_t> rows = ctx.input(name + "/query").int64s();
    const std::size_t n_train = scores.dimension() == 2 ? scores.shape(1) : 0;
    std::vector<std::vector<double>> out(queries.size());
    for (std::size_t q = 0; q < queries.size(); ++q)
        for (std::size_t r = 0; r < rows.size(); ++r)
            if (rows[r] == queries[q]) {
                out[q].assign(scores.data() + r * n_train, scores.data() + (r + 1) * n_train);
                break;
            }
    return out;
}

} // namespace

std::vector<double> scored_model::flat() const {
    std::vector<double> v = query_loss;
    for (const auto* part : {&query_correct, &train_loss, &train_correct})
        v.insert(v.end(), part->begin(), part->end());
    return v;
}

scored_model scored_model::from_flat(const std::vector<double>& v, std::size_t n_queries,
                                     std::size_t n_train) {
    if (v.size() != 2 * (n_queries + n_train))
        throw grokkit::error(
            "retraining.run", "a committed retraining of " + std::to_string(v.size()) + " values",
            std::to_string(2 * (n_queries + n_train)) + " (the same pipeline and dataset)");
    scored_model m;
    auto it = v.begin();
    for (auto* part : {&m.query_loss, &m.query_correct, &m.train_loss, &m.train_correct}) {
        const std::size_t n =
            part == &m.query_loss || part == &m.query_correct ? n_queries : n_train;
        part->assign(it, it + static_cast<std::ptrdiff_t>(n));
        it += static_cast<std::ptrdiff_t>(n);
    }
    return m;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    if (n < 2)
        return nan;
    const double ma = std::accumulate(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), 0.0) /
                      static_cast<double>(n);
    const double mb = std::accumulate(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n), 0.0) /
                      static_cast<double>(n);
    double sab = 0.0, saa = 0.0, sbb = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0.0 && sbb > 0.0 ? sab / std::sqrt(saa * sbb) : nan;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
    return pearson(ranks(a), ranks(b));
}

std::vector<double> membership_difference(const std::vector<std::vector<bool>>& in,
                                          const std::vector<std::vector<double>>& outcome,
                                          std::size_t n_train) {
    const std::size_t cols = outcome.empty() ? 0 : outcome.front().size();
    std::vector<double> out(n_train * cols, nan);
    for (std::size_t i = 0; i < n_train; ++i) {
        std::vector<double> with(cols, 0.0), without(cols, 0.0);
        double n_with = 0.0, n_without = 0.0;
        for (std::size_t k = 0; k < in.size(); ++k) {
            auto& sum = in[k][i] ? with : without;
            (in[k][i] ? n_with : n_without) += 1.0;
            for (std::size_t j = 0; j < cols; ++j)
                sum[j] += outcome[k][j];
        }
        if (n_with == 0.0 || n_without == 0.0)
            continue;
        for (std::size_t j = 0; j < cols; ++j)
            out[i * cols + j] = with[j] / n_with - without[j] / n_without;
    }
    return out;
}

void analysis_impl::declare(grokkit::param_set& ps) {
    auto& p = m_params;
    ps.add("leave_one_out", p.leave_one_out,
           "retrain without each of this many training examples in turn, a sample keyed by the "
           "analysis seed (the same at every checkpoint)")
        .at_least(0);
    ps.add("loo_positions", p.loo_positions,
           "or retrain without each of these training positions (each once) instead")
        .at_least(0);
    ps.add("subsets", p.subsets,
           "retrain on this many random subsets of the training set (Feldman & Zhang; the LDS), "
           "the same subsets at every checkpoint")
        .at_least(0);
    ps.add("subset_fraction", p.subset_fraction,
           "alpha: each subset holds round(alpha x n_train) training examples, drawn without "
           "replacement")
        .above(0)
        .below(1);
    ps.add("steps", p.steps,
           "optimizer updates of each retraining, from the run's initialisation with its [train] "
           "settings and schedule (over [train] steps); 0: as many as the run has taken at this "
           "checkpoint")
        .at_least(0);
    ps.add("queries", p.queries, "the split the queries come from").one_of({"test", "train"});
    ps.add("max_queries", p.max_queries,
           "queries: a sample of at most this many of the split, the one every influence "
           "analysis of the run with the same max_queries takes (keyed by the run seed)")
        .at_least(1)
        .at_most(100'000);
    ps.add("influence", p.influence,
           "influence analyses of this pipeline, listed before this one, whose scores get an LDS "
           "and a leave-one-out Pearson (they must score the same query split)");
    ps.add("workers", p.workers,
           "retrainings run side by side, each on one BLAS thread (so results do not depend on "
           "how many); 0: the run's thread count")
        .at_least(0)
        .at_most(256);
    ps.check("loo_positions", "leave_one_out or loo_positions, not both", [&p] {
        return p.leave_one_out > 0 && !p.loo_positions.empty()
                   ? std::optional<std::string>("both are set")
                   : std::nullopt;
    });
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("query", dtype::int64, {"n_queries"}, "index", "position of each query in its split");
    os.add("full_query_loss", dtype::float64, {"n_queries"}, "nats",
           "each query's loss after retraining on the whole training set");
    os.add("full_train_accuracy", dtype::float64, {}, "fraction",
           "training accuracy of that model");
    os.add("loo_index", dtype::int64, {"n_loo"}, "index", "training positions left out, in turn");
    os.add("loo_change", dtype::float64, {"n_loo", "n_queries"}, "nats",
           "each query's loss without the example minus with it: the actual leave-one-out "
           "effect influence scores predict (about score / n_train)")
        .axes({"left_out", "query"});
    os.add("loo_self_change", dtype::float64, {"n_loo"}, "nats",
           "the left-out example's own loss without it minus with it (leave-one-out "
           "memorisation, by loss)");
    os.add("subset_members", dtype::boolean, {"n_subsets", "n_train"}, "1",
           "which training examples each subset holds")
        .axes({"subset", "train"});
    os.add("subset_query_loss", dtype::float64, {"n_subsets", "n_queries"}, "nats",
           "each query's loss after retraining on each subset")
        .axes({"subset", "query"});
    os.add("memorisation", dtype::float64, {"n_train"}, "fraction",
           "Feldman & Zhang: accuracy on the example over the subsets holding it minus over those "
           "without it; NaN where either group is empty");
    os.add("feldman_influence", dtype::float64, {"n_queries", "n_train"}, "fraction",
           "Feldman & Zhang: each query's accuracy over the subsets holding the training example "
           "minus over those without it")
        .axes({"query", "train"});
    os.add("method", dtype::string, {"n_methods"}, "", "the influence analyses judged, in order");
    os.add("lds", dtype::float64, {"n_methods"}, "1",
           "linear datamodeling score: the mean over queries of the Spearman correlation, across "
           "the subsets, between sum of the method's scores over the examples a subset leaves "
           "out and the query's actual loss after retraining on it (1: perfect; NaN without "
           "subsets)");
    os.add("lds_query", dtype::float64, {"n_methods", "n_queries"}, "1",
           "that correlation per query (NaN for queries the method did not score)")
        .axes({"method", "query"});
    os.add("loo_pearson", dtype::float64, {"n_methods"}, "1",
           "Pearson correlation of score / n_train with the actual leave-one-out change, over "
           "every left-out example and query both scored");
    os.add("method_queries", dtype::int64, {"n_methods"}, "1",
           "queries each method's LDS and Pearson use: those it scored, every score finite");
    os.add("steps", dtype::int64, {}, "1", "optimizer updates of each retraining");
    os.add("n_retrainings", dtype::int64, {}, "1",
           "retrainings at this checkpoint: 1 + n_loo + n_subsets");
    os.add("n_resumed", dtype::int64, {}, "1",
           "of them, committed by an earlier session that was killed (--resume)");
    os.add("workers", dtype::int64, {}, "1", "retrainings run side by side");
    os.add("seconds_retraining", dtype::float64, {}, "s",
           "wall time of this session's retrainings");
}

std::vector<std::size_t> analysis_impl::loo_examples(std::size_t n_train,
                                                     std::uint64_t seed) const {
    if (!m_params.loo_positions.empty())
        return std::vector<std::size_t>(m_params.loo_positions.begin(),
                                        m_params.loo_positions.end());
    return grokkit::sample_sorted(seed, "retraining leave-one-out", n_train,
                                  static_cast<std::size_t>(m_params.leave_one_out));
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const auto& p = m_params;
    const std::size_t n_train = setup.data.train.size();
    const auto& split = p.queries == "test" ? setup.data.test : setup.data.train;
    if (n_train < 2)
        fail("subsets", "a training set of " + std::to_string(n_train) + " examples",
             "at least 2 training examples");
    if (split.size() == 0)
        fail("queries", "the " + p.queries + " split is empty", "a split with examples");
    std::vector<std::int64_t> sorted = p.loo_positions;
    std::sort(sorted.begin(), sorted.end());
    for (const auto i : sorted)
        if (static_cast<std::size_t>(i) >= n_train)
            fail("loo_positions", "position " + std::to_string(i),
                 "training positions 0 to " + std::to_string(n_train - 1));
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        fail("loo_positions", "a position given twice", "each position once");
    if (static_cast<std::size_t>(p.leave_one_out) > n_train)
        fail("leave_one_out", std::to_string(p.leave_one_out) + " examples",
             "at most the " + std::to_string(n_train) + " training examples");
    if (p.leave_one_out == 0 && p.loo_positions.empty() && p.subsets == 0)
        fail("subsets", "no retraining asked for", "leave_one_out, loo_positions or subsets > 0");
    const std::size_t kept =
        static_cast<std::size_t>(std::llround(p.subset_fraction * static_cast<double>(n_train)));
    if (p.subsets > 0 && (kept == 0 || kept == n_train))
        fail("subset_fraction",
             "subsets of " + std::to_string(kept) + " of " + std::to_string(n_train) + " examples",
             "a fraction that leaves some examples in and some out");
    out.size("n_queries", std::min(split.size(), static_cast<std::size_t>(p.max_queries)));
    out.size("n_train", n_train);
    out.size("n_loo", p.loo_positions.empty() ? static_cast<std::size_t>(p.leave_one_out)
                                              : p.loo_positions.size());
    out.size("n_subsets", static_cast<std::size_t>(p.subsets));
    out.size("n_methods", p.influence.size());
    out.keep_items();
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const auto& p = m_params;
    const grokkit::example_set& train = ctx.data().train;
    const auto& split = p.queries == "test" ? ctx.data().test : ctx.data().train;
    const std::size_t n_train = train.size();
    const std::vector<std::size_t> picked = grokkit::sample_sorted(
        ctx.run_seed(), "influence queries", split.size(), static_cast<std::size_t>(p.max_queries));
    const grokkit::example_set queries = grokkit::subset(split, picked);
    const std::size_t n_q = picked.size();
    plan work;
    work.loo = loo_examples(n_train, ctx.seed());
    const auto kept =
        static_cast<std::size_t>(std::llround(p.subset_fraction * static_cast<double>(n_train)));
    for (std::int64_t k = 0; k < p.subsets; ++k) {
        const auto order =
            grokkit::rng(ctx.seed(), "retraining subset", static_cast<std::uint64_t>(k))
                .permutation(n_train);
        std::vector<bool> in(n_train, false);
        for (std::size_t j = 0; j < kept; ++j)
            in[order[j]] = true;
        work.members.push_back(std::move(in));
    }
    // The run's schedule, stopped after as many updates as the run has taken here (or `steps`).
    const grokkit::train_config& cfg = ctx.training();
    const auto committed = ctx.checkpoints();
    const std::int64_t updates = p.steps > 0         ? p.steps
                                 : committed.empty() ? 0
                                                     : committed.back().updates;

    // The items an earlier, killed session committed, then the rest, `workers` at a time.
    std::vector<std::optional<scored_model>> scored(work.size());
    std::int64_t resumed = 0;
    for (const auto& [index, values] : ctx.committed_items())
        if (index >= 0 && static_cast<std::size_t>(index) < work.size()) {
            scored[static_cast<std::size_t>(index)] = scored_model::from_flat(values, n_q, n_train);
            ++resumed;
        }
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < work.size(); ++i)
        if (!scored[i])
            pending.push_back(i);
    const std::size_t workers =
        std::clamp<std::size_t>(static_cast<std::size_t>(p.workers > 0 ? p.workers : ctx.threads()),
                                1, std::max<std::size_t>(pending.size(), 1));
    const auto t0 = std::chrono::steady_clock::now();
    {
        const std::vector<float> init = grokkit::flat_parameters(*ctx.new_model(ctx.run_seed()));
        std::vector<std::unique_ptr<grokkit::model>> nets;
        for (std::size_t w = 0; w < std::min(workers, pending.size()); ++w)
            nets.push_back(ctx.new_model(ctx.run_seed()));
        const grokkit::scoped_blas_threads one(1, ctx.threads());
        // Workers retrain; this thread commits each retraining as soon as it ends (the file is
        // written from one thread).
        std::size_t done = work.size() - pending.size();
        grokkit::run_items(
            nets.size(), pending,
            [&](std::size_t worker, std::size_t item) {
                grokkit::model& net = *nets[worker];
                grokkit::set_flat_parameters(net, init);
                const grokkit::example_set rows = grokkit::subset(train, work.rows(item, n_train));
                grokkit::train(net, rows, cfg, ctx.run_seed(), {}, updates);
                scored_model m;
                losses_and_hits(net, queries, ctx.loss(), m.query_loss, m.query_correct);
                losses_and_hits(net, train, ctx.loss(), m.train_loss, m.train_correct);
                return m.flat();
            },
            [&](std::size_t item, const std::vector<double>& values) {
                ctx.commit_item(static_cast<std::int64_t>(item), values);
                scored[item] = scored_model::from_flat(values, n_q, n_train);
                ctx.progress("retrainings", static_cast<std::int64_t>(++done),
                             static_cast<std::int64_t>(work.size()));
            });
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const scored_model& full = *scored[0];
    const std::size_t n_loo = work.loo.size(), n_k = work.members.size();
    std::vector<double> loo_change(n_loo * n_q), loo_self(n_loo);
    for (std::size_t j = 0; j < n_loo; ++j) {
        const scored_model& m = *scored[1 + j];
        for (std::size_t q = 0; q < n_q; ++q)
            loo_change[j * n_q + q] = m.query_loss[q] - full.query_loss[q];
        loo_self[j] = m.train_loss[work.loo[j]] - full.train_loss[work.loo[j]];
    }
    std::vector<double> subset_loss(n_k * n_q), memorisation(n_train, nan);
    std::vector<std::vector<double>> query_hits(n_k);
    std::vector<bool> members_flat;
    for (std::size_t k = 0; k < n_k; ++k) {
        const scored_model& m = *scored[1 + n_loo + k];
        std::copy(m.query_loss.begin(), m.query_loss.end(),
                  subset_loss.begin() + static_cast<std::ptrdiff_t>(k * n_q));
        query_hits[k] = m.query_correct;
        members_flat.insert(members_flat.end(), work.members[k].begin(), work.members[k].end());
    }
    // Memorisation: the diagonal of the membership difference of the training accuracies.
    for (std::size_t i = 0; i < n_train; ++i) {
        double with = 0.0, without = 0.0, n_with = 0.0, n_without = 0.0;
        for (std::size_t k = 0; k < n_k; ++k) {
            const double hit = scored[1 + n_loo + k]->train_correct[i];
            (work.members[k][i] ? with : without) += hit;
            (work.members[k][i] ? n_with : n_without) += 1.0;
        }
        if (n_with > 0.0 && n_without > 0.0)
            memorisation[i] = with / n_with - without / n_without;
    }
    const std::vector<double> by_train = membership_difference(work.members, query_hits, n_train);
    std::vector<double> feldman(n_q * n_train, nan);
    for (std::size_t i = 0; i < n_train && !query_hits.empty(); ++i)
        for (std::size_t q = 0; q < n_q; ++q)
            feldman[q * n_train + i] = by_train[i * n_q + q];

    // Each influence analysis judged: its LDS over the subsets and its Pearson over the LOO.
    const std::size_t n_m = p.influence.size();
    std::vector<double> lds(n_m, nan), lds_query(n_m * n_q, nan), loo_r(n_m, nan);
    std::vector<std::int64_t> used(n_m, 0);
    std::vector<std::int64_t> query(picked.begin(), picked.end());
    for (std::size_t m = 0; m < n_m; ++m) {
        const auto scores = scores_by_query(ctx, p.influence[m], query, p.queries);
        std::vector<double> predicted_loo, actual_loo, per_query;
        for (std::size_t q = 0; q < n_q; ++q) {
            const std::vector<double>& s = scores[q];
            // A query the method did not score, or scored NaN (an indefinite solve), is left out.
            if (s.size() != n_train ||
                !std::all_of(s.begin(), s.end(), [](double x) { return std::isfinite(x); }))
                continue;
            ++used[m];
            for (std::size_t j = 0; j < n_loo; ++j) {
                predicted_loo.push_back(s[work.loo[j]] / static_cast<double>(n_train));
                actual_loo.push_back(loo_change[j * n_q + q]);
            }
            if (n_k < 2)
                continue;
            std::vector<double> predicted(n_k, 0.0), actual(n_k);
            for (std::size_t k = 0; k < n_k; ++k) {
                for (std::size_t i = 0; i < n_train; ++i)
                    if (!work.members[k][i])
                        predicted[k] += s[i];
                actual[k] = subset_loss[k * n_q + q];
            }
            lds_query[m * n_q + q] = spearman(predicted, actual);
            if (std::isfinite(lds_query[m * n_q + q]))
                per_query.push_back(lds_query[m * n_q + q]);
        }
        if (!per_query.empty())
            lds[m] = std::accumulate(per_query.begin(), per_query.end(), 0.0) /
                     static_cast<double>(per_query.size());
        loo_r[m] = pearson(predicted_loo, actual_loo);
    }
    const auto table = [](const std::vector<double>& v, std::size_t rows, std::size_t cols) {
        xt::xarray<double> a = xt::xarray<double>::from_shape({rows, cols});
        std::copy(v.begin(), v.end(), a.begin());
        return a;
    };
    ctx.write("query", query);
    ctx.write("full_query_loss", full.query_loss);
    ctx.write("full_train_accuracy",
              std::accumulate(full.train_correct.begin(), full.train_correct.end(), 0.0) /
                  static_cast<double>(n_train));
    ctx.write("loo_index", std::vector<std::int64_t>(work.loo.begin(), work.loo.end()));
    ctx.write("loo_change", table(loo_change, n_loo, n_q));
    ctx.write("loo_self_change", loo_self);
    ctx.write("subset_members", grokkit::output_value::booleans(members_flat, {n_k, n_train}));
    ctx.write("subset_query_loss", table(subset_loss, n_k, n_q));
    ctx.write("memorisation", memorisation);
    ctx.write("feldman_influence", table(feldman, n_q, n_train));
    ctx.write("method", p.influence);
    ctx.write("lds", lds);
    ctx.write("lds_query", table(lds_query, n_m, n_q));
    ctx.write("loo_pearson", loo_r);
    ctx.write("method_queries", used);
    ctx.write("steps", updates);
    ctx.write("n_retrainings", static_cast<std::int64_t>(work.size()));
    ctx.write("n_resumed", resumed);
    ctx.write("workers", static_cast<std::int64_t>(workers));
    ctx.write("seconds_retraining", seconds);
}

} // namespace retraining
