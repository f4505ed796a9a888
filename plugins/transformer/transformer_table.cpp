// The transformer's block 0 on the token table: its Q, K, V products over the distinct inputs.
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"

#include <grokkit/gemm.hpp>

#include <algorithm>

namespace transformer {

namespace nn = grokkit::nn;
using grokkit::gemm;
using grokkit::transpose;

// Block 0's input at (example i, position t) is E[token] + P[t], one of vocab·n_ctx rows, and its
// layer norm acts row by row, so its q, k and v are rows of that table's product. With fewer
// table rows than batch rows, the (n·n_ctx, d)·(d, 3·hd) product and the two of the backward pass
// shrink to (vocab·n_ctx)-row ones (Nanda's p = 113: 342 rows instead of 11,490); the attention
// reads the table through row maps and sums its gradients there, in cache. The results differ
// from the direct products only in the order of the sums.
bool model_impl::is_table_cheaper() const {
    return m_vocab < m_n;
}

namespace {

// The (vocab·n_ctx, 3·hd) table q | k | v seen through the row maps.
template <class P>
nn::attention_qkv<P> table_view(P base, std::size_t hd, const std::size_t* q_rows,
                                const std::size_t* kv_rows) {
    nn::attention_qkv<P> v;
    v.q = base;
    v.k = base + hd;
    v.v = base + 2 * hd;
    v.ld_q = v.ld_k = v.ld_v = 3 * hd;
    v.q_rows = q_rows;
    v.kv_rows = kv_rows;
    return v;
}

} // namespace

// Queries at the last position only read that position's table rows.
nn::attention_qkv<const float*> model_impl::table_qkv_input() const {
    const std::size_t* q_rows = pass().state[0].last_only ? m_q_row_ids.data() : m_row_ids.data();
    return table_view<const float*>(m_table_qkv.data(), m_hd, q_rows, m_row_ids.data());
}

nn::attention_qkv<float*> model_impl::table_qkv_grad() {
    const std::size_t* q_rows = pass().state[0].last_only ? m_q_row_ids.data() : m_row_ids.data();
    return table_view<float*>(m_d_table_qkv.data(), m_hd, q_rows, m_row_ids.data());
}

void model_impl::table_qkv_forward() {
    block_state& s = pass().state[0];
    const block_params& b = m_blocks[0];
    const std::size_t n_rows = m_vocab * m_n_ctx;
    const std::size_t ld = 3 * m_hd;
    // table (vocab·n_ctx, d): row token·n_ctx + t = E[token] + P[t]
    nn::ensure_shape(m_table, n_rows, m_d);
    const float* e = value(m_embed);
    const float* p = value(m_pos_embed);
    for (std::size_t row = 0; row < n_rows; ++row) {
        const float* e_row = e + (row / m_n_ctx) * m_d;
        const float* p_row = p + (row % m_n_ctx) * m_d;
        float* dst = m_table.data() + row * m_d;
        for (std::size_t j = 0; j < m_d; ++j) {
            dst[j] = e_row[j] + p_row[j];
        }
    }
    const matrix* in = &m_table;
    if (m_params.layer_norm) {
        nn::layer_norm_forward(m_table, ln_value(b.ln1_w, b.ln1_b), m_table_ln, m_table_ln_cache);
        in = &m_table_ln;
    }
    fuse_qkv_weights(0);
    nn::ensure_shape(m_table_qkv, n_rows, ld);
    gemm(transpose::no, transpose::no, n_rows, ld, m_d, 1.0f, in->data(), m_d, s.w_qkv.data(), ld,
         0.0f, m_table_qkv.data(), ld);

    // Row maps for the attention: example i, position t reads table row token·n_ctx + t.
    const std::size_t rows = m_n * m_n_ctx;
    m_row_ids.resize(rows);
    m_q_row_ids.resize(m_n);
    for (std::size_t r = 0; r < rows; ++r) {
        m_row_ids[r] = static_cast<std::size_t>(m_tokens[r]) * m_n_ctx + r % m_n_ctx;
    }
    for (std::size_t i = 0; i < m_n; ++i) {
        m_q_row_ids[i] = m_row_ids[(i + 1) * m_n_ctx - 1];
    }
}

// From block 0's table gradient d_table_qkv (summed by the attention over the rows sharing each
// table row) and d_mid to the W_Q, W_K, W_V (and ln1) gradients and the embedding gradients.
void model_impl::table_qkv_backward() {
    block_state& s = pass().state[0];
    const block_params& b = m_blocks[0];
    const bool ln = m_params.layer_norm;
    const std::size_t n_rows = m_vocab * m_n_ctx;
    const std::size_t ld = 3 * m_hd;
    // dW_QKV (d, 3·hd) = tableᵀ · d_table_qkv;  d_in (vocab·n_ctx, d) = d_table_qkv · W_QKVᵀ
    const matrix& in = ln ? m_table_ln : m_table;
    matrix& d_in = ln ? m_d_table_ln : m_d_table;
    nn::ensure_shape(s.d_w_qkv, m_d, ld);
    nn::ensure_shape(d_in, n_rows, m_d);
    gemm(transpose::yes, transpose::no, m_d, ld, n_rows, 1.0f, in.data(), m_d, m_d_table_qkv.data(),
         ld, 0.0f, s.d_w_qkv.data(), ld);
    gemm(transpose::no, transpose::yes, n_rows, m_d, ld, 1.0f, m_d_table_qkv.data(), ld,
         s.w_qkv.data(), ld, 0.0f, d_in.data(), m_d);
    split_qkv_grads(0);
    if (ln) {
        nn::layer_norm_backward(m_table_ln_cache, value(b.ln1_w), m_d_table_ln, m_d_table,
                                ln_grad(b.ln1_w, b.ln1_b));
    }
    table_input_backward();
}

// Adds the residual path's gradient (block 0's d_mid, on the query rows) to the table's, then
// hands the table's gradient on to the embeddings.
void model_impl::table_input_backward() {
    const block_state& s = pass().state[0];
    // The residual connection around attention, from the query rows.
    for (std::size_t q = 0; q < s.d_mid.shape(0); ++q) {
        const std::size_t r = s.last_only ? (q + 1) * m_n_ctx - 1 : q;
        const float* src = s.d_mid.data() + q * m_d;
        float* dst = m_d_table.data() + m_row_ids[r] * m_d;
        for (std::size_t j = 0; j < m_d; ++j) {
            dst[j] += src[j];
        }
    }
    // E[token] and P[t] each feed every table row holding them.
    float* de = grad(m_embed);
    float* dp = grad(m_pos_embed);
    std::fill(de, de + m_vocab * m_d, 0.0f);
    std::fill(dp, dp + m_n_ctx * m_d, 0.0f);
    for (std::size_t row = 0; row < m_vocab * m_n_ctx; ++row) {
        const float* src = m_d_table.data() + row * m_d;
        float* de_row = de + (row / m_n_ctx) * m_d;
        float* dp_row = dp + (row % m_n_ctx) * m_d;
        for (std::size_t j = 0; j < m_d; ++j) {
            de_row[j] += src[j];
            dp_row[j] += src[j];
        }
    }
}

} // namespace transformer
