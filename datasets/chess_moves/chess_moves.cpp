// chess_moves: parameters, the input spec, and examples split by game.
// SPDX-License-Identifier: Apache-2.0
#include "chess_moves.hpp"
#include "encoding.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/error.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>

namespace chess_moves {

namespace gc = grokkit::chess;

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("source", p.source,
           "stockfish: games of weakened Stockfish playing itself, generated once into a cache; "
           "pgn: the games of the file `pgn`")
        .one_of({"stockfish", "pgn"});
    ps.add("pgn", p.pgn, "source = pgn: a .pgn or .pgn.zst file (a Lichess database file)");
    ps.add("min_rating", p.min_rating, "source = pgn: both players' Elo at least this")
        .at_least(0)
        .at_most(4000);
    ps.add("max_rating", p.max_rating,
           "source = pgn: both players' Elo at most this (transcendence: 1000); bounds other "
           "than 0 and 4000 need both Elo tags")
        .at_least(0)
        .at_most(4000);
    ps.add("time_controls", p.time_controls,
           "source = pgn: keep games whose TimeControl tag is one of these (\"300+0\"); empty "
           "for all");
    ps.add("max_games", p.max_games, "source = pgn: stop after this many games; 0 for all")
        .at_least(0);
    ps.add("n_games", p.n_games, "source = stockfish: games to generate").at_least(2).at_most(1e6);
    ps.add("skill_levels", p.skill_levels,
           "source = stockfish: the Skill Levels that play (every pairing, by game number)")
        .at_least(0)
        .at_most(20);
    ps.add("nodes", p.nodes, "source = stockfish: nodes per move (go nodes), Threads = 1")
        .at_least(1)
        .at_most(1e7);
    ps.add("opening_plies", p.opening_plies,
           "source = stockfish: plies chosen uniformly from the legal moves before the engines "
           "play, from games_seed, so games differ")
        .at_least(0)
        .at_most(40);
    ps.add("max_plies", p.max_plies,
           "source = stockfish: a game reaching this many plies ends "
           "as a draw")
        .at_least(1)
        .at_most(2000);
    ps.add("games_seed", p.games_seed,
           "source = stockfish: seeds the openings (the run seed "
           "seeds the split), so runs can share the games")
        .at_least(0);
    ps.add("workers", p.workers,
           "source = stockfish: games generated at once (two engine "
           "processes each)")
        .at_least(1)
        .at_most(64);
    ps.add("cache_dir", p.cache_dir,
           "source = stockfish: where generated games are kept; empty for "
           "$XDG_CACHE_HOME/grokkit/chess (else ~/.cache/grokkit/chess)");
    ps.add("encoding", p.encoding,
           "tokens: 64 square tokens, side, castling and en passant (67 tokens, vocabulary 40; "
           "for the transformer); planes: 781 dense features (for mlp and linear)")
        .one_of({"tokens", "planes"});
    ps.add("train_fraction", p.train_fraction, "share of games (not positions) to train on")
        .above(0)
        .below(1);
    ps.add("opponents", p.opponents,
           "environment: the Stockfish Skill Levels the model plays against (low_temperature, "
           "evaluation = episodes)")
        .at_least(0)
        .at_most(20)
        .non_empty();
    ps.add("opponent_ratings", p.opponent_ratings,
           "the Elo each opponent is taken to play at, one per opponent (default: Zhang et al.'s "
           "calibration of levels 1, 3, 5 at 0.1 s a move); empty: calibrated by grokkit "
           "against UCI_Elo anchors when the data is prepared, and cached")
        .at_least(0)
        .at_most(4000);
    ps.add("calibration_anchors", p.calibration_anchors,
           "opponent_ratings = []: the UCI_Elo settings of the Stockfish anchors each opponent "
           "plays (Stockfish 15.1 accepts 1350 to 2850)")
        .at_least(1350)
        .at_most(2850)
        .non_empty();
    ps.add("calibration_games", p.calibration_games,
           "opponent_ratings = []: games of each opponent against each anchor, half as White "
           "(even)")
        .at_least(2)
        .at_most(100'000);
    ps.add("eval_games", p.eval_games,
           "games against each opponent, half with the model as White (even)")
        .at_least(2)
        .at_most(100'000);
    ps.add("eval_nodes", p.eval_nodes,
           "nodes per opponent move (go nodes, Threads = 1); the experts search as in the data")
        .at_least(1)
        .at_most(1e8);
    ps.add("eval_movetime_ms", p.eval_movetime_ms,
           "or milliseconds per opponent move instead (0: use eval_nodes); the paper's 100")
        .at_least(0)
        .at_most(600'000);
    ps.add("eval_max_plies", p.eval_max_plies, "a game reaching this many plies ends as a draw")
        .at_least(1)
        .at_most(5000);
    ps.check("eval_games", "an even number (half the games with the model as White)",
             [&p]() -> std::optional<std::string> {
                 if (p.eval_games % 2 != 0)
                     return std::to_string(p.eval_games) + " is odd";
                 return std::nullopt;
             });
    ps.check("calibration_games", "an even number (half as White against each anchor)",
             [&p]() -> std::optional<std::string> {
                 if (p.calibration_games % 2 != 0)
                     return std::to_string(p.calibration_games) + " is odd";
                 return std::nullopt;
             });
    ps.check("opponent_ratings",
             "opponent_ratings for these opponents, or [] to calibrate them (the default ratings "
             "are Zhang et al.'s for levels 1, 3 and 5)",
             [&p]() -> std::optional<std::string> {
                 const params defaults;
                 if (p.opponent_ratings == defaults.opponent_ratings &&
                     p.opponents != defaults.opponents)
                     return "the default ratings of levels 1, 3, 5 for other opponents";
                 return std::nullopt;
             });
    ps.check("opponent_ratings", "one rating per opponent, or none (calibrate)",
             [&p]() -> std::optional<std::string> {
                 if (!p.opponent_ratings.empty() && p.opponent_ratings.size() != p.opponents.size())
                     return std::to_string(p.opponent_ratings.size()) + " ratings for " +
                            std::to_string(p.opponents.size()) + " opponents";
                 return std::nullopt;
             });
    ps.check("pgn", "a file with source = \"pgn\"", [&p]() -> std::optional<std::string> {
        if (p.source == "pgn" && p.pgn.empty())
            return "source = \"pgn\" needs the file";
        return std::nullopt;
    });
    ps.check("max_rating", "min_rating <= max_rating", [&p]() -> std::optional<std::string> {
        if (p.min_rating > p.max_rating)
            return "min_rating " + std::to_string(p.min_rating) + " > max_rating " +
                   std::to_string(p.max_rating);
        return std::nullopt;
    });
    ps.check("skill_levels", "at least one skill level", [&p]() -> std::optional<std::string> {
        if (p.source == "stockfish" && p.skill_levels.empty())
            return "no skill level";
        return std::nullopt;
    });
}

grokkit::input_spec dataset_impl::spec() const {
    grokkit::input_spec s;
    if (m_params.encoding == "tokens") {
        s.n_tokens = n_position_tokens;
        s.vocab_size = position_vocabulary;
        s.token_names = token_names();
    } else {
        s.n_features = n_plane_features;
    }
    s.n_classes = move_vocabulary().size();
    return s;
}

namespace {

/// Examples of some games, with per-example records.
struct examples_of {
    std::vector<std::int32_t> tokens;
    std::vector<float> features;
    std::vector<std::int32_t> labels;
    grokkit::class_mask mask;
    std::vector<std::int64_t> game, ply, expert_agrees;
};

void add_game(const params& p, const move_vocabulary& vocab, const gc::pgn_game& g,
              std::size_t game_index, examples_of& out) {
    const std::string* agreement = g.tag("ExpertAgreement");
    gc::position pos = g.start;
    for (std::size_t ply = 0; ply < g.moves.size(); ++ply) {
        if (p.encoding == "tokens") {
            out.tokens.resize(out.tokens.size() + n_position_tokens);
            encode_tokens(pos, out.tokens.data() + out.tokens.size() - n_position_tokens);
        } else {
            out.features.resize(out.features.size() + n_plane_features);
            encode_planes(pos, out.features.data() + out.features.size() - n_plane_features);
        }
        std::vector<std::int32_t> legal;
        for (const gc::move m : gc::legal_moves(pos))
            legal.push_back(vocab.index(m));
        out.mask.add(std::move(legal));
        out.labels.push_back(vocab.index(g.moves[ply]));
        out.game.push_back(static_cast<std::int64_t>(game_index));
        out.ply.push_back(static_cast<std::int64_t>(ply));
        const char a = agreement && ply < agreement->size() ? (*agreement)[ply] : '-';
        out.expert_agrees.push_back(a == '1' ? 1 : a == '0' ? 0 : -1);
        (void)pos.make(g.moves[ply]);
    }
}

grokkit::example_set to_set(const params& p, examples_of& e) {
    grokkit::example_set s;
    const std::size_t n = e.labels.size();
    if (p.encoding == "tokens") {
        s.tokens = xt::zeros<std::int32_t>({n, n_position_tokens});
        std::copy(e.tokens.begin(), e.tokens.end(), s.tokens.begin());
    } else {
        s.features = xt::zeros<float>({n, n_plane_features});
        std::copy(e.features.begin(), e.features.end(), s.features.begin());
    }
    s.labels = xt::zeros<std::int32_t>({n});
    std::copy(e.labels.begin(), e.labels.end(), s.labels.begin());
    s.mask = std::move(e.mask);
    return s;
}

} // namespace

grokkit::dataset_split make_split(const params& p, const game_collection& games,
                                  std::uint64_t seed) {
    const std::size_t n = games.games.size();
    const auto n_train = static_cast<std::size_t>(std::floor(p.train_fraction * double(n)));
    if (n_train == 0 || n_train == n)
        throw grokkit::error("chess_moves.generate",
                             std::to_string(n) + " games split " + std::to_string(n_train) +
                                 " to train",
                             "at least one game to train on and one to test on");
    const std::vector<std::size_t> order = grokkit::rng(seed, "split").permutation(n);
    const move_vocabulary vocab;
    examples_of train, test;
    std::vector<std::int64_t> train_games, test_games;
    for (std::size_t k = 0; k < n; ++k) {
        const bool is_train = k < n_train;
        add_game(p, vocab, games.games[order[k]], order[k], is_train ? train : test);
        (is_train ? train_games : test_games).push_back(static_cast<std::int64_t>(order[k]));
    }
    grokkit::dataset_split split;
    split.records = {
        grokkit::make_record("train_game", "game (in file order) of each training example",
                             train.game),
        grokkit::make_record("train_ply", "ply within its game of each training example",
                             train.ply),
        grokkit::make_record("test_game", "game of each test example", test.game),
        grokkit::make_record("test_ply", "ply within its game of each test example", test.ply),
        grokkit::make_record("test_expert_agrees",
                             "1 if the setting that played the move, asked again, chose the "
                             "same; 0 if not; -1 unknown (a random opening ply, or a user's PGN)",
                             test.expert_agrees),
        grokkit::make_record("move_vocabulary", "(from, to, promotion) of each class",
                             vocab.table(), {vocab.size(), 3}),
    };
    split.attributes = {{"n_games", static_cast<std::int64_t>(n)},
                        {"n_train_games", static_cast<std::int64_t>(n_train)},
                        {"games_unreadable", games.skipped_unreadable},
                        {"games_filtered_out", games.filtered_out}};
    split.texts = {{"games_file", games.path}, {"games_sha256", games.sha256}};
    split.train = to_set(p, train);
    split.test = to_set(p, test);
    return split;
}

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    grokkit::check_declared(*this, "chess_moves.generate");
    grokkit::dataset_split split = make_split(m_params, load_games(m_params), seed);
    if (m_params.opponent_ratings.empty()) {
        // Measured once per setting, and recorded with the run like everything the data holds.
        std::vector<std::int64_t> rating, lower, upper, games;
        // Records are integers: an infinite bound (every game won or lost) is kept as +-10000.
        const auto elo = [](double r) { return std::llround(std::clamp(r, -1e4, 1e4)); };
        for (const auto& c : calibrate_opponents(m_params)) {
            rating.push_back(elo(c.rating));
            lower.push_back(elo(c.lower));
            upper.push_back(elo(c.upper));
            games.push_back(c.games);
        }
        split.records.push_back(grokkit::make_record(
            "opponent_rating", "each opponent's calibrated Elo (rounded)", rating));
        split.records.push_back(
            grokkit::make_record("opponent_rating_lower", "its 95% interval's lower bound", lower));
        split.records.push_back(
            grokkit::make_record("opponent_rating_upper", "its upper bound", upper));
        split.records.push_back(grokkit::make_record(
            "opponent_calibration_games", "the finished games each calibration rests on", games));
    }
    return split;
}

} // namespace chess_moves
