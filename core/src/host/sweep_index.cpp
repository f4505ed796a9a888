// A sweep's files: its definition (sweep.toml), each point's state read from its own files,
// and the index (index.h5) built from them.
// SPDX-License-Identifier: Apache-2.0
#include "host/sweep.hpp"
#include "store/h5.hpp"
#include "store/run_store.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/run_file.hpp>
#include <grokkit/version.hpp>

#include <toml++/toml.h>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

namespace grokkit::sweep {

namespace {

toml::array string_array(const std::vector<std::string>& items) {
    toml::array a;
    for (const auto& s : items)
        a.push_back(s);
    return a;
}

// `text` written to `path` through a temporary file renamed over it.
void write_atomically(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp" + std::to_string(getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out)
            throw error(tmp.string(), "cannot write it", "a writable sweep directory");
    }
    fs::rename(tmp, path);
}

std::vector<std::string> strings_of(const toml::array* a, const std::string& where) {
    std::vector<std::string> out;
    if (!a)
        return out;
    for (const auto& n : *a) {
        const auto* s = n.as_string();
        if (!s)
            throw error(where, "expected a list of strings");
        out.push_back(s->get());
    }
    return out;
}

} // namespace

void save_spec(const layout& dir, const sweep_spec& spec) {
    toml::table t;
    t.insert("pipeline_file", spec.pipeline_file.string());
    t.insert("base_sha256", spec.base_sha256);
    t.insert("sets", string_array(spec.sets));
    toml::array seeds;
    for (auto s : spec.seeds)
        seeds.push_back(s);
    t.insert("seeds", seeds);
    t.insert("threads", spec.threads);
    t.insert("accuracy_threshold", spec.rules.accuracy_threshold);
    t.insert("grokking_ratio", spec.rules.grokking_ratio);
    toml::array grid;
    for (const auto& axis : spec.grid)
        grid.push_back(toml::table{{"key", axis.key}, {"values", string_array(axis.values)}});
    t.insert("grid", grid);
    std::ostringstream os;
    os << "# The definition of this sweep, written by `grokkit sweep`: `grokkit sweep "
       << dir.root.string() << "` runs it again.\n"
       << t << "\n";
    fs::create_directories(dir.root);
    write_atomically(dir.spec_file(), os.str());
}

sweep_spec load_spec(const layout& dir) {
    const std::string where = dir.spec_file().string();
    if (!fs::exists(dir.spec_file()))
        throw error(where, "no such file: " + dir.root.string() + " holds no sweep",
                    "a directory made by `grokkit sweep PIPELINE ... --out DIR`");
    toml::table t;
    try {
        t = toml::parse_file(where);
    } catch (const toml::parse_error& e) {
        throw error(where, std::string("not TOML: ") + std::string(e.description()));
    }
    sweep_spec s;
    s.pipeline_file = t["pipeline_file"].value_or(std::string());
    s.base_sha256 = t["base_sha256"].value_or(std::string());
    s.sets = strings_of(t["sets"].as_array(), where + ": sets");
    if (const auto* seeds = t["seeds"].as_array())
        for (const auto& n : *seeds)
            s.seeds.push_back(n.value_or(std::int64_t{-1}));
    s.threads = t["threads"].value_or(std::int64_t{1});
    s.rules.accuracy_threshold = t["accuracy_threshold"].value_or(0.99);
    s.rules.grokking_ratio = t["grokking_ratio"].value_or(2.0);
    if (const auto* grid = t["grid"].as_array())
        for (const auto& n : *grid)
            if (const auto* axis = n.as_table())
                s.grid.push_back({(*axis)["key"].value_or(std::string()),
                                  strings_of((*axis)["values"].as_array(), where + ": grid")});
    if (s.pipeline_file.empty() || s.base_sha256.empty() || s.seeds.empty())
        throw error(where,
                    "is not a complete sweep definition (pipeline_file, base_sha256, seeds)");
    return s;
}

void check_same_experiment(const layout& dir, const sweep_spec& spec) {
    if (!fs::exists(dir.spec_file()))
        return;
    const sweep_spec held = load_spec(dir);
    if (held.base_sha256 == spec.base_sha256)
        return;
    throw invalid_input(
        diagnostic{dir.root.string(), "",
                   "holds a sweep of another pipeline (" + held.pipeline_file.string() + " with " +
                       std::to_string(held.sets.size()) + " --set, resolved differently)",
                   "the same pipeline and --set as before, or another --out directory", 0, 0});
}

const char* to_string(point_state s) {
    switch (s) {
    case point_state::pending:
        return "pending";
    case point_state::running:
        return "running";
    case point_state::interrupted:
        return "interrupted";
    case point_state::failed:
        return "failed";
    case point_state::done:
        return "done";
    }
    return "?";
}

std::string phase_of(std::int64_t memorised, std::int64_t generalised, const phase_rules& rules) {
    if (memorised < 0)
        return "confusion";
    if (generalised < 0)
        return "memorisation";
    if (static_cast<double>(generalised) <= rules.grokking_ratio * static_cast<double>(memorised))
        return "comprehension";
    return "grokking";
}

namespace {

std::int64_t first_reaching(const std::vector<std::int64_t>& steps,
                            const std::vector<double>& values, double threshold) {
    for (std::size_t i = 0; i < steps.size() && i < values.size(); ++i)
        if (values[i] >= threshold)
            return steps[i];
    return -1;
}

double last_of(const run_file& f, const std::string& metric) {
    const auto v = f.metric(metric);
    return v.empty() ? NAN : v.back();
}

point_summary summarise(const run_file& f, const phase_rules& rules) {
    point_summary s;
    const auto steps = f.metric_steps();
    s.steps = f.resolved_pipeline().integer("train.steps");
    s.last_step = steps.empty() ? -1 : steps.back();
    s.final_train_accuracy = last_of(f, "train_accuracy");
    s.final_test_accuracy = last_of(f, "test_accuracy");
    s.final_train_loss = last_of(f, "train_loss");
    s.final_test_loss = last_of(f, "test_loss");
    s.memorisation_step =
        first_reaching(steps, f.metric("train_accuracy"), rules.accuracy_threshold);
    s.generalisation_step =
        first_reaching(steps, f.metric("test_accuracy"), rules.accuracy_threshold);
    if (s.memorisation_step >= 0 && s.generalisation_step >= 0)
        s.grokking_delay = s.generalisation_step - s.memorisation_step;
    if (f.status() == "complete")
        s.phase = phase_of(s.memorisation_step, s.generalisation_step, rules);
    s.wall_seconds = f.wall_seconds();
    if (f.has_attribute("resume_count"))
        s.resume_count = f.int_attribute("resume_count");
    return s;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

} // namespace

point_record survey_point(const layout& dir, const point& p, const phase_rules& rules) {
    point_record r;
    const bool failed = fs::exists(dir.failure_file(p));
    if (fs::exists(dir.run_file(p))) {
        try {
            const run_file f(dir.run_file(p));
            r.summary = summarise(f, rules);
            r.state = f.status() == "complete" ? point_state::done : point_state::interrupted;
        } catch (const error& e) {
            r.state = point_state::interrupted; // a resume repairs or refuses it
            r.error = e.what();
        }
    }
    if (r.state != point_state::done && failed) {
        r.state = point_state::failed;
        r.error = read_all(dir.failure_file(p));
    }
    if (r.state != point_state::done && file_lock::held_elsewhere(dir.lock_file(p)))
        r.state = point_state::running;
    return r;
}

std::vector<point_record> survey(const layout& dir, const std::vector<point>& points,
                                 const phase_rules& rules) {
    std::vector<point_record> out;
    out.reserve(points.size());
    for (const auto& p : points)
        out.push_back(survey_point(dir, p, rules));
    return out;
}

state_counts count_states(const std::vector<point_record>& records) {
    state_counts c;
    for (const auto& r : records)
        switch (r.state) {
        case point_state::pending:
            ++c.pending;
            break;
        case point_state::running:
            ++c.running;
            break;
        case point_state::interrupted:
            ++c.interrupted;
            break;
        case point_state::failed:
            ++c.failed;
            break;
        case point_state::done:
            ++c.done;
            break;
        }
    return c;
}

std::string state_counts::text() const {
    std::string s = std::to_string(done) + " done";
    for (auto [n, name] : {std::pair{failed, "failed"}, std::pair{running, "running"},
                           std::pair{interrupted, "interrupted"}, std::pair{pending, "pending"}})
        if (n > 0) {
            s += ", ";
            s += std::to_string(n);
            s += ' ';
            s += name;
        }
    s += " of ";
    s += std::to_string(total());
    s += total() == 1 ? " point" : " points";
    return s;
}

namespace {

std::string now_utc() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// A grid column as numbers when every value is one (h5py then plots it directly), else text.
void write_grid_column(hid_t group, const std::string& key, const std::vector<std::string>& v) {
    std::vector<double> numbers;
    for (const auto& text : v) {
        char* end = nullptr;
        const double x = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size())
            return h5::write_strings(group, key, v);
        numbers.push_back(x);
    }
    h5::write_array(group, key, {numbers.size()}, numbers.data());
}

void write_header(hid_t f, const sweep_spec& spec, const state_counts& c) {
    h5::write_attr(f, "kind", std::string("grokkit sweep index"));
    h5::write_attr(f, "schema_version", std::int64_t{1});
    h5::write_attr(f, "pipeline_file", spec.pipeline_file.string());
    h5::write_attr(f, "base_sha256", spec.base_sha256);
    h5::write_attr(f, "sets", join(spec.sets, "\n"));
    std::vector<std::string> keys, seeds;
    for (const auto& a : spec.grid)
        keys.push_back(a.key);
    for (auto s : spec.seeds)
        seeds.push_back(std::to_string(s));
    h5::write_attr(f, "grid_keys", join(keys, "\n"));
    h5::write_attr(f, "seeds", join(seeds, ","));
    h5::write_attr(f, "threads", spec.threads);
    h5::write_attr(f, "accuracy_threshold", spec.rules.accuracy_threshold);
    h5::write_attr(f, "grokking_ratio", spec.rules.grokking_ratio);
    for (auto [name, n] :
         {std::pair{"n_points", c.total()}, std::pair{"n_done", c.done},
          std::pair{"n_failed", c.failed}, std::pair{"n_running", c.running},
          std::pair{"n_interrupted", c.interrupted}, std::pair{"n_pending", c.pending}})
        h5::write_attr(f, name, static_cast<std::int64_t>(n));
    h5::write_attr(f, "updated", now_utc());
    h5::write_attr(f, "grokkit_version", std::string(version()));
    h5::write_attr(f, "git_revision", std::string(git_revision()));
    h5::write_attr(f, "blas_kernel", std::string(blas_kernel()));
}

template <class T, class Get>
void column(hid_t g, const std::string& name, const std::vector<point_record>& records, Get get) {
    std::vector<T> v;
    for (const auto& r : records)
        v.push_back(static_cast<T>(get(r)));
    h5::write_array(g, name, {v.size()}, v.data());
}

void write_summaries(hid_t g, const std::vector<point_record>& r) {
    using rec = const point_record&;
    column<double>(g, "final_train_accuracy", r,
                   [](rec x) { return x.summary.final_train_accuracy; });
    column<double>(g, "final_test_accuracy", r,
                   [](rec x) { return x.summary.final_test_accuracy; });
    column<double>(g, "final_train_loss", r, [](rec x) { return x.summary.final_train_loss; });
    column<double>(g, "final_test_loss", r, [](rec x) { return x.summary.final_test_loss; });
    column<std::int64_t>(g, "memorisation_step", r,
                         [](rec x) { return x.summary.memorisation_step; });
    column<std::int64_t>(g, "generalisation_step", r,
                         [](rec x) { return x.summary.generalisation_step; });
    column<std::int64_t>(g, "grokking_delay", r, [](rec x) { return x.summary.grokking_delay; });
    column<std::int64_t>(g, "last_step", r, [](rec x) { return x.summary.last_step; });
    column<std::int64_t>(g, "steps", r, [](rec x) { return x.summary.steps; });
    column<double>(g, "wall_seconds", r, [](rec x) { return x.summary.wall_seconds; });
    column<std::int64_t>(g, "resume_count", r, [](rec x) { return x.summary.resume_count; });
    std::vector<std::string> phase, status, errors;
    for (const auto& x : r) {
        phase.push_back(x.summary.phase);
        status.push_back(to_string(x.state));
        errors.push_back(x.error);
    }
    h5::write_strings(g, "phase", phase);
    h5::write_strings(g, "status", status);
    h5::write_strings(g, "error", errors);
}

void write_points(hid_t g, const layout& dir, const sweep_spec& spec,
                  const std::vector<point>& points) {
    std::vector<std::string> hash, label, file;
    std::vector<std::int64_t> seed;
    for (const auto& p : points) {
        hash.push_back(p.hash);
        label.push_back(p.label());
        file.push_back(fs::relative(dir.run_file(p), dir.root).string());
        seed.push_back(p.seed);
    }
    h5::write_strings(g, "hash", hash);
    h5::write_strings(g, "overrides", label);
    h5::write_strings(g, "run_file", file);
    h5::write_array(g, "seed", {seed.size()}, seed.data());
    h5::handle grid = h5::create_group(g, "grid");
    for (std::size_t a = 0; a < spec.grid.size(); ++a) {
        std::vector<std::string> values;
        for (const auto& p : points)
            values.push_back(p.values[a]);
        write_grid_column(grid, spec.grid[a].key, values);
    }
}

} // namespace

void write_index(const layout& dir, const sweep_spec& spec, const std::vector<point>& points,
                 const std::vector<point_record>& records) {
    h5::quiet_errors();
    const fs::path tmp = dir.index_file().string() + ".tmp" + std::to_string(getpid());
    {
        h5::handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        if (!f.valid())
            throw error(tmp.string(), "cannot create the sweep index", "a writable directory");
        write_header(f, spec, count_states(records));
        h5::handle g = h5::create_group(f, "points");
        write_points(g, dir, spec, points);
        write_summaries(g, records);
    }
    fs::rename(tmp, dir.index_file());
}

} // namespace grokkit::sweep
