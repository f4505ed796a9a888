// The run file: one HDF5 file per run, written under SWMR so readers can watch it grow.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/h5.hpp"
#include "store/output_store.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/data.hpp>
#include <grokkit/error.hpp>
#include <grokkit/model.hpp>
#include <grokkit/optimizer.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace grokkit {

/// Bumped when the layout documented in docs/run-file.md changes incompatibly.
inline constexpr std::int64_t run_file_schema_version = 2;

/// What identifies the run, recorded once at creation.
struct run_header {
    std::string pipeline_text;
    std::string resolved_text;
    std::vector<std::string> overrides;
    std::string pipeline_file;
    std::int64_t seed = 0;
    std::int64_t threads = 1;
    std::string dataset_plugin;
    std::string model_plugin;
    std::string optimizer = "adamw";
};

/// One analysis' outputs, bound before training starts.
struct analysis_layout {
    std::string name;
    std::string plugin;
    std::string at;
    std::vector<output_layout> outputs;
    bool items = false; ///< keeps work items (output_binding::keep_items)

    /// The layout of output `name`, or null.
    const output_layout* find(const std::string& output) const;
};

/// Everything the file will hold; the pointers must outlive the store.
struct run_layout {
    std::vector<std::string> metric_names;
    std::vector<parameter*> params;
    std::vector<state_tensor> optimizer_state;
    std::vector<analysis_layout> analyses;
};

/// Thrown by run_store::resume for a file killed before its first checkpoint was committed:
/// nothing in it is worth keeping, so the caller may start the run afresh.
class no_checkpoint : public error {
  public:
    using error::error;
};

/// Throws grokkit::error("<plugin>.generate", ...) when a dataset's attribute or record
/// would overwrite one the core writes under /dataset (checked before the file is created).
void check_dataset_names(const dataset_split& split, const input_spec& spec,
                         const std::string& plugin);

/// An exclusive lock on a file (an open-file-description lock, see run_store.cpp for why not
/// flock), held while the object lives, move-only. The kernel drops it when the process dies
/// however it dies, so a killed writer leaves no stale lock, and it stays with the inode when
/// the file is renamed (a work copy that becomes the run file keeps it). It is what tells a
/// live writer from a killed one: both leave HDF5's status flags set.
class file_lock {
  public:
    file_lock() = default;
    /// Locks `file` (which must exist); throws grokkit::error if another process holds it,
    /// saying it is being written and what to do instead.
    static file_lock exclusive(const std::filesystem::path& file);
    /// Whether another process holds the lock on `file` (false if it does not exist).
    static bool held_elsewhere(const std::filesystem::path& file);
    /// Throws exclusive()'s error if another process holds the lock on `file`.
    static void refuse_if_held(const std::filesystem::path& file);
    file_lock(file_lock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
    file_lock& operator=(file_lock&& o) noexcept;
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    ~file_lock();

  private:
    int m_fd = -1;
};

/// A temporary file (a run file being created, resumed or analysed) removed when its owner
/// is destroyed unless keep() was called; move-only.
class work_copy {
  public:
    work_copy() = default;
    explicit work_copy(std::filesystem::path path) : m_path(std::move(path)) {}
    /// A fresh copy of `file` named `file` + `suffix` (a leftover of an earlier kill replaced).
    static work_copy of(const std::filesystem::path& file, const std::string& suffix) {
        const std::filesystem::path path = file.string() + suffix;
        std::error_code ec;
        std::filesystem::remove(path, ec);
        std::filesystem::copy_file(file, path);
        return work_copy(path);
    }
    work_copy(work_copy&& o) noexcept : m_path(std::move(o.m_path)) { o.m_path.clear(); }
    work_copy& operator=(work_copy&& o) noexcept {
        if (this != &o) {
            remove();
            m_path = std::move(o.m_path);
            o.m_path.clear();
        }
        return *this;
    }
    ~work_copy() { remove(); }
    const std::filesystem::path& path() const { return m_path; }
    /// The file became (was renamed to) the real one: nothing to remove.
    void keep() { m_path.clear(); }

  private:
    void remove() {
        std::error_code ec;
        if (!m_path.empty())
            std::filesystem::remove(m_path, ec);
    }
    std::filesystem::path m_path;
};

/// Writer of one run file. Every object is created before SWMR writing starts; afterwards rows
/// are only appended, data first and the `step` row last, so a reader (or a resume after
/// SIGKILL) never sees a half-written row as committed.
class run_store {
  public:
    /// Creates `file` and everything in it under a temporary name, starts SWMR writing and
    /// renames it to `file`. An existing `file` is an error unless `replace`, and is replaced
    /// only once the new file is complete.
    static run_store create(const std::filesystem::path& file, const run_header& header,
                            const run_layout& layout, const dataset_split& split,
                            const input_spec& spec, bool replace = false);
    /// Reopens a run file left by a finished, interrupted or killed run; refuses one whose
    /// resolved pipeline differs from `header`. Drops rows after the last complete checkpoint,
    /// loads that checkpoint into the layout's tensors and starts SWMR writing again.
    static run_store resume(const std::filesystem::path& file, const run_header& header,
                            const run_layout& layout);

    /// Opens a copy of a finished (closed) run file to add analyses post hoc: creates their
    /// groups (replacing existing ones only when `replace`); the layout's optimizer state is
    /// ignored. commit_analyses() makes the copy the run file; without it the file is unchanged.
    static run_store open_for_analysis(const std::filesystem::path& file, const run_layout& layout,
                                       bool replace);

    run_store(run_store&&) = default;
    run_store& operator=(run_store&&) = default;
    ~run_store();

    /// Training step of the last complete checkpoint (-1 if none).
    std::int64_t last_checkpoint_step() const { return m_last_checkpoint; }
    /// Optimizer update count stored with the last checkpoint.
    std::int64_t last_checkpoint_updates() const { return m_last_updates; }
    /// Step of an analysis' last row, or -1.
    std::int64_t last_analysis_step(const std::string& name) const;

    /// Appends one row of metrics (values in the order of layout.metric_names).
    void append_metrics(std::int64_t step, const std::vector<double>& values);
    /// Appends the current parameters and optimizer state. A `transient` checkpoint (written
    /// off schedule, when a signal stops the run) is only a place to resume from: the next
    /// checkpoint takes its row, so a stopped and resumed run ends with the same checkpoints
    /// as one never stopped.
    void append_checkpoint(std::int64_t step, std::int64_t updates, bool transient = false);
    /// The last checkpoint (the one resumed from) is transient.
    void mark_last_checkpoint_transient() { m_last_transient = true; }
    /// Writes part of the row analysis `name` is writing (its next, uncommitted one) of a tiled
    /// output: `tile` conformed to a layout of its own shape, placed at `origin`.
    void write_analysis_tile(const std::string& name, const std::string& output,
                             const std::vector<std::size_t>& origin, const output_value& tile);
    /// Cuts every output of analysis `name` back to its committed rows (the tiles of a run that
    /// failed); work items stay.
    void discard_uncommitted(const std::string& name);
    /// Appends one run of an analysis; `values` holds every bound output, each conformed to
    /// its layout (output_value::conformed), except those in `tiled`, which
    /// write_analysis_tile() has already written in full. Data first, the step row last (the
    /// commit).
    void append_analysis(const std::string& name, std::int64_t step,
                         const std::map<std::string, output_value>& values,
                         const std::set<std::string>& tiled = {});
    /// Commits one work item of analysis `name` at checkpoint step `step`: its values and text,
    /// its index, then the step (the commit marker), each flushed.
    void append_item(const std::string& name, std::int64_t step, std::int64_t index,
                     const std::vector<double>& values, const std::string& text = {});
    /// The items analysis `name` committed at checkpoint step `step`: index -> values.
    std::map<std::int64_t, std::vector<double>> read_items(const std::string& name,
                                                           std::int64_t step) const;
    /// Their texts: index -> text.
    std::map<std::int64_t, std::string> read_item_texts(const std::string& name,
                                                        std::int64_t step) const;
    /// The value analysis `name` wrote for `output` at checkpoint step `step`. Throws
    /// grokkit::error when it has no row for that step.
    output_value read_analysis(const std::string& name, const std::string& output,
                               std::int64_t step) const;
    /// Steps of the complete checkpoints, in order.
    std::vector<std::int64_t> checkpoint_steps() const;
    /// Loads checkpoint `index`'s parameters into the layout's parameter tensors.
    void load_checkpoint(std::size_t index);
    /// Checkpoint `index`'s parameters, flat in the layout's order.
    std::vector<float> read_checkpoint(std::size_t index) const;
    /// Optimizer updates of each complete checkpoint, in order.
    std::vector<std::int64_t> checkpoint_updates() const;

    /// Closes the copy open_for_analysis() made and renames it over the run file.
    void commit_analyses();

    /// Records the final status ("complete" or "interrupted") and the wall time (this session's
    /// plus earlier finished sessions'), then closes the file.
    void finish(const std::string& status, double wall_seconds);

    const std::filesystem::path& path() const { return m_path; }

  private:
    run_store() = default;
    static void create_analysis_groups(hid_t analyses_group,
                                       const std::vector<analysis_layout>& analyses);
    void open_handles();
    void flush();
    /// resume(): loads the last committed checkpoint (throws no_checkpoint when there is none).
    void restore_last_checkpoint();
    /// resume(): truncates metrics and analyses to the rows of that checkpoint and before.
    void drop_rows_after_checkpoint();

    std::filesystem::path m_path;
    run_layout m_layout;
    // Declared before the file, so released after it is closed.
    file_lock m_lock;     // on the file being written, from its creation on
    file_lock m_replaced; // on the file it will replace (if any), so nothing else takes it
    h5::handle m_file;
    std::vector<h5::handle> m_metrics; // one per metric name
    h5::handle m_metric_step;
    std::vector<h5::handle> m_params;
    std::vector<h5::handle> m_state;
    h5::handle m_checkpoint_step, m_checkpoint_updates;
    struct analysis_handles {
        std::map<std::string, output_series> outputs;
        h5::handle step;
        // Work items, when kept: values (ragged), text, index, and step last.
        std::optional<output_series> item_values, item_text;
        h5::handle item_index, item_step;
    };
    std::map<std::string, analysis_handles> m_analyses;
    std::int64_t m_last_checkpoint = -1;
    std::int64_t m_last_updates = 0;
    bool m_last_transient = false;
    double m_previous_seconds = 0.0; // wall time of earlier sessions that finished
    work_copy m_work;                // the temporary file until it becomes the run file
};

/// Opens a run file for writing the way --resume does: lifts the status flags a killed SWMR
/// writer leaves and repairs the recorded file size.
h5::handle open_run_file_for_resume(const std::filesystem::path& file);

/// Opens a run file read-only (SWMR read, so live and killed runs open too).
h5::handle open_run_file_readonly(const std::filesystem::path& file);

} // namespace grokkit
