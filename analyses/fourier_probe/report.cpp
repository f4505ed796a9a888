// fourier_probe's section of `grokkit report`: spectra over checkpoints, key frequencies,
// restricted and excluded loss (Fourier mode), or the Walsh spectrum (parity mode).
// SPDX-License-Identifier: Apache-2.0
#include "fourier_probe.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace fourier_probe {

namespace {

bool has_output(const grokkit::run_file_analysis& a, const std::string& name) {
    return std::any_of(a.outputs.begin(), a.outputs.end(),
                       [&](const auto& o) { return o.name == name; });
}

// An output's rows as (row, element) values; rows of steps.size().
std::vector<std::vector<double>> rows_of(const grokkit::run_file& f, const std::string& name,
                                         const std::string& output, std::size_t n) {
    std::vector<std::vector<double>> out;
    for (std::size_t r = 0; r < n; ++r) {
        const auto a = f.analysis_output(name, output, r).array();
        out.emplace_back(a.begin(), a.end());
    }
    return out;
}

// z[j][i] = rows[i][j]: elements along y, rows (checkpoints) along x.
std::vector<std::vector<double>> transposed(const std::vector<std::vector<double>>& rows) {
    std::vector<std::vector<double>> z(rows.empty() ? 0 : rows.front().size());
    for (const auto& row : rows)
        for (std::size_t j = 0; j < row.size() && j < z.size(); ++j)
            z[j].push_back(row[j]);
    return z;
}

std::vector<double> index_axis(std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<double>(i);
    return v;
}

void modular_section(const grokkit::run_file& f, const std::string& name,
                     const grokkit::run_file_analysis& a, grokkit::report_section& s) {
    const auto steps = f.analysis_steps(name);
    const std::vector<double> x(steps.begin(), steps.end());
    const std::size_t n = steps.size();
    if (has_output(a, "embed_freq_norm")) {
        const auto z = transposed(rows_of(f, name, "embed_freq_norm", n));
        s.charts.push_back(grokkit::heat_map("Embedding norm per frequency", x,
                                             index_axis(z.size()), z, "step", "frequency k",
                                             "norm"));
    }
    const auto keys = f.analysis_output(name, "key_frequencies", n - 1).int64s();
    std::string listed;
    for (const auto k : keys)
        if (k >= 0)
            listed += (listed.empty() ? "" : ", ") + std::to_string(k);
    s.notes.push_back("Key frequencies at step " + std::to_string(steps.back()) + ": " +
                      (listed.empty() ? std::string("none") : listed) + ".");
    std::vector<grokkit::chart_series> losses;
    for (const char* o : {"restricted_loss", "excluded_loss", "train_loss", "full_loss"})
        losses.push_back({o, x, f.analysis_scalars(name, o)});
    s.charts.push_back(grokkit::line_chart("Restricted and excluded loss (Nanda et al.)", losses,
                                           {"step", "nats", false, true, {}}));
    if (has_output(a, "embed_gini"))
        s.charts.push_back(
            grokkit::line_chart("Sparsity of the embedding in frequency",
                                {{"embed_gini", x, f.analysis_scalars(name, "embed_gini")}},
                                {"step", "Gini", false, false, {}}));
}

void parity_section(const grokkit::run_file& f, const std::string& name,
                    grokkit::report_section& s) {
    const auto steps = f.analysis_steps(name);
    const std::vector<double> x(steps.begin(), steps.end());
    const std::size_t n = steps.size();
    auto z = transposed(rows_of(f, name, "walsh_order_fraction", n));
    // Orders above max_order are not estimated when sampling (NaN): leave them out.
    while (!z.empty() && std::none_of(z.back().begin(), z.back().end(),
                                      [](double v) { return std::isfinite(v); }))
        z.pop_back();
    s.charts.push_back(grokkit::heat_map("Walsh spectrum: share of E[f^2] per order |S|", x,
                                         index_axis(z.size()), z, "step", "order", "share"));
    s.charts.push_back(grokkit::line_chart(
        "Mass on the relevant subset",
        {{"walsh_relevant_fraction", x, f.analysis_scalars(name, "walsh_relevant_fraction")}},
        {"step", "share", false, false, {}}));
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Fourier probe (" + name + ")";
    grokkit::run_file_analysis a;
    for (const auto& candidate : f.analyses())
        if (candidate.name == name)
            a = candidate;
    if (f.analysis_steps(name).empty()) {
        s.notes.push_back("No checkpoint analysed yet.");
        return s;
    }
    if (has_output(a, "key_frequencies"))
        modular_section(f, name, a, s);
    else if (has_output(a, "walsh_order_fraction"))
        parity_section(f, name, s);
    return s;
}

} // namespace fourier_probe
