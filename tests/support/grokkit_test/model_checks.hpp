// Checks every model plugin's tests share: whole-model gradients against central differences,
// per-example gradients against one-example passes.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/curvature.hpp>
#include <grokkit/data.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/optimizer.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>
#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace grokkit_test {

/// Mean cross-entropy of the float model on `x`, accumulated in double.
inline double mean_loss(grokkit::model& m, const grokkit::batch& x) {
    xt::xtensor<float, 2> logits;
    m.forward(x, logits);
    const grokkit::nn::loss_sum s =
        grokkit::nn::softmax_cross_entropy<float>(logits, x.labels, nullptr, 1.0, x.mask);
    return s.loss / static_cast<double>(x.n);
}

/// One forward and backward pass: every parameter's grad is then d(mean loss)/d(value).
inline double compute_gradients(grokkit::model& m, const grokkit::batch& x) {
    xt::xtensor<float, 2> logits, dlogits;
    m.forward(x, logits);
    const grokkit::nn::loss_sum s =
        grokkit::nn::softmax_cross_entropy(logits, x.labels, &dlogits, 1.0, x.mask);
    m.backward(dlogits);
    return s.loss / static_cast<double>(x.n);
}

/// ‖grad − central differences‖₂ / ‖central differences‖₂ for one parameter tensor, after
/// compute_gradients(). Steps of h = 1e-2 in float: the loss's rounding (~1e-7 · 2 / h) and the
/// O(h²) truncation stay well below the 2e-2 the tests allow.
inline double gradient_error(grokkit::model& m, grokkit::parameter& p, const grokkit::batch& x) {
    constexpr float h = 1e-2f;
    double diff = 0.0;
    double norm = 0.0;
    float* values = p.value.data();
    for (std::size_t i = 0; i < p.value.size(); ++i) {
        const float saved = values[i];
        values[i] = saved + h;
        const double plus = mean_loss(m, x);
        values[i] = saved - h;
        const double minus = mean_loss(m, x);
        values[i] = saved;
        const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
        const double analytic = p.grad.data()[i];
        diff += (analytic - numeric) * (analytic - numeric);
        norm += numeric * numeric;
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

/// ‖input_gradients − central differences‖₂ / ‖central differences‖₂ of Σ_i Σ_c w(i, c)
/// logits(i, c) in every input value of the dense batch `x` (`n_features` wide), the weights w
/// drawn from `seed`. Steps of h = 1e-2 in float, as gradient_error() takes them.
inline double input_gradient_error(grokkit::model& m, const grokkit::batch& x,
                                   std::size_t n_features, std::size_t n_outputs,
                                   std::uint64_t seed) {
    grokkit::rng r(seed, "weights");
    xt::xtensor<float, 2> w = xt::zeros<float>({x.n, n_outputs});
    for (float& v : w)
        v = static_cast<float>(r.normal());
    xt::xtensor<float, 2> analytic;
    m.input_gradients(x, w, analytic);
    REQUIRE(analytic.shape(0) == x.n);
    REQUIRE(analytic.shape(1) == n_features);
    std::vector<float> inputs(x.features, x.features + x.n * n_features);
    grokkit::batch moved = x;
    moved.features = inputs.data();
    const auto weighted_outputs = [&] {
        xt::xtensor<float, 2> logits;
        m.forward(moved, logits);
        double sum = 0.0;
        for (std::size_t k = 0; k < logits.size(); ++k)
            sum += static_cast<double>(w.data()[k]) * logits.data()[k];
        return sum;
    };
    constexpr float h = 1e-2f;
    double diff = 0.0, norm = 0.0;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const float saved = inputs[k];
        inputs[k] = saved + h;
        const double plus = weighted_outputs();
        inputs[k] = saved - h;
        const double minus = weighted_outputs();
        inputs[k] = saved;
        const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
        diff += (analytic.data()[k] - numeric) * (analytic.data()[k] - numeric);
        norm += numeric * numeric;
    }
    REQUIRE(norm > 0.0);
    return std::sqrt(diff / norm);
}

/// Every parameter's gradient, flattened in parameters() order.
inline std::vector<float> flat_gradients(grokkit::model& m) {
    std::vector<float> out;
    for (const grokkit::parameter* p : m.parameters())
        out.insert(out.end(), p->grad.begin(), p->grad.end());
    return out;
}

/// max |a - b| / max(max |b|, floor): the error relative to the reference's scale.
inline double scaled_error(const float* a, const float* b, std::size_t n, double floor = 1e-6) {
    double diff = 0.0, scale = floor;
    for (std::size_t k = 0; k < n; ++k) {
        diff = std::max(diff, std::abs(static_cast<double>(a[k]) - b[k]));
        scale = std::max(scale, std::abs(static_cast<double>(b[k])));
    }
    return diff / scale;
}

/// The optimizers every model must train with: sgd with momentum, adam with an L2 penalty, adamw
/// with decoupled weight decay, adamw with L1 and clipping. `lr` suits each on a small batch.
struct optimizer_case {
    const char* what;
    grokkit::optimizer_config config;
    double lr;
};
inline std::vector<optimizer_case> every_optimizer() {
    return {
        {"sgd, momentum 0.9", {"sgd", 0.9, 0.98, 1e-8, 0.9, 0.0, 0.0, 0.0, 0.0}, 0.05},
        {"adam, L2 1e-3", {"adam", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.0, 1e-3, 0.0}, 1e-2},
        {"adamw, weight decay 1", {"adamw", 0.9, 0.98, 1e-8, 0.0, 1.0, 0.0, 0.0, 0.0}, 1e-2},
        {"adamw, L1 1e-4, clip 1", {"adamw", 0.9, 0.98, 1e-8, 0.0, 0.1, 1e-4, 0.0, 1.0}, 1e-2},
    };
}

/// `steps` full-batch updates of `m` on `x` with `opt`; returns the mean loss after them.
inline double train(grokkit::model& m, const grokkit::batch& x, const optimizer_case& opt,
                    int steps) {
    grokkit::optimizer o(m.parameters(), opt.config);
    for (int s = 0; s < steps; ++s) {
        compute_gradients(m, x);
        o.step(opt.lr);
    }
    return mean_loss(m, x);
}

/// How far model::example_gradients() is from its definition on batch `x` with `dlogits`.
struct example_gradient_errors {
    double rows = 0.0; ///< worst row against backward() on that example alone
    double sum = 0.0;  ///< the rows' sum against backward() on the whole batch
    bool shape_ok = false;
};

/// `n_tokens` and `n_features` are per-example widths of x.tokens and x.features (0 if absent).
inline example_gradient_errors check_example_gradients(grokkit::model& m, const grokkit::batch& x,
                                                       const xt::xtensor<float, 2>& dlogits,
                                                       std::size_t n_tokens,
                                                       std::size_t n_features) {
    example_gradient_errors e;
    xt::xtensor<float, 2> logits, rows;
    m.forward(x, logits);
    m.example_gradients(dlogits, rows);
    const std::size_t p = grokkit::parameter_count(m);
    e.shape_ok = rows.shape(0) == x.n && rows.shape(1) == p;
    if (!e.shape_ok)
        return e;

    m.forward(x, logits);
    m.backward(dlogits);
    const std::vector<float> whole = flat_gradients(m);
    std::vector<float> sum(p, 0.0f);
    for (std::size_t i = 0; i < x.n; ++i)
        for (std::size_t k = 0; k < p; ++k)
            sum[k] += rows(i, k);
    e.sum = scaled_error(sum.data(), whole.data(), p);

    for (std::size_t i = 0; i < x.n; ++i) {
        grokkit::batch one;
        one.n = 1;
        one.tokens = x.tokens ? x.tokens + i * n_tokens : nullptr;
        one.features = x.features ? x.features + i * n_features : nullptr;
        one.labels = x.labels ? x.labels + i : nullptr;
        m.forward(one, logits);
        xt::xtensor<float, 2> d = xt::zeros<float>({std::size_t{1}, dlogits.shape(1)});
        std::copy(dlogits.data() + i * dlogits.shape(1),
                  dlogits.data() + (i + 1) * dlogits.shape(1), d.data());
        m.backward(d);
        const std::vector<float> single = flat_gradients(m);
        e.rows = std::max(e.rows, scaled_error(rows.data() + i * p, single.data(), p));
    }
    return e;
}

/// An example set holding a copy of batch `x`, whose examples are `n_tokens` tokens or
/// `n_features` features wide.
inline grokkit::example_set to_example_set(const grokkit::batch& x, std::size_t n_tokens,
                                           std::size_t n_features) {
    grokkit::example_set s;
    s.tokens = xt::zeros<std::int32_t>({n_tokens ? x.n : 0, n_tokens});
    s.features = xt::zeros<float>({n_features ? x.n : 0, n_features});
    s.labels = xt::zeros<std::int32_t>({x.n});
    std::copy_n(x.tokens, n_tokens ? x.n * n_tokens : 0, s.tokens.data());
    std::copy_n(x.features, n_features ? x.n * n_features : 0, s.features.data());
    std::copy_n(x.labels, x.n, s.labels.data());
    return s;
}

/// The flat gradient of the mean `loss` over `set` at the model's parameters.
inline std::vector<double> loss_gradient(grokkit::model& m, const grokkit::example_set& set,
                                         const grokkit::loss_config& loss) {
    xt::xtensor<float, 2> logits, dlogits;
    m.forward(grokkit::as_batch(set), logits);
    grokkit::evaluate_loss(loss, logits, set.labels.data(), &dlogits);
    m.backward(dlogits);
    const std::vector<float> g = flat_gradients(m);
    return std::vector<double>(g.begin(), g.end());
}

/// A random unit direction over `p` parameters, keyed by (seed, k).
inline std::vector<double> unit_direction(std::size_t p, std::uint64_t seed, std::uint64_t k) {
    grokkit::rng r(seed, "direction", k);
    std::vector<double> v(p);
    double norm = 0.0;
    for (double& x : v) {
        x = r.normal();
        norm += x * x;
    }
    for (double& x : v)
        x /= std::sqrt(norm);
    return v;
}

/// The whole-model check of Hessian-vector products in float32: for `n_directions` random unit
/// directions v, ‖curvature_product(hessian) v − (g(θ + hv) − g(θ − hv)) / 2h‖ / ‖the
/// difference‖, worst over the directions, with g the float gradient of the mean loss and h =
/// 1e-2. The float gradients' rounding (~1e-7 relative, divided by 2h) and the O(h²) truncation
/// keep the difference within ~1e-3 of H v for smooth models; the tests allow 1e-2. Leaves the
/// parameters as they were.
inline double hessian_vector_error(grokkit::model& m, const grokkit::example_set& set,
                                   const grokkit::loss_config& loss, std::uint64_t seed,
                                   int n_directions = 3) {
    constexpr double h = 1e-2;
    const std::vector<float> theta = grokkit::flat_parameters(m);
    const std::size_t p = theta.size();
    double worst = 0.0;
    for (int k = 0; k < n_directions; ++k) {
        const std::vector<double> v = unit_direction(p, seed, static_cast<std::uint64_t>(k));
        std::vector<double> hv;
        {
            grokkit::curvature_product product(m, set, loss, grokkit::curvature_kind::hessian,
                                               std::vector<double>(p, 0.0), 0.0);
            product.apply(v, hv);
        }
        std::vector<float> moved(p);
        for (std::size_t j = 0; j < p; ++j)
            moved[j] = static_cast<float>(theta[j] + h * v[j]);
        grokkit::set_flat_parameters(m, moved);
        const std::vector<double> plus = loss_gradient(m, set, loss);
        for (std::size_t j = 0; j < p; ++j)
            moved[j] = static_cast<float>(theta[j] - h * v[j]);
        grokkit::set_flat_parameters(m, moved);
        const std::vector<double> minus = loss_gradient(m, set, loss);
        grokkit::set_flat_parameters(m, theta);
        double diff = 0.0, fd_norm = 0.0;
        for (std::size_t j = 0; j < p; ++j) {
            const double fd = (plus[j] - minus[j]) / (2.0 * h);
            diff += (hv[j] - fd) * (hv[j] - fd);
            fd_norm += fd * fd;
        }
        REQUIRE(fd_norm > 0.0);
        worst = std::max(worst, std::sqrt(diff / fd_norm));
    }
    return worst;
}

/// The Gauss–Newton product against its definition, Jᵀ ∇²ℓ (J v), with J v from central
/// differences of the float logits (h = 1e-2) and Jᵀ from the model's own backward(): checks
/// forward_tangent() and the product's chaining. ‖G v − reference‖ / ‖reference‖, worst over 3
/// directions; like hessian_vector_error, within ~1e-3 for smooth models.
inline double gauss_newton_error(grokkit::model& m, const grokkit::example_set& set,
                                 const grokkit::loss_config& loss, std::uint64_t seed) {
    constexpr double h = 1e-2;
    const std::vector<float> theta = grokkit::flat_parameters(m);
    const std::size_t p = theta.size();
    const grokkit::batch all = grokkit::as_batch(set);
    double worst = 0.0;
    for (std::uint64_t k = 0; k < 3; ++k) {
        const std::vector<double> v = unit_direction(p, seed, k);
        xt::xtensor<float, 2> plus, minus, logits, jv, u;
        std::vector<float> moved(p);
        for (const double sign : {1.0, -1.0}) {
            for (std::size_t j = 0; j < p; ++j)
                moved[j] = static_cast<float>(theta[j] + sign * h * v[j]);
            grokkit::set_flat_parameters(m, moved);
            m.forward(all, sign > 0 ? plus : minus);
        }
        grokkit::set_flat_parameters(m, theta);
        jv = (plus - minus) / static_cast<float>(2.0 * h);
        m.forward(all, logits);
        grokkit::loss_curvature(loss, logits).apply(jv, u);
        m.backward(u);
        const std::vector<float> reference = flat_gradients(m);
        std::vector<double> gv;
        grokkit::curvature_product(m, set, loss, grokkit::curvature_kind::gauss_newton,
                                   std::vector<double>(p, 0.0), 0.0)
            .apply(v, gv);
        double diff = 0.0, norm = 0.0;
        for (std::size_t j = 0; j < p; ++j) {
            diff += (gv[j] - reference[j]) * (gv[j] - reference[j]);
            norm += static_cast<double>(reference[j]) * reference[j];
        }
        REQUIRE(norm > 0.0);
        worst = std::max(worst, std::sqrt(diff / norm));
    }
    return worst;
}

/// Products on one curvature_product do not depend on the products before them: v, then w, then
/// v again give the first answer exactly (max |difference|, 0 when they agree bit for bit).
inline double repeated_product_difference(grokkit::model& m, const grokkit::example_set& set,
                                          const grokkit::loss_config& loss,
                                          grokkit::curvature_kind kind) {
    const std::size_t p = grokkit::parameter_count(m);
    grokkit::curvature_product product(m, set, loss, kind, std::vector<double>(p, 0.0), 0.0);
    std::vector<double> first, other, again;
    product.apply(unit_direction(p, 1, 0), first);
    product.apply(unit_direction(p, 1, 1), other);
    product.apply(unit_direction(p, 1, 0), again);
    double diff = 0.0;
    for (std::size_t j = 0; j < p; ++j)
        diff = std::max(diff, std::abs(first[j] - again[j]));
    return diff;
}

/// How far each site's rows (model::linear_site_rows) are from the model's own per-example
/// gradients on `set`: for every site and example, Σ_rows xᵀ·dy against the example's W slice
/// of example_gradients(), and Σ_rows dy against its b slice; the worst scaled_error. Also
/// REQUIREs at least one site and shapes that fit W.
inline double linear_site_error(grokkit::model& m, const grokkit::example_set& set,
                                std::uint64_t seed) {
    const auto sites = m.linear_sites();
    REQUIRE(!sites.empty());
    xt::xtensor<float, 2> logits;
    m.forward(grokkit::as_batch(set), logits);
    xt::xtensor<float, 2> dlogits = xt::zeros<float>(logits.shape());
    grokkit::rng r(seed, "site check");
    for (float& x : dlogits)
        x = static_cast<float>(r.normal());
    xt::xtensor<float, 2> rows;
    m.example_gradients(dlogits, rows);
    // The contract: the sites read what forward() and backward() left.
    m.forward(grokkit::as_batch(set), logits);
    m.backward(dlogits);
    const auto tensors = m.parameters();
    std::vector<std::size_t> offset(tensors.size());
    for (std::size_t t = 1; t < tensors.size(); ++t)
        offset[t] = offset[t - 1] + tensors[t - 1]->value.size();
    const std::size_t n = set.size(), width = rows.shape(1);
    double worst = 0.0;
    for (std::size_t s = 0; s < sites.size(); ++s) {
        xt::xtensor<float, 2> in, dy;
        m.linear_site_rows(s, dlogits, in, dy);
        const auto& w = tensors[sites[s].weight]->value;
        REQUIRE(w.dimension() == 2);
        const std::size_t d_in = w.shape(0), d_out = w.shape(1);
        REQUIRE(in.shape(1) == d_in);
        REQUIRE(dy.shape(1) == d_out);
        REQUIRE(in.shape(0) == dy.shape(0));
        REQUIRE(in.shape(0) % std::max<std::size_t>(n, 1) == 0);
        const std::size_t per = n ? in.shape(0) / n : 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<float> gw(d_in * d_out, 0.0f), gb(d_out, 0.0f);
            for (std::size_t t = i * per; t < (i + 1) * per; ++t)
                for (std::size_t a = 0; a < d_in; ++a)
                    for (std::size_t b = 0; b < d_out; ++b) {
                        gw[a * d_out + b] += in(t, a) * dy(t, b);
                        if (a == 0)
                            gb[b] += dy(t, b);
                    }
            const float* row = rows.data() + i * width;
            worst = std::max(
                worst, scaled_error(gw.data(), row + offset[sites[s].weight], gw.size(), 1e-3));
            if (sites[s].bias >= 0)
                worst = std::max(worst,
                                 scaled_error(gb.data(),
                                              row + offset[static_cast<std::size_t>(sites[s].bias)],
                                              gb.size(), 1e-3));
        }
    }
    return worst;
}

/// Each example of `set` allowed its label and a seeded random half of the other classes.
inline grokkit::class_mask half_mask(const grokkit::example_set& set, std::size_t n_classes,
                                     std::uint64_t seed) {
    grokkit::class_mask mask;
    for (std::size_t i = 0; i < set.size(); ++i) {
        grokkit::rng r(seed, "mask", i);
        std::vector<std::int32_t> allowed{set.labels(i)};
        for (std::size_t j = 0; j < n_classes; ++j)
            if (r.uniform() < 0.5)
                allowed.push_back(static_cast<std::int32_t>(j));
        mask.add(allowed);
    }
    return mask;
}

/// The class-mask contract for model `m` (built for `n_classes`) on `set`, masked by
/// half_mask(): the masked softmax puts exactly zero probability on every disallowed class;
/// d(loss)/dlogits is exactly zero there and, on the allowed classes, the gradient of the
/// cross-entropy over those classes alone; the parameters' gradients match central differences
/// of the masked loss (so the model's backward() is unchanged by the mask); and a few masked
/// training steps lower the masked loss without moving probability onto disallowed classes.
inline void check_class_mask(grokkit::model& m, grokkit::example_set set, std::size_t n_classes) {
    set.mask = half_mask(set, n_classes, 5);
    const grokkit::batch x = grokkit::as_batch(set);
    xt::xtensor<float, 2> logits, p, dlogits;
    m.forward(x, logits);
    grokkit::nn::softmax(logits, p, x.mask);
    grokkit::evaluate_loss(grokkit::loss_config{}, logits, x.labels, &dlogits, x.mask);
    for (std::size_t i = 0; i < x.n; ++i) {
        const std::int64_t first = x.mask.offsets[i], last = x.mask.offsets[i + 1];
        const std::vector<std::int32_t> allowed(x.mask.classes + first, x.mask.classes + last);
        // The same example restricted to its allowed classes, without a mask.
        xt::xtensor<float, 2> reduced = xt::zeros<float>({std::size_t{1}, allowed.size()});
        std::int32_t reduced_label = 0;
        for (std::size_t k = 0; k < allowed.size(); ++k) {
            reduced(0, k) = logits(i, static_cast<std::size_t>(allowed[k]));
            if (allowed[k] == x.labels[i])
                reduced_label = static_cast<std::int32_t>(k);
        }
        xt::xtensor<float, 2> reduced_d;
        grokkit::nn::softmax_cross_entropy(reduced, &reduced_label, &reduced_d,
                                           1.0 / static_cast<double>(x.n));
        double total = 0.0;
        std::size_t k = 0;
        for (std::size_t j = 0; j < n_classes; ++j) {
            const bool on = k < allowed.size() && static_cast<std::size_t>(allowed[k]) == j;
            if (!on) {
                REQUIRE(p(i, j) == 0.0f);
                REQUIRE(dlogits(i, j) == 0.0f);
                continue;
            }
            total += p(i, j);
            REQUIRE(dlogits(i, j) == Approx(reduced_d(0, k)).margin(1e-7));
            ++k;
        }
        REQUIRE(total == Approx(1.0).epsilon(1e-5));
    }
    compute_gradients(m, x);
    for (grokkit::parameter* q : m.parameters()) {
        INFO("masked gradient of " << q->name);
        CHECK(gradient_error(m, *q, x) < 2e-2);
    }
    const double before = mean_loss(m, x);
    grokkit::train_config cfg; // minibatches of 4: the trainer gathers their masks
    cfg.steps = 20;
    cfg.lr = 1e-2;
    cfg.batch_size = 4;
    grokkit::train(m, set, cfg, 3, {});
    CHECK(mean_loss(m, x) < before);
    m.forward(x, logits);
    grokkit::nn::softmax(logits, p, x.mask);
    for (std::size_t i = 0; i < x.n; ++i) {
        std::vector<bool> on(n_classes, false);
        for (std::int64_t k = x.mask.offsets[i]; k < x.mask.offsets[i + 1]; ++k)
            on[static_cast<std::size_t>(x.mask.classes[k])] = true;
        for (std::size_t j = 0; j < n_classes; ++j)
            if (!on[j])
                REQUIRE(p(i, j) == 0.0f);
    }
}

} // namespace grokkit_test
