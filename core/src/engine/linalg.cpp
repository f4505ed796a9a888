// LAPACK's dsyevd and dpotrf, and cblas_dtrsm, from OpenBLAS, which exports it (Debian's
// libopenblas0-pthread). SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/linalg.hpp>

#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <string>

// With the lengths of the two character arguments, which gfortran (>= 8) passes hidden at the
// end: leaving them out is undefined behaviour for a Fortran-compiled LAPACK.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                        double* w, double* work, const int* lwork, int* iwork, const int* liwork,
                        int* info, std::size_t jobz_len, std::size_t uplo_len);
extern "C" void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info,
                        std::size_t uplo_len);

namespace grokkit {

symmetric_eigen_result symmetric_eigen(std::vector<double> a, std::size_t n) {
    if (a.size() != n * n)
        throw error("symmetric_eigen", std::to_string(a.size()) + " values",
                    std::to_string(n * n) + " (an n x n matrix)");
    if (n > 16384) // LAPACK's int workspace size, 2n^2 + 6n + 1, would overflow
        throw error("symmetric_eigen",
                    "a " + std::to_string(n) + " x " + std::to_string(n) + " matrix",
                    "at most 16384 x 16384");
    symmetric_eigen_result r;
    r.values.resize(n);
    if (n == 0)
        return r;
    // LAPACK is column-major: the row-major matrix is its transpose, the same symmetric matrix,
    // whose upper triangle (column-major) is our lower one. Eigenvectors come back in columns
    // of the column-major result, i.e. in rows of `a` read row-major.
    const int ni = static_cast<int>(n);
    int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
    double work_size = 0;
    dsyevd_("V", "U", &ni, a.data(), &ni, r.values.data(), &work_size, &lwork, &iwork_size, &liwork,
            &info, 1, 1);
    if (info != 0)
        throw error("symmetric_eigen",
                    "LAPACK dsyevd's workspace query returned info " + std::to_string(info),
                    "info 0");
    lwork = static_cast<int>(work_size);
    liwork = iwork_size;
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<int> iwork(static_cast<std::size_t>(liwork));
    dsyevd_("V", "U", &ni, a.data(), &ni, r.values.data(), work.data(), &lwork, iwork.data(),
            &liwork, &info, 1, 1);
    if (info != 0)
        throw error("symmetric_eigen", "LAPACK dsyevd returned info " + std::to_string(info),
                    "convergence (info 0)");
    r.vectors.resize(n * n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < n; ++k)
            r.vectors[i * n + k] = a[k * n + i];
    return r;
}

std::vector<double> symmetric_eigenvalues(std::vector<double>& a, std::size_t n) {
    if (a.size() != n * n)
        throw error("symmetric_eigenvalues", std::to_string(a.size()) + " values",
                    std::to_string(n * n) + " (an n x n matrix)");
    std::vector<double> values(n);
    if (n == 0)
        return values;
    // As in symmetric_eigen: the column-major upper triangle is the row-major lower one.
    const int ni = static_cast<int>(n);
    int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
    double work_size = 0;
    dsyevd_("N", "U", &ni, a.data(), &ni, values.data(), &work_size, &lwork, &iwork_size, &liwork,
            &info, 1, 1);
    lwork = static_cast<int>(work_size);
    liwork = std::max(iwork_size, 1);
    std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
    std::vector<int> iwork(static_cast<std::size_t>(liwork));
    if (info == 0)
        dsyevd_("N", "U", &ni, a.data(), &ni, values.data(), work.data(), &lwork, iwork.data(),
                &liwork, &info, 1, 1);
    if (info != 0)
        throw error("symmetric_eigenvalues", "LAPACK dsyevd returned info " + std::to_string(info),
                    "convergence (info 0)");
    return values;
}

std::size_t cholesky_factor(std::vector<double>& a, std::size_t n) {
    if (a.size() != n * n)
        throw error("cholesky_factor", std::to_string(a.size()) + " values",
                    std::to_string(n * n) + " (an n x n matrix)");
    if (n == 0)
        return 0;
    // Column-major, the row-major symmetric matrix is itself: "L" factors it as L Lᵀ with L in
    // the column-major lower triangle.
    const int ni = static_cast<int>(n);
    int info = 0;
    dpotrf_("L", &ni, a.data(), &ni, &info, 1);
    if (info < 0)
        throw error("cholesky_factor", "LAPACK dpotrf returned info " + std::to_string(info),
                    "info >= 0");
    return static_cast<std::size_t>(info);
}

void cholesky_half_solve(const std::vector<double>& factor, std::size_t n, double* b,
                         std::size_t m) {
    if (factor.size() != n * n)
        throw error("cholesky_half_solve", std::to_string(factor.size()) + " values",
                    std::to_string(n * n) + " (an n x n factor)");
    if (n == 0 || m == 0)
        return;
    // Row-major b (m, n) is column-major bᵀ (n, m): its columns are the b_i.
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
                static_cast<int>(n), static_cast<int>(m), 1.0, factor.data(), static_cast<int>(n),
                b, static_cast<int>(n));
}

} // namespace grokkit
