// Tests of grokkit/nn.hpp's tangent passes (the R-operator): each layer's forward and backward
// tangents against central differences of its own forward and backward passes, in double.
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

namespace {

// Central differences along one direction in double: truncation ~h² and rounding ~1e-16/h are
// both far below the tolerance for h = 1e-5 and outputs of order 1.
constexpr double fd_step = 1e-5;
constexpr double fd_tolerance = 1e-7;

dmatrix random_matrix(grokkit::rng& r, std::size_t rows, std::size_t cols, double scale = 1.0) {
    dmatrix m(std::array<std::size_t, 2>{rows, cols});
    for (double& v : m)
        v = scale * r.normal();
    return m;
}

dmatrix zeros(std::size_t rows, std::size_t cols) {
    dmatrix m(std::array<std::size_t, 2>{rows, cols});
    m.fill(0.0);
    return m;
}

// base + eps·direction
dmatrix moved(const dmatrix& base, const dmatrix& direction, double eps) {
    dmatrix m = base;
    for (std::size_t i = 0; i < m.size(); ++i)
        m.data()[i] += eps * direction.data()[i];
    return m;
}

void append(std::vector<double>& out, const dmatrix& m) {
    out.insert(out.end(), m.begin(), m.end());
}

// ‖analytic − (run(h) − run(−h)) / 2h‖ / ‖the difference quotient‖, where run(eps) evaluates a
// layer's passes with every input, parameter and output gradient moved by eps along the test's
// direction, and `analytic` holds their tangents in the same order.
double directional_error(const std::function<std::vector<double>(double)>& run,
                         const std::vector<double>& analytic) {
    const std::vector<double> plus = run(fd_step), minus = run(-fd_step);
    REQUIRE(plus.size() == analytic.size());
    double diff = 0.0, norm = 0.0;
    for (std::size_t i = 0; i < plus.size(); ++i) {
        const double fd = (plus[i] - minus[i]) / (2.0 * fd_step);
        diff += (analytic[i] - fd) * (analytic[i] - fd);
        norm += fd * fd;
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

} // namespace

TEST_CASE("nn_tangent: linear forward and backward tangents match central differences",
          "[nn][tangent]") {
    const bool input_is_data = GENERATE(false, true);
    const bool has_bias = GENERATE(true, false);
    INFO("input is data " << input_is_data << ", bias " << has_bias);
    grokkit::rng r(21, "test");
    const std::size_t n = 5, d_in = 4, d_out = 3;
    const dmatrix x = random_matrix(r, n, d_in), w = random_matrix(r, d_in, d_out),
                  b = random_matrix(r, 1, d_out), dy = random_matrix(r, n, d_out);
    const dmatrix t_x = input_is_data ? zeros(n, d_in) : random_matrix(r, n, d_in);
    const dmatrix v_w = random_matrix(r, d_in, d_out), v_b = random_matrix(r, 1, d_out),
                  t_dy = random_matrix(r, n, d_out);
    const auto run = [&](double eps) {
        const dmatrix xe = moved(x, t_x, eps), we = moved(w, v_w, eps), be = moved(b, v_b, eps);
        dmatrix y, dx, dw = zeros(d_in, d_out), db = zeros(1, d_out);
        nn::linear_forward<double>(xe, we.data(), d_out, has_bias ? be.data() : nullptr, y);
        nn::linear_backward<double>(xe, we.data(), moved(dy, t_dy, eps), &dx, dw.data(), db.data());
        std::vector<double> out;
        for (const dmatrix* m : {&y, &dx, &dw, &db})
            append(out, *m);
        return out;
    };
    dmatrix t_y, t_dx, t_dw = zeros(d_in, d_out), t_db = zeros(1, d_out);
    const dmatrix* tx = input_is_data ? nullptr : &t_x;
    nn::linear_forward_tangent<double>(x, tx, w.data(), v_w.data(), d_out,
                                       has_bias ? v_b.data() : nullptr, t_y);
    nn::linear_backward_tangent<double>(x, tx, w.data(), v_w.data(), dy, t_dy, &t_dx, t_dw.data(),
                                        t_db.data());
    std::vector<double> analytic;
    for (const dmatrix* m : {&t_y, &t_dx, &t_dw, &t_db})
        append(analytic, *m);
    CHECK(directional_error(run, analytic) < fd_tolerance);
}

TEST_CASE("nn_tangent: activation tangents match central differences", "[nn][tangent]") {
    const auto f = GENERATE(nn::activation::relu, nn::activation::gelu, nn::activation::square);
    INFO("activation " << static_cast<int>(f));
    grokkit::rng r(22, "test");
    const std::size_t n = 4, d = 6;
    dmatrix x = random_matrix(r, n, d);
    // Away from ReLU's kink, where a difference quotient straddling 0 would not be its slope.
    for (double& v : x)
        v += v < 0 ? -0.1 : 0.1;
    const dmatrix dy = random_matrix(r, n, d), t_x = random_matrix(r, n, d),
                  t_dy = random_matrix(r, n, d);
    const auto run = [&](double eps) {
        const dmatrix xe = moved(x, t_x, eps);
        dmatrix y, dx;
        nn::activation_forward(f, xe, y);
        nn::activation_backward(f, xe, moved(dy, t_dy, eps), dx);
        std::vector<double> out;
        append(out, y);
        append(out, dx);
        return out;
    };
    dmatrix t_y, t_dx;
    nn::activation_backward(f, x, t_x, t_y); // the forward tangent is f'(x) t_x
    nn::activation_backward_tangent(f, x, t_x, dy, t_dy, t_dx);
    std::vector<double> analytic;
    append(analytic, t_y);
    append(analytic, t_dx);
    CHECK(directional_error(run, analytic) < fd_tolerance);
}

TEST_CASE("nn_tangent: tied unembedding tangents match central differences", "[nn][tangent]") {
    grokkit::rng r(23, "test");
    const std::size_t n = 4, d = 3, vocab = 5;
    const dmatrix h = random_matrix(r, n, d), e = random_matrix(r, vocab, d),
                  dl = random_matrix(r, n, vocab), t_h = random_matrix(r, n, d),
                  v_e = random_matrix(r, vocab, d), t_dl = random_matrix(r, n, vocab);
    const auto run = [&](double eps) {
        const dmatrix he = moved(h, t_h, eps), ee = moved(e, v_e, eps);
        dmatrix logits, dh, de = zeros(vocab, d);
        nn::unembed_forward<double>(he, ee.data(), vocab, logits);
        nn::unembed_backward<double>(he, ee.data(), moved(dl, t_dl, eps), &dh, de.data());
        std::vector<double> out;
        for (const dmatrix* m : {&logits, &dh, &de})
            append(out, *m);
        return out;
    };
    dmatrix t_logits, t_dh, t_de = zeros(vocab, d);
    nn::unembed_forward_tangent<double>(h, &t_h, e.data(), v_e.data(), vocab, t_logits);
    nn::unembed_backward_tangent<double>(h, &t_h, e.data(), v_e.data(), dl, t_dl, &t_dh,
                                         t_de.data());
    std::vector<double> analytic;
    for (const dmatrix* m : {&t_logits, &t_dh, &t_de})
        append(analytic, *m);
    CHECK(directional_error(run, analytic) < fd_tolerance);
}

TEST_CASE("nn_tangent: softmax cross-entropy curvature matches central differences of its "
          "gradient",
          "[nn][tangent]") {
    const double scale = GENERATE(1.0, 0.25);
    grokkit::rng r(24, "test");
    const std::size_t n = 6, c = 5;
    const dmatrix z = random_matrix(r, n, c, 2.0), t_z = random_matrix(r, n, c);
    const std::vector<std::int32_t> labels{0, 4, 2, 2, 1, 3};
    const auto run = [&](double eps) {
        dmatrix dz;
        nn::softmax_cross_entropy(moved(z, t_z, eps), labels.data(), &dz, scale);
        return std::vector<double>(dz.begin(), dz.end());
    };
    dmatrix p, t_dz;
    nn::softmax(z, p);
    nn::softmax_cross_entropy_tangent(p, t_z, t_dz, scale);
    CHECK(directional_error(run, std::vector<double>(t_dz.begin(), t_dz.end())) < fd_tolerance);
}

TEST_CASE("nn_tangent: layer norm tangents match central differences", "[nn][tangent]") {
    grokkit::rng r(25, "test");
    const std::size_t rows = 5, d = 6;
    dmatrix x = random_matrix(r, rows, d);
    x += 3.0;
    const dmatrix gain = random_matrix(r, 1, d), bias = random_matrix(r, 1, d),
                  dy = random_matrix(r, rows, d), t_x = random_matrix(r, rows, d),
                  v_gain = random_matrix(r, 1, d), v_bias = random_matrix(r, 1, d),
                  t_dy = random_matrix(r, rows, d);
    const auto run = [&](double eps) {
        const dmatrix ge = moved(gain, v_gain, eps), be = moved(bias, v_bias, eps);
        dmatrix y, dx, dg = zeros(1, d), db = zeros(1, d);
        nn::layer_norm_cache<double> cache;
        nn::layer_norm_forward<double>(moved(x, t_x, eps), {ge.data(), be.data()}, y, cache);
        nn::layer_norm_backward<double>(cache, ge.data(), moved(dy, t_dy, eps), dx,
                                        {dg.data(), db.data()});
        std::vector<double> out;
        for (const dmatrix* m : {&y, &dx, &dg, &db})
            append(out, *m);
        return out;
    };
    dmatrix y, t_y, t_dx, t_dg = zeros(1, d), t_db = zeros(1, d);
    nn::layer_norm_cache<double> cache;
    nn::layer_norm_tangent_cache<double> tangent;
    nn::layer_norm_forward<double>(x, {gain.data(), bias.data()}, y, cache);
    nn::layer_norm_forward_tangent<double>(cache, t_x, {gain.data(), bias.data()},
                                           {v_gain.data(), v_bias.data()}, t_y, tangent);
    nn::layer_norm_backward_tangent<double>(cache, tangent, gain.data(), v_gain.data(), dy, t_dy,
                                            t_dx, {t_dg.data(), t_db.data()});
    std::vector<double> analytic;
    for (const dmatrix* m : {&t_y, &t_dx, &t_dg, &t_db})
        append(analytic, *m);
    CHECK(directional_error(run, analytic) < fd_tolerance);
}

TEST_CASE("nn_tangent: causal attention tangents match central differences", "[nn][tangent]") {
    const std::size_t n_ctx = GENERATE(1, 3, 4);
    const bool last_only = GENERATE(false, true);
    INFO("n_ctx " << n_ctx << ", last query only " << last_only);
    grokkit::rng r(26, "test");
    nn::attention_dims dims;
    dims.n = 3;
    dims.n_ctx = n_ctx;
    dims.n_heads = 2;
    dims.d_head = 4;
    dims.last_query_only = last_only;
    const std::size_t width = dims.n_heads * dims.d_head, ld = 3 * width;
    const std::size_t rows = dims.n * n_ctx, q_rows = dims.n * dims.n_queries();
    // One fused (rows, 3·width) buffer, q | k | v, with the queries at the last rows when
    // last_only, as the transformer lays them out.
    const auto view = [&](auto* base) {
        nn::attention_qkv<decltype(base)> v;
        v.q = last_only ? base + (n_ctx - 1) * ld : base;
        v.ld_q = last_only ? n_ctx * ld : ld;
        v.k = base + width;
        v.ld_k = ld;
        v.v = base + 2 * width;
        v.ld_v = ld;
        return v;
    };
    const dmatrix qkv = random_matrix(r, rows, ld), t_qkv = random_matrix(r, rows, ld),
                  dz = random_matrix(r, q_rows, width), t_dz = random_matrix(r, q_rows, width);
    const auto run = [&](double eps) {
        const dmatrix in = moved(qkv, t_qkv, eps);
        dmatrix pattern, z, grad = zeros(rows, ld);
        nn::causal_attention_forward<double>(dims, view(in.data()), pattern, z);
        nn::causal_attention_backward<double>(dims, view(in.data()), pattern, moved(dz, t_dz, eps),
                                              view(grad.data()));
        std::vector<double> out;
        for (const dmatrix* m : {&pattern, &z, &grad})
            append(out, *m);
        return out;
    };
    dmatrix pattern, z, t_pattern, t_z, t_grad = zeros(rows, ld);
    nn::causal_attention_forward<double>(dims, view(qkv.data()), pattern, z);
    nn::causal_attention_forward_tangent<double>(dims, view(qkv.data()), view(t_qkv.data()),
                                                 pattern, t_pattern, t_z);
    nn::causal_attention_backward_tangent<double>(dims, view(qkv.data()), view(t_qkv.data()),
                                                  pattern, t_pattern, dz, t_dz,
                                                  view(t_grad.data()));
    std::vector<double> analytic;
    for (const dmatrix* m : {&t_pattern, &t_z, &t_grad})
        append(analytic, *m);
    CHECK(directional_error(run, analytic) < fd_tolerance);
}
