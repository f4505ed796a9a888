// Tests of the linear model: gradients against finite differences, the one-hot token path,
// training to the L2-regularised optimum, spec checks, layout and representations.
// SPDX-License-Identifier: Apache-2.0
#include "linear.hpp"

#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <grokkit_test/model_checks.hpp>
#include <string>
#include <vector>

namespace {

using logits_t = xt::xtensor<float, 2>;

// A small problem of either kind; `one_hot` holds the explicit encoding of token inputs.
struct problem {
    grokkit::input_spec spec;
    std::vector<std::int32_t> tokens; // (n, n_tokens) token inputs
    std::vector<float> features;      // (n, n_features) dense inputs
    std::vector<float> one_hot;       // (n, n_tokens·vocab) token inputs, one-hot per position
    std::vector<std::int32_t> labels; // (n,)

    std::size_t size() const { return labels.size(); }
    grokkit::batch as_batch() const {
        grokkit::batch b;
        b.tokens = tokens.empty() ? nullptr : tokens.data();
        b.features = features.empty() ? nullptr : features.data();
        b.labels = labels.data();
        b.n = labels.size();
        return b;
    }
    // The rows x of the model, dense either way.
    const std::vector<float>& rows() const { return tokens.empty() ? features : one_hot; }
};

// Dense: 5 features in [-1, 1], 3 classes; the label is the arg-max of a fixed linear score,
// flipped for every 5th example so the problem is not separable.
problem dense_problem(std::size_t n, std::uint64_t seed) {
    problem p;
    p.spec.n_features = 5;
    p.spec.n_classes = 3;
    grokkit::rng r(seed, "test");
    for (std::size_t i = 0; i < n; ++i) {
        double score[3] = {0.0, 0.0, 0.0};
        for (std::size_t j = 0; j < 5; ++j) {
            const auto x = static_cast<float>(2.0 * r.uniform() - 1.0);
            p.features.push_back(x);
            score[j % 3] += (j < 3 ? 1.0 : -0.5) * x;
        }
        std::int32_t y = 0;
        for (std::int32_t c = 1; c < 3; ++c) {
            y = score[c] > score[y] ? c : y;
        }
        p.labels.push_back(i % 5 == 4 ? (y + 1) % 3 : y);
    }
    return p;
}

// Tokens: 3 positions over a vocabulary of 5, 4 classes; the label is (t0 + t2) mod 4.
problem token_problem(std::size_t n, std::uint64_t seed) {
    problem p;
    p.spec.n_tokens = 3;
    p.spec.vocab_size = 5;
    p.spec.n_classes = 4;
    grokkit::rng r(seed, "test");
    for (std::size_t i = 0; i < n; ++i) {
        std::int32_t t[3];
        for (std::size_t k = 0; k < 3; ++k) {
            t[k] = static_cast<std::int32_t>(r.below(5));
            p.tokens.push_back(t[k]);
            for (std::int32_t v = 0; v < 5; ++v) {
                p.one_hot.push_back(v == t[k] ? 1.0f : 0.0f);
            }
        }
        p.labels.push_back((t[0] + t[2]) % 4);
    }
    return p;
}

problem make_problem(bool is_tokens, std::size_t n, std::uint64_t seed) {
    return is_tokens ? token_problem(n, seed) : dense_problem(n, seed);
}

linear::params normal_init(bool bias) {
    linear::params p;
    p.bias = bias;
    p.init = "normal";
    return p;
}

// Minimises mean CE + lambda/2 (‖W‖² + ‖b‖²) over x (n, d) in double by plain gradient descent:
// the objective is lambda-strongly convex, so `steps` steps of rate `lr` converge to its unique
// minimiser. Returns W (d, c) then b (c), flattened; `grad_norm` receives the final ‖∇J‖₂.
std::vector<double> reference_optimum(const problem& data, std::size_t d, std::size_t c,
                                      double lambda, double& grad_norm) {
    constexpr double lr = 0.5;
    constexpr int steps = 3000;
    const std::size_t n = data.size();
    const std::vector<float>& x = data.rows();
    std::vector<double> theta(d * c + c, 0.0), grad(theta.size()), z(c);
    for (int step = 0; step <= steps; ++step) {
        for (std::size_t k = 0; k < theta.size(); ++k) {
            grad[k] = lambda * theta[k];
        }
        for (std::size_t i = 0; i < n; ++i) {
            double z_max = -1e300;
            for (std::size_t j = 0; j < c; ++j) {
                z[j] = theta[d * c + j];
                for (std::size_t k = 0; k < d; ++k) {
                    z[j] += x[i * d + k] * theta[k * c + j];
                }
                z_max = std::max(z_max, z[j]);
            }
            double total = 0.0;
            for (std::size_t j = 0; j < c; ++j) {
                z[j] = std::exp(z[j] - z_max);
                total += z[j];
            }
            for (std::size_t j = 0; j < c; ++j) {
                const double dz =
                    (z[j] / total - (static_cast<std::int32_t>(j) == data.labels[i] ? 1.0 : 0.0)) /
                    static_cast<double>(n);
                grad[d * c + j] += dz;
                for (std::size_t k = 0; k < d; ++k) {
                    grad[k * c + j] += x[i * d + k] * dz;
                }
            }
        }
        grad_norm = 0.0;
        for (std::size_t k = 0; k < theta.size(); ++k) {
            grad_norm += grad[k] * grad[k];
            if (step < steps) {
                theta[k] -= lr * grad[k];
            }
        }
        grad_norm = std::sqrt(grad_norm);
    }
    return theta;
}

std::vector<std::string> names_of(linear::model_impl& m) {
    std::vector<std::string> names;
    for (const grokkit::parameter* p : m.parameters()) {
        names.push_back(p->name);
    }
    return names;
}

} // namespace

TEST_CASE("linear: float gradients match central differences of the loss", "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    const bool bias = GENERATE(true, false);
    INFO("tokens " << is_tokens << ", bias " << bias);
    const problem data = make_problem(is_tokens, 24, 3);
    linear::model_impl m(normal_init(bias));
    m.build(data.spec, 11);
    grokkit_test::compute_gradients(m, data.as_batch());
    // h = 1e-2 in float: the loss is smooth, so the O(h²) truncation and the rounding of the
    // float logits (~1e-7 · 2 / h) leave errors near 1e-5, well below the 1e-3 tolerance.
    for (grokkit::parameter* p : m.parameters()) {
        INFO("parameter " << p->name);
        CHECK(grokkit_test::gradient_error(m, *p, data.as_batch()) < 1e-3);
    }
}

TEST_CASE("linear: input gradients match central differences; tokens have none", "[linear]") {
    const problem data = make_problem(false, 12, 3);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 11);
    CHECK(grokkit_test::input_gradient_error(m, data.as_batch(), 5, 3, 4) < 1e-3);
    const problem tokens = make_problem(true, 4, 3);
    linear::model_impl t(normal_init(true));
    t.build(tokens.spec, 1);
    xt::xtensor<float, 2> w = xt::zeros<float>({std::size_t{4}, std::size_t{3}}), out;
    CHECK_THROWS_WITH(t.input_gradients(tokens.as_batch(), w, out),
                      Catch::Matchers::Contains("reads tokens"));
}

TEST_CASE("linear: a class mask gives disallowed classes exactly zero probability and leaves "
          "the allowed classes' gradients unchanged",
          "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    INFO("tokens " << is_tokens);
    const problem data = make_problem(is_tokens, 24, 3);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 11);
    grokkit_test::check_class_mask(
        m, grokkit_test::to_example_set(data.as_batch(), data.spec.n_tokens, data.spec.n_features),
        data.spec.n_classes);
}

TEST_CASE("linear: token inputs equal a dense model on their explicit one-hot encoding",
          "[linear]") {
    const problem tokens = token_problem(30, 5);
    problem dense;
    dense.spec.n_features = 3 * 5;
    dense.spec.n_classes = tokens.spec.n_classes;
    dense.features = tokens.one_hot;
    dense.labels = tokens.labels;

    linear::model_impl t(normal_init(true)), d(normal_init(true));
    t.build(tokens.spec, 7);
    d.build(dense.spec, 7);
    REQUIRE(t.fan_in() == d.fan_in());
    // Same fan_in and seed: the same initial weights; copied anyway so the test does not rely
    // on it, with a nonzero bias.
    const std::vector<grokkit::parameter*> pt = t.parameters(), pd = d.parameters();
    pt[1]->value = xt::xarray<float>{0.3f, -0.2f, 0.1f, 0.5f};
    pd[0]->value = pt[0]->value;
    pd[1]->value = pt[1]->value;

    logits_t lt, ld;
    t.forward(tokens.as_batch(), lt);
    d.forward(dense.as_batch(), ld);
    REQUIRE(lt.shape() == ld.shape());
    for (std::size_t k = 0; k < lt.size(); ++k) {
        CHECK_THAT(lt.data()[k], Catch::Matchers::WithinAbs(ld.data()[k], 1e-5));
    }
    logits_t dlogits;
    grokkit::nn::softmax_cross_entropy(ld, dense.labels.data(), &dlogits);
    t.backward(dlogits);
    d.backward(dlogits);
    for (std::size_t i = 0; i < pt.size(); ++i) {
        INFO("parameter " << pt[i]->name);
        for (std::size_t k = 0; k < pt[i]->grad.size(); ++k) {
            CHECK_THAT(pt[i]->grad.data()[k],
                       Catch::Matchers::WithinAbs(pd[i]->grad.data()[k], 1e-6));
        }
    }
    const xt::xarray<float> input = t.representation("input", tokens.as_batch());
    CHECK(input.shape() == std::vector<std::size_t>{30, 15});
    const bool is_one_hot = std::equal(input.begin(), input.end(), tokens.one_hot.begin());
    CHECK(is_one_hot);
}

TEST_CASE("linear: per-example gradients equal one-example passes and sum to the batch's",
          "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    const bool bias = GENERATE(false, true);
    INFO("tokens " << is_tokens << ", bias " << bias);
    const problem data = make_problem(is_tokens, 7, 31);
    linear::model_impl m(normal_init(bias));
    m.build(data.spec, 4);
    grokkit::rng r(5, "test");
    logits_t dlogits = xt::zeros<float>({data.size(), data.spec.n_classes});
    for (float& g : dlogits)
        g = static_cast<float>(r.normal());
    const auto e = grokkit_test::check_example_gradients(m, data.as_batch(), dlogits,
                                                         data.spec.n_tokens, data.spec.n_features);
    REQUIRE(e.shape_ok);
    CHECK(e.rows < 1e-6);
    CHECK(e.sum < 1e-5);
}

TEST_CASE("linear: grokkit::example_gradients rows average to the training gradient", "[linear]") {
    const grokkit::loss_config loss = GENERATE(
        grokkit::loss_config{"cross_entropy", false}, grokkit::loss_config{"cross_entropy", true},
        grokkit::loss_config{"mse", false}, grokkit::loss_config{"mse", true});
    INFO("loss " << loss.name << ", class_mean " << loss.class_mean);
    const problem data = make_problem(false, 9, 32);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 6);
    logits_t rows;
    const grokkit::nn::loss_sum s = grokkit::example_gradients(m, data.as_batch(), loss, rows);
    // The trainer's gradient: the configured mean loss, differentiated by backward().
    logits_t logits, dlogits;
    m.forward(data.as_batch(), logits);
    const grokkit::nn::loss_sum trained =
        grokkit::evaluate_loss(loss, logits, data.labels.data(), &dlogits);
    m.backward(dlogits);
    CHECK(s.loss == Approx(trained.loss));
    const std::vector<float> mean_grad = grokkit_test::flat_gradients(m);
    REQUIRE(rows.shape(1) == mean_grad.size());
    std::vector<float> mean_rows(mean_grad.size(), 0.0f);
    for (std::size_t i = 0; i < data.size(); ++i)
        for (std::size_t k = 0; k < mean_grad.size(); ++k)
            mean_rows[k] += rows(i, k) / static_cast<float>(data.size());
    CHECK(grokkit_test::scaled_error(mean_rows.data(), mean_grad.data(), mean_grad.size()) < 1e-5);
    // Row i is example i's own loss gradient: the same call on that example alone.
    grokkit::batch one = data.as_batch();
    one.n = 1;
    one.features += 4 * data.spec.n_features;
    one.labels += 4;
    logits_t single;
    grokkit::example_gradients(m, one, loss, single);
    CHECK(grokkit_test::scaled_error(rows.data() + 4 * rows.shape(1), single.data(),
                                     rows.shape(1)) < 1e-6);
}

TEST_CASE("linear: every optimizer lowers the loss on a fixed batch", "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    const auto opt = GENERATE(from_range(grokkit_test::every_optimizer()));
    INFO("tokens " << is_tokens << ", " << opt.what);
    const problem data = make_problem(is_tokens, 40, 8);
    linear::model_impl m; // zeros: the loss starts at log(n_classes)
    m.build(data.spec, 1);
    const double initial = grokkit_test::mean_loss(m, data.as_batch());
    CHECK_THAT(initial, Catch::Matchers::WithinAbs(std::log(data.spec.n_classes), 1e-6));
    CHECK(grokkit_test::train(m, data.as_batch(), opt, 20) < 0.9 * initial);
}

TEST_CASE("linear: gradient descent with L2 weight decay reaches the regularised optimum",
          "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    INFO("tokens " << is_tokens);
    const problem data = make_problem(is_tokens, 16, 2);
    const double lambda = 0.1;
    linear::model_impl m;
    m.build(data.spec, 1);
    const std::size_t d = m.fan_in(), c = data.spec.n_classes;
    double ref_grad_norm = 0.0;
    const std::vector<double> optimum = reference_optimum(data, d, c, lambda, ref_grad_norm);
    // The reference is stationary to double precision, so it is the optimum.
    REQUIRE(ref_grad_norm < 1e-10);

    // The objective's gradient is the model's plus lambda·theta (L2 on weight and bias).
    for (int step = 0; step < 3000; ++step) {
        grokkit_test::compute_gradients(m, data.as_batch());
        for (grokkit::parameter* p : m.parameters()) {
            p->value -= 0.5f * (p->grad + static_cast<float>(lambda) * p->value);
        }
    }
    const std::vector<grokkit::parameter*> params = m.parameters();
    double max_error = 0.0;
    for (std::size_t k = 0; k < d * c; ++k) {
        max_error = std::max(max_error, std::abs(params[0]->value.data()[k] - optimum[k]));
    }
    for (std::size_t j = 0; j < c; ++j) {
        max_error = std::max(max_error, std::abs(params[1]->value.data()[j] - optimum[d * c + j]));
    }
    // Float rounding of each step's update (~1e-7 relative) leaves the iterate ~5e-7 away.
    CHECK(max_error < 1e-5);
}

TEST_CASE("linear: build rejects a spec without inputs or classes, naming both", "[linear]") {
    linear::model_impl m;
    grokkit::input_spec no_inputs;
    no_inputs.n_classes = 2;
    grokkit::input_spec no_classes;
    no_classes.n_features = 4;
    for (const grokkit::input_spec& spec : {no_inputs, no_classes}) {
        CHECK_THROWS_AS(m.build(spec, 1), grokkit::error);
        CHECK_THROWS_WITH(m.build(spec, 1), Catch::Contains("linear.build") &&
                                                Catch::Contains(spec.describe()) &&
                                                Catch::Contains("expected dense features"));
    }
    linear::params bad;
    bad.init = "uniform";
    linear::model_impl b(bad);
    CHECK_THROWS_WITH(b.build(dense_problem(1, 1).spec, 1), Catch::Contains("uniform"));
}

TEST_CASE("linear: every parameter is declared with a doc string", "[linear]") {
    linear::model_impl m;
    grokkit::param_set ps;
    m.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        INFO("key " << p.key());
        CHECK_FALSE(p.doc().empty());
    }
    // The README's table lists these keys in this order.
    CHECK(keys == std::vector<std::string>{"bias", "init", "init_scale"});
}

TEST_CASE("linear: parameters are named and shaped, and initialised as declared", "[linear]") {
    const problem tokens = token_problem(4, 1);
    linear::model_impl zeros;
    zeros.build(tokens.spec, 1);
    CHECK(names_of(zeros) == std::vector<std::string>{"weight", "bias"});
    const std::vector<grokkit::parameter*> z = zeros.parameters();
    CHECK(z[0]->value.shape() == std::vector<std::size_t>{15, 4});
    CHECK(z[1]->value.shape() == std::vector<std::size_t>{4});
    CHECK(xt::all(xt::equal(z[0]->value, 0.0f)));

    linear::params p = normal_init(false);
    p.init_scale = 2.0;
    linear::model_impl a(p), b(p), c(p);
    grokkit::input_spec wide;
    wide.n_features = 400;
    wide.n_classes = 10;
    a.build(wide, 21);
    b.build(wide, 21);
    c.build(wide, 22);
    CHECK(names_of(a) == std::vector<std::string>{"weight"});
    const xt::xarray<float>& w = a.parameters()[0]->value;
    const bool same_seed_same = w == b.parameters()[0]->value;
    const bool other_seed_differs = w != c.parameters()[0]->value;
    CHECK(same_seed_same);
    CHECK(other_seed_differs);
    // 4000 draws: the sample std is within ~2% of init_scale / sqrt(fan_in) = 0.1.
    double sum_sq = 0.0;
    for (float v : w) {
        sum_sq += static_cast<double>(v) * v;
    }
    CHECK_THAT(std::sqrt(sum_sq / static_cast<double>(w.size())),
               Catch::Matchers::WithinRel(0.1, 0.06));
}

TEST_CASE("linear: backward overwrites gradients", "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    INFO("tokens " << is_tokens);
    const problem data = make_problem(is_tokens, 12, 6);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 5);
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

TEST_CASE("linear: representations have the documented names and shapes", "[linear]") {
    const problem data = dense_problem(9, 2);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 1);
    CHECK(m.representations() == std::vector<std::string>{"input", "logits"});
    const xt::xarray<float> input = m.representation("input", data.as_batch());
    CHECK(input.shape() == std::vector<std::size_t>{9, 5});
    const bool same_input = std::equal(input.begin(), input.end(), data.features.begin());
    CHECK(same_input);

    // A representation between forward and backward leaves the pending gradients unchanged.
    const problem other = dense_problem(4, 3);
    logits_t logits, dlogits;
    m.forward(data.as_batch(), logits);
    grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
    const xt::xarray<float> repr = m.representation("logits", other.as_batch());
    CHECK(repr.shape() == std::vector<std::size_t>{4, 3});
    m.backward(dlogits);
    const xt::xarray<float> grad = m.parameters()[0]->grad;
    grokkit_test::compute_gradients(m, data.as_batch());
    const bool same_grad = grad == m.parameters()[0]->grad;
    CHECK(same_grad);
    const bool same_logits = m.representation("logits", data.as_batch()) == logits;
    CHECK(same_logits);

    CHECK_THROWS_WITH(m.representation("hidden0", data.as_batch()),
                      Catch::Contains("linear.representation") && Catch::Contains("hidden0") &&
                          Catch::Contains("input, logits"));
}

TEST_CASE("linear: forward rejects a token outside the vocabulary and the wrong input kind",
          "[linear]") {
    problem data = token_problem(3, 1);
    linear::model_impl m;
    m.build(data.spec, 1);
    data.tokens[4] = 5;
    logits_t logits;
    CHECK_THROWS_WITH(m.forward(data.as_batch(), logits), Catch::Contains("linear.forward") &&
                                                              Catch::Contains("token 5") &&
                                                              Catch::Contains("example 1"));
    const problem dense = dense_problem(3, 1);
    CHECK_THROWS_WITH(m.forward(dense.as_batch(), logits), Catch::Contains("no tokens"));
}

TEST_CASE("linear: Hessian-vector products match central differences of gradients (float32)",
          "[linear][curvature]") {
    const bool is_tokens = GENERATE(false, true);
    const grokkit::loss_config loss =
        GENERATE(grokkit::loss_config{"cross_entropy", false}, grokkit::loss_config{"mse", true});
    INFO("tokens " << is_tokens << ", loss " << loss.name);
    const problem data = make_problem(is_tokens, 12, 33);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 7);
    const grokkit::example_set set =
        grokkit_test::to_example_set(data.as_batch(), data.spec.n_tokens, data.spec.n_features);
    CHECK(grokkit_test::hessian_vector_error(m, set, loss, 8) < 1e-2);
    // Logits linear in the parameters: the Hessian is its Gauss–Newton part, here checked
    // against Jᵀ ∇²ℓ (J v) with J v from central differences of the logits.
    CHECK(grokkit_test::gauss_newton_error(m, set, loss, 9) < 1e-2);
    CHECK(grokkit_test::repeated_product_difference(m, set, loss,
                                                    grokkit::curvature_kind::hessian) == 0.0);
}

TEST_CASE("linear: its one linear site's rows give the per-example gradients", "[linear]") {
    const bool is_tokens = GENERATE(false, true);
    INFO("tokens " << is_tokens);
    const problem data = make_problem(is_tokens, 12, 35);
    linear::model_impl m(normal_init(true));
    m.build(data.spec, 7);
    const grokkit::example_set set =
        grokkit_test::to_example_set(data.as_batch(), data.spec.n_tokens, data.spec.n_features);
    CHECK(m.linear_sites().size() == 1);
    CHECK(grokkit_test::linear_site_error(m, set, 36) < 1e-6);
}
