// Running a pipeline end to end: validate, build, create or resume the run file, train, analyse.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/registry.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace grokkit {

struct run_options {
    std::filesystem::path pipeline_file;
    std::vector<std::string> overrides;
    std::filesystem::path out; ///< empty: runs/<run.name>.h5
    bool resume = false;
    bool force = false; ///< overwrite an existing file
};

/// What the runner reports as training goes: after every update (`values` empty), at each
/// evaluation (the metrics), and before each analysis runs (`activity` names it). Reporting
/// allocates nothing, so it may run at every step.
struct progress {
    std::int64_t step;
    std::int64_t steps;
    const std::vector<std::string>& names; ///< metric names, in the order of `values`
    const std::vector<double>& values;     ///< the metrics at an evaluation, else empty
    std::string_view activity;             ///< "analysis <name>" while one runs, else ""
};

struct run_result {
    std::filesystem::path file;
    std::string status; ///< "complete" or "interrupted"
    std::vector<std::string> metric_names;
    std::vector<double> final_metrics;
    double seconds = 0;
    std::int64_t resumed_from = -1; ///< checkpoint step resumed from, or -1
};

/// Runs the pipeline; SIGINT/SIGTERM end it with a checkpoint and status "interrupted".
/// Throws grokkit::error for every user-facing problem (before creating any file where possible).
/// `reg` must outlive the call's exceptions: an error thrown by a plugin is caught after the
/// call returns, while its library must still be loaded. Plugins are loaded into it
/// (load_default) unless it already holds some.
run_result run_pipeline(registry& reg, const run_options& options,
                        const std::function<void(const progress&)>& report);

struct analyze_options {
    std::filesystem::path run_file;
    std::filesystem::path pipeline_file;
    std::vector<std::string> overrides;
    bool replace = false; ///< replace analyses of the same name already in the file
};

struct analyze_result {
    std::vector<std::string> analyses;
    std::size_t n_checkpoints = 0;
    double seconds = 0;
};

/// Runs the pipeline's [[analysis]] entries on every checkpoint of a finished run file
/// (`at = "end"` ones on the last checkpoint only) and adds their outputs to the file, through a
/// copy that replaces it only when every analysis has run. The pipeline's [dataset], [model]
/// and [train] sections and seed must resolve to the recorded ones.
analyze_result analyze_run(registry& reg, const analyze_options& options);

/// Validates the pipeline and everything that can be checked without training (plugins,
/// parameters, dataset/model agreement, analysis inputs). Returns the resolved pipeline text.
std::string check_pipeline(registry& reg, const std::filesystem::path& file,
                           const std::vector<std::string>& overrides);

} // namespace grokkit
