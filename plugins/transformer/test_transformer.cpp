// Tests of the transformer model: gradients, a plain reference forward, spec checks, training.
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"

#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <grokkit_test/model_checks.hpp>
#include <limits>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace {

using logits_t = xt::xtensor<float, 2>;
using Catch::Matchers::WithinAbs;

// The tiny problem: (a, b, =) with a, b < 7, "=" = 7, labelled (a + b) mod 7.
constexpr std::size_t modulus = 7;
constexpr std::size_t n_ctx = 3;

grokkit::input_spec small_spec() {
    grokkit::input_spec spec;
    spec.n_tokens = n_ctx;
    spec.vocab_size = modulus + 1;
    spec.n_classes = modulus;
    return spec;
}

// d_model 6 with 2 heads of width 4: n_heads·d_head = 8 differs from d_model on purpose.
transformer::params small_params(std::int64_t n_layers, bool layer_norm,
                                 const std::string& activation) {
    transformer::params p;
    p.n_layers = n_layers;
    p.d_model = 6;
    p.n_heads = 2;
    p.d_head = 4;
    p.d_mlp = 10;
    p.activation = activation;
    p.layer_norm = layer_norm;
    return p;
}

struct examples {
    std::vector<std::int32_t> tokens; // (n, 3)
    std::vector<std::int32_t> labels; // (n,)

    std::size_t size() const { return labels.size(); }
    void push(std::int32_t a, std::int32_t b) {
        tokens.insert(tokens.end(), {a, b, static_cast<std::int32_t>(modulus)});
        labels.push_back((a + b) % static_cast<std::int32_t>(modulus));
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
        out.push(static_cast<std::int32_t>(r.below(modulus)),
                 static_cast<std::int32_t>(r.below(modulus)));
    }
    return out;
}

// The first `n` examples whose MLP pre-activations (every block, every position computed) all lie
// farther than `margin` from 0, so a finite-difference step cannot carry a relu across its kink.
examples away_from_kinks(transformer::model_impl& m, const examples& pool, std::size_t n,
                         float margin, std::int64_t n_layers) {
    std::vector<xt::xarray<float>> pre;
    for (std::int64_t l = 0; l < n_layers; ++l) {
        pre.push_back(m.representation("mlp_pre" + std::to_string(l), pool.as_batch()));
    }
    examples out;
    for (std::size_t i = 0; i < pool.size() && out.size() < n; ++i) {
        bool is_clear = true;
        for (const xt::xarray<float>& p : pre) {
            const std::size_t per_example = p.size() / pool.size();
            for (std::size_t j = 0; j < per_example; ++j) {
                is_clear = is_clear && std::abs(p.data()[i * per_example + j]) > margin;
            }
        }
        if (is_clear) {
            out.push(pool.tokens[3 * i], pool.tokens[3 * i + 1]);
        }
    }
    REQUIRE(out.size() == n);
    return out;
}

// A plain double-precision transformer over all positions, written from the README's equations
// with loops only; it shares no code with the model.
struct reference {
    std::map<std::string, std::vector<double>> w;
    transformer::params p;
    std::size_t d = 0, hd = 0, n_classes = 0;
    std::vector<std::vector<double>> patterns; // per block: (n, heads, n_ctx, n_ctx)

    reference(transformer::model_impl& m, const transformer::params& params)
        : p(params), d(static_cast<std::size_t>(params.d_model)),
          hd(static_cast<std::size_t>(params.n_heads * params.d_head)), n_classes(modulus) {
        for (const grokkit::parameter* t : m.parameters()) {
            w[t->name].assign(t->value.begin(), t->value.end());
        }
    }

    const std::vector<double>& at(const std::string& name) const {
        REQUIRE(w.count(name) == 1);
        return w.at(name);
    }
    // y (d_out) = x (d_in) · W (d_in, d_out) [+ b]
    std::vector<double> mul(const std::vector<double>& x, const std::string& weight,
                            std::size_t d_out, const std::string& bias = "") const {
        const std::vector<double>& m = at(weight);
        std::vector<double> y(d_out, 0.0);
        for (std::size_t j = 0; j < d_out; ++j) {
            y[j] = bias.empty() ? 0.0 : at(bias)[j];
            for (std::size_t k = 0; k < x.size(); ++k) {
                y[j] += x[k] * m[k * d_out + j];
            }
        }
        return y;
    }
    std::vector<double> norm(const std::vector<double>& x, const std::string& prefix) const {
        if (!p.layer_norm) {
            return x;
        }
        double mean = 0.0, var = 0.0;
        for (double v : x) {
            mean += v / static_cast<double>(x.size());
        }
        for (double v : x) {
            var += (v - mean) * (v - mean) / static_cast<double>(x.size());
        }
        std::vector<double> y(x.size());
        for (std::size_t j = 0; j < x.size(); ++j) {
            y[j] =
                (x[j] - mean) / std::sqrt(var + 1e-5) * at(prefix + ".w")[j] + at(prefix + ".b")[j];
        }
        return y;
    }
    double act(double x) const {
        if (p.activation == "relu") {
            return x > 0.0 ? x : 0.0;
        }
        return 0.5 * x *
               (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    }
    // Causal attention of one block over one example's residual stream x[t] (n_ctx, d).
    void attend(std::vector<std::vector<double>>& x, const std::string& b,
                std::vector<double>& pat) {
        const std::size_t n_heads = static_cast<std::size_t>(p.n_heads);
        const std::size_t dh = static_cast<std::size_t>(p.d_head);
        std::vector<std::vector<double>> q, k, v;
        for (std::size_t t = 0; t < n_ctx; ++t) {
            const std::vector<double> h = norm(x[t], b + "ln1");
            q.push_back(mul(h, b + "attn.W_Q", hd));
            k.push_back(mul(h, b + "attn.W_K", hd));
            v.push_back(mul(h, b + "attn.W_V", hd));
        }
        for (std::size_t t = 0; t < n_ctx; ++t) {
            std::vector<double> z(hd, 0.0);
            for (std::size_t h = 0; h < n_heads; ++h) {
                std::vector<double> s(t + 1);
                double total = 0.0;
                for (std::size_t j = 0; j <= t; ++j) {
                    double dot = 0.0;
                    for (std::size_t c = 0; c < dh; ++c) {
                        dot += q[t][h * dh + c] * k[j][h * dh + c];
                    }
                    s[j] = std::exp(dot / std::sqrt(static_cast<double>(dh)));
                    total += s[j];
                }
                for (std::size_t j = 0; j <= t; ++j) {
                    pat.push_back(s[j] / total);
                    for (std::size_t c = 0; c < dh; ++c) {
                        z[h * dh + c] += s[j] / total * v[j][h * dh + c];
                    }
                }
                pat.insert(pat.end(), n_ctx - t - 1, 0.0);
            }
            const std::vector<double> out = mul(z, b + "attn.W_O", d);
            for (std::size_t j = 0; j < d; ++j) {
                x[t][j] += out[j];
            }
        }
    }
    void mlp(std::vector<double>& x, const std::string& b) const {
        std::vector<double> h = mul(norm(x, b + "ln2"), b + "mlp.W_in",
                                    static_cast<std::size_t>(p.d_mlp), b + "mlp.b_in");
        for (double& v : h) {
            v = act(v);
        }
        const std::vector<double> out = mul(h, b + "mlp.W_out", d, b + "mlp.b_out");
        for (std::size_t j = 0; j < d; ++j) {
            x[j] += out[j];
        }
    }
    // logits (n, n_classes) at the last position; fills `patterns` as (n, head, query, key).
    std::vector<std::vector<double>> logits(const examples& data) {
        std::vector<std::vector<double>> out;
        patterns.assign(static_cast<std::size_t>(p.n_layers), {});
        for (std::size_t i = 0; i < data.size(); ++i) {
            std::vector<std::vector<double>> x(n_ctx, std::vector<double>(d));
            for (std::size_t t = 0; t < n_ctx; ++t) {
                const auto tok = static_cast<std::size_t>(data.tokens[i * n_ctx + t]);
                for (std::size_t j = 0; j < d; ++j) {
                    x[t][j] = at("embed")[tok * d + j] + at("pos_embed")[t * d + j];
                }
            }
            for (std::int64_t l = 0; l < p.n_layers; ++l) {
                const std::string b = "blocks." + std::to_string(l) + ".";
                std::vector<double> pat; // (query, head, key): reorder to (head, query, key)
                attend(x, b, pat);
                const auto n_heads = static_cast<std::size_t>(p.n_heads);
                for (std::size_t h = 0; h < n_heads; ++h) {
                    for (std::size_t t = 0; t < n_ctx; ++t) {
                        const std::size_t at_qh = (t * n_heads + h) * n_ctx;
                        patterns[l].insert(patterns[l].end(), pat.begin() + at_qh,
                                           pat.begin() + at_qh + n_ctx);
                    }
                }
                for (std::size_t t = 0; t < n_ctx; ++t) {
                    mlp(x[t], b);
                }
            }
            out.push_back(mul(norm(x[n_ctx - 1], "ln_final"), "unembed", n_classes));
        }
        return out;
    }
};

// dlogits (n, n_classes) of standard normal draws.
logits_t random_dlogits(std::size_t n, std::uint64_t seed) {
    grokkit::rng r(seed, "test");
    logits_t d = logits_t::from_shape({n, modulus});
    for (float& v : d) {
        v = static_cast<float>(r.normal());
    }
    return d;
}

std::vector<std::string> names_of(transformer::model_impl& m) {
    std::vector<std::string> names;
    for (const grokkit::parameter* p : m.parameters()) {
        names.push_back(p->name);
    }
    return names;
}

} // namespace

TEST_CASE("transformer: float gradients match central differences of the loss", "[transformer]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    const std::string activation = GENERATE("relu", "gelu");
    // 6 examples (fewer than the 8 tokens) take the direct QKV products of block 0, 30 the token
    // table's.
    const std::size_t n = GENERATE(6, 30);
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", " << activation << ", n "
                       << n);

    transformer::model_impl m(small_params(n_layers, layer_norm, activation));
    m.build(small_spec(), 11);
    const examples data = away_from_kinks(m, random_examples(2000, 12), n, 0.05f, n_layers);
    grokkit_test::compute_gradients(m, data.as_batch());
    // h = 1e-2 in float: rounding of the loss (~1e-7 · 2 / h) and the O(h²) truncation stay
    // well below the 2e-2 tolerance.
    for (grokkit::parameter* p : m.parameters()) {
        INFO("parameter " << p->name);
        CHECK(grokkit_test::gradient_error(m, *p, data.as_batch()) < 2e-2);
    }
}

TEST_CASE("transformer: a class mask gives disallowed classes exactly zero probability and "
          "leaves the allowed classes' gradients unchanged",
          "[transformer]") {
    transformer::model_impl m(small_params(1, true, "gelu"));
    m.build(small_spec(), 11);
    const examples data = random_examples(30, 12);
    grokkit_test::check_class_mask(
        m, grokkit_test::to_example_set(data.as_batch(), small_spec().n_tokens, 0),
        small_spec().n_classes);
}

TEST_CASE("transformer: last-position forward equals a plain all-positions reference",
          "[transformer]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    const std::string activation = GENERATE("relu", "gelu");
    const std::size_t n = GENERATE(5, 40); // direct and token-table products in block 0
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", " << activation << ", n "
                       << n);
    const transformer::params p = small_params(n_layers, layer_norm, activation);
    transformer::model_impl m(p);
    m.build(small_spec(), 5);
    const examples data = random_examples(n, 6);

    logits_t logits;
    m.forward(data.as_batch(), logits);
    reference ref(m, p);
    const std::vector<std::vector<double>> expected = ref.logits(data);
    REQUIRE(logits.shape(0) == data.size());
    REQUIRE(logits.shape(1) == modulus);
    // The model's own all-positions pass (representation) must agree as well.
    const xt::xarray<float> full = m.representation("logits", data.as_batch());
    for (std::size_t i = 0; i < data.size(); ++i) {
        for (std::size_t j = 0; j < modulus; ++j) {
            // float against double over a few products of width <= 10: 1e-5 is ~100 ulps.
            CHECK_THAT(logits(i, j), WithinAbs(expected[i][j], 1e-5));
            CHECK_THAT(full(i, j), WithinAbs(logits(i, j), 1e-6));
        }
    }
    for (std::int64_t l = 0; l < n_layers; ++l) {
        const xt::xarray<float> pattern =
            m.representation("attn_pattern" + std::to_string(l), data.as_batch());
        REQUIRE(pattern.size() == ref.patterns[l].size());
        for (std::size_t k = 0; k < pattern.size(); ++k) {
            CHECK_THAT(pattern.data()[k], WithinAbs(ref.patterns[l][k], 1e-6));
        }
    }
}

TEST_CASE("transformer: buffers follow the batch size between passes", "[transformer]") {
    // Sizes 20, 5 and 12 cycle through the two buffer sets; 20 and 12 use block 0's token table
    // (more examples than the 8 tokens), 5 the direct products.
    const transformer::params p = small_params(2, true, "gelu");
    transformer::model_impl m(p), fresh(p);
    m.build(small_spec(), 3);
    fresh.build(small_spec(), 3);
    const examples many = random_examples(20, 4);
    examples few, mid;
    for (std::size_t i = 0; i < 12; ++i) {
        mid.push(many.tokens[3 * i], many.tokens[3 * i + 1]);
        if (i < 5) {
            few.push(many.tokens[3 * i], many.tokens[3 * i + 1]);
        }
    }
    logits_t logits_many, logits_few, logits_mid, again;
    m.forward(many.as_batch(), logits_many);
    m.forward(few.as_batch(), logits_few);
    m.forward(mid.as_batch(), logits_mid);
    m.forward(many.as_batch(), again);
    const bool same = again == logits_many;
    CHECK(same);
    for (std::size_t i = 0; i < 5; ++i) {
        for (std::size_t j = 0; j < modulus; ++j) {
            CHECK_THAT(logits_few(i, j), WithinAbs(logits_many(i, j), 1e-6));
        }
    }
    // After passes of other sizes, a training pass gives the gradients of a fresh model.
    grokkit_test::compute_gradients(m, many.as_batch());
    grokkit_test::compute_gradients(fresh, many.as_batch());
    const std::vector<grokkit::parameter*> pm = m.parameters(), pf = fresh.parameters();
    for (std::size_t i = 0; i < pm.size(); ++i) {
        INFO("parameter " << pm[i]->name);
        const bool same_grad = pm[i]->grad == pf[i]->grad;
        CHECK(same_grad);
    }
}

TEST_CASE("transformer: backward overwrites gradients", "[transformer]") {
    transformer::model_impl m(small_params(2, true, "relu"));
    m.build(small_spec(), 5);
    const examples data = random_examples(16, 6);
    grokkit_test::compute_gradients(m, data.as_batch());
    std::vector<xt::xarray<float>> first;
    for (const grokkit::parameter* p : m.parameters()) {
        first.push_back(p->grad);
    }
    grokkit_test::compute_gradients(m, data.as_batch());
    const std::vector<grokkit::parameter*> params = m.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        INFO("parameter " << params[i]->name);
        const bool same = params[i]->grad == first[i];
        CHECK(same);
    }
}

TEST_CASE("transformer: every optimizer lowers the loss on a fixed batch", "[transformer]") {
    const bool layer_norm = GENERATE(false, true);
    const auto opt = GENERATE(from_range(grokkit_test::every_optimizer()));
    INFO("layer_norm " << layer_norm << ", " << opt.what);
    transformer::model_impl m(small_params(1, layer_norm, "relu"));
    m.build(small_spec(), 7);
    const examples data = random_examples(32, 8);
    const double initial = grokkit_test::mean_loss(m, data.as_batch());
    CHECK(grokkit_test::train(m, data.as_batch(), opt, 60) < 0.9 * initial);
}

TEST_CASE("transformer: build rejects dense inputs, naming both specs", "[transformer]") {
    transformer::model_impl m;
    grokkit::input_spec spec;
    spec.n_features = 10;
    spec.n_classes = 2;
    CHECK_THROWS_AS(m.build(spec, 1), grokkit::error);
    CHECK_THROWS_WITH(m.build(spec, 1), Catch::Contains("transformer.build") &&
                                            Catch::Contains(spec.describe()) &&
                                            Catch::Contains("expected tokens"));
}

TEST_CASE("transformer: every parameter is declared with a doc string", "[transformer]") {
    transformer::model_impl m;
    grokkit::param_set ps;
    m.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        INFO("key " << p.key());
        CHECK_FALSE(p.doc().empty());
    }
    // The README's table lists these keys in this order.
    CHECK(keys == std::vector<std::string>{"n_layers", "d_model", "n_heads", "d_head", "d_mlp",
                                           "activation", "layer_norm", "init_scale"});
    CHECK(ps.checks().empty());
}

TEST_CASE("transformer: parameters are named and shaped as Nanda's", "[transformer]") {
    transformer::model_impl plain(small_params(1, false, "relu"));
    plain.build(small_spec(), 1);
    CHECK(names_of(plain) == std::vector<std::string>{"embed", "pos_embed", "blocks.0.attn.W_Q",
                                                      "blocks.0.attn.W_K", "blocks.0.attn.W_V",
                                                      "blocks.0.attn.W_O", "blocks.0.mlp.W_in",
                                                      "blocks.0.mlp.b_in", "blocks.0.mlp.W_out",
                                                      "blocks.0.mlp.b_out", "unembed"});
    const std::vector<grokkit::parameter*> p = plain.parameters();
    using shape = std::vector<std::size_t>;
    CHECK(p[0]->value.shape() == shape{8, 6});
    CHECK(p[1]->value.shape() == shape{3, 6});
    CHECK(p[2]->value.shape() == shape{6, 8});
    CHECK(p[5]->value.shape() == shape{8, 6});
    CHECK(p[6]->value.shape() == shape{6, 10});
    CHECK(p[8]->value.shape() == shape{10, 6});
    CHECK(p[10]->value.shape() == shape{6, 7});

    transformer::model_impl normed(small_params(2, true, "relu"));
    normed.build(small_spec(), 1);
    const std::vector<std::string> names = names_of(normed);
    CHECK(names.size() == 2 + 2 * 12 + 2 + 1);
    CHECK(names[2] == "blocks.0.ln1.w");
    CHECK(names[8] == "blocks.0.ln2.w");
    CHECK(names[names.size() - 3] == "ln_final.w");
}

TEST_CASE("transformer: initialisation has the documented scales", "[transformer]") {
    // Nanda's sizes: d_model 128, 4 heads of 32, d_mlp 512, p = 113.
    transformer::params p;
    p.init_scale = 0.5;
    transformer::model_impl m(p), same(p), other(p);
    grokkit::input_spec spec;
    spec.n_tokens = 3;
    spec.vocab_size = 114;
    spec.n_classes = 113;
    m.build(spec, 21);
    same.build(spec, 21);
    other.build(spec, 22);
    const std::map<std::string, double> fan_in{{"embed", 128},
                                               {"pos_embed", 128},
                                               {"blocks.0.attn.W_Q", 128},
                                               {"blocks.0.attn.W_O", 128},
                                               {"blocks.0.mlp.W_in", 128},
                                               {"blocks.0.mlp.W_out", 512},
                                               {"unembed", 128}};
    const std::vector<grokkit::parameter*> pm = m.parameters(), ps = same.parameters(),
                                           po = other.parameters();
    for (std::size_t i = 0; i < pm.size(); ++i) {
        INFO("parameter " << pm[i]->name);
        const bool same_seed_same = pm[i]->value == ps[i]->value;
        CHECK(same_seed_same);
        const auto found = fan_in.find(pm[i]->name);
        if (found == fan_in.end()) {
            continue;
        }
        const bool other_seed_differs = pm[i]->value != po[i]->value;
        CHECK(other_seed_differs);
        double sq = 0.0;
        for (float v : pm[i]->value) {
            sq += static_cast<double>(v) * v;
        }
        const double std_dev = std::sqrt(sq / static_cast<double>(pm[i]->value.size()));
        // >= 384 draws: the sample std is within ~3.6 standard errors (1/sqrt(2·384)) at 13%.
        CHECK_THAT(std_dev, Catch::Matchers::WithinRel(0.5 / std::sqrt(found->second), 0.13));
    }
    const bool biases_zero = xt::all(xt::equal(pm[7]->value, 0.0f)); // blocks.0.mlp.b_in
    CHECK(biases_zero);
}

TEST_CASE("transformer: representations have the documented names and shapes", "[transformer]") {
    transformer::model_impl m(small_params(2, false, "relu"));
    m.build(small_spec(), 1);
    const std::vector<std::string> names{
        "embed",     "resid_pre0",  "attn_pattern0", "resid_mid0", "mlp_pre0",
        "mlp_post0", "resid_pre1",  "attn_pattern1", "resid_mid1", "mlp_pre1",
        "mlp_post1", "resid_final", "logits"};
    CHECK(m.representations() == names);

    const examples data = random_examples(9, 2);
    using shape = std::vector<std::size_t>;
    const std::map<std::string, shape> shapes{
        {"embed", {9, 3, 6}},      {"resid_pre0", {9, 3, 6}},       {"attn_pattern0", {9, 2, 3, 3}},
        {"resid_mid0", {9, 3, 6}}, {"mlp_pre0", {9, 3, 10}},        {"mlp_post0", {9, 3, 10}},
        {"resid_pre1", {9, 3, 6}}, {"attn_pattern1", {9, 2, 3, 3}}, {"resid_mid1", {9, 6}},
        {"mlp_pre1", {9, 10}},     {"mlp_post1", {9, 10}},          {"resid_final", {9, 6}},
        {"logits", {9, modulus}}};
    for (const auto& [name, expected] : shapes) {
        INFO("representation " << name);
        CHECK(m.representation(name, data.as_batch()).shape() == expected);
    }
    const xt::xarray<float> pre = m.representation("mlp_pre1", data.as_batch());
    const xt::xarray<float> post = m.representation("mlp_post1", data.as_batch());
    const bool is_relu = post == xt::maximum(pre, 0.0f);
    CHECK(is_relu);

    CHECK_THROWS_WITH(m.representation("hidden0", data.as_batch()),
                      Catch::Contains("transformer.representation") &&
                          Catch::Contains("\"hidden0\"") &&
                          Catch::Contains("embed, resid_pre0, attn_pattern0"));
}

TEST_CASE("transformer: backward needs a matching forward", "[transformer]") {
    transformer::model_impl m(small_params(1, false, "relu"));
    m.build(small_spec(), 1);
    const examples data = random_examples(4, 2);
    logits_t logits, dlogits;
    m.forward(data.as_batch(), logits);
    m.representation("logits", data.as_batch());
    grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
    CHECK_THROWS_WITH(m.backward(dlogits), Catch::Contains("transformer.backward") &&
                                               Catch::Contains("expected forward() first"));
    m.forward(data.as_batch(), logits);
    const logits_t wrong = xt::zeros<float>({3, 7});
    CHECK_THROWS_WITH(m.backward(wrong),
                      Catch::Contains("(3, 7)") && Catch::Contains("expected (4, 7)"));
    CHECK_NOTHROW(m.backward(dlogits));
}

TEST_CASE("transformer: forward rejects a token outside the vocabulary", "[transformer]") {
    transformer::model_impl m(small_params(1, false, "relu"));
    m.build(small_spec(), 1);
    examples data;
    data.push(1, 2);
    data.tokens[2] = 8;
    logits_t logits;
    CHECK_THROWS_WITH(m.forward(data.as_batch(), logits),
                      Catch::Contains("transformer.forward") && Catch::Contains("token 8"));
}

TEST_CASE("transformer: an empty batch gives empty logits and zero gradients", "[transformer]") {
    transformer::model_impl m(small_params(1, true, "relu"));
    m.build(small_spec(), 1);
    const examples data = random_examples(4, 2);
    grokkit_test::compute_gradients(m, data.as_batch());
    const examples none;
    logits_t logits;
    m.forward(none.as_batch(), logits);
    CHECK(logits.shape(0) == 0);
    CHECK(logits.shape(1) == modulus);
    m.backward(logits);
    for (const grokkit::parameter* p : m.parameters()) {
        const bool zero = xt::all(xt::equal(p->grad, 0.0f));
        CHECK(zero);
    }
}

TEST_CASE("transformer: example gradients equal one-example backward passes", "[transformer]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    const std::string activation = GENERATE("relu", "gelu");
    // 6 examples (fewer than the 8 tokens) take block 0's direct products, 20 the token table's;
    // the one-example passes always take the direct ones.
    const std::size_t n = GENERATE(6, 20);
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", " << activation << ", n "
                       << n);
    transformer::model_impl m(small_params(n_layers, layer_norm, activation));
    m.build(small_spec(), 31);
    // Away from relu's kink, so that rounding differences between batch sizes cannot flip it.
    const examples data = away_from_kinks(m, random_examples(400, 32), n, 1e-3f, n_layers);
    const logits_t dlogits = random_dlogits(n, 33);

    const grokkit_test::example_gradient_errors e =
        grokkit_test::check_example_gradients(m, data.as_batch(), dlogits, n_ctx, 0);
    REQUIRE(e.shape_ok);
    CHECK(e.rows < 1e-4); // each row against backward() on that example alone
    CHECK(e.sum < 1e-4);  // the rows' sum against backward() on the whole batch

    // Shape (n, P), P every parameter value; an `out` of that shape is reused and every value of
    // it written (none of the NaNs left).
    logits_t logits, rows;
    m.forward(data.as_batch(), logits);
    m.example_gradients(dlogits, rows);
    std::size_t p = 0;
    for (const grokkit::parameter* t : m.parameters()) {
        p += t->value.size();
    }
    CHECK(rows.shape(0) == n);
    CHECK(rows.shape(1) == p);
    CHECK(p == grokkit::parameter_count(m));
    const logits_t first = rows;
    rows.fill(std::numeric_limits<float>::quiet_NaN());
    m.example_gradients(dlogits, rows);
    const bool same_rows = rows == first;
    CHECK(same_rows);
    // A backward() after it still differentiates the same forward pass.
    m.backward(dlogits);
    const std::vector<float> after = grokkit_test::flat_gradients(m);
    m.forward(data.as_batch(), logits);
    m.backward(dlogits);
    const std::vector<float> fresh = grokkit_test::flat_gradients(m);
    CHECK(grokkit_test::scaled_error(after.data(), fresh.data(), p) < 1e-6);
}

TEST_CASE("transformer: the mean of per-example loss gradients is the training gradient",
          "[transformer]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    const std::string activation = GENERATE("relu", "gelu");
    const std::size_t n = GENERATE(6, 20);
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", " << activation << ", n "
                       << n);
    transformer::model_impl m(small_params(n_layers, layer_norm, activation));
    m.build(small_spec(), 41);
    const examples data = random_examples(n, 42);

    logits_t rows;
    const grokkit::nn::loss_sum sum = grokkit::example_gradients(
        m, data.as_batch(), grokkit::loss_config{"cross_entropy", false}, rows);
    const double loss =
        grokkit_test::compute_gradients(m, data.as_batch()); // backward() of the mean loss
    CHECK_THAT(sum.loss / static_cast<double>(n), Catch::Matchers::WithinRel(loss, 1e-6));
    const std::vector<float> expected = grokkit_test::flat_gradients(m);
    const std::size_t p = expected.size();
    REQUIRE(rows.shape(0) == n);
    REQUIRE(rows.shape(1) == p);
    std::vector<float> mean(p, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < p; ++k) {
            mean[k] += rows(i, k) / static_cast<float>(n);
        }
    }
    CHECK(grokkit_test::scaled_error(mean.data(), expected.data(), p) < 1e-4);
}

TEST_CASE("transformer: example gradients need a matching forward", "[transformer]") {
    transformer::model_impl m(small_params(1, true, "relu"));
    logits_t logits, rows;
    const logits_t dlogits = random_dlogits(4, 1);
    CHECK_THROWS_WITH(m.example_gradients(dlogits, rows),
                      Catch::Contains("transformer.example_gradients"));
    m.build(small_spec(), 1);
    CHECK_THROWS_WITH(m.example_gradients(dlogits, rows),
                      Catch::Contains("expected forward() first"));
    const examples data = random_examples(4, 2);
    m.forward(data.as_batch(), logits);
    CHECK_THROWS_WITH(m.example_gradients(random_dlogits(3, 1), rows),
                      Catch::Contains("transformer.example_gradients") &&
                          Catch::Contains("(3, 7)") && Catch::Contains("expected (4, 7)"));
    m.representation("logits", data.as_batch());
    CHECK_THROWS_WITH(m.example_gradients(dlogits, rows),
                      Catch::Contains("expected forward() first"));

    const examples none;
    m.forward(none.as_batch(), logits);
    m.example_gradients(logits, rows);
    CHECK(rows.shape(0) == 0);
    CHECK(rows.shape(1) == grokkit::parameter_count(m));
}

TEST_CASE("transformer: Hessian-vector products match central differences of gradients "
          "(float32)",
          "[transformer][curvature]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    // 6 examples take block 0's direct products, 20 the token table's (which the tangent passes
    // repeat on the rows).
    const std::size_t n = GENERATE(6, 20);
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", n " << n);
    transformer::model_impl m(small_params(n_layers, layer_norm, "gelu"));
    m.build(small_spec(), 41);
    const examples data = random_examples(n, 42);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), n_ctx, 0);
    CHECK(grokkit_test::hessian_vector_error(m, set, {"cross_entropy", false}, 43) < 1e-2);
    CHECK(grokkit_test::gauss_newton_error(m, set, {"cross_entropy", false}, 44) < 1e-2);
    // The first product on the token table repeats the pass on the rows; later ones reuse it.
    for (const auto kind :
         {grokkit::curvature_kind::hessian, grokkit::curvature_kind::gauss_newton})
        CHECK(grokkit_test::repeated_product_difference(m, set, {"cross_entropy", false}, kind) ==
              0.0);
}

TEST_CASE("transformer: the linear sites' rows give the per-example gradients of W_O, the MLP "
          "and the unembedding",
          "[transformer][curvature]") {
    const bool layer_norm = GENERATE(false, true);
    const std::int64_t n_layers = GENERATE(1, 2);
    const std::size_t n = GENERATE(6, 20); // direct products, and block 0 on the token table
    INFO("layer_norm " << layer_norm << ", n_layers " << n_layers << ", n " << n);
    transformer::model_impl m(small_params(n_layers, layer_norm, "gelu"));
    m.build(small_spec(), 45);
    CHECK(m.linear_sites().size() == static_cast<std::size_t>(3 * n_layers + 1));
    const examples data = random_examples(n, 46);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), n_ctx, 0);
    CHECK(grokkit_test::linear_site_error(m, set, 47) < 1e-5);
}

TEST_CASE("transformer: the Hessian product of a relu model away from its kinks",
          "[transformer][curvature]") {
    transformer::model_impl m(small_params(1, false, "relu"));
    m.build(small_spec(), 51);
    const examples data = away_from_kinks(m, random_examples(400, 52), 12, 5e-2f, 1);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), n_ctx, 0);
    CHECK(grokkit_test::hessian_vector_error(m, set, {"mse", true}, 53) < 1e-2);
}
