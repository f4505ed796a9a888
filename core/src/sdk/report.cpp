// Report chart helpers: Vega-Lite specifications with their data inlined.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace grokkit {

report_contributor::~report_contributor() = default;

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == '<') { // '<' escaped so "</script>" cannot end the page
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v))
        return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v); // steps stay exact to 10^10
    return buf;
}

double precision_at_k(const std::vector<double>& values,
                      const std::vector<std::int64_t>& positives) {
    if (positives.empty())
        return std::nan("");
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto valid_end = std::partition(order.begin(), order.end(),
                                          [&](std::size_t i) { return !std::isnan(values[i]); });
    const std::size_t k = std::min<std::size_t>(positives.size(), valid_end - order.begin());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), valid_end,
                      [&](std::size_t a, std::size_t b) {
                          return values[a] > values[b] || (values[a] == values[b] && a < b);
                      });
    std::size_t hits = 0;
    for (std::size_t j = 0; j < k; ++j)
        hits += std::find(positives.begin(), positives.end(),
                          static_cast<std::int64_t>(order[j])) != positives.end();
    return static_cast<double>(hits) / static_cast<double>(positives.size());
}

std::string table_number(double v, const char* format) {
    if (!std::isfinite(v))
        return "–";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

namespace {

// Appends one JSON object of `pieces` to a comma-separated list (piece by piece: "," +
// std::string trips GCC 12's false -Wrestrict, bug 105329).
void append_row(std::string& list, std::initializer_list<std::string> pieces) {
    if (!list.empty())
        list += ',';
    list += '{';
    for (const auto& p : pieces)
        list += p;
    list += '}';
}

constexpr const char* schema = "\"$schema\":\"https://vega.github.io/schema/vega-lite/v6.json\"";

// A quantitative channel of `field` (the channel's own name by default); a symlog scale gets
// `constant` when it is not Vega-Lite's default 1.
std::string axis(const char* channel, const std::string& title, const char* scale,
                 double constant = 1.0, const char* field = nullptr) {
    std::string scale_json;
    if (scale) {
        scale_json = std::string(",\"scale\":{\"type\":\"") + scale + "\"";
        if (constant != 1.0)
            scale_json += ",\"constant\":" + json_number(constant);
        scale_json += "}";
    }
    return std::string("\"") + channel + "\":{\"field\":\"" + (field ? field : channel) +
           "\",\"type\":\"quantitative\",\"title\":" + json_string(title) + scale_json + "}";
}

// The rules (and their labels) at the options' marks, as two layers.
std::string mark_layers(const line_chart_options& o, const char* x_scale) {
    if (o.marks.empty())
        return {};
    std::string values;
    for (const auto& [label, x] : o.marks)
        append_row(values, {"\"label\":", json_string(label), ",\"x\":", json_number(x)});
    const std::string data = "\"data\":{\"values\":[" + values + "]}";
    const std::string x = axis("x", o.x_title, x_scale, o.symlog_constant);
    return ",{" + data + ",\"mark\":{\"type\":\"rule\",\"strokeDash\":[4,4],\"color\":\"#555\"}," +
           "\"encoding\":{" + x + "}},{" + data +
           ",\"mark\":{\"type\":\"text\",\"align\":\"left\",\"dx\":4,\"baseline\":\"top\"," +
           "\"color\":\"#333\"},\"encoding\":{" + x +
           ",\"y\":{\"value\":4},\"text\":{\"field\":\"label\"}}}";
}

} // namespace

namespace {

// The bars of the series' intervals, as one layer (none without intervals).
std::string interval_layer(bool any, const line_chart_options& o, const char* x_scale) {
    if (!any)
        return {};
    return ",{\"transform\":[{\"filter\":\"isValid(datum.lo)\"}],\"mark\":{\"type\":"
           "\"rule\"},\"encoding\":{" +
           axis("x", o.x_title, x_scale, o.symlog_constant) + "," +
           axis("y", o.y_title, o.log_y ? "log" : nullptr, 1.0, "lo") +
           ",\"y2\":{\"field\":\"hi\"},\"color\":{\"field\":\"series\",\"type\":"
           "\"nominal\",\"title\":null}}}";
}

} // namespace

report_chart line_chart(const std::string& title, const std::vector<chart_series>& series,
                        const line_chart_options& o) {
    std::string values;
    bool intervals = false;
    for (const auto& s : series)
        for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i]) || (o.log_y && s.y[i] <= 0))
                continue;
            const bool bar = i < s.lower.size() && i < s.upper.size() &&
                             std::isfinite(s.lower[i]) && std::isfinite(s.upper[i]);
            intervals = intervals || bar;
            append_row(values, {"\"series\":", json_string(s.name), ",\"x\":", json_number(s.x[i]),
                                ",\"y\":", json_number(s.y[i]),
                                bar ? ",\"lo\":" + json_number(s.lower[i]) : std::string(),
                                bar ? ",\"hi\":" + json_number(s.upper[i]) : std::string()});
        }
    const char* x_scale = o.log_x ? "symlog" : nullptr;
    std::string spec =
        std::string("{") + schema + ",\"width\":640,\"height\":240," + "\"data\":{\"values\":[" +
        values + "]},\"layer\":[{" + "\"mark\":{\"type\":\"line\",\"tooltip\":true" +
        (intervals ? ",\"point\":true" : "") + "}," +
        "\"params\":[{\"name\":\"zoom\",\"select\":\"interval\",\"bind\":\"scales\"}]," +
        "\"encoding\":{" + axis("x", o.x_title, x_scale, o.symlog_constant) + "," +
        axis("y", o.y_title, o.log_y ? "log" : nullptr) +
        ",\"color\":{\"field\":\"series\",\"type\":\"nominal\",\"title\":null}}}" +
        interval_layer(intervals, o, x_scale) + mark_layers(o, x_scale) + "]}";
    return {title, std::move(spec)};
}

report_chart heat_map(const std::string& title, const std::vector<double>& x,
                      const std::vector<double>& y, const std::vector<std::vector<double>>& z,
                      const std::string& x_title, const std::string& y_title,
                      const std::string& z_title) {
    std::string values;
    for (std::size_t j = 0; j < y.size() && j < z.size(); ++j)
        for (std::size_t i = 0; i < x.size() && i < z[j].size(); ++i)
            append_row(values, {"\"x\":", json_number(x[i]), ",\"y\":", json_number(y[j]),
                                ",\"z\":", json_number(z[j][i])});
    std::string spec =
        std::string("{") + schema + ",\"width\":640,\"height\":240,\"data\":{\"values\":[" +
        values + "]},\"mark\":{\"type\":\"rect\",\"tooltip\":true},\"encoding\":{" +
        "\"x\":{\"field\":\"x\",\"type\":\"ordinal\",\"title\":" + json_string(x_title) +
        ",\"axis\":{\"labelOverlap\":true}},\"y\":{\"field\":\"y\",\"type\":\"ordinal\","
        "\"title\":" +
        json_string(y_title) + ",\"sort\":\"descending\",\"axis\":{\"labelOverlap\":true}}," +
        "\"color\":{\"field\":\"z\",\"type\":\"quantitative\",\"title\":" + json_string(z_title) +
        ",\"scale\":{\"scheme\":\"viridis\"}}}}";
    return {title, std::move(spec)};
}

namespace {

std::string json_strings(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += ',';
        out += json_string(items[i]);
    }
    return out + "]";
}

std::string grid_map_colour(const grid_map_options& o) {
    if (!o.categories.empty())
        return "{\"field\":\"category\",\"type\":\"nominal\",\"title\":null,"
               "\"scale\":{\"domain\":" +
               json_strings(o.categories) + ",\"scheme\":\"tableau10\"}}";
    std::string c =
        "{\"field\":\"value\",\"type\":\"quantitative\",\"title\":" + json_string(o.value_title) +
        ",\"scale\":{\"scheme\":\"viridis\"";
    if (o.log_value)
        c += ",\"type\":\"log\"";
    return c + "}}";
}

} // namespace

report_chart grid_map(const std::string& title, const std::vector<map_cell>& cells,
                      const grid_map_options& o) {
    std::string values;
    for (const auto& c : cells)
        append_row(values,
                   {"\"x\":", json_string(c.x), ",\"y\":", json_string(c.y),
                    ",\"category\":", json_string(c.category), ",\"value\":", json_number(c.value),
                    ",\"text\":", json_string(c.text), ",\"detail\":", json_string(c.tooltip)});
    const std::string axes =
        "\"x\":{\"field\":\"x\",\"type\":\"ordinal\",\"sort\":" + json_strings(o.x_order) +
        ",\"title\":" + json_string(o.x_title) +
        "},\"y\":{\"field\":\"y\",\"type\":" + "\"ordinal\",\"sort\":" + json_strings(o.y_order) +
        ",\"title\":" + json_string(o.y_title) + "}";
    std::string spec =
        std::string("{") + schema +
        ",\"width\":{\"step\":56},\"height\":{\"step\":40},\"data\":{\"values\":[" + values +
        "]},\"encoding\":{" + axes + "},\"layer\":[{\"mark\":" +
        "{\"type\":\"rect\"},\"encoding\":{\"color\":" + grid_map_colour(o) +
        ",\"tooltip\":[{\"field\":\"x\",\"title\":" + json_string(o.x_title) +
        "},{\"field\":\"y\",\"title\":" + json_string(o.y_title) +
        "},{\"field\":\"category\"},{\"field\":\"value\"},{\"field\":" +
        "\"detail\"}]}},{\"mark\":{\"type\":\"text\",\"fontSize\":11}," +
        "\"encoding\":{\"text\":{\"field\":\"text\"},\"color\":{\"value\":" + "\"black\"}}}]}";
    return {title, std::move(spec)};
}

report_chart histogram(const std::string& title, const std::vector<double>& values,
                       const std::string& x_title, std::size_t bins, bool log_x) {
    std::vector<double> kept;
    for (const double v : values)
        if (std::isfinite(v) && (!log_x || v > 0))
            kept.push_back(log_x ? std::log10(v) : v);
    const std::size_t left_out = values.size() - kept.size();
    bins = std::max<std::size_t>(bins, 1);
    std::vector<std::size_t> counts(bins, 0);
    double lo = 0, hi = 1;
    if (!kept.empty()) {
        lo = *std::min_element(kept.begin(), kept.end());
        hi = *std::max_element(kept.begin(), kept.end());
    }
    const double width = hi > lo ? (hi - lo) / static_cast<double>(bins) : 1.0;
    for (const double v : kept)
        ++counts[std::min(bins - 1, static_cast<std::size_t>((v - lo) / width))];
    std::string rows;
    for (std::size_t b = 0; b < bins; ++b) {
        const double start = lo + width * static_cast<double>(b), end = start + width;
        append_row(rows, {"\"x\":", json_number(log_x ? std::pow(10.0, start) : start),
                          ",\"x2\":", json_number(log_x ? std::pow(10.0, end) : end),
                          ",\"y\":", json_number(static_cast<double>(counts[b]))});
    }
    const std::string shown =
        left_out ? title + " (" + std::to_string(left_out) + " values left out)" : title;
    std::string spec = std::string("{") + schema + ",\"width\":640,\"height\":200," +
                       "\"data\":{\"values\":[" + rows +
                       "]},\"mark\":{\"type\":\"bar\",\"tooltip\":true},\"encoding\":{" +
                       axis("x", x_title, log_x ? "log" : nullptr) +
                       ",\"x2\":{\"field\":\"x2\"},\"y\":{\"field\":\"y\",\"type\":"
                       "\"quantitative\",\"title\":\"count\"}}}";
    return {shown, std::move(spec)};
}

} // namespace grokkit
