// chess_moves as an environment: the model plays whole games against weakened Stockfish, and the
// settings that generated the training games play the same games in its place (the experts).
// SPDX-License-Identifier: Apache-2.0
#include "chess_moves.hpp"
#include "encoding.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/chess/game.hpp>
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/uci_engine.hpp>
#include <grokkit/error.hpp>
#include <grokkit/hash.hpp>
#include <grokkit/rating.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace chess_moves {

namespace gc = grokkit::chess;

namespace {

std::string opponent_name(std::int64_t skill, const params& p) {
    std::string name = "Stockfish skill ";
    name += std::to_string(skill);
    if (p.eval_movetime_ms > 0) {
        name += ", ";
        name += std::to_string(p.eval_movetime_ms);
        name += " ms";
    } else {
        name += ", ";
        name += std::to_string(p.eval_nodes);
        name += " nodes";
    }
    return name;
}

// A weakened Stockfish with one thread, at a skill level.
void configure(gc::uci_engine& e, std::int64_t skill) {
    e.set_option("Threads", "1");
    e.set_option("Hash", "16");
    e.set_option("Skill Level", std::to_string(skill));
    e.new_game();
}

// The position as the model reads it: its encoding, and the legal moves as the mask.
struct encoded_position {
    std::vector<std::int32_t> tokens;
    std::vector<float> features;
    std::vector<std::int32_t> legal; ///< classes, sorted
    std::vector<gc::move> moves;     ///< the legal move of each class in `legal`
    std::int64_t offsets[2] = {0, 0};
    std::string fen;

    encoded_position(const params& p, const move_vocabulary& vocab, const gc::position& pos) {
        if (p.encoding == "tokens") {
            tokens.resize(n_position_tokens);
            encode_tokens(pos, tokens.data());
        } else {
            features.resize(n_plane_features);
            encode_planes(pos, features.data());
        }
        std::vector<std::pair<std::int32_t, gc::move>> pairs;
        for (const gc::move m : gc::legal_moves(pos))
            pairs.emplace_back(vocab.index(m), m);
        std::sort(pairs.begin(), pairs.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [c, m] : pairs) {
            legal.push_back(c);
            moves.push_back(m);
        }
        offsets[1] = static_cast<std::int64_t>(legal.size());
        fen = pos.fen();
    }

    grokkit::observation view() const {
        grokkit::observation o;
        o.example.tokens = tokens.empty() ? nullptr : tokens.data();
        o.example.features = features.empty() ? nullptr : features.data();
        o.example.mask = {offsets, legal.data()};
        o.example.n = 1;
        o.text = fen;
        return o;
    }

    // The legal move of class `action`; an action outside the mask is the actor's error.
    gc::move move_of(std::int32_t action) const {
        const auto it = std::lower_bound(legal.begin(), legal.end(), action);
        if (it == legal.end() || *it != action)
            throw grokkit::error("chess_moves.play", "move class " + std::to_string(action),
                                 "one of the position's legal moves (the mask)");
        return moves[static_cast<std::size_t>(it - legal.begin())];
    }
};

} // namespace

double model_score(const std::string& result, bool model_white) {
    if (result == "1-0")
        return model_white ? 1.0 : 0.0;
    if (result == "0-1")
        return model_white ? 0.0 : 1.0;
    return 0.5;
}

std::size_t dataset_impl::episode_count(const grokkit::dataset_split&) const {
    return static_cast<std::size_t>(m_params.eval_games) * m_params.opponents.size();
}

std::size_t dataset_impl::episode_opponent(const grokkit::dataset_split&, std::size_t index) const {
    return index / static_cast<std::size_t>(m_params.eval_games);
}

std::vector<grokkit::rated_opponent>
dataset_impl::opponents(const grokkit::dataset_split& data) const {
    std::vector<double> ratings = m_params.opponent_ratings;
    if (ratings.empty()) // calibrated when the data was prepared
        for (const auto& r : data.records)
            if (r.name == "opponent_rating")
                ratings.assign(r.values.begin(), r.values.end());
    if (ratings.size() != m_params.opponents.size())
        throw grokkit::error("chess_moves.opponents", "no rating for the opponents",
                             "opponent_ratings, or a split generated with opponent_ratings = []");
    std::vector<grokkit::rated_opponent> out;
    for (std::size_t o = 0; o < m_params.opponents.size(); ++o)
        out.push_back({opponent_name(m_params.opponents[o], m_params), ratings[o], 0.0});
    return out;
}

grokkit::episode_result dataset_impl::play(const grokkit::dataset_split& data, std::size_t index,
                                           grokkit::actor& player, std::uint64_t) const {
    const params& p = m_params;
    const std::size_t o = episode_opponent(data, index);
    const bool model_white = (index % static_cast<std::size_t>(p.eval_games)) % 2 == 0;
    const move_vocabulary vocab;
    gc::search_limits limits;
    if (p.eval_movetime_ms > 0)
        limits.movetime_ms = static_cast<int>(p.eval_movetime_ms);
    else
        limits.nodes = static_cast<std::uint64_t>(p.eval_nodes);
    limits.timeout = std::chrono::seconds(30);
    gc::game played;
    grokkit::episode_result r;
    std::string termination;
    try {
        gc::uci_engine engine;
        configure(engine, p.opponents[o]);
        while (played.status() == gc::outcome::ongoing &&
               static_cast<std::int64_t>(played.moves().size()) < p.eval_max_plies) {
            const bool models_turn = (played.current().side_to_move() == gc::white) == model_white;
            if (models_turn) {
                const encoded_position now(p, vocab, played.current());
                played.play(now.move_of(player.act(now.view())));
            } else {
                played.play(engine.go(played.start(), played.moves(), limits).best);
            }
        }
        termination = played.status() == gc::outcome::ongoing ? "ply cap (counted as a draw)"
                                                              : gc::outcome_name(played.status());
    } catch (const gc::engine_failure& e) {
        // The engine died or hung: the game is recorded, never scored.
        r.aborted = true;
        termination = std::string("aborted: ") + e.what();
    }
    const std::string result = r.aborted                                 ? "*"
                               : played.status() == gc::outcome::ongoing ? "1/2-1/2"
                                                                         : played.result();
    r.reward = r.aborted ? 0.0 : model_score(result, model_white);
    const std::string opponent = opponent_name(p.opponents[o], p);
    r.record = gc::write_pgn({{"Event", "grokkit low_temperature"},
                              {"Round", std::to_string(index + 1)},
                              {"White", model_white ? player.name() : opponent},
                              {"Black", model_white ? opponent : player.name()},
                              {"Result", result},
                              {"Termination", termination}},
                             played.start(), played.moves(), result);
    return r;
}

std::vector<std::string> dataset_impl::expert_names(const grokkit::dataset_split&) const {
    std::vector<std::string> names;
    if (m_params.source != "stockfish")
        return names; // a user's PGN: the players are unknown
    for (const auto skill : m_params.skill_levels)
        names.push_back("Stockfish skill " + std::to_string(skill) + ", " +
                        std::to_string(m_params.nodes) + " nodes (in the data)");
    return names;
}

namespace {

// A setting that generated the training games, choosing its move from the position's FEN.
class engine_expert final : public grokkit::actor {
  public:
    engine_expert(std::int64_t skill, std::int64_t nodes, std::string name)
        : m_name(std::move(name)) {
        configure(m_engine, skill);
        m_limits.nodes = static_cast<std::uint64_t>(nodes);
        m_limits.timeout = std::chrono::seconds(30);
    }
    std::int32_t act(const grokkit::observation& o) override {
        follow(gc::position::from_fen(o.text));
        // With the game's moves, as the data was generated: the engine sees repetitions.
        const gc::move m = m_engine.go(m_game.start(), m_game.moves(), m_limits).best;
        m_game.play(m);
        return m_vocab.index(m);
    }
    std::string name() const override { return m_name; }

  private:
    // Brings the game it keeps to `pos`: the opponent's move since its own, found among the
    // legal moves; a position not reached so (a new game) starts a game from it.
    void follow(const gc::position& pos) {
        const std::string fen = pos.fen();
        if (m_game.current().fen() == fen)
            return;
        for (const gc::move m : gc::legal_moves(m_game.current())) {
            m_game.play(m);
            if (m_game.current().fen() == fen)
                return;
            m_game.take_back();
        }
        m_game = gc::game(pos);
    }

    gc::game m_game;
    gc::uci_engine m_engine;
    gc::search_limits m_limits;
    move_vocabulary m_vocab;
    std::string m_name;
};

} // namespace

std::unique_ptr<grokkit::actor> dataset_impl::expert(const grokkit::dataset_split& data,
                                                     std::size_t k, std::uint64_t) const {
    const auto names = expert_names(data);
    if (k >= names.size())
        throw grokkit::error("chess_moves.expert", "expert " + std::to_string(k),
                             "one of the " + std::to_string(names.size()) +
                                 " settings that generated the games");
    return std::make_unique<engine_expert>(m_params.skill_levels[k], m_params.nodes, names[k]);
}

namespace {

gc::search_limits eval_limits(const params& p) {
    gc::search_limits limits;
    if (p.eval_movetime_ms > 0)
        limits.movetime_ms = static_cast<int>(p.eval_movetime_ms);
    else
        limits.nodes = static_cast<std::uint64_t>(p.eval_nodes);
    limits.timeout = std::chrono::seconds(30);
    return limits;
}

// One game of engine `a` against `b`, `a` White or not: a's score, or nothing when an engine
// died (such a game is left out, never scored).
std::optional<double> engine_game(gc::uci_engine& a, gc::uci_engine& b, bool a_white,
                                  const params& p) {
    const gc::search_limits limits = eval_limits(p);
    gc::game played;
    try {
        while (played.status() == gc::outcome::ongoing &&
               static_cast<std::int64_t>(played.moves().size()) < p.eval_max_plies) {
            const bool a_moves = (played.current().side_to_move() == gc::white) == a_white;
            gc::uci_engine& mover = a_moves ? a : b;
            played.play(mover.go(played.start(), played.moves(), limits).best);
        }
    } catch (const gc::engine_failure&) {
        return std::nullopt;
    }
    return played.status() == gc::outcome::ongoing ? 0.5 : model_score(played.result(), a_white);
}

} // namespace

std::string calibration_path(const params& p) {
    std::string key = "calibration v1";
    for (const std::int64_t v :
         {p.eval_nodes, p.eval_movetime_ms, p.eval_max_plies, p.calibration_games}) {
        key += ' ';
        key += std::to_string(v);
    }
    for (const auto* list : {&p.opponents, &p.calibration_anchors}) {
        key += " |";
        for (const auto v : *list) {
            key += ' ';
            key += std::to_string(v);
        }
    }
    const std::filesystem::path games = cache_path(p);
    return (games.parent_path() /
            ("calibration-" + grokkit::sha256_hex(key).substr(0, 16) + ".txt"))
        .string();
}

std::vector<calibrated_rating> calibrate_opponents(const params& p) {
    const std::string path = calibration_path(p);
    const std::size_t n_o = p.opponents.size(), n_a = p.calibration_anchors.size();
    std::vector<calibrated_rating> out(n_o);
    {
        std::ifstream cached(path);
        std::size_t read = 0;
        // Read as text: a bound may be inf (an opponent that won every game), which >> rejects.
        try {
            for (std::string r, lo, hi, games; read < n_o && cached >> r >> lo >> hi >> games;
                 ++read)
                out[read] = {std::stod(r), std::stod(lo), std::stod(hi), std::stoll(games)};
        } catch (const std::exception&) {
            read = 0; // a damaged cache: calibrate again
        }
        if (read == n_o)
            return out;
    }
    const std::size_t per = static_cast<std::size_t>(p.calibration_games), total = n_o * n_a * per;
    std::fprintf(stderr,
                 "chess_moves: calibrating %zu opponents against %zu UCI_Elo anchors "
                 "(%zu games) into %s\n",
                 n_o, n_a, total, path.c_str());
    std::vector<double> score(total, std::nan(""));
    std::vector<std::size_t> jobs(total);
    for (std::size_t j = 0; j < total; ++j)
        jobs[j] = j;
    std::size_t done = 0;
    // Any other error (no Stockfish, a setting it refuses) stops the calibration and is rethrown.
    grokkit::run_items(
        static_cast<std::size_t>(std::max<std::int64_t>(1, p.workers)), jobs,
        [&](std::size_t, std::size_t job) {
            const std::size_t o = job / (n_a * per), a = job / per % n_a;
            gc::uci_engine opponent, anchor;
            configure(opponent, p.opponents[o]);
            anchor.set_option("Threads", "1");
            anchor.set_option("Hash", "16");
            anchor.set_option("UCI_LimitStrength", "true");
            anchor.set_option("UCI_Elo", std::to_string(p.calibration_anchors[a]));
            anchor.new_game();
            // Colours alternate within each opponent-anchor block (calibration_games is even).
            const auto s = engine_game(opponent, anchor, (job % per) % 2 == 0, p);
            return std::vector<double>{s ? *s : std::nan("")}; // NaN: an engine died
        },
        [&](std::size_t job, const std::vector<double>& v) {
            score[job] = v.at(0);
            if (++done % std::max<std::size_t>(1, total / 10) == 0)
                std::fprintf(stderr, "chess_moves: %zu/%zu calibration games\n", done, total);
        });
    for (std::size_t o = 0; o < n_o; ++o) {
        std::vector<grokkit::elo_game> games;
        for (std::size_t j = o * n_a * per; j < (o + 1) * n_a * per; ++j)
            if (!std::isnan(score[j]))
                games.push_back(
                    {static_cast<double>(p.calibration_anchors[j / per % n_a]), score[j]});
        if (games.empty())
            throw grokkit::error("chess_moves.generate",
                                 "no calibration game of opponent " + std::to_string(o) +
                                     " finished",
                                 "a working Stockfish");
        const grokkit::elo_estimate e = grokkit::elo_from_games(games);
        if (!std::isfinite(e.rating))
            throw grokkit::error(grokkit::diagnostic{
                "chess_moves.generate", "calibration_anchors",
                "opponent Skill Level " + std::to_string(p.opponents[o]) +
                    (e.rating > 0 ? " won" : " lost") + " every calibration game: no finite rating",
                "anchors that bracket every opponent, or more calibration_games", 0, 0});
        out[o] = {e.rating, e.lower, e.upper, static_cast<std::int64_t>(games.size())};
    }
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string partial = path + ".part." + std::to_string(::getpid()); // runs may share it
    {
        std::ofstream file(partial);
        file.precision(17);
        for (const auto& c : out)
            file << c.rating << ' ' << c.lower << ' ' << c.upper << ' ' << c.games << '\n';
        if (!file)
            throw grokkit::error(path, "cannot write the calibration");
    }
    std::filesystem::rename(partial, path);
    return out;
}

} // namespace chess_moves
