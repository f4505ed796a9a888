// Transformer layers: layer norm, positional embedding, causal multi-head self-attention.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/nn.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace grokkit::nn {

template <class T>
void layer_norm_forward(const matrix<T>& x, gain_bias<const T> w, matrix<T>& y,
                        layer_norm_cache<T>& cache) {
    const std::size_t rows = x.shape(0);
    const std::size_t d = x.shape(1);
    ensure_shape(y, rows, d);
    ensure_shape(cache.x_hat, rows, d);
    ensure_shape(cache.rstd, rows, 1);
    const T inv_d = T(1) / static_cast<T>(d);
    for (std::size_t r = 0; r < rows; ++r) {
        const T* xr = x.data() + r * d;
        T* hr = cache.x_hat.data() + r * d;
        T* yr = y.data() + r * d;
        T mean = T(0);
        for (std::size_t j = 0; j < d; ++j) {
            mean += xr[j];
        }
        mean *= inv_d;
        // Two passes (mean, then squared deviations): no cancellation for rows far from 0.
        T var = T(0);
        for (std::size_t j = 0; j < d; ++j) {
            hr[j] = xr[j] - mean;
            var += hr[j] * hr[j];
        }
        const T rstd = T(1) / std::sqrt(var * inv_d + T(layer_norm_eps));
        cache.rstd.data()[r] = rstd;
        for (std::size_t j = 0; j < d; ++j) {
            hr[j] *= rstd;
            yr[j] = hr[j] * w.gain[j] + w.bias[j];
        }
    }
}

// With g = dy ⊙ gain: dx = rstd · (g − mean(g) − x_hat · mean(g ⊙ x_hat)), the derivative of
// x_hat = (x − mean) · rstd through both the mean and the variance.
template <class T>
void layer_norm_backward(const layer_norm_cache<T>& cache, const T* gain, const matrix<T>& dy,
                         matrix<T>& dx, gain_bias<T> dw) {
    const std::size_t rows = dy.shape(0);
    const std::size_t d = dy.shape(1);
    ensure_shape(dx, rows, d);
    std::fill(dw.gain, dw.gain + d, T(0));
    std::fill(dw.bias, dw.bias + d, T(0));
    const T inv_d = T(1) / static_cast<T>(d);
    for (std::size_t r = 0; r < rows; ++r) {
        const T* hr = cache.x_hat.data() + r * d;
        const T* gr = dy.data() + r * d;
        T* dxr = dx.data() + r * d;
        T mean_g = T(0);
        T mean_gh = T(0);
        for (std::size_t j = 0; j < d; ++j) {
            const T g = gr[j] * gain[j];
            mean_g += g;
            mean_gh += g * hr[j];
            dw.gain[j] += gr[j] * hr[j];
            dw.bias[j] += gr[j];
        }
        mean_g *= inv_d;
        mean_gh *= inv_d;
        const T rstd = cache.rstd.data()[r];
        for (std::size_t j = 0; j < d; ++j) {
            dxr[j] = rstd * (gr[j] * gain[j] - mean_g - hr[j] * mean_gh);
        }
    }
}

template <class T>
void layer_norm_forward_tangent(const layer_norm_cache<T>& cache, const matrix<T>& t_x,
                                gain_bias<const T> w, gain_bias<const T> v, matrix<T>& t_y,
                                layer_norm_tangent_cache<T>& tangent) {
    const std::size_t rows = t_x.shape(0);
    const std::size_t d = t_x.shape(1);
    ensure_shape(t_y, rows, d);
    ensure_shape(tangent.t_x_hat, rows, d);
    ensure_shape(tangent.t_rstd, rows, 1);
    const T inv_d = T(1) / static_cast<T>(d);
    for (std::size_t r = 0; r < rows; ++r) {
        const T* hr = cache.x_hat.data() + r * d;
        const T* tr = t_x.data() + r * d;
        T* thr = tangent.t_x_hat.data() + r * d;
        T* tyr = t_y.data() + r * d;
        T mean_t = T(0);
        T mean_ht = T(0);
        for (std::size_t j = 0; j < d; ++j) {
            mean_t += tr[j];
            mean_ht += hr[j] * tr[j];
        }
        mean_t *= inv_d;
        mean_ht *= inv_d;
        // x -> x_hat has the symmetric Jacobian rstd (I − 11ᵀ/d − x_hat x_hatᵀ/d); rstd moves by
        // −rstd² mean(x_hat ⊙ t_x).
        const T rstd = cache.rstd.data()[r];
        tangent.t_rstd.data()[r] = -rstd * rstd * mean_ht;
        for (std::size_t j = 0; j < d; ++j) {
            thr[j] = rstd * (tr[j] - mean_t - hr[j] * mean_ht);
            tyr[j] = thr[j] * w.gain[j] + hr[j] * v.gain[j] + v.bias[j];
        }
    }
}

// The tangent of dx = rstd (g − mean(g) − x_hat mean(g ⊙ x_hat)), g = dy ⊙ gain, term by term.
template <class T>
void layer_norm_backward_tangent(const layer_norm_cache<T>& cache,
                                 const layer_norm_tangent_cache<T>& tangent, const T* gain,
                                 const T* v_gain, const matrix<T>& dy, const matrix<T>& t_dy,
                                 matrix<T>& t_dx, gain_bias<T> t_dw) {
    const std::size_t rows = dy.shape(0);
    const std::size_t d = dy.shape(1);
    ensure_shape(t_dx, rows, d);
    std::fill(t_dw.gain, t_dw.gain + d, T(0));
    std::fill(t_dw.bias, t_dw.bias + d, T(0));
    const T inv_d = T(1) / static_cast<T>(d);
    for (std::size_t r = 0; r < rows; ++r) {
        const T* hr = cache.x_hat.data() + r * d;
        const T* thr = tangent.t_x_hat.data() + r * d;
        const T* gr = dy.data() + r * d;
        const T* tgr = t_dy.data() + r * d;
        T* out = t_dx.data() + r * d;
        T mean_g = T(0), mean_gh = T(0), mean_tg = T(0), mean_tgh = T(0);
        for (std::size_t j = 0; j < d; ++j) {
            const T g = gr[j] * gain[j];
            const T tg = tgr[j] * gain[j] + gr[j] * v_gain[j];
            mean_g += g;
            mean_gh += g * hr[j];
            mean_tg += tg;
            mean_tgh += tg * hr[j] + g * thr[j];
            t_dw.gain[j] += tgr[j] * hr[j] + gr[j] * thr[j];
            t_dw.bias[j] += tgr[j];
        }
        mean_g *= inv_d;
        mean_gh *= inv_d;
        mean_tg *= inv_d;
        mean_tgh *= inv_d;
        const T rstd = cache.rstd.data()[r];
        const T t_rstd = tangent.t_rstd.data()[r];
        for (std::size_t j = 0; j < d; ++j) {
            const T g = gr[j] * gain[j];
            const T tg = tgr[j] * gain[j] + gr[j] * v_gain[j];
            out[j] = t_rstd * (g - mean_g - hr[j] * mean_gh) +
                     rstd * (tg - mean_tg - thr[j] * mean_gh - hr[j] * mean_tgh);
        }
    }
}

template <class T> void position_embedding_forward(const T* pos, std::size_t n_ctx, matrix<T>& x) {
    const std::size_t rows = x.shape(0);
    const std::size_t d = x.shape(1);
    T* xp = x.data();
    for (std::size_t r = 0; r < rows; ++r) {
        const T* p = pos + (r % n_ctx) * d;
        for (std::size_t j = 0; j < d; ++j) {
            xp[r * d + j] += p[j];
        }
    }
}

template <class T>
void position_embedding_backward(const matrix<T>& dx, std::size_t n_ctx, T* dpos) {
    const std::size_t rows = dx.shape(0);
    const std::size_t d = dx.shape(1);
    std::fill(dpos, dpos + n_ctx * d, T(0));
    const T* dp = dx.data();
    for (std::size_t r = 0; r < rows; ++r) {
        T* p = dpos + (r % n_ctx) * d;
        for (std::size_t j = 0; j < d; ++j) {
            p[j] += dp[r * d + j];
        }
    }
}

namespace {

// Σ a·b over n values with 8 independent partial sums: the compiler may vectorise these (it may
// not reorder one running sum), and the summation order stays fixed, so results are reproducible.
template <class T> T dot(const T* a, const T* b, std::size_t n) {
    constexpr std::size_t lanes = 8;
    T part[lanes] = {};
    std::size_t c = 0;
    for (; c + lanes <= n; c += lanes) {
        for (std::size_t u = 0; u < lanes; ++u) {
            part[u] += a[c + u] * b[c + u];
        }
    }
    T s = T(0);
    for (; c < n; ++c) {
        s += a[c] * b[c];
    }
    for (std::size_t u = 0; u < lanes; ++u) {
        s += part[u];
    }
    return s;
}

// y += alpha · x over n values.
template <class T> void axpy(T alpha, const T* x, T* y, std::size_t n) {
    for (std::size_t c = 0; c < n; ++c) {
        y[c] += alpha * x[c];
    }
}

// Where one (example, query) pair's rows live: the query's position, its view row (in q and z),
// and the example's first key view row.
struct query_site {
    std::size_t position;
    std::size_t q_row;
    std::size_t first_key_row;
};

query_site site_of(const attention_dims& dims, std::size_t i, std::size_t t) {
    const std::size_t n_q = dims.n_queries();
    return {dims.last_query_only ? dims.n_ctx - 1 : t, i * n_q + t, i * dims.n_ctx};
}

// Offsets of a view row's data, through the row maps when they are set.
template <class P> std::size_t q_offset(const attention_qkv<P>& x, std::size_t row) {
    return (x.q_rows != nullptr ? x.q_rows[row] : row) * x.ld_q;
}
template <class P> std::size_t k_offset(const attention_qkv<P>& x, std::size_t row) {
    return (x.kv_rows != nullptr ? x.kv_rows[row] : row) * x.ld_k;
}
template <class P> std::size_t v_offset(const attention_qkv<P>& x, std::size_t row) {
    return (x.kv_rows != nullptr ? x.kv_rows[row] : row) * x.ld_v;
}

// One head of one query: p (n_ctx) = softmax_j<=position(q·k_j · scale), 0 beyond; z = Σ p_j v_j.
template <class T>
void attend(const attention_dims& dims, const attention_qkv<const T*>& in, const query_site& s,
            std::size_t head, T* p, T* z) {
    const std::size_t dh = dims.d_head;
    const std::size_t col = head * dh;
    const T scale = T(1) / std::sqrt(static_cast<T>(dh));
    const T* q = in.q + q_offset(in, s.q_row) + col;
    T max_score = T(0);
    for (std::size_t j = 0; j <= s.position; ++j) {
        p[j] = scale * dot(q, in.k + k_offset(in, s.first_key_row + j) + col, dh);
        max_score = j == 0 ? p[j] : std::max(max_score, p[j]);
    }
    // Shifted by the maximum: every exponent <= 0, so large scores cannot overflow.
    T sum = T(0);
    for (std::size_t j = 0; j <= s.position; ++j) {
        p[j] = std::exp(p[j] - max_score);
        sum += p[j];
    }
    std::fill(z, z + dh, T(0));
    for (std::size_t j = 0; j <= s.position; ++j) {
        p[j] /= sum;
        axpy(p[j], in.v + v_offset(in, s.first_key_row + j) + col, z, dh);
    }
    std::fill(p + s.position + 1, p + dims.n_ctx, T(0));
}

// Backward of attend(): dq is written (added to, with grad.q_rows); dk and dv rows are added to
// (the caller zeroes them).
template <class T>
void attend_backward(const attention_dims& dims, const attention_qkv<const T*>& in,
                     const query_site& s, std::size_t head, const T* p, const T* dz,
                     const attention_qkv<T*>& grad) {
    const std::size_t dh = dims.d_head;
    const std::size_t col = head * dh;
    const T scale = T(1) / std::sqrt(static_cast<T>(dh));
    const T* q = in.q + q_offset(in, s.q_row) + col;
    T* dq = grad.q + q_offset(grad, s.q_row) + col;
    // dp_j = dz·v_j; the softmax's Jacobian gives dscore_j = p_j (dp_j − Σ_k p_k dp_k). dp_j is
    // recomputed in the second loop rather than stored: n_ctx has no bound, and it is one dot.
    T weighted = T(0);
    for (std::size_t j = 0; j <= s.position; ++j) {
        weighted += p[j] * dot(dz, in.v + v_offset(in, s.first_key_row + j) + col, dh);
    }
    if (grad.q_rows == nullptr) {
        std::fill(dq, dq + dh, T(0));
    }
    for (std::size_t j = 0; j <= s.position; ++j) {
        const std::size_t row = s.first_key_row + j;
        const T dp = dot(dz, in.v + v_offset(in, row) + col, dh);
        const T dscore = scale * p[j] * (dp - weighted);
        axpy(dscore, in.k + k_offset(in, row) + col, dq, dh);
        axpy(dscore, q, grad.k + k_offset(grad, row) + col, dh);
        axpy(p[j], dz, grad.v + v_offset(grad, row) + col, dh);
    }
}

// Tangent of attend(): with s_j = scale q·k_j, R{s_j} = scale (t_q·k_j + q·t_k_j),
// R{p_j} = p_j (R{s_j} − Σ_k p_k R{s_k}) and R{z} = Σ_j R{p_j} v_j + p_j t_v_j.
template <class T>
void attend_tangent(const attention_dims& dims, const attention_qkv<const T*>& in,
                    const attention_qkv<const T*>& t_in, const query_site& s, std::size_t head,
                    const T* p, T* t_p, T* t_z) {
    const std::size_t dh = dims.d_head;
    const std::size_t col = head * dh;
    const T scale = T(1) / std::sqrt(static_cast<T>(dh));
    const T* q = in.q + q_offset(in, s.q_row) + col;
    const T* t_q = t_in.q + q_offset(t_in, s.q_row) + col;
    T mean_ts = T(0);
    for (std::size_t j = 0; j <= s.position; ++j) {
        const std::size_t row = s.first_key_row + j;
        t_p[j] = scale * (dot(t_q, in.k + k_offset(in, row) + col, dh) +
                          dot(q, t_in.k + k_offset(t_in, row) + col, dh));
        mean_ts += p[j] * t_p[j];
    }
    std::fill(t_z, t_z + dh, T(0));
    for (std::size_t j = 0; j <= s.position; ++j) {
        const std::size_t row = s.first_key_row + j;
        t_p[j] = p[j] * (t_p[j] - mean_ts);
        axpy(t_p[j], in.v + v_offset(in, row) + col, t_z, dh);
        axpy(p[j], t_in.v + v_offset(t_in, row) + col, t_z, dh);
    }
    std::fill(t_p + s.position + 1, t_p + dims.n_ctx, T(0));
}

// Tangent of attend_backward(): with dp_j = dz·v_j, w = Σ p_j dp_j and ds_j = p_j (dp_j − w),
// dq = scale Σ ds_j k_j, dk_j = scale ds_j q and dv_j = p_j dz, every factor differentiated.
template <class T>
void attend_backward_tangent(const attention_dims& dims, const attention_qkv<const T*>& in,
                             const attention_qkv<const T*>& t_in, const query_site& s,
                             std::size_t head, const T* p, const T* t_p, const T* dz, const T* t_dz,
                             const attention_qkv<T*>& t_grad) {
    const std::size_t dh = dims.d_head;
    const std::size_t col = head * dh;
    const T scale = T(1) / std::sqrt(static_cast<T>(dh));
    const T* q = in.q + q_offset(in, s.q_row) + col;
    const T* t_q = t_in.q + q_offset(t_in, s.q_row) + col;
    thread_local std::vector<T> dp, t_dp;
    dp.resize(s.position + 1);
    t_dp.resize(s.position + 1);
    T w = T(0), t_w = T(0);
    for (std::size_t j = 0; j <= s.position; ++j) {
        const std::size_t row = s.first_key_row + j;
        const T* v = in.v + v_offset(in, row) + col;
        dp[j] = dot(dz, v, dh);
        t_dp[j] = dot(t_dz, v, dh) + dot(dz, t_in.v + v_offset(t_in, row) + col, dh);
        w += p[j] * dp[j];
        t_w += t_p[j] * dp[j] + p[j] * t_dp[j];
    }
    T* t_dq = t_grad.q + q_offset(t_grad, s.q_row) + col;
    if (t_grad.q_rows == nullptr) {
        std::fill(t_dq, t_dq + dh, T(0));
    }
    for (std::size_t j = 0; j <= s.position; ++j) {
        const std::size_t row = s.first_key_row + j;
        const T ds = scale * p[j] * (dp[j] - w);
        const T t_ds = scale * (t_p[j] * (dp[j] - w) + p[j] * (t_dp[j] - t_w));
        axpy(t_ds, in.k + k_offset(in, row) + col, t_dq, dh);
        axpy(ds, t_in.k + k_offset(t_in, row) + col, t_dq, dh);
        T* t_dk = t_grad.k + k_offset(t_grad, row) + col;
        axpy(t_ds, q, t_dk, dh);
        axpy(ds, t_q, t_dk, dh);
        T* t_dv = t_grad.v + v_offset(t_grad, row) + col;
        axpy(t_p[j], dz, t_dv, dh);
        axpy(p[j], t_dz, t_dv, dh);
    }
}

} // namespace

template <class T>
void causal_attention_forward(const attention_dims& dims, const attention_qkv<const T*>& in,
                              matrix<T>& pattern, matrix<T>& z) {
    const std::size_t n_q = dims.n_queries();
    const std::size_t width = dims.n_heads * dims.d_head;
    ensure_shape(pattern, dims.n, dims.n_heads * n_q * dims.n_ctx);
    ensure_shape(z, dims.n * n_q, width);
    for (std::size_t i = 0; i < dims.n; ++i) {
        for (std::size_t h = 0; h < dims.n_heads; ++h) {
            for (std::size_t t = 0; t < n_q; ++t) {
                const query_site s = site_of(dims, i, t);
                T* p = pattern.data() + ((i * dims.n_heads + h) * n_q + t) * dims.n_ctx;
                attend(dims, in, s, h, p, z.data() + s.q_row * width + h * dims.d_head);
            }
        }
    }
}

template <class T>
void causal_attention_backward(const attention_dims& dims, const attention_qkv<const T*>& in,
                               const matrix<T>& pattern, const matrix<T>& dz,
                               const attention_qkv<T*>& grad) {
    const std::size_t n_q = dims.n_queries();
    const std::size_t width = dims.n_heads * dims.d_head;
    for (std::size_t i = 0; i < dims.n; ++i) {
        // Every query of example i adds to its key and value rows: zero them first, unless they
        // are shared.
        for (std::size_t j = 0; j < dims.n_ctx && grad.kv_rows == nullptr; ++j) {
            const std::size_t row = i * dims.n_ctx + j;
            std::fill(grad.k + row * grad.ld_k, grad.k + row * grad.ld_k + width, T(0));
            std::fill(grad.v + row * grad.ld_v, grad.v + row * grad.ld_v + width, T(0));
        }
        for (std::size_t h = 0; h < dims.n_heads; ++h) {
            for (std::size_t t = 0; t < n_q; ++t) {
                const query_site s = site_of(dims, i, t);
                const T* p = pattern.data() + ((i * dims.n_heads + h) * n_q + t) * dims.n_ctx;
                const T* dzp = dz.data() + s.q_row * width + h * dims.d_head;
                attend_backward(dims, in, s, h, p, dzp, grad);
            }
        }
    }
}

template <class T>
void causal_attention_forward_tangent(const attention_dims& dims, const attention_qkv<const T*>& in,
                                      const attention_qkv<const T*>& t_in, const matrix<T>& pattern,
                                      matrix<T>& t_pattern, matrix<T>& t_z) {
    const std::size_t n_q = dims.n_queries();
    const std::size_t width = dims.n_heads * dims.d_head;
    ensure_shape(t_pattern, dims.n, dims.n_heads * n_q * dims.n_ctx);
    ensure_shape(t_z, dims.n * n_q, width);
    for (std::size_t i = 0; i < dims.n; ++i) {
        for (std::size_t h = 0; h < dims.n_heads; ++h) {
            for (std::size_t t = 0; t < n_q; ++t) {
                const query_site s = site_of(dims, i, t);
                const std::size_t at = ((i * dims.n_heads + h) * n_q + t) * dims.n_ctx;
                attend_tangent(dims, in, t_in, s, h, pattern.data() + at, t_pattern.data() + at,
                               t_z.data() + s.q_row * width + h * dims.d_head);
            }
        }
    }
}

template <class T>
void causal_attention_backward_tangent(const attention_dims& dims,
                                       const attention_qkv<const T*>& in,
                                       const attention_qkv<const T*>& t_in,
                                       const matrix<T>& pattern, const matrix<T>& t_pattern,
                                       const matrix<T>& dz, const matrix<T>& t_dz,
                                       const attention_qkv<T*>& t_grad) {
    const std::size_t n_q = dims.n_queries();
    const std::size_t width = dims.n_heads * dims.d_head;
    for (std::size_t i = 0; i < dims.n; ++i) {
        for (std::size_t j = 0; j < dims.n_ctx && t_grad.kv_rows == nullptr; ++j) {
            const std::size_t row = i * dims.n_ctx + j;
            std::fill(t_grad.k + row * t_grad.ld_k, t_grad.k + row * t_grad.ld_k + width, T(0));
            std::fill(t_grad.v + row * t_grad.ld_v, t_grad.v + row * t_grad.ld_v + width, T(0));
        }
        for (std::size_t h = 0; h < dims.n_heads; ++h) {
            for (std::size_t t = 0; t < n_q; ++t) {
                const query_site s = site_of(dims, i, t);
                const std::size_t at = ((i * dims.n_heads + h) * n_q + t) * dims.n_ctx;
                const std::size_t z_at = s.q_row * width + h * dims.d_head;
                attend_backward_tangent(dims, in, t_in, s, h, pattern.data() + at,
                                        t_pattern.data() + at, dz.data() + z_at, t_dz.data() + z_at,
                                        t_grad);
            }
        }
    }
}

#define GROKKIT_NN_TRANSFORMER_INSTANTIATE(T)                                                      \
    template void layer_norm_forward<T>(const matrix<T>&, gain_bias<const T>, matrix<T>&,          \
                                        layer_norm_cache<T>&);                                     \
    template void layer_norm_backward<T>(const layer_norm_cache<T>&, const T*, const matrix<T>&,   \
                                         matrix<T>&, gain_bias<T>);                                \
    template void position_embedding_forward<T>(const T*, std::size_t, matrix<T>&);                \
    template void position_embedding_backward<T>(const matrix<T>&, std::size_t, T*);               \
    template void causal_attention_forward<T>(                                                     \
        const attention_dims&, const attention_qkv<const T*>&, matrix<T>&, matrix<T>&);            \
    template void causal_attention_backward<T>(const attention_dims&,                              \
                                               const attention_qkv<const T*>&, const matrix<T>&,   \
                                               const matrix<T>&, const attention_qkv<T*>&);        \
    template void layer_norm_forward_tangent<T>(const layer_norm_cache<T>&, const matrix<T>&,      \
                                                gain_bias<const T>, gain_bias<const T>,            \
                                                matrix<T>&, layer_norm_tangent_cache<T>&);         \
    template void layer_norm_backward_tangent<T>(                                                  \
        const layer_norm_cache<T>&, const layer_norm_tangent_cache<T>&, const T*, const T*,        \
        const matrix<T>&, const matrix<T>&, matrix<T>&, gain_bias<T>);                             \
    template void causal_attention_forward_tangent<T>(                                             \
        const attention_dims&, const attention_qkv<const T*>&, const attention_qkv<const T*>&,     \
        const matrix<T>&, matrix<T>&, matrix<T>&);                                                 \
    template void causal_attention_backward_tangent<T>(                                            \
        const attention_dims&, const attention_qkv<const T*>&, const attention_qkv<const T*>&,     \
        const matrix<T>&, const matrix<T>&, const matrix<T>&, const matrix<T>&,                    \
        const attention_qkv<T*>&);

GROKKIT_NN_TRANSFORMER_INSTANTIATE(float)
GROKKIT_NN_TRANSFORMER_INSTANTIATE(double)

#undef GROKKIT_NN_TRANSFORMER_INSTANTIATE

} // namespace grokkit::nn
