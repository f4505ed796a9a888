// Tests of robustness: Jacobian norms and segment slopes of a linear map, where both are known
// exactly, and the outputs of a run of an MLP on noisy Gaussian data.
// SPDX-License-Identifier: Apache-2.0
#include "host/runner.hpp"
#include "robustness.hpp"

#include <grokkit/rng.hpp>
#include <grokkit/run_file.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <grokkit_test/host.hpp>

namespace fs = std::filesystem;
using Catch::Matchers::WithinRel;

namespace {

// f(x) = x·W for a fixed W (3, 2): its Jacobian is Wᵀ everywhere.
class fixed_linear : public grokkit::model {
  public:
    void declare(grokkit::param_set&) override {}
    void build(const grokkit::input_spec&, std::uint64_t) override {}
    std::vector<grokkit::parameter*> parameters() override { return {&m_w}; }
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override {
        logits = xt::zeros<float>({x.n, std::size_t{2}});
        for (std::size_t i = 0; i < x.n; ++i)
            for (std::size_t c = 0; c < 2; ++c)
                for (std::size_t j = 0; j < 3; ++j)
                    logits(i, c) += x.features[i * 3 + j] * m_w.value(j, c);
    }
    void backward(const xt::xtensor<float, 2>&) override {}
    void input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& w,
                         xt::xtensor<float, 2>& out) override {
        out = xt::zeros<float>({x.n, std::size_t{3}});
        for (std::size_t i = 0; i < x.n; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                for (std::size_t c = 0; c < 2; ++c)
                    out(i, j) += m_w.value(j, c) * w(i, c);
    }
    std::vector<std::string> representations() const override { return {}; }
    xt::xarray<float> representation(const std::string&, const grokkit::batch&) override {
        return {};
    }

    grokkit::parameter m_w{"w", xt::xarray<float>{{1, 0}, {0, 2}, {2, 0}}, {}, true};
};

} // namespace

TEST_CASE("robustness: a linear map's Jacobian norm and slopes are |W| and at most its largest "
          "singular value",
          "[robustness]") {
    fixed_linear f;
    grokkit::example_set set;
    set.features = xt::zeros<float>({std::size_t{40}, std::size_t{3}});
    grokkit::rng r(1, "test");
    for (float& v : set.features)
        v = static_cast<float>(r.normal());
    for (const double norm : robustness::jacobian_norms(f, set, 2))
        CHECK_THAT(norm, WithinRel(3.0, 1e-6)); // sqrt(1 + 4 + 4)
    // Along (0, 1, 0) the slope is |(0, 2)| = 2; W's largest singular value is sqrt(5).
    set.features(0, 0) = 0, set.features(0, 1) = 0, set.features(0, 2) = 0;
    set.features(1, 0) = 0, set.features(1, 1) = 3, set.features(1, 2) = 0;
    CHECK_THAT(robustness::largest_segment_slope(f, set, {{0, 1}}, 4), WithinRel(2.0, 1e-6));
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (std::size_t i = 0; i + 1 < 40; ++i)
        pairs.emplace_back(i, i + 1);
    const double slope = robustness::largest_segment_slope(f, set, pairs, 5);
    CHECK(slope <= std::sqrt(5.0) + 1e-5);
    CHECK(slope > 1.0); // the smallest singular value of W is 1
}

TEST_CASE("robustness: a run writes the slopes beside sqrt(n d / P)", "[robustness]") {
    grokkit_test::scratch_dir dir("robustness_run");
    std::ofstream(dir.path / "p.toml") << R"([run]
name = "rb"
seed = 2
threads = 1

[dataset]
plugin = "gaussian_regression"
dim = 8
n_train = 64
n_test = 64
noise = 0.5

[model]
plugin = "mlp"
hidden = [16]
activation = "gelu"

[train]
loss = "mse"
steps = 40
lr = 1e-2
eval_every = 20
checkpoint_every = 20

[[analysis]]
plugin = "robustness"
at = "checkpoints"
segments = 50
)";
    grokkit::run_options o;
    o.pipeline_file = dir.path / "p.toml";
    o.out = dir.path / "r.h5";
    grokkit::run_pipeline(grokkit_test::builtin_plugins(), o, {});
    const grokkit::run_file f(o.out);
    CHECK(f.analysis_steps("robustness").size() == 3);
    const auto scale = f.analysis_scalars("robustness", "bubeck_sellke_scale");
    // P = 8·16 + 16 + 16·1 + 1 = 161.
    CHECK_THAT(scale.back(), WithinRel(std::sqrt(64.0 * 8.0 / 161.0), 1e-12));
    for (const char* output : {"train_gradient_mean", "test_gradient_max", "segment_slope_max"})
        for (const double v : f.analysis_scalars("robustness", output)) {
            INFO(output);
            CHECK(v > 0.0);
            CHECK(std::isfinite(v));
        }
    // The mean is at most the max; slopes along segments cannot exceed the largest gradient
    // norm by much for a smooth network (the segments' points lie near the data).
    const auto mean = f.analysis_scalars("robustness", "train_gradient_mean");
    const auto max = f.analysis_scalars("robustness", "train_gradient_max");
    CHECK(mean.back() <= max.back());
}
