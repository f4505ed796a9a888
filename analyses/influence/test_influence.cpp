// Tests of the influence solves: predictions against actual leave-one-out retraining of
// L2-regularised logistic regression (Koh & Liang 2017, figure 2), exact against CG on an MLP,
// the refusal of exact for large models, and the ranking.
// SPDX-License-Identifier: Apache-2.0
#include "influence.hpp"
#include "linear/linear.hpp"
#include "mlp/mlp.hpp"

#include <grokkit/error.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/optimizer.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace {

// ---- The outside truth: softmax regression in double, solved by Newton's method -----------

constexpr std::size_t dim = 5, n_classes = 2, n_train = 200;
constexpr double l2 = 1e-2;
// θ as the linear model lays it out: W (dim, n_classes) row-major, then b (n_classes).
constexpr std::size_t n_params = (dim + 1) * n_classes;

struct data {
    std::vector<double> x;       // (n, dim)
    std::vector<std::int32_t> y; // (n)
};

// Points N(0, I) labelled by a fixed direction, with 15% of the labels flipped: not separable.
data make_data(std::size_t n, std::uint64_t seed) {
    grokkit::rng r(seed, "influence test");
    data d;
    for (std::size_t i = 0; i < n; ++i) {
        double score = 0.0;
        for (std::size_t j = 0; j < dim; ++j) {
            d.x.push_back(r.normal());
            score += d.x.back() * (1.0 + 0.5 * static_cast<double>(j));
        }
        const bool flip = r.uniform() < 0.15;
        d.y.push_back(static_cast<std::int32_t>((score > 0) != flip));
    }
    return d;
}

// Softmax probabilities of example i under θ.
std::vector<double> probabilities(const std::vector<double>& theta, const double* x) {
    std::vector<double> z(n_classes);
    for (std::size_t c = 0; c < n_classes; ++c) {
        z[c] = theta[dim * n_classes + c];
        for (std::size_t j = 0; j < dim; ++j)
            z[c] += x[j] * theta[j * n_classes + c];
    }
    const double m = *std::max_element(z.begin(), z.end());
    double sum = 0.0;
    for (double& v : z)
        sum += (v = std::exp(v - m));
    for (double& v : z)
        v /= sum;
    return z;
}

double example_loss(const std::vector<double>& theta, const data& d, std::size_t i) {
    return -std::log(probabilities(theta, d.x.data() + i * dim)[static_cast<std::size_t>(d.y[i])]);
}

// Gradient and Hessian of (1/m) Σ_{i != skip} ℓ_i + ½ l2 ‖θ‖², m the examples kept.
void objective_derivatives(const std::vector<double>& theta, const data& d, std::size_t skip,
                           std::vector<double>& g, std::vector<double>& h) {
    const std::size_t n = d.y.size();
    const double m = static_cast<double>(skip < n ? n - 1 : n);
    g.assign(n_params, 0.0);
    h.assign(n_params * n_params, 0.0);
    std::vector<double> xt(dim + 1, 1.0); // x with a 1 for the bias
    const auto index = [](std::size_t j, std::size_t c) {
        return j < dim ? j * n_classes + c : dim * n_classes + c;
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (i == skip)
            continue;
        std::copy_n(d.x.data() + i * dim, dim, xt.begin());
        const std::vector<double> p = probabilities(theta, xt.data());
        for (std::size_t j = 0; j <= dim; ++j)
            for (std::size_t c = 0; c < n_classes; ++c) {
                const double yc = static_cast<std::size_t>(d.y[i]) == c ? 1.0 : 0.0;
                g[index(j, c)] += xt[j] * (p[c] - yc) / m;
                for (std::size_t k = 0; k <= dim; ++k)
                    for (std::size_t e = 0; e < n_classes; ++e)
                        h[index(j, c) * n_params + index(k, e)] +=
                            xt[j] * xt[k] * p[c] * ((c == e ? 1.0 : 0.0) - p[e]) / m;
            }
    }
    for (std::size_t a = 0; a < n_params; ++a) {
        g[a] += l2 * theta[a];
        h[a * n_params + a] += l2;
    }
}

// Newton's method from θ until ‖g‖ < 1e-10 (the problem is strongly convex through l2).
std::vector<double> newton(std::vector<double> theta, const data& d, std::size_t skip) {
    std::vector<double> g, h;
    for (int it = 0; it < 100; ++it) {
        objective_derivatives(theta, d, skip, g, h);
        double norm = 0.0;
        for (const double v : g)
            norm += v * v;
        if (std::sqrt(norm) < 1e-10)
            return theta;
        // θ -= H⁻¹ g through H's eigenvectors.
        const auto e = grokkit::symmetric_eigen(h, n_params);
        for (std::size_t k = 0; k < n_params; ++k) {
            double proj = 0.0;
            for (std::size_t a = 0; a < n_params; ++a)
                proj += e.vectors[a * n_params + k] * g[a];
            for (std::size_t a = 0; a < n_params; ++a)
                theta[a] -= e.vectors[a * n_params + k] * proj / e.values[k];
        }
    }
    FAIL("Newton's method did not reach |g| < 1e-10 in 100 iterations");
    return theta;
}

grokkit::example_set to_set(const data& d, std::size_t first, std::size_t count) {
    grokkit::example_set s;
    s.features = xt::zeros<float>({count, dim});
    s.labels = xt::zeros<std::int32_t>({count});
    for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t j = 0; j < dim; ++j)
            s.features(i, j) = static_cast<float>(d.x[(first + i) * dim + j]);
        s.labels(i) = d.y[first + i];
    }
    return s;
}

// The two copies of the float `linear` model compute() takes, built for this problem with the
// parameters `theta` (as the linear model lays them out).
struct linear_pair {
    linear::model_impl curvature, gradient;
    explicit linear_pair(const std::vector<double>& theta) {
        grokkit::input_spec spec;
        spec.n_features = dim;
        spec.n_classes = n_classes;
        for (linear::model_impl* m : {&curvature, &gradient}) {
            grokkit::param_set ps;
            m->declare(ps);
            m->build(spec, 0);
            grokkit::set_flat_parameters(*m, std::vector<float>(theta.begin(), theta.end()));
        }
    }
};

// The small MLP of the MLP cases: 5 tokens, embeddings 4 wide, 6 GELU units.
mlp::params small_mlp() {
    mlp::params p;
    p.d_embed = 4;
    p.hidden = {6};
    p.activation = "gelu";
    return p;
}

grokkit::input_spec small_mlp_spec() {
    grokkit::input_spec spec;
    spec.n_tokens = 2;
    spec.vocab_size = 5;
    spec.n_classes = 5;
    return spec;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    const double n = static_cast<double>(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
    const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0.0, saa = 0.0, sbb = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

// The least-squares slope of b against a.
double slope(const std::vector<double>& a, const std::vector<double>& b) {
    const double n = static_cast<double>(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
    const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0.0, saa = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
    }
    return sab / saa;
}

const char* method_name(influence::solver m) {
    switch (m) {
    case influence::solver::exact:
        return "exact";
    case influence::solver::cg:
        return "cg";
    case influence::solver::lissa:
        return "lissa";
    case influence::solver::ekfac:
        return "ekfac";
    case influence::solver::trak:
        return "trak";
    }
    return "?";
}

} // namespace

TEST_CASE(
    "influence: predicted leave-one-out changes of a test loss track actual retraining "
    "(logistic regression, Pearson >= 0.95 for exact and cg, >= 0.9 for lissa, ekfac and trak)",
    "[influence]") {
    const influence::solver method =
        GENERATE(influence::solver::exact, influence::solver::cg, influence::solver::lissa,
                 influence::solver::ekfac, influence::solver::trak);
    INFO("method " << method_name(method));
    // 200 training points and 1 test point, the test point the one of highest loss of 20.
    const data d = make_data(n_train + 20, 1);
    const std::vector<double> optimum = newton(std::vector<double>(n_params, 0.0), d, n_train + 20);
    // Newton above used every point; refit on the training points alone.
    data train_data{std::vector<double>(d.x.begin(), d.x.begin() + n_train * dim),
                    std::vector<std::int32_t>(d.y.begin(), d.y.begin() + n_train)};
    const std::vector<double> theta = newton(optimum, train_data, n_train);
    std::size_t test = n_train;
    for (std::size_t i = n_train; i < n_train + 20; ++i)
        if (example_loss(theta, d, i) > example_loss(theta, d, test))
            test = i;
    INFO("test point " << test << ", loss " << example_loss(theta, d, test));

    // The float linear model at the double optimum, and the influence of every training point.
    linear_pair nets(theta);
    linear::model_impl& curvature_net = nets.curvature;
    linear::model_impl& gradient_net = nets.gradient;
    const grokkit::example_set train = to_set(d, 0, n_train), query = to_set(d, test, 1);
    // The run's regulariser: l2 on every parameter; adamw's decoupled decay adds nothing.
    grokkit::optimizer_config opt;
    opt.kind = "adamw";
    opt.weight_decay = 1.0;
    opt.l2 = l2;
    const std::vector<double> reg = grokkit::regulariser_diagonal(curvature_net, opt);
    REQUIRE(reg == std::vector<double>(n_params, l2));
    influence::settings s;
    s.method = method;
    s.damping = 0.0;
    s.cg_tolerance = 1e-10;
    // The series needs about scale / l2 terms (here ~40) to converge; batches of 50 keep it
    // stochastic, and three repeats average its noise down.
    s.lissa_depth = 400;
    s.lissa_batch_size = 50;
    s.lissa_repeats = 3;
    const influence::result r = influence::compute(curvature_net, gradient_net, train, query,
                                                   {"cross_entropy", false}, reg, s);
    REQUIRE(r.scores.size() == n_train);
    if (method == influence::solver::cg) {
        CHECK(r.query_solves[0].converged);
        CHECK(r.query_solves[0].residual < 1e-5);
    }
    // Removing example i changes the test loss by about +score_i / n.
    std::vector<double> predicted(n_train);
    for (std::size_t i = 0; i < n_train; ++i)
        predicted[i] = r.scores[i] / static_cast<double>(n_train);

    // The 50 largest |predicted| and 50 others drawn at random (Koh & Liang, figure 2).
    std::vector<std::size_t> order(n_train);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::abs(predicted[a]) > std::abs(predicted[b]);
    });
    std::vector<std::size_t> chosen(order.begin(), order.begin() + 50);
    const auto rest = grokkit::rng(2, "influence test").permutation(n_train - 50);
    for (std::size_t k = 0; k < 50; ++k)
        chosen.push_back(order[50 + rest[k]]);
    std::vector<double> pred, actual;
    const double base = example_loss(theta, d, test);
    for (const std::size_t i : chosen) {
        const std::vector<double> loo = newton(theta, train_data, i);
        pred.push_back(predicted[i]);
        actual.push_back(example_loss(loo, d, test) - base);
    }
    const double rho = pearson(pred, actual), b = slope(pred, actual);
    INFO("Pearson " << rho << ", slope " << b);
    const bool solves = method == influence::solver::exact || method == influence::solver::cg;
    CHECK(rho >= (solves ? 0.95 : 0.9));
    // The sign and scale: removing a proponent raises the loss by about score / n. (Retraining
    // on n − 1 examples also reweights the regulariser, which adds the same amount to every
    // change: the intercept moves, not the slope; second-order effects put it above 1.) TRAK's
    // curvature drops the p(1 − p) weights, so only its sign is the same.
    if (method != influence::solver::trak) {
        CHECK(b > 0.8);
        CHECK(b < 1.25);
    } else {
        CHECK(b > 0.0);
    }
    // Self-influence is ∇ℓᵀ A⁻¹ ∇ℓ >= 0 for positive definite A.
    REQUIRE(r.self_influence.size() == n_train);
    for (const double v : r.self_influence)
        CHECK(v >= 0.0);
}

TEST_CASE("influence: exact and cg agree on a small MLP", "[influence]") {
    const grokkit::curvature_kind kind =
        GENERATE(grokkit::curvature_kind::gauss_newton, grokkit::curvature_kind::hessian);
    INFO("curvature " << (kind == grokkit::curvature_kind::hessian ? "hessian" : "gauss_newton"));
    const mlp::params p = small_mlp();
    const grokkit::input_spec spec = small_mlp_spec();
    grokkit::example_set train, queries;
    const std::size_t n = 25;
    train.tokens = xt::zeros<std::int32_t>({n, std::size_t{2}});
    train.labels = xt::zeros<std::int32_t>({n});
    for (std::size_t i = 0; i < n; ++i) {
        train.tokens(i, 0) = static_cast<std::int32_t>(i % 5);
        train.tokens(i, 1) = static_cast<std::int32_t>(i / 5);
        train.labels(i) = static_cast<std::int32_t>((i % 5 + i / 5) % 5);
    }
    queries = grokkit::subset(train, {3, 7, 19});
    mlp::model_impl a(p), b(p);
    a.build(spec, 5);
    b.build(spec, 5);
    const std::size_t n_params = grokkit::parameter_count(a);
    const std::vector<double> reg(n_params, 1e-3);
    influence::settings s;
    s.curvature = kind;
    // The Hessian at initialisation has eigenvalues near −0.17: damping makes it definite.
    s.damping = kind == grokkit::curvature_kind::hessian ? 0.5 : 1e-2;
    if (kind == grokkit::curvature_kind::hessian) {
        // Without enough damping exact finds it indefinite: NaN scores, the eigenvalue recorded.
        influence::settings weak = s;
        weak.method = influence::solver::exact;
        weak.damping = 0.1;
        const auto r =
            influence::compute(a, b, train, queries, {"cross_entropy", false}, reg, weak);
        CHECK(r.min_eigenvalue < 0);
        CHECK(std::isnan(r.scores[0]));
        CHECK(r.query_solves[0].indefinite);
        CHECK(std::isnan(r.self_influence[0]));
    }
    s.cg_tolerance = 1e-7;
    s.method = influence::solver::exact;
    const auto exact = influence::compute(a, b, train, queries, {"cross_entropy", false}, reg, s);
    s.method = influence::solver::cg;
    const auto cg = influence::compute(a, b, train, queries, {"cross_entropy", false}, reg, s);
    double scale = 0.0, diff = 0.0;
    for (std::size_t k = 0; k < exact.scores.size(); ++k) {
        scale = std::max(scale, std::abs(exact.scores[k]));
        diff = std::max(diff, std::abs(exact.scores[k] - cg.scores[k]));
    }
    for (std::size_t k = 0; k < n; ++k) {
        scale = std::max(scale, std::abs(exact.self_influence[k]));
        diff = std::max(diff, std::abs(exact.self_influence[k] - cg.self_influence[k]));
    }
    INFO("max |exact - cg| " << diff << " of max |score| " << scale);
    // The stated tolerance: 1e-4 of the largest score (float products, CG to 1e-7).
    CHECK(diff <= 1e-4 * scale);
    for (const auto& q : cg.query_solves)
        CHECK(q.converged);
}

TEST_CASE("influence: exact refuses models above 10,000 parameters, naming cg", "[influence]") {
    mlp::params p;
    p.d_embed = 64;
    p.hidden = {128};
    grokkit::input_spec spec;
    spec.n_tokens = 2;
    spec.vocab_size = 10;
    spec.n_classes = 10;
    mlp::model_impl a(p), b(p);
    a.build(spec, 1);
    b.build(spec, 1);
    REQUIRE(grokkit::parameter_count(a) > influence::max_exact_parameters);
    grokkit::example_set set;
    set.tokens = xt::zeros<std::int32_t>({std::size_t{4}, std::size_t{2}});
    set.labels = xt::zeros<std::int32_t>({std::size_t{4}});
    influence::settings s;
    s.method = influence::solver::exact;
    const std::vector<double> reg(grokkit::parameter_count(a), 0.0);
    CHECK_THROWS_WITH(influence::compute(a, b, set, set, {"cross_entropy", false}, reg, s),
                      Catch::Contains("method = \"cg\""));
}

TEST_CASE("influence: ranking keeps the highest and lowest scores and skips NaN", "[influence]") {
    const double nan = std::nan("");
    const std::vector<double> scores{0.5, -2.0, nan, 3.0, 0.5, // ties go to the lower index
                                     nan, nan,  nan, nan, nan};
    influence::ranking whole(2, 3);
    whole.add(scores.data(), 0, 5);
    CHECK(whole.highest() == std::vector<std::int64_t>{3, 0, 4, -1, -1, -1});
    CHECK(whole.lowest() == std::vector<std::int64_t>{1, 0, 4, -1, -1, -1});
    // Tiled column by column it ranks the same, ties included.
    influence::ranking tiled(2, 3);
    for (std::size_t c = 0; c < 5; ++c) {
        const double tile[2] = {scores[c], scores[5 + c]};
        tiled.add(tile, c, 1);
    }
    CHECK(tiled.highest() == whole.highest());
    CHECK(tiled.lowest() == whole.lowest());
    CHECK(tiled.highest_scores()[0] == 3.0);
    CHECK(std::isnan(tiled.lowest_scores()[3]));
}

TEST_CASE("influence: an empty query set (a chained set at some checkpoint) still scores "
          "self-influence",
          "[influence]") {
    const data d = make_data(40, 3);
    linear_pair nets(std::vector<double>(n_params, 0.0));
    linear::model_impl &a = nets.curvature, &b = nets.gradient;
    const grokkit::example_set train = to_set(d, 0, 40), none = to_set(d, 0, 0);
    const std::vector<double> reg(n_params, l2);
    for (const auto method : {influence::solver::exact, influence::solver::cg}) {
        influence::settings s;
        s.method = method;
        const auto r = influence::compute(a, b, train, none, {"cross_entropy", false}, reg, s);
        CHECK(r.n_queries == 0);
        CHECK(r.scores.empty());
        REQUIRE(r.self_influence.size() == 40);
        for (const double v : r.self_influence)
            CHECK(v > 0.0);
    }
}

TEST_CASE("influence: relative damping is damping x the mean eigenvalue, exact from the trace "
          "and estimated by Hutchinson for cg",
          "[influence]") {
    const data d = make_data(120, 4);
    linear_pair nets(std::vector<double>(n_params, 0.1));
    linear::model_impl &a = nets.curvature, &b = nets.gradient;
    const grokkit::example_set train = to_set(d, 0, 100), queries = to_set(d, 100, 5);
    const std::vector<double> reg(n_params, l2);
    const grokkit::loss_config loss{"cross_entropy", false};
    influence::settings s;
    s.method = influence::solver::exact;
    s.damping = 0.1;
    s.relative_damping = true;
    const auto relative = influence::compute(a, b, train, queries, loss, reg, s);
    // The mean eigenvalue is trace(C + R) / P: the regulariser alone contributes l2.
    CHECK(relative.mean_eigenvalue > l2);
    CHECK(relative.damping == Approx(0.1 * relative.mean_eigenvalue));
    s.relative_damping = false;
    s.damping = relative.damping;
    const auto absolute = influence::compute(a, b, train, queries, loss, reg, s);
    for (std::size_t k = 0; k < relative.scores.size(); ++k)
        CHECK(relative.scores[k] == Approx(absolute.scores[k]).epsilon(1e-9));
    // CG estimates it from 16 probes.
    s.method = influence::solver::cg;
    s.relative_damping = true;
    s.damping = 0.1;
    s.seed = 7;
    const auto cg = influence::compute(a, b, train, queries, loss, reg, s);
    CHECK(cg.mean_eigenvalue == Approx(relative.mean_eigenvalue).epsilon(0.3));
    CHECK(cg.damping == Approx(0.1 * cg.mean_eigenvalue));
}

TEST_CASE("influence: tracin is the learning-rate-weighted sum of gradient dot products over "
          "checkpoints",
          "[influence]") {
    const mlp::params p = small_mlp();
    const grokkit::input_spec spec = small_mlp_spec();
    grokkit::example_set train;
    train.tokens = xt::zeros<std::int32_t>({std::size_t{12}, std::size_t{2}});
    train.labels = xt::zeros<std::int32_t>({std::size_t{12}});
    for (std::size_t i = 0; i < 12; ++i) {
        train.tokens(i, 0) = static_cast<std::int32_t>(i % 5);
        train.tokens(i, 1) = static_cast<std::int32_t>((i * 3) % 5);
        train.labels(i) = static_cast<std::int32_t>((i % 5 + (i * 3) % 5) % 5);
    }
    const grokkit::example_set queries = grokkit::subset(train, {2, 9});
    mlp::model_impl net(p), other(p);
    net.build(spec, 1);
    other.build(spec, 2); // a second checkpoint's parameters
    const std::vector<float> theta0 = grokkit::flat_parameters(other),
                             theta1 = grokkit::flat_parameters(net);
    const std::vector<influence::tracin_checkpoint> checkpoints{{0.5, [&] { return theta0; }},
                                                                {0.25, [&] { return theta1; }}};
    const grokkit::loss_config loss{"cross_entropy", false};
    const auto r = influence::tracin(net, train, queries, loss, checkpoints, {});
    // Direct: per checkpoint, every example's own gradient, then the weighted dot products.
    const std::size_t n_params = grokkit::parameter_count(net);
    std::vector<double> scores(2 * 12, 0.0), self(12, 0.0);
    for (const auto& c : checkpoints) {
        grokkit::set_flat_parameters(other, c.parameters());
        xt::xtensor<float, 2> gq, gt;
        grokkit::example_gradients(other, grokkit::as_batch(queries), loss, gq);
        grokkit::example_gradients(other, grokkit::as_batch(train), loss, gt);
        for (std::size_t i = 0; i < 12; ++i) {
            for (std::size_t k = 0; k < n_params; ++k) {
                self[i] += c.weight * double(gt(i, k)) * double(gt(i, k));
                for (std::size_t q = 0; q < 2; ++q)
                    scores[q * 12 + i] += c.weight * double(gq(q, k)) * double(gt(i, k));
            }
        }
    }
    for (std::size_t k = 0; k < scores.size(); ++k)
        CHECK(r.scores[k] == Approx(scores[k]).epsilon(1e-6).margin(1e-9));
    for (std::size_t i = 0; i < 12; ++i)
        CHECK(r.self_influence[i] == Approx(self[i]).epsilon(1e-6));
    // The model ends where it started, and the losses are those of its own parameters.
    CHECK(grokkit::flat_parameters(net) == theta1);
    grokkit::set_flat_parameters(other, theta1);
    xt::xtensor<float, 2> logits;
    other.forward(grokkit::as_batch(queries), logits);
    xt::xtensor<float, 2> row = xt::zeros<float>({std::size_t{1}, logits.shape(1)});
    std::copy_n(logits.data(), logits.shape(1), row.data());
    CHECK(r.query_loss[0] ==
          Approx(grokkit::evaluate_loss(loss, row, queries.labels.data(), nullptr).loss));
    CHECK(std::isnan(r.damping));
}

TEST_CASE("influence: with max_memory a tenth of the score matrix, every method gives the "
          "identical matrix, ranking and self-influence in tiles",
          "[influence]") {
    constexpr std::size_t n = 2000, n_queries = 20;
    const data d = make_data(n + n_queries, 5);
    std::vector<double> theta(n_params);
    for (std::size_t k = 0; k < n_params; ++k)
        theta[k] = 0.3 * std::sin(static_cast<double>(k + 1));
    linear_pair nets(theta);
    const grokkit::example_set train = to_set(d, 0, n), queries = to_set(d, n, n_queries);
    const std::vector<double> reg(n_params, l2);
    const grokkit::loss_config loss{"cross_entropy", false};
    const std::vector<float> other(n_params, 0.05f), current(theta.begin(), theta.end());
    const std::vector<influence::tracin_checkpoint> checkpoints{{0.5, [&] { return other; }},
                                                                {0.25, [&] { return current; }}};
    const int which = GENERATE(0, 1, 2, 3, 4, 5);
    const char* names[] = {"exact", "cg", "lissa", "ekfac", "trak", "tracin"};
    INFO("method " << names[which]);
    influence::settings s;
    if (which < 5)
        s.method = static_cast<influence::solver>(which);
    s.lissa_depth = 20;
    s.lissa_batch_size = 64;
    s.trak_dimension = 8;
    s.seed = 11;
    const auto run = [&](const influence::score_sink& sink) {
        return which == 5
                   ? influence::tracin(nets.gradient, train, queries, loss, checkpoints, s, sink)
                   : influence::compute(nets.curvature, nets.gradient, train, queries, loss, reg, s,
                                        sink);
    };
    const influence::result whole = run({});
    REQUIRE(whole.scores.size() == n_queries * n);
    CHECK(whole.n_tiles == 1);
    s.max_memory = static_cast<double>(n_queries * n * sizeof(double)) / 10.0;
    std::vector<double> tiled(n_queries * n, std::nan(""));
    std::size_t next = 0; // tiles arrive in column order and cover every column once
    const influence::result parts =
        run([&](std::size_t first, std::size_t count, const std::vector<double>& tile) {
            CHECK(first == next);
            next = first + count;
            REQUIRE(tile.size() == n_queries * count);
            for (std::size_t q = 0; q < n_queries; ++q)
                std::copy_n(tile.begin() + static_cast<std::ptrdiff_t>(q * count), count,
                            tiled.begin() + static_cast<std::ptrdiff_t>(q * n + first));
        });
    CHECK(next == n);
    CHECK(parts.scores.empty());
    CHECK(parts.n_tiles >= 10);
    CHECK(parts.memory_bytes <= s.max_memory);
    // Equal to rounding: OpenBLAS' Zen kernels block a product by its width, so a tile's
    // columns can differ from the whole matrix's in the last bits (Haswell and Cooperlake
    // kernels give identical bits).
    const auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!(std::abs(a[i] - b[i]) <= 1e-9 * (1.0 + std::abs(b[i]))))
                return false;
        return true;
    };
    CHECK(close(tiled, whole.scores));
    CHECK(close(parts.self_influence, whole.self_influence));
    CHECK(parts.top.highest() == whole.top.highest());
    CHECK(parts.top.lowest() == whole.top.lowest());
    CHECK(close(parts.top.highest_scores(), whole.top.highest_scores()));
    // And a cap below the fixed part names the knob and what it must hold.
    s.max_memory = 64.0;
    CHECK_THROWS_WITH(run({}), Catch::Contains("max_memory of at least"));
}

TEST_CASE("influence: a lissa series that cannot converge stops with an error naming "
          "lissa_scale, and one that can is within a few percent of the exact solve",
          "[influence]") {
    const data d = make_data(300, 6);
    linear_pair nets(std::vector<double>(n_params, 0.1));
    const grokkit::example_set train = to_set(d, 0, 250), queries = to_set(d, 250, 5);
    const std::vector<double> reg(n_params, l2);
    const grokkit::loss_config loss{"cross_entropy", false};
    influence::settings s;
    s.method = influence::solver::lissa;
    s.curvature = grokkit::curvature_kind::gauss_newton;
    s.damping = 0.01;
    s.lissa_scale = 0.01; // far below the largest eigenvalue (about 1 for these features)
    s.lissa_depth = 200;
    try {
        (void)influence::compute(nets.curvature, nets.gradient, train, queries, loss, reg, s);
        FAIL("a series at lissa_scale = 0.01 converged");
    } catch (const grokkit::error& e) {
        const std::string text = e.what();
        INFO(text);
        CHECK(text.find("lissa_scale") != std::string::npos);
        CHECK(text.find("diverged") != std::string::npos);
        CHECK(text.find("largest eigenvalue") != std::string::npos);
    }
    // The automatic scale converges; with the whole set per product the series is
    // deterministic and, deep enough, the exact solve's.
    s.lissa_scale = 0.0;
    s.lissa_batch_size = 250;
    s.lissa_depth = 3000;
    const auto lissa =
        influence::compute(nets.curvature, nets.gradient, train, queries, loss, reg, s);
    CHECK(lissa.lissa_scale > 0.0);
    s.method = influence::solver::exact;
    const auto exact =
        influence::compute(nets.curvature, nets.gradient, train, queries, loss, reg, s);
    double diff = 0.0, scale = 0.0;
    for (std::size_t k = 0; k < exact.scores.size(); ++k) {
        REQUIRE(std::isfinite(lissa.scores[k]));
        diff = std::max(diff, std::abs(lissa.scores[k] - exact.scores[k]));
        scale = std::max(scale, std::abs(exact.scores[k]));
    }
    CHECK(diff < 0.02 * scale);
}
