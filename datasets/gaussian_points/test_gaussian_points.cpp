// Tests of gaussian_points: reproducible draws, the three distributions' moments and bounds,
// the label rules, the split and the noise.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_points.hpp"

#include <grokkit/error.hpp>
#include <grokkit/params.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace {

gaussian_points::dataset_impl make(std::int64_t dim, std::int64_t n, const std::string& dist,
                                   const std::string& labels, double noise = 0.0) {
    gaussian_points::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    REQUIRE_FALSE(ps.find("dim")->assign(dim));
    REQUIRE_FALSE(ps.find("n_points")->assign(n));
    REQUIRE_FALSE(ps.find("distribution")->assign(dist));
    REQUIRE_FALSE(ps.find("labels")->assign(labels));
    REQUIRE_FALSE(ps.find("label_noise")->assign(noise));
    return ds;
}

// Every point of both sets, (n, d) row by row.
std::vector<std::vector<double>> points(const grokkit::dataset_split& s) {
    std::vector<std::vector<double>> out;
    for (const auto* set : {&s.train, &s.test})
        for (std::size_t i = 0; i < set->size(); ++i) {
            const std::size_t d = set->features.shape()[1];
            out.emplace_back(set->features.data() + i * d, set->features.data() + (i + 1) * d);
        }
    return out;
}

} // namespace

TEST_CASE("gaussian_points: the seed decides the points and the split", "[gaussian_points]") {
    const auto ds = make(5, 100, "normal", "halfspace");
    const auto a = ds.generate(3), b = ds.generate(3), c = ds.generate(4);
    CHECK(a.train.features == b.train.features);
    CHECK(a.train.labels == b.train.labels);
    CHECK(a.train.features != c.train.features);
    CHECK(a.train.size() == 50); // floor(0.5 * 100)
    CHECK(a.test.size() == 50);
    CHECK(ds.spec().n_features == 5);
    CHECK(ds.spec().n_classes == 2);
}

TEST_CASE("gaussian_points: normal, ball and cube have their moments and bounds",
          "[gaussian_points]") {
    const std::size_t n = 20000, d = 4;
    // normal: per-coordinate mean 0 (within 5 standard errors) and variance 1 (within 3%).
    {
        const auto x = points(make(d, n, "normal", "none").generate(1));
        for (std::size_t j = 0; j < d; ++j) {
            double m = 0, v = 0;
            for (const auto& p : x)
                m += p[j];
            m /= double(n);
            for (const auto& p : x)
                v += (p[j] - m) * (p[j] - m);
            v /= double(n);
            CHECK(std::abs(m) < 5.0 / std::sqrt(double(n)));
            CHECK(std::abs(v - 1.0) < 0.03);
        }
    }
    // ball: inside the unit ball, and |x|^d ~ U(0, 1) (uniform in volume): mean 1/2.
    const auto ball = points(make(d, n, "ball", "none").generate(2));
    double mean_rd = 0;
    for (const auto& p : ball) {
        const double r2 = std::inner_product(p.begin(), p.end(), p.begin(), 0.0);
        CHECK(r2 <= 1.0 + 1e-6);
        mean_rd += std::pow(r2, double(d) / 2) / double(n);
    }
    CHECK(std::abs(mean_rd - 0.5) < 5.0 * std::sqrt(1.0 / 12 / double(n)));
    // cube: inside [-1, 1]^d, with E[x_j^2] = 1/3.
    const auto cube = points(make(d, n, "cube", "none").generate(3));
    double sq = 0;
    for (const auto& p : cube)
        for (double c : p) {
            CHECK(std::abs(c) <= 1.0);
            sq += c * c / double(n * d);
        }
    CHECK(std::abs(sq - 1.0 / 3) < 0.01);
}

TEST_CASE("gaussian_points: halfspace labels split the plane by a line through 0",
          "[gaussian_points]") {
    const auto s = make(2, 2000, "normal", "halfspace").generate(5);
    // Around the circle the labels change exactly twice: two half-planes.
    std::vector<std::pair<double, int>> by_angle;
    for (const auto* set : {&s.train, &s.test})
        for (std::size_t i = 0; i < set->size(); ++i)
            by_angle.push_back(
                {std::atan2(set->features(i, 1), set->features(i, 0)), set->labels(i)});
    std::sort(by_angle.begin(), by_angle.end());
    int changes = 0, ones = 0;
    for (std::size_t i = 0; i < by_angle.size(); ++i) {
        changes += by_angle[i].second != by_angle[(i + 1) % by_angle.size()].second;
        ones += by_angle[i].second;
    }
    CHECK(changes == 2);
    CHECK(std::abs(ones / 2000.0 - 0.5) < 0.05);
}

TEST_CASE("gaussian_points: radius labels are |x| above the median", "[gaussian_points]") {
    const auto s = make(3, 1001, "normal", "radius").generate(6);
    std::vector<std::pair<double, int>> r;
    for (const auto* set : {&s.train, &s.test})
        for (std::size_t i = 0; i < set->size(); ++i) {
            double r2 = 0;
            for (std::size_t j = 0; j < 3; ++j)
                r2 += double(set->features(i, j)) * set->features(i, j);
            r.push_back({r2, set->labels(i)});
        }
    std::sort(r.begin(), r.end());
    for (std::size_t i = 0; i < r.size(); ++i)
        CHECK(r[i].second == (i > r.size() / 2 ? 1 : 0));
}

TEST_CASE("gaussian_points: label noise flips exactly its share; its rules hold for direct use",
          "[gaussian_points]") {
    const auto clean = make(4, 400, "normal", "halfspace").generate(7);
    const auto noisy = make(4, 400, "normal", "halfspace", 0.1).generate(7);
    std::size_t flipped = 0;
    for (std::size_t i = 0; i < clean.train.size(); ++i)
        flipped += clean.train.labels(i) != noisy.train.labels(i);
    CHECK(flipped == 20); // floor(0.1 * 200)
    CHECK(clean.test.labels == noisy.test.labels);
    auto bad = make(4, 400, "normal", "none");
    grokkit::param_set ps;
    bad.declare(ps);
    REQUIRE_FALSE(ps.find("label_noise")->assign(0.1));
    CHECK_THROWS_WITH(bad.generate(1),
                      Catch::Matchers::Contains("a noisy label needs a second class"));
}
