// Tests of grokkit/nn.hpp's transformer layers: finite-difference gradients (double) per layer.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/nn.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <functional>
#include <vector>

namespace nn = grokkit::nn;
using dmatrix = nn::matrix<double>;
using Catch::Matchers::WithinAbs;

namespace {

// Central differences in double: truncation error ~h² and rounding ~1e-16·|L|/h, both far below
// the 1e-6 tolerance for h = 1e-6 and objectives of order 10 (as in test_nn.cpp).
constexpr double fd_step = 1e-6;
constexpr double fd_tolerance = 1e-6;

dmatrix make_matrix(std::size_t rows, std::size_t cols, double fill = 0.0) {
    dmatrix m(std::array<std::size_t, 2>{rows, cols});
    m.fill(fill);
    return m;
}

dmatrix random_matrix(grokkit::rng& r, std::size_t rows, std::size_t cols, double scale = 1.0) {
    dmatrix m = make_matrix(rows, cols);
    for (double& v : m) {
        v = scale * r.normal();
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
std::vector<double> numeric_gradient(dmatrix& values, const std::function<double()>& objective) {
    std::vector<double> g(values.size());
    double* v = values.data();
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double saved = v[i];
        v[i] = saved + fd_step;
        const double plus = objective();
        v[i] = saved - fd_step;
        const double minus = objective();
        v[i] = saved;
        g[i] = (plus - minus) / (2.0 * fd_step);
    }
    return g;
}

// ‖analytic − numeric‖₂ / ‖numeric‖₂: one number per tensor, insensitive to tiny components.
double relative_error(const dmatrix& analytic, const std::vector<double>& numeric) {
    REQUIRE(analytic.size() == numeric.size());
    double diff = 0.0;
    double norm = 0.0;
    for (std::size_t i = 0; i < numeric.size(); ++i) {
        const double a = analytic.data()[i];
        diff += (a - numeric[i]) * (a - numeric[i]);
        norm += numeric[i] * numeric[i];
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

// Attention inputs in the fused layout a model uses: one (n·n_ctx, 3·width) buffer holding
// q | k | v side by side, so every view has row stride 3·width.
struct fused_qkv {
    std::size_t width;
    dmatrix qkv;

    nn::attention_qkv<const double*> inputs() const {
        const double* p = qkv.data();
        return {p, 3 * width, p + width, 3 * width, p + 2 * width, 3 * width};
    }
    nn::attention_qkv<double*> grads() {
        double* p = qkv.data();
        return {p, 3 * width, p + width, 3 * width, p + 2 * width, 3 * width};
    }
};

} // namespace

TEST_CASE("nn_transformer: layer norm normalises rows and matches central differences", "[nn]") {
    grokkit::rng r(11, "test");
    const std::size_t rows = 5, d = 6;
    // Rows offset by 10: the two-pass variance must not lose them to cancellation.
    dmatrix x = random_matrix(r, rows, d);
    x += 10.0;
    dmatrix gain = random_matrix(r, 1, d);
    dmatrix bias = random_matrix(r, 1, d);
    const dmatrix weights = random_matrix(r, rows, d);
    dmatrix y;
    nn::layer_norm_cache<double> cache;
    auto objective = [&] {
        nn::layer_norm_forward<double>(x, {gain.data(), bias.data()}, y, cache);
        return weighted_sum(y, weights);
    };
    objective();
    for (std::size_t i = 0; i < rows; ++i) {
        double mean = 0.0, sq = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            mean += cache.x_hat(i, j) / d;
            sq += cache.x_hat(i, j) * cache.x_hat(i, j) / d;
            CHECK_THAT(y(i, j), WithinAbs(cache.x_hat(i, j) * gain(0, j) + bias(0, j), 1e-14));
        }
        CHECK_THAT(mean, WithinAbs(0.0, 1e-14));
        // var / (var + eps) with var of order 1: 1 − O(1e-5).
        CHECK_THAT(sq, WithinAbs(1.0, 1e-4));
    }

    // Garbage in the gain and bias gradients: layer_norm_backward must overwrite them.
    dmatrix dx;
    dmatrix dgain = make_matrix(1, d, 1e3);
    dmatrix dbias = make_matrix(1, d, 1e3);
    nn::layer_norm_backward<double>(cache, gain.data(), weights, dx, {dgain.data(), dbias.data()});
    CHECK(relative_error(dx, numeric_gradient(x, objective)) < fd_tolerance);
    CHECK(relative_error(dgain, numeric_gradient(gain, objective)) < fd_tolerance);
    CHECK(relative_error(dbias, numeric_gradient(bias, objective)) < fd_tolerance);
}

TEST_CASE("nn_transformer: layer norm of a constant row is the bias", "[nn]") {
    const dmatrix x = make_matrix(2, 4, 3.0);
    const std::array<double, 4> gain{1, 2, 3, 4};
    const std::array<double, 4> bias{0.5, -0.5, 1, 0};
    dmatrix y;
    nn::layer_norm_cache<double> cache;
    nn::layer_norm_forward<double>(x, {gain.data(), bias.data()}, y, cache);
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(y(1, j) == bias[j]);
    }
    // 1 / sqrt(0 + 1e-5): eps keeps the scale finite.
    CHECK_THAT(cache.rstd(0, 0), WithinAbs(1.0 / std::sqrt(1e-5), 1e-9));
}

TEST_CASE("nn_transformer: position embedding gradients match central differences", "[nn]") {
    grokkit::rng r(12, "test");
    const std::size_t n = 4, n_ctx = 3, d = 5;
    dmatrix pos = random_matrix(r, n_ctx, d);
    const dmatrix base = random_matrix(r, n * n_ctx, d);
    const dmatrix weights = random_matrix(r, n * n_ctx, d);
    dmatrix x;
    auto objective = [&] {
        x = base;
        nn::position_embedding_forward(pos.data(), n_ctx, x);
        return weighted_sum(x, weights);
    };
    objective();
    CHECK(x(7, 2) == base(7, 2) + pos(1, 2)); // row 7 is example 2, position 1
    dmatrix dpos = make_matrix(n_ctx, d, 1e3);
    nn::position_embedding_backward(weights, n_ctx, dpos.data());
    CHECK(relative_error(dpos, numeric_gradient(pos, objective)) < fd_tolerance);
}

TEST_CASE("nn_transformer: causal attention gradients match central differences", "[nn]") {
    const std::size_t n_ctx = GENERATE(1, 3, 4);
    INFO("n_ctx " << n_ctx);
    grokkit::rng r(13, "test");
    nn::attention_dims dims;
    dims.n = 3;
    dims.n_ctx = n_ctx;
    dims.n_heads = 2;
    dims.d_head = 4;
    const std::size_t width = dims.n_heads * dims.d_head;
    fused_qkv in{width, random_matrix(r, dims.n * n_ctx, 3 * width)};
    const dmatrix weights = random_matrix(r, dims.n * n_ctx, width);
    dmatrix pattern, z;
    auto objective = [&] {
        nn::causal_attention_forward<double>(dims, in.inputs(), pattern, z);
        return weighted_sum(z, weights);
    };
    objective();
    // Each query's weights sum to 1 over keys at or before it and are 0 after it.
    for (std::size_t i = 0; i < dims.n; ++i) {
        for (std::size_t h = 0; h < dims.n_heads; ++h) {
            for (std::size_t t = 0; t < n_ctx; ++t) {
                double sum = 0.0;
                for (std::size_t j = 0; j < n_ctx; ++j) {
                    const double p = pattern(i, (h * n_ctx + t) * n_ctx + j);
                    sum += p;
                    if (j > t) {
                        CHECK(p == 0.0);
                    }
                }
                CHECK_THAT(sum, WithinAbs(1.0, 1e-14));
            }
        }
    }
    // Garbage in the gradient buffer: every entry of q, k and v must be written.
    fused_qkv grad{width, make_matrix(dims.n * n_ctx, 3 * width, 1e3)};
    nn::causal_attention_backward<double>(dims, in.inputs(), pattern, weights, grad.grads());
    CHECK(relative_error(grad.qkv, numeric_gradient(in.qkv, objective)) < fd_tolerance);
}

TEST_CASE("nn_transformer: last-query-only attention equals the full pattern's last row and "
          "matches central differences",
          "[nn]") {
    grokkit::rng r(14, "test");
    nn::attention_dims full;
    full.n = 4;
    full.n_ctx = 3;
    full.n_heads = 2;
    full.d_head = 3;
    nn::attention_dims last = full;
    last.last_query_only = true;
    const std::size_t width = full.n_heads * full.d_head, n_ctx = full.n_ctx;
    fused_qkv in{width, random_matrix(r, full.n * n_ctx, 3 * width, 2.0)};

    dmatrix pattern_full, z_full, pattern_last, z_last;
    nn::causal_attention_forward<double>(full, in.inputs(), pattern_full, z_full);
    // Queries of the last position only: rows (i·n_ctx + n_ctx − 1) of the fused buffer.
    nn::attention_qkv<const double*> view = in.inputs();
    view.q += (n_ctx - 1) * 3 * width;
    view.ld_q = n_ctx * 3 * width;
    nn::causal_attention_forward<double>(last, view, pattern_last, z_last);
    REQUIRE(pattern_last.shape(1) == full.n_heads * n_ctx);
    REQUIRE(z_last.shape(0) == full.n);
    for (std::size_t i = 0; i < full.n; ++i) {
        for (std::size_t h = 0; h < full.n_heads; ++h) {
            for (std::size_t j = 0; j < n_ctx; ++j) {
                CHECK(pattern_last(i, h * n_ctx + j) ==
                      pattern_full(i, (h * n_ctx + n_ctx - 1) * n_ctx + j));
            }
        }
        for (std::size_t c = 0; c < width; ++c) {
            CHECK(z_last(i, c) == z_full(i * n_ctx + n_ctx - 1, c));
        }
    }

    // Gradients, with q held apart from k | v: the q view has n rows of its own.
    dmatrix q = random_matrix(r, full.n, width);
    dmatrix kv = random_matrix(r, full.n * n_ctx, 2 * width);
    const dmatrix weights = random_matrix(r, full.n, width);
    const nn::attention_qkv<const double*> split{q.data(),          width,    kv.data(), 2 * width,
                                                 kv.data() + width, 2 * width};
    auto objective = [&] {
        nn::causal_attention_forward<double>(last, split, pattern_last, z_last);
        return weighted_sum(z_last, weights);
    };
    objective();
    dmatrix dq = make_matrix(full.n, width, 1e3);
    dmatrix dkv = make_matrix(full.n * n_ctx, 2 * width, 1e3);
    const nn::attention_qkv<double*> grad{dq.data(),          width,    dkv.data(), 2 * width,
                                          dkv.data() + width, 2 * width};
    nn::causal_attention_backward<double>(last, split, pattern_last, weights, grad);
    CHECK(relative_error(dq, numeric_gradient(q, objective)) < fd_tolerance);
    CHECK(relative_error(dkv, numeric_gradient(kv, objective)) < fd_tolerance);
}

TEST_CASE("nn_transformer: attention is stable for large scores", "[nn]") {
    // One head, d_head 1, two positions: scores ±1e4·1e4 / 1 would overflow exp without the shift.
    nn::attention_dims dims;
    dims.n = 1;
    dims.n_ctx = 2;
    dims.n_heads = 1;
    dims.d_head = 1;
    fused_qkv in{1, make_matrix(2, 3)};
    in.qkv(1, 0) = 1e4; // q at position 1
    in.qkv(0, 1) = 1e4; // k at position 0
    in.qkv(1, 1) = -1e4;
    in.qkv(0, 2) = 5.0; // v
    in.qkv(1, 2) = 7.0;
    dmatrix pattern, z;
    nn::causal_attention_forward<double>(dims, in.inputs(), pattern, z);
    CHECK(pattern(0, 2) == 1.0); // query 1 attends to key 0 only
    CHECK(pattern(0, 3) == 0.0);
    CHECK(z(1, 0) == 5.0);
    CHECK(z(0, 0) == 5.0); // query 0 sees only itself
}

TEST_CASE("nn_transformer: attention through row maps reads and sums into shared rows", "[nn]") {
    const bool last_only = GENERATE(false, true);
    INFO("last_query_only " << last_only);
    grokkit::rng r(15, "test");
    nn::attention_dims dims;
    dims.n = 5;
    dims.n_ctx = 3;
    dims.n_heads = 2;
    dims.d_head = 3;
    dims.last_query_only = last_only;
    const std::size_t width = dims.n_heads * dims.d_head, n_rows = 4;
    // Four shared rows of q | k | v for 15 sequence rows: every table row is used several times.
    fused_qkv table{width, random_matrix(r, n_rows, 3 * width)};
    std::vector<std::size_t> kv_rows(dims.n * dims.n_ctx), q_rows;
    for (std::size_t& row : kv_rows) {
        row = r.below(n_rows);
    }
    for (std::size_t i = 0; i < dims.n; ++i) {
        for (std::size_t t = 0; t < dims.n_queries(); ++t) {
            q_rows.push_back(kv_rows[i * dims.n_ctx + (last_only ? dims.n_ctx - 1 : t)]);
        }
    }
    auto mapped = [&](auto view) {
        view.q_rows = q_rows.data();
        view.kv_rows = kv_rows.data();
        return view;
    };

    // The same attention on a gathered copy, without maps.
    fused_qkv gathered{width, make_matrix(dims.n * dims.n_ctx, 3 * width)};
    for (std::size_t row = 0; row < kv_rows.size(); ++row) {
        for (std::size_t c = 0; c < 3 * width; ++c) {
            gathered.qkv(row, c) = table.qkv(kv_rows[row], c);
        }
    }
    nn::attention_qkv<const double*> plain = gathered.inputs();
    if (last_only) {
        plain.q += (dims.n_ctx - 1) * 3 * width;
        plain.ld_q = dims.n_ctx * 3 * width;
    }
    dmatrix pattern, z, pattern_plain, z_plain;
    nn::causal_attention_forward<double>(dims, mapped(table.inputs()), pattern, z);
    nn::causal_attention_forward<double>(dims, plain, pattern_plain, z_plain);
    const bool same = z == z_plain && pattern == pattern_plain;
    CHECK(same);

    const dmatrix weights = random_matrix(r, z.shape(0), width);
    auto objective = [&] {
        nn::causal_attention_forward<double>(dims, mapped(table.inputs()), pattern, z);
        return weighted_sum(z, weights);
    };
    objective();
    // The shared rows' gradients are added to what the buffer holds: start from 1e3.
    fused_qkv grad{width, make_matrix(n_rows, 3 * width, 1e3)};
    nn::causal_attention_backward<double>(dims, mapped(table.inputs()), pattern, weights,
                                          mapped(grad.grads()));
    grad.qkv -= 1e3;
    CHECK(relative_error(grad.qkv, numeric_gradient(table.qkv, objective)) < fd_tolerance);
}
