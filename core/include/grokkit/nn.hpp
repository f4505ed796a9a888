// Neural-network layers with explicit forward and backward passes, for float and double.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace grokkit::nn {

template <class T> using matrix = xt::xtensor<T, 2>;

/// Resizes `m` to (rows, cols) only when its shape differs (no allocation in steady state).
template <class T> void ensure_shape(matrix<T>& m, std::size_t rows, std::size_t cols);

// Linear: y (n, d_out) = x (n, d_in) · w (d_in, d_out) + b (d_out). `b` may be null.
template <class T>
void linear_forward(const matrix<T>& x, const T* w, std::size_t d_out, const T* b, matrix<T>& y);
/// dw (d_in, d_out) = xᵀ·dy and db (d_out) = Σ dy are written (not accumulated); `db` may be
/// null. When `dx` is not null, dx (n, d_in) = dy·wᵀ.
template <class T>
void linear_backward(const matrix<T>& x, const T* w, const matrix<T>& dy, matrix<T>* dx, T* dw,
                     T* db);

// Tied unembedding: logits (n, vocab) = h (n, d) · Eᵀ, with E (vocab, d).
template <class T>
void unembed_forward(const matrix<T>& h, const T* e, std::size_t vocab, matrix<T>& logits);
/// dh = dlogits·E (when dh is not null); dE (vocab, d) += dlogitsᵀ·h (accumulated: E is shared
/// with the embedding).
template <class T>
void unembed_backward(const matrix<T>& h, const T* e, const matrix<T>& dlogits, matrix<T>* dh,
                      T* de);

// Embedding: out (n, d) = E[ids[i * stride]] with E (vocab, d); `ids` points at the first
// example's token of interest, `stride` is the distance between examples (n_tokens).
template <class T>
void embedding_forward(const std::int32_t* ids, std::size_t stride, const T* e, std::size_t d,
                       std::size_t n, matrix<T>& out);
/// dE[ids[i]] += dout[i] (accumulated: several positions may share one table).
template <class T>
void embedding_backward(const std::int32_t* ids, std::size_t stride, const matrix<T>& dout, T* de);

enum class activation { relu, gelu, square };
/// Parses "relu", "gelu" (tanh approximation, as PyTorch's approximate="tanh"), "square" (x²).
activation activation_from_string(const std::string& name);

/// y = f(x), elementwise; y may alias x only for relu and square.
template <class T> void activation_forward(activation f, const matrix<T>& x, matrix<T>& y);
/// dx = f'(x) ⊙ dy; `x` is the pre-activation input.
template <class T>
void activation_backward(activation f, const matrix<T>& x, const matrix<T>& dy, matrix<T>& dx);

/// Result of a loss over a batch; sums are in double so float32 rounding never spikes the loss.
struct loss_sum {
    double loss = 0.0;         ///< Σ over examples of the per-example loss
    std::size_t n_correct = 0; ///< examples whose arg-max logit is the label
};

/// x[i] = exp(x[i]) in place for x[i] <= 0 (the shifted logits of a softmax), within 2 ulp of
/// std::exp; 0 below -708 (under double's normal range; a softmax sum always holds a 1). A loop
/// the compiler vectorises, where libm's exp is one call per element: the exponentials were
/// most of a small model's step.
void exp_nonpositive(double* x, std::size_t n);
/// The same in float: within 2 ulp of std::exp(float), and 0 below -87 (float's normal range).
void exp_nonpositive(float* x, std::size_t n);

// Each loss multiplies every example's loss by `scale`: 1 for the usual sum over classes, 1/c
// for a mean over the (examples, classes) table as jnp.mean(onehot * log_softmax) and torch's
// MSELoss() compute it.

/// Softmax cross-entropy of logits (n, c) against labels (n); log-sum-exp is shifted by the row
/// maximum, its exponentials taken in T and summed in double. When `dlogits` is not null it
/// receives d(mean loss)/dlogits = scale (softmax − onehot) / n, with entries below float's normal
/// range set to 0 (subnormal operands slow every later product tenfold on some CPUs). With a
/// `mask`, each row's softmax and arg-max run over its allowed classes only: the others get zero
/// probability and zero gradient, and a label outside its row's mask is an error.
template <class T>
loss_sum softmax_cross_entropy(const matrix<T>& logits, const std::int32_t* labels,
                               matrix<T>* dlogits, double scale = 1.0, mask_view mask = {});

/// Squared error of logits (n, c) against one-hot labels: per example scale Σ_c (z_c − y_c)²,
/// accumulated in double. When `dlogits` is not null it receives d(mean loss)/dlogits =
/// 2 scale (z − y) / n.
template <class T>
loss_sum mean_squared_error(const matrix<T>& logits, const std::int32_t* labels, matrix<T>* dlogits,
                            double scale = 1.0);

/// Squared error of logits (n, c) against real-valued targets (n, c), row-major: per example
/// scale Σ_c (z_c − t_c)², accumulated in double, n_correct 0. When `dlogits` is not null it
/// receives d(mean loss)/dlogits = 2 scale (z − t) / n. Throws grokkit::error for a non-finite
/// target.
template <class T>
loss_sum squared_error_to_targets(const matrix<T>& logits, const float* targets, matrix<T>* dlogits,
                                  double scale = 1.0);

// Transformer layers (nn_transformer.cpp): layer norm, positional embedding, causal attention.

/// LayerNorm's epsilon, PyTorch's default.
inline constexpr double layer_norm_eps = 1e-5;

/// A layer norm's gain and bias, each (d); `T` is `const U` for values and `U` for gradients.
template <class T> struct gain_bias {
    T* gain = nullptr;
    T* bias = nullptr;
};

/// What layer_norm_forward() keeps for layer_norm_backward().
template <class T> struct layer_norm_cache {
    matrix<T> x_hat; ///< (rows, d) normalised input (x − mean) / sqrt(var + eps)
    matrix<T> rstd;  ///< (rows, 1) 1 / sqrt(var + eps)
};

/// y (rows, d) = x_hat ⊙ gain + bias per row of x (rows, d), x_hat = (x − mean) / sqrt(var + eps)
/// with the biased variance and eps = layer_norm_eps (PyTorch's LayerNorm); fills `cache`.
template <class T>
void layer_norm_forward(const matrix<T>& x, gain_bias<const T> w, matrix<T>& y,
                        layer_norm_cache<T>& cache);
/// dx (rows, d) from dy (rows, d); dw.gain and dw.bias (d) are written (not accumulated).
template <class T>
void layer_norm_backward(const layer_norm_cache<T>& cache, const T* gain, const matrix<T>& dy,
                         matrix<T>& dx, gain_bias<T> dw);

/// x (n·n_ctx, d) += pos[r mod n_ctx] for every row r, with pos (n_ctx, d): rows are
/// example-major, position-minor.
template <class T> void position_embedding_forward(const T* pos, std::size_t n_ctx, matrix<T>& x);
/// dpos (n_ctx, d) = Σ_i dx[i·n_ctx + t] over examples i (written, not accumulated).
template <class T>
void position_embedding_backward(const matrix<T>& dx, std::size_t n_ctx, T* dpos);

/// Shape of causal multi-head self-attention over n sequences of n_ctx positions.
struct attention_dims {
    std::size_t n = 0;     ///< sequences (examples)
    std::size_t n_ctx = 0; ///< positions per sequence
    std::size_t n_heads = 0;
    std::size_t d_head = 0;
    bool last_query_only = false; ///< queries (and outputs) at position n_ctx − 1 only

    /// Query positions per sequence: 1 with last_query_only, else n_ctx.
    std::size_t n_queries() const { return last_query_only ? 1 : n_ctx; }
};

/// Row-major views of queries, keys and values in caller buffers, so a fused QKV product needs no
/// copy: row r starts at `q + r·ld_q`, and head h occupies columns [h·d_head, (h+1)·d_head). `P` is
/// `const T*` for inputs and `T*` for gradients. Optional row maps let rows share storage (a
/// table of distinct rows): query row r is then stored at row q_rows[r], key and value row r at
/// row kv_rows[r].
template <class P> struct attention_qkv {
    P q = nullptr; ///< (n·n_queries, n_heads·d_head), example-major
    std::size_t ld_q = 0;
    P k = nullptr; ///< (n·n_ctx, n_heads·d_head), example-major
    std::size_t ld_k = 0;
    P v = nullptr; ///< (n·n_ctx, n_heads·d_head), example-major
    std::size_t ld_v = 0;
    const std::size_t* q_rows = nullptr;  ///< (n·n_queries) storage row of each query row, or null
    const std::size_t* kv_rows = nullptr; ///< (n·n_ctx) storage row of each key row, or null
};

/// Causal attention. pattern (n, n_heads·n_queries·n_ctx), read as (n, head, query, key), is the
/// softmax over keys j <= the query's position of q·k_j / sqrt(d_head), 0 for later keys;
/// z (n·n_queries, n_heads·d_head) = Σ_j pattern_j v_j per head.
template <class T>
void causal_attention_forward(const attention_dims& dims, const attention_qkv<const T*>& in,
                              matrix<T>& pattern, matrix<T>& z);
/// `grad`'s dq, dk, dv, laid out as `in`, from dz (n·n_queries, n_heads·d_head) and the pattern of
/// causal_attention_forward(): written, except that with grad.q_rows (grad.kv_rows) set, dq (dk
/// and dv) are added to the caller's buffers, whose rows are shared.
template <class T>
void causal_attention_backward(const attention_dims& dims, const attention_qkv<const T*>& in,
                               const matrix<T>& pattern, const matrix<T>& dz,
                               const attention_qkv<T*>& grad);

// Tangent passes: Pearlmutter's R-operator, R{u} = d u(θ + εv)/dε at ε = 0 for a parameter
// direction v (nn_tangent.cpp). A forward tangent carries R{activations} from the layer's R{input}
// and the direction's part for its own parameters (`v_*`); a backward tangent is the tangent of
// the backward pass, R{gradients}, from R{output gradient} and the forward tangents. Chained
// through a model, the backward tangent of the parameter gradients is the Hessian-vector product
// H v (forward-over-reverse); backward() of the forward tangent's loss curvature gives the
// Gauss–Newton product. Layers whose tangent is one of their own passes applied to tangents need
// no function here: activation_backward(f, x, t_x, t_y) is the activation's forward tangent,
// embedding_forward/backward and position_embedding_forward/backward of v and tangents are
// theirs.

/// t_y (n, d_out) = t_x·w + x·v_w + v_b, with `t_x` null for data inputs (R{x} = 0) and `v_b`
/// null without a bias.
template <class T>
void linear_forward_tangent(const matrix<T>& x, const matrix<T>* t_x, const T* w, const T* v_w,
                            std::size_t d_out, const T* v_b, matrix<T>& t_y);
/// Tangent of linear_backward: t_dw = t_xᵀ·dy + xᵀ·t_dy and t_db = Σ t_dy are written (`t_db`
/// may be null, `t_x` null for data inputs); when `t_dx` is not null, t_dx = t_dy·wᵀ + dy·v_wᵀ.
template <class T>
void linear_backward_tangent(const matrix<T>& x, const matrix<T>* t_x, const T* w, const T* v_w,
                             const matrix<T>& dy, const matrix<T>& t_dy, matrix<T>* t_dx, T* t_dw,
                             T* t_db);

/// Tangent of activation_backward: t_dx = f''(x) ⊙ t_x ⊙ dy + f'(x) ⊙ t_dy (ReLU's f'' is 0
/// everywhere it is defined).
template <class T>
void activation_backward_tangent(activation f, const matrix<T>& x, const matrix<T>& t_x,
                                 const matrix<T>& dy, const matrix<T>& t_dy, matrix<T>& t_dx);

/// Tangent of unembed_forward: t_logits = t_h·Eᵀ + h·v_Eᵀ (`t_h` null for R{h} = 0).
template <class T>
void unembed_forward_tangent(const matrix<T>& h, const matrix<T>* t_h, const T* e, const T* v_e,
                             std::size_t vocab, matrix<T>& t_logits);
/// Tangent of unembed_backward: t_dh = t_dlogits·E + dlogits·v_E (when t_dh is not null);
/// t_dE += t_dlogitsᵀ·h + dlogitsᵀ·t_h (accumulated, as dE is).
template <class T>
void unembed_backward_tangent(const matrix<T>& h, const matrix<T>* t_h, const T* e, const T* v_e,
                              const matrix<T>& dlogits, const matrix<T>& t_dlogits, matrix<T>* t_dh,
                              T* t_de);

/// p (n, c) = the softmax of each row of `logits`, shifted by the row maximum and summed in
/// double. With a `mask`, over each row's allowed classes: the others get exactly 0.
template <class T> void softmax(const matrix<T>& logits, matrix<T>& p, mask_view mask = {});

/// Curvature of the softmax cross-entropy: t_dlogits = scale (diag(p) − p pᵀ) t_logits / n per
/// row, with p = softmax(logits) from softmax(): the tangent of softmax_cross_entropy's dlogits.
/// p is an argument so that products at the same logits share it.
template <class T>
void softmax_cross_entropy_tangent(const matrix<T>& p, const matrix<T>& t_logits,
                                   matrix<T>& t_dlogits, double scale = 1.0);

/// What layer_norm_forward_tangent() keeps for layer_norm_backward_tangent().
template <class T> struct layer_norm_tangent_cache {
    matrix<T> t_x_hat; ///< (rows, d) R{x_hat}
    matrix<T> t_rstd;  ///< (rows, 1) R{rstd}
};

/// t_y = R{x_hat} ⊙ gain + x_hat ⊙ v.gain + v.bias from t_x (rows, d) and layer_norm_forward()'s
/// cache; fills `tangent`.
template <class T>
void layer_norm_forward_tangent(const layer_norm_cache<T>& cache, const matrix<T>& t_x,
                                gain_bias<const T> w, gain_bias<const T> v, matrix<T>& t_y,
                                layer_norm_tangent_cache<T>& tangent);
/// Tangent of layer_norm_backward: t_dx and t_dw.gain, t_dw.bias (written) from dy, t_dy.
template <class T>
void layer_norm_backward_tangent(const layer_norm_cache<T>& cache,
                                 const layer_norm_tangent_cache<T>& tangent, const T* gain,
                                 const T* v_gain, const matrix<T>& dy, const matrix<T>& t_dy,
                                 matrix<T>& t_dx, gain_bias<T> t_dw);

/// Tangent of causal_attention_forward: t_pattern (the pattern's shape) and t_z from the
/// tangents `t_in` of q, k and v (laid out and row-mapped as `in`).
template <class T>
void causal_attention_forward_tangent(const attention_dims& dims, const attention_qkv<const T*>& in,
                                      const attention_qkv<const T*>& t_in, const matrix<T>& pattern,
                                      matrix<T>& t_pattern, matrix<T>& t_z);
/// Tangent of causal_attention_backward: `t_grad` (R{dq}, R{dk}, R{dv}, written or added to as
/// causal_attention_backward treats `grad`) from dz and t_dz.
template <class T>
void causal_attention_backward_tangent(const attention_dims& dims,
                                       const attention_qkv<const T*>& in,
                                       const attention_qkv<const T*>& t_in,
                                       const matrix<T>& pattern, const matrix<T>& t_pattern,
                                       const matrix<T>& dz, const matrix<T>& t_dz,
                                       const attention_qkv<T*>& t_grad);

} // namespace grokkit::nn
