// Tests of the memorisation counts.
// SPDX-License-Identifier: Apache-2.0
#include "memorisation.hpp"

#include <catch2/catch.hpp>

TEST_CASE("memorisation: noisy and clean examples are counted apart", "[memorisation]") {
    // Training labels as trained; examples 1 and 3 had their labels replaced (true: 5 and 6).
    const std::vector<std::int32_t> labels{0, 9, 2, 8, 4};
    const std::vector<std::int64_t> noisy{1, 3}, truth{5, 6};
    // Fits noisy example 1, predicts the true label of 3; gets 2 of 3 clean ones.
    const std::vector<std::int32_t> predicted{0, 9, 1, 6, 4};
    const auto c = memorisation::count_fit(predicted, labels.data(), noisy, truth);
    CHECK(c.noisy_fit == Approx(0.5));
    CHECK(c.noisy_true == Approx(0.5));
    CHECK(c.clean_accuracy == Approx(2.0 / 3.0));
}

TEST_CASE("memorisation: without noise every example is clean", "[memorisation]") {
    const std::vector<std::int32_t> labels{1, 2}, predicted{1, 0};
    const auto c = memorisation::count_fit(predicted, labels.data(), {}, {});
    CHECK(c.noisy_fit == 0.0);
    CHECK(c.clean_accuracy == Approx(0.5));
}
