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

TEST_CASE("cholesky: half solves give g_i^T A^-1 g_j, and a failed factor keeps the lower "
          "triangle for its eigenvalues",
          "[linalg]") {
    const std::size_t n = 6, m = 3;
    grokkit::rng r(5, "linalg");
    // A = B Bᵀ + I: symmetric positive definite.
    std::vector<double> b(n * n), a(n * n, 0.0);
    for (double& x : b)
        x = r.normal();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            for (std::size_t k = 0; k < n; ++k)
                a[i * n + j] += b[i * n + k] * b[j * n + k];
            a[i * n + j] += i == j ? 1.0 : 0.0;
        }
    std::vector<double> g(m * n);
    for (double& x : g)
        x = r.normal();
    // x_j = A⁻¹ g_j through the eigen-decomposition, the reference.
    const auto e = grokkit::symmetric_eigen(a, n);
    const auto solve = [&](const double* rhs, double* x) {
        for (std::size_t i = 0; i < n; ++i)
            x[i] = 0;
        for (std::size_t k = 0; k < n; ++k) {
            double proj = 0;
            for (std::size_t i = 0; i < n; ++i)
                proj += e.vectors[i * n + k] * rhs[i];
            for (std::size_t i = 0; i < n; ++i)
                x[i] += e.vectors[i * n + k] * proj / e.values[k];
        }
    };
    std::vector<double> factor = a;
    REQUIRE(grokkit::cholesky_factor(factor, n) == 0);
    std::vector<double> y = g;
    grokkit::cholesky_half_solve(factor, n, y.data(), m);
    std::vector<double> x(n);
    for (std::size_t i = 0; i < m; ++i) {
        solve(g.data() + i * n, x.data());
        for (std::size_t j = 0; j < m; ++j) {
            double want = 0, got = 0;
            for (std::size_t k = 0; k < n; ++k) {
                want += g[j * n + k] * x[k];
                got += y[i * n + k] * y[j * n + k];
            }
            CHECK(got == Approx(want).epsilon(1e-10));
        }
    }
    // A − 2λ_max I is indefinite: the factor fails, and with the diagonal restored the lower
    // triangle still gives the eigenvalues, shifted.
    std::vector<double> shifted = a;
    const double shift = 2.0 * e.values.back();
    for (std::size_t i = 0; i < n; ++i)
        shifted[i * n + i] -= shift;
    std::vector<double> diagonal(n);
    for (std::size_t i = 0; i < n; ++i)
        diagonal[i] = shifted[i * n + i];
    CHECK(grokkit::cholesky_factor(shifted, n) > 0);
    for (std::size_t i = 0; i < n; ++i)
        shifted[i * n + i] = diagonal[i];
    const std::vector<double> values = grokkit::symmetric_eigenvalues(shifted, n);
    for (std::size_t k = 0; k < n; ++k)
        CHECK(values[k] == Approx(e.values[k] - shift).epsilon(1e-10));
}
