// A UCI engine (Stockfish) in a child process: handshake, options, searches with timeouts,
// and recovery from an engine that crashes or hangs.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/position.hpp>
#include <grokkit/error.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace grokkit::chess {

/// Debian's Stockfish 15.1.
inline constexpr const char* stockfish_path = "/usr/games/stockfish";

/// An option the engine advertised: "option name Skill Level type spin default 20 min 0 max 20".
struct uci_option {
    std::string name;
    std::string type; ///< check, spin, combo, button or string
    std::string default_value;
    std::int64_t min = 0, max = 0;    ///< spin only
    std::vector<std::string> choices; ///< combo only
};

/// What bounds one search: at least one of movetime, nodes and depth, and how long to wait for
/// the answer before the engine counts as hung.
struct search_limits {
    std::optional<int> movetime_ms;
    std::optional<std::uint64_t> nodes;
    std::optional<int> depth;
    /// Beyond movetime (if any); a search not answered by then is stopped, and an engine that
    /// does not stop within a second more is killed and restarted.
    std::chrono::milliseconds timeout{10000};
};

struct search_result {
    move best;                   ///< none when the position has no legal move
    int depth = 0;               ///< of the last info line
    std::optional<int> score_cp; ///< centipawns for the side to move
    std::optional<int> mate_in;  ///< moves to mate (negative: being mated)
    std::uint64_t nodes = 0;
};

/// The engine crashed, hung or answered nonsense during a request. It has been restarted
/// (with its options set again) before this is thrown, so the caller can go on; the request
/// itself, a game's move for example, did not happen.
class GROKKIT_VISIBLE engine_failure : public error {
  public:
    using error::error;
    ~engine_failure() override;
};

/// One engine process. Each instance is its own process, so several search in parallel (one
/// per thread). Not thread-safe itself.
class uci_engine {
  public:
    /// Starts `path` and completes the uci/isready handshake; throws grokkit::error when the
    /// program cannot be started or does not answer within `startup_timeout`.
    explicit uci_engine(std::string path = stockfish_path,
                        std::chrono::milliseconds startup_timeout = std::chrono::seconds(10));
    ~uci_engine();
    uci_engine(const uci_engine&) = delete;
    uci_engine& operator=(const uci_engine&) = delete;

    /// "Stockfish 15.1", from "id name".
    const std::string& name() const { return m_name; }
    const std::vector<uci_option>& options() const { return m_options; }
    /// Sets an advertised option (kept, and set again after a restart). Throws grokkit::error
    /// for an unknown option (listing the known ones) or a value out of its range or choices:
    /// Stockfish 15.1's `UCI_Elo` is 1350 to 2850, so it cannot play as a 1000-rated player.
    void set_option(const std::string& name, const std::string& value);
    /// ucinewgame, then isready.
    void new_game();

    /// Searches the position reached from `start` by `moves` within `limits`. `on_info`, if
    /// given, sees every line the engine prints while it searches. Throws engine_failure
    /// (after restarting) if the engine dies, hangs or names an illegal move.
    search_result go(const position& start, const std::vector<move>& moves,
                     const search_limits& limits,
                     const std::function<void(const std::string&)>& on_info = {});

    /// The engine's process id (a test kills it with this).
    pid_t pid() const { return m_pid; }
    /// How often the engine had to be restarted, and why the last time.
    int restarts() const { return m_restarts; }
    const std::string& last_failure() const { return m_last_failure; }

  private:
    void start();
    void stop_process();
    void send(const std::string& line);
    /// The next line, or nullopt when `deadline` passes; throws engine_failure at EOF.
    std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);
    std::string wait_for(const std::string& prefix, std::chrono::milliseconds timeout,
                         const std::function<void(const std::string&)>& on_line = {});
    [[noreturn]] void fail_and_restart(const std::string& what);

    std::string m_path;
    std::chrono::milliseconds m_startup_timeout;
    pid_t m_pid = -1;
    int m_fd = -1;
    std::string m_buffer;
    std::string m_name;
    std::vector<uci_option> m_options;
    std::vector<std::pair<std::string, std::string>> m_set; ///< options set, in order
    int m_restarts = 0;
    std::string m_last_failure;
};

} // namespace grokkit::chess
