// Running a sweep's points: each one `grokkit run` in a child process that holds the point's
// lock, a queue that hands out what is left to run, and the local pool over both.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/sweep.hpp"

#include <sys/types.h>

#include <memory>
#include <optional>
#include <set>

namespace grokkit::sweep {

struct pool_options {
    std::size_t jobs = 1;
    bool retry_failed = false;
    fs::path executable;
    /// Only the points whose index is in it (a Slurm task's shard); empty: all.
    std::vector<std::size_t> only;
    bool write_index = true; ///< false for a shard: --collect builds the index
    bool quiet = false;
    /// Who runs the points, for the attempt lines of their logs ("MPI rank 1 of 4").
    std::string runner = "local pool";
};

/// A point that ended in this process: how it ended.
struct ended_point {
    std::size_t index = 0;
    point_state state = point_state::failed;
};

/// Starts points as child processes (`grokkit run PIPELINE --set ... --out DIR/points/H/run.h5
/// --resume --quiet`, output appended to the point's log.txt) and reaps them. A child holds the
/// point's lock (flock) until it exits, even if this process dies first, and is sent SIGTERM
/// when this process dies (it then checkpoints). A failed point's error lines go to failed.txt.
/// Each attempt starts with a line in the log naming `runner`, the host, the pid and the time.
class launcher {
  public:
    launcher(layout dir, const sweep_spec& spec, std::vector<point> points,
             const pool_options& options);
    /// Starts point `index`; false when another process holds its lock, or ended it (done, or
    /// failed without retry_failed) between the caller's look at it and taking the lock.
    bool start(std::size_t index);
    /// Waits for a child to end. nullopt when none is running, or when a signal interrupted
    /// the wait (`block`) or none has ended (`!block`).
    std::optional<ended_point> wait(bool block);
    std::size_t running() const { return m_children.size(); }
    /// Sends `sig` to every running child.
    void signal_all(int sig) const;

  private:
    struct child {
        pid_t pid;
        std::size_t index;
        std::uintmax_t log_offset; // the log's size when this attempt started
    };
    ended_point ended(const child& c, int status) const;

    layout m_dir;
    const sweep_spec& m_spec;
    std::vector<point> m_points;
    fs::path m_executable;
    std::string m_runner;
    bool m_retry_failed;
    std::vector<child> m_children;
};

/// The points left to run, in order: those not done, and failed ones only with retry_failed.
/// Points whose lock another process holds are set aside and waited for at the end.
class work_queue {
  public:
    work_queue(layout dir, const sweep_spec& spec, const std::vector<point>& points,
               std::vector<std::size_t> mine, bool retry_failed);
    /// The next point to start, or nullopt when none is left.
    std::optional<std::size_t> next();
    /// Point `index` could not be started: another process runs it.
    void running_elsewhere(std::size_t index);
    /// Waits for one point running elsewhere to end (its lock to be released) and queues it
    /// again if it is still to run; false when none is set aside (or a signal interrupted).
    bool wait_elsewhere();
    /// Point `index` ended here: its record is read again from its files.
    void ended(std::size_t index);
    const std::vector<point_record>& records() const { return m_records; }
    /// The records of this queue's points only (a shard's).
    state_counts counts() const;

  private:
    bool wanted(std::size_t index) const;

    layout m_dir;
    const sweep_spec& m_spec;
    const std::vector<point>& m_points;
    std::vector<std::size_t> m_mine;
    bool m_retry_failed;
    std::vector<point_record> m_records;
    std::vector<std::size_t> m_todo; // reversed: next() pops the back
    std::vector<std::size_t> m_elsewhere;
    std::set<std::size_t> m_started;
};

/// How `grokkit sweep` runs its points here.
/// Point indices `i` with i % count == shard.
std::vector<std::size_t> shard_points(std::size_t n_points, std::size_t shard, std::size_t count);

/// Runs the points on `jobs` child processes at a time, rewriting the index as each ends.
/// SIGINT/SIGTERM stop it: no new point starts, running ones checkpoint (they are sent
/// SIGTERM) and end interrupted. Returns the counts of its points.
struct pool_result {
    state_counts counts;
    bool interrupted = false;
};
pool_result run_pool(const layout& dir, const sweep_spec& spec, const std::vector<point>& points,
                     const pool_options& options);

/// Installs SIGINT/SIGTERM handlers that only set a flag (and interrupt blocking waits) for
/// the lifetime of the object.
class stop_flag {
  public:
    stop_flag();
    ~stop_flag();
    stop_flag(const stop_flag&) = delete;
    stop_flag& operator=(const stop_flag&) = delete;
    bool requested() const;
};

/// Shows points done out of the total: a bar on a terminal, a line per point elsewhere.
class sweep_progress {
  public:
    sweep_progress(std::size_t total, std::size_t done_before, bool quiet);
    ~sweep_progress();
    void ended(const point& p, const point_record& r, const state_counts& counts);
    void finish();

  private:
    struct impl;
    std::unique_ptr<impl> m_impl;
};

} // namespace grokkit::sweep
