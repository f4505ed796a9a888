// Ratings from game results: Glickman's Glicko-2 over one rating period, and an Elo
// performance estimate with a 95% interval, for rating a model and its experts like for like.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace grokkit {

/// A Glicko-2 rating on the Glicko scale (Glickman, "Example of the Glicko-2 system", 2013).
struct glicko_rating {
    double rating = 1500.0;   ///< r
    double deviation = 350.0; ///< RD
    double volatility = 0.06; ///< sigma
};

/// One game of a rating period: the opponent's rating before the period, and the score.
struct rated_game {
    glicko_rating opponent;
    double score = 0.0; ///< 1 win, 0.5 draw, 0 loss
};

/// Glicko-2's update of `player` over one rating period holding every game of `games`, so the
/// result does not depend on their order. `tau` is the system constant (Glickman suggests
/// 0.3 to 1.2; his example uses 0.5). With no games only the deviation grows (step 6). An
/// opponent of fixed rating has deviation 0. Throws grokkit::error for tau <= 0, a player's
/// deviation <= 0, an opponent's < 0 or a score outside [0, 1].
glicko_rating glicko2_update(const glicko_rating& player, const std::vector<rated_game>& games,
                             double tau = 0.5);

/// One game against an opponent of a fixed Elo rating.
struct elo_game {
    double opponent_rating = 0.0;
    double score = 0.0; ///< 1 win, 0.5 draw, 0 loss
};

/// An Elo performance estimate with its interval.
struct elo_estimate {
    double rating = 0.0; ///< the performance rating; +-infinity for a score of 100% or 0%
    double lower = 0.0;  ///< the interval's bounds (possibly infinite)
    double upper = 0.0;
    double score = 0.0; ///< mean score per game
    std::size_t games = 0;
};

/// The rating R whose expected score over the games, sum of 1 / (1 + 10^((r_i - R) / 400)),
/// equals the actual score. The interval is Wilson's score interval on the mean score over n
/// games at `z` standard errors (1.96: 95%), which stays finite inside (0, 1) at 0% or 100%,
/// each bound mapped to a rating through the same equation. Throws grokkit::error for no games,
/// a score outside [0, 1] or z <= 0.
elo_estimate elo_from_games(const std::vector<elo_game>& games, double z = 1.959963984540054);

/// Wilson's score interval (lower, upper) on a proportion, or any mean of values in [0, 1],
/// `p` observed over `n` trials, at `z` standard errors; exactly 0 or 1 at p = 0 or 1.
std::pair<double, double> wilson_interval(double p, double n, double z = 1.959963984540054);

/// The rating R at which the expected score against `opponents` totals `total_score` (in
/// [0, opponents.size()]): +infinity at the top, -infinity at 0. Found by bisection to 1e-9.
double elo_performance(const std::vector<double>& opponents, double total_score);

} // namespace grokkit
