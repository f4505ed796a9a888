// hull_test's section of `grokkit report`: the share of queries inside the hull against
// dimension and reference size, and accuracy and loss inside versus outside over training.
// SPDX-License-Identifier: Apache-2.0
#include "hull_analysis.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace hull_test {

namespace {

std::string number(double v, const char* format = "%.3f") {
    return grokkit::table_number(v, format);
}

void grid_chart(const grokkit::run_file& f, const std::string& name, std::size_t row,
                std::int64_t step, grokkit::report_section& s) {
    const auto dims = f.analysis_output(name, "grid_dimensions", row).int64s();
    const auto sizes = f.analysis_output(name, "grid_sizes", row).int64s();
    const auto frac = f.analysis_output(name, "grid_inside_fraction", row).array();
    std::vector<grokkit::chart_series> series;
    for (std::size_t b = 0; b < sizes.size(); ++b) {
        grokkit::chart_series c{"N = " + std::to_string(sizes[b]), {}, {}};
        for (std::size_t a = 0; a < dims.size(); ++a) {
            c.x.push_back(static_cast<double>(dims[a]));
            c.y.push_back(frac(a, b));
        }
        series.push_back(std::move(c));
    }
    if (dims.size() > 1)
        s.charts.push_back(
            grokkit::line_chart("Share of queries inside the hull against dimension (step " +
                                    std::to_string(step) + ")",
                                series, {"dimension d (log)", "share inside", true, false, {}}));
    grokkit::report_table t;
    t.header = {"d \\ N"};
    for (const auto n : sizes)
        t.header.push_back(std::to_string(n));
    for (std::size_t a = 0; a < dims.size(); ++a) {
        std::vector<std::string> cells{std::to_string(dims[a])};
        for (std::size_t b = 0; b < sizes.size(); ++b)
            cells.push_back(number(frac(a, b)));
        t.rows.push_back(std::move(cells));
    }
    s.tables.push_back(std::move(t));
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    const auto steps = f.analysis_steps(name);
    const std::size_t n = steps.size();
    std::string space = "input";
    for (const auto& a : f.analyses())
        if (a.name == name) {
            const auto tree = f.resolved_pipeline();
            for (std::size_t i = 0; i < tree.n_analyses(); ++i)
                if (tree.string("analysis." + std::to_string(i) + ".name") == name)
                    space = tree.string("analysis." + std::to_string(i) + ".space");
        }
    s.title = "Convex hull test (" + name + ", space " + space + ")";
    if (n == 0) {
        s.notes.push_back("No checkpoint analysed yet.");
        return s;
    }
    const auto last = n - 1;
    s.notes.push_back(
        "Each query is inside the hull of the " +
        std::to_string(f.analysis_output(name, "n_reference", last).int64s()[0]) +
        " training points in d = " +
        std::to_string(f.analysis_output(name, "dim", last).int64s()[0]) + " (affine rank " +
        std::to_string(f.analysis_output(name, "affine_rank", last).int64s()[0]) +
        ") when they rebuild it (interpolation), else outside (extrapolation), each with a "
        "checked certificate. Failed answers are counted apart, never as in or out.");
    const std::vector<double> x(steps.begin(), steps.end());
    grokkit::report_table t;
    t.header = {"step",        "tested",       "inside",      "failed",
                "acc. inside", "acc. outside", "loss inside", "loss outside"};
    for (std::size_t r = 0; r < n; ++r) {
        auto v = [&](const char* o) { return f.analysis_output(name, o, r).scalar(); };
        t.rows.push_back({std::to_string(steps[r]), number(v("n_tested"), "%.0f"),
                          number(v("inside_fraction")), number(v("n_failed"), "%.0f"),
                          number(v("accuracy_inside")), number(v("accuracy_outside")),
                          number(v("loss_inside")), number(v("loss_outside"))});
    }
    s.tables.push_back(std::move(t));
    if (n > 1) {
        std::vector<grokkit::chart_series> acc;
        for (const char* o : {"accuracy_inside", "accuracy_outside", "inside_fraction"})
            acc.push_back({o, x, f.analysis_scalars(name, o)});
        s.charts.push_back(grokkit::line_chart("Accuracy inside and outside the hull", acc,
                                               {"step", "share", true, false, {}}));
    }
    grid_chart(f, name, last, steps[last], s);
    return s;
}

} // namespace hull_test
