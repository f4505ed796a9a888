// Convex-hull membership by linear programming (COIN-OR Clp), with certificates a caller can
// check without the solver: the weights that rebuild a point inside, or a hyperplane that
// separates a point outside.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hull_test {

/// What the LP decided for one query, and the evidence.
struct hull_answer {
    enum class verdict { inside, outside, failed };
    verdict status = verdict::failed;
    /// inside: the non-zero weights (point index, weight), at most d + 1 of them for a basic
    /// solution (Caratheodory), with sum 1 and sum_i weight_i x_i = q within the tolerance.
    std::vector<std::pair<std::size_t, double>> weights;
    /// outside: w . q > b >= w . x_i for every reference point x_i.
    std::vector<double> w;
    double b = 0;
    /// The certificate's check: inside, max |X lambda - q| and |sum - 1|; outside, the margin
    /// w . q - max_i w . x_i divided by |w| (> 0 when it separates).
    double residual = 0;
    std::string detail; ///< why a solve failed
};

/// The reference points X (n rows of d values, row-major) and the tolerance answers are
/// checked with.
class hull {
  public:
    hull(std::vector<double> points, std::size_t n, std::size_t d, double tolerance = 1e-7);
    /// Whether q (d values) lies in the convex hull of the points, with its certificate
    /// verified: an answer whose certificate does not check out is `failed`, never counted.
    hull_answer contains(const std::vector<double>& q) const;

    std::size_t size() const { return m_n; }
    std::size_t dim() const { return m_d; }

  private:
    hull_answer solve(const std::vector<double>& q) const;
    void verify(const std::vector<double>& q, hull_answer& a) const;

    std::vector<double> m_x; // (n, d)
    std::size_t m_n, m_d;
    double m_tolerance;
};

/// Wendel (1962): the probability that n points drawn from a distribution symmetric about the
/// origin in R^d, in general position, do not have the origin in their convex hull:
/// 2^{-(n-1)} sum_{k=0}^{d-1} C(n-1, k).
double wendel_probability(std::size_t n, std::size_t d);

} // namespace hull_test
