// uci_engine: a child process on a socket pair (so writing to a dead engine is an error, not
// SIGPIPE), lines read with poll() against deadlines, restart on failure.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/uci_engine.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>

namespace grokkit::chess {

engine_failure::~engine_failure() = default;

namespace {

using clock = std::chrono::steady_clock;

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

/// "option name Skill Level type spin default 20 min 0 max 20 [var ...]".
uci_option parse_option(const std::string& line) {
    static const std::vector<std::string> keys = {"name", "type", "default", "min", "max", "var"};
    uci_option o;
    std::string key, value;
    auto flush = [&] {
        if (key == "name")
            o.name = value;
        else if (key == "type")
            o.type = value;
        else if (key == "default")
            o.default_value = value;
        else if (key == "min")
            o.min = std::strtoll(value.c_str(), nullptr, 10);
        else if (key == "max")
            o.max = std::strtoll(value.c_str(), nullptr, 10);
        else if (key == "var")
            o.choices.push_back(value);
        value.clear();
    };
    const auto w = words(line);
    for (std::size_t i = 1; i < w.size(); ++i) {
        if (std::find(keys.begin(), keys.end(), w[i]) != keys.end()) {
            flush();
            key = w[i];
        } else {
            if (!value.empty())
                value += ' ';
            value += w[i];
        }
    }
    flush();
    return o;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string exit_text(int status) {
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "ended";
}

} // namespace

uci_engine::uci_engine(std::string path, std::chrono::milliseconds startup_timeout)
    : m_path(std::move(path)), m_startup_timeout(startup_timeout) {
    start();
}

uci_engine::~uci_engine() {
    stop_process();
}

void uci_engine::start() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
        throw error(m_path, std::string("cannot start: socketpair: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(ends[0]);
        ::close(ends[1]);
        throw error(m_path, std::string("cannot start: fork: ") + std::strerror(errno));
    }
    if (pid == 0) { // the child: only async-signal-safe calls until exec
        ::dup2(ends[1], 0);
        ::dup2(ends[1], 1);
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0)
            ::dup2(null, 2);
        ::execl(m_path.c_str(), m_path.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(ends[1]);
    m_pid = pid;
    m_fd = ends[0];
    m_buffer.clear();
    m_options.clear();
    try {
        send("uci");
        wait_for("uciok", m_startup_timeout, [this](const std::string& line) {
            if (line.rfind("id name ", 0) == 0)
                m_name = line.substr(8);
            else if (line.rfind("option ", 0) == 0)
                m_options.push_back(parse_option(line));
        });
        for (const auto& [name, value] : m_set)
            send("setoption name " + name + (value.empty() ? "" : " value " + value));
        send("isready");
        wait_for("readyok", m_startup_timeout);
    } catch (const error& e) {
        stop_process();
        throw error(m_path, std::string("cannot start a UCI engine: ") + e.what());
    }
}

void uci_engine::stop_process() {
    if (m_pid <= 0)
        return;
    // Ask politely, give it a second to exit, then kill.
    (void)::send(m_fd, "quit\n", 5, MSG_NOSIGNAL);
    int status = 0;
    const auto deadline = clock::now() + std::chrono::seconds(1);
    while (::waitpid(m_pid, &status, WNOHANG) == 0) {
        if (clock::now() > deadline) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, &status, 0);
            break;
        }
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0) { // drain, so the engine is never blocked writing
            char sink[4096];
            (void)::read(m_fd, sink, sizeof sink);
        }
    }
    ::close(m_fd);
    m_fd = -1;
    m_pid = -1;
}

void uci_engine::send(const std::string& line) {
    const std::string text = line + '\n';
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::send(m_fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw error(m_path,
                        "the engine stopped reading (" + std::string(std::strerror(errno)) + ")");
        done += std::size_t(n);
    }
}

std::optional<std::string> uci_engine::read_line(clock::time_point deadline) {
    for (;;) {
        if (const auto eol = m_buffer.find('\n'); eol != std::string::npos) {
            std::string line = m_buffer.substr(0, eol);
            m_buffer.erase(0, eol + 1);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            return line;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        if (left <= 0)
            return std::nullopt;
        pollfd p{m_fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, int(std::min<long long>(left, 1 << 30)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return std::nullopt;
        char chunk[4096];
        const ssize_t n = ::read(m_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw error(m_path, "the engine closed its output");
        m_buffer.append(chunk, std::size_t(n));
    }
}

std::string uci_engine::wait_for(const std::string& prefix, std::chrono::milliseconds timeout,
                                 const std::function<void(const std::string&)>& on_line) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        const auto line = read_line(deadline);
        if (!line)
            throw error(m_path,
                        "no \"" + prefix + "\" within " + std::to_string(timeout.count()) + " ms");
        if (line->rfind(prefix, 0) == 0)
            return *line;
        if (on_line)
            on_line(*line);
    }
}

void uci_engine::fail_and_restart(const std::string& what) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == 0) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &status, 0);
    }
    m_last_failure =
        (m_name.empty() ? m_path : m_name) + " " + what + " (" + exit_text(status) + ")";
    ::close(m_fd);
    m_fd = -1;
    m_pid = -1;
    ++m_restarts;
    try {
        start();
    } catch (const error& e) {
        throw engine_failure(m_path, m_last_failure + "; restarting it failed: " + e.what());
    }
    throw engine_failure(m_path, m_last_failure + "; restarted");
}

void uci_engine::set_option(const std::string& name, const std::string& value) {
    const auto it = std::find_if(m_options.begin(), m_options.end(),
                                 [&](const uci_option& o) { return lower(o.name) == lower(name); });
    if (it == m_options.end()) {
        std::vector<std::string> known;
        for (const auto& o : m_options)
            known.push_back(o.name);
        throw error(m_name + " option \"" + name + "\"", "unknown", "one of: " + join(known, ", "));
    }
    const std::string where = m_name + " option \"" + it->name + "\"";
    if (it->type == "spin") {
        char* end = nullptr;
        const long long v = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || v < it->min || v > it->max)
            throw error(where, "\"" + value + "\"",
                        "an integer in [" + std::to_string(it->min) + ", " +
                            std::to_string(it->max) + "]");
    } else if (it->type == "check" && value != "true" && value != "false") {
        throw error(where, "\"" + value + "\"", "true or false");
    } else if (it->type == "combo" &&
               std::find(it->choices.begin(), it->choices.end(), value) == it->choices.end()) {
        throw error(where, "\"" + value + "\"", "one of: " + join(it->choices, ", "));
    } else if (it->type == "button" && !value.empty()) {
        throw error(where, "a value for a button", "no value");
    }
    send("setoption name " + it->name + (value.empty() ? "" : " value " + value));
    const auto kept = std::find_if(m_set.begin(), m_set.end(),
                                   [&](const auto& p) { return p.first == it->name; });
    if (kept != m_set.end())
        kept->second = value;
    else
        m_set.emplace_back(it->name, value);
    send("isready");
    try {
        wait_for("readyok", m_startup_timeout);
    } catch (const error& e) {
        fail_and_restart(std::string("did not confirm option ") + it->name + ": " + e.what());
    }
}

void uci_engine::new_game() {
    send("ucinewgame");
    send("isready");
    try {
        wait_for("readyok", m_startup_timeout);
    } catch (const error& e) {
        fail_and_restart(std::string("did not get ready for a new game: ") + e.what());
    }
}

search_result uci_engine::go(const position& start, const std::vector<move>& moves,
                             const search_limits& limits,
                             const std::function<void(const std::string&)>& on_info) {
    if (!limits.movetime_ms && !limits.nodes && !limits.depth)
        throw error("search limits", "none given", "movetime, nodes or depth");
    position current = start;
    std::string command = "position fen " + start.fen();
    if (!moves.empty())
        command += " moves";
    for (const move m : moves) {
        command += ' ' + to_uci(m);
        (void)current.make(m);
    }
    std::string go = "go";
    if (limits.movetime_ms)
        go += " movetime " + std::to_string(*limits.movetime_ms);
    if (limits.nodes)
        go += " nodes " + std::to_string(*limits.nodes);
    if (limits.depth)
        go += " depth " + std::to_string(*limits.depth);

    search_result result;
    try {
        send(command);
        send(go);
    } catch (const error& e) {
        fail_and_restart(std::string("could not be sent a search: ") + e.what());
    }
    const auto deadline =
        clock::now() + std::chrono::milliseconds(limits.movetime_ms.value_or(0)) + limits.timeout;
    for (;;) {
        std::optional<std::string> line;
        try {
            line = read_line(deadline);
        } catch (const error&) {
            fail_and_restart("died during a search");
        }
        if (!line)
            fail_and_restart(
                "did not answer a search within " +
                std::to_string(limits.movetime_ms.value_or(0) + limits.timeout.count()) + " ms");
        const auto w = words(*line);
        if (w.empty())
            continue;
        if (w[0] == "info") {
            for (std::size_t i = 1; i + 1 < w.size(); ++i) {
                if (w[i] == "depth")
                    result.depth = std::atoi(w[i + 1].c_str());
                else if (w[i] == "nodes")
                    result.nodes = std::strtoull(w[i + 1].c_str(), nullptr, 10);
                else if (w[i] == "score" && i + 2 < w.size()) {
                    const int v = std::atoi(w[i + 2].c_str());
                    if (w[i + 1] == "cp") {
                        result.score_cp = v;
                        result.mate_in.reset();
                    } else if (w[i + 1] == "mate") {
                        result.mate_in = v;
                        result.score_cp.reset();
                    }
                }
            }
            if (on_info)
                on_info(*line);
            continue;
        }
        if (w[0] != "bestmove")
            continue;
        if (w.size() < 2 || w[1] == "(none)" || w[1] == "0000")
            return result; // no legal move
        try {
            result.best = parse_uci(current, w[1]);
        } catch (const error& e) {
            fail_and_restart("named an illegal move: " + std::string(e.what()));
        }
        return result;
    }
}

} // namespace grokkit::chess
