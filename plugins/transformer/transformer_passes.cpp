// The transformer model's forward and backward passes; every product goes through grokkit::gemm.
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"
#include "transformer_rows.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/loss.hpp>

#include <algorithm>

namespace transformer {

namespace nn = grokkit::nn;
using grokkit::gemm;
using grokkit::transpose;

nn::gain_bias<const float> model_impl::ln_value(std::size_t w, std::size_t b) {
    return {value(w), value(b)};
}

nn::gain_bias<float> model_impl::ln_grad(std::size_t w, std::size_t b) {
    return {grad(w), grad(b)};
}

nn::attention_dims model_impl::attention_dims(bool last_only) const {
    nn::attention_dims dims;
    dims.n = m_n;
    dims.n_ctx = m_n_ctx;
    dims.n_heads = static_cast<std::size_t>(m_params.n_heads);
    dims.d_head = static_cast<std::size_t>(m_params.d_head);
    dims.last_query_only = last_only;
    return dims;
}

void model_impl::copy_tokens(const grokkit::batch& x, const char* where) {
    if (x.tokens == nullptr && x.n > 0) {
        throw grokkit::error(where, "batch has no tokens", "token inputs");
    }
    m_n = x.n;
    select_pass(m_n);
    m_tokens.assign(x.tokens, x.tokens + m_n_ctx * x.n); // keeps its capacity: no allocation
    for (std::size_t k = 0; k < m_tokens.size(); ++k) {
        const std::int32_t id = m_tokens[k];
        if (id < 0 || static_cast<std::size_t>(id) >= m_vocab) {
            throw grokkit::error(where,
                                 "token " + std::to_string(id) + " of example " +
                                     std::to_string(k / m_n_ctx) + " is outside the vocabulary",
                                 "0 <= token < " + std::to_string(m_vocab));
        }
    }
}

// Keeps the current set for the same batch size, else takes the other set: a training batch and
// a test set that alternate each find their buffers shaped already.
void model_impl::select_pass(std::size_t n) {
    if (m_passes[m_current].n != n) {
        m_current = 1 - m_current;
        m_passes[m_current].n = n;
    }
}

void model_impl::forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) {
    if (!m_is_built) {
        throw grokkit::error("transformer.forward", "the model is not built", "build() first");
    }
    m_has_training_pass = false;
    m_backward_is_direct = false;
    copy_tokens(x, "transformer.forward");
    run_forward(true, logits);
    m_has_training_pass = true;
}

void model_impl::run_forward(bool last_only, matrix& logits) {
    const std::size_t rows = m_n * m_n_ctx;
    // x (n·n_ctx, d) = W_E[tokens] + W_pos[position]
    nn::embedding_forward(m_tokens.data(), 1, value(m_embed), m_d, rows, pass().resid[0]);
    nn::position_embedding_forward(value(m_pos_embed), m_n_ctx, pass().resid[0]);
    m_use_table = !m_rows_only && is_table_cheaper();
    for (std::size_t l = 0; l < m_blocks.size(); ++l) {
        block_forward(l, last_only && l + 1 == m_blocks.size());
    }
    unembed_forward(logits);
}

void model_impl::block_forward(std::size_t l, bool last_only) {
    pass().state[l].last_only = last_only;
    if (l == 0 && m_use_table) {
        table_qkv_forward();
    } else {
        qkv_forward(l);
    }
    attention_forward(l);
    mlp_forward(l);
}

// One fused (d, 3·hd) weight W_Q | W_K | W_V: a single product gives q, k and v side by side.
void model_impl::fuse_qkv_weights(std::size_t l) {
    block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    const std::size_t ld = 3 * m_hd;
    nn::ensure_shape(s.w_qkv, m_d, ld);
    const float* wq = value(b.w_q);
    const float* wk = value(b.w_k);
    const float* wv = value(b.w_v);
    for (std::size_t r = 0; r < m_d; ++r) {
        float* dst = s.w_qkv.data() + r * ld;
        std::copy(wq + r * m_hd, wq + (r + 1) * m_hd, dst);
        std::copy(wk + r * m_hd, wk + (r + 1) * m_hd, dst + m_hd);
        std::copy(wv + r * m_hd, wv + (r + 1) * m_hd, dst + 2 * m_hd);
    }
}

void model_impl::qkv_forward(std::size_t l) {
    block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    const matrix* in = &pass().resid[l];
    if (m_params.layer_norm) {
        nn::layer_norm_forward(pass().resid[l], ln_value(b.ln1_w, b.ln1_b), s.ln1, s.ln1_cache);
        in = &s.ln1;
    }
    fuse_qkv_weights(l);
    const std::size_t rows = m_n * m_n_ctx;
    const std::size_t ld = 3 * m_hd;
    nn::ensure_shape(s.qkv, rows, ld);
    const float* x = in->data();
    const float* w = s.w_qkv.data();
    float* qkv = s.qkv.data();
    if (!s.last_only) {
        // qkv (n·n_ctx, 3·hd) = in (n·n_ctx, d) · W_QKV (d, 3·hd)
        gemm(transpose::no, transpose::no, rows, ld, m_d, 1.0f, x, m_d, w, ld, 0.0f, qkv, ld);
        return;
    }
    // Keys and values at every position; queries only at the last: rows i·n_ctx + n_ctx − 1.
    const std::size_t last = m_n_ctx - 1;
    gemm(transpose::no, transpose::no, rows, 2 * m_hd, m_d, 1.0f, x, m_d, w + m_hd, ld, 0.0f,
         qkv + m_hd, ld);
    gemm(transpose::no, transpose::no, m_n, m_hd, m_d, 1.0f, x + last * m_d, m_n_ctx * m_d, w, ld,
         0.0f, qkv + last * ld, m_n_ctx * ld);
}

nn::attention_qkv<const float*> model_impl::qkv_input(std::size_t l) const {
    if (l == 0 && m_use_table) {
        return table_qkv_input();
    }
    return qkv_view<const float*>(pass().state[l].qkv.data(), m_hd, m_n_ctx,
                                  pass().state[l].last_only);
}

void model_impl::attention_forward(std::size_t l) {
    block_state& s = pass().state[l];
    nn::causal_attention_forward(attention_dims(s.last_only), qkv_input(l), s.pattern, s.z);
    // mid (n·n_q, d) = x on the query rows + z (n·n_q, hd) · W_O (hd, d)
    copy_query_rows(pass().resid[l], m_n_ctx, s.last_only, s.mid);
    gemm(transpose::no, transpose::no, s.mid.shape(0), m_d, m_hd, 1.0f, s.z.data(), m_hd,
         value(m_blocks[l].w_o), m_d, 1.0f, s.mid.data(), m_d);
}

void model_impl::mlp_forward(std::size_t l) {
    block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    const std::size_t rows = s.mid.shape(0);
    const matrix* in = &s.mid;
    if (m_params.layer_norm) {
        nn::layer_norm_forward(s.mid, ln_value(b.ln2_w, b.ln2_b), s.ln2, s.ln2_cache);
        in = &s.ln2;
    }
    nn::linear_forward(*in, value(b.w_in), m_d_mlp, value(b.b_in), s.mlp_pre);
    nn::activation_forward(m_f, s.mlp_pre, s.mlp_post);
    // out (n·n_q, d) = mid + b_out + mlp_post (n·n_q, d_mlp) · W_out (d_mlp, d)
    matrix& out = pass().resid[l + 1];
    nn::ensure_shape(out, rows, m_d);
    const float* bias = value(b.b_out);
    for (std::size_t r = 0; r < rows; ++r) {
        const float* mid = s.mid.data() + r * m_d;
        float* o = out.data() + r * m_d;
        for (std::size_t j = 0; j < m_d; ++j) {
            o[j] = mid[j] + bias[j];
        }
    }
    gemm(transpose::no, transpose::no, rows, m_d, m_d_mlp, 1.0f, s.mlp_post.data(), m_d_mlp,
         value(b.w_out), m_d, 1.0f, out.data(), m_d);
}

void model_impl::unembed_forward(matrix& logits) {
    const matrix* in = &pass().resid.back();
    if (m_params.layer_norm) {
        nn::layer_norm_forward(pass().resid.back(), ln_value(m_ln_final_w, m_ln_final_b),
                               pass().ln_final, pass().ln_final_cache);
        in = &pass().ln_final;
    }
    nn::linear_forward<float>(*in, value(m_unembed), m_n_classes, nullptr, logits);
}

void model_impl::check_dlogits(const matrix& dlogits, const char* where) const {
    if (!m_is_built || !m_has_training_pass) {
        throw grokkit::error(where,
                             "no forward() pass to differentiate (none yet, or "
                             "representation() ran since)",
                             "forward() first");
    }
    if (dlogits.shape(0) != m_n || dlogits.shape(1) != m_n_classes) {
        throw grokkit::error(
            where, "dlogits shape " + grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)),
            grokkit::shape_text(m_n, m_n_classes) + " from the last forward()");
    }
}

void model_impl::backward(const xt::xtensor<float, 2>& dlogits) {
    check_dlogits(dlogits, "transformer.backward");
    if (m_n == 0) {
        zero_gradients();
        return;
    }
    unembed_backward(dlogits);
    for (std::size_t l = m_blocks.size(); l-- > 0;) {
        block_backward(l);
    }
    if (!m_use_table) {
        embed_backward(); // the table path has filled the embedding gradients already
    }
    m_backward_is_direct = !m_use_table;
}

std::vector<grokkit::linear_site> model_impl::linear_sites() const {
    std::vector<grokkit::linear_site> sites;
    const auto at = [](std::size_t i) { return static_cast<std::ptrdiff_t>(i); };
    for (std::size_t l = 0; l < m_blocks.size(); ++l) {
        const block_params& b = m_blocks[l];
        const std::string block = "block" + std::to_string(l) + ".";
        sites.push_back({block + "attn_out", b.w_o, -1});
        sites.push_back({block + "mlp_in", b.w_in, at(b.b_in)});
        sites.push_back({block + "mlp_out", b.w_out, at(b.b_out)});
    }
    sites.push_back({"unembed", m_unembed, -1});
    return sites;
}

// After backward() each block's state holds its sites' inputs and output gradients: W_O maps z
// to the attention output, whose gradient is d_mid (the residual after attention); W_in maps
// LN2(mid) to mlp_pre; W_out maps mlp_post to the block's output, whose gradient is d_resid.
void model_impl::linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                                  xt::xtensor<float, 2>& inputs,
                                  xt::xtensor<float, 2>& output_grads) {
    check_dlogits(dlogits, "transformer.linear_site_rows");
    const std::size_t n_sites = 3 * m_blocks.size() + 1;
    if (index >= n_sites)
        throw grokkit::error("transformer.linear_site_rows", "site " + std::to_string(index),
                             "one of the " + std::to_string(n_sites) + " sites");
    const bool ln = m_params.layer_norm;
    if (index + 1 == n_sites) {
        inputs = ln ? pass().ln_final : pass().resid.back();
        output_grads = dlogits;
        return;
    }
    const std::size_t l = index / 3;
    const block_state& s = pass().state[l];
    switch (index % 3) {
    case 0:
        inputs = s.z;
        output_grads = s.d_mid;
        return;
    case 1:
        inputs = ln ? s.ln2 : s.mid;
        output_grads = s.d_mlp_pre;
        return;
    default:
        inputs = s.mlp_post;
        output_grads = pass().d_resid[l + 1];
        return;
    }
}

void model_impl::zero_gradients() {
    for (grokkit::parameter& p : m_tensors) {
        p.grad.fill(0.0f);
    }
}

void model_impl::unembed_backward(const matrix& dlogits) {
    const bool ln = m_params.layer_norm;
    const matrix& in = ln ? pass().ln_final : pass().resid.back();
    matrix& d_in = ln ? pass().d_ln_final : pass().d_resid.back();
    nn::linear_backward<float>(in, value(m_unembed), dlogits, &d_in, grad(m_unembed), nullptr);
    if (ln) {
        nn::layer_norm_backward(pass().ln_final_cache, value(m_ln_final_w), pass().d_ln_final,
                                pass().d_resid.back(), ln_grad(m_ln_final_w, m_ln_final_b));
    }
}

void model_impl::block_backward(std::size_t l) {
    mlp_backward(l);
    attention_backward(l, false);
    if (l == 0 && m_use_table) {
        table_qkv_backward();
    } else {
        qkv_backward(l);
    }
}

// From the block output's gradient pass().d_resid[l + 1] to d_mid, the gradient of the residual
// after attention (the MLP branch plus the identity).
void model_impl::mlp_backward(std::size_t l) {
    block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    const bool ln = m_params.layer_norm;
    const matrix& d_out = pass().d_resid[l + 1];
    nn::linear_backward(s.mlp_post, value(b.w_out), d_out, &s.d_mlp_post, grad(b.w_out),
                        grad(b.b_out));
    nn::activation_backward(m_f, s.mlp_pre, s.d_mlp_post, s.d_mlp_pre);
    const matrix& in = ln ? s.ln2 : s.mid;
    matrix& d_in = ln ? s.d_ln2 : s.d_mid;
    nn::linear_backward(in, value(b.w_in), s.d_mlp_pre, &d_in, grad(b.w_in), grad(b.b_in));
    if (ln) {
        nn::layer_norm_backward(s.ln2_cache, value(b.ln2_w), s.d_ln2, s.d_mid,
                                ln_grad(b.ln2_w, b.ln2_b));
    }
    float* dm = s.d_mid.data();
    const float* dout = d_out.data();
    for (std::size_t k = 0; k < s.d_mid.size(); ++k) {
        dm[k] += dout[k];
    }
}

// From d_mid to d_qkv; fills the W_O gradient. Block 0 on the token table sums the gradients of
// rows sharing a table row there (m_d_table_qkv), unless `per_row` asks for each row's own in
// d_qkv (reading q, k, v from the table all the same).
void model_impl::attention_backward(std::size_t l, bool per_row) {
    block_state& s = pass().state[l];
    nn::linear_backward<float>(s.z, value(m_blocks[l].w_o), s.d_mid, &s.d_z, grad(m_blocks[l].w_o),
                               nullptr);
    const bool on_table = l == 0 && m_use_table && !per_row;
    if (on_table) {
        nn::ensure_shape(m_d_table_qkv, m_vocab * m_n_ctx, 3 * m_hd);
        m_d_table_qkv.fill(0.0f);
    } else {
        nn::ensure_shape(s.d_qkv, m_n * m_n_ctx, 3 * m_hd);
    }
    const nn::attention_qkv<float*> grad =
        on_table ? table_qkv_grad() : qkv_view<float*>(s.d_qkv.data(), m_hd, m_n_ctx, s.last_only);
    nn::causal_attention_backward(attention_dims(s.last_only), qkv_input(l), s.pattern, s.d_z,
                                  grad);
}

// From d_qkv and d_mid to pass().d_resid[l], the gradient of the block's input; fills the W_Q, W_K,
// W_V (and ln1) gradients.
void model_impl::qkv_backward(std::size_t l) {
    block_state& s = pass().state[l];
    const block_params& b = m_blocks[l];
    const bool ln = m_params.layer_norm;
    const matrix& in = ln ? s.ln1 : pass().resid[l];
    matrix& d_in = ln ? s.d_ln1 : pass().d_resid[l];
    const std::size_t rows = m_n * m_n_ctx;
    const std::size_t ld = 3 * m_hd;
    nn::ensure_shape(s.d_w_qkv, m_d, ld);
    nn::ensure_shape(d_in, rows, m_d);
    const float* x = in.data();
    const float* dqkv = s.d_qkv.data();
    const float* w = s.w_qkv.data();
    float* dw = s.d_w_qkv.data();
    if (!s.last_only) {
        // dW_QKV (d, 3·hd) = inᵀ · dqkv;  d_in (n·n_ctx, d) = dqkv · W_QKVᵀ
        gemm(transpose::yes, transpose::no, m_d, ld, rows, 1.0f, x, m_d, dqkv, ld, 0.0f, dw, ld);
        gemm(transpose::no, transpose::yes, rows, m_d, ld, 1.0f, dqkv, ld, w, ld, 0.0f, d_in.data(),
             m_d);
    } else {
        // Keys and values from every row, queries from the last row of each example only.
        const std::size_t last = m_n_ctx - 1;
        gemm(transpose::yes, transpose::no, m_d, 2 * m_hd, rows, 1.0f, x, m_d, dqkv + m_hd, ld,
             0.0f, dw + m_hd, ld);
        gemm(transpose::yes, transpose::no, m_d, m_hd, m_n, 1.0f, x + last * m_d, m_n_ctx * m_d,
             dqkv + last * ld, m_n_ctx * ld, 0.0f, dw, ld);
        gemm(transpose::no, transpose::yes, rows, m_d, 2 * m_hd, 1.0f, dqkv + m_hd, ld, w + m_hd,
             ld, 0.0f, d_in.data(), m_d);
        gemm(transpose::no, transpose::yes, m_n, m_d, m_hd, 1.0f, dqkv + last * ld, m_n_ctx * ld, w,
             ld, 1.0f, d_in.data() + last * m_d, m_n_ctx * m_d);
    }
    split_qkv_grads(l);
    if (ln) {
        nn::layer_norm_backward(s.ln1_cache, value(b.ln1_w), s.d_ln1, pass().d_resid[l],
                                ln_grad(b.ln1_w, b.ln1_b));
    }
    // The residual connection around attention.
    add_query_rows(s.d_mid, m_n_ctx, s.last_only, pass().d_resid[l]);
}

// The fused gradient d_w_qkv (d, 3·hd) into the W_Q, W_K and W_V gradients.
void model_impl::split_qkv_grads(std::size_t l) {
    split_qkv(pass().state[l].d_w_qkv.data(), l);
}

void model_impl::split_qkv(const float* dw, std::size_t l) {
    const block_params& b = m_blocks[l];
    const std::size_t ld = 3 * m_hd;
    float* gq = grad(b.w_q);
    float* gk = grad(b.w_k);
    float* gv = grad(b.w_v);
    for (std::size_t r = 0; r < m_d; ++r) {
        const float* src = dw + r * ld;
        std::copy(src, src + m_hd, gq + r * m_hd);
        std::copy(src + m_hd, src + 2 * m_hd, gk + r * m_hd);
        std::copy(src + 2 * m_hd, src + 3 * m_hd, gv + r * m_hd);
    }
}

void model_impl::embed_backward() {
    // The embedding gradient is a sum over every (example, position) using a token: zero, then add.
    m_tensors[m_embed].grad.fill(0.0f);
    nn::embedding_backward(m_tokens.data(), 1, pass().d_resid[0], grad(m_embed));
    nn::position_embedding_backward(pass().d_resid[0], m_n_ctx, grad(m_pos_embed));
}

// Per-example gradients. Every delta of backward() is per row (example, position) before it is
// summed into a parameter gradient, so one batched backward pass that keeps them all gives each
// example's gradient as sums over its own rows.

void model_impl::example_gradients(const xt::xtensor<float, 2>& dlogits,
                                   xt::xtensor<float, 2>& out) {
    check_dlogits(dlogits, "transformer.example_gradients");
    if (m_n == 0) {
        zero_gradients();
        nn::ensure_shape(out, 0, grokkit::parameter_count(*this));
        return;
    }
    rows_backward(dlogits);
    example_rows(dlogits, out);
}

// backward() with block 0's deltas per row on the token table too: d_qkv, d_ln1 and d_resid[0]
// then hold every row's own gradient on both paths (and the grads are backward()'s).
void model_impl::rows_backward(const matrix& dlogits) {
    unembed_backward(dlogits);
    for (std::size_t l = m_blocks.size(); l-- > 0;) {
        mlp_backward(l);
        attention_backward(l, true);
        if (l == 0 && m_use_table && m_params.layer_norm) {
            // The table path normalised the table's rows only; qkv_backward() reads each row's.
            const block_params& b = m_blocks[0];
            block_state& s = pass().state[0];
            nn::layer_norm_forward(pass().resid[0], ln_value(b.ln1_w, b.ln1_b), s.ln1, s.ln1_cache);
        }
        qkv_backward(l); // block 0's input rows pass().resid[0] equal the table's rows
    }
    embed_backward();
}

namespace {

// out (a, b) = Σ_r x_r ⊗ dy_r over `rows` rows of x (·, a) and dy (·, b), row strides ld_x, ld_dy.
void outer_sum(std::size_t rows, std::size_t a, std::size_t b, const float* x, std::size_t ld_x,
               const float* dy, std::size_t ld_dy, float* out) {
    gemm(transpose::yes, transpose::no, a, b, rows, 1.0f, x, ld_x, dy, ld_dy, 0.0f, out, b);
}

// out (b) = Σ_r dy_r over `rows` contiguous rows of dy (·, b).
void row_sum(std::size_t rows, std::size_t b, const float* dy, float* out) {
    std::fill(out, out + b, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < b; ++j) {
            out[j] += dy[r * b + j];
        }
    }
}

// A layer norm's gain (d) = Σ_r x_hat_r ⊙ dy_r and bias (d) = Σ_r dy_r over `rows` rows.
void layer_norm_sum(std::size_t rows, std::size_t d, const float* x_hat, const float* dy,
                    float* gain, float* bias) {
    std::fill(gain, gain + d, 0.0f);
    std::fill(bias, bias + d, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < d; ++j) {
            gain[j] += x_hat[r * d + j] * dy[r * d + j];
            bias[j] += dy[r * d + j];
        }
    }
}

} // namespace

// Row i of `out` from the deltas of rows_backward(): a weight's block is Σ_t x_t ⊗ δ_t over
// example i's rows t (its n_ctx positions, or its last one where only that is computed), a
// bias's Σ_t δ_t, a layer norm's Σ_t x_hat_t ⊙ δ_t and Σ_t δ_t; the embeddings scatter d_resid[0].
void model_impl::example_rows(const matrix& dlogits, matrix& out) const {
    std::vector<std::size_t> at(m_tensors.size()); // each tensor's offset in a row
    std::size_t p = 0;
    for (std::size_t k = 0; k < m_tensors.size(); ++k) {
        at[k] = p;
        p += m_tensors[k].value.size();
    }
    nn::ensure_shape(out, m_n, p); // every block below is written, the embedding's after a fill
    const bool ln = m_params.layer_norm;
    const std::size_t n_ctx = m_n_ctx;
    const std::size_t d = m_d;
    const std::size_t ld = 3 * m_hd;
    const pass_buffers& ps = pass();
    for (std::size_t i = 0; i < m_n; ++i) {
        float* row = out.data() + i * p;
        // x_t = W_E[token_t] + W_pos[t]: example i's d_resid[0] rows, by token and by position.
        const float* d_embed = ps.d_resid[0].data() + i * n_ctx * d;
        std::fill(row + at[m_embed], row + at[m_embed] + m_vocab * d, 0.0f);
        for (std::size_t t = 0; t < n_ctx; ++t) {
            const auto token = static_cast<std::size_t>(m_tokens[i * n_ctx + t]);
            const float* src = d_embed + t * d;
            float* de = row + at[m_embed] + token * d;
            for (std::size_t j = 0; j < d; ++j) {
                de[j] += src[j];
            }
            std::copy(src, src + d, row + at[m_pos_embed] + t * d);
        }
        for (std::size_t l = 0; l < m_blocks.size(); ++l) {
            const block_state& s = ps.state[l];
            const block_params& b = m_blocks[l];
            // Q, K, V: every position's keys and values, queries at positions q0 .. n_ctx − 1.
            const std::size_t n_q = s.last_only ? 1 : n_ctx;
            const std::size_t q0 = n_ctx - n_q;
            const float* x1 = (ln ? s.ln1 : ps.resid[l]).data() + i * n_ctx * d;
            const float* dqkv = s.d_qkv.data() + i * n_ctx * ld;
            if (ln) {
                layer_norm_sum(n_ctx, d, s.ln1_cache.x_hat.data() + i * n_ctx * d,
                               s.d_ln1.data() + i * n_ctx * d, row + at[b.ln1_w],
                               row + at[b.ln1_b]);
            }
            outer_sum(n_q, d, m_hd, x1 + q0 * d, d, dqkv + q0 * ld, ld, row + at[b.w_q]);
            outer_sum(n_ctx, d, m_hd, x1, d, dqkv + m_hd, ld, row + at[b.w_k]);
            outer_sum(n_ctx, d, m_hd, x1, d, dqkv + 2 * m_hd, ld, row + at[b.w_v]);
            // W_O and the MLP act on the query rows only: example i's are r0 .. r0 + n_q − 1.
            const std::size_t r0 = i * n_q;
            outer_sum(n_q, m_hd, d, s.z.data() + r0 * m_hd, m_hd, s.d_mid.data() + r0 * d, d,
                      row + at[b.w_o]);
            if (ln) {
                layer_norm_sum(n_q, d, s.ln2_cache.x_hat.data() + r0 * d, s.d_ln2.data() + r0 * d,
                               row + at[b.ln2_w], row + at[b.ln2_b]);
            }
            const float* x2 = (ln ? s.ln2 : s.mid).data() + r0 * d;
            const float* d_pre = s.d_mlp_pre.data() + r0 * m_d_mlp;
            outer_sum(n_q, d, m_d_mlp, x2, d, d_pre, m_d_mlp, row + at[b.w_in]);
            row_sum(n_q, m_d_mlp, d_pre, row + at[b.b_in]);
            const float* d_out = ps.d_resid[l + 1].data() + r0 * d;
            outer_sum(n_q, m_d_mlp, d, s.mlp_post.data() + r0 * m_d_mlp, m_d_mlp, d_out, d,
                      row + at[b.w_out]);
            row_sum(n_q, d, d_out, row + at[b.b_out]);
        }
        // The unembedding reads one row per example.
        if (ln) {
            layer_norm_sum(1, d, ps.ln_final_cache.x_hat.data() + i * d,
                           ps.d_ln_final.data() + i * d, row + at[m_ln_final_w],
                           row + at[m_ln_final_b]);
        }
        const float* x_final = (ln ? ps.ln_final : ps.resid.back()).data() + i * d;
        outer_sum(1, d, m_n_classes, x_final, d, dlogits.data() + i * m_n_classes, m_n_classes,
                  row + at[m_unembed]);
    }
}

} // namespace transformer
