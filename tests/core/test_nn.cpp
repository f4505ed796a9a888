// Tests of grokkit/nn.hpp: finite-difference gradients per layer (double), loss stability, GELU.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace nn = grokkit::nn;
using dmatrix = nn::matrix<double>;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

// Central differences in double: truncation error ~h² and rounding ~1e-16·|L|/h, both far below
// the 1e-6 tolerance for h = 1e-6 and objectives of order 10.
constexpr double fd_step = 1e-6;
constexpr double fd_tolerance = 1e-6;

dmatrix make_matrix(std::size_t rows, std::size_t cols, double fill = 0.0) {
    dmatrix m(std::array<std::size_t, 2>{rows, cols});
    m.fill(fill);
    return m;
}

// N(0, 1) entries; with `min_abs` > 0, entries closer to 0 are pushed out to ±min_abs so that
// relu's kink stays well outside the finite-difference step.
dmatrix random_matrix(grokkit::rng& r, std::size_t rows, std::size_t cols, double min_abs = 0.0) {
    dmatrix m = make_matrix(rows, cols);
    for (double& v : m) {
        v = r.normal();
        if (std::abs(v) < min_abs) {
            v = v < 0.0 ? -min_abs : min_abs;
        }
    }
    return m;
}

// Σ out ⊙ weights: a scalar objective whose gradient with respect to `out` is `weights`.
double weighted_sum(const dmatrix& out, const dmatrix& weights) {
    REQUIRE(out.shape() == weights.shape());
    double s = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        s += out.data()[i] * weights.data()[i];
    }
    return s;
}

// d objective / d values[i] by central differences, restoring each value afterwards.
std::vector<double> numeric_gradient(double* values, std::size_t n,
                                     const std::function<double()>& objective) {
    std::vector<double> g(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double saved = values[i];
        values[i] = saved + fd_step;
        const double plus = objective();
        values[i] = saved - fd_step;
        const double minus = objective();
        values[i] = saved;
        g[i] = (plus - minus) / (2.0 * fd_step);
    }
    return g;
}

std::vector<double> numeric_gradient(dmatrix& values, const std::function<double()>& objective) {
    return numeric_gradient(values.data(), values.size(), objective);
}

// ‖analytic − numeric‖₂ / ‖numeric‖₂: one number per tensor, insensitive to tiny components.
double relative_error(const double* analytic, const std::vector<double>& numeric) {
    double diff = 0.0;
    double norm = 0.0;
    for (std::size_t i = 0; i < numeric.size(); ++i) {
        diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
        norm += numeric[i] * numeric[i];
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

double relative_error(const dmatrix& analytic, const std::vector<double>& numeric) {
    REQUIRE(analytic.size() == numeric.size());
    return relative_error(analytic.data(), numeric);
}

// `after` − `before`, elementwise: what a backward pass accumulated.
dmatrix difference(const dmatrix& after, const dmatrix& before) {
    dmatrix d = make_matrix(after.shape(0), after.shape(1));
    for (std::size_t i = 0; i < d.size(); ++i) {
        d.data()[i] = after.data()[i] - before.data()[i];
    }
    return d;
}

} // namespace

TEST_CASE("nn: ensure_shape keeps the buffer when the shape matches", "[nn]") {
    dmatrix m = make_matrix(3, 4);
    const double* before = m.data();
    nn::ensure_shape(m, 3, 4);
    CHECK(m.data() == before);
    nn::ensure_shape(m, 2, 5);
    CHECK(m.shape(0) == 2);
    CHECK(m.shape(1) == 5);
}

TEST_CASE("nn: linear gradients match central differences", "[nn]") {
    const bool has_bias = GENERATE(true, false);
    INFO("bias: " << has_bias);
    grokkit::rng r(1, "test");
    const std::size_t n = 5, d_in = 4, d_out = 3;
    dmatrix x = random_matrix(r, n, d_in);
    dmatrix w = random_matrix(r, d_in, d_out);
    dmatrix b = random_matrix(r, 1, d_out);
    const dmatrix weights = random_matrix(r, n, d_out);
    const double* bias = has_bias ? b.data() : nullptr;
    dmatrix y;
    auto objective = [&] {
        nn::linear_forward(x, w.data(), d_out, bias, y);
        return weighted_sum(y, weights);
    };

    // Garbage in dw and db: linear_backward must overwrite them, not add to them.
    dmatrix dx;
    dmatrix dw = make_matrix(d_in, d_out, 1e3);
    dmatrix db = make_matrix(1, d_out, 1e3);
    nn::linear_backward(x, w.data(), weights, &dx, dw.data(), has_bias ? db.data() : nullptr);

    CHECK(relative_error(dx, numeric_gradient(x, objective)) < fd_tolerance);
    CHECK(relative_error(dw, numeric_gradient(w, objective)) < fd_tolerance);
    if (has_bias) {
        CHECK(relative_error(db, numeric_gradient(b, objective)) < fd_tolerance);
    }
}

TEST_CASE("nn: linear handles an empty batch", "[nn]") {
    const dmatrix x = make_matrix(0, 3);
    const dmatrix w = make_matrix(3, 2, 1.0);
    const std::array<double, 2> b{0.5, -0.5};
    dmatrix y;
    nn::linear_forward(x, w.data(), 2, b.data(), y);
    CHECK(y.shape(0) == 0);
    CHECK(y.shape(1) == 2);

    dmatrix dx;
    dmatrix dw = make_matrix(3, 2, 7.0);
    std::array<double, 2> db{7.0, 7.0};
    nn::linear_backward(x, w.data(), y, &dx, dw.data(), db.data());
    for (double v : dw) {
        CHECK(v == 0.0);
    }
    CHECK(db[0] == 0.0);
    CHECK(db[1] == 0.0);
    CHECK(dx.shape(0) == 0);
}

TEST_CASE("nn: tied unembedding gradients match central differences and accumulate", "[nn]") {
    grokkit::rng r(2, "test");
    const std::size_t n = 6, d = 4, vocab = 5;
    dmatrix h = random_matrix(r, n, d);
    dmatrix e = random_matrix(r, vocab, d);
    const dmatrix weights = random_matrix(r, n, vocab);
    dmatrix logits;
    auto objective = [&] {
        nn::unembed_forward(h, e.data(), vocab, logits);
        return weighted_sum(logits, weights);
    };

    // dE starts non-zero: the embedding shares it, so unembed_backward adds to it.
    const dmatrix de_before = random_matrix(r, vocab, d);
    dmatrix de = de_before;
    dmatrix dh;
    nn::unembed_backward(h, e.data(), weights, &dh, de.data());

    CHECK(relative_error(dh, numeric_gradient(h, objective)) < fd_tolerance);
    CHECK(relative_error(difference(de, de_before), numeric_gradient(e, objective)) < fd_tolerance);
}

TEST_CASE("nn: embedding gradients match central differences with two positions sharing a table",
          "[nn]") {
    grokkit::rng r(3, "test");
    const std::size_t n = 6, d = 4, vocab = 3, n_tokens = 2;
    // Few ids over many examples and two positions: rows of E are hit several times.
    std::vector<std::int32_t> ids(n * n_tokens);
    for (std::int32_t& id : ids) {
        id = static_cast<std::int32_t>(r.below(vocab));
    }
    dmatrix e = random_matrix(r, vocab, d);
    const dmatrix weights_a = random_matrix(r, n, d);
    const dmatrix weights_b = random_matrix(r, n, d);
    dmatrix out_a, out_b;
    auto objective = [&] {
        nn::embedding_forward(ids.data(), n_tokens, e.data(), d, n, out_a);
        nn::embedding_forward(ids.data() + 1, n_tokens, e.data(), d, n, out_b);
        return weighted_sum(out_a, weights_a) + weighted_sum(out_b, weights_b);
    };

    const dmatrix de_before = random_matrix(r, vocab, d);
    dmatrix de = de_before;
    nn::embedding_backward(ids.data(), n_tokens, weights_a, de.data());
    nn::embedding_backward(ids.data() + 1, n_tokens, weights_b, de.data());

    CHECK(relative_error(difference(de, de_before), numeric_gradient(e, objective)) < fd_tolerance);
    objective();
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < d; ++j) {
            const auto a = static_cast<std::size_t>(ids[i * n_tokens]);
            const auto b = static_cast<std::size_t>(ids[i * n_tokens + 1]);
            CHECK(out_a(i, j) == e(a, j));
            CHECK(out_b(i, j) == e(b, j));
        }
    }
}

TEST_CASE("nn: activation gradients match central differences", "[nn]") {
    const std::string name = GENERATE("relu", "gelu", "square");
    INFO("activation: " << name);
    const nn::activation f = nn::activation_from_string(name);
    grokkit::rng r(4, "test");
    dmatrix x = random_matrix(r, 7, 5, 1e-3);
    const dmatrix weights = random_matrix(r, 7, 5);
    dmatrix y;
    auto objective = [&] {
        nn::activation_forward(f, x, y);
        return weighted_sum(y, weights);
    };
    dmatrix dx;
    nn::activation_backward(f, x, weights, dx);
    CHECK(relative_error(dx, numeric_gradient(x, objective)) < fd_tolerance);
}

TEST_CASE("nn: relu and square may work in place", "[nn]") {
    const std::string name = GENERATE("relu", "square");
    const nn::activation f = nn::activation_from_string(name);
    grokkit::rng r(5, "test");
    dmatrix x = random_matrix(r, 3, 4);
    dmatrix y;
    nn::activation_forward(f, x, y);
    nn::activation_forward(f, x, x);
    // Catch's decomposer cannot take xtensor's operator==, so compare first.
    const bool same = x == y;
    CHECK(same);
}

TEST_CASE("nn: gelu matches PyTorch's tanh approximation", "[nn]") {
    // python3: 0.5*x*(1 + math.tanh(math.sqrt(2/math.pi)*(x + 0.044715*x**3))), the formula of
    // torch.nn.functional.gelu(x, approximate="tanh").
    const std::array<double, 6> inputs{-3.0, -1.0, -0.5, 0.5, 1.0, 3.0};
    const std::array<double, 6> expected{-0.0036373920817729943, -0.15880800939172324,
                                         -0.15428599017485606,   0.34571400982514394,
                                         0.8411919906082768,     2.996362607918227};
    dmatrix x = make_matrix(1, inputs.size());
    std::copy(inputs.begin(), inputs.end(), x.begin());
    dmatrix y;
    nn::activation_forward(nn::activation::gelu, x, y);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        INFO("x = " << inputs[i]);
        CHECK_THAT(y(0, i), WithinRel(expected[i], 1e-14));
    }
}

TEST_CASE("nn: activation_from_string rejects unknown names, listing the choices", "[nn]") {
    CHECK(nn::activation_from_string("relu") == nn::activation::relu);
    CHECK(nn::activation_from_string("gelu") == nn::activation::gelu);
    CHECK(nn::activation_from_string("square") == nn::activation::square);
    CHECK_THROWS_AS(nn::activation_from_string("tanh"), grokkit::error);
    CHECK_THROWS_WITH(nn::activation_from_string("tanh"),
                      Catch::Contains("tanh") && Catch::Contains("relu, gelu, square"));
}

TEST_CASE("nn: softmax cross-entropy gradient matches central differences", "[nn]") {
    grokkit::rng r(6, "test");
    const std::size_t n = 6, c = 5;
    dmatrix logits = random_matrix(r, n, c);
    for (double& v : logits) {
        v *= 3.0;
    }
    std::vector<std::int32_t> labels(n);
    for (std::int32_t& label : labels) {
        label = static_cast<std::int32_t>(r.below(c));
    }
    auto objective = [&] {
        return nn::softmax_cross_entropy<double>(logits, labels.data(), nullptr).loss /
               static_cast<double>(n);
    };
    dmatrix dlogits;
    nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
    CHECK(relative_error(dlogits, numeric_gradient(logits, objective)) < fd_tolerance);
}

TEST_CASE("nn: softmax cross-entropy is stable for logits of +-1000", "[nn]") {
    const std::array<double, 12> values{1000, -1000, 0,     1000,  -1000, 0,
                                        1000, 1000,  -1000, -1000, -1000, -1000};
    const std::array<std::int32_t, 4> labels{0, 1, 1, 2};
    // By hand, per row: log(1 + e^-2000 + e^-1000) = 0 in double; 2000; log 2 (two equal maxima);
    // log 3 (three equal logits). Only row 0 is correct: ties go to the first maximum (index 0).
    const double expected_loss = 2000.0 + std::log(6.0);

    dmatrix logits = make_matrix(4, 3);
    std::copy(values.begin(), values.end(), logits.begin());
    dmatrix dlogits;
    const nn::loss_sum got = nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
    CHECK_THAT(got.loss, WithinRel(expected_loss, 1e-15));
    CHECK(got.n_correct == 1);
    for (double g : dlogits) {
        CHECK(std::isfinite(g));
    }
    // Row 2: (softmax − onehot) / n = ((0.5, 0.5, 0) − (0, 1, 0)) / 4.
    CHECK_THAT(dlogits(2, 0), WithinAbs(0.125, 1e-16));
    CHECK_THAT(dlogits(2, 1), WithinAbs(-0.125, 1e-16));
    CHECK_THAT(dlogits(2, 2), WithinAbs(0.0, 1e-16));
    CHECK_THAT(dlogits(1, 1), WithinAbs(-0.25, 1e-16));

    nn::matrix<float> logits_f(std::array<std::size_t, 2>{4, 3});
    std::copy(values.begin(), values.end(), logits_f.begin());
    nn::matrix<float> dlogits_f;
    const nn::loss_sum got_f = nn::softmax_cross_entropy(logits_f, labels.data(), &dlogits_f);
    CHECK_THAT(got_f.loss, WithinRel(expected_loss, 1e-6));
    CHECK(got_f.n_correct == 1);
}

template <class T> void check_first_arg_max_counts() {
    // n_correct counts rows whose first highest logit is the label: ties keep the lowest
    // class, a NaN never wins, and a NaN first logit gives class 0. Many ties (logits in
    // {0, 1, 2, 3}) and NaNs, over widths around the vector widths (4 and 8 lanes).
    grokkit::rng r(11, "arg-max");
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (std::size_t c : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 67, 70}) {
        for (int trial = 0; trial < 40; ++trial) {
            nn::matrix<T> row(std::array<std::size_t, 2>{1, c});
            for (T& v : row)
                v = static_cast<T>(r.below(4));
            if (trial % 3 == 0)
                row(0, r.below(c)) = nan;
            std::size_t first = 0;
            for (std::size_t k = 1; k < c; ++k)
                if (row(0, k) > row(0, first))
                    first = k;
            for (std::size_t label = 0; label < c; ++label) {
                const auto l = static_cast<std::int32_t>(label);
                const nn::loss_sum got = nn::softmax_cross_entropy<T>(row, &l, nullptr);
                INFO("c " << c << " trial " << trial << " label " << label);
                CHECK(got.n_correct == (label == first ? 1U : 0U));
            }
        }
    }
}

TEST_CASE("nn: the accuracy's arg max is the first highest logit, NaNs never winning", "[nn]") {
    check_first_arg_max_counts<float>();
    check_first_arg_max_counts<double>();
}

TEST_CASE("nn: float softmax cross-entropy matches double to 1e-6", "[nn]") {
    grokkit::rng r(7, "test");
    const std::size_t n = 64, c = 113;
    nn::matrix<float> logits_f(std::array<std::size_t, 2>{n, c});
    for (float& v : logits_f) {
        v = static_cast<float>(10.0 * r.normal());
    }
    // The same (float-representable) logits in double, so only the arithmetic differs.
    dmatrix logits = make_matrix(n, c);
    std::copy(logits_f.begin(), logits_f.end(), logits.begin());
    std::vector<std::int32_t> labels(n);
    for (std::int32_t& label : labels) {
        label = static_cast<std::int32_t>(r.below(c));
    }
    nn::matrix<float> dlogits_f;
    dmatrix dlogits;
    const nn::loss_sum got_f = nn::softmax_cross_entropy(logits_f, labels.data(), &dlogits_f);
    const nn::loss_sum got = nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
    CHECK_THAT(got_f.loss, WithinRel(got.loss, 1e-6));
    CHECK(got_f.n_correct == got.n_correct);
    for (std::size_t i = 0; i < dlogits.size(); ++i) {
        CHECK_THAT(dlogits_f.data()[i], WithinAbs(dlogits.data()[i], 1e-6 / n));
    }
}

TEST_CASE("nn: exp_nonpositive is within 2 ulp of std::exp, 1 at 0 and 0 below -708", "[nn]") {
    std::vector<double> x;
    for (int i = 0; i <= 200000; ++i) // every 0.00354 from -708 to 0, and the ends
        x.push_back(-708.0 * i / 200000.0);
    for (double v : {-1e-300, -0.3465735902799726, -0.34657359027997264, -708.3, -745.2, -1e6,
                     -std::numeric_limits<double>::infinity()})
        x.push_back(v);
    std::vector<double> got = x;
    nn::exp_nonpositive(got.data(), got.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] < -708.0) {
            CHECK(got[i] == 0.0);
            continue;
        }
        const double want = std::exp(x[i]);
        worst = std::max(worst, std::abs(got[i] - want) / want);
    }
    CHECK(worst <= 2.0 * std::numeric_limits<double>::epsilon());
    CHECK(got[0] == 1.0);
}

TEST_CASE("nn: float exp_nonpositive is within 2 ulp of std::exp, 1 at 0 and 0 below -87", "[nn]") {
    std::vector<float> x;
    for (int i = 0; i <= 100000; ++i) // every 0.00087 from -87 to 0
        x.push_back(static_cast<float>(-87.0 * i / 100000.0));
    for (float v :
         {-1e-30f, -0.34657359f, -87.1f, -103.0f, -1e6f, -std::numeric_limits<float>::infinity()})
        x.push_back(v);
    std::vector<float> got = x;
    nn::exp_nonpositive(got.data(), got.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] < -87.0f) {
            CHECK(got[i] == 0.0f);
            continue;
        }
        const double want = std::exp(static_cast<double>(x[i]));
        worst = std::max(worst, std::abs(got[i] - want) / want);
    }
    CHECK(worst <= 2.0 * std::numeric_limits<float>::epsilon());
    CHECK(got[0] == 1.0f);
}

TEST_CASE("nn: softmax cross-entropy gradients below float's normal range are 0", "[nn]") {
    // Row 0's wrong class has p = e^-100 / (1 + e^-100) ~ 3.7e-44: subnormal as a float.
    nn::matrix<float> logits(std::array<std::size_t, 2>{2, 2});
    logits(0, 0) = 100.0f;
    logits(0, 1) = 0.0f;
    logits(1, 0) = 0.0f;
    logits(1, 1) = 1.0f;
    const std::array<std::int32_t, 2> labels{0, 1};
    nn::matrix<float> dlogits;
    nn::softmax_cross_entropy(logits, labels.data(), &dlogits);
    CHECK(dlogits(0, 1) == 0.0f);
    CHECK(dlogits(0, 0) == 0.0f);
    for (float g : dlogits)
        CHECK((g == 0.0f || std::abs(g) >= std::numeric_limits<float>::min()));
    CHECK(dlogits(1, 0) > 0.0f); // an ordinary row is untouched
}

TEST_CASE("nn: softmax cross-entropy rejects a label outside the classes", "[nn]") {
    const dmatrix logits = make_matrix(2, 3);
    const std::array<std::int32_t, 2> labels{0, 3};
    CHECK_THROWS_AS(nn::softmax_cross_entropy<double>(logits, labels.data(), nullptr),
                    grokkit::error);
}

TEST_CASE("nn: mean squared error gradient matches central differences and its value a hand sum",
          "[nn]") {
    grokkit::rng r(8, "test");
    const std::size_t n = 5, c = 4;
    dmatrix logits = random_matrix(r, n, c);
    std::vector<std::int32_t> labels(n);
    for (std::int32_t& label : labels)
        label = static_cast<std::int32_t>(r.below(c));
    const double scale = GENERATE(1.0, 0.25);
    auto objective = [&] {
        return nn::mean_squared_error<double>(logits, labels.data(), nullptr, scale).loss /
               static_cast<double>(n);
    };
    dmatrix dlogits;
    nn::mean_squared_error(logits, labels.data(), &dlogits, scale);
    CHECK(relative_error(dlogits, numeric_gradient(logits, objective)) < fd_tolerance);
    // Summed over classes: one example, logits (1, 0), label 0 → 0; label 1 → 1 + 1 = 2; a
    // class mean (scale 1/2) → 1, torch's MSELoss().
    dmatrix one = xt::zeros<double>({std::size_t{1}, std::size_t{2}});
    one(0, 0) = 1.0;
    const std::int32_t l0 = 0, l1 = 1;
    CHECK(nn::mean_squared_error<double>(one, &l0, nullptr).loss == 0.0);
    CHECK(nn::mean_squared_error<double>(one, &l1, nullptr).loss == Approx(2.0));
    CHECK(nn::mean_squared_error<double>(one, &l1, nullptr, 0.5).loss == Approx(1.0));
}

TEST_CASE("nn: a class-mean cross-entropy scales the loss and gradient by 1/c and matches "
          "central differences",
          "[nn]") {
    grokkit::rng r(9, "test");
    const std::size_t n = 6, c = 5;
    dmatrix logits = random_matrix(r, n, c);
    std::vector<std::int32_t> labels(n);
    for (std::int32_t& label : labels)
        label = static_cast<std::int32_t>(r.below(c));
    const double scale = 1.0 / static_cast<double>(c);
    dmatrix full, scaled;
    const nn::loss_sum sum_full = nn::softmax_cross_entropy(logits, labels.data(), &full);
    const nn::loss_sum sum_scaled =
        nn::softmax_cross_entropy(logits, labels.data(), &scaled, scale);
    CHECK_THAT(sum_scaled.loss, WithinRel(sum_full.loss * scale, 1e-14));
    CHECK(sum_scaled.n_correct == sum_full.n_correct);
    for (std::size_t i = 0; i < full.size(); ++i)
        CHECK_THAT(scaled.data()[i], WithinAbs(full.data()[i] * scale, 1e-15));
    // The PAIR notebook's loss, written out: -mean over (n, c) of onehot * log_softmax.
    double table_mean = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        double m = logits(i, 0), s = 0.0;
        for (std::size_t j = 0; j < c; ++j)
            m = std::max(m, logits(i, j));
        for (std::size_t j = 0; j < c; ++j)
            s += std::exp(logits(i, j) - m);
        table_mean -= logits(i, static_cast<std::size_t>(labels[i])) - m - std::log(s);
    }
    table_mean /= static_cast<double>(n * c);
    CHECK_THAT(sum_scaled.loss / static_cast<double>(n), WithinRel(table_mean, 1e-12));
    auto objective = [&] {
        return nn::softmax_cross_entropy<double>(logits, labels.data(), nullptr, scale).loss /
               static_cast<double>(n);
    };
    CHECK(relative_error(scaled, numeric_gradient(logits, objective)) < fd_tolerance);
}
