// The mlp model's tangent passes (R-operator): forward_tangent() and backward_tangent() along a
// parameter direction, through the same first layer and output products forward() used.
// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>

#include <algorithm>

namespace mlp {

namespace nn = grokkit::nn;
using grokkit::gemm;
using grokkit::transpose;

namespace {

constexpr std::size_t n_tokens = 2;

// t_p (rows, cols) = v_e (rows, k)·w (k, cols) + e (rows, k)·v_w (k, cols): the tangent of a
// product of two parameters, P = E·W.
void product_tangent(std::size_t rows, std::size_t cols, std::size_t k, const float* e,
                     const float* v_e, const float* w, const float* v_w, std::size_t ldw,
                     nn::matrix<float>& t_p) {
    nn::ensure_shape(t_p, rows, cols);
    gemm(transpose::no, transpose::no, rows, cols, k, 1.0f, v_e, k, w, ldw, 0.0f, t_p.data(), cols);
    gemm(transpose::no, transpose::no, rows, cols, k, 1.0f, e, k, v_w, ldw, 1.0f, t_p.data(), cols);
}

} // namespace

void model_impl::forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) {
    if (!m_is_built)
        throw grokkit::error("mlp.forward_tangent", "the model is not built", "build() first");
    m_offsets = grokkit::direction_offsets(m_tensors, v, "mlp.forward_tangent");
    m_direction.assign(v.begin(), v.end());
    m_t_pre.resize(m_hidden.size());
    m_t_post.resize(m_hidden.size());
    if (!m_is_dense && !m_used_table)
        combine_embeddings(direction(m_embed_a), direction(m_embed_b), m_t_embed_a, m_t_embed_b,
                           m_t_x0);
    for (std::size_t i = 0; i < m_hidden.size(); ++i) {
        const layer& l = m_hidden[i];
        if (i == 0 && m_used_table) {
            table_forward_tangent();
        } else {
            const matrix& in = i > 0 ? m_post[i - 1] : m_x0;
            // The input is data (tangent 0) for dense features.
            const matrix* t_in = i > 0 ? &m_t_post[i - 1] : (m_is_dense ? nullptr : &m_t_x0);
            nn::linear_forward_tangent(in, t_in, value(l.weight), direction(l.weight), l.width,
                                       bias_direction(l), m_t_pre[i]);
        }
        nn::activation_backward(m_f, m_pre[i], m_t_pre[i], m_t_post[i]); // f'(pre) ⊙ t_pre
    }
    output_forward_tangent(m_post.back(), m_t_post.back(), t_logits);
}

// t_pre0 = t_P_a[a] + t_P_b[b] + v_b0 with t_P = v_E·W_0 + E·v_W0 per table.
void model_impl::table_forward_tangent() {
    const layer& l0 = m_hidden[0];
    const std::size_t h = l0.width;
    product_tangent(m_vocab, h, m_d, value(m_embed_a), direction(m_embed_a), value(l0.weight),
                    direction(l0.weight), h, m_t_table_a);
    const matrix* tb = &m_t_table_a;
    if (n_tables() == 2) {
        const std::size_t offset = m_is_concat ? m_d * h : 0;
        product_tangent(m_vocab, h, m_d, value(m_embed_b), direction(m_embed_b),
                        value(l0.weight) + offset, direction(l0.weight) + offset, h, m_t_table_b);
        tb = &m_t_table_b;
    }
    gather_tables(m_t_table_a.data(), tb->data(), bias_direction(l0), h, m_t_pre[0]);
}

void model_impl::output_forward_tangent(const matrix& h, const matrix& t_h, matrix& t_logits) {
    if (!m_params.tie_unembedding) {
        nn::linear_forward_tangent(h, &t_h, value(m_out.weight), direction(m_out.weight),
                                   m_out.width, bias_direction(m_out), t_logits);
        return;
    }
    const float* e = value(m_embed_a);
    if (!m_used_tied_product) {
        // logits = u·Eᵀ with u = h·W_out
        nn::linear_forward_tangent<float>(h, &t_h, value(m_out.weight), direction(m_out.weight),
                                          m_d, nullptr, m_t_u);
        nn::unembed_forward_tangent(m_u, &m_t_u, e, direction(m_embed_a), m_vocab, t_logits);
        return;
    }
    // logits = h·M with M = W_out·Eᵀ (h_last, vocab): t_M = v_Wout·Eᵀ + W_out·v_Eᵀ.
    const std::size_t h_last = h.shape(1);
    nn::ensure_shape(m_t_w_et, h_last, m_vocab);
    gemm(transpose::no, transpose::yes, h_last, m_vocab, m_d, 1.0f, direction(m_out.weight), m_d, e,
         m_d, 0.0f, m_t_w_et.data(), m_vocab);
    gemm(transpose::no, transpose::yes, h_last, m_vocab, m_d, 1.0f, value(m_out.weight), m_d,
         direction(m_embed_a), m_d, 1.0f, m_t_w_et.data(), m_vocab);
    nn::linear_forward_tangent<float>(h, &t_h, m_w_et.data(), m_t_w_et.data(), m_vocab, nullptr,
                                      t_logits);
}

void model_impl::backward_tangent(const xt::xtensor<float, 2>& dlogits,
                                  const xt::xtensor<float, 2>& t_dlogits) {
    if (m_direction.empty() || dlogits.shape(0) != m_n || t_dlogits.shape(0) != m_n ||
        dlogits.shape(1) != m_n_classes || t_dlogits.shape(1) != m_n_classes)
        throw grokkit::error("mlp.backward_tangent",
                             "dlogits " + grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)) +
                                 ", t_dlogits " +
                                 grokkit::shape_text(t_dlogits.shape(0), t_dlogits.shape(1)),
                             "both " + grokkit::shape_text(m_n, m_n_classes) +
                                 ", after forward(), backward() and forward_tangent()");
    // The embeddings' tangents are sums over positions and the tied unembedding: zero, then add.
    if (!m_is_dense) {
        std::fill(m_tensors[m_embed_a].grad.begin(), m_tensors[m_embed_a].grad.end(), 0.0f);
        std::fill(m_tensors[m_embed_b].grad.begin(), m_tensors[m_embed_b].grad.end(), 0.0f);
    }
    const std::size_t n_layers = m_hidden.size();
    m_t_dpre.resize(n_layers);
    m_t_dpost.resize(n_layers);
    output_backward_tangent(m_post.back(), m_t_post.back(), dlogits, t_dlogits, m_t_dpost.back());
    for (std::size_t i = n_layers; i-- > 0;) {
        const layer& l = m_hidden[i];
        nn::activation_backward_tangent(m_f, m_pre[i], m_t_pre[i], m_dpost[i], m_t_dpost[i],
                                        m_t_dpre[i]);
        if (i == 0 && m_used_table) {
            table_backward_tangent();
            return;
        }
        const matrix& in = i > 0 ? m_post[i - 1] : m_x0;
        const matrix* t_in = i > 0 ? &m_t_post[i - 1] : (m_is_dense ? nullptr : &m_t_x0);
        matrix* t_din = i > 0 ? &m_t_dpost[i - 1] : (m_is_dense ? nullptr : &m_t_dx0);
        nn::linear_backward_tangent(in, t_in, value(l.weight), direction(l.weight), m_dpre[i],
                                    m_t_dpre[i], t_din, grad(l.weight), bias_grad(l));
    }
    if (!m_is_dense)
        scatter_embeddings(m_t_dx0, grad(m_embed_a), grad(m_embed_b));
}

void model_impl::output_backward_tangent(const matrix& h, const matrix& t_h, const matrix& dlogits,
                                         const matrix& t_dlogits, matrix& t_dh) {
    if (!m_params.tie_unembedding) {
        nn::linear_backward_tangent(h, &t_h, value(m_out.weight), direction(m_out.weight), dlogits,
                                    t_dlogits, &t_dh, grad(m_out.weight), bias_grad(m_out));
        return;
    }
    const float* e = value(m_embed_a);
    const float* v_e = direction(m_embed_a);
    float* t_de = grad(m_embed_a);
    if (!m_used_tied_product) {
        nn::unembed_backward_tangent(m_u, &m_t_u, e, v_e, dlogits, t_dlogits, &m_t_du, t_de);
        nn::linear_backward_tangent<float>(h, &t_h, value(m_out.weight), direction(m_out.weight),
                                           m_du, m_t_du, &t_dh, grad(m_out.weight), nullptr);
        return;
    }
    // Through M = W_out·Eᵀ: t_dM and t_dh from the product h·M, then dW_out = dM·E and
    // dE += dMᵀ·W_out differentiated (dM is backward()'s m_dw_et).
    const std::size_t h_last = h.shape(1);
    nn::ensure_shape(m_t_dw_et, h_last, m_vocab);
    nn::linear_backward_tangent<float>(h, &t_h, m_w_et.data(), m_t_w_et.data(), dlogits, t_dlogits,
                                       &t_dh, m_t_dw_et.data(), nullptr);
    float* t_dw_out = grad(m_out.weight);
    gemm(transpose::no, transpose::no, h_last, m_d, m_vocab, 1.0f, m_t_dw_et.data(), m_vocab, e,
         m_d, 0.0f, t_dw_out, m_d);
    gemm(transpose::no, transpose::no, h_last, m_d, m_vocab, 1.0f, m_dw_et.data(), m_vocab, v_e,
         m_d, 1.0f, t_dw_out, m_d);
    gemm(transpose::yes, transpose::no, m_vocab, m_d, h_last, 1.0f, m_t_dw_et.data(), m_vocab,
         value(m_out.weight), m_d, 1.0f, t_de, m_d);
    gemm(transpose::yes, transpose::no, m_vocab, m_d, h_last, 1.0f, m_dw_et.data(), m_vocab,
         direction(m_out.weight), m_d, 1.0f, t_de, m_d);
}

// The tangent of table_backward(): t_dP = the scatter of t_dpre0 per table; then per table
// t_dW_0 = Eᵀ·t_dP + v_Eᵀ·dP and t_dE += t_dP·W_0ᵀ + dP·v_W0ᵀ (dP is backward()'s m_dtable_*).
void model_impl::table_backward_tangent() {
    const layer& l0 = m_hidden[0];
    const std::size_t h = l0.width;
    const bool one_table = n_tables() == 1;
    nn::ensure_shape(m_t_dtable_a, m_vocab, h);
    std::fill(m_t_dtable_a.begin(), m_t_dtable_a.end(), 0.0f);
    nn::embedding_backward(m_tokens.data(), n_tokens, m_t_dpre[0], m_t_dtable_a.data());
    if (float* t_db = bias_grad(l0); t_db != nullptr) {
        std::fill(t_db, t_db + h, 0.0f);
        for (std::size_t v = 0; v < m_vocab; ++v)
            for (std::size_t j = 0; j < h; ++j)
                t_db[j] += m_t_dtable_a.data()[v * h + j];
    }
    if (!one_table) {
        nn::ensure_shape(m_t_dtable_b, m_vocab, h);
        std::fill(m_t_dtable_b.begin(), m_t_dtable_b.end(), 0.0f);
    }
    matrix& t_dpb = one_table ? m_t_dtable_a : m_t_dtable_b;
    nn::embedding_backward(m_tokens.data() + 1, n_tokens, m_t_dpre[0], t_dpb.data());

    const float* w = value(l0.weight);
    const float* v_w = direction(l0.weight);
    float* t_dw = grad(l0.weight);
    // One table's share: t_dW_part (beta: add to it) and t_dE.
    const auto table = [&](std::size_t embed, const matrix& dp, const matrix& t_dp,
                           std::size_t offset, float beta) {
        gemm(transpose::yes, transpose::no, m_d, h, m_vocab, 1.0f, value(embed), m_d, t_dp.data(),
             h, beta, t_dw + offset, h);
        gemm(transpose::yes, transpose::no, m_d, h, m_vocab, 1.0f, direction(embed), m_d, dp.data(),
             h, 1.0f, t_dw + offset, h);
        gemm(transpose::no, transpose::yes, m_vocab, m_d, h, 1.0f, t_dp.data(), h, w + offset, h,
             1.0f, grad(embed), m_d);
        gemm(transpose::no, transpose::yes, m_vocab, m_d, h, 1.0f, dp.data(), h, v_w + offset, h,
             1.0f, grad(embed), m_d);
    };
    table(m_embed_a, m_dtable_a, m_t_dtable_a, 0, 0.0f);
    if (!one_table)
        table(m_embed_b, m_dtable_b, m_t_dtable_b, m_is_concat ? m_d * h : 0,
              m_is_concat ? 0.0f : 1.0f);
}

} // namespace mlp
