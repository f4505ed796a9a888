// The linear model: parameters, initialisation, forward and backward passes, representations.
// SPDX-License-Identifier: Apache-2.0
#include "linear.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/init.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace linear {

namespace nn = grokkit::nn;

void model_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("bias", p.bias, "a bias b per class: logits = x W + b");
    ps.add("init", p.init,
           "initial weights: zeros, or normal with std init_scale / sqrt(fan_in); the bias "
           "starts at 0")
        .one_of({"zeros", "normal"});
    ps.add("init_scale", p.init_scale, "multiplies the std of init = normal").above(0);
}

void model_impl::check_spec(const grokkit::input_spec& spec) const {
    grokkit::check_declared(*this, "linear.build"); // for direct callers; the host checked them
    const bool tokens_ok = spec.has_tokens() && spec.vocab_size > 0;
    const bool features_ok = !spec.has_tokens() && spec.n_features > 0;
    if (!(tokens_ok || features_ok) || spec.n_outputs() == 0) {
        throw grokkit::error("linear.build", "input is " + spec.describe(),
                             "dense features or tokens (any "
                             "positions, any vocabulary), at least 1 class or target");
    }
}

void model_impl::build(const grokkit::input_spec& spec, std::uint64_t seed) {
    m_is_built = false;
    check_spec(spec);
    m_is_tokens = spec.has_tokens();
    m_n_tokens = spec.n_tokens;
    m_vocab = spec.vocab_size;
    m_fan_in = m_is_tokens ? m_n_tokens * m_vocab : spec.n_features;
    m_n_classes = spec.n_outputs(); // classes, or real-valued targets

    m_tensors.clear();
    m_tensors.push_back(grokkit::zero_parameter("weight", {m_fan_in, m_n_classes}));
    if (m_params.bias) {
        m_tensors.push_back(grokkit::zero_parameter("bias", {m_n_classes}));
    }
    // A zero start is the usual one for a convex model; the bias always starts at 0.
    if (m_params.init == "normal") {
        xt::xarray<float>& w = m_tensors[0].value;
        grokkit::init::normal({w.data(), w.size()},
                              m_params.init_scale / std::sqrt(static_cast<double>(m_fan_in)), seed,
                              0);
    }
    m_n = 0;
    m_is_built = true;
}

std::vector<grokkit::parameter*> model_impl::parameters() {
    return grokkit::pointers_to(m_tensors);
}

const float* model_impl::bias_value() const {
    return m_tensors.size() > 1 ? m_tensors[1].value.data() : nullptr;
}

void model_impl::check_batch(const grokkit::batch& x, const char* where) const {
    if (!m_is_built) {
        throw grokkit::error(where, "the model is not built", "build() first");
    }
    if (!m_is_tokens) {
        if (x.features == nullptr) {
            throw grokkit::error(where, "batch has no features", "dense feature inputs");
        }
        return;
    }
    if (x.tokens == nullptr) {
        throw grokkit::error(where, "batch has no tokens", "token inputs");
    }
    for (std::size_t k = 0; k < x.n * m_n_tokens; ++k) {
        const std::int32_t id = x.tokens[k];
        if (id < 0 || static_cast<std::size_t>(id) >= m_vocab) {
            throw grokkit::error(where,
                                 "token " + std::to_string(id) + " of example " +
                                     std::to_string(k / m_n_tokens) + " is outside the vocabulary",
                                 "0 <= token < " + std::to_string(m_vocab));
        }
    }
}

// x·W for one-hot x is a sum of W's rows, one per position: n·n_tokens·n_classes additions
// instead of a product over n_tokens·vocab_size columns that are almost all zero.
void model_impl::compute_logits(const std::int32_t* tokens, const float* features, std::size_t n,
                                const float* w, const float* b, matrix& logits) const {
    const std::size_t c = m_n_classes;
    nn::ensure_shape(logits, n, c);
    float* out = logits.data();
    for (std::size_t i = 0; i < n; ++i) {
        if (b != nullptr) {
            std::copy(b, b + c, out + i * c);
        } else {
            std::fill(out + i * c, out + (i + 1) * c, 0.0f);
        }
    }
    if (!m_is_tokens) {
        if (n > 0) {
            grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, n, c, m_fan_in, 1.0f,
                          features, m_fan_in, w, c, 1.0f, out, c);
        }
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        float* row = out + i * c;
        for (std::size_t t = 0; t < m_n_tokens; ++t) {
            const auto v = static_cast<std::size_t>(tokens[i * m_n_tokens + t]);
            const float* w_row = w + (t * m_vocab + v) * c;
            for (std::size_t j = 0; j < c; ++j) {
                row[j] += w_row[j];
            }
        }
    }
}

void model_impl::forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) {
    check_batch(x, "linear.forward");
    m_n = x.n;
    if (m_is_tokens) {
        m_tokens.assign(x.tokens, x.tokens + m_n * m_n_tokens); // keeps capacity: no allocation
        compute_logits(m_tokens.data(), nullptr, m_n, m_tensors[0].value.data(), bias_value(),
                       logits);
        return;
    }
    nn::ensure_shape(m_x, m_n, m_fan_in);
    std::copy(x.features, x.features + m_n * m_fan_in, m_x.data());
    compute_logits(nullptr, m_x.data(), m_n, m_tensors[0].value.data(), bias_value(), logits);
}

void model_impl::check_dlogits(const xt::xtensor<float, 2>& dlogits, const char* where) const {
    if (!m_is_built) {
        throw grokkit::error(where, "the model is not built", "build() first");
    }
    if (dlogits.shape(0) != m_n || dlogits.shape(1) != m_n_classes) {
        throw grokkit::error(
            where, "dlogits shape " + grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)),
            grokkit::shape_text(m_n, m_n_classes) + " from the last forward()");
    }
}

void model_impl::backward(const xt::xtensor<float, 2>& dlogits) {
    check_dlogits(dlogits, "linear.backward");
    const std::size_t c = m_n_classes;
    float* dw = m_tensors[0].grad.data();
    float* db = m_tensors.size() > 1 ? m_tensors[1].grad.data() : nullptr;
    if (!m_is_tokens) {
        // dW = xᵀ·dlogits, db = Σ dlogits; the input is data and needs no gradient.
        nn::linear_backward<float>(m_x, m_tensors[0].value.data(), dlogits, nullptr, dw, db);
        return;
    }
    // dW = xᵀ·dlogits for one-hot x: each example adds its dlogits row to the W row of each of
    // its tokens (several positions or examples may share a row, hence zero, then add).
    std::fill(dw, dw + m_fan_in * c, 0.0f);
    const float* g = dlogits.data();
    for (std::size_t i = 0; i < m_n; ++i) {
        for (std::size_t t = 0; t < m_n_tokens; ++t) {
            const auto v = static_cast<std::size_t>(m_tokens[i * m_n_tokens + t]);
            float* dw_row = dw + (t * m_vocab + v) * c;
            for (std::size_t j = 0; j < c; ++j) {
                dw_row[j] += g[i * c + j];
            }
        }
    }
    if (db != nullptr) {
        std::fill(db, db + c, 0.0f);
        for (std::size_t i = 0; i < m_n; ++i) {
            for (std::size_t j = 0; j < c; ++j) {
                db[j] += g[i * c + j];
            }
        }
    }
}

// Row i: [x_i ⊗ g_i (fan_in, c), g_i (c)]. For one-hot tokens x_i ⊗ g_i is g_i in the W row of
// each of the example's tokens and zero elsewhere.
void model_impl::input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                                 xt::xtensor<float, 2>& out) {
    check_batch(x, "linear.input_gradients");
    if (m_is_tokens)
        throw grokkit::error("linear.input_gradients", "the model reads tokens",
                             "dense feature inputs (a token has no gradient)");
    const std::size_t c = m_n_classes;
    if (weights.shape(0) != x.n || weights.shape(1) != c)
        throw grokkit::error("linear.input_gradients",
                             "weights shape " +
                                 grokkit::shape_text(weights.shape(0), weights.shape(1)),
                             grokkit::shape_text(x.n, c));
    nn::ensure_shape(out, x.n, m_fan_in);
    if (x.n == 0)
        return;
    // ∂(wᵀ(xW + b))/∂x = W w for every row: out = weights · Wᵀ.
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::yes, x.n, m_fan_in, c, 1.0f,
                  weights.data(), c, m_tensors[0].value.data(), c, 0.0f, out.data(), m_fan_in);
}

void model_impl::example_gradients(const xt::xtensor<float, 2>& dlogits,
                                   xt::xtensor<float, 2>& out) {
    check_dlogits(dlogits, "linear.example_gradients");
    const std::size_t c = m_n_classes;
    const std::size_t n_weight = m_fan_in * c;
    const std::size_t width = n_weight + (m_tensors.size() > 1 ? c : 0);
    nn::ensure_shape(out, m_n, width); // an `out` of this shape is reused
    if (m_is_tokens)
        out.fill(0.0f); // one-hot rows: most of each row is 0; dense rows are written whole
    for (std::size_t i = 0; i < m_n; ++i) {
        const float* g = dlogits.data() + i * c;
        float* row = out.data() + i * width;
        if (m_is_tokens) {
            for (std::size_t t = 0; t < m_n_tokens; ++t) {
                const auto v = static_cast<std::size_t>(m_tokens[i * m_n_tokens + t]);
                float* dw_row = row + (t * m_vocab + v) * c;
                for (std::size_t j = 0; j < c; ++j)
                    dw_row[j] += g[j];
            }
        } else {
            const float* x = m_x.data() + i * m_fan_in;
            for (std::size_t k = 0; k < m_fan_in; ++k)
                for (std::size_t j = 0; j < c; ++j)
                    row[k * c + j] = x[k] * g[j];
        }
        if (width > n_weight)
            std::copy(g, g + c, row + n_weight);
    }
}

std::vector<grokkit::linear_site> model_impl::linear_sites() const {
    return {{"linear", 0, m_tensors.size() > 1 ? 1 : -1}};
}

void model_impl::linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                                  xt::xtensor<float, 2>& inputs,
                                  xt::xtensor<float, 2>& output_grads) {
    check_dlogits(dlogits, "linear.linear_site_rows");
    if (index != 0)
        throw grokkit::error("linear.linear_site_rows", "site " + std::to_string(index),
                             "site 0, the only one");
    nn::ensure_shape(inputs, m_n, m_fan_in);
    if (m_is_tokens) {
        inputs.fill(0.0f);
        for (std::size_t i = 0; i < m_n; ++i)
            for (std::size_t t = 0; t < m_n_tokens; ++t)
                inputs(i, t * m_vocab + static_cast<std::size_t>(m_tokens[i * m_n_tokens + t])) =
                    1.0f;
    } else {
        std::copy(m_x.begin(), m_x.end(), inputs.begin());
    }
    output_grads = dlogits;
}

// The logits are linear in (W, b): their tangent along v is the logits with v for the
// parameters, and the second-order term of the backward tangent is zero.
void model_impl::forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) {
    if (!m_is_built)
        throw grokkit::error("linear.forward_tangent", "the model is not built", "build() first");
    const std::vector<std::size_t> at =
        grokkit::direction_offsets(m_tensors, v, "linear.forward_tangent");
    compute_logits(m_is_tokens ? m_tokens.data() : nullptr, m_is_tokens ? nullptr : m_x.data(), m_n,
                   v.data(), at.size() > 1 ? v.data() + at[1] : nullptr, t_logits);
}

void model_impl::backward_tangent(const xt::xtensor<float, 2>&,
                                  const xt::xtensor<float, 2>& t_dlogits) {
    backward(t_dlogits);
}

std::vector<std::string> model_impl::representations() const {
    return {"input", "logits"};
}

// The rows of x; for token inputs the one-hot rows are formed here, off the training path.
void model_impl::readout_features(const grokkit::batch& x, xt::xtensor<float, 2>& phi) {
    check_batch(x, "linear.readout");
    if (m_params.bias)
        throw grokkit::error("linear.readout", "bias = true",
                             "bias = false for a closed-form least-squares fit (logits = x W)");
    const xt::xarray<float> rows = input_rows(x);
    nn::ensure_shape(phi, x.n, m_fan_in);
    std::copy(rows.begin(), rows.end(), phi.begin());
}

xt::xarray<float> model_impl::input_rows(const grokkit::batch& x) const {
    xt::xarray<float> rows = xt::zeros<float>({x.n, m_fan_in});
    float* out = rows.data();
    if (!m_is_tokens) {
        std::copy(x.features, x.features + x.n * m_fan_in, out);
        return rows;
    }
    for (std::size_t i = 0; i < x.n; ++i) {
        for (std::size_t t = 0; t < m_n_tokens; ++t) {
            const auto v = static_cast<std::size_t>(x.tokens[i * m_n_tokens + t]);
            out[i * m_fan_in + t * m_vocab + v] = 1.0f;
        }
    }
    return rows;
}

xt::xarray<float> model_impl::representation(const std::string& name, const grokkit::batch& x) {
    const std::vector<std::string> names = representations();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        throw grokkit::error("linear.representation", "\"" + name + "\" is not a representation",
                             "one of " + grokkit::join(names));
    }
    check_batch(x, "linear.representation");
    if (name == "input") {
        return input_rows(x);
    }
    compute_logits(x.tokens, x.features, x.n, m_tensors[0].value.data(), bias_value(),
                   m_repr_logits);
    return m_repr_logits;
}

} // namespace linear
