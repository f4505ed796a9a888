// The local pool: points as child processes, each holding its point's lock while it runs.
// SPDX-License-Identifier: Apache-2.0
#include "host/sweep_run.hpp"

#include <grokkit/error.hpp>
#include <grokkit/progress.hpp>
#include <grokkit/run_file.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace grokkit::sweep {

namespace {

std::atomic<int> g_stop{0};

extern "C" void on_stop(int sig) {
    g_stop.store(sig);
}

struct sigaction g_old_int, g_old_term;

} // namespace

stop_flag::stop_flag() {
    g_stop.store(0);
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: a blocking waitpid or flock returns EINTR
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
}

stop_flag::~stop_flag() {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
}

bool stop_flag::requested() const {
    return g_stop.load() != 0;
}

launcher::launcher(layout dir, const sweep_spec& spec, std::vector<point> points,
                   const pool_options& options)
    : m_dir(std::move(dir)), m_spec(spec), m_points(std::move(points)),
      m_executable(options.executable), m_runner(options.runner),
      m_retry_failed(options.retry_failed) {}

namespace {

std::vector<std::string> run_arguments(const fs::path& exe, const sweep_spec& spec, const point& p,
                                       const fs::path& out) {
    std::vector<std::string> args{exe.string(), "run", spec.pipeline_file.string()};
    for (const auto& o : p.overrides(spec)) {
        args.emplace_back("--set");
        args.push_back(o);
    }
    args.insert(args.end(), {"--out", out.string(), "--resume", "--quiet"});
    return args;
}

std::uintmax_t size_or_zero(const fs::path& p) {
    std::error_code ec;
    const auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_point(const std::vector<char*>& argv, int log, pid_t parent) {
    // The sweep's handlers only set a flag: a stop before exec must end this child instead.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGTERM); // the run checkpoints when the sweep dies
    if (getppid() != parent)
        _exit(130);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(argv[0], argv.data());
    const char msg[] = "error: sweep: cannot execute grokkit\n";
    [[maybe_unused]] const auto n = write(log, msg, sizeof msg - 1);
    _exit(127);
}

// "grokkit sweep: attempt by MPI rank 1 of 2 on node7, at 2026-12-03T07:40:00Z": which
// machine ran which attempt, for whoever reads the log of a point on a cluster.
void write_attempt_line(int log, const std::string& runner) {
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    const std::time_t now = std::time(nullptr);
    char when[32] = "";
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    std::string line = "grokkit sweep: attempt by ";
    line += runner;
    line += " on ";
    line += host;
    line += ", at ";
    line += when;
    line += "\n";
    [[maybe_unused]] const auto n = write(log, line.data(), line.size());
}

// Whether the point is complete, or failed and not to be retried.
bool ended_elsewhere(const layout& dir, const point& p, bool retry_failed) {
    if (!retry_failed && fs::exists(dir.failure_file(p)))
        return true;
    if (!fs::exists(dir.run_file(p)))
        return false;
    try {
        return run_file(dir.run_file(p)).status() == "complete";
    } catch (const error&) {
        return false; // a resume repairs or refuses it
    }
}

} // namespace

bool launcher::start(std::size_t index) {
    const point& p = m_points.at(index);
    fs::create_directories(m_dir.point_dir(p));
    // Not close-on-exec: the child inherits the lock and holds it until it exits.
    const int lock = open(m_dir.lock_file(p).c_str(), O_RDWR | O_CREAT, 0644);
    if (lock < 0)
        throw error(m_dir.lock_file(p).string(), std::string("cannot open: ") + strerror(errno));
    // Looked at again under the lock: the process that held it may have just ended the point.
    if (flock(lock, LOCK_EX | LOCK_NB) != 0 || ended_elsewhere(m_dir, p, m_retry_failed)) {
        close(lock);
        return false;
    }
    std::error_code ec;
    fs::remove(m_dir.failure_file(p), ec); // this attempt decides anew
    const std::uintmax_t offset = size_or_zero(m_dir.log_file(p));
    const int log =
        open(m_dir.log_file(p).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0)
        write_attempt_line(log, m_runner);
    auto args = run_arguments(m_executable, m_spec, p, m_dir.run_file(p));
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    std::cerr.flush();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0)
        exec_point(argv, log < 0 ? STDERR_FILENO : log, parent);
    close(lock);
    if (log >= 0)
        close(log);
    if (pid < 0)
        throw error("sweep", std::string("cannot start a point: fork: ") + strerror(errno));
    m_children.push_back({pid, index, offset});
    return true;
}

namespace {

// This attempt's "error:" lines of the log (from `offset`), or its last lines when it has none.
std::string attempt_errors(const fs::path& log, std::uintmax_t offset) {
    std::ifstream in(log, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::vector<std::string> lines, errors;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
        if (line.rfind("error: ", 0) == 0)
            errors.push_back(line);
    }
    if (errors.empty())
        errors.assign(lines.end() - std::min<std::ptrdiff_t>(lines.size(), 10), lines.end());
    return join(errors, "\n");
}

} // namespace

ended_point launcher::ended(const child& c, int status) const {
    const point& p = m_points[c.index];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {c.index, point_state::done};
    // 130: the run checkpointed on a signal. Killed by SIGINT/SIGTERM: stopped before its
    // handlers were installed (while preparing). Either way not a failure of the point.
    if ((WIFEXITED(status) && WEXITSTATUS(status) == 130) ||
        (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT)))
        return {c.index, point_state::interrupted};
    const std::string how = WIFEXITED(status)
                                ? "exit code " + std::to_string(WEXITSTATUS(status))
                                : "killed by signal " + std::to_string(WTERMSIG(status));
    std::ofstream out(m_dir.failure_file(p), std::ios::binary | std::ios::trunc);
    out << "grokkit run ended with " << how << " (log: " << m_dir.log_file(p).string() << ")\n"
        << attempt_errors(m_dir.log_file(p), c.log_offset) << "\n";
    return {c.index, point_state::failed};
}

std::optional<ended_point> launcher::wait(bool block) {
    while (!m_children.empty()) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid <= 0)
            return std::nullopt; // none ended yet, or a signal (EINTR)
        const auto it = std::find_if(m_children.begin(), m_children.end(),
                                     [pid](const child& c) { return c.pid == pid; });
        if (it == m_children.end())
            continue; // not a point's process
        const child c = *it;
        m_children.erase(it);
        return ended(c, status);
    }
    return std::nullopt;
}

void launcher::signal_all(int sig) const {
    for (const auto& c : m_children)
        kill(c.pid, sig);
}

std::vector<std::size_t> shard_points(std::size_t n_points, std::size_t shard, std::size_t count) {
    std::vector<std::size_t> out;
    for (std::size_t i = shard; i < n_points; i += count)
        out.push_back(i);
    return out;
}

work_queue::work_queue(layout dir, const sweep_spec& spec, const std::vector<point>& points,
                       std::vector<std::size_t> mine, bool retry_failed)
    : m_dir(std::move(dir)), m_spec(spec), m_points(points), m_mine(std::move(mine)),
      m_retry_failed(retry_failed), m_records(points.size()) {
    for (auto i : m_mine) {
        m_records[i] = survey_point(m_dir, m_points[i], m_spec.rules);
        if (m_records[i].state == point_state::running)
            m_elsewhere.push_back(i);
    }
    for (auto it = m_mine.rbegin(); it != m_mine.rend(); ++it)
        if (wanted(*it))
            m_todo.push_back(*it);
}

bool work_queue::wanted(std::size_t i) const {
    if (m_started.count(i))
        return false; // once per session: an interrupted or failed attempt waits for the next
    const point_state s = m_records[i].state;
    return s == point_state::pending || s == point_state::interrupted ||
           (s == point_state::failed && m_retry_failed);
}

std::optional<std::size_t> work_queue::next() {
    while (!m_todo.empty()) {
        const std::size_t i = m_todo.back();
        m_todo.pop_back();
        // Read again: another process may have run it since.
        m_records[i] = survey_point(m_dir, m_points[i], m_spec.rules);
        if (!wanted(i)) {
            if (m_records[i].state == point_state::running)
                m_elsewhere.push_back(i);
            continue;
        }
        m_started.insert(i);
        return i;
    }
    return std::nullopt;
}

void work_queue::running_elsewhere(std::size_t index) {
    m_started.erase(index);
    m_records[index].state = point_state::running;
    m_elsewhere.push_back(index);
}

bool work_queue::wait_elsewhere() {
    if (m_elsewhere.empty())
        return false;
    const std::size_t i = m_elsewhere.front();
    // O_RDWR: NFS emulates flock with fcntl locks, which need write access.
    const int fd = open(m_dir.lock_file(m_points[i]).c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        const int rc = flock(fd, LOCK_EX); // blocks until that process ends
        close(fd);
        if (rc != 0)
            return false; // a signal
    }
    m_elsewhere.erase(m_elsewhere.begin());
    m_records[i] = survey_point(m_dir, m_points[i], m_spec.rules);
    if (wanted(i))
        m_todo.push_back(i);
    return true;
}

void work_queue::ended(std::size_t index) {
    m_records[index] = survey_point(m_dir, m_points[index], m_spec.rules);
}

state_counts work_queue::counts() const {
    std::vector<point_record> mine;
    for (auto i : m_mine)
        mine.push_back(m_records[i]);
    return count_states(mine);
}

struct sweep_progress::impl {
    progress_style style;
    progress_meter meter;
    std::size_t total, done_before;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

sweep_progress::sweep_progress(std::size_t total, std::size_t done_before, bool quiet)
    : m_impl(std::make_unique<impl>(
          impl{progress_style_for(STDOUT_FILENO, quiet),
               progress_meter(std::cout, progress_style_for(STDOUT_FILENO, quiet), "points",
                              static_cast<std::int64_t>(total), 0.0),
               total, done_before})) {
    m_impl->meter.tick(static_cast<std::int64_t>(done_before));
}

sweep_progress::~sweep_progress() = default;

namespace {

// "done, grokking (test accuracy 0.99 at step 12000), 23.4 s" and the like.
std::string outcome_text(const point_record& r) {
    std::ostringstream os;
    os << to_string(r.state);
    const point_summary& s = r.summary;
    if (r.state == point_state::done) {
        os << ", " << s.phase;
        if (s.generalisation_step >= 0)
            os << " (generalised at step " << s.generalisation_step << ")";
        os << ", " << std::fixed << std::setprecision(1) << s.wall_seconds << " s";
    } else if (r.state == point_state::failed) {
        const auto nl = r.error.find('\n');
        os << ": " << r.error.substr(nl == std::string::npos ? 0 : nl + 1);
    } else if (s.last_step >= 0) {
        os << " at step " << s.last_step;
    }
    return os.str();
}

} // namespace

void sweep_progress::ended(const point& p, const point_record& r, const state_counts& counts) {
    if (m_impl->style == progress_style::quiet)
        return;
    const std::string what = p.hash + " " + p.label() + ": " + outcome_text(r);
    if (m_impl->style == progress_style::bar) {
        m_impl->meter.activity(what);
        m_impl->meter.tick(static_cast<std::int64_t>(counts.done));
        return;
    }
    // One line per point: "[3/40, ETA 1:05] <hash> <overrides>: done, grokking ...".
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_impl->start).count();
    const std::size_t ended_here = counts.done + counts.failed - m_impl->done_before;
    const std::size_t left = m_impl->total - std::min(m_impl->total, counts.done + counts.failed);
    std::cout << "[" << counts.done << "/" << m_impl->total;
    if (ended_here > 0 && left > 0) {
        const auto eta = static_cast<long long>(elapsed / double(ended_here) * double(left));
        std::cout << ", ETA " << eta / 60 << ":" << std::setw(2) << std::setfill('0') << eta % 60
                  << std::setfill(' ');
    }
    std::cout << "] " << what << std::endl;
}

void sweep_progress::finish() {
    m_impl->meter.finish();
}

pool_result run_pool(const layout& dir, const sweep_spec& spec, const std::vector<point>& points,
                     const pool_options& o) {
    std::vector<std::size_t> mine = o.only;
    if (mine.empty())
        mine = shard_points(points.size(), 0, 1);
    stop_flag stop;
    launcher run(dir, spec, points, o);
    work_queue queue(dir, spec, points, mine, o.retry_failed);
    sweep_progress shown(mine.size(), queue.counts().done, o.quiet);
    const auto update_index = [&] {
        if (o.write_index)
            write_index(dir, spec, points, queue.records());
    };
    update_index();
    bool forwarded = false;
    for (;;) {
        while (!stop.requested() && run.running() < std::max<std::size_t>(o.jobs, 1)) {
            const auto i = queue.next();
            if (!i)
                break;
            if (!run.start(*i))
                queue.running_elsewhere(*i);
        }
        if (stop.requested() && !forwarded) {
            run.signal_all(SIGTERM); // they checkpoint and end interrupted
            forwarded = true;
        }
        if (run.running() == 0) {
            if (stop.requested() || !queue.wait_elsewhere())
                break;
            continue;
        }
        if (const auto e = run.wait(true)) {
            queue.ended(e->index);
            update_index();
            shown.ended(points[e->index], queue.records()[e->index], queue.counts());
        }
    }
    update_index(); // points waited for elsewhere ended after their last rewrite
    shown.finish();
    return {queue.counts(), stop.requested()};
}

} // namespace grokkit::sweep
