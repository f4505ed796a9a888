// Tests of the counter-based generator: determinism, independence of purposes, distributions.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

TEST_CASE("rng: draws are a pure function of seed, purpose and stream", "[rng]") {
    grokkit::rng a(7, "init", 3), b(7, "init", 3), c(7, "init", 4), d(7, "split", 3),
        e(8, "init", 3);
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());
    CHECK(x != d.next_u64());
    CHECK(x != e.next_u64());
}

TEST_CASE("rng: uniform and normal have the right moments", "[rng]") {
    grokkit::rng r(1, "test");
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; ++i) {
        const double u = r.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        su += u;
        const double z = r.normal();
        sn += z;
        sn2 += z * z;
    }
    // Standard errors: uniform mean 0.29/sqrt(n) ~ 6.5e-4, normal mean 2.2e-3, variance 3.2e-3.
    CHECK(std::abs(su / n - 0.5) < 4e-3);
    CHECK(std::abs(sn / n) < 1.2e-2);
    CHECK(std::abs(sn2 / n - 1.0) < 2e-2);
}

TEST_CASE("rng: permutation is a permutation and below() stays in range", "[rng]") {
    grokkit::rng r(3, "split");
    auto p = r.permutation(1000);
    auto sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
        REQUIRE(sorted[i] == i);
    CHECK_FALSE(std::is_sorted(p.begin(), p.end()));
    for (int i = 0; i < 1000; ++i)
        REQUIRE(r.below(7) < 7);
}
