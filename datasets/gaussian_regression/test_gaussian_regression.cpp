// Tests of gaussian_regression: reproducible draws, the covariance, the teachers and their signal
// norm, noiseless test targets, the classification variant and the theory it offers.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_regression.hpp"

#include <grokkit/error.hpp>
#include <grokkit/params.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numeric>

using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

using settings = std::map<std::string, grokkit::param_value>;

gaussian_regression::dataset_impl make(const settings& values) {
    gaussian_regression::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    for (const auto& [key, value] : values) {
        INFO(key);
        REQUIRE_FALSE(ps.find(key)->assign(value));
    }
    return ds;
}

double mean_square(const xt::xtensor<float, 2>& a) {
    double s = 0.0;
    for (const float v : a)
        s += double(v) * v;
    return s / static_cast<double>(a.size());
}

// The least-squares β of the set's targets on its features (n > d), from the normal equations.
std::vector<double> fitted_teacher(const grokkit::example_set& s) {
    const std::size_t n = s.size(), d = s.features.shape(1);
    std::vector<double> phi(s.features.begin(), s.features.end());
    std::vector<double> y(s.targets.begin(), s.targets.end());
    return grokkit::least_squares(phi, n, d, y, 1).solve(0.0);
}

} // namespace

TEST_CASE("gaussian_regression: draws are a pure function of the seed", "[gaussian_regression]") {
    const auto ds = make({{"dim", std::int64_t{8}}, {"n_train", std::int64_t{30}}});
    const auto a = ds.generate(3), b = ds.generate(3), c = ds.generate(4);
    CHECK(a.train.features == b.train.features);
    CHECK(a.train.targets == b.train.targets);
    CHECK(a.test.targets == b.test.targets);
    CHECK(a.train.features != c.train.features);
    CHECK(a.train.size() == 30);
    CHECK(a.test.size() == 1000);
    CHECK(a.train.labels.size() == 0);
    const grokkit::input_spec spec = ds.spec();
    CHECK(spec.n_targets == 1);
    CHECK(spec.n_classes == 0);
    CHECK(spec.n_features == 8);
}

TEST_CASE("gaussian_regression: the linear teacher has norm r; test targets are noiseless",
          "[gaussian_regression]") {
    // Noiseless training targets on n > d points: least squares recovers β itself.
    const auto exact = make({{"dim", std::int64_t{10}},
                             {"n_train", std::int64_t{50}},
                             {"signal", 3.0},
                             {"noise", 0.0}});
    const auto split = exact.generate(1);
    const std::vector<double> beta = fitted_teacher(split.train);
    const double norm = std::sqrt(std::inner_product(beta.begin(), beta.end(), beta.begin(), 0.0));
    CHECK_THAT(norm, WithinRel(3.0, 1e-5));
    // With noise, the training targets move by σ and the test targets not at all.
    const auto noisy = make({{"dim", std::int64_t{10}},
                             {"n_train", std::int64_t{2000}},
                             {"signal", 3.0},
                             {"noise", 0.5},
                             {"n_test", std::int64_t{50}}});
    const auto with_noise = noisy.generate(1);
    double residual = 0.0, test_residual = 0.0;
    for (std::size_t i = 0; i < with_noise.train.size(); ++i) {
        double f = 0.0;
        for (std::size_t j = 0; j < 10; ++j)
            f += beta[j] * with_noise.train.features(i, j);
        residual += std::pow(with_noise.train.targets(i, 0) - f, 2);
    }
    for (std::size_t i = 0; i < with_noise.test.size(); ++i) {
        double f = 0.0;
        for (std::size_t j = 0; j < 10; ++j)
            f += beta[j] * with_noise.test.features(i, j);
        test_residual = std::max(test_residual, std::abs(with_noise.test.targets(i, 0) - f));
    }
    CHECK_THAT(residual / 2000.0, WithinRel(0.25, 0.1));
    CHECK(test_residual < 1e-4);
    // E[y²] = r² + σ² for isotropic x.
    CHECK_THAT(mean_square(with_noise.train.targets), WithinRel(9.25, 0.1));
}

TEST_CASE("gaussian_regression: covariance spectra and the random-network teacher's scale",
          "[gaussian_regression]") {
    const auto power = make({{"dim", std::int64_t{4}},
                             {"n_train", std::int64_t{20000}},
                             {"covariance", std::string("power_law")},
                             {"decay", 2.0}});
    const auto s = power.generate(2);
    // Variances ∝ 1, 1/4, 1/9, 1/16 with mean 1: 1/(1 + 1/4 + 1/9 + 1/16) · 4 · j^-2.
    const double unit = 4.0 / (1.0 + 0.25 + 1.0 / 9.0 + 1.0 / 16.0);
    for (std::size_t j = 0; j < 4; ++j) {
        double v = 0.0;
        for (std::size_t i = 0; i < s.train.size(); ++i)
            v += double(s.train.features(i, j)) * s.train.features(i, j);
        INFO("coordinate " << j);
        CHECK_THAT(v / 20000.0, WithinRel(unit / double((j + 1) * (j + 1)), 0.05));
    }
    const auto net = make({{"dim", std::int64_t{50}},
                           {"n_train", std::int64_t{4000}},
                           {"teacher", std::string("random_network")},
                           {"signal", 2.0},
                           {"noise", 0.0},
                           {"teacher_width", std::int64_t{200}}});
    CHECK_THAT(mean_square(net.generate(5).train.targets), WithinRel(4.0, 0.2));
}

TEST_CASE("gaussian_regression: classification labels are the signs, with flips recorded",
          "[gaussian_regression]") {
    const auto ds = make({{"dim", std::int64_t{6}},
                          {"n_train", std::int64_t{400}},
                          {"task", std::string("classification")},
                          {"label_noise", 0.1}});
    CHECK(ds.spec().n_classes == 2);
    CHECK(ds.spec().n_targets == 0);
    const auto s = ds.generate(7);
    CHECK(s.train.targets.size() == 0);
    const double ones = std::accumulate(s.train.labels.begin(), s.train.labels.end(), 0.0);
    CHECK(ones > 120);
    CHECK(ones < 280);
    REQUIRE(s.records.size() == 2);
    CHECK(s.records[0].values.size() == 40);
    CHECK(std::isnan(ds.least_squares_risk(s, 0.0)));
    // Label noise needs classes.
    gaussian_regression::dataset_impl bad;
    grokkit::param_set ps;
    bad.declare(ps);
    REQUIRE_FALSE(ps.find("label_noise")->assign(0.1));
    CHECK_THROWS_WITH(bad.generate(1), Catch::Matchers::Contains("label noise with real-valued"));
}

TEST_CASE("gaussian_regression: the ridgeless theory it offers is Hastie et al.'s",
          "[gaussian_regression]") {
    const auto ds = make({{"dim", std::int64_t{50}},
                          {"n_train", std::int64_t{100}},
                          {"signal", 1.0},
                          {"noise", 0.5}});
    const auto s = ds.generate(1);
    CHECK_THAT(ds.least_squares_risk(s, 0.0), WithinRel(0.25 * 0.5 / 0.5, 1e-12));
    const auto noisy_test = make({{"dim", std::int64_t{200}},
                                  {"n_train", std::int64_t{100}},
                                  {"noise", 0.5},
                                  {"test_noise", true}});
    CHECK_THAT(noisy_test.least_squares_risk(noisy_test.generate(1), 0.0),
               WithinRel(1.0 * 0.5 + 0.25 / 1.0 + 0.25, 1e-12));
    const auto power = make({{"covariance", std::string("power_law")}});
    CHECK(std::isnan(power.least_squares_risk(power.generate(1), 0.0)));
}

TEST_CASE("isotropic ridge risk: the ridge formula meets the ridgeless limits", "[least_squares]") {
    for (const double gamma : {0.3, 0.8, 1.25, 3.0}) {
        INFO("gamma " << gamma);
        const double ridgeless = grokkit::isotropic_ridge_risk(gamma, 0.0, 2.0, 0.7);
        CHECK_THAT(grokkit::isotropic_ridge_risk(gamma, 1e-7, 2.0, 0.7),
                   WithinRel(ridgeless, 1e-4));
        // Large ridge: β̂ → 0, so the risk → r².
        CHECK_THAT(grokkit::isotropic_ridge_risk(gamma, 1e6, 2.0, 0.7), WithinRel(4.0, 1e-4));
    }
    // The optimal ridge λ* = σ²γ/r² (Hastie et al., Corollary 5) is below its neighbours.
    const double gamma = 2.0, best = 0.49 * gamma / 4.0;
    const double at = grokkit::isotropic_ridge_risk(gamma, best, 2.0, 0.7);
    CHECK(at < grokkit::isotropic_ridge_risk(gamma, best * 1.2, 2.0, 0.7));
    CHECK(at < grokkit::isotropic_ridge_risk(gamma, best / 1.2, 2.0, 0.7));
    CHECK(std::isinf(grokkit::isotropic_ridge_risk(1.0, 0.0, 1.0, 1.0)));
    CHECK_THAT(grokkit::isotropic_ridge_risk(0.5, 0.0, 1.0, 0.0), WithinAbs(0.0, 1e-15));
}
