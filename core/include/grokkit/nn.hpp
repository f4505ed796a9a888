// Neural-network layers with explicit forward and backward passes, for float and double.
// SPDX-License-Identifier: Apache-2.0
#pragma once

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
    double loss = 0.0;           ///< Σ over examples of the per-example loss
    std::size_t n_correct = 0;   ///< examples whose arg-max logit is the label
};

/// Softmax cross-entropy of logits (n, c) against labels (n); log-sum-exp is shifted by the row
/// maximum and accumulated in double. When `dlogits` is not null it receives
/// d(mean loss)/dlogits = (softmax − onehot) / n.
template <class T>
loss_sum softmax_cross_entropy(const matrix<T>& logits, const std::int32_t* labels,
                               matrix<T>* dlogits);

} // namespace grokkit::nn
