// The transformer's tangent passes (R-operator): forward_tangent() and backward_tangent() along a
// parameter direction, block by block on the rows (never the token table).
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"
#include "transformer_rows.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>

#include <algorithm>

namespace transformer {

using grokkit::gemm;
using grokkit::transpose;

namespace {

// The shape of one block's fused Q, K, V product over n examples of n_ctx rows.
struct qkv_shape {
    std::size_t n, n_ctx, d, hd;
    bool last_only; // queries at each example's last row only
    std::size_t rows() const { return n * n_ctx; }
    std::size_t ld() const { return 3 * hd; }
};

// out (rows, 3·hd) = x (rows, d) · w (d, 3·hd) + beta·out; with last_only the q columns only at
// the last rows (as qkv_forward computes them).
void qkv_product(const qkv_shape& s, const float* x, const float* w, float beta, float* out) {
    const std::size_t ld = s.ld();
    if (!s.last_only) {
        gemm(transpose::no, transpose::no, s.rows(), ld, s.d, 1.0f, x, s.d, w, ld, beta, out, ld);
        return;
    }
    const std::size_t last = s.n_ctx - 1;
    gemm(transpose::no, transpose::no, s.rows(), 2 * s.hd, s.d, 1.0f, x, s.d, w + s.hd, ld, beta,
         out + s.hd, ld);
    gemm(transpose::no, transpose::no, s.n, s.hd, s.d, 1.0f, x + last * s.d, s.n_ctx * s.d, w, ld,
         beta, out + last * ld, s.n_ctx * ld);
}

// dw (d, 3·hd) = xᵀ · dqkv + beta·dw over the rows each column block is computed on.
void qkv_weight_product(const qkv_shape& s, const float* x, const float* dqkv, float beta,
                        float* dw) {
    const std::size_t ld = s.ld();
    if (!s.last_only) {
        gemm(transpose::yes, transpose::no, s.d, ld, s.rows(), 1.0f, x, s.d, dqkv, ld, beta, dw,
             ld);
        return;
    }
    const std::size_t last = s.n_ctx - 1;
    gemm(transpose::yes, transpose::no, s.d, 2 * s.hd, s.rows(), 1.0f, x, s.d, dqkv + s.hd, ld,
         beta, dw + s.hd, ld);
    gemm(transpose::yes, transpose::no, s.d, s.hd, s.n, 1.0f, x + last * s.d, s.n_ctx * s.d,
         dqkv + last * ld, s.n_ctx * ld, beta, dw, ld);
}

// dx (rows, d) = dqkv · wᵀ + beta·dx over the computed blocks.
void qkv_input_product(const qkv_shape& s, const float* dqkv, const float* w, float beta,
                       float* dx) {
    const std::size_t ld = s.ld();
    if (!s.last_only) {
        gemm(transpose::no, transpose::yes, s.rows(), s.d, ld, 1.0f, dqkv, ld, w, ld, beta, dx,
             s.d);
        return;
    }
    const std::size_t last = s.n_ctx - 1;
    gemm(transpose::no, transpose::yes, s.rows(), s.d, 2 * s.hd, 1.0f, dqkv + s.hd, ld, w + s.hd,
         ld, beta, dx, s.d);
    gemm(transpose::no, transpose::yes, s.n, s.d, s.hd, 1.0f, dqkv + last * ld, s.n_ctx * ld, w, ld,
         1.0f, dx + last * s.d, s.n_ctx * s.d);
}

// The direction's W_Q | W_K | W_V as one (d, 3·hd) matrix, as fuse_qkv_weights() does values.
void fuse(const float* vq, const float* vk, const float* vv, std::size_t d, std::size_t hd,
          nn::matrix<float>& out) {
    nn::ensure_shape(out, d, 3 * hd);
    for (std::size_t r = 0; r < d; ++r) {
        float* dst = out.data() + r * 3 * hd;
        std::copy(vq + r * hd, vq + (r + 1) * hd, dst);
        std::copy(vk + r * hd, vk + (r + 1) * hd, dst + hd);
        std::copy(vv + r * hd, vv + (r + 1) * hd, dst + 2 * hd);
    }
}

void add(const nn::matrix<float>& src, nn::matrix<float>& dst) {
    for (std::size_t k = 0; k < dst.size(); ++k)
        dst.data()[k] += src.data()[k];
}

} // namespace

void model_impl::forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) {
    if (!m_is_built || !m_has_training_pass)
        throw grokkit::error("transformer.forward_tangent", "no forward() pass to differentiate",
                             "forward() first");
    m_offsets = grokkit::direction_offsets(m_tensors, v, "transformer.forward_tangent");
    m_direction.assign(v.begin(), v.end());
    if (m_use_table) {
        // Block 0's tangents are per row: repeat the pass on the rows once.
        m_rows_only = true;
        run_forward(true, m_rows_logits);
        m_rows_only = false;
        m_backward_is_direct = false;
    }
    const std::size_t rows = m_n * m_n_ctx;
    m_tangent.resize(m_blocks.size());
    m_t_resid.resize(m_blocks.size() + 1);
    nn::embedding_forward(m_tokens.data(), 1, direction(m_embed), m_d, rows, m_t_resid[0]);
    nn::position_embedding_forward(direction(m_pos_embed), m_n_ctx, m_t_resid[0]);
    for (std::size_t l = 0; l < m_blocks.size(); ++l)
        block_forward_tangent(l);
    unembed_forward_tangent(t_logits);
}

void model_impl::block_forward_tangent(std::size_t l) {
    const block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    block_tangent& t = m_tangent[l];
    const bool ln = m_params.layer_norm;
    const qkv_shape shape{m_n, m_n_ctx, m_d, m_hd, s.last_only};
    // Q, K, V: t_qkv = t_in·W + in·v_W.
    const matrix& in = ln ? s.ln1 : pass().resid[l];
    if (ln)
        nn::layer_norm_forward_tangent(s.ln1_cache, m_t_resid[l], ln_value(b.ln1_w, b.ln1_b),
                                       {direction(b.ln1_w), direction(b.ln1_b)}, t.ln1,
                                       t.ln1_cache);
    const matrix& t_in = ln ? t.ln1 : m_t_resid[l];
    fuse(direction(b.w_q), direction(b.w_k), direction(b.w_v), m_d, m_hd, t.v_w_qkv);
    nn::ensure_shape(t.qkv, shape.rows(), shape.ld());
    t.qkv.fill(0.0f); // with last_only the q columns of other rows stay 0
    qkv_product(shape, t_in.data(), s.w_qkv.data(), 0.0f, t.qkv.data());
    qkv_product(shape, in.data(), t.v_w_qkv.data(), 1.0f, t.qkv.data());
    nn::causal_attention_forward_tangent(
        attention_dims(s.last_only), qkv_input(l),
        qkv_view<const float*>(t.qkv.data(), m_hd, m_n_ctx, s.last_only), s.pattern, t.pattern,
        t.z);
    // mid = x (query rows) + z·W_O
    copy_query_rows(m_t_resid[l], m_n_ctx, s.last_only, t.mid);
    const std::size_t q_rows = t.mid.shape(0);
    gemm(transpose::no, transpose::no, q_rows, m_d, m_hd, 1.0f, t.z.data(), m_hd, value(b.w_o), m_d,
         1.0f, t.mid.data(), m_d);
    gemm(transpose::no, transpose::no, q_rows, m_d, m_hd, 1.0f, s.z.data(), m_hd, direction(b.w_o),
         m_d, 1.0f, t.mid.data(), m_d);
    // MLP: out = mid + b_out + f(in2·W_in + b_in)·W_out
    if (ln)
        nn::layer_norm_forward_tangent(s.ln2_cache, t.mid, ln_value(b.ln2_w, b.ln2_b),
                                       {direction(b.ln2_w), direction(b.ln2_b)}, t.ln2,
                                       t.ln2_cache);
    nn::linear_forward_tangent(ln ? s.ln2 : s.mid, ln ? &t.ln2 : &t.mid, value(b.w_in),
                               direction(b.w_in), m_d_mlp, direction(b.b_in), t.mlp_pre);
    nn::activation_backward(m_f, s.mlp_pre, t.mlp_pre, t.mlp_post); // f'(pre) ⊙ t_pre
    nn::linear_forward_tangent(s.mlp_post, &t.mlp_post, value(b.w_out), direction(b.w_out), m_d,
                               direction(b.b_out), m_t_resid[l + 1]);
    add(t.mid, m_t_resid[l + 1]);
}

void model_impl::unembed_forward_tangent(matrix& t_logits) {
    const bool ln = m_params.layer_norm;
    if (ln)
        nn::layer_norm_forward_tangent(
            pass().ln_final_cache, m_t_resid.back(), ln_value(m_ln_final_w, m_ln_final_b),
            {direction(m_ln_final_w), direction(m_ln_final_b)}, m_t_ln_final, m_t_ln_final_cache);
    nn::linear_forward_tangent<float>(ln ? pass().ln_final : pass().resid.back(),
                                      ln ? &m_t_ln_final : &m_t_resid.back(), value(m_unembed),
                                      direction(m_unembed), m_n_classes, nullptr, t_logits);
}

void model_impl::backward_tangent(const xt::xtensor<float, 2>& dlogits,
                                  const xt::xtensor<float, 2>& t_dlogits) {
    check_dlogits(dlogits, "transformer.backward_tangent");
    check_dlogits(t_dlogits, "transformer.backward_tangent");
    if (m_direction.empty())
        throw grokkit::error("transformer.backward_tangent", "no forward_tangent() pass",
                             "forward(), backward() and forward_tangent() first");
    if (m_n == 0) {
        zero_gradients();
        return;
    }
    // The primal deltas the tangents read, on the rows.
    if (!m_backward_is_direct)
        backward(dlogits);
    m_t_d_resid.resize(m_blocks.size() + 1);
    unembed_backward_tangent(dlogits, t_dlogits);
    for (std::size_t l = m_blocks.size(); l-- > 0;) {
        mlp_backward_tangent(l);
        attention_backward_tangent(l);
    }
    m_tensors[m_embed].grad.fill(0.0f);
    nn::embedding_backward(m_tokens.data(), 1, m_t_d_resid[0], grad(m_embed));
    nn::position_embedding_backward(m_t_d_resid[0], m_n_ctx, grad(m_pos_embed));
}

void model_impl::unembed_backward_tangent(const matrix& dlogits, const matrix& t_dlogits) {
    const bool ln = m_params.layer_norm;
    matrix& t_d_in = ln ? m_t_d_ln_final : m_t_d_resid.back();
    nn::linear_backward_tangent<float>(ln ? pass().ln_final : pass().resid.back(),
                                       ln ? &m_t_ln_final : &m_t_resid.back(), value(m_unembed),
                                       direction(m_unembed), dlogits, t_dlogits, &t_d_in,
                                       grad(m_unembed), nullptr);
    if (ln)
        nn::layer_norm_backward_tangent(pass().ln_final_cache, m_t_ln_final_cache,
                                        value(m_ln_final_w), direction(m_ln_final_w),
                                        pass().d_ln_final, m_t_d_ln_final, m_t_d_resid.back(),
                                        ln_grad(m_ln_final_w, m_ln_final_b));
}

// From t_d_resid[l + 1] to t.d_mid, as mlp_backward() goes from d_resid[l + 1] to d_mid.
void model_impl::mlp_backward_tangent(std::size_t l) {
    const block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    block_tangent& t = m_tangent[l];
    const bool ln = m_params.layer_norm;
    const matrix& d_out = pass().d_resid[l + 1];
    const matrix& t_d_out = m_t_d_resid[l + 1];
    nn::linear_backward_tangent(s.mlp_post, &t.mlp_post, value(b.w_out), direction(b.w_out), d_out,
                                t_d_out, &t.d_mlp_post, grad(b.w_out), grad(b.b_out));
    nn::activation_backward_tangent(m_f, s.mlp_pre, t.mlp_pre, s.d_mlp_post, t.d_mlp_post,
                                    t.d_mlp_pre);
    matrix& t_d_in = ln ? t.d_ln2 : t.d_mid;
    nn::linear_backward_tangent(ln ? s.ln2 : s.mid, ln ? &t.ln2 : &t.mid, value(b.w_in),
                                direction(b.w_in), s.d_mlp_pre, t.d_mlp_pre, &t_d_in, grad(b.w_in),
                                grad(b.b_in));
    if (ln)
        nn::layer_norm_backward_tangent(s.ln2_cache, t.ln2_cache, value(b.ln2_w),
                                        direction(b.ln2_w), s.d_ln2, t.d_ln2, t.d_mid,
                                        ln_grad(b.ln2_w, b.ln2_b));
    add(t_d_out, t.d_mid);
}

// From t.d_mid to t_d_resid[l], as attention_backward() and qkv_backward() go from d_mid.
void model_impl::attention_backward_tangent(std::size_t l) {
    const block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    block_tangent& t = m_tangent[l];
    const bool ln = m_params.layer_norm;
    const qkv_shape shape{m_n, m_n_ctx, m_d, m_hd, s.last_only};
    nn::linear_backward_tangent<float>(s.z, &t.z, value(b.w_o), direction(b.w_o), s.d_mid, t.d_mid,
                                       &t.d_z, grad(b.w_o), nullptr);
    nn::ensure_shape(t.d_qkv, shape.rows(), shape.ld());
    t.d_qkv.fill(0.0f);
    nn::causal_attention_backward_tangent(
        attention_dims(s.last_only), qkv_input(l),
        qkv_view<const float*>(t.qkv.data(), m_hd, m_n_ctx, s.last_only), s.pattern, t.pattern,
        s.d_z, t.d_z, qkv_view<float*>(t.d_qkv.data(), m_hd, m_n_ctx, s.last_only));
    // t_dW = inᵀ·t_dqkv + t_inᵀ·dqkv;  t_d_in = t_dqkv·Wᵀ + dqkv·v_Wᵀ
    const matrix& in = ln ? s.ln1 : pass().resid[l];
    const matrix& t_in = ln ? t.ln1 : m_t_resid[l];
    nn::ensure_shape(t.d_w_qkv, m_d, shape.ld());
    qkv_weight_product(shape, in.data(), t.d_qkv.data(), 0.0f, t.d_w_qkv.data());
    qkv_weight_product(shape, t_in.data(), s.d_qkv.data(), 1.0f, t.d_w_qkv.data());
    split_qkv(t.d_w_qkv.data(), l);
    matrix& t_d_in = ln ? t.d_ln1 : m_t_d_resid[l];
    nn::ensure_shape(t_d_in, shape.rows(), m_d);
    qkv_input_product(shape, t.d_qkv.data(), s.w_qkv.data(), 0.0f, t_d_in.data());
    qkv_input_product(shape, s.d_qkv.data(), t.v_w_qkv.data(), 1.0f, t_d_in.data());
    if (ln)
        nn::layer_norm_backward_tangent(s.ln1_cache, t.ln1_cache, value(b.ln1_w),
                                        direction(b.ln1_w), s.d_ln1, t.d_ln1, m_t_d_resid[l],
                                        ln_grad(b.ln1_w, b.ln1_b));
    add_query_rows(t.d_mid, m_n_ctx, s.last_only, m_t_d_resid[l]);
}

} // namespace transformer
