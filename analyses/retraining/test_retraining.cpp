// Tests of retraining's statistics: the rank and linear correlations against hand-computed
// values, Feldman & Zhang's membership differences, and the round trip of a work item.
// SPDX-License-Identifier: Apache-2.0
#include "retraining.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

TEST_CASE("retraining: Spearman uses average ranks for ties and is 1 for monotone data",
          "[retraining]") {
    CHECK(retraining::spearman({1, 2, 3, 4}, {10, 100, 1000, 1e4}) == Approx(1.0));
    CHECK(retraining::spearman({1, 2, 3, 4}, {4, 3, 2, 1}) == Approx(-1.0));
    // Ranks of {1, 2, 2, 3} are {1, 2.5, 2.5, 4}; against {1, 2, 3, 4}: 0.9486832981.
    CHECK(retraining::spearman({1, 2, 2, 3}, {1, 2, 3, 4}) == Approx(0.9486832981));
    CHECK(std::isnan(retraining::spearman({1, 1, 1}, {1, 2, 3})));
    CHECK(std::isnan(retraining::pearson({1}, {2})));
    // Pearson of {1, 2, 3} and {1, 2, 4}: 0.9819805061.
    CHECK(retraining::pearson({1, 2, 3}, {1, 2, 4}) == Approx(0.9819805061));
}

TEST_CASE("retraining: the membership difference is the mean outcome with an example minus "
          "without it",
          "[retraining]") {
    // Three subsets of two training examples; one outcome column.
    const std::vector<std::vector<bool>> in{{true, false}, {true, true}, {false, true}};
    const std::vector<std::vector<double>> outcome{{1.0}, {0.0}, {0.5}};
    const auto d = retraining::membership_difference(in, outcome, 2);
    REQUIRE(d.size() == 2);
    CHECK(d[0] == Approx((1.0 + 0.0) / 2 - 0.5)); // with example 0: subsets 0, 1
    CHECK(d[1] == Approx((0.0 + 0.5) / 2 - 1.0)); // with example 1: subsets 1, 2
    // An example in every subset has no "without" group.
    const auto all = retraining::membership_difference({{true}, {true}}, {{1.0}, {0.0}}, 1);
    CHECK(std::isnan(all[0]));
}

TEST_CASE("retraining: a work item's values round-trip, and a wrong count is refused",
          "[retraining]") {
    retraining::scored_model m;
    m.query_loss = {0.5, 0.25};
    m.query_correct = {1, 0};
    m.train_loss = {0.1, 0.2, 0.3};
    m.train_correct = {1, 1, 0};
    const auto back = retraining::scored_model::from_flat(m.flat(), 2, 3);
    CHECK(back.query_loss == m.query_loss);
    CHECK(back.train_correct == m.train_correct);
    CHECK_THROWS_WITH(retraining::scored_model::from_flat(m.flat(), 3, 3),
                      Catch::Contains("the same pipeline and dataset"));
}
