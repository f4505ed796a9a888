// Where chess_moves' games come from: a user's PGN, filtered, or weakened Stockfish playing
// itself, generated once into a cache.
// SPDX-License-Identifier: Apache-2.0
#include "chess_moves.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/uci_engine.hpp>
#include <grokkit/error.hpp>
#include <grokkit/hash.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace chess_moves {

namespace gc = grokkit::chess;

namespace {

std::optional<std::int64_t> rating(const gc::pgn_game& g, const char* tag) {
    const std::string* v = g.tag(tag);
    if (!v || v->empty())
        return std::nullopt;
    char* end = nullptr;
    const long long r = std::strtoll(v->c_str(), &end, 10);
    return *end == '\0' ? std::optional<std::int64_t>(r) : std::nullopt;
}

/// Whether a readable game passes the rating and time-control filters. Bounds other than the
/// defaults need both Elo tags.
bool passes(const params& p, const gc::pgn_game& g) {
    const bool rated = p.min_rating > 0 || p.max_rating < 4000;
    if (rated) {
        const auto white = rating(g, "WhiteElo"), black = rating(g, "BlackElo");
        if (!white || !black)
            return false;
        for (const std::int64_t r : {*white, *black})
            if (r < p.min_rating || r > p.max_rating)
                return false;
    }
    if (!p.time_controls.empty()) {
        const std::string* tc = g.tag("TimeControl");
        if (!tc ||
            std::find(p.time_controls.begin(), p.time_controls.end(), *tc) == p.time_controls.end())
            return false;
    }
    return !g.moves.empty();
}

std::string setting_name(std::int64_t skill, std::int64_t nodes) {
    return "Stockfish skill " + std::to_string(skill) + " nodes " + std::to_string(nodes);
}

/// One self-play game: random opening plies from the seed, then each side's weakened engine.
/// ExpertAgreement records, per ply after the opening, whether the mover's setting asked again
/// chose the same move (1/0), for the consistency baseline; '-' for the random opening plies.
std::string play_game(const params& p, std::size_t g, gc::uci_engine& white,
                      gc::uci_engine& black) {
    const std::size_t k = p.skill_levels.size();
    const std::int64_t skills[2] = {p.skill_levels[g % k], p.skill_levels[(g / k) % k]};
    white.set_option("Skill Level", std::to_string(skills[0]));
    black.set_option("Skill Level", std::to_string(skills[1]));
    white.new_game();
    black.new_game();
    gc::search_limits limits;
    limits.nodes = static_cast<std::uint64_t>(p.nodes);
    limits.timeout = std::chrono::seconds(30);
    gc::game played;
    grokkit::rng opening(static_cast<std::uint64_t>(p.games_seed), "opening", g);
    std::string agreement;
    while (played.status() == gc::outcome::ongoing &&
           std::int64_t(played.moves().size()) < p.max_plies) {
        const gc::position& now = played.current();
        if (std::int64_t(played.moves().size()) < p.opening_plies) {
            const gc::move_list legal = gc::legal_moves(now);
            played.play(legal[opening.below(legal.size())]);
            agreement += '-';
            continue;
        }
        gc::uci_engine& mover = now.side_to_move() == gc::white ? white : black;
        const gc::move chosen = mover.go(played.start(), played.moves(), limits).best;
        const gc::move again = mover.go(played.start(), played.moves(), limits).best;
        agreement += chosen == again ? '1' : '0';
        played.play(chosen);
    }
    const bool capped = played.status() == gc::outcome::ongoing;
    const std::string result = capped ? "1/2-1/2" : played.result();
    return gc::write_pgn({{"Event", "grokkit chess_moves self-play"},
                          {"Site", white.name()},
                          {"Round", std::to_string(g + 1)},
                          {"White", setting_name(skills[0], p.nodes)},
                          {"Black", setting_name(skills[1], p.nodes)},
                          {"WhiteSkill", std::to_string(skills[0])},
                          {"BlackSkill", std::to_string(skills[1])},
                          {"Nodes", std::to_string(p.nodes)},
                          {"Termination", capped ? "ply cap (counted as a draw)"
                                                 : gc::outcome_name(played.status())},
                          {"ExpertAgreement", agreement}},
                         played.start(), played.moves(), result);
}

} // namespace

std::string cache_path(const params& p) {
    // Every setting that shapes the games.
    std::string key = "v1";
    for (const std::int64_t v : {p.n_games, p.nodes, p.opening_plies, p.max_plies, p.games_seed}) {
        key += ' ';
        key += std::to_string(v);
    }
    key += " skills";
    for (const auto s : p.skill_levels) {
        key += ' ';
        key += std::to_string(s);
    }
    std::string dir = p.cache_dir;
    if (dir.empty()) {
        const char* xdg = std::getenv("XDG_CACHE_HOME");
        const char* home = std::getenv("HOME");
        dir = xdg && *xdg ? std::string(xdg) + "/grokkit/chess"
              : home      ? std::string(home) + "/.cache/grokkit/chess"
                          : std::string("/tmp/grokkit-chess");
    }
    return dir + "/stockfish-" + grokkit::sha256_hex(key).substr(0, 16) + ".pgn";
}

void generate_games(const params& p, const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::size_t n = static_cast<std::size_t>(p.n_games);
    std::vector<std::string> texts(n);
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex failure_lock;
    std::string failure;
    auto worker = [&] {
        try {
            gc::uci_engine white, black;
            for (gc::uci_engine* e : {&white, &black}) {
                e->set_option("Threads", "1");
                e->set_option("Hash", "16");
            }
            for (std::size_t g; (g = next++) < n;) {
                for (int attempt = 0;; ++attempt) {
                    try {
                        texts[g] = play_game(p, g, white, black);
                        break;
                    } catch (const gc::engine_failure& e) {
                        if (attempt == 2)
                            throw; // a third crash of the same game: give up
                        std::fprintf(stderr, "chess_moves: game %zu: %s; playing it again\n", g + 1,
                                     e.what());
                    }
                }
                const std::size_t finished = ++done;
                if (finished % std::max<std::size_t>(1, n / 10) == 0 || finished == n)
                    std::fprintf(stderr, "chess_moves: %zu/%zu games generated\n", finished, n);
            }
        } catch (const std::exception& e) {
            const std::lock_guard<std::mutex> hold(failure_lock);
            failure = e.what();
            next = n;
        }
    };
    std::vector<std::thread> threads;
    for (std::int64_t w = 0; w < std::max<std::int64_t>(1, p.workers); ++w)
        threads.emplace_back(worker);
    for (auto& t : threads)
        t.join();
    if (!failure.empty())
        throw grokkit::error("chess_moves.generate",
                             "generating games with Stockfish failed: " + failure);
    const std::string partial = path + ".part";
    {
        std::ofstream out(partial, std::ios::binary);
        for (const auto& t : texts)
            out << t;
        if (!out)
            throw grokkit::error(partial, "cannot write the generated games");
    }
    std::filesystem::rename(partial, path);
}

game_collection load_games(const params& p) {
    game_collection c;
    if (p.source == "pgn") {
        c.path = p.pgn;
    } else {
        c.path = cache_path(p);
        if (!std::filesystem::exists(c.path)) {
            std::fprintf(stderr, "chess_moves: generating %lld games into %s\n",
                         static_cast<long long>(p.n_games), c.path.c_str());
            generate_games(p, c.path);
        }
    }
    c.sha256 = grokkit::sha256_of_file(c.path);
    gc::pgn_reader reader(c.path);
    gc::pgn_game g;
    while (reader.next(g)) {
        if (g.problem) {
            ++c.skipped_unreadable;
            continue;
        }
        if (!passes(p, g)) {
            ++c.filtered_out;
            continue;
        }
        c.games.push_back(g);
        if (p.source == "pgn" && p.max_games > 0 && std::int64_t(c.games.size()) >= p.max_games)
            break;
    }
    if (c.games.empty())
        throw grokkit::error("chess_moves.generate",
                             "no game of " + c.path + " passes the filters (" +
                                 std::to_string(c.skipped_unreadable) + " unreadable, " +
                                 std::to_string(c.filtered_out) + " filtered out)",
                             "at least one readable game within the rating and time filters");
    return c;
}

} // namespace chess_moves
