// Tests of the mlp model: gradients against finite differences, spec checks, layout, training.
// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <grokkit/error.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using logits_t = xt::xtensor<float, 2>;

constexpr std::size_t vocab = 7;

grokkit::input_spec small_spec(std::size_t n_tokens = 2, std::size_t n_classes = vocab) {
    grokkit::input_spec spec;
    spec.n_tokens = n_tokens;
    spec.vocab_size = vocab;
    spec.n_classes = n_classes;
    return spec;
}

// The tiny model of the gradient checks: vocab 7, d_embed 4, hidden [5].
struct layout {
    bool tied;
    std::string combine;
    bool shared;
};

mlp::params small_params(const std::string& activation, const layout& l) {
    mlp::params p;
    p.d_embed = 4;
    p.hidden = {5};
    p.activation = activation;
    p.combine = l.combine;
    p.shared_embedding = l.shared;
    p.tie_unembedding = l.tied;
    return p;
}

// Pairs (a, b) labelled (a + b) mod 7, stored as a batch would point at them.
struct examples {
    std::vector<std::int32_t> tokens; // (n, 2)
    std::vector<std::int32_t> labels; // (n,)

    std::size_t size() const { return labels.size(); }
    void push(std::int32_t a, std::int32_t b) {
        tokens.push_back(a);
        tokens.push_back(b);
        labels.push_back((a + b) % static_cast<std::int32_t>(vocab));
    }
    grokkit::batch as_batch() const {
        grokkit::batch b;
        b.tokens = tokens.data();
        b.labels = labels.data();
        b.n = labels.size();
        return b;
    }
};

examples random_examples(std::size_t n, std::uint64_t seed) {
    grokkit::rng r(seed, "test");
    examples out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push(static_cast<std::int32_t>(r.below(vocab)),
                 static_cast<std::int32_t>(r.below(vocab)));
    }
    return out;
}

// The first `n` examples whose first-layer pre-activations all lie farther than `margin` from 0:
// a step of h = 1e-2 in any parameter then cannot carry a relu unit across its kink.
examples away_from_kinks(mlp::model_impl& m, const examples& pool, std::size_t n, float margin) {
    const xt::xarray<float> pre = m.representation("hidden0.pre", pool.as_batch());
    examples out;
    for (std::size_t i = 0; i < pool.size() && out.size() < n; ++i) {
        bool is_clear = true;
        for (std::size_t j = 0; j < pre.shape(1); ++j) {
            is_clear = is_clear && std::abs(pre(i, j)) > margin;
        }
        if (is_clear) {
            out.push(pool.tokens[2 * i], pool.tokens[2 * i + 1]);
        }
    }
    REQUIRE(out.size() == n);
    return out;
}

// Mean cross-entropy of the float model, accumulated in double by nn::softmax_cross_entropy.
double mean_loss(mlp::model_impl& m, const examples& data) {
    logits_t logits;
    m.forward(data.as_batch(), logits);
    const grokkit::nn::loss_sum s =
        grokkit::nn::softmax_cross_entropy<float>(logits, data.labels.data(), nullptr);
    return s.loss / static_cast<double>(data.size());
}

// One forward and backward pass: every parameter's grad is then d(mean loss)/d(value).
double compute_gradients(mlp::model_impl& m, const examples& data) {
    logits_t logits, dlogits;
    m.forward(data.as_batch(), logits);
    const grokkit::nn::loss_sum s =
        grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
    m.backward(dlogits);
    return s.loss / static_cast<double>(data.size());
}

// ‖grad − central differences‖₂ / ‖central differences‖₂ for one parameter tensor.
double gradient_error(mlp::model_impl& m, grokkit::parameter& p, const examples& data) {
    constexpr float h = 1e-2f;
    double diff = 0.0;
    double norm = 0.0;
    float* values = p.value.data();
    for (std::size_t i = 0; i < p.value.size(); ++i) {
        const float saved = values[i];
        values[i] = saved + h;
        const double plus = mean_loss(m, data);
        values[i] = saved - h;
        const double minus = mean_loss(m, data);
        values[i] = saved;
        const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
        const double analytic = p.grad.data()[i];
        diff += (analytic - numeric) * (analytic - numeric);
        norm += numeric * numeric;
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

std::vector<std::string> names_of(mlp::model_impl& m) {
    std::vector<std::string> names;
    for (const grokkit::parameter* p : m.parameters()) {
        names.push_back(p->name);
    }
    return names;
}

} // namespace

TEST_CASE("mlp: float gradients match central differences of the loss", "[mlp]") {
    const std::string activation = GENERATE("relu", "gelu", "square");
    const layout l = GENERATE(layout{false, "concat", false}, layout{false, "sum", true},
                              layout{true, "concat", true}, layout{true, "sum", true});
    // Tied: 6 examples multiply h·W_out·Eᵀ left to right, 40 form W_out·Eᵀ first.
    const std::size_t n = GENERATE(6, 40);
    INFO("activation " << activation << ", tied " << l.tied << ", combine " << l.combine
                       << ", shared " << l.shared << ", n " << n);

    mlp::model_impl m(small_params(activation, l));
    m.build(small_spec(), 11);
    const examples data = away_from_kinks(m, random_examples(400, 12), n, 0.1f);
    compute_gradients(m, data);
    // h = 1e-2 in float: rounding of the loss (~1e-7 · 2 / h) and the O(h²) truncation stay
    // well below the 2e-2 tolerance.
    for (grokkit::parameter* p : m.parameters()) {
        INFO("parameter " << p->name);
        CHECK(gradient_error(m, *p, data) < 2e-2);
    }
}

TEST_CASE("mlp: tied logits agree for both product orders", "[mlp]") {
    mlp::model_impl m(small_params("gelu", layout{true, "concat", true}));
    m.build(small_spec(), 3);
    const examples many = random_examples(40, 4);
    examples few;
    for (std::size_t i = 0; i < 6; ++i) {
        few.push(many.tokens[2 * i], many.tokens[2 * i + 1]);
    }
    logits_t logits_few, logits_many;
    m.forward(few.as_batch(), logits_few);
    m.forward(many.as_batch(), logits_many);
    for (std::size_t i = 0; i < 6; ++i) {
        for (std::size_t j = 0; j < vocab; ++j) {
            CHECK_THAT(logits_few(i, j), Catch::Matchers::WithinAbs(logits_many(i, j), 1e-5));
        }
    }
}

TEST_CASE("mlp: backward overwrites gradients", "[mlp]") {
    mlp::model_impl m(small_params("relu", layout{true, "sum", true}));
    m.build(small_spec(), 5);
    const examples data = random_examples(16, 6);
    compute_gradients(m, data);
    std::vector<xt::xarray<float>> first;
    for (const grokkit::parameter* p : m.parameters()) {
        first.push_back(p->grad);
    }
    compute_gradients(m, data);
    const std::vector<grokkit::parameter*> params = m.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        INFO("parameter " << params[i]->name);
        const bool same = params[i]->grad == first[i];
        CHECK(same);
    }
}

TEST_CASE("mlp: gradient descent lowers the loss on a fixed batch", "[mlp]") {
    const std::string activation = GENERATE("relu", "gelu", "square");
    INFO("activation " << activation);
    mlp::model_impl m(small_params(activation, layout{false, "concat", false}));
    m.build(small_spec(), 7);
    const examples data = random_examples(32, 8);
    const double initial = compute_gradients(m, data);
    for (int step = 0; step < 20; ++step) {
        for (grokkit::parameter* p : m.parameters()) {
            p->value -= 0.1f * p->grad;
        }
        compute_gradients(m, data);
    }
    CHECK(mean_loss(m, data) < initial);
}

TEST_CASE("mlp: build rejects inputs without exactly 2 tokens, naming both specs", "[mlp]") {
    mlp::model_impl m;
    const grokkit::input_spec spec = small_spec(3);
    CHECK_THROWS_AS(m.build(spec, 1), grokkit::error);
    CHECK_THROWS_WITH(m.build(spec, 1), Catch::Contains("mlp.build") &&
                                            Catch::Contains(spec.describe()) &&
                                            Catch::Contains("expected tokens (2 positions"));
}

TEST_CASE("mlp: tied unembedding needs a shared table and one class per token", "[mlp]") {
    mlp::params p = small_params("relu", layout{true, "concat", false});
    mlp::model_impl unshared(p);
    grokkit::param_set ps;
    unshared.declare(ps);
    REQUIRE(ps.checks().size() == 1);
    CHECK(ps.checks()[0].key == "tie_unembedding");
    CHECK(ps.checks()[0].expected == "shared_embedding = true");
    CHECK(ps.checks()[0].rule().has_value());
    CHECK_THROWS_WITH(unshared.build(small_spec(), 1), Catch::Contains("shared_embedding"));

    p.shared_embedding = true;
    mlp::model_impl shared(p);
    grokkit::param_set ps_shared;
    shared.declare(ps_shared);
    CHECK_FALSE(ps_shared.checks()[0].rule().has_value());
    CHECK_THROWS_WITH(shared.build(small_spec(2, 5), 1),
                      Catch::Contains("tie_unembedding") && Catch::Contains("5 classes"));
}

TEST_CASE("mlp: every parameter is declared with a doc string", "[mlp]") {
    mlp::model_impl m;
    grokkit::param_set ps;
    m.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        INFO("key " << p.key());
        CHECK_FALSE(p.doc().empty());
    }
    // The README's table lists these keys in this order.
    CHECK(keys == std::vector<std::string>{"d_embed", "hidden", "activation", "combine",
                                           "shared_embedding", "tie_unembedding", "bias",
                                           "init_scale"});
}

TEST_CASE("mlp: parameters are named and shaped by the layout", "[mlp]") {
    mlp::model_impl untied(small_params("relu", layout{false, "concat", false}));
    untied.build(small_spec(), 1);
    CHECK(names_of(untied) == std::vector<std::string>{"embed_a", "embed_b", "hidden0.weight",
                                                       "hidden0.bias", "out.weight", "out.bias"});
    const std::vector<grokkit::parameter*> u = untied.parameters();
    CHECK(u[2]->value.shape() == std::vector<std::size_t>{8, 5});
    CHECK(u[4]->value.shape() == std::vector<std::size_t>{5, vocab});

    mlp::params p = small_params("relu", layout{true, "sum", true});
    p.bias = false;
    mlp::model_impl tied(p);
    tied.build(small_spec(), 1);
    CHECK(names_of(tied) == std::vector<std::string>{"embed", "hidden0.weight", "out.weight"});
    const std::vector<grokkit::parameter*> t = tied.parameters();
    CHECK(t[0]->value.shape() == std::vector<std::size_t>{vocab, 4});
    CHECK(t[1]->value.shape() == std::vector<std::size_t>{4, 5});
    CHECK(t[2]->value.shape() == std::vector<std::size_t>{5, 4});
}

TEST_CASE("mlp: initialisation is reproducible and within PyTorch's bounds", "[mlp]") {
    mlp::params p = small_params("relu", layout{false, "concat", false});
    p.init_scale = 0.5;
    mlp::model_impl a(p), b(p), c(p);
    a.build(small_spec(), 21);
    b.build(small_spec(), 21);
    c.build(small_spec(), 22);
    const std::vector<grokkit::parameter*> pa = a.parameters(), pb = b.parameters(),
                                           pc = c.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO("parameter " << pa[i]->name);
        const bool same_seed_same = pa[i]->value == pb[i]->value;
        const bool other_seed_differs = pa[i]->value != pc[i]->value;
        CHECK(same_seed_same);
        CHECK(other_seed_differs);
    }
    // Each tensor has its own stream: the two embedding tables differ.
    const bool tables_differ = pa[0]->value != pa[1]->value;
    CHECK(tables_differ);
    // hidden0 has fan_in 2·4 = 8, so |w| <= 0.5 / sqrt(8).
    for (float w : pa[2]->value) {
        CHECK(std::abs(w) <= 0.5f / std::sqrt(8.0f));
    }
}

TEST_CASE("mlp: representations have the documented names and shapes", "[mlp]") {
    mlp::params p = small_params("relu", layout{false, "concat", false});
    p.hidden = {5, 3};
    mlp::model_impl m(p);
    m.build(small_spec(), 1);
    const std::vector<std::string> names{"embed",       "hidden0.pre", "hidden0",
                                         "hidden1.pre", "hidden1",     "logits"};
    CHECK(m.representations() == names);

    const examples data = random_examples(9, 2);
    CHECK(m.representation("embed", data.as_batch()).shape() == std::vector<std::size_t>{9, 8});
    CHECK(m.representation("hidden1.pre", data.as_batch()).shape() ==
          std::vector<std::size_t>{9, 3});
    const xt::xarray<float> pre = m.representation("hidden0.pre", data.as_batch());
    const xt::xarray<float> post = m.representation("hidden0", data.as_batch());
    const bool is_relu = post == xt::maximum(pre, 0.0f);
    CHECK(is_relu);
    logits_t logits;
    m.forward(data.as_batch(), logits);
    const bool same_logits = m.representation("logits", data.as_batch()) == logits;
    CHECK(same_logits);

    CHECK_THROWS_WITH(m.representation("attention", data.as_batch()),
                      Catch::Contains("attention") &&
                          Catch::Contains("embed, hidden0.pre, hidden0, hidden1.pre, hidden1, "
                                          "logits"));

    p.combine = "sum";
    mlp::model_impl summed(p);
    summed.build(small_spec(), 1);
    CHECK(summed.representation("embed", data.as_batch()).shape() ==
          std::vector<std::size_t>{9, 4});
}

TEST_CASE("mlp: forward rejects a token outside the vocabulary", "[mlp]") {
    mlp::model_impl m(small_params("relu", layout{false, "concat", false}));
    m.build(small_spec(), 1);
    examples data;
    data.push(1, 7);
    logits_t logits;
    CHECK_THROWS_WITH(m.forward(data.as_batch(), logits),
                      Catch::Contains("mlp.forward") && Catch::Contains("token 7"));
}

TEST_CASE("mlp: dense feature inputs train the first layer directly, with correct gradients",
          "[mlp]") {
    grokkit::input_spec spec;
    spec.n_features = 6;
    spec.n_classes = 2;
    mlp::params p;
    p.hidden = {5};
    p.activation = "gelu"; // smooth: no kinks for the differences to cross
    mlp::model_impl m(p);
    m.build(spec, 3);
    const auto names = names_of(m);
    CHECK(names ==
          std::vector<std::string>{"hidden0.weight", "hidden0.bias", "out.weight", "out.bias"});
    grokkit::rng r(5, "test");
    const std::size_t n = 16;
    std::vector<float> x(n * 6);
    std::vector<std::int32_t> y(n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < 6; ++j)
            x[i * 6 + j] = r.uniform() < 0.5 ? -1.0f : 1.0f;
        y[i] = (x[i * 6] * x[i * 6 + 2] > 0) ? 1 : 0;
    }
    grokkit::batch b;
    b.features = x.data();
    b.labels = y.data();
    b.n = n;
    auto loss = [&] {
        logits_t logits;
        m.forward(b, logits);
        return grokkit::nn::softmax_cross_entropy<float>(logits, y.data(), nullptr).loss / n;
    };
    logits_t logits, dlogits;
    m.forward(b, logits);
    grokkit::nn::softmax_cross_entropy(logits, y.data(), &dlogits);
    m.backward(dlogits);
    for (grokkit::parameter* prm : m.parameters()) {
        double diff = 0.0, norm = 0.0;
        const xt::xarray<float> g = prm->grad;
        for (std::size_t k = 0; k < prm->value.size(); ++k) {
            const float keep = prm->value.data()[k];
            prm->value.data()[k] = keep + 1e-2f;
            const double up = loss();
            prm->value.data()[k] = keep - 1e-2f;
            const double down = loss();
            prm->value.data()[k] = keep;
            const double numeric = (up - down) / 2e-2;
            diff += (g.data()[k] - numeric) * (g.data()[k] - numeric);
            norm += numeric * numeric;
        }
        INFO(prm->name);
        CHECK(std::sqrt(diff / norm) < 2e-2);
    }
    grokkit::input_spec tokens = small_spec();
    tokens.n_features = 0;
    mlp::params tied = p;
    tied.shared_embedding = tied.tie_unembedding = true;
    mlp::model_impl t(tied);
    CHECK_THROWS_WITH(t.build(spec, 1), Catch::Matchers::Contains("no embedding to tie to"));
}
