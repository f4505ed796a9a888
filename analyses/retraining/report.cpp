// retraining's section of `grokkit report`: the influence methods side by side against the
// retrainings (LDS, leave-one-out Pearson, their time and memory), and memorisation.
// SPDX-License-Identifier: Apache-2.0
#include "retraining.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace retraining {

namespace {

// The row of `name` at `step`, or -1.
long row_at(const grokkit::run_file& f, const std::string& name, std::int64_t step) {
    const auto steps = f.analysis_steps(name);
    const auto it = std::find(steps.begin(), steps.end(), step);
    return it == steps.end() ? -1 : static_cast<long>(it - steps.begin());
}

double scalar_or_nan(const grokkit::run_file& f, const std::string& name, const char* output,
                     long row) {
    try {
        return row < 0 ? std::nan("")
                       : f.analysis_output(name, output, static_cast<std::size_t>(row)).scalar();
    } catch (const std::exception&) {
        return std::nan("");
    }
}

std::vector<double> values(const grokkit::run_file& f, const std::string& name, const char* output,
                           std::size_t row) {
    const auto a = f.analysis_output(name, output, row).array();
    return std::vector<double>(a.begin(), a.end());
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Retraining (" + name + ")";
    const auto steps = f.analysis_steps(name);
    if (steps.empty()) {
        s.notes.push_back("No checkpoint analysed yet.");
        return s;
    }
    const std::size_t last = steps.size() - 1;
    s.notes.push_back(
        "Each checkpoint retrains the model from its initialisation with the run's settings: on "
        "the whole training set, without each left-out example in turn, and on random subsets. "
        "LDS: the mean over queries of the Spearman correlation, across subsets, between the "
        "sum of a method's scores over the examples a subset leaves out and the query's actual "
        "loss after retraining on it. LOO Pearson: score / n_train against the actual "
        "leave-one-out change of the query's loss.");
    const auto methods = f.analysis_output(name, "method", last).texts();
    if (!methods.empty()) {
        grokkit::report_table t;
        t.header = {"method (step " + std::to_string(steps[last]) + ")", "LDS", "LOO Pearson",
                    "seconds", "MiB"};
        const auto lds = values(f, name, "lds", last), loo = values(f, name, "loo_pearson", last);
        for (std::size_t m = 0; m < methods.size(); ++m) {
            const long row = row_at(f, methods[m], steps[last]);
            t.rows.push_back(
                {methods[m], grokkit::table_number(lds[m], "%.3f"),
                 grokkit::table_number(loo[m], "%.3f"),
                 grokkit::table_number(scalar_or_nan(f, methods[m], "seconds_total", row), "%.2f"),
                 grokkit::table_number(scalar_or_nan(f, methods[m], "memory_mib", row), "%.1f")});
        }
        s.tables.push_back(std::move(t));
    }
    // With label noise: how well Feldman & Zhang's memorisation finds the replaced labels.
    const auto records = f.dataset_records();
    std::vector<std::int64_t> noisy;
    if (std::find(records.begin(), records.end(), "noisy_index") != records.end()) {
        const auto index = f.dataset_record("noisy_index");
        noisy.assign(index.begin(), index.end());
    }
    grokkit::report_table t;
    t.header = {"step",
                "retrainings",
                "resumed",
                "updates each",
                "seconds",
                "full train acc.",
                "median memorisation"};
    if (!noisy.empty())
        t.header.push_back("memorisation precision at k = " + std::to_string(noisy.size()));
    std::vector<grokkit::chart_series> lines(methods.size());
    for (std::size_t m = 0; m < methods.size(); ++m)
        lines[m].name = methods[m];
    for (std::size_t r = 0; r < steps.size(); ++r) {
        const auto v = [&](const char* o) { return f.analysis_output(name, o, r).scalar(); };
        std::vector<double> mem = values(f, name, "memorisation", r);
        mem.erase(std::remove_if(mem.begin(), mem.end(), [](double x) { return std::isnan(x); }),
                  mem.end());
        std::sort(mem.begin(), mem.end());
        const double median = mem.empty() ? std::nan("") : mem[mem.size() / 2];
        t.rows.push_back({std::to_string(steps[r]),
                          grokkit::table_number(v("n_retrainings"), "%.0f"),
                          grokkit::table_number(v("n_resumed"), "%.0f"),
                          grokkit::table_number(v("steps"), "%.0f"),
                          grokkit::table_number(v("seconds_retraining"), "%.1f"),
                          grokkit::table_number(v("full_train_accuracy"), "%.3f"),
                          grokkit::table_number(median, "%.3f")});
        if (!noisy.empty())
            t.rows.back().push_back(grokkit::table_number(
                grokkit::precision_at_k(values(f, name, "memorisation", r), noisy), "%.3f"));
        const auto lds = values(f, name, "lds", r);
        for (std::size_t m = 0; m < methods.size() && m < lds.size(); ++m) {
            lines[m].x.push_back(static_cast<double>(steps[r]));
            lines[m].y.push_back(lds[m]);
        }
    }
    s.tables.push_back(std::move(t));
    if (!methods.empty() && steps.size() > 1) {
        grokkit::line_chart_options o;
        o.y_title = "LDS";
        s.charts.push_back(grokkit::line_chart("LDS of each influence method", lines, o));
    }
    s.charts.push_back(
        grokkit::histogram("Memorisation (Feldman & Zhang) at step " + std::to_string(steps[last]),
                           values(f, name, "memorisation", last), "memorisation"));
    return s;
}

} // namespace retraining
