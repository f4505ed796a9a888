// Tests of real-valued targets: the squared error to targets, its gradient, and targets carried
// through batches, subsets, minibatches and the trainer's metrics.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;
using Catch::Matchers::WithinRel;

namespace {

// n examples of one feature x = i with two targets (i, -2i).
grokkit::example_set ramp(std::size_t n) {
    grokkit::example_set s;
    s.features = xt::zeros<float>({n, std::size_t{1}});
    s.targets = xt::zeros<float>({n, std::size_t{2}});
    for (std::size_t i = 0; i < n; ++i) {
        s.features(i, 0) = static_cast<float>(i);
        s.targets(i, 0) = static_cast<float>(i);
        s.targets(i, 1) = -2.0f * static_cast<float>(i);
    }
    return s;
}

// A model whose outputs are its parameter row (2 values), the same for every example.
class constant_model : public grokkit::model {
  public:
    void declare(grokkit::param_set&) override {}
    void build(const grokkit::input_spec& spec, std::uint64_t) override {
        m_w.value = xt::zeros<float>({spec.n_outputs()});
        m_w.grad = m_w.value;
    }
    std::vector<grokkit::parameter*> parameters() override { return {&m_w}; }
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override {
        logits = xt::zeros<float>({x.n, m_w.value.size()});
        for (std::size_t i = 0; i < x.n; ++i)
            for (std::size_t c = 0; c < m_w.value.size(); ++c)
                logits(i, c) = m_w.value(c);
    }
    void backward(const xt::xtensor<float, 2>& dlogits) override {
        m_w.grad.fill(0.0f);
        for (std::size_t i = 0; i < dlogits.shape(0); ++i)
            for (std::size_t c = 0; c < m_w.value.size(); ++c)
                m_w.grad(c) += dlogits(i, c);
    }
    std::vector<std::string> representations() const override { return {}; }
    xt::xarray<float> representation(const std::string&, const grokkit::batch&) override {
        return {};
    }

  private:
    grokkit::parameter m_w{"w", {}, {}, true};
};

} // namespace

TEST_CASE("regression: the squared error to targets and its gradient", "[regression]") {
    const grokkit::example_set s = ramp(4);
    xt::xtensor<float, 2> logits = {{0.5f, 0.0f}, {1.0f, -1.0f}, {2.0f, -4.0f}, {0.0f, 0.0f}};
    xt::xtensor<float, 2> dlogits;
    grokkit::loss_config mse;
    mse.name = "mse";
    const auto sum = grokkit::evaluate_loss(mse, logits, grokkit::as_batch(s), &dlogits);
    // Row errors (0.5, 0), (0, 1), (0, 0), (-3, 6): 0.25 + 1 + 0 + 45.
    CHECK_THAT(sum.loss, WithinRel(46.25, 1e-12));
    CHECK(sum.n_correct == 0);
    CHECK_THAT(dlogits(3, 1), WithinRel(2.0 * 6.0 / 4.0, 1e-6));
    CHECK_THAT(dlogits(0, 0), WithinRel(2.0 * 0.5 / 4.0, 1e-6));
    // class_mean divides by the outputs' count, as torch's MSELoss does.
    mse.class_mean = true;
    CHECK_THAT(grokkit::evaluate_loss(mse, logits, grokkit::as_batch(s), nullptr).loss,
               WithinRel(46.25 / 2, 1e-12));
    const auto each = grokkit::example_losses(mse, logits, grokkit::as_batch(s));
    CHECK_THAT(each[3].loss, WithinRel(45.0 / 2, 1e-12));
    CHECK_FALSE(each[3].correct);

    CHECK_THROWS_WITH(
        grokkit::evaluate_loss(grokkit::loss_config{}, logits, grokkit::as_batch(s), nullptr),
        Contains("real-valued targets") && Contains("mse"));
    xt::xtensor<float, 2> narrow = xt::zeros<float>({std::size_t{4}, std::size_t{1}});
    CHECK_THROWS_WITH(grokkit::evaluate_loss(mse, narrow, grokkit::as_batch(s), nullptr),
                      Contains("one output per target"));
    grokkit::example_set bad = ramp(2);
    bad.targets(1, 0) = std::nanf("");
    CHECK_THROWS_WITH(grokkit::evaluate_loss(mse, narrow, grokkit::as_batch(bad), nullptr),
                      Contains("one output per target"));
    xt::xtensor<float, 2> two = xt::zeros<float>({std::size_t{2}, std::size_t{2}});
    CHECK_THROWS_WITH(grokkit::evaluate_loss(mse, two, grokkit::as_batch(bad), nullptr),
                      Contains("finite targets"));
}

TEST_CASE("regression: targets travel with slices, subsets and minibatches", "[regression]") {
    const grokkit::example_set s = ramp(10);
    CHECK(s.size() == 10);
    const grokkit::batch b = grokkit::slice_batch(s, 3, 2);
    REQUIRE(b.targets != nullptr);
    CHECK(b.n_targets == 2);
    CHECK(b.targets[0] == 3.0f);
    CHECK(b.targets[3] == -8.0f);
    CHECK(b.labels == nullptr);
    const grokkit::example_set sub = grokkit::subset(s, {7, 2});
    CHECK(sub.size() == 2);
    CHECK(sub.labels.size() == 0);
    CHECK(sub.targets(0, 1) == -14.0f);
    CHECK(sub.targets(1, 0) == 2.0f);

    // Minibatch gradient descent on the constant model reaches the targets' mean (4.5, -9).
    grokkit::input_spec spec;
    spec.n_features = 1;
    spec.n_targets = 2;
    constant_model m;
    m.build(spec, 0);
    grokkit::train_config cfg;
    cfg.loss.name = "mse";
    cfg.optimizer.kind = "sgd";
    cfg.optimizer.weight_decay = 0.0;
    cfg.lr = 0.05;
    cfg.batch_size = 5;
    cfg.steps = 400;
    grokkit::train(m, s, cfg, 1);
    CHECK_THAT(m.parameters()[0]->value(0), WithinRel(4.5, 0.1));
    CHECK_THAT(m.parameters()[0]->value(1), WithinRel(-9.0, 0.1));
    // Full batch: the metrics are the mean squared errors, and no accuracy.
    cfg.batch_size = 0;
    grokkit::trainer t(m, s, cfg, 1);
    const std::vector<double> metrics = t.evaluate(0, sub);
    xt::xtensor<float, 2> logits;
    m.forward(grokkit::as_batch(s), logits);
    CHECK_THAT(
        metrics[0],
        WithinRel(grokkit::evaluate_loss(cfg.loss, logits, grokkit::as_batch(s), nullptr).loss /
                      10.0,
                  1e-9));
    CHECK(std::isnan(metrics[1]));
    CHECK(std::isnan(metrics[3]));
}
