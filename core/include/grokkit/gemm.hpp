// The one matrix-product entry point: cblas ?gemm on caller-owned, preallocated buffers.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

namespace grokkit {

enum class transpose { no, yes };

/// C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C, all row-major and contiguous.
/// `lda`, `ldb`, `ldc` are the row strides of the stored (untransposed) matrices.
void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc);
void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta,
          double* c, std::size_t ldc);

/// Sets the BLAS thread count (OpenBLAS); results are bit-identical for a given count.
void set_blas_threads(int n);
/// Sets the BLAS thread count for a scope, and `after` when the scope ends (errors included):
/// work split over threads of its own (retrainings, games) runs each on one BLAS thread.
class scoped_blas_threads {
  public:
    scoped_blas_threads(int inside, int after) : m_after(after) { set_blas_threads(inside); }
    ~scoped_blas_threads() { set_blas_threads(m_after); }
    scoped_blas_threads(const scoped_blas_threads&) = delete;
    scoped_blas_threads& operator=(const scoped_blas_threads&) = delete;

  private:
    int m_after;
};

/// The BLAS kernel in use ("SkylakeX"), recorded in run files.
const char* blas_kernel();

} // namespace grokkit
