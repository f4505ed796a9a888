// Glicko-2 over one rating period (Glickman, "Example of the Glicko-2 system", steps 1-8) and
// Elo performance ratings with Wilson score intervals.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/rating.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <utility>

namespace grokkit {

namespace {

// Glicko-2's conversion factor between the Glicko scale and its internal scale (step 2).
constexpr double glicko_scale = 173.7178;
constexpr double glicko_centre = 1500.0;
// Step 5's convergence tolerance on the log-variance.
constexpr double volatility_epsilon = 1e-6;
constexpr double infinity = std::numeric_limits<double>::infinity();

std::string number(double x) {
    return std::to_string(x);
}

void require_positive(const std::string& what, double x) {
    if (!(x > 0.0) || !std::isfinite(x))
        throw error("rating", what + " " + number(x), "a finite number > 0");
}

void require_finite(const std::string& what, double x) {
    if (!std::isfinite(x))
        throw error("rating", what + " " + number(x), "a finite number");
}

void require_score(double score) {
    // The negated test also rejects NaN.
    if (!(score >= 0.0 && score <= 1.0))
        throw error("rating", "score " + number(score), "a score in [0, 1]");
}

void validate_glicko(const glicko_rating& player, const std::vector<rated_game>& games,
                     double tau) {
    require_positive("tau", tau);
    require_finite("rating", player.rating);
    require_positive("rating deviation", player.deviation);
    require_positive("volatility", player.volatility);
    for (const rated_game& game : games) {
        require_finite("opponent rating", game.opponent.rating);
        // An opponent of fixed rating has deviation 0 (g = 1): allowed, unlike the player's.
        if (!(game.opponent.deviation >= 0.0) || !std::isfinite(game.opponent.deviation))
            throw error("rating", "opponent rating deviation " + number(game.opponent.deviation),
                        "a finite number >= 0");
        require_score(game.score);
    }
}

// Step 3's g(phi): how much an opponent's uncertainty damps the game's information.
double g(double phi) {
    return 1.0 / std::sqrt(1.0 + 3.0 * phi * phi / (std::numbers::pi * std::numbers::pi));
}

// Summing in sorted order makes the sum a function of the multiset of terms, so the update is
// bit-for-bit independent of the order in which the games are listed.
double sorted_sum(std::vector<double> terms) {
    std::sort(terms.begin(), terms.end());
    double sum = 0.0;
    for (double t : terms)
        sum += t;
    return sum;
}

// Step 5's f(x), whose root is the log of the new variance sigma'^2.
struct volatility_equation {
    double delta2, phi2, v, a, tau;

    double operator()(double x) const {
        const double ex = std::exp(x);
        const double d = phi2 + v + ex;
        return ex * (delta2 - phi2 - v - ex) / (2.0 * d * d) - (x - a) / (tau * tau);
    }
};

// Step 5: the new volatility by the Illinois variant of regula falsi.
double new_volatility(double delta, double phi, double v, double sigma, double tau) {
    const volatility_equation f{delta * delta, phi * phi, v, std::log(sigma * sigma), tau};
    double A = f.a;
    double B = 0.0;
    if (f.delta2 > f.phi2 + v) {
        B = std::log(f.delta2 - f.phi2 - v);
    } else {
        // f tends to +infinity as x falls, so stepping down by tau brackets the root.
        double k = 1.0;
        while (f(f.a - k * tau) < 0.0)
            k += 1.0;
        B = f.a - k * tau;
    }
    double fA = f(A), fB = f(B);
    while (std::abs(B - A) > volatility_epsilon) {
        const double C = A + (A - B) * fA / (fB - fA);
        const double fC = f(C);
        if (fC * fB <= 0.0) {
            A = B;
            fA = fB;
        } else {
            // Halving the retained end's value is what keeps regula falsi from stalling.
            fA /= 2.0;
        }
        B = C;
        fB = fC;
    }
    return std::exp(A / 2.0);
}

} // namespace

glicko_rating glicko2_update(const glicko_rating& player, const std::vector<rated_game>& games,
                             double tau) {
    validate_glicko(player, games, tau);
    const double mu = (player.rating - glicko_centre) / glicko_scale;
    const double phi = player.deviation / glicko_scale;
    const double sigma = player.volatility;
    if (games.empty()) {
        // Step 6 alone: only the passage of time widens the deviation.
        return {player.rating, glicko_scale * std::sqrt(phi * phi + sigma * sigma), sigma};
    }
    std::vector<double> information, improvement;
    information.reserve(games.size());
    improvement.reserve(games.size());
    for (const rated_game& game : games) {
        const double mu_j = (game.opponent.rating - glicko_centre) / glicko_scale;
        const double g_j = g(game.opponent.deviation / glicko_scale);
        const double e_j = 1.0 / (1.0 + std::exp(-g_j * (mu - mu_j)));
        information.push_back(g_j * g_j * e_j * (1.0 - e_j));
        improvement.push_back(g_j * (game.score - e_j));
    }
    const double v = 1.0 / sorted_sum(information);         // step 3
    const double improvement_sum = sorted_sum(improvement); // step 4
    const double delta = v * improvement_sum;
    const double sigma_new = new_volatility(delta, phi, v, sigma, tau);            // step 5
    const double phi_star = std::sqrt(phi * phi + sigma_new * sigma_new);          // step 6
    const double phi_new = 1.0 / std::sqrt(1.0 / (phi_star * phi_star) + 1.0 / v); // step 7
    const double mu_new = mu + phi_new * phi_new * improvement_sum;
    return {glicko_scale * mu_new + glicko_centre, glicko_scale * phi_new, sigma_new}; // step 8
}

namespace {

// The Elo expected total score of a player rated R against `opponents`; increasing in R.
double elo_expected(const std::vector<double>& opponents, double R) {
    double sum = 0.0;
    for (double r : opponents)
        sum += 1.0 / (1.0 + std::pow(10.0, (r - R) / 400.0));
    return sum;
}

} // namespace

std::pair<double, double> wilson_interval(double p, double n, double z) {
    const double z2 = z * z;
    const double centre = p + z2 / (2.0 * n);
    const double half = z * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    const double denominator = 1.0 + z2 / n;
    // At 0% and 100% the bound is exactly 0 or 1; rounding must not make it otherwise.
    return {p == 0.0 ? 0.0 : (centre - half) / denominator,
            p == 1.0 ? 1.0 : (centre + half) / denominator};
}

double elo_performance(const std::vector<double>& opponents, double total_score) {
    if (opponents.empty())
        throw error("rating", "no games", "at least one game");
    for (double r : opponents)
        require_finite("opponent rating", r);
    if (std::isnan(total_score))
        throw error("rating", "total score nan", "a total score in [0, number of games]");
    const double n = static_cast<double>(opponents.size());
    if (total_score >= n)
        return infinity;
    if (total_score <= 0.0)
        return -infinity;
    const auto [least, most] = std::minmax_element(opponents.begin(), opponents.end());
    // Start from the middle of the opponents' range, which is exactly their rating when they
    // are all equal (an even score then gives it without rounding), and double a symmetric
    // bracket about it until it holds the root.
    const double centre = *least + (*most - *least) / 2.0;
    if (elo_expected(opponents, centre) == total_score)
        return centre;
    double width = 400.0;
    while (elo_expected(opponents, centre - width) > total_score ||
           elo_expected(opponents, centre + width) < total_score)
        width *= 2.0;
    double lo = centre - width, hi = centre + width;
    while (hi - lo > 1e-9) {
        const double mid = lo + (hi - lo) / 2.0;
        // Far from 1500 the spacing of doubles can exceed 1e-9; stop when no midpoint is left.
        if (mid <= lo || mid >= hi)
            break;
        const double e = elo_expected(opponents, mid);
        if (e == total_score)
            return mid;
        (e < total_score ? lo : hi) = mid;
    }
    return lo + (hi - lo) / 2.0;
}

elo_estimate elo_from_games(const std::vector<elo_game>& games, double z) {
    if (games.empty())
        throw error("rating", "no games", "at least one game");
    require_positive("z", z);
    std::vector<double> opponents;
    opponents.reserve(games.size());
    double total = 0.0;
    for (const elo_game& game : games) {
        require_finite("opponent rating", game.opponent_rating);
        require_score(game.score);
        opponents.push_back(game.opponent_rating);
        total += game.score;
    }
    const double n = static_cast<double>(games.size());
    const double p = total / n;
    const auto [lower, upper] = wilson_interval(p, n, z);
    elo_estimate estimate;
    estimate.rating = elo_performance(opponents, total);
    estimate.lower = elo_performance(opponents, lower * n);
    estimate.upper = elo_performance(opponents, upper * n);
    estimate.score = p;
    estimate.games = games.size();
    return estimate;
}

} // namespace grokkit
