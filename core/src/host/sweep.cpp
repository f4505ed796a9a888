// Sweep definitions, points, their states read from the files, and the index.
// SPDX-License-Identifier: Apache-2.0
#include "host/pipeline.hpp"
#include "host/runner.hpp"
#include "host/sweep.hpp"
#include "store/h5.hpp"

#include <grokkit/error.hpp>
#include <grokkit/hash.hpp>
#include <grokkit/run_file.hpp>

#include <toml++/toml.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace grokkit::sweep {

namespace {

[[noreturn]] void refuse(std::string where, std::string key, std::string what,
                         std::string expected) {
    throw invalid_input(
        diagnostic{std::move(where), std::move(key), std::move(what), std::move(expected), 0, 0});
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos)
        return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// `text` split at commas outside brackets, braces and quotes.
std::vector<std::string> split_top_level(const std::string& text) {
    std::vector<std::string> parts(1);
    int depth = 0;
    char quote = 0;
    for (char c : text) {
        if (quote) {
            quote = c == quote ? 0 : quote;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if (c == ']' || c == '}') {
            --depth;
        } else if (c == ',' && depth == 0) {
            parts.emplace_back();
            continue;
        }
        parts.back() += c;
    }
    for (auto& p : parts)
        p = trim(p);
    return parts;
}

bool parse_int(const std::string& s, std::int64_t& v) {
    const char* end = s.data() + s.size();
    const auto r = std::from_chars(s.data(), end, v);
    return r.ec == std::errc() && r.ptr == end && !s.empty();
}

} // namespace

grid_axis parse_grid(const std::string& option) {
    const auto eq = option.find('=');
    const std::string where = "--grid " + option;
    if (eq == std::string::npos || trim(option.substr(0, eq)).empty())
        refuse(where, "", "is not key=v1,v2,...", "section.key=v1,v2,...");
    grid_axis axis{trim(option.substr(0, eq)), split_top_level(option.substr(eq + 1))};
    for (const auto& v : axis.values)
        if (v.empty())
            refuse(where, axis.key, "has an empty value", "comma-separated TOML values");
    if (axis.key == "run.seed" || axis.key == "run.threads")
        refuse(where, axis.key, "is set by the sweep",
               axis.key == "run.seed" ? "--seeds" : "--threads");
    return axis;
}

std::vector<std::int64_t> parse_seeds(const std::string& text) {
    std::vector<std::int64_t> seeds;
    for (const auto& part : split_top_level(text)) {
        const auto dots = part.find("..");
        std::int64_t a = 0, b = 0;
        const bool ok = dots == std::string::npos
                            ? parse_int(part, a) && (b = a, true)
                            : parse_int(part.substr(0, dots), a) &&
                                  parse_int(part.substr(dots + 2), b) && a <= b;
        if (!ok || a < 0)
            refuse("--seeds " + text, "", "\"" + part + "\" is not a seed or range",
                   "seeds >= 0: A..B (inclusive) or A,B,C");
        for (std::int64_t s = a; s <= b; ++s)
            seeds.push_back(s);
    }
    std::set<std::int64_t> seen;
    for (auto s : seeds)
        if (!seen.insert(s).second)
            refuse("--seeds " + text, "", "seed " + std::to_string(s) + " repeats",
                   "each seed once");
    return seeds;
}

std::vector<std::string> point::overrides(const sweep_spec& spec) const {
    std::vector<std::string> out = spec.sets;
    for (std::size_t i = 0; i < keys.size(); ++i)
        out.push_back(keys[i] + "=" + values[i]);
    return out;
}

std::string point::label() const {
    std::string s;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i)
            s += ' ';
        s += keys[i];
        s += '=';
        s += values[i];
    }
    return s;
}

namespace {

// A number token as the shortest text that reads back as the same double ("0.003", not
// toml++'s "0.0030000000000000001"); a float stays a float ("1.0").
std::string shortest_float(const std::string& token) {
    double v = 0;
    const char* end = token.data() + token.size();
    const auto r = std::from_chars(token.data(), end, v);
    if (r.ec != std::errc() || r.ptr != end || token.find_first_of(".eE") == std::string::npos)
        return token;
    char buf[32];
    const auto w = std::to_chars(buf, buf + sizeof buf, v);
    std::string out(buf, w.ptr);
    if (out.find_first_of(".e") == std::string::npos && out.find("inf") == std::string::npos &&
        out.find("nan") == std::string::npos)
        out += ".0";
    return out;
}

// TOML text without the spaces toml++ puts inside brackets and braces ("[ 8, 16 ]" is
// "[8, 16]"), outside strings: a label's values then have no spaces of their own.
std::string compact(const std::string& text) {
    std::string out;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            quote = c == quote ? 0 : quote;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   ((c == '-' || c == '+') && i + 1 < text.size() &&
                    std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
            const std::size_t end = text.find_first_not_of("0123456789.eE+-_", i);
            out += shortest_float(text.substr(i, end - i));
            i = (end == std::string::npos ? text.size() : end) - 1;
            continue;
        } else if (c == ' ' &&
                   ((!out.empty() && (out.back() == '[' || out.back() == '{')) ||
                    (i + 1 < text.size() && (text[i + 1] == ']' || text[i + 1] == '}')))) {
            continue;
        }
        out += c;
    }
    return out;
}

// The canonical text of each value of `axis`: the pipeline resolved with it, read back, so
// 1e-3 and 0.001 are one value. Problems are added to `problems`.
std::vector<std::string> canonical_values(const sweep_spec& spec, const grid_axis& axis,
                                          registry& reg, std::vector<diagnostic>& problems) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& v : axis.values) {
        auto sets = spec.sets;
        sets.push_back(axis.key + "=" + v);
        try {
            const pipeline p = load_pipeline(spec.pipeline_file, sets, reg);
            const pipeline_tree tree(p.resolved_text(), spec.pipeline_file.string());
            out.push_back(compact(tree.value_text(axis.key)));
        } catch (const error& e) {
            for (const auto& d : e.diagnostics())
                problems.push_back(d);
            out.push_back(v);
            continue;
        }
        if (!seen.insert(out.back()).second)
            problems.push_back({"--grid " + axis.key, axis.key,
                                "value " + v + " is " + out.back() + ", which the grid already has",
                                "distinct values", 0, 0});
    }
    return out;
}

std::string point_hash(const point& p) {
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < p.keys.size(); ++i)
        lines.push_back(p.keys[i] + "=" + p.values[i] + "\n");
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const auto& l : lines)
        text += l;
    return sha256_hex(text).substr(0, 16);
}

// The cross product: the first axis varies slowest, seeds fastest.
std::vector<point> cross_product(const sweep_spec& spec,
                                 const std::vector<std::vector<std::string>>& values) {
    std::size_t n = spec.seeds.size();
    for (const auto& v : values)
        n *= v.size();
    std::vector<point> points(n);
    for (std::size_t i = 0; i < n; ++i) {
        point& p = points[i];
        p.index = i;
        std::size_t rest = i / spec.seeds.size();
        std::vector<std::size_t> pick(values.size());
        for (std::size_t a = values.size(); a-- > 0;) {
            pick[a] = rest % values[a].size();
            rest /= values[a].size();
        }
        for (std::size_t a = 0; a < values.size(); ++a) {
            p.keys.push_back(spec.grid[a].key);
            p.values.push_back(values[a][pick[a]]);
        }
        p.seed = spec.seeds[i % spec.seeds.size()];
        p.keys.insert(p.keys.end(), {"run.seed", "run.threads"});
        p.values.insert(p.values.end(), {std::to_string(p.seed), std::to_string(spec.threads)});
        p.hash = point_hash(p);
    }
    return points;
}

} // namespace

std::vector<point> expand(sweep_spec& spec, registry& reg, expand_check check) {
    std::vector<diagnostic> problems;
    if (spec.seeds.empty())
        problems.push_back({"--seeds", "", "no seeds", "at least one seed", 0, 0});
    if (spec.threads < 1)
        problems.push_back({"--threads", "", std::to_string(spec.threads), ">= 1", 0, 0});
    std::set<std::string> keys;
    std::vector<std::vector<std::string>> values;
    for (const auto& axis : spec.grid) {
        if (!keys.insert(axis.key).second)
            problems.push_back(
                {"--grid " + axis.key, axis.key, "is given twice", "one --grid per key", 0, 0});
        values.push_back(canonical_values(spec, axis, reg, problems));
    }
    if (!problems.empty())
        throw invalid_input(std::move(problems));
    const pipeline base = load_pipeline(spec.pipeline_file, spec.sets, reg);
    const std::string sha = sha256_hex(base.resolved_text());
    if (!spec.base_sha256.empty() && sha != spec.base_sha256)
        refuse(spec.pipeline_file.string(), "",
               "resolves differently from when the sweep was defined (the file or grokkit "
               "changed)",
               "the pipeline the sweep was defined with; a changed one is a new sweep (--out)");
    spec.base_sha256 = sha;
    auto points = cross_product(spec, values);
    // Everything `grokkit check` checks (data and model agree, analyses' inputs), once: the
    // points differ only in values each checked above.
    if (check == expand_check::first_point)
        check_pipeline(reg, spec.pipeline_file, points.front().overrides(spec));
    return points;
}

} // namespace grokkit::sweep
