// influence's section of `grokkit report`: each query's top proponents and opponents, and the
// distribution of self-influence over training.
// SPDX-License-Identifier: Apache-2.0
#include "influence_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace influence {

namespace {

std::string number(double v, const char* format = "%.3g") {
    return grokkit::table_number(v, format);
}

// The q-quantile of the finite values of `v` (NaN when none).
double quantile(std::vector<double> v, double q) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }),
            v.end());
    if (v.empty())
        return std::nan("");
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

std::string setting(const grokkit::run_file& f, const std::string& name, const std::string& key) {
    const auto tree = f.resolved_pipeline();
    for (std::size_t i = 0; i < tree.n_analyses(); ++i)
        if (tree.string("analysis." + std::to_string(i) + ".name") == name) {
            // Any type as its TOML text, a string without its quotes.
            std::string text = tree.value_text("analysis." + std::to_string(i) + "." + key);
            if (text.size() >= 2 && text.front() == '"')
                text = text.substr(1, text.size() - 2);
            return text.empty() ? "?" : text;
        }
    return "?";
}

// "index (score)" for the first `shown` ranked examples of query row q.
std::string ranked(const xt::xarray<double>& index, const xt::xarray<double>& score, std::size_t q,
                   std::size_t shown) {
    std::string out;
    for (std::size_t j = 0; j < std::min(shown, index.shape(1)); ++j) {
        if (index(q, j) < 0)
            break;
        if (!out.empty())
            out += ", ";
        out += number(index(q, j), "%.0f");
        out += " (";
        out += number(score(q, j));
        out += ")";
    }
    return out;
}

void query_table(const grokkit::run_file& f, const std::string& name, std::size_t row,
                 std::int64_t step, grokkit::report_section& s) {
    const auto query = f.analysis_output(name, "query", row).int64s();
    const auto loss = f.analysis_output(name, "query_loss", row).array();
    const auto pro = f.analysis_output(name, "proponents", row).array();
    const auto pro_s = f.analysis_output(name, "proponent_scores", row).array();
    const auto opp = f.analysis_output(name, "opponents", row).array();
    const auto opp_s = f.analysis_output(name, "opponent_scores", row).array();
    grokkit::report_table t;
    t.header = {"query", "loss", "top proponents: train index (score)",
                "top opponents: train index (score)"};
    constexpr std::size_t shown_queries = 20, shown_ranks = 5;
    for (std::size_t q = 0; q < query.size() && t.rows.size() < shown_queries; ++q) {
        if (query[q] < 0)
            continue;
        t.rows.push_back({std::to_string(query[q]), number(loss(q)),
                          ranked(pro, pro_s, q, shown_ranks), ranked(opp, opp_s, q, shown_ranks)});
    }
    s.notes.push_back("At step " + std::to_string(step) + ", the first " +
                      std::to_string(t.rows.size()) + " queries with their " +
                      std::to_string(shown_ranks) +
                      " strongest proponents and opponents (all are in `scores`).");
    s.tables.push_back(std::move(t));
}

void self_influence_charts(const grokkit::run_file& f, const std::string& name,
                           const std::vector<std::int64_t>& steps, grokkit::report_section& s) {
    const std::vector<double> x(steps.begin(), steps.end());
    std::vector<grokkit::chart_series> series{
        {"median", x, {}}, {"90%", x, {}}, {"99%", x, {}}, {"max", x, {}}};
    // With label noise the dataset records which training labels it replaced: their mean
    // self-influence against the others', the memorisation signal.
    const auto records = f.dataset_records();
    std::vector<bool> noisy;
    if (std::find(records.begin(), records.end(), "noisy_index") != records.end() &&
        f.dataset_record("noisy_index").size() > 0) {
        series.push_back({"mean, noisy labels", x, {}});
        series.push_back({"mean, clean labels", x, {}});
        for (const auto i : f.dataset_record("noisy_index")) {
            if (static_cast<std::size_t>(i) >= noisy.size())
                noisy.resize(static_cast<std::size_t>(i) + 1, false);
            noisy[static_cast<std::size_t>(i)] = true;
        }
    }
    std::vector<double> last;
    std::vector<std::int64_t> noisy_positions;
    for (std::size_t i = 0; i < noisy.size(); ++i)
        if (noisy[i])
            noisy_positions.push_back(static_cast<std::int64_t>(i));
    grokkit::report_table precision;
    precision.header = {"step", "self-influence precision at k = " +
                                    std::to_string(std::count(noisy.begin(), noisy.end(), true)) +
                                    " replaced labels"};
    for (std::size_t r = 0; r < steps.size(); ++r) {
        const auto a = f.analysis_output(name, "self_influence", r).array();
        std::vector<double> v(a.begin(), a.end());
        if (!noisy.empty())
            precision.rows.push_back(
                {std::to_string(steps[r]),
                 grokkit::table_number(grokkit::precision_at_k(v, noisy_positions), "%.3f")});
        series[0].y.push_back(quantile(v, 0.5));
        series[1].y.push_back(quantile(v, 0.9));
        series[2].y.push_back(quantile(v, 0.99));
        series[3].y.push_back(quantile(v, 1.0));
        if (series.size() > 4) {
            double sum[2] = {0, 0};
            std::size_t count[2] = {0, 0};
            for (std::size_t i = 0; i < v.size(); ++i) {
                const int k = i < noisy.size() && noisy[i] ? 0 : 1;
                if (std::isfinite(v[i])) {
                    sum[k] += v[i];
                    ++count[k];
                }
            }
            series[4].y.push_back(count[0] ? sum[0] / static_cast<double>(count[0]) : std::nan(""));
            series[5].y.push_back(count[1] ? sum[1] / static_cast<double>(count[1]) : std::nan(""));
        }
        last = std::move(v);
    }
    if (!precision.rows.empty())
        s.tables.push_back(std::move(precision));
    if (steps.size() > 1)
        s.charts.push_back(grokkit::line_chart("Self-influence of the training examples", series,
                                               {"step", "self-influence (log)", true, true, {}}));
    s.charts.push_back(grokkit::histogram("Self-influence at step " + std::to_string(steps.back()),
                                          last, "self-influence (log)", 40, true));
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    const std::string method = setting(f, name, "method");
    const bool is_tracin = method == "tracin";
    const std::string how =
        is_tracin           ? "TracIn over the checkpoints"
        : method == "ekfac" ? "EK-FAC of the linear layers"
        : method == "trak"  ? "TRAK, projected to " + setting(f, name, "trak_dimension")
        : method == "lissa" ? "LiSSA on the " + setting(f, name, "curvature")
                            : method + " solves on the " + setting(f, name, "curvature");
    s.title = "Influence (" + name + ", " + how + ")";
    const auto steps = f.analysis_steps(name);
    if (steps.empty()) {
        s.notes.push_back("No checkpoint analysed yet.");
        return s;
    }
    s.notes.push_back(
        is_tracin
            ? "score = sum over the checkpoints before this one of w_c grad l(query) . grad "
              "l(train example), w_c the learning rate times the updates to the next checkpoint "
              "(TracIn-CP): positive, a proponent whose updates lowered the query's loss; "
              "negative, an opponent. Self-influence is an example's score on itself."
            : "score = grad l(query) . (H + R + lambda I)^-1 grad l(train example), H the "
              "curvature of the mean training loss and R the run's regulariser: leaving the "
              "example out raises the query's loss by about score / n_train. Positive: a "
              "proponent (the query relies on it); negative: an opponent. Self-influence is an "
              "example's score on itself, large for examples the model fits by memorising "
              "them.");
    grokkit::report_table t;
    t.header = {"step",
                "queries",
                "train loss",
                "damping",
                "self-infl. median",
                "self-infl. max",
                "worst residual",
                "unconverged",
                "indefinite",
                "seconds",
                "MiB"};
    bool has_self = false; // stored unless self_influence = false
    for (const auto& a : f.analyses())
        if (a.name == name)
            for (const auto& o : a.outputs)
                has_self = has_self || o.name == "self_influence";
    for (std::size_t r = 0; r < steps.size(); ++r) {
        auto v = [&](const char* o) { return f.analysis_output(name, o, r).scalar(); };
        std::vector<double> self;
        if (has_self) {
            const auto a = f.analysis_output(name, "self_influence", r).array();
            self.assign(a.begin(), a.end());
        }
        const auto res = f.analysis_output(name, "query_residual", r).array();
        const double worst = quantile(std::vector<double>(res.begin(), res.end()), 1.0);
        t.rows.push_back({std::to_string(steps[r]), number(v("n_used"), "%.0f"),
                          number(v("train_loss")), number(v("damping")),
                          number(quantile(self, 0.5)), number(quantile(self, 1.0)), number(worst),
                          number(v("n_unconverged"), "%.0f"), number(v("n_indefinite"), "%.0f"),
                          number(v("seconds_total")), number(v("memory_mib"))});
    }
    s.tables.push_back(std::move(t));
    query_table(f, name, steps.size() - 1, steps.back(), s);
    if (has_self)
        self_influence_charts(f, name, steps, s);
    return s;
}

} // namespace influence
