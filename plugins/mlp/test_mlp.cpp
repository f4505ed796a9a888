// Tests of the mlp model: gradients against finite differences, spec checks, layout, training.
// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <grokkit/error.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <grokkit_test/model_checks.hpp>
#include <new>
#include <string>
#include <vector>

// Every operator new of this test binary (the core library's included) is counted, so a test can
// check that a training step allocates nothing.
namespace {
std::atomic<std::size_t> n_allocations{0};
} // namespace

// GCC 12 sees malloc inside the inlined operator new and free inside operator delete as a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
    n_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return ::operator new(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
// The nothrow forms too (Catch2 uses them): otherwise the library's nothrow new would be paired
// with the free above, which AddressSanitizer reports as alloc-dealloc-mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    n_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return ::operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
    const layout l = GENERATE(layout{false, "concat", false}, layout{false, "concat", true},
                              layout{false, "sum", false}, layout{false, "sum", true},
                              layout{true, "concat", true}, layout{true, "sum", true});
    // Tied: 6 examples multiply h·W_out·Eᵀ left to right, 40 form W_out·Eᵀ first. The automatic
    // first layer is direct for 6 examples (fewer than the 7 tokens) and a table lookup for 40.
    const std::size_t n = GENERATE(6, 40);
    const mlp::first_layer path =
        GENERATE(mlp::first_layer::automatic, mlp::first_layer::direct, mlp::first_layer::table);
    INFO("activation " << activation << ", tied " << l.tied << ", combine " << l.combine
                       << ", shared " << l.shared << ", n " << n << ", first layer "
                       << static_cast<int>(path));

    mlp::model_impl m(small_params(activation, l));
    m.build(small_spec(), 11);
    const examples data = away_from_kinks(m, random_examples(400, 12), n, 0.1f);
    m.set_first_layer(path);
    grokkit_test::compute_gradients(m, data.as_batch());
    // h = 1e-2 in float: rounding of the loss (~1e-7 · 2 / h) and the O(h²) truncation stay
    // well below the 2e-2 tolerance.
    for (grokkit::parameter* p : m.parameters()) {
        INFO("parameter " << p->name);
        CHECK(grokkit_test::gradient_error(m, *p, data.as_batch()) < 2e-2);
    }
}

TEST_CASE("mlp: a class mask gives disallowed classes exactly zero probability and leaves the "
          "allowed classes' gradients unchanged",
          "[mlp]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{true, "sum", true});
    INFO("tied " << l.tied);
    mlp::model_impl m(small_params("gelu", l));
    m.build(small_spec(), 11);
    const examples data = random_examples(40, 12);
    grokkit_test::check_class_mask(m, grokkit_test::to_example_set(data.as_batch(), 2, 0),
                                   small_spec().n_classes);
}

TEST_CASE("mlp: per-example gradients equal one-example passes and sum to the batch's", "[mlp]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{false, "concat", true},
                              layout{true, "concat", true}, layout{false, "sum", false},
                              layout{false, "sum", true}, layout{true, "sum", true});
    const bool bias = GENERATE(true, false);
    const mlp::first_layer path = GENERATE(mlp::first_layer::direct, mlp::first_layer::table);
    INFO("tied " << l.tied << ", combine " << l.combine << ", shared " << l.shared << ", bias "
                 << bias << ", first layer " << static_cast<int>(path));
    mlp::params p = small_params("gelu", l);
    p.hidden = {5, 3};
    p.bias = bias;
    mlp::model_impl m(p);
    m.build(small_spec(), 51);
    m.set_first_layer(path);
    // 30 examples over 7 tokens: the batch takes the chosen path, single examples the direct one
    // (and, tied, the other product order), so the check crosses code paths too.
    const examples data = random_examples(30, 52);
    grokkit::rng r(53, "test");
    logits_t dlogits = xt::zeros<float>({data.size(), vocab});
    for (float& g : dlogits)
        g = static_cast<float>(r.normal());
    const auto e = grokkit_test::check_example_gradients(m, data.as_batch(), dlogits, 2, 0);
    REQUIRE(e.shape_ok);
    CHECK(e.rows < 1e-5);
    CHECK(e.sum < 1e-5);
}

TEST_CASE("mlp: per-example gradients of dense inputs", "[mlp]") {
    mlp::params p = small_params("relu", layout{false, "concat", false});
    p.hidden = {6};
    mlp::model_impl m(p);
    grokkit::input_spec spec;
    spec.n_features = 4;
    spec.n_classes = 3;
    m.build(spec, 61);
    grokkit::rng r(62, "test");
    std::vector<float> features(10 * 4);
    for (float& x : features)
        x = static_cast<float>(r.normal());
    std::vector<std::int32_t> labels(10, 0);
    grokkit::batch b;
    b.features = features.data();
    b.labels = labels.data();
    b.n = 10;
    logits_t dlogits = xt::zeros<float>({std::size_t{10}, std::size_t{3}});
    for (float& g : dlogits)
        g = static_cast<float>(r.normal());
    const auto e = grokkit_test::check_example_gradients(m, b, dlogits, 0, 4);
    REQUIRE(e.shape_ok);
    CHECK(e.rows < 1e-5);
    CHECK(e.sum < 1e-5);
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

TEST_CASE("mlp: table and direct first layers give the same logits and gradients", "[mlp]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{false, "concat", true},
                              layout{true, "concat", true}, layout{false, "sum", false},
                              layout{false, "sum", true}, layout{true, "sum", true});
    const bool bias = GENERATE(true, false);
    INFO("tied " << l.tied << ", combine " << l.combine << ", shared " << l.shared << ", bias "
                 << bias);
    // gelu has no kink, so rounding differences in hidden0.pre stay rounding differences.
    mlp::params p = small_params("gelu", l);
    p.bias = bias;
    mlp::model_impl m(p);
    m.build(small_spec(), 31);
    const examples data = random_examples(40, 32);

    // Relative error of `got` against `want`, over a whole tensor.
    auto relative_error = [](const float* got, const float* want, std::size_t size) {
        double diff = 0.0;
        double norm = 0.0;
        for (std::size_t k = 0; k < size; ++k) {
            diff +=
                (static_cast<double>(got[k]) - want[k]) * (static_cast<double>(got[k]) - want[k]);
            norm += static_cast<double>(want[k]) * want[k];
        }
        return std::sqrt(diff / norm);
    };
    auto run = [&](mlp::first_layer path, logits_t& logits, std::vector<xt::xarray<float>>& grads) {
        m.set_first_layer(path);
        logits_t dlogits;
        m.forward(data.as_batch(), logits);
        grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
        m.backward(dlogits);
        grads.clear();
        for (const grokkit::parameter* prm : m.parameters()) {
            grads.push_back(prm->grad);
        }
    };
    logits_t direct_logits, table_logits, auto_logits;
    std::vector<xt::xarray<float>> direct_grads, table_grads, auto_grads;
    run(mlp::first_layer::direct, direct_logits, direct_grads);
    run(mlp::first_layer::table, table_logits, table_grads);
    CHECK(relative_error(table_logits.data(), direct_logits.data(), direct_logits.size()) < 1e-5);
    const std::vector<grokkit::parameter*> params = m.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        INFO("parameter " << params[i]->name);
        CHECK(relative_error(table_grads[i].data(), direct_grads[i].data(),
                             direct_grads[i].size()) < 1e-5);
    }
    // 40 examples over 7 tokens: the automatic choice is the table, operation for operation.
    run(mlp::first_layer::automatic, auto_logits, auto_grads);
    const bool same_as_table = auto_logits == table_logits && auto_grads == table_grads;
    CHECK(same_as_table);
}

TEST_CASE("mlp: the automatic first layer is direct for batches no larger than the tables",
          "[mlp]") {
    // Separate tables summed need two products, so the table wins only beyond 2·vocab examples.
    const layout l = GENERATE(layout{false, "concat", false}, layout{false, "sum", false},
                              layout{true, "sum", true});
    const std::size_t n = l.combine == "sum" && !l.shared ? 2 * vocab : vocab;
    INFO("combine " << l.combine << ", shared " << l.shared << ", n " << n);
    mlp::model_impl m(small_params("relu", l));
    m.build(small_spec(), 41);
    const examples data = random_examples(n, 42);
    logits_t automatic, direct;
    m.forward(data.as_batch(), automatic);
    m.set_first_layer(mlp::first_layer::direct);
    m.forward(data.as_batch(), direct);
    const bool same = automatic == direct;
    CHECK(same);
}

TEST_CASE("mlp: a training step on a batch of the same shape allocates nothing", "[mlp]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{true, "sum", true});
    const std::size_t n = GENERATE(6, 40); // direct and table first layers
    INFO("tied " << l.tied << ", combine " << l.combine << ", n " << n);
    mlp::model_impl m(small_params("relu", l));
    m.build(small_spec(), 61);
    const examples first = random_examples(n, 62);
    const examples second = random_examples(n, 63);
    logits_t logits, dlogits;
    auto step = [&](const examples& data) {
        m.forward(data.as_batch(), logits);
        grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
        m.backward(dlogits);
    };
    step(first);
    const std::size_t before = n_allocations.load();
    step(second);
    const std::size_t allocations = n_allocations.load() - before;
    CHECK(allocations == 0);
}

TEST_CASE("mlp: the embed representation is x0 whichever first layer runs", "[mlp]") {
    const std::string combine = GENERATE("concat", "sum");
    INFO("combine " << combine);
    mlp::model_impl m(small_params("relu", layout{false, combine, false}));
    m.build(small_spec(), 51);
    m.set_first_layer(mlp::first_layer::table);
    const examples data = random_examples(40, 52);
    const xt::xarray<float> x0 = m.representation("embed", data.as_batch());
    const std::vector<grokkit::parameter*> params = m.parameters();
    const xt::xarray<float>& ea = params[0]->value;
    const xt::xarray<float>& eb = params[1]->value;
    const std::size_t d = 4;
    REQUIRE(x0.shape() == std::vector<std::size_t>{40, combine == "sum" ? d : 2 * d});
    for (std::size_t i = 0; i < data.size(); ++i) {
        const auto a = static_cast<std::size_t>(data.tokens[2 * i]);
        const auto b = static_cast<std::size_t>(data.tokens[2 * i + 1]);
        for (std::size_t j = 0; j < d; ++j) {
            if (combine == "sum") {
                CHECK(x0(i, j) == ea(a, j) + eb(b, j));
            } else {
                CHECK(x0(i, j) == ea(a, j));
                CHECK(x0(i, d + j) == eb(b, j));
            }
        }
    }
}

TEST_CASE("mlp: backward overwrites gradients", "[mlp]") {
    // 16 examples over 7 tokens: the first layer is a table lookup.
    mlp::model_impl m(small_params("relu", layout{true, "sum", true}));
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

TEST_CASE("mlp: every optimizer lowers the loss on a fixed batch", "[mlp]") {
    const std::string activation = GENERATE("relu", "gelu", "square");
    const auto opt = GENERATE(from_range(grokkit_test::every_optimizer()));
    INFO("activation " << activation << ", " << opt.what);
    mlp::model_impl m(small_params(activation, layout{false, "concat", false}));
    m.build(small_spec(), 7);
    const examples data = random_examples(32, 8);
    const double initial = grokkit_test::mean_loss(m, data.as_batch());
    CHECK(grokkit_test::train(m, data.as_batch(), opt, 20) < 0.9 * initial);
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
                                           "shared_embedding", "tie_unembedding", "bias", "init",
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

TEST_CASE("mlp: haiku init gives the PAIR notebook's initial weight norm", "[mlp]") {
    // The notebook (67 tokens, d 500, 24 neurons, tied) logs l2_norm 37.39 at step 0. Expected:
    // embed 67·500·2/67 + hidden 500·24·0.8796²/500 + out 24·500·0.8796²/24 = 1405.5 → 37.49.
    mlp::params p;
    p.d_embed = 500;
    p.hidden = {24};
    p.combine = "sum";
    p.shared_embedding = true;
    p.tie_unembedding = true;
    p.bias = false;
    p.init = "haiku";
    mlp::model_impl m(p);
    grokkit::input_spec spec;
    spec.n_tokens = 2;
    spec.vocab_size = 67;
    spec.n_classes = 67;
    m.build(spec, 165);
    double sum_sq = 0.0;
    for (grokkit::parameter* t : m.parameters()) {
        for (float w : t->value)
            sum_sq += static_cast<double>(w) * w;
    }
    CHECK(std::sqrt(sum_sq) == Approx(37.39).epsilon(0.01));
    // hidden0.weight: truncated at 2/sqrt(500).
    for (float w : m.parameters()[1]->value)
        CHECK(std::abs(w) < 2.0f / std::sqrt(500.0f));
}

TEST_CASE("mlp: haiku init starts biases at zero", "[mlp]") {
    mlp::params p = small_params("relu", layout{false, "concat", false});
    p.init = "haiku";
    mlp::model_impl m(p);
    m.build(small_spec(), 3);
    for (grokkit::parameter* t : m.parameters()) {
        if (t->name.find(".bias") == std::string::npos)
            continue;
        INFO("parameter " << t->name);
        CHECK(xt::all(xt::equal(t->value, 0.0f)));
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
    grokkit_test::compute_gradients(m, b);
    for (grokkit::parameter* prm : m.parameters()) {
        INFO(prm->name);
        CHECK(grokkit_test::gradient_error(m, *prm, b) < 2e-2);
    }
    grokkit::input_spec tokens = small_spec();
    tokens.n_features = 0;
    mlp::params tied = p;
    tied.shared_embedding = tied.tie_unembedding = true;
    mlp::model_impl t(tied);
    CHECK_THROWS_WITH(t.build(spec, 1), Catch::Matchers::Contains("no embedding to tie to"));
}

TEST_CASE("mlp: input gradients of dense inputs match central differences", "[mlp]") {
    grokkit::input_spec spec;
    spec.n_features = 5;
    spec.n_targets = 2; // a regression spec sizes the outputs as a labelled one would
    for (const auto& hidden : {std::vector<std::int64_t>{6}, std::vector<std::int64_t>{6, 4}}) {
        INFO("hidden layers: " << hidden.size());
        mlp::params p;
        p.hidden = hidden;
        p.activation = "gelu"; // smooth: no kinks for the differences to cross
        mlp::model_impl m(p);
        m.build(spec, 7);
        grokkit::rng r(8, "test");
        std::vector<float> x(9 * 5);
        for (float& v : x)
            v = static_cast<float>(r.normal());
        grokkit::batch b;
        b.features = x.data();
        b.n = 9;
        CHECK(grokkit_test::input_gradient_error(m, b, 5, 2, 3) < 2e-3);
    }
    mlp::model_impl tokens(small_params("relu", {false, "concat", false}));
    tokens.build(small_spec(), 1);
    const examples e = random_examples(3, 1);
    xt::xtensor<float, 2> w = xt::zeros<float>({std::size_t{3}, vocab}), out;
    CHECK_THROWS_WITH(tokens.input_gradients(e.as_batch(), w, out),
                      Catch::Matchers::Contains("reads tokens"));
}

TEST_CASE("mlp: Hessian-vector products match central differences of gradients (float32)",
          "[mlp][curvature]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{true, "concat", true},
                              layout{false, "sum", false}, layout{true, "sum", true});
    const bool bias = GENERATE(true, false);
    const mlp::first_layer path = GENERATE(mlp::first_layer::direct, mlp::first_layer::table);
    // 40 examples take the tied product W_out·Eᵀ, 3 the order h·W_out then Eᵀ.
    const std::size_t n = GENERATE(40, 3);
    INFO("tied " << l.tied << ", combine " << l.combine << ", shared " << l.shared << ", bias "
                 << bias << ", first layer " << static_cast<int>(path) << ", n " << n);
    mlp::params p = small_params("gelu", l);
    p.hidden = {5, 3};
    p.bias = bias;
    mlp::model_impl m(p);
    m.build(small_spec(), 71);
    m.set_first_layer(path);
    const examples data = random_examples(n, 72);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), 2, 0);
    const grokkit::loss_config loss{"cross_entropy", false};
    CHECK(grokkit_test::hessian_vector_error(m, set, loss, 73) < 1e-2);
    CHECK(grokkit_test::gauss_newton_error(m, set, loss, 74) < 1e-2);
    for (const auto kind :
         {grokkit::curvature_kind::hessian, grokkit::curvature_kind::gauss_newton})
        CHECK(grokkit_test::repeated_product_difference(m, set, loss, kind) == 0.0);
}

TEST_CASE("mlp: the linear sites' rows give every layer's per-example weight and bias "
          "gradients",
          "[mlp][curvature]") {
    const layout l = GENERATE(layout{false, "concat", false}, layout{true, "concat", true},
                              layout{false, "sum", false});
    const mlp::first_layer path = GENERATE(mlp::first_layer::direct, mlp::first_layer::table);
    INFO("tied " << l.tied << ", combine " << l.combine << ", first layer "
                 << static_cast<int>(path));
    mlp::params p = small_params("gelu", l);
    p.hidden = {5, 3};
    mlp::model_impl m(p);
    m.build(small_spec(), 75);
    m.set_first_layer(path);
    CHECK(m.linear_sites().size() == 3);
    const examples data = random_examples(40, 76);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), 2, 0);
    CHECK(grokkit_test::linear_site_error(m, set, 77) < 1e-5);
}

TEST_CASE("mlp: Hessian-vector products of dense inputs, x² and mse", "[mlp][curvature]") {
    mlp::params p = small_params("square", layout{false, "concat", false});
    p.hidden = {6, 4};
    mlp::model_impl m(p);
    grokkit::input_spec spec;
    spec.n_features = 4;
    spec.n_classes = 3;
    m.build(spec, 81);
    grokkit::rng r(82, "test");
    grokkit::example_set set;
    set.features = xt::zeros<float>({std::size_t{12}, std::size_t{4}});
    set.labels = xt::zeros<std::int32_t>({std::size_t{12}});
    for (float& x : set.features)
        x = static_cast<float>(r.normal());
    for (std::size_t i = 0; i < 12; ++i)
        set.labels(i) = static_cast<std::int32_t>(i % 3);
    CHECK(grokkit_test::hessian_vector_error(m, set, {"mse", true}, 83) < 1e-2);
    CHECK(grokkit_test::hessian_vector_error(m, set, {"cross_entropy", false}, 84) < 1e-2);
}

TEST_CASE("mlp: the Gauss–Newton product is Jᵀ ∇²ℓ J, symmetric and positive semi-definite",
          "[mlp][curvature]") {
    mlp::params p = small_params("relu", layout{true, "sum", true});
    mlp::model_impl m(p);
    m.build(small_spec(), 91);
    const examples data = random_examples(20, 92);
    const grokkit::example_set set = grokkit_test::to_example_set(data.as_batch(), 2, 0);
    const std::size_t n_params = grokkit::parameter_count(m);
    grokkit::curvature_product g(m, set, {"cross_entropy", false},
                                 grokkit::curvature_kind::gauss_newton,
                                 std::vector<double>(n_params, 0.0), 0.0);
    const std::vector<double> a = g.explicit_matrix();
    // Symmetric before symmetrising: compare columns applied one by one.
    std::vector<double> e(n_params, 0.0), col_i, col_j;
    double asym = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < n_params; i += 7) {
        for (std::size_t j = i + 3; j < n_params; j += 11) {
            e.assign(n_params, 0.0);
            e[i] = 1.0;
            g.apply(e, col_i);
            e[i] = 0.0;
            e[j] = 1.0;
            g.apply(e, col_j);
            asym = std::max(asym, std::abs(col_i[j] - col_j[i]));
            scale = std::max(scale, std::abs(col_i[i]));
        }
    }
    CHECK(asym <= 1e-5 * scale);
    const auto eig = grokkit::symmetric_eigen(a, n_params);
    CHECK(eig.values.front() >= -1e-6 * eig.values.back());
}
