// Transformer layers: layer norm, positional embedding, causal multi-head self-attention.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/nn.hpp>

#include <algorithm>
#include <cmath>

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
                                               const matrix<T>&, const attention_qkv<T*>&);

GROKKIT_NN_TRANSFORMER_INSTANTIATE(float)
GROKKIT_NN_TRANSFORMER_INSTANTIATE(double)

#undef GROKKIT_NN_TRANSFORMER_INSTANTIATE

} // namespace grokkit::nn
