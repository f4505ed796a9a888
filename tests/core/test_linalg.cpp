// symmetric_eigen against the definition: A v = lambda v, V orthonormal, ascending values.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>

TEST_CASE("symmetric_eigen: A v = lambda v for a random symmetric matrix", "[linalg]") {
    const std::size_t n = 7;
    grokkit::rng r(3, "linalg");
    std::vector<double> a(n * n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j <= i; ++j)
            a[i * n + j] = a[j * n + i] = r.normal();
    const auto e = grokkit::symmetric_eigen(a, n);
    for (std::size_t k = 0; k < n; ++k) {
        if (k > 0)
            CHECK(e.values[k] >= e.values[k - 1]);
        for (std::size_t i = 0; i < n; ++i) {
            double av = 0;
            for (std::size_t j = 0; j < n; ++j)
                av += a[i * n + j] * e.vectors[j * n + k];
            CHECK(av == Approx(e.values[k] * e.vectors[i * n + k]).margin(1e-10));
        }
        for (std::size_t l = 0; l < n; ++l) {
            double dot = 0;
            for (std::size_t i = 0; i < n; ++i)
                dot += e.vectors[i * n + k] * e.vectors[i * n + l];
            CHECK(dot == Approx(k == l ? 1.0 : 0.0).margin(1e-12));
        }
    }
}

TEST_CASE("symmetric_eigen: a known spectrum, and a wrong size is an error", "[linalg]") {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    const auto e = grokkit::symmetric_eigen({2, 1, 1, 2}, 2);
    CHECK(e.values[0] == Approx(1.0));
    CHECK(e.values[1] == Approx(3.0));
    CHECK(std::abs(e.vectors[0 * 2 + 1]) == Approx(std::sqrt(0.5)));
    CHECK_THROWS_AS(grokkit::symmetric_eigen({1, 2, 3}, 2), grokkit::error);
}
