// Tests of action sampling: draws follow softmax(logits / T) (a chi-squared test), T = 0 is
// greedy, masked classes are never drawn, top-k and top-p cut the distribution, and the draws
// are a pure function of their key.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/evaluation.hpp>
#include <grokkit/sampling.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

// Pearson's chi-squared statistic of `counts` against probabilities `p` (classes with p > 0).
double chi_squared(const std::vector<double>& counts, const std::vector<double>& p, double n) {
    double chi2 = 0.0;
    for (std::size_t k = 0; k < p.size(); ++k)
        if (p[k] > 0) {
            const double expected = n * p[k];
            chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
        }
    return chi2;
}

std::vector<double> draw_counts(const std::vector<float>& logits, grokkit::mask_view mask,
                                const grokkit::sampling_config& c, int n) {
    grokkit::rng draws(11, "sampling test");
    std::vector<double> counts(logits.size(), 0.0);
    for (int i = 0; i < n; ++i)
        counts[static_cast<std::size_t>(
            grokkit::sample_action(logits.data(), logits.size(), mask, 0, c, draws))] += 1.0;
    return counts;
}

} // namespace

TEST_CASE("sampling: draws follow the softmax at temperature T (chi-squared)", "[sampling]") {
    const std::vector<float> logits{1.0f, -0.5f, 2.0f, 0.0f, 0.3f, -2.0f};
    for (const double t : {0.5, 1.0, 2.0}) {
        grokkit::sampling_config c;
        c.temperature = t;
        std::vector<double> softmax(logits.size());
        double z = 0.0;
        for (std::size_t k = 0; k < logits.size(); ++k)
            z += softmax[k] = std::exp(logits[k] / t);
        for (auto& x : softmax)
            x /= z;
        const auto p = grokkit::action_probabilities(logits.data(), logits.size(), {}, 0, c);
        for (std::size_t k = 0; k < logits.size(); ++k)
            CHECK(p[k] == Approx(softmax[k]).epsilon(1e-12));
        const int n = 60000;
        // 5 degrees of freedom: P(chi2 > 20.5) = 0.001.
        CHECK(chi_squared(draw_counts(logits, {}, c, n), softmax, n) < 20.5);
    }
}

TEST_CASE("sampling: temperature 0 is greedy, ties to the lower class", "[sampling]") {
    grokkit::sampling_config greedy;
    greedy.temperature = 0.0;
    const std::vector<float> logits{0.1f, 3.0f, -1.0f, 3.0f};
    grokkit::rng draws(1, "greedy");
    for (int i = 0; i < 100; ++i)
        REQUIRE(grokkit::sample_action(logits.data(), 4, {}, 0, greedy, draws) == 1);
    const auto p = grokkit::action_probabilities(logits.data(), 4, {}, 0, greedy);
    CHECK(p == std::vector<double>{0.0, 1.0, 0.0, 0.0});
    // A very low temperature tends to the same action.
    grokkit::sampling_config cold;
    cold.temperature = 1e-3;
    const std::vector<float> distinct{0.1f, 3.0f, -1.0f, 2.99f};
    CHECK(grokkit::action_probabilities(distinct.data(), 4, {}, 0, cold)[1] > 0.9999);
}

TEST_CASE("sampling: a masked class is never drawn, at any temperature", "[sampling]") {
    // Row 1 of the mask allows classes 0, 2 and 4; class 3 has by far the largest logit.
    grokkit::class_mask m;
    m.add({1, 3});
    m.add({4, 0, 2});
    const std::vector<float> logits{0.5f, 9.0f, -0.2f, 10.0f, 0.0f};
    const grokkit::mask_view row1 = grokkit::view_of(m).from(1);
    for (const double t : {0.0, 0.3, 1.0, 5.0}) {
        grokkit::sampling_config c;
        c.temperature = t;
        const auto counts = draw_counts(logits, row1, c, 20000);
        CHECK(counts[1] == 0.0);
        CHECK(counts[3] == 0.0);
        if (t == 0.0)
            CHECK(counts[0] == 20000.0);
        if (t == 1.0) {
            const double z = std::exp(0.5) + std::exp(-0.2) + std::exp(0.0);
            const std::vector<double> p{std::exp(0.5) / z, 0, std::exp(-0.2) / z, 0, 1.0 / z};
            CHECK(chi_squared(counts, p, 20000) < 13.8); // 2 dof, P = 0.001
        }
    }
    // A hand-built mask that repeats a class counts it once.
    const std::int64_t offsets[] = {0, 3};
    const std::int32_t twice[] = {2, 4, 4};
    grokkit::sampling_config one;
    const auto p = grokkit::action_probabilities(logits.data(), 5, {offsets, twice}, 0, one);
    CHECK(p[2] + p[4] == Approx(1.0).epsilon(1e-12));
    CHECK(p[4] == Approx(1.0 / (1.0 + std::exp(-0.2))));
    grokkit::class_mask none;
    none.add({});
    CHECK_THROWS_AS(grokkit::action_probabilities(logits.data(), 5, grokkit::view_of(none), 0, {}),
                    grokkit::error);
}

TEST_CASE("sampling: top-k and top-p keep the most probable classes", "[sampling]") {
    const std::vector<float> logits{0.0f, 2.0f, 1.0f, -1.0f};
    grokkit::sampling_config k2;
    k2.top_k = 2;
    const auto p = grokkit::action_probabilities(logits.data(), 4, {}, 0, k2);
    const double z = std::exp(2.0) + std::exp(1.0);
    CHECK(p[1] == Approx(std::exp(2.0) / z));
    CHECK(p[2] == Approx(std::exp(1.0) / z));
    CHECK(p[0] == 0.0);
    CHECK(p[3] == 0.0);
    // Softmax masses: 0.644, 0.237, 0.087, 0.032. top_p 0.7 keeps the first two, 0.5 the first.
    grokkit::sampling_config nucleus;
    nucleus.top_p = 0.7;
    const auto q = grokkit::action_probabilities(logits.data(), 4, {}, 0, nucleus);
    CHECK(q[1] == Approx(std::exp(2.0) / z));
    CHECK(q[0] == 0.0);
    nucleus.top_p = 0.5;
    CHECK(grokkit::action_probabilities(logits.data(), 4, {}, 0, nucleus)[1] == 1.0);
    // top-p applies to what top-k kept: masses 0.644, 0.237 renormalised are 0.731, 0.269, so
    // with k = 2 a top_p of 0.7 keeps only the first.
    grokkit::sampling_config both;
    both.top_k = 2;
    both.top_p = 0.7;
    CHECK(grokkit::action_probabilities(logits.data(), 4, {}, 0, both)[1] == 1.0);
    // A non-finite allowed logit is an error, not a silent pick.
    const std::vector<float> broken{0.0f, std::nanf(""), 1.0f, 0.0f};
    CHECK_THROWS_AS(grokkit::action_probabilities(broken.data(), 4, {}, 0, {}), grokkit::error);
    grokkit::sampling_config bad;
    bad.top_p = 0.0;
    CHECK_THROWS_AS(grokkit::check_sampling(bad, "test"), grokkit::error);
    bad = {};
    bad.temperature = -1.0;
    CHECK_THROWS_AS(grokkit::check_sampling(bad, "test"), grokkit::error);
}

TEST_CASE("sampling: draws are a pure function of their key", "[sampling]") {
    const std::vector<float> logits{0.0f, 0.2f, 0.4f};
    grokkit::sampling_config c;
    grokkit::rng a(5, "episode", 7), b(5, "episode", 7), other(5, "episode", 8);
    std::vector<std::int32_t> xa, xb, xo;
    for (int i = 0; i < 50; ++i) {
        xa.push_back(grokkit::sample_action(logits.data(), 3, {}, 0, c, a));
        xb.push_back(grokkit::sample_action(logits.data(), 3, {}, 0, c, b));
        xo.push_back(grokkit::sample_action(logits.data(), 3, {}, 0, c, other));
    }
    CHECK(xa == xb);
    CHECK(xa != xo);
}

TEST_CASE("evaluation: mean_interval is the normal interval of the mean", "[sampling]") {
    const auto e = grokkit::mean_interval({0.0, 1.0, 1.0, 1.0});
    // mean 0.75, sample sd 0.5, standard error 0.25.
    CHECK(e.mean == Approx(0.75));
    CHECK(e.lower == Approx(0.75 - 1.959963984540054 * 0.25));
    CHECK(e.upper == Approx(0.75 + 1.959963984540054 * 0.25));
    CHECK(e.n == 4);
    CHECK(std::isnan(grokkit::mean_interval({}).mean));
    const auto one = grokkit::mean_interval({0.9});
    CHECK(one.mean == 0.9);
    CHECK(std::isinf(one.lower));
    CHECK(std::isinf(one.upper));
}
