// The page of a sweep: its progress, the phase diagram over the grid, the grokking steps
// across seeds, and every point with a link to its own report.
// SPDX-License-Identifier: Apache-2.0
#include "host/sweep.hpp"

#include <grokkit/error.hpp>
#include <grokkit/report.hpp>

#include <algorithm>
#include <map>

namespace grokkit::sweep {

namespace {

const std::vector<std::string> phases{"comprehension", "grokking", "memorisation", "confusion",
                                      "unfinished"};

// The points of one grid cell (every axis at one value), its seeds.
struct cell {
    std::string x, y;
    std::string label; // every axis as key=value, for tables and tooltips
    std::vector<std::size_t> members;
};

// The axes from `first` on as "key=value, key=value".
std::string axes_text(const point& p, std::size_t first, std::size_t n_axes) {
    std::string text;
    for (std::size_t a = first; a < n_axes; ++a) {
        if (a > first)
            text += ", ";
        text += p.keys[a];
        text += '=';
        text += p.values[a];
    }
    return text;
}

// The map's row of a point: the second axis' value (its key is the axis title), or the other
// axes as key=value when there are several.
std::string y_label(const point& p, std::size_t n_axes) {
    if (n_axes < 2)
        return "all";
    return n_axes == 2 ? p.values[1] : axes_text(p, 1, n_axes);
}

std::string cell_label(const point& p, std::size_t n_axes) {
    return n_axes > 0 ? axes_text(p, 0, n_axes) : std::string("all");
}

std::vector<cell> cells_of(const sweep_spec& spec, const std::vector<point>& points) {
    const std::size_t n_axes = spec.grid.size();
    std::vector<cell> cells;
    std::map<std::pair<std::string, std::string>, std::size_t> where;
    for (const auto& p : points) {
        const std::string x = n_axes > 0 ? p.values[0] : "all";
        const std::string y = y_label(p, n_axes);
        const auto [it, added] = where.try_emplace({x, y}, cells.size());
        if (added)
            cells.push_back({x, y, cell_label(p, n_axes), {}});
        cells[it->second].members.push_back(p.index);
    }
    return cells;
}

// The q-quantile of sorted `v` by linear interpolation (numpy's default); NaN when empty.
double quantile(const std::vector<double>& v, double q) {
    if (v.empty())
        return NAN;
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// What a cell's done seeds show.
struct cell_summary {
    std::size_t done = 0, generalised = 0;
    std::map<std::string, std::size_t> phase_counts;
    std::string phase = "unfinished"; // the most common among done seeds
    std::vector<double> generalisation, memorisation, delay;
};

cell_summary summarise_cell(const cell& c, const std::vector<point_record>& records) {
    cell_summary s;
    for (auto i : c.members) {
        const point_summary& p = records[i].summary;
        if (records[i].state != point_state::done)
            continue;
        ++s.done;
        ++s.phase_counts[p.phase];
        if (p.generalisation_step >= 0) {
            ++s.generalised;
            s.generalisation.push_back(static_cast<double>(p.generalisation_step));
        }
        if (p.memorisation_step >= 0)
            s.memorisation.push_back(static_cast<double>(p.memorisation_step));
        if (p.grokking_delay >= 0)
            s.delay.push_back(static_cast<double>(p.grokking_delay));
    }
    std::size_t best = 0;
    for (const auto& name : phases) // ties go to the earlier phase of the list
        if (const auto it = s.phase_counts.find(name);
            it != s.phase_counts.end() && it->second > best) {
            best = it->second;
            s.phase = name;
        }
    for (auto* v : {&s.generalisation, &s.memorisation, &s.delay})
        std::sort(v->begin(), v->end());
    return s;
}

std::string counts_text(const std::map<std::string, std::size_t>& counts) {
    std::vector<std::string> parts;
    for (const auto& name : phases)
        if (const auto it = counts.find(name); it != counts.end())
            parts.push_back(name + " " + std::to_string(it->second));
    return join(parts);
}

std::string quartiles_text(const std::vector<double>& v) {
    if (v.empty())
        return "–";
    return table_number(quantile(v, 0.5), "%.0f") + " [" + table_number(quantile(v, 0.25), "%.0f") +
           ", " + table_number(quantile(v, 0.75), "%.0f") + "]";
}

grid_map_options map_options(const sweep_spec& spec, const std::vector<cell>& cells) {
    grid_map_options o;
    for (const auto& c : cells) {
        if (std::find(o.x_order.begin(), o.x_order.end(), c.x) == o.x_order.end())
            o.x_order.push_back(c.x);
        if (std::find(o.y_order.begin(), o.y_order.end(), c.y) == o.y_order.end())
            o.y_order.push_back(c.y);
    }
    o.x_title = spec.grid.empty() ? "" : spec.grid[0].key;
    std::vector<std::string> rest;
    for (std::size_t a = 1; a < spec.grid.size(); ++a)
        rest.push_back(spec.grid[a].key);
    o.y_title = rest.empty() ? "" : join(rest);
    return o;
}

report_section phase_section(const sweep_spec& spec, const std::vector<cell>& cells,
                             const std::vector<cell_summary>& summaries) {
    report_section s;
    s.title = "Phase diagram";
    s.notes.push_back(
        "Each cell is one setting of the grid; its colour is the phase most of its finished "
        "seeds are in, its text how many of them are. A phase is read from the accuracy curves: "
        "confusion when train accuracy never reaches " +
        table_number(spec.rules.accuracy_threshold, "%.2f") +
        ", memorisation when only train accuracy does, comprehension when test accuracy "
        "reaches it at most " +
        table_number(spec.rules.grokking_ratio, "%.3g") +
        " times as late as train accuracy, and grokking when later still (docs/sweeps.md).");
    std::vector<map_cell> by_phase, by_step;
    bool any_generalised = false;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const cell_summary& c = summaries[i];
        const auto most = c.phase_counts.find(c.phase);
        const std::string share = std::to_string(most == c.phase_counts.end() ? 0 : most->second) +
                                  "/" + std::to_string(cells[i].members.size());
        by_phase.push_back({cells[i].x, cells[i].y, c.phase, NAN, c.done ? share : "",
                            counts_text(c.phase_counts)});
        const double median = quantile(c.generalisation, 0.5);
        any_generalised = any_generalised || !c.generalisation.empty();
        by_step.push_back({cells[i].x, cells[i].y, "", median, table_number(median, "%.0f"),
                           std::to_string(c.generalised) + " of " + std::to_string(c.done) +
                               " finished seeds generalised"});
    }
    grid_map_options o = map_options(spec, cells);
    o.categories = phases;
    s.charts.push_back(grid_map("Phase of most seeds", by_phase, o));
    if (!any_generalised)
        return s; // no step to colour a cell by
    o.categories.clear();
    o.value_title = "median step";
    s.charts.push_back(
        grid_map("Median step at which test accuracy reached the threshold", by_step, o));
    return s;
}

// Each finished seed's generalisation step, one column of dots per grid cell.
report_chart strip_chart(const std::vector<cell>& cells, const std::vector<point>& points,
                         const std::vector<point_record>& records) {
    std::string values;
    std::vector<std::string> order;
    for (const auto& c : cells) {
        const std::string& label = c.label;
        order.push_back(json_string(label));
        for (auto i : c.members)
            if (records[i].state == point_state::done &&
                records[i].summary.generalisation_step >= 0) {
                values += values.empty() ? "{" : ",{";
                values += "\"cell\":" + json_string(label) + ",\"step\":" +
                          json_number(double(records[i].summary.generalisation_step)) +
                          ",\"seed\":" + std::to_string(points[i].seed) + "}";
            }
    }
    const std::string spec =
        "{\"$schema\":\"https://vega.github.io/schema/vega-lite/v6.json\",\"width\":640,"
        "\"height\":260,\"data\":{\"values\":[" +
        values +
        "]},\"mark\":{\"type\":\"point\",\"tooltip\":true,\"filled\":true},"
        "\"encoding\":{\"x\":{\"field\":\"cell\",\"type\":\"ordinal\",\"sort\":[" +
        join(order, ",") +
        "],\"title\":\"grid cell\"},\"y\":{\"field\":\"step\",\"type\":\"quantitative\","
        "\"title\":\"step test accuracy reached the threshold\"},\"color\":{\"field\":\"seed\","
        "\"type\":\"nominal\",\"legend\":null}}}";
    return {"Generalisation step of each seed", spec};
}

report_section steps_section(const std::vector<cell>& cells,
                             const std::vector<cell_summary>& summaries,
                             const std::vector<point>& points,
                             const std::vector<point_record>& records) {
    report_section s;
    s.title = "Grokking steps across seeds";
    s.notes.push_back("Median [first quartile, third quartile] over the finished seeds that "
                      "reached the threshold; seeds that never did are counted in "
                      "\"generalised\" only.");
    report_table t{{"cell", "finished", "generalised", "phases", "generalisation step",
                    "memorisation step", "delay"},
                   {}};
    std::vector<double> all;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const cell_summary& c = summaries[i];
        t.rows.push_back({cells[i].label,
                          std::to_string(c.done) + "/" + std::to_string(cells[i].members.size()),
                          std::to_string(c.generalised), counts_text(c.phase_counts),
                          quartiles_text(c.generalisation), quartiles_text(c.memorisation),
                          quartiles_text(c.delay)});
        all.insert(all.end(), c.generalisation.begin(), c.generalisation.end());
    }
    s.tables.push_back(std::move(t));
    if (all.empty()) {
        s.notes.push_back("No finished seed has reached the threshold in test accuracy yet: "
                          "there are no generalisation steps to chart.");
        return s;
    }
    s.charts.push_back(strip_chart(cells, points, records));
    s.charts.push_back(histogram("Generalisation steps of all finished seeds", all, "step", 30));
    return s;
}

report_section points_section(const std::vector<point>& points,
                              const std::vector<point_record>& records,
                              const std::function<std::string(const point&)>& link) {
    report_section s;
    s.title = "Points";
    s.notes.push_back("Each point is a run of its own; its hash names its directory, and links "
                      "to its report.");
    report_table t{{"point", "overrides", "status", "phase", "memorised", "generalised",
                    "test accuracy", "seconds"},
                   {}};
    for (std::size_t i = 0; i < points.size(); ++i) {
        const point_summary& p = records[i].summary;
        const auto step = [](std::int64_t v) {
            return v < 0 ? std::string("–") : std::to_string(v);
        };
        t.rows.push_back({points[i].hash, points[i].label(), to_string(records[i].state), p.phase,
                          step(p.memorisation_step), step(p.generalisation_step),
                          table_number(p.final_test_accuracy, "%.3f"),
                          table_number(p.wall_seconds, "%.1f")});
        t.row_links.push_back(link(points[i]));
    }
    s.tables.push_back(std::move(t));
    return s;
}

report_section overview(const layout& dir, const sweep_spec& spec,
                        const std::vector<point_record>& records) {
    report_section s;
    s.title = "Sweep";
    const state_counts c = count_states(records);
    s.notes.push_back("Points: " + c.text() + (c.done == c.total() ? "." : " so far."));
    report_table t{{"", ""}, {}};
    t.rows.push_back({"directory", dir.root.string()});
    t.rows.push_back({"pipeline", spec.pipeline_file.string()});
    for (const auto& set : spec.sets)
        t.rows.push_back({"--set", set});
    for (const auto& axis : spec.grid)
        t.rows.push_back({"--grid " + axis.key, join(axis.values)});
    std::vector<std::string> seeds;
    for (auto seed : spec.seeds)
        seeds.push_back(std::to_string(seed));
    t.rows.push_back({"seeds", std::to_string(seeds.size()) + ": " + join(seeds)});
    t.rows.push_back({"threads per point", std::to_string(spec.threads)});
    s.tables.push_back(std::move(t));
    return s;
}

} // namespace

std::vector<report_section> report_sections(const layout& dir, const sweep_spec& spec,
                                            const std::vector<point>& points,
                                            const std::vector<point_record>& records,
                                            const std::function<std::string(const point&)>& link) {
    const auto cells = cells_of(spec, points);
    std::vector<cell_summary> summaries;
    for (const auto& c : cells)
        summaries.push_back(summarise_cell(c, records));
    return {overview(dir, spec, records), phase_section(spec, cells, summaries),
            steps_section(cells, summaries, points, records),
            points_section(points, records, link)};
}

} // namespace grokkit::sweep
