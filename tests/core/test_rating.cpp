// Tests of the ratings: Glickman's Glicko-2 worked example, and Elo performance with intervals.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/rating.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace {

// The games of Glickman's example: a win against 1400/30, losses to 1550/100 and 1700/300.
std::vector<grokkit::rated_game> example_games() {
    return {
        {{1400.0, 30.0, 0.06}, 1.0}, {{1550.0, 100.0, 0.06}, 0.0}, {{1700.0, 300.0, 0.06}, 0.0}};
}

const grokkit::glicko_rating example_player{1500.0, 200.0, 0.06};

// Wilson's score interval, written out here independently of the library.
std::pair<double, double> wilson_bounds(double p, double n, double z) {
    const double a = p + z * z / (2 * n);
    const double b = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    const double c = 1 + z * z / n;
    return {(a - b) / c, (a + b) / c};
}

// Against a single opponent rated 1500, the score p is reached at 1500 + 400 log10(p / (1 - p)).
double logit_rating(double p) {
    return 1500.0 + 400.0 * std::log10(p / (1.0 - p));
}

} // namespace

TEST_CASE("rating: Glickman's worked example", "[rating]") {
    const auto r = grokkit::glicko2_update(example_player, example_games(), 0.5);
    // The paper prints mu' = -0.2069, phi' = 0.8722, sigma' = 0.05999 and from them r' = 1464.06,
    // RD' = 151.52, rounding g and E to four digits on the way (its v is 1.7785, Delta -0.4834;
    // unrounded they are 1.77898 and -0.48393). So r' = 1500 + 173.7178 mu' carries the 5e-5
    // rounding of mu' (+-0.0087), and sigma' = 0.0599960 is printed truncated.
    CHECK(std::abs((r.rating - 1500.0) / 173.7178 - -0.2069) < 5e-5);
    CHECK(std::abs(r.deviation / 173.7178 - 0.8722) < 5e-5);
    // The printed numbers by the paper's own path: r' from mu' at its four digits, RD' rounded
    // to two decimals, sigma' cut at five.
    const double mu4 = std::round((r.rating - 1500.0) / 173.7178 * 1e4) / 1e4;
    CHECK(std::round((1500.0 + 173.7178 * mu4) * 100.0) / 100.0 == Approx(1464.06).margin(1e-9));
    CHECK(std::round(r.deviation * 100.0) / 100.0 == Approx(151.52).margin(1e-9));
    CHECK(std::floor(r.volatility * 1e5) / 1e5 == Approx(0.05999).margin(1e-12));
    CHECK(std::abs(r.rating - 1464.06) < 0.01);
    CHECK(std::abs(r.deviation - 151.52) < 0.005);
    CHECK(std::abs(r.volatility - 0.05999) < 1e-5);
    // The unrounded values, from the same equations solved to 40 digits (mpmath): r' =
    // 1464.0506705391, RD' = 151.5165241243, sigma' = 0.0599959844. The tolerance allows for
    // step 5 stopping at |B - A| <= 1e-6 on ln sigma^2.
    CHECK(std::abs(r.rating - 1464.0506705391) < 1e-6);
    CHECK(std::abs(r.deviation - 151.5165241243) < 1e-6);
    CHECK(std::abs(r.volatility - 0.0599959844) < 1e-8);
}

TEST_CASE("rating: the update does not depend on the order of the games", "[rating]") {
    const auto games = example_games();
    const auto reference = grokkit::glicko2_update(example_player, games, 0.5);
    const int orders[][3] = {{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (const auto& order : orders) {
        const std::vector<grokkit::rated_game> permuted{games[order[0]], games[order[1]],
                                                        games[order[2]]};
        const auto r = grokkit::glicko2_update(example_player, permuted, 0.5);
        CHECK(r.rating == reference.rating);
        CHECK(r.deviation == reference.deviation);
        CHECK(r.volatility == reference.volatility);
    }
}

TEST_CASE("rating: with no games only the deviation grows", "[rating]") {
    const auto r = grokkit::glicko2_update(example_player, {}, 0.5);
    const double sigma = 0.06 * 173.7178;
    CHECK(r.rating == 1500.0);
    CHECK(r.volatility == 0.06);
    CHECK(r.deviation == Approx(std::sqrt(200.0 * 200.0 + sigma * sigma)).epsilon(1e-12));
}

TEST_CASE("rating: bad Glicko-2 input throws", "[rating]") {
    const auto games = example_games();
    CHECK_THROWS_AS(grokkit::glicko2_update(example_player, games, 0.0), grokkit::error);
    CHECK_THROWS_AS(grokkit::glicko2_update(example_player, games, -0.5), grokkit::error);
    auto bad_score = games;
    bad_score[1].score = 1.5;
    CHECK_THROWS_AS(grokkit::glicko2_update(example_player, bad_score, 0.5), grokkit::error);
    CHECK_THROWS_AS(grokkit::glicko2_update({1500.0, 0.0, 0.06}, games, 0.5), grokkit::error);
    auto bad_opponent = games;
    bad_opponent[0].opponent.deviation = -1.0;
    CHECK_THROWS_AS(grokkit::glicko2_update(example_player, bad_opponent, 0.5), grokkit::error);
    // An opponent of fixed rating (deviation 0) is allowed, and counts as fully informative:
    // g(0) = 1, so a win against it moves the rating more than against one of deviation 30.
    auto fixed = games;
    fixed[0].opponent.deviation = 0.0;
    const auto with_fixed = grokkit::glicko2_update(example_player, fixed, 0.5);
    const auto reference = grokkit::glicko2_update(example_player, games, 0.5);
    CHECK(with_fixed.rating > reference.rating);
    CHECK(with_fixed.rating - reference.rating < 1.0);
}

TEST_CASE("rating: Elo performance and Wilson interval for 75 wins in 100", "[rating]") {
    std::vector<grokkit::elo_game> games(100, {1500.0, 0.0});
    for (int i = 0; i < 75; ++i)
        games[i].score = 1.0;
    const double z = 1.959963984540054;
    const auto e = grokkit::elo_from_games(games, z);
    CHECK(e.games == 100);
    CHECK(e.score == Approx(0.75));
    CHECK(e.rating == Approx(1500.0 + 400.0 * std::log10(3.0)).margin(1e-6));
    const auto [lower, upper] = wilson_bounds(0.75, 100.0, z);
    CHECK(e.lower == Approx(logit_rating(lower)).margin(1e-6));
    CHECK(e.upper == Approx(logit_rating(upper)).margin(1e-6));
    CHECK(e.lower < e.rating);
    CHECK(e.rating < e.upper);
}

TEST_CASE("rating: an even score against equal opponents is their rating", "[rating]") {
    std::vector<grokkit::elo_game> games;
    for (int i = 0; i < 10; ++i)
        games.push_back({1850.0, i % 2 == 0 ? 1.0 : 0.0});
    games.push_back({1850.0, 0.5});
    const auto e = grokkit::elo_from_games(games);
    CHECK(e.rating == 1850.0);
    CHECK(e.lower < 1850.0);
    CHECK(e.upper > 1850.0);
}

TEST_CASE("rating: all wins give an infinite rating with a finite lower bound", "[rating]") {
    const std::vector<grokkit::elo_game> games(20, {1500.0, 1.0});
    const auto e = grokkit::elo_from_games(games);
    CHECK(std::isinf(e.rating));
    CHECK(e.rating > 0);
    CHECK(std::isfinite(e.lower));
    CHECK(e.lower > 1500.0);
    CHECK(std::isinf(e.upper));
    CHECK(e.upper > 0);
    const std::vector<grokkit::elo_game> losses(20, {1500.0, 0.0});
    const auto l = grokkit::elo_from_games(losses);
    CHECK(l.rating == -std::numeric_limits<double>::infinity());
    CHECK(l.lower == -std::numeric_limits<double>::infinity());
    CHECK(std::isfinite(l.upper));
    CHECK(l.upper < 1500.0);
}

TEST_CASE("rating: Elo performance solves the expected-score equation", "[rating]") {
    const std::vector<double> opponents{1200.0, 1450.0, 1600.0, 1800.0, 2100.0};
    for (double total : {0.3, 1.7, 2.5, 4.2}) {
        const double R = grokkit::elo_performance(opponents, total);
        double expected = 0.0;
        for (double r : opponents)
            expected += 1.0 / (1.0 + std::pow(10.0, (r - R) / 400.0));
        CHECK(expected == Approx(total).margin(1e-9));
    }
    CHECK(grokkit::elo_performance(opponents, 5.0) == std::numeric_limits<double>::infinity());
    CHECK(grokkit::elo_performance(opponents, 0.0) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("rating: Elo with no games or bad input throws", "[rating]") {
    CHECK_THROWS_AS(grokkit::elo_from_games({}), grokkit::error);
    CHECK_THROWS_AS(grokkit::elo_performance({}, 0.0), grokkit::error);
    CHECK_THROWS_AS(grokkit::elo_from_games({{1500.0, 1.5}}), grokkit::error);
    CHECK_THROWS_AS(grokkit::elo_from_games({{1500.0, 1.0}}, 0.0), grokkit::error);
}
