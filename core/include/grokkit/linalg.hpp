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

} // namespace grokkit
