// The chess_moves dataset: positions of games and the move played in each, as a model's input
// and class, with the legal moves as the class mask.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/pgn.hpp>
#include <grokkit/dataset.hpp>
#include <grokkit/evaluation.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chess_moves {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::string source = "stockfish";
    std::string pgn;
    std::int64_t min_rating = 0;
    std::int64_t max_rating = 4000;
    std::vector<std::string> time_controls;
    std::int64_t max_games = 0;
    std::int64_t n_games = 200;
    std::vector<std::int64_t> skill_levels{0, 1, 2, 3};
    std::int64_t nodes = 1000;
    std::int64_t opening_plies = 4;
    std::int64_t max_plies = 200;
    std::int64_t games_seed = 1;
    std::int64_t workers = 2;
    std::string cache_dir;
    std::string encoding = "tokens";
    double train_fraction = 0.8;
    // The environment: games against Stockfish opponents (low_temperature).
    std::vector<std::int64_t> opponents{1, 3, 5};
    std::vector<double> opponent_ratings{1554, 1867, 2148};
    std::int64_t eval_games = 10;
    std::int64_t eval_nodes = 1000;
    std::int64_t eval_movetime_ms = 0;
    std::int64_t eval_max_plies = 300;
    std::vector<std::int64_t> calibration_anchors{1350, 1700, 2050, 2400};
    std::int64_t calibration_games = 20;
};

/// An opponent's rating measured by grokkit: its Elo performance against Stockfish playing at
/// UCI_Elo anchors, with a Wilson interval (rating.hpp), cached.
struct calibrated_rating {
    double rating = 0, lower = 0, upper = 0;
    std::int64_t games = 0; ///< finished games it rests on
};
/// Plays each opponent (Skill Level, the eval limits) against Stockfish with UCI_LimitStrength at
/// each anchor, calibration_games games per anchor, half as White, `workers` at once; the
/// result is cached in cache_dir under a hash of every setting, so it runs once.
std::vector<calibrated_rating> calibrate_opponents(const params& p);
/// Where calibrate_opponents keeps its result.
std::string calibration_path(const params& p);

/// Games as read (from a user's PGN or the generated cache) and what was left out.
struct game_collection {
    std::vector<grokkit::chess::pgn_game> games;
    std::string path;
    std::string sha256;
    std::int64_t skipped_unreadable = 0; ///< games the PGN reader skipped
    std::int64_t filtered_out = 0;       ///< readable games the rating or time filters rejected
};

/// The games a run trains on: for source "pgn" the filtered games of the file; for "stockfish"
/// the cached games of weakened Stockfish playing itself (generated on first use).
game_collection load_games(const params& p);
/// Generates the Stockfish games into `path` (written whole, then renamed into place).
void generate_games(const params& p, const std::string& path);
/// Where the generated games for `p` are cached: a name from a hash of every setting that
/// shapes them, in cache_dir (default $XDG_CACHE_HOME/grokkit/chess, else ~/.cache/...).
std::string cache_path(const params& p);
/// The examples of `games`, split by game with rng(seed, "split").
grokkit::dataset_split make_split(const params& p, const game_collection& games,
                                  std::uint64_t seed);

/// The baselines a model's held-out move accuracy is read against.
struct move_baselines {
    std::int64_t n_positions = 0;
    double uniform = 0;          ///< mean of 1/|legal moves|: a uniform pick's accuracy
    std::int64_t n_known = 0;    ///< plies with a known self-agreement (engine plies)
    double expert_agreement = 0; ///< their share where the expert, asked again, agreed (NaN: none)
};
/// From the test set's mask offsets and test_expert_agrees (-1 unknown).
move_baselines baselines(const std::vector<std::int64_t>& mask_offsets,
                         const std::vector<std::int64_t>& expert_agrees);

/// The score of the side `model_white` names in a finished game ("1-0", "0-1", "1/2-1/2"); a
/// game still going (the ply cap) is a draw.
double model_score(const std::string& result, bool model_white);

class dataset_impl : public grokkit::dataset,
                     public grokkit::report_contributor,
                     public grokkit::episode_environment,
                     public grokkit::expert_panel {
  public:
    // The environment (environment.cpp): episode i is game i % eval_games against opponent
    // i / eval_games, the model White in even games.
    std::size_t episode_count(const grokkit::dataset_split& data) const override;
    grokkit::episode_result play(const grokkit::dataset_split& data, std::size_t index,
                                 grokkit::actor& player, std::uint64_t seed) const override;
    std::vector<grokkit::rated_opponent>
    opponents(const grokkit::dataset_split& data) const override;
    std::size_t episode_opponent(const grokkit::dataset_split& data,
                                 std::size_t index) const override;
    /// The settings that generated the games (source = stockfish; none for a user's PGN).
    std::vector<std::string> expert_names(const grokkit::dataset_split& data) const override;
    std::unique_ptr<grokkit::actor> expert(const grokkit::dataset_split& data, std::size_t k,
                                           std::uint64_t seed) const override;

    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    grokkit::dataset_split generate(std::uint64_t seed) const override;

    params m_params;
};

} // namespace chess_moves
