// Tests of double_descent: Hastie et al.'s ridgeless and ridge risks reproduced by closed-form
// fits of the isotropic linear model, gradient descent from zero reaching the minimum-norm
// solution, and the errors a pipeline gets for a model or setting it cannot vary.
// SPDX-License-Identifier: Apache-2.0
#include "double_descent.hpp"
#include "host/runner.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/least_squares.hpp>
#include <grokkit/run_file.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <grokkit_test/host.hpp>
#include <numeric>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// gaussian_regression with n = 400 (r = 1, sigma = 0.5, noiseless test targets) and the linear
// model without bias; `analysis` is the [[analysis]] table's body.
std::string pipeline(const std::string& model, const std::string& analysis) {
    return R"([run]
name = "dd"
seed = 5
threads = 1

[dataset]
plugin = "gaussian_regression"
dim = 10
n_train = 400
n_test = 1000
signal = 1.0
noise = 0.5

[model]
)" + model +
           R"(

[train]
steps = 0
loss = "mse"

[[analysis]]
plugin = "double_descent"
at = "end"
)" + analysis;
}

fs::path run(const fs::path& dir, const std::string& text) {
    std::ofstream(dir / "p.toml") << text;
    grokkit::run_options o;
    o.pipeline_file = dir / "p.toml";
    o.out = dir / "r.h5";
    grokkit::run_pipeline(grokkit_test::builtin_plugins(), o, {});
    return o.out;
}

} // namespace

TEST_CASE("double_descent: the isotropic linear model's risk is Hastie et al.'s, and gradient "
          "descent from zero reaches the minimum-norm solution",
          "[double_descent]") {
    grokkit_test::scratch_dir dir("double_descent_theory");
    const fs::path file =
        run(dir.path, pipeline("plugin = \"linear\"\nbias = false",
                               "ratios = [0.5, 0.8, 1.25, 2.0, 4.0]\nridges = [0.0, 0.5]\n"
                               "draws = 20\n"));
    const grokkit::run_file f(file);
    const auto gamma = f.analysis_output("double_descent", "gamma", 0).array();
    const auto mean = f.analysis_output("double_descent", "mean_test_risk", 0).array();
    const auto theory = f.analysis_output("double_descent", "theory_risk", 0).array();
    const auto train = f.analysis_output("double_descent", "train_risk", 0).array();
    const double ratios[] = {0.5, 0.8, 1.25, 2.0, 4.0};
    for (std::size_t r = 0; r < 5; ++r) {
        CHECK(gamma(r) == ratios[r]); // d = gamma * 400 exactly
        for (std::size_t l = 0; l < 2; ++l) {
            INFO("gamma " << gamma(r) << ", ridge " << l << ": measured " << mean(r, l)
                          << ", theory " << theory(r, l));
            CHECK(std::abs(mean(r, l) / theory(r, l) - 1.0) < 0.10);
        }
        // Ridgeless fits interpolate above the threshold and not below it.
        if (gamma(r) > 1)
            CHECK(train(r, 0, 0) < 1e-6);
        else
            CHECK(train(r, 0, 0) > 0.01);
    }
    // The formulas' values themselves, at the ridgeless end: σ²γ/(1 − γ) and r²(1 − 1/γ) +
    // σ²/(γ − 1).
    CHECK(theory(0, 0) == Approx(0.25));
    CHECK(theory(3, 0) == Approx(0.5 + 0.25));

    // Gradient descent from zero on an overparameterised draw (d = 2n) converges to Φ⁺y.
    grokkit::registry& reg = grokkit_test::builtin_plugins();
    std::unique_ptr<grokkit::dataset> data(static_cast<grokkit::dataset*>(
        reg.create("gaussian_regression", grokkit::plugin_kind::dataset).release()));
    std::unique_ptr<grokkit::model> net(
        static_cast<grokkit::model*>(reg.create("linear", grokkit::plugin_kind::model).release()));
    grokkit::param_set dp, mp;
    data->declare(dp);
    net->declare(mp);
    REQUIRE_FALSE(dp.find("dim")->assign(std::int64_t{200}));
    REQUIRE_FALSE(dp.find("n_train")->assign(std::int64_t{100}));
    REQUIRE_FALSE(mp.find("bias")->assign(false));
    const grokkit::dataset_split split = data->generate(3);
    net->build(data->spec(), 3);
    grokkit::fit_readout(*net, split.train, 0.0);
    const std::vector<float> min_norm = grokkit::flat_parameters(*net);
    net->build(data->spec(), 3); // init = "zeros"
    grokkit::train_config cfg;
    cfg.loss.name = "mse";
    cfg.optimizer.kind = "sgd";
    cfg.optimizer.weight_decay = 0.0;
    cfg.lr = 0.08; // below 2 / λ_max of the Hessian 2XᵀX/n (about 11.7 at d/n = 2)
    cfg.steps = 1500;
    grokkit::set_blas_threads(1);
    grokkit::train(*net, split.train, cfg, 3);
    const std::vector<float> descended = grokkit::flat_parameters(*net);
    double diff = 0.0, norm = 0.0;
    for (std::size_t k = 0; k < min_norm.size(); ++k) {
        diff += std::pow(double(descended[k]) - min_norm[k], 2);
        norm += double(min_norm[k]) * min_norm[k];
    }
    CHECK(std::sqrt(diff / norm) < 1e-3);
}

TEST_CASE("double_descent: a model with a bias or an unknown setting is refused with the reason",
          "[double_descent]") {
    grokkit_test::scratch_dir dir("double_descent_errors");
    CHECK_THROWS_WITH(run(dir.path, pipeline("plugin = \"linear\"", "ratios = [0.5]\n")),
                      Contains("bias = false"));
    CHECK_THROWS_WITH(run(dir.path, pipeline("plugin = \"mlp\"\nhidden = [8]", "ratios = [0.5]\n")),
                      Contains("not a fixed-features readout"));
    CHECK_THROWS_WITH(run(dir.path, pipeline("plugin = \"linear\"\nbias = false",
                                             "ratios = [0.5]\nvary = \"dataset.width\"\n")),
                      Contains("no setting \"dataset.width\"") && Contains("dataset.dim"));
    CHECK_THROWS_WITH(run(dir.path, pipeline("plugin = \"linear\"\nbias = false",
                                             "ratios = [0.5]\nvary = \"train.lr\"\n")),
                      Contains("\"dataset.<key>\" or \"model.<key>\""));
}
