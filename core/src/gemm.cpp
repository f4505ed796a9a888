// The cblas wrapper. It includes OpenBLAS's <cblas.h> and nothing of xtensor-blas, whose own
// cblas.h clashes with it in one translation unit.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/gemm.hpp>

#include <cblas.h>

namespace grokkit {

namespace {
CBLAS_TRANSPOSE op(transpose t) {
    return t == transpose::yes ? CblasTrans : CblasNoTrans;
}
} // namespace

void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc) {
    if (m == 0 || n == 0)
        return;
    cblas_sgemm(CblasRowMajor, op(ta), op(tb), static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta,
          double* c, std::size_t ldc) {
    if (m == 0 || n == 0)
        return;
    cblas_dgemm(CblasRowMajor, op(ta), op(tb), static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void set_blas_threads(int n) {
    openblas_set_num_threads(n);
}

const char* blas_kernel() {
    return openblas_get_corename();
}

} // namespace grokkit
