// Tests of the fourier_probe's science against closed-form solutions.
// SPDX-License-Identifier: Apache-2.0
#include "fourier.hpp"

#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using namespace fourier_probe;
using Catch::Matchers::WithinAbs;

TEST_CASE("fourier_probe: the basis is orthonormal for odd and even p", "[fourier_probe]") {
    for (std::size_t p : {2u, 7u, 8u, 113u}) {
        const auto b = fourier_basis(p);
        for (std::size_t i = 0; i < p; ++i)
            for (std::size_t j = 0; j < p; ++j) {
                double dot = 0.0;
                for (std::size_t x = 0; x < p; ++x)
                    dot += b(i, x) * b(j, x);
                REQUIRE_THAT(dot, WithinAbs(i == j ? 1.0 : 0.0, 1e-12));
            }
    }
    CHECK(frequency_of_row(0) == 0);
    CHECK(frequency_of_row(1) == 1);
    CHECK(frequency_of_row(2) == 1);
    CHECK(frequency_of_row(3) == 2);
}

TEST_CASE("fourier_probe: an embedding made of one frequency has all its norm there",
          "[fourier_probe]") {
    const std::size_t p = 31, k = 4;
    xt::xtensor<double, 2> e = xt::zeros<double>({p, std::size_t{3}});
    for (std::size_t x = 0; x < p; ++x) {
        e(x, 0) = std::cos(2 * M_PI * k * x / p);
        e(x, 1) = std::sin(2 * M_PI * k * x / p);
        e(x, 2) = 0.5 * std::cos(2 * M_PI * k * x / p + 1.0);
    }
    const auto norms = frequency_norms(fourier_basis(p), e);
    for (std::size_t f = 0; f < norms.size(); ++f)
        CHECK_THAT(norms[f],
                   WithinAbs(f == k ? std::sqrt((1.0 + 1.0 + 0.25) * p / 2.0) : 0.0, 1e-9));
    CHECK(gini(std::vector<double>(norms.begin() + 1, norms.end())) > 0.9);
    CHECK_THAT(gini({1.0, 1.0, 1.0, 1.0}), WithinAbs(0.0, 1e-12));
}

TEST_CASE("fourier_probe: periodic neurons get their frequency and a fraction near 1",
          "[fourier_probe]") {
    const std::size_t p = 23;
    xt::xtensor<double, 2> act = xt::zeros<double>({p * p, std::size_t{3}});
    grokkit::rng r(1, "test");
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
            const double w5 = 2 * M_PI * 5 / p, w2 = 2 * M_PI * 2 / p;
            act(a * p + b, 0) = 3.0 + std::cos(w5 * (a + b));        // frequency 5 only
            act(a * p + b, 1) = std::cos(w2 * a) * std::sin(w2 * b); // frequency 2 only
            act(a * p + b, 2) = r.normal();                          // noise, spread out
        }
    const auto energy = neuron_frequency_energy(fourier_basis(p), act);
    auto fraction = [&](std::size_t n, std::size_t k) {
        double total = 0.0;
        for (std::size_t j = 0; j < p * p; ++j)
            total += act(j, n) * act(j, n);
        return energy(n, k) / (total - energy(n, 0));
    };
    CHECK_THAT(energy(0, 0), WithinAbs(9.0 * p * p, 1e-6));
    CHECK_THAT(fraction(0, 5), WithinAbs(1.0, 1e-9));
    CHECK_THAT(fraction(1, 2), WithinAbs(1.0, 1e-9));
    for (std::size_t k = 1; k <= p / 2; ++k)
        CHECK(fraction(2, k) < 0.4);
}

TEST_CASE(
    "fourier_probe: the PAIR closed-form solution has exactly its key frequencies, restricted "
    "loss near the full loss and a high excluded loss",
    "[fourier_probe]") {
    // logit_c = α Σ_k cos²((a−b)ω_k/2)·cos((a+b−c)ω_k), k ∈ {3, 7} (PAIR explorable).
    const std::size_t p = 31;
    const double alpha = 400.0;
    const std::vector<std::size_t> ks{3, 7};
    xt::xtensor<double, 2> logits = xt::zeros<double>({p * p, p});
    std::vector<std::int32_t> answer(p * p);
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
            answer[a * p + b] = static_cast<std::int32_t>((a + b) % p);
            for (std::size_t c = 0; c < p; ++c)
                for (auto k : ks) {
                    const double w = 2 * M_PI * k / p;
                    const double half = std::cos((double(a) - double(b)) * w / 2);
                    logits(a * p + b, c) +=
                        alpha * half * half * std::cos((double(a) + double(b) - double(c)) * w);
                }
        }
    const auto proj = project_on_answers(logits, answer, p);
    const auto key = key_frequencies(proj, 0.99, 8);
    CHECK(key == ks);
    for (std::size_t k = 1; k <= p / 2; ++k)
        if (k != 3 && k != 7)
            CHECK_THAT(proj.energy[k], WithinAbs(0.0, 1e-6));
    const auto restricted = restricted_logits(proj, answer, key, p);
    xt::xtensor<double, 2> excluded = logits - restricted;
    const double full = mean_cross_entropy(logits, answer.data());
    const double kept = mean_cross_entropy(restricted, answer.data());
    const double removed = mean_cross_entropy(excluded, answer.data());
    CHECK(full < 0.05);
    CHECK(kept < 0.05);
    CHECK(removed > std::log(double(p)));
    // The answer directions of the key frequencies carry half of each cos² term's weight.
    CHECK_THAT(proj.cos_coef[3], WithinAbs(alpha / 2, 1e-9));
    CHECK_THAT(proj.sin_coef[3], WithinAbs(0.0, 1e-9));
}

TEST_CASE("fourier_probe: an exact parity function puts all Walsh mass on its subset",
          "[fourier_probe]") {
    const std::size_t n_bits = 10;
    const std::uint64_t subset = (1u << 1) | (1u << 4) | (1u << 8);
    std::vector<double> f(std::size_t{1} << n_bits);
    for (std::size_t x = 0; x < f.size(); ++x)
        f[x] = (__builtin_popcountll(x & subset) & 1) ? -2.0 : 2.0;
    walsh_hadamard(f);
    for (std::size_t s = 0; s < f.size(); ++s)
        REQUIRE_THAT(f[s], WithinAbs(s == subset ? 2.0 : 0.0, 1e-12));
}
