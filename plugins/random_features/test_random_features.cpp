// Tests of the random features model: gradients against finite differences, F as a function of
// the seed, the closed-form fit against gradient descent from zero, spec and declaration checks.
// SPDX-License-Identifier: Apache-2.0
#include "random_features.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/least_squares.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <grokkit_test/model_checks.hpp>
#include <string>
#include <vector>

namespace {

using logits_t = xt::xtensor<float, 2>;

// Dense inputs N(0, 1) of width `d`, with 3 labels from the sign pattern of two coordinates and
// one real-valued target sin(x_0) + x_1 x_2 per example.
struct problem {
    grokkit::input_spec spec;
    std::vector<float> features;      // (n, d)
    std::vector<std::int32_t> labels; // (n,)
    std::vector<float> targets;       // (n, 1)

    std::size_t size() const { return labels.size(); }
    grokkit::batch as_batch() const {
        grokkit::batch b;
        b.features = features.data();
        b.labels = labels.data();
        b.n = labels.size();
        return b;
    }
    grokkit::batch as_regression_batch() const {
        grokkit::batch b = as_batch();
        b.labels = nullptr;
        b.targets = targets.data();
        b.n_targets = 1;
        return b;
    }
    grokkit::example_set regression_set() const {
        grokkit::example_set s;
        const std::size_t n = size(), d = spec.n_features;
        s.features = xt::zeros<float>({n, d});
        s.targets = xt::zeros<float>({n, std::size_t{1}});
        std::copy(features.begin(), features.end(), s.features.begin());
        std::copy(targets.begin(), targets.end(), s.targets.begin());
        return s;
    }
};

problem make_problem(std::size_t n, std::size_t d, bool is_regression, std::uint64_t seed) {
    problem p;
    p.spec.n_features = d;
    if (is_regression)
        p.spec.n_targets = 1;
    else
        p.spec.n_classes = 3;
    grokkit::rng r(seed, "test");
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < d; ++j)
            p.features.push_back(static_cast<float>(r.normal()));
        const float* x = p.features.data() + i * d;
        p.labels.push_back(x[0] > 0.0f ? (x[1] > 0.0f ? 0 : 1) : 2);
        p.targets.push_back(static_cast<float>(std::sin(x[0]) + x[1] * x[d > 2 ? 2 : 0]));
    }
    return p;
}

random_features::params make_params(std::int64_t width, const std::string& activation,
                                    const std::string& init = "normal") {
    random_features::params p;
    p.width = width;
    p.activation = activation;
    p.init = init;
    return p;
}

// Mean squared error against the batch's targets, accumulated in double.
double mean_squared_error(grokkit::model& m, const grokkit::batch& x) {
    logits_t logits;
    m.forward(x, logits);
    const grokkit::nn::loss_sum s =
        grokkit::evaluate_loss(grokkit::loss_config{"mse", false}, logits, x, nullptr);
    return s.loss / static_cast<double>(x.n);
}

// ‖grad − central differences‖₂ / ‖central differences‖₂ of the mean squared error in W, after
// one forward and backward pass. The loss is quadratic in W, so the differences are exact up to
// the float rounding of the logits.
double mse_gradient_error(grokkit::model& m, const grokkit::batch& x) {
    logits_t logits, dlogits;
    m.forward(x, logits);
    grokkit::evaluate_loss(grokkit::loss_config{"mse", false}, logits, x, &dlogits);
    m.backward(dlogits);
    grokkit::parameter& w = *m.parameters()[0];
    constexpr float h = 1e-2f;
    double diff = 0.0, norm = 0.0;
    for (std::size_t k = 0; k < w.value.size(); ++k) {
        const float saved = w.value.data()[k];
        w.value.data()[k] = saved + h;
        const double plus = mean_squared_error(m, x);
        w.value.data()[k] = saved - h;
        const double minus = mean_squared_error(m, x);
        w.value.data()[k] = saved;
        const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
        diff += std::pow(w.grad.data()[k] - numeric, 2);
        norm += numeric * numeric;
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

double relative_distance(const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0.0, norm = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        diff += std::pow(static_cast<double>(a[k]) - b[k], 2);
        norm += static_cast<double>(b[k]) * b[k];
    }
    return std::sqrt(diff / norm);
}

} // namespace

TEST_CASE("random_features: readout gradients match central differences of mse and "
          "cross-entropy",
          "[random_features]") {
    const std::string activation = GENERATE("relu", "gelu", "square", "identity");
    INFO("activation " << activation);
    const problem regression = make_problem(16, 4, true, 3);
    random_features::model_impl r(make_params(12, activation));
    r.build(regression.spec, 5);
    CHECK(mse_gradient_error(r, regression.as_regression_batch()) < 1e-3);

    const problem labelled = make_problem(16, 4, false, 4);
    random_features::model_impl c(make_params(12, activation));
    c.build(labelled.spec, 5);
    grokkit_test::compute_gradients(c, labelled.as_batch());
    CHECK(grokkit_test::gradient_error(c, *c.parameters()[0], labelled.as_batch()) < 1e-3);
}

TEST_CASE("random_features: input gradients match central differences", "[random_features]") {
    // Smooth activations only: relu's kinks would sit inside some of the differences' steps.
    const std::string activation = GENERATE("gelu", "identity", "square");
    INFO("activation " << activation);
    const problem data = make_problem(6, 4, false, 7);
    random_features::model_impl m(make_params(10, activation));
    m.build(data.spec, 2);
    CHECK(grokkit_test::input_gradient_error(m, data.as_batch(), 4, 3, 8) < 1e-3);

    logits_t wrong = xt::zeros<float>({std::size_t{6}, std::size_t{2}}), out;
    CHECK_THROWS_WITH(m.input_gradients(data.as_batch(), wrong, out),
                      Catch::Contains("random_features.input_gradients") &&
                          Catch::Contains("(6, 2)") && Catch::Contains("(6, 3)"));
}

TEST_CASE("random_features: per-example gradients equal one-example passes and sum to the "
          "batch's",
          "[random_features]") {
    const std::string activation = GENERATE("relu", "gelu");
    INFO("activation " << activation);
    const problem data = make_problem(7, 5, false, 31);
    random_features::model_impl m(make_params(9, activation));
    m.build(data.spec, 4);
    grokkit::rng r(5, "test");
    logits_t dlogits = xt::zeros<float>({data.size(), data.spec.n_classes});
    for (float& g : dlogits)
        g = static_cast<float>(r.normal());
    const auto e =
        grokkit_test::check_example_gradients(m, data.as_batch(), dlogits, 0, data.spec.n_features);
    REQUIRE(e.shape_ok);
    CHECK(e.rows < 1e-6);
    CHECK(e.sum < 1e-5);
}

TEST_CASE("random_features: Hessian-vector products and the linear site match their "
          "definitions",
          "[random_features][curvature]") {
    const grokkit::loss_config loss =
        GENERATE(grokkit::loss_config{"cross_entropy", false}, grokkit::loss_config{"mse", true});
    INFO("loss " << loss.name);
    const problem data = make_problem(12, 4, false, 33);
    random_features::model_impl m(make_params(8, "gelu"));
    m.build(data.spec, 7);
    const grokkit::example_set set =
        grokkit_test::to_example_set(data.as_batch(), 0, data.spec.n_features);
    CHECK(grokkit_test::hessian_vector_error(m, set, loss, 8) < 1e-2);
    CHECK(grokkit_test::gauss_newton_error(m, set, loss, 9) < 1e-2);
    CHECK(m.linear_sites().size() == 1);
    CHECK(grokkit_test::linear_site_error(m, set, 36) < 1e-6);
    std::vector<float> short_direction(3, 0.0f);
    logits_t t_logits;
    CHECK_THROWS_AS(m.forward_tangent(short_direction, t_logits), grokkit::error);
}

TEST_CASE("random_features: F is a pure function of the seed and is not a parameter",
          "[random_features]") {
    const problem data = make_problem(10, 6, false, 2);
    random_features::model_impl a(make_params(20, "relu")), b(make_params(20, "relu")),
        c(make_params(20, "relu"));
    a.build(data.spec, 21);
    b.build(data.spec, 21);
    c.build(data.spec, 22);
    REQUIRE(a.parameters().size() == 1);
    CHECK(a.parameters()[0]->name == "readout");
    CHECK(a.parameters()[0]->value.shape() == std::vector<std::size_t>{20, 3});
    CHECK(a.first_layer().shape() == std::array<std::size_t, 2>{6, 20});

    // The same readout in all three: only F can make the logits differ.
    const xt::xarray<float> w = a.parameters()[0]->value;
    b.parameters()[0]->value = w;
    c.parameters()[0]->value = w;
    logits_t la, lb, lc;
    a.forward(data.as_batch(), la);
    b.forward(data.as_batch(), lb);
    c.forward(data.as_batch(), lc);
    const bool same_seed_same = la == lb;
    const bool other_seed_differs = la != lc;
    CHECK(same_seed_same);
    CHECK(other_seed_differs);

    // A rebuild (a resumed run) regenerates the same F; the readout's draw does not move it.
    random_features::model_impl z(make_params(20, "relu", "zeros"));
    z.build(data.spec, 21);
    const bool same_first_layer = z.first_layer() == a.first_layer();
    CHECK(same_first_layer);
    a.build(data.spec, 21);
    const bool rebuilt_same = a.first_layer() == b.first_layer();
    CHECK(rebuilt_same);
    CHECK(xt::all(xt::equal(z.parameters()[0]->value, 0.0f)));

    // 6 · 20 draws of N(0, 1/6): the sample std is within ~20% of 1/sqrt(6).
    double sum_sq = 0.0;
    for (float v : a.first_layer())
        sum_sq += static_cast<double>(v) * v;
    CHECK_THAT(std::sqrt(sum_sq / 120.0), Catch::Matchers::WithinRel(1.0 / std::sqrt(6.0), 0.2));
}

TEST_CASE("random_features: gradient descent from zero reaches the closed-form minimum-norm "
          "interpolant",
          "[random_features]") {
    // Overparameterised: p = 60 features for n = 20 points in d = 5.
    const problem data = make_problem(20, 5, true, 11);
    const grokkit::example_set train = data.regression_set();
    random_features::model_impl fitted(make_params(60, "relu", "zeros"));
    fitted.build(data.spec, 3);
    const grokkit::least_squares solver = grokkit::fit_readout(fitted, train, 0.0);
    REQUIRE(solver.rank() == 20);
    double mean_square = 0.0;
    for (float t : data.targets)
        mean_square += static_cast<double>(t) * t / 20.0;
    CHECK(mean_squared_error(fitted, data.as_regression_batch()) < 1e-8 * mean_square);
    const std::vector<float> min_norm = grokkit::flat_parameters(fitted);

    // The Hessian of the mean squared error is 2ΦᵀΦ/n: λ_max = 2 s_max²/n, and the slowest
    // mode in Φ's row space decays as (1 − lr λ_min)^steps with λ_min = 2 s_min²/n.
    const std::vector<double>& s = solver.singular_values();
    const double lambda_max = 2.0 * s.front() * s.front() / 20.0;
    const double lambda_min = 2.0 * s[19] * s[19] / 20.0;
    grokkit::train_config cfg;
    cfg.loss.name = "mse";
    cfg.optimizer.kind = "sgd";
    cfg.optimizer.weight_decay = 0.0; // the default is 1
    cfg.optimizer.momentum = 0.0;
    cfg.lr = 1.0 / lambda_max;
    cfg.steps = static_cast<std::int64_t>(std::ceil(12.0 * lambda_max / lambda_min));
    INFO("condition number of the Hessian on Φ's row space " << lambda_max / lambda_min);
    REQUIRE(cfg.steps < 400000); // a few seconds at most
    random_features::model_impl descended(make_params(60, "relu", "zeros"));
    descended.build(data.spec, 3); // the same F
    grokkit::set_blas_threads(1);
    grokkit::train(descended, train, cfg, 3);
    // From zero, every update lies in Φ's row space, so the limit is the minimum-norm solution:
    // 12 time constants leave e^-12 ≈ 6e-6 of the slowest mode; the float rounding of the
    // updates, amplified by the condition number (~4500), leaves ~1.5e-4.
    CHECK(relative_distance(grokkit::flat_parameters(descended), min_norm) < 1e-3);
}

TEST_CASE("random_features: representations have the documented names and shapes and leave a "
          "pending backward alone",
          "[random_features]") {
    const problem data = make_problem(9, 4, false, 2);
    random_features::model_impl m(make_params(7, "relu"));
    m.build(data.spec, 1);
    CHECK(m.representations() == std::vector<std::string>{"features", "logits"});
    const xt::xarray<float> features = m.representation("features", data.as_batch());
    CHECK(features.shape() == std::vector<std::size_t>{9, 7});
    logits_t phi;
    m.readout_features(data.as_batch(), phi);
    const bool same_features = features == phi;
    CHECK(same_features);
    CHECK_FALSE(m.reads_raw_inputs());
    CHECK(m.readout_index() == 0);

    const problem other = make_problem(4, 4, false, 3);
    logits_t logits, dlogits;
    m.forward(data.as_batch(), logits);
    grokkit::nn::softmax_cross_entropy(logits, data.labels.data(), &dlogits);
    const xt::xarray<float> repr = m.representation("logits", other.as_batch());
    CHECK(repr.shape() == std::vector<std::size_t>{4, 3});
    xt::xtensor<float, 2> other_phi, w = xt::zeros<float>({std::size_t{4}, std::size_t{3}}), g;
    m.readout_features(other.as_batch(), other_phi);
    m.input_gradients(other.as_batch(), w, g);
    m.backward(dlogits);
    const xt::xarray<float> grad = m.parameters()[0]->grad;
    grokkit_test::compute_gradients(m, data.as_batch());
    const bool same_grad = grad == m.parameters()[0]->grad;
    CHECK(same_grad);
    const bool same_logits = m.representation("logits", data.as_batch()) == logits;
    CHECK(same_logits);

    CHECK_THROWS_WITH(m.representation("hidden0", data.as_batch()),
                      Catch::Contains("random_features.representation") &&
                          Catch::Contains("hidden0") && Catch::Contains("features, logits"));
}

TEST_CASE("random_features: build rejects token inputs and settings outside the rules",
          "[random_features]") {
    random_features::model_impl m;
    grokkit::input_spec tokens;
    tokens.n_tokens = 2;
    tokens.vocab_size = 5;
    tokens.n_classes = 5;
    grokkit::input_spec no_outputs;
    no_outputs.n_features = 4;
    for (const grokkit::input_spec& spec : {tokens, no_outputs}) {
        CHECK_THROWS_AS(m.build(spec, 1), grokkit::error);
        CHECK_THROWS_WITH(m.build(spec, 1), Catch::Contains("random_features.build") &&
                                                Catch::Contains(spec.describe()) &&
                                                Catch::Contains("expected dense features"));
    }
    const grokkit::input_spec dense = make_problem(1, 4, false, 1).spec;
    random_features::params zero_width;
    zero_width.width = 0;
    random_features::model_impl z(zero_width);
    CHECK_THROWS_WITH(z.build(dense, 1),
                      Catch::Contains("random_features.build") && Catch::Contains("width"));
    random_features::params bad_activation;
    bad_activation.activation = "tanh";
    random_features::model_impl b(bad_activation);
    CHECK_THROWS_WITH(b.build(dense, 1), Catch::Contains("tanh") && Catch::Contains("identity"));

    logits_t logits;
    const problem one = make_problem(1, 4, false, 1);
    random_features::model_impl unbuilt;
    CHECK_THROWS_WITH(unbuilt.forward(one.as_batch(), logits), Catch::Contains("not built"));
}

TEST_CASE("random_features: every parameter is declared with a doc string", "[random_features]") {
    random_features::model_impl m;
    grokkit::param_set ps;
    m.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        INFO("key " << p.key());
        CHECK_FALSE(p.doc().empty());
    }
    // The README's table lists these keys in this order.
    CHECK(keys == std::vector<std::string>{"width", "activation", "init", "init_scale"});
}

TEST_CASE("random_features: backward overwrites gradients", "[random_features]") {
    const problem data = make_problem(12, 3, false, 6);
    random_features::model_impl m(make_params(5, "gelu"));
    m.build(data.spec, 5);
    grokkit_test::compute_gradients(m, data.as_batch());
    const xt::xarray<float> first = m.parameters()[0]->grad;
    grokkit_test::compute_gradients(m, data.as_batch());
    const bool same = m.parameters()[0]->grad == first;
    CHECK(same);
}
