// Plugin loading: every failure becomes a refusal with the library path and the reason.
// SPDX-License-Identifier: Apache-2.0
#include "host/registry.hpp"

#include <grokkit/error.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <dlfcn.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

namespace grokkit {

namespace fs = std::filesystem;

fs::path registry::builtin_plugin_dir() {
    const fs::path exe = boost::dll::program_location();
    // The build tree mirrors the install layout: <prefix>/bin/grokkit,
    // <prefix>/<libdir>/grokkit/plugins.
    return (exe.parent_path().parent_path() / GROKKIT_PLUGIN_RELATIVE_DIR).lexically_normal();
}

std::vector<fs::path> registry::env_plugin_dirs() {
    std::vector<fs::path> dirs;
    const char* env = std::getenv("GROKKIT_PLUGIN_PATH");
    if (!env)
        return dirs;
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = std::min(s.find(':', start), s.size());
        if (end > start)
            dirs.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return dirs;
}

void registry::load_default(const std::vector<fs::path>& extra) {
    for (const auto& d : env_plugin_dirs())
        load_directory(d);
    for (const auto& d : extra)
        load_directory(d);
    load_directory(builtin_plugin_dir());
}

void registry::load_directory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.rfind("lib", 0) != 0 || entry.path().extension() != ".so")
            continue;
        // A symbolic link that loops or leads nowhere is refused, not thrown (status() would
        // throw std::filesystem_error from here and end `grokkit plugins`).
        std::error_code status_error;
        const auto type = entry.status(status_error).type();
        if (status_error || type == fs::file_type::not_found)
            m_refusals.push_back({entry.path(), "cannot follow the link: " +
                                                    (status_error ? status_error.message()
                                                                  : "No such file or directory")});
        else if (type != fs::file_type::directory)
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    load_files(files);
}

namespace {

std::string check_object(const plugin_info& info, plugin_object& obj) {
    const bool kind_ok = (info.kind == plugin_kind::dataset && dynamic_cast<dataset*>(&obj)) ||
                         (info.kind == plugin_kind::model && dynamic_cast<model*>(&obj)) ||
                         (info.kind == plugin_kind::analysis && dynamic_cast<analysis*>(&obj));
    if (!kind_ok)
        return std::string("factory returned an object that is not a ") + to_string(info.kind);
    param_set ps;
    obj.declare(ps);
    for (const auto& p : ps.params()) {
        if (p.doc().empty())
            return "parameter '" + p.key() +
                   "' has no doc string; expected every parameter documented";
        if (p.is_input() && p.type() != param_type::string)
            return "parameter '" + p.key() + "' is an input() of type " + to_string(p.type()) +
                   "; expected a string naming \"<analysis>/<output>\"";
    }
    if (const auto* a = dynamic_cast<const analysis*>(&obj)) {
        output_set os;
        try {
            a->declare_outputs(os); // refuses an undocumented or twice-declared output
        } catch (const std::exception& e) {
            return std::string("declare_outputs failed: ") + e.what();
        }
    }
    return {};
}

} // namespace

namespace {

// Why this host cannot use the plugin `info` describes, or "": versions, fingerprint, name,
// and an object its factory creates and whose declarations check out.
std::string info_problem(const plugin_info* info) {
    if (!info)
        return "entry point returned no plugin info";
    if (info->api_version != GROKKIT_API_VERSION)
        return "plugin api version " + std::to_string(info->api_version) + "; expected " +
               std::to_string(GROKKIT_API_VERSION);
    if (!info->fingerprint || std::strcmp(info->fingerprint, core_fingerprint()) != 0)
        return std::string("build fingerprint '") + (info->fingerprint ? info->fingerprint : "") +
               "'; expected '" + core_fingerprint() + "'";
    if (!info->name || !*info->name || !info->create)
        return "plugin info has no name or no factory";
    try {
        std::unique_ptr<plugin_object> obj(info->create());
        if (!obj)
            return "factory returned null";
        return check_object(*info, *obj);
    } catch (const std::exception& e) {
        return std::string("factory threw: ") + e.what();
    } catch (...) {
        return "factory threw a non-standard exception";
    }
}

/// dlopen's own text for a library that does not load, or "". Boost.DLL 1.74 reports load
/// failures as "Bad file descriptor"; dlerror names the missing symbol or the bad ELF header.
std::string dlopen_text(const fs::path& file) {
    if (void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        ::dlclose(handle); // the plugin's own handle (open_plugin) keeps it loaded
        return {};
    }
    const char* msg = ::dlerror();
    std::string s = msg ? msg : "dlopen failed";
    const std::string prefix = file.string() + ": ";
    if (s.rfind(prefix, 0) == 0) // dlerror repeats the path; keep the reason
        s.erase(0, prefix.size());
    return "cannot load library: " + s;
}

/// Loads `file` as a plugin: "" with `lib` and `info` set, or why it is refused.
std::string open_plugin(const fs::path& file, boost::dll::shared_library& lib,
                        const plugin_info*& info) {
    try {
        lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return std::string("cannot load library: ") + e.what();
    }
    if (!lib.has(plugin_entry_symbol))
        return std::string("no '") + plugin_entry_symbol +
               "' entry point; expected a grokkit plugin library";
    try {
        info = lib.get_alias<const plugin_info*()>(plugin_entry_symbol)();
    } catch (const std::exception& e) {
        return std::string("entry point failed: ") + e.what();
    }
    return info_problem(info);
}

/// In a child process: opens `files[from...]` in turn as the registry does, unloads each
/// (running its destructors, as the parent's exit will), and writes one line per file,
/// "<index> <refusal>", to `out`. _exit skips the destructors of the parent's objects.
[[noreturn]] void probe_in_child(int out, const std::vector<fs::path>& files, std::size_t from) {
    for (std::size_t i = from; i < files.size(); ++i) {
        std::string problem = dlopen_text(files[i]);
        if (problem.empty()) {
            boost::dll::shared_library lib;
            const plugin_info* info = nullptr;
            problem = open_plugin(files[i], lib, info);
        }
        std::string line = std::to_string(i) + " " + problem;
        std::replace(line.begin(), line.end(), '\n', ' ');
        line += '\n';
        for (std::size_t done = 0; done < line.size();) {
            const ssize_t n = ::write(out, line.data() + done, line.size() - done);
            if (n < 0 && errno != EINTR)
                ::_exit(2);
            done += n > 0 ? std::size_t(n) : 0;
        }
    }
    ::_exit(0);
}

/// How long one library may take to load in the probe before it is refused: a damaged one can
/// send the dynamic loader or its constructors into a loop (found by tests/fuzz).
/// GROKKIT_PLUGIN_PROBE_SECONDS overrides it (a slow network file system; the fuzz driver's
/// short limit).
int probe_seconds_per_library() {
    static const int seconds = [] {
        const char* env = std::getenv("GROKKIT_PLUGIN_PROBE_SECONDS");
        const int s = env ? std::atoi(env) : 0;
        return s > 0 ? s : 15;
    }();
    return seconds;
}

/// Reads the probe child's report from `fd` to its end, killing the child when no line has come
/// for probe_seconds_per_library(); `timed_out` says whether it did.
std::string read_report(int fd, pid_t pid, bool& timed_out) {
    std::string s;
    char buffer[4096];
    auto last_line = std::chrono::steady_clock::now();
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno != EINTR)
            break;
        if (ready > 0) {
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n == 0 || (n < 0 && errno != EINTR))
                break;
            if (n > 0) {
                s.append(buffer, std::size_t(n));
                last_line = std::chrono::steady_clock::now();
            }
        } else if (std::chrono::steady_clock::now() - last_line >
                   std::chrono::seconds(probe_seconds_per_library())) {
            ::kill(pid, SIGKILL);
            timed_out = true;
            break;
        }
    }
    return s;
}

/// Takes the refusals of the report's lines ("<index> <refusal>") into `problems`; `next` becomes
/// the index after the last file reported.
void take_report(const std::string& report, std::vector<std::string>& problems, std::size_t& next) {
    std::istringstream lines(report);
    for (std::string line; std::getline(lines, line);) {
        const auto space = line.find(' ');
        const std::size_t index = std::strtoull(line.c_str(), nullptr, 10);
        if (space == std::string::npos || index < next || index >= problems.size())
            break;
        problems[index] = line.substr(space + 1);
        next = index + 1;
    }
}

/// Why the probe child stopped on a file without reporting it.
std::string probe_failure(int status, bool timed_out) {
    const std::string what =
        timed_out ? "did not finish within " + std::to_string(probe_seconds_per_library()) + " s"
        : WIFSIGNALED(status)
            ? "crashed (signal " + std::to_string(WTERMSIG(status)) + ")"
            : "ended the process (exit code " + std::to_string(WEXITSTATUS(status)) + ")";
    return "loading it " + what +
           ", in the dynamic loader or the library's own code; the file is damaged or not a "
           "grokkit plugin";
}

/// Why each file would be refused ("" when it loads as a plugin), found in child processes: a
/// damaged library can crash the dynamic loader itself, loop in it, or jump into garbage from
/// its constructors or entry point (found by tests/fuzz), which would end or hang grokkit
/// instead of refusing one file. One child probes every file; after a crash or a time-out, the
/// file it was on is refused and a new child probes the rest.
std::vector<std::string> probe_libraries(const std::vector<fs::path>& files) {
    std::vector<std::string> problems(files.size());
    std::cout.flush();
    std::cerr.flush();
    for (std::size_t next = 0; next < files.size();) {
        int fds[2];
        if (::pipe(fds) != 0)
            return problems; // no probe: the loads themselves report what they can
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[0]);
            probe_in_child(fds[1], files, next);
        }
        ::close(fds[1]);
        bool timed_out = false;
        const std::string report = pid < 0 ? std::string() : read_report(fds[0], pid, timed_out);
        ::close(fds[0]);
        int status = 0;
        while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (pid < 0)
            return problems;
        take_report(report, problems, next);
        if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            break; // every file reported
        if (next < files.size())
            problems[next++] = probe_failure(status, timed_out);
    }
    return problems;
}

} // namespace

void registry::load_file(const fs::path& file) {
    load_files({file});
}

void registry::load_files(const std::vector<fs::path>& given) {
    std::vector<fs::path> files;
    for (const auto& f : given) {
        std::error_code ec;
        const fs::path file = fs::weakly_canonical(f, ec);
        if (std::find(m_seen.begin(), m_seen.end(), file) != m_seen.end())
            continue;
        m_seen.push_back(file);
        files.push_back(file);
    }
    const auto problems = probe_libraries(files);
    for (std::size_t i = 0; i < files.size(); ++i)
        load_probed(files[i], problems[i]);
}

void registry::load_probed(const fs::path& file, const std::string& probe_problem) {
    auto refuse = [&](std::string reason) { m_refusals.push_back({file, std::move(reason)}); };
    if (!probe_problem.empty())
        return refuse(probe_problem);
    boost::dll::shared_library lib;
    const plugin_info* info = nullptr;
    if (auto problem = open_plugin(file, lib, info); !problem.empty())
        return refuse(problem);
    if (const auto* first = find(info->name)) {
        m_warnings.push_back("plugin '" + std::string(info->name) + "' in " + file.string() +
                             " ignored: already loaded from " + first->path.string());
        return; // the library stays loaded until the registry dies, like the others
    }
    m_plugins.push_back({info->name, info->version ? info->version : "",
                         info->summary ? info->summary : "", info->kind, file, info});
    m_libraries.push_back(std::move(lib));
}

const loaded_plugin* registry::find(const std::string& name) const {
    for (const auto& p : m_plugins)
        if (p.name == name)
            return &p;
    return nullptr;
}

std::vector<std::string> registry::names(plugin_kind kind) const {
    std::vector<std::string> out;
    for (const auto& p : m_plugins)
        if (p.kind == kind)
            out.push_back(p.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::unique_ptr<plugin_object> registry::create(const std::string& name, plugin_kind kind) const {
    const auto* p = find(name);
    if (!p || p->kind != kind) {
        std::string list;
        for (const auto& n : names(kind))
            list += (list.empty() ? "" : ", ") + n;
        std::string what = std::string("unknown ") + to_string(kind) + " plugin \"" + name + "\"";
        if (p)
            what += " (it is a " + std::string(to_string(p->kind)) + " plugin)";
        throw error(diagnostic{"", "plugin", what,
                               "one of: " + (list.empty() ? "(none found)" : list), 0, 0});
    }
    return std::unique_ptr<plugin_object>(p->info->create());
}

namespace {
template <class T> std::unique_ptr<T> downcast(std::unique_ptr<plugin_object> obj) {
    return std::unique_ptr<T>(static_cast<T*>(obj.release())); // kind checked at load
}
} // namespace

std::unique_ptr<dataset> registry::create_dataset(const std::string& name) const {
    return downcast<dataset>(create(name, plugin_kind::dataset));
}
std::unique_ptr<model> registry::create_model(const std::string& name) const {
    return downcast<model>(create(name, plugin_kind::model));
}
std::unique_ptr<analysis> registry::create_analysis(const std::string& name) const {
    return downcast<analysis>(create(name, plugin_kind::analysis));
}

} // namespace grokkit
