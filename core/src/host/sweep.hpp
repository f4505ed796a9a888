// Sweeps: the cross product of parameter grids and seeds, each point a normal run in a
// directory named after the hash of its resolved overrides, surveyed from the files alone.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/registry.hpp"

#include <grokkit/report.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace grokkit::sweep {

namespace fs = std::filesystem;

/// One --grid option: a pipeline key and the values it takes, as TOML text.
struct grid_axis {
    std::string key;
    std::vector<std::string> values;
};

/// How a finished point's curves are labelled (docs/sweeps.md): train and test accuracy
/// "reach" the threshold at the first evaluation at or above it.
struct phase_rules {
    double accuracy_threshold = 0.99;
    /// Grokking, not comprehension, when test accuracy reaches the threshold more than this
    /// many times as late as train accuracy.
    double grokking_ratio = 2.0;
};

/// What defines a sweep; recorded in DIR/sweep.toml, so `grokkit sweep DIR`, its Slurm tasks
/// and --collect need nothing else.
struct sweep_spec {
    fs::path pipeline_file;        ///< absolute
    std::vector<std::string> sets; ///< --set arguments given to every point
    std::vector<grid_axis> grid;
    std::vector<std::int64_t> seeds;
    std::int64_t threads = 1; ///< every point's run.threads, whatever runs it
    phase_rules rules;
    /// SHA-256 of the resolved pipeline with `sets` but no point's overrides: a directory
    /// holds one experiment, whatever grids and seeds are added to it later.
    std::string base_sha256;
};

/// "key=v1,v2,..." (values split at top-level commas, outside brackets and quotes); throws
/// invalid_input naming the option.
grid_axis parse_grid(const std::string& option);
/// "0..9" (inclusive), "1,4,7", or both: "0..4,10"; throws invalid_input.
std::vector<std::int64_t> parse_seeds(const std::string& text);

/// One point: its overrides in canonical form (each value as the resolved pipeline writes
/// it), the grid keys in grid order, then run.seed and run.threads.
struct point {
    std::size_t index = 0;
    std::vector<std::string> keys;
    std::vector<std::string> values;
    std::int64_t seed = 0;
    std::string hash; ///< 16 hex digits of SHA-256 over the sorted "key=value" lines
    /// The --set arguments that make this point's run: the sweep's sets, then keys=values.
    std::vector<std::string> overrides(const sweep_spec& spec) const;
    /// "train.weight_decay=0.3 run.seed=2 run.threads=1".
    std::string label() const;
};

/// How much expand() checks: every grid value's parameters, and with first_point the first
/// point as `grokkit check` does (the dataset generated, the model built).
enum class expand_check { resolve_only, first_point };

/// Validates the sweep, resolves every point and sets spec.base_sha256 (refusing a pipeline
/// that no longer resolves to a base_sha256 the spec already has). Throws invalid_input
/// listing the problems (a grid key that is not a parameter, a value out of range, two values
/// of one key that resolve to the same, run.seed or run.threads in a grid); nothing runs.
std::vector<point> expand(sweep_spec& spec, registry& reg, expand_check check);

/// The files of a sweep directory.
struct layout {
    fs::path root;
    fs::path spec_file() const { return root / "sweep.toml"; }
    fs::path index_file() const { return root / "index.h5"; }
    fs::path point_dir(const point& p) const { return root / "points" / p.hash; }
    fs::path run_file(const point& p) const { return point_dir(p) / "run.h5"; }
    fs::path log_file(const point& p) const { return point_dir(p) / "log.txt"; }
    fs::path failure_file(const point& p) const { return point_dir(p) / "failed.txt"; }
    fs::path lock_file(const point& p) const { return point_dir(p) / "lock"; }
    fs::path report_file(const point& p) const { return point_dir(p) / "report.html"; }
};

/// Writes DIR/sweep.toml (atomically, by rename).
void save_spec(const layout& dir, const sweep_spec& spec);
/// Reads it back; throws grokkit::error naming the file when it is missing or malformed.
sweep_spec load_spec(const layout& dir);
/// Refuses (invalid_input) a new definition whose base pipeline differs from the one the
/// directory already holds.
void check_same_experiment(const layout& dir, const sweep_spec& spec);

enum class point_state { pending, running, interrupted, failed, done };
const char* to_string(point_state s);

/// What a point's run file says, with the labels of docs/sweeps.md. Accuracies and losses are
/// NaN and steps -1 where the file has none.
struct point_summary {
    double final_train_accuracy = NAN, final_test_accuracy = NAN;
    double final_train_loss = NAN, final_test_loss = NAN;
    std::int64_t memorisation_step = -1;   ///< first step train accuracy >= threshold
    std::int64_t generalisation_step = -1; ///< first step test accuracy >= threshold
    std::int64_t grokking_delay = -1;      ///< their difference, when both exist
    std::int64_t last_step = -1, steps = -1;
    std::string phase; ///< comprehension, grokking, memorisation, confusion; "" unfinished
    double wall_seconds = 0;
    std::int64_t resume_count = 0;
};

/// The phase of curves that reached the threshold at `memorised` and `generalised` (-1 never).
std::string phase_of(std::int64_t memorised, std::int64_t generalised, const phase_rules& rules);

struct point_record {
    point_state state = point_state::pending;
    std::string error; ///< why it failed (failed.txt), or why its file could not be read
    point_summary summary;
};

/// The state of `p` from its files: done (run file complete), failed (failed.txt), running
/// (its lock held by a live process), interrupted (a run file not complete), else pending.
point_record survey_point(const layout& dir, const point& p, const phase_rules& rules);
std::vector<point_record> survey(const layout& dir, const std::vector<point>& points,
                                 const phase_rules& rules);

/// Writes DIR/index.h5 (through a temporary file renamed over it, so a reader never sees a
/// partial index): one row per point (docs/run-file.md, "Sweep index").
void write_index(const layout& dir, const sweep_spec& spec, const std::vector<point>& points,
                 const std::vector<point_record>& records);

/// Counts of each state, and "12 done, 1 failed, 3 pending of 16 points".
struct state_counts {
    std::size_t pending = 0, running = 0, interrupted = 0, failed = 0, done = 0;
    std::size_t total() const { return pending + running + interrupted + failed + done; }
    std::string text() const;
};
state_counts count_states(const std::vector<point_record>& records);

/// The sections of a sweep's page (docs/report.md): its progress, the phase diagram, the
/// grokking steps across seeds, and every point, its hash linked to `link(point)` ("" for none).
std::vector<report_section> report_sections(const layout& dir, const sweep_spec& spec,
                                            const std::vector<point>& points,
                                            const std::vector<point_record>& records,
                                            const std::function<std::string(const point&)>& link);

} // namespace grokkit::sweep
