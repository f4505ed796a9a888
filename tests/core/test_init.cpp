// Tests of the shared parameter initialisers: streams, bounds and moments.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/init.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

struct moments {
    double mean = 0.0, std_dev = 0.0, max_abs = 0.0;
};

moments measure(const std::vector<float>& v) {
    moments m;
    for (float x : v)
        m.mean += x;
    m.mean /= static_cast<double>(v.size());
    for (float x : v) {
        m.std_dev += (x - m.mean) * (x - m.mean);
        m.max_abs = std::max(m.max_abs, static_cast<double>(std::abs(x)));
    }
    m.std_dev = std::sqrt(m.std_dev / static_cast<double>(v.size() - 1));
    return m;
}

} // namespace

TEST_CASE("init: normal and uniform are the documented draws of rng(seed, \"init\", stream)",
          "[init]") {
    std::vector<float> a(100), b(100);
    grokkit::init::normal(a, 0.5, 42, 3);
    grokkit::rng r(42, "init", 3);
    for (float x : a)
        CHECK(x == static_cast<float>(0.5 * r.normal()));
    grokkit::init::uniform(b, 0.25, 42, 3);
    grokkit::rng u(42, "init", 3);
    for (float x : b)
        CHECK(x == static_cast<float>(0.25 * (2.0 * u.uniform() - 1.0)));
    // Another stream gives other values.
    std::vector<float> c(100);
    grokkit::init::normal(c, 0.5, 42, 4);
    CHECK(c != a);
}

TEST_CASE("init: the truncated normal stays inside 2 sigma with Haiku's std 0.8796 sigma",
          "[init]") {
    const double sigma = 0.3;
    std::vector<float> v(200000);
    grokkit::init::truncated_normal(v, sigma, 7, 0);
    const moments m = measure(v);
    CHECK(m.max_abs < 2.0 * sigma);
    CHECK(m.max_abs > 1.95 * sigma); // the tails are used, not cut short
    CHECK(std::abs(m.mean) < 5.0 * sigma / std::sqrt(static_cast<double>(v.size())));
    // Std of N(0,1) truncated to (-2, 2): sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) = 0.879626.
    CHECK(m.std_dev / sigma == Approx(grokkit::init::truncated_normal_std).epsilon(0.005));
    std::vector<float> again(v.size());
    grokkit::init::truncated_normal(again, sigma, 7, 0);
    CHECK(again == v);
}
