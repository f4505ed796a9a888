// The random features model: the fixed first layer, the readout, forward and backward passes,
// tangents, representations.
// SPDX-License-Identifier: Apache-2.0
#include "random_features.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/init.hpp>

#include <algorithm>
#include <cmath>

namespace random_features {

namespace nn = grokkit::nn;
using grokkit::transpose;

namespace {

constexpr std::int64_t max_width = 100000;

} // namespace

void model_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("width", p.width,
           "p, the number of random features: the width of the fixed layer F (n_features, p)")
        .at_least(1)
        .at_most(static_cast<double>(max_width));
    ps.add("activation", p.activation,
           "f in features = f(x F); gelu is the tanh approximation, identity is no activation")
        .one_of({"relu", "gelu", "square", "identity"});
    ps.add("init", p.init,
           "initial readout W: zeros (gradient descent then converges to the minimum-norm "
           "solution), or normal with std init_scale / sqrt(p)")
        .one_of({"zeros", "normal"});
    ps.add("init_scale", p.init_scale, "multiplies the std of init = normal").above(0);
}

void model_impl::check_spec(const grokkit::input_spec& spec) const {
    grokkit::check_declared(*this, "random_features.build"); // for direct callers
    if (spec.has_tokens() || spec.n_features == 0 || spec.n_outputs() == 0) {
        std::string what = "input is ";
        what += spec.describe();
        throw grokkit::error("random_features.build", what,
                             "dense features and at least 1 class or target");
    }
}

void model_impl::build(const grokkit::input_spec& spec, std::uint64_t seed) {
    m_is_built = false;
    check_spec(spec);
    m_n_features = spec.n_features;
    m_width = static_cast<std::size_t>(m_params.width);
    m_n_outputs = spec.n_outputs(); // classes, or real-valued targets
    m_is_identity = m_params.activation == "identity";
    if (!m_is_identity)
        m_f = nn::activation_from_string(m_params.activation);

    // F from its own stream, so the readout's draws and F's never shift each other; a resumed
    // run rebuilds the same F from the seed, which is why F needs no checkpoint.
    m_first = xt::zeros<float>({m_n_features, m_width});
    grokkit::init::normal({m_first.data(), m_first.size()},
                          1.0 / std::sqrt(static_cast<double>(m_n_features)), seed, 1);

    m_tensors.clear();
    m_tensors.push_back(grokkit::zero_parameter("readout", {m_width, m_n_outputs}));
    if (m_params.init == "normal") {
        xt::xarray<float>& w = m_tensors[0].value;
        grokkit::init::normal({w.data(), w.size()},
                              m_params.init_scale / std::sqrt(static_cast<double>(m_width)), seed,
                              0);
    }
    m_n = 0;
    m_is_built = true;
}

std::vector<grokkit::parameter*> model_impl::parameters() {
    return grokkit::pointers_to(m_tensors);
}

void model_impl::check_batch(const grokkit::batch& x, const char* where) const {
    if (!m_is_built)
        throw grokkit::error(where, "the model is not built", "build() first");
    if (x.features == nullptr)
        throw grokkit::error(where, "batch has no features", "dense feature inputs");
}

void model_impl::check_dlogits(const xt::xtensor<float, 2>& dlogits, const char* where) const {
    if (!m_is_built)
        throw grokkit::error(where, "the model is not built", "build() first");
    if (dlogits.shape(0) != m_n || dlogits.shape(1) != m_n_outputs) {
        std::string expected = grokkit::shape_text(m_n, m_n_outputs);
        expected += " from the last forward()";
        throw grokkit::error(
            where, "dlogits shape " + grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)),
            expected);
    }
}

void model_impl::compute_features(const float* x, std::size_t n, matrix& pre, matrix& phi) const {
    nn::ensure_shape(pre, n, m_width);
    if (n > 0)
        grokkit::gemm(transpose::no, transpose::no, n, m_width, m_n_features, 1.0f, x, m_n_features,
                      m_first.data(), m_width, 0.0f, pre.data(), m_width);
    if (m_is_identity) {
        nn::ensure_shape(phi, n, m_width);
        std::copy(pre.begin(), pre.end(), phi.begin());
        return;
    }
    nn::activation_forward(m_f, pre, phi);
}

void model_impl::compute_logits(const matrix& phi, const float* w, matrix& logits) const {
    const std::size_t n = phi.shape(0);
    nn::ensure_shape(logits, n, m_n_outputs);
    if (n == 0)
        return;
    grokkit::gemm(transpose::no, transpose::no, n, m_n_outputs, m_width, 1.0f, phi.data(), m_width,
                  w, m_n_outputs, 0.0f, logits.data(), m_n_outputs);
}

void model_impl::forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) {
    check_batch(x, "random_features.forward");
    m_n = x.n;
    compute_features(x.features, x.n, m_pre, m_phi);
    compute_logits(m_phi, m_tensors[0].value.data(), logits);
}

void model_impl::readout_gradient(const xt::xtensor<float, 2>& g) {
    float* dw = m_tensors[0].grad.data();
    if (m_n == 0) {
        std::fill(dw, dw + m_width * m_n_outputs, 0.0f);
        return;
    }
    grokkit::gemm(transpose::yes, transpose::no, m_width, m_n_outputs, m_n, 1.0f, m_phi.data(),
                  m_width, g.data(), m_n_outputs, 0.0f, dw, m_n_outputs);
}

void model_impl::backward(const xt::xtensor<float, 2>& dlogits) {
    check_dlogits(dlogits, "random_features.backward");
    readout_gradient(dlogits); // F is fixed and x is data: W is all there is to differentiate
}

void model_impl::example_gradients(const xt::xtensor<float, 2>& dlogits,
                                   xt::xtensor<float, 2>& out) {
    check_dlogits(dlogits, "random_features.example_gradients");
    const std::size_t c = m_n_outputs;
    const std::size_t row_width = m_width * c;
    nn::ensure_shape(out, m_n, row_width); // an `out` of this shape is reused
    for (std::size_t i = 0; i < m_n; ++i) {
        const float* g = dlogits.data() + i * c;
        const float* phi = m_phi.data() + i * m_width;
        float* row = out.data() + i * row_width;
        for (std::size_t k = 0; k < m_width; ++k)
            for (std::size_t j = 0; j < c; ++j)
                row[k * c + j] = phi[k] * g[j];
    }
}

// ∂(Σ_c w_c logits_c)/∂x = F (f'(xF) ⊙ (W w)) per row: out = ((weights · Wᵀ) ⊙ f'(xF)) · Fᵀ.
void model_impl::input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                                 xt::xtensor<float, 2>& out) {
    check_batch(x, "random_features.input_gradients");
    const std::size_t n = x.n, c = m_n_outputs, p = m_width;
    if (weights.shape(0) != n || weights.shape(1) != c)
        throw grokkit::error("random_features.input_gradients",
                             "weights shape " +
                                 grokkit::shape_text(weights.shape(0), weights.shape(1)),
                             grokkit::shape_text(n, c));
    nn::ensure_shape(out, n, m_n_features);
    if (n == 0)
        return;
    compute_features(x.features, n, m_scratch_pre, m_scratch_phi);
    nn::ensure_shape(m_scratch_dphi, n, p);
    grokkit::gemm(transpose::no, transpose::yes, n, p, c, 1.0f, weights.data(), c,
                  m_tensors[0].value.data(), c, 0.0f, m_scratch_dphi.data(), p);
    const matrix* dpre = &m_scratch_dphi; // identity: f' = 1
    if (!m_is_identity) {
        nn::activation_backward(m_f, m_scratch_pre, m_scratch_dphi, m_scratch_dpre);
        dpre = &m_scratch_dpre;
    }
    grokkit::gemm(transpose::no, transpose::yes, n, m_n_features, p, 1.0f, dpre->data(), p,
                  m_first.data(), p, 0.0f, out.data(), m_n_features);
}

std::vector<grokkit::linear_site> model_impl::linear_sites() const {
    return {{"readout", 0, -1}};
}

void model_impl::linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                                  xt::xtensor<float, 2>& inputs,
                                  xt::xtensor<float, 2>& output_grads) {
    check_dlogits(dlogits, "random_features.linear_site_rows");
    if (index != 0)
        throw grokkit::error("random_features.linear_site_rows", "site " + std::to_string(index),
                             "site 0, the only one");
    nn::ensure_shape(inputs, m_n, m_width);
    std::copy(m_phi.begin(), m_phi.end(), inputs.begin());
    output_grads = dlogits;
}

// The logits are linear in W: their tangent along v is the logits with v for W, and the
// second-order term of the backward tangent is zero.
void model_impl::forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) {
    if (!m_is_built)
        throw grokkit::error("random_features.forward_tangent", "the model is not built",
                             "build() first");
    grokkit::direction_offsets(m_tensors, v, "random_features.forward_tangent");
    compute_logits(m_phi, v.data(), t_logits);
}

void model_impl::backward_tangent(const xt::xtensor<float, 2>&,
                                  const xt::xtensor<float, 2>& t_dlogits) {
    check_dlogits(t_dlogits, "random_features.backward_tangent");
    readout_gradient(t_dlogits);
}

std::vector<std::string> model_impl::representations() const {
    return {"features", "logits"};
}

xt::xarray<float> model_impl::representation(const std::string& name, const grokkit::batch& x) {
    const std::vector<std::string> names = representations();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string what = "\"";
        what += name;
        what += "\" is not a representation";
        throw grokkit::error("random_features.representation", what,
                             "one of " + grokkit::join(names));
    }
    check_batch(x, "random_features.representation");
    compute_features(x.features, x.n, m_scratch_pre, m_scratch_phi);
    if (name == "features")
        return m_scratch_phi;
    compute_logits(m_scratch_phi, m_tensors[0].value.data(), m_scratch_logits);
    return m_scratch_logits;
}

void model_impl::readout_features(const grokkit::batch& x, xt::xtensor<float, 2>& phi) {
    check_batch(x, "random_features.readout");
    compute_features(x.features, x.n, m_scratch_pre, phi);
}

} // namespace random_features
