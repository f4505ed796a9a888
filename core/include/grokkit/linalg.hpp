// Dense linear algebra beyond products (LAPACK through OpenBLAS) for analyses: principal
// components of representations, Hessians of small models.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>

#include <cstddef>
#include <vector>

namespace grokkit {

/// Eigen-decomposition of a symmetric matrix.
struct symmetric_eigen_result {
    std::vector<double> values; ///< n eigenvalues, ascending
    std::vector<double>
        vectors; ///< (n, n) row-major: column k is the unit eigenvector of values[k]
};

/// The eigenvalues and eigenvectors of the symmetric (n, n) row-major matrix `a` (LAPACK
/// dsyevd; the lower triangle is read). Throws grokkit::error when `a` is not n * n values or
/// LAPACK does not converge.
GROKKIT_VISIBLE symmetric_eigen_result symmetric_eigen(std::vector<double> a, std::size_t n);

/// The eigenvalues alone of the symmetric (n, n) row-major matrix `a`, ascending (LAPACK dsyevd
/// without vectors; the lower triangle is read, and `a` is overwritten). Throws grokkit::error as
/// symmetric_eigen() does.
GROKKIT_VISIBLE std::vector<double> symmetric_eigenvalues(std::vector<double>& a, std::size_t n);

/// Factors the symmetric positive definite (n, n) row-major matrix `a` in place as L Lᵀ (LAPACK
/// dpotrf), for cholesky_half_solve(). It reads and overwrites the diagonal and the upper
/// triangle only: the strict lower triangle stays as it was, so a caller that kept the diagonal
/// can still ask symmetric_eigenvalues() about a matrix that failed. Returns 0, or the order k of
/// the first leading minor that is not positive definite. Throws grokkit::error when `a` is not
/// n * n values.
GROKKIT_VISIBLE std::size_t cholesky_factor(std::vector<double>& a, std::size_t n);

/// Replaces each of the m rows b_i of `b` (m, n) by L⁻¹ b_i, L the factor of A that
/// cholesky_factor() left in `factor`: then b_iᵀ A⁻¹ b_j = (L⁻¹ b_i) · (L⁻¹ b_j).
GROKKIT_VISIBLE void cholesky_half_solve(const std::vector<double>& factor, std::size_t n,
                                         double* b, std::size_t m);

} // namespace grokkit
