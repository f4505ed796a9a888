// Class masks in core: the loss, softmax and accuracy see only allowed classes; masks travel
// with slices, subsets and minibatches; what does not fit a mask is refused.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/data.hpp>
#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace grokkit;

namespace {
xt::xtensor<float, 2> some_logits() {
    return {{2.0f, -1.0f, 0.5f, 3.0f}, {0.1f, 0.2f, -0.3f, 0.0f}, {5.0f, 1.0f, 1.5f, -2.0f}};
}
} // namespace

TEST_CASE("class_mask: rows are sorted, deduplicated and copied row by row", "[mask]") {
    class_mask m;
    m.add({3, 1, 3});
    m.add({});
    m.add({0, 2});
    CHECK(m.offsets == std::vector<std::int64_t>{0, 2, 2, 4});
    CHECK(m.classes == std::vector<std::int32_t>{1, 3, 0, 2});
    class_mask copy;
    copy.add_row_of(m, 2);
    copy.add_row_of(m, 0);
    CHECK(copy.offsets == std::vector<std::int64_t>{0, 2, 4});
    CHECK(copy.classes == std::vector<std::int32_t>{0, 2, 1, 3});
}

TEST_CASE("masked cross-entropy: a mask of every class changes nothing, bit for bit", "[mask]") {
    const auto logits = some_logits();
    const std::int32_t labels[] = {0, 3, 2};
    class_mask all;
    for (int i = 0; i < 3; ++i)
        all.add({0, 1, 2, 3});
    xt::xtensor<float, 2> plain, masked;
    const auto a = nn::softmax_cross_entropy(logits, labels, &plain);
    const auto b = nn::softmax_cross_entropy(logits, labels, &masked, 1.0, view_of(all));
    CHECK(a.loss == b.loss);
    CHECK(a.n_correct == b.n_correct);
    CHECK(std::equal(plain.begin(), plain.end(), masked.begin()));
}

TEST_CASE("masked cross-entropy: disallowed classes get zero probability, gradient and votes",
          "[mask]") {
    const auto logits = some_logits();
    const std::int32_t labels[] = {0, 1, 2};
    class_mask m;
    m.add({0, 2}); // 3 (the largest logit) is disallowed: the arg-max is 0, the label
    m.add({1, 3});
    m.add({1, 2}); // 0 (the largest) disallowed: the arg-max is 2, the label
    xt::xtensor<float, 2> d, p;
    const auto s = nn::softmax_cross_entropy(logits, labels, &d, 1.0, view_of(m));
    CHECK(s.n_correct == 3);
    nn::softmax(logits, p, view_of(m));
    // Row 0 by hand: the softmax over logits 2 and 0.5 only.
    const double e0 = std::exp(2.0), e2 = std::exp(0.5);
    CHECK(p(0, 0) == Approx(e0 / (e0 + e2)));
    CHECK(p(0, 1) == 0.0f);
    CHECK(p(0, 3) == 0.0f);
    CHECK(d(0, 1) == 0.0f);
    CHECK(d(0, 3) == 0.0f);
    CHECK(d(0, 0) == Approx((e0 / (e0 + e2) - 1.0) / 3.0));
    CHECK(d(0, 2) == Approx(e2 / (e0 + e2) / 3.0));
    const double expected = -std::log(e0 / (e0 + e2)) -
                            std::log(std::exp(0.2) / (std::exp(0.2) + std::exp(0.0))) -
                            std::log(std::exp(1.5) / (std::exp(1.0) + std::exp(1.5)));
    CHECK(s.loss == Approx(expected));
    // The per-example view agrees.
    example_set set;
    set.labels = {0, 1, 2};
    set.features = xt::zeros<float>({3, 1});
    set.mask = m;
    const auto each = example_losses(loss_config{}, logits, as_batch(set));
    CHECK(each[0].loss == Approx(-std::log(e0 / (e0 + e2))));
    CHECK(each[2].correct);
}

TEST_CASE("masks: what does not fit is refused", "[mask]") {
    const auto logits = some_logits();
    class_mask m;
    m.add({0, 2});
    m.add({1, 3});
    m.add({1, 2});
    const std::int32_t outside[] = {0, 1, 3};
    CHECK_THROWS_WITH(nn::softmax_cross_entropy<float>(logits, outside, nullptr, 1.0, view_of(m)),
                      Catch::Contains("label 3 of example 2 is not among its allowed classes"));
    loss_config mse;
    mse.name = "mse";
    const std::int32_t labels[] = {0, 1, 2};
    CHECK_THROWS_WITH(evaluate_loss(mse, logits, labels, nullptr, view_of(m)),
                      Catch::Contains("mse with a dataset that masks classes"));
    example_set set;
    set.labels = {0, 1, 2};
    set.features = xt::zeros<float>({3, 1});
    set.mask = m;
    CHECK_THROWS_WITH(add_label_noise(set, 0.5, 1, 4), Catch::Contains("mask their classes"));
}

TEST_CASE("masks: applied to logits as minus infinity, and carried by slices and subsets",
          "[mask]") {
    auto logits = some_logits();
    class_mask m;
    m.add({0, 2});
    m.add({1, 3});
    m.add({1, 2});
    apply_class_mask(logits, view_of(m));
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(logits(0, 1) == -inf);
    CHECK(logits(0, 3) == -inf);
    CHECK(logits(0, 2) == 0.5f);
    CHECK(logits(2, 0) == -inf);

    example_set set;
    set.labels = {0, 1, 2};
    set.features = xt::zeros<float>({3, 1});
    set.mask = m;
    const batch tail = slice_batch(set, 1, 2);
    CHECK(tail.mask.classes[tail.mask.offsets[1]] == 1); // row 2 of the set
    const example_set picked = subset(set, {2, 0});
    CHECK(picked.mask.offsets == std::vector<std::int64_t>{0, 2, 4});
    CHECK(picked.mask.classes == std::vector<std::int32_t>{1, 2, 0, 2});
}
