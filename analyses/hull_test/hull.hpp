// Convex-hull membership and L1 distance by linear programming (COIN-OR Clp), with
// certificates a caller can check without the solver: the weights that rebuild a point
// inside, or a hyperplane that separates a point outside and bounds its distance.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hull_test {

/// How the LP is solved. Both give the same answers; `generation` is the fast one (bench/).
enum class lp_method {
    /// Column generation: the LP over a working set of points (the farthest towards q),
    /// grown by the points that violate its separating hyperplane until none does.
    generation,
    /// The LP over every point at once (N columns, d + 1 rows), as a reference.
    full,
};

struct hull_options {
    /// Relative tolerance: a query is inside when its points rebuild it within
    /// tolerance * scale in every coordinate, scale being max(1, max |x_ij|).
    double tolerance = 1e-7;
    lp_method method = lp_method::generation;
    std::size_t initial_columns = 0;   ///< working set to start from; 0: max(16, (d + 1) / 4)
    std::size_t columns_per_round = 0; ///< violators added per round; 0: max(32, (d + 1) / 2)
};

/// What the LP decided for one query, and the evidence.
struct hull_answer {
    enum class verdict { inside, outside, failed };
    verdict status = verdict::failed;
    /// The LP's non-zero weights (point index, weight), at most d + 1 of them (a basic
    /// solution, Caratheodory), summing to 1. Inside they rebuild q within the tolerance;
    /// outside they give the hull's point nearest to q in L1, an upper bound on the distance.
    std::vector<std::pair<std::size_t, double>> weights;
    /// outside: w . q - b > separation_margin(q) and b >= w . x_i for every reference point
    /// x_i (but `exclude`), with max |w_j| = 1, so that w . q - b is a lower bound on the L1
    /// distance from q to the hull.
    std::vector<double> w;
    double b = 0;
    /// L1 distance from q to the hull: 0 inside; outside, the certified lower bound w . q - b.
    double distance = 0;
    /// inside: max_j |(X^T lambda)_j - q_j| (weights rescaled to sum 1); outside: the duality gap,
    /// the L1 distance the weights reach minus the lower bound (>= 0, about 0); NaN for a
    /// screen's answer, which has no weights.
    double residual = 0;
    int iterations = 0;      ///< simplex iterations, all rounds
    int rounds = 0;          ///< LPs solved (column generation rounds)
    std::size_t columns = 0; ///< points in the final working set
    /// What answered: the LP, or a screen (then `distance` is only a lower bound).
    enum class answered_by { lp, box, plane };
    answered_by by = answered_by::lp;
    std::string detail; ///< why a solve failed
};

/// The reference points X (n rows of d values, row-major). contains() is const and keeps no
/// state between calls, so threads may share one hull.
class hull {
  public:
    hull(std::vector<double> points, std::size_t n, std::size_t d, hull_options options = {});
    /// Whether q (d values) lies in the hull of the points (point `exclude` left out, for
    /// leave-one-out queries), with its certificate verified: an answer whose certificate
    /// does not check out is `failed`, never counted as in or out.
    hull_answer contains(const double* q, std::ptrdiff_t exclude = -1) const;
    hull_answer contains(const std::vector<double>& q) const { return contains(q.data()); }

    std::size_t size() const { return m_n; }
    std::size_t dim() const { return m_d; }
    /// The absolute tolerance: options.tolerance * max(1, max |x_ij|).
    double tolerance() const { return m_tol; }
    const double* point(std::size_t i) const { return m_x.data() + i * m_d; }
    /// Whether every coordinate of every point is finite (else every query fails).
    bool finite() const { return m_finite; }
    /// How far beyond the hull a certificate must put q for "outside": the tolerance, or the
    /// rounding bound of the dot products when that is larger (large d, large coordinates).
    double separation_margin(const double* q) const;
    /// max_i w . x_i over the points (but `exclude`), and its arg-max.
    std::pair<double, std::size_t> support(const double* w, std::ptrdiff_t exclude = -1) const;

  private:
    std::vector<std::size_t> initial_set(const double* q, std::ptrdiff_t exclude) const;
    void verify(const double* q, std::ptrdiff_t exclude, hull_answer& a) const;

    std::vector<double> m_x; // (n, d)
    std::vector<double> m_centroid;
    std::size_t m_n, m_d;
    hull_options m_options;
    double m_tol;
    double m_max_norm1 = 0.0; // max_i |x_i|_1
    bool m_finite = true;
};

/// Exact screens that answer "outside" without an LP: the points' bounding box, and the last
/// few hyperplanes that separated earlier queries. One per thread (it remembers planes).
class screen {
  public:
    explicit screen(const hull& h, std::size_t max_planes = 32);
    /// Whether a screen separates q from every point; then `out` is an outside answer with its
    /// hyperplane (by box or plane; distance a lower bound), valid by construction: a box face
    /// is a coordinate's extreme, a remembered plane's b the points' support.
    bool separates(const double* q, hull_answer& out);
    /// Remembers the hyperplane of an LP's outside answer, with b raised to hold for every
    /// point (so that it serves leave-one-out queries too).
    void remember(const hull_answer& a);
    std::size_t box_hits() const { return m_box_hits; }
    std::size_t plane_hits() const { return m_plane_hits; }

  private:
    const hull& m_hull;
    std::vector<double> m_lo, m_hi;            // bounding box of every point
    std::vector<std::vector<double>> m_planes; // (w..., b), most recently useful first
    std::size_t m_max_planes;
    std::size_t m_box_hits = 0, m_plane_hits = 0;
};

/// Wendel (1962): the probability that n points drawn from a distribution symmetric about the
/// origin in R^d, in general position, do not have the origin in their convex hull:
/// 2^{-(n-1)} sum_{k=0}^{d-1} C(n-1, k).
double wendel_probability(std::size_t n, std::size_t d);

} // namespace hull_test
