// Row helpers the transformer's passes share: query rows of example-major buffers and views of
// the fused q | k | v buffer.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/nn.hpp>

#include <algorithm>
#include <cstddef>

namespace transformer {

namespace nn = grokkit::nn;

// dst (n·n_q, cols) = the rows of src (n·n_ctx, cols) that carry queries: all of them, or with
// `last_only` the last position of each example.
inline void copy_query_rows(const nn::matrix<float>& src, std::size_t n_ctx, bool last_only,
                            nn::matrix<float>& dst) {
    const std::size_t cols = src.shape(1);
    if (!last_only) {
        nn::ensure_shape(dst, src.shape(0), cols);
        std::copy(src.begin(), src.end(), dst.begin());
        return;
    }
    const std::size_t n = src.shape(0) / n_ctx;
    nn::ensure_shape(dst, n, cols);
    for (std::size_t i = 0; i < n; ++i) {
        const float* row = src.data() + ((i + 1) * n_ctx - 1) * cols;
        std::copy(row, row + cols, dst.data() + i * cols);
    }
}

// dst (n·n_ctx, cols) += src (n·n_q, cols) on the query rows, the inverse of copy_query_rows.
inline void add_query_rows(const nn::matrix<float>& src, std::size_t n_ctx, bool last_only,
                           nn::matrix<float>& dst) {
    const std::size_t cols = src.shape(1);
    const std::size_t stride = last_only ? n_ctx : 1;
    const std::size_t offset = last_only ? n_ctx - 1 : 0;
    for (std::size_t r = 0; r < src.shape(0); ++r) {
        const float* s = src.data() + r * cols;
        float* d = dst.data() + (r * stride + offset) * cols;
        for (std::size_t j = 0; j < cols; ++j) {
            d[j] += s[j];
        }
    }
}

// Views of the fused (n·n_ctx, 3·hd) q | k | v buffer; with `last_only` the queries are the last
// row of each example.
template <class P>
inline nn::attention_qkv<P> qkv_view(P base, std::size_t hd, std::size_t n_ctx, bool last_only) {
    const std::size_t ld = 3 * hd;
    nn::attention_qkv<P> v;
    v.q = last_only ? base + (n_ctx - 1) * ld : base;
    v.ld_q = last_only ? n_ctx * ld : ld;
    v.k = base + hd;
    v.ld_k = ld;
    v.v = base + 2 * hd;
    v.ld_v = ld;
    return v;
}

} // namespace transformer
