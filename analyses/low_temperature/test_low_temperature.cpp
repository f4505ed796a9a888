// Tests of low_temperature's verdict: transcendence needs an interval wholly above the best
// expert's, at some temperature.
// SPDX-License-Identifier: Apache-2.0
#include "low_temperature.hpp"

#include <catch2/catch.hpp>

#include <cmath>

namespace {
grokkit::interval_estimate at(double mean, double half) {
    return {mean, mean - half, mean + half, 100};
}
} // namespace

TEST_CASE("low_temperature: the verdict compares intervals with the best expert's",
          "[low_temperature]") {
    const std::vector<grokkit::interval_estimate> experts{at(0.6, 0.03), at(0.7, 0.03)};
    auto v = low_temperature::judge({at(0.65, 0.02), at(0.9, 0.02), at(0.75, 0.02)}, experts);
    CHECK(v.best == 1);
    CHECK(v.best_expert == 1);
    CHECK(v.margin == Approx(0.2));
    CHECK(v.transcends);
    // 0.75 - 0.02 = 0.73 equals the expert's upper bound: overlapping, not above.
    CHECK(v.above == std::vector<bool>{false, true, false});
    v = low_temperature::judge({at(0.71, 0.02), at(0.74, 0.02)}, experts);
    CHECK_FALSE(v.transcends);
    CHECK(v.margin == Approx(0.04));
    v = low_temperature::judge({at(0.5, 0.1)}, {});
    CHECK_FALSE(v.transcends);
    CHECK(std::isnan(v.margin));
    CHECK(v.best == 0);
    // A temperature whose every episode aborted (NaN) is passed over, even first.
    const double nan = std::nan("");
    v = low_temperature::judge({{nan, nan, nan, 0}, at(0.9, 0.02)},
                               {{nan, nan, nan, 0}, at(0.7, 0.03)});
    CHECK(v.best == 1);
    CHECK(v.best_expert == 1);
    CHECK(v.transcends);
    CHECK(v.above == std::vector<bool>{false, true});
    // One episode each: unbounded intervals (mean_interval) never transcend.
    const auto one = grokkit::mean_interval({0.9}), expert = grokkit::mean_interval({0.8});
    v = low_temperature::judge({one}, {expert});
    CHECK_FALSE(v.transcends);
    CHECK(v.margin == Approx(0.1));
}

TEST_CASE("low_temperature: twelve lost games have a Wilson interval, not a width of 0",
          "[low_temperature]") {
    const auto e = low_temperature::reward_interval(std::vector<double>(12, 0.0));
    CHECK(e.mean == 0.0);
    CHECK(e.lower == 0.0);
    // z^2 / (n + z^2) for n = 12.
    const double z2 = 1.959963984540054 * 1.959963984540054;
    CHECK(e.upper == Approx(z2 / (12 + z2)));
    // Varied rewards keep the normal interval.
    const auto v = low_temperature::reward_interval({0.0, 1.0, 1.0, 1.0});
    CHECK(v.lower == Approx(grokkit::mean_interval({0.0, 1.0, 1.0, 1.0}).lower));
}
