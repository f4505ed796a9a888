// Hull membership as the L1-distance LP
//   min sum_j (s+_j + s-_j)  s.t.  X^T lambda + s+ - s- = q,  sum lambda = 1,  all >= 0,
// always feasible, 0 exactly when q is in the hull. Its dual is the separating hyperplane:
// y = (w, -b) with |w_j| <= 1 and w . x_i <= b, so w . q - b is the distance. Solved by column
// generation: the LP over a working set of points, grown by the points that violate the
// working set's hyperplane, until none does (then the hyperplane holds for every point).
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"

#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace hull_test {

namespace {

double dot(const double* a, const double* b, std::size_t d) {
    // Four partial sums: a fixed order (reproducible) that the compiler can vectorise.
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < d; ++j)
        s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

// The LP with only its 2d slack columns: s+_j in row j with +1, s-_j with -1, cost 1; rows
// fixed at (q, 1).
void load_slacks(ClpSimplex& lp, const double* q, std::size_t d) {
    std::vector<int> starts(2 * d + 1), rows(2 * d);
    std::vector<double> values(2 * d);
    for (std::size_t c = 0; c < 2 * d; ++c) {
        starts[c] = static_cast<int>(c);
        rows[c] = static_cast<int>(c % d);
        values[c] = c < d ? 1.0 : -1.0;
    }
    starts[2 * d] = static_cast<int>(2 * d);
    std::vector<int> lengths(2 * d, 1);
    const CoinPackedMatrix m(true, static_cast<int>(d + 1), static_cast<int>(2 * d),
                             static_cast<int>(2 * d), values.data(), rows.data(), starts.data(),
                             lengths.data());
    std::vector<double> lower(2 * d, 0.0), upper(2 * d, COIN_DBL_MAX), cost(2 * d, 1.0);
    std::vector<double> rhs(q, q + d);
    rhs.push_back(1.0);
    lp.loadProblem(m, lower.data(), upper.data(), cost.data(), rhs.data(), rhs.data());
}

// Adds the points `idx` as columns: x_i in rows 0..d-1, 1 in the convexity row d; cost 0.
void add_points(ClpSimplex& lp, const hull& h, const std::vector<std::size_t>& idx) {
    const std::size_t d = h.dim();
    std::vector<CoinBigIndex> starts{0};
    std::vector<int> rows;
    std::vector<double> values;
    for (const std::size_t i : idx) {
        const double* x = h.point(i);
        for (std::size_t j = 0; j < d; ++j)
            if (x[j] != 0.0) {
                rows.push_back(static_cast<int>(j));
                values.push_back(x[j]);
            }
        rows.push_back(static_cast<int>(d));
        values.push_back(1.0);
        starts.push_back(static_cast<CoinBigIndex>(rows.size()));
    }
    std::vector<double> lower(idx.size(), 0.0), upper(idx.size(), COIN_DBL_MAX),
        cost(idx.size(), 0.0);
    lp.addColumns(static_cast<int>(idx.size()), lower.data(), upper.data(), cost.data(),
                  starts.data(), rows.data(), values.data());
}

} // namespace

hull::hull(std::vector<double> points, std::size_t n, std::size_t d, hull_options options)
    : m_x(std::move(points)), m_centroid(d, 0.0), m_n(n), m_d(d), m_options(options) {
    double scale = 1.0;
    for (const double v : m_x) {
        m_finite = m_finite && std::isfinite(v);
        scale = std::max(scale, std::abs(v));
    }
    m_tol = m_options.tolerance * scale;
    for (std::size_t i = 0; i < n; ++i) {
        double l1 = 0.0;
        for (std::size_t j = 0; j < d; ++j)
            l1 += std::abs(point(i)[j]);
        m_max_norm1 = std::max(m_max_norm1, l1);
    }
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j)
            m_centroid[j] += point(i)[j] / static_cast<double>(n);
}

double hull::separation_margin(const double* q) const {
    double q_norm1 = 0.0;
    for (std::size_t j = 0; j < m_d; ++j)
        q_norm1 += std::abs(q[j]);
    // |w_j| <= 1, so each dot product's rounding error is below d eps (|q|_1 or max |x_i|_1).
    const double rounding = 4.0 * double(m_d) * 2.3e-16 * (q_norm1 + m_max_norm1);
    return std::max(m_tol, rounding);
}

std::pair<double, std::size_t> hull::support(const double* w, std::ptrdiff_t exclude) const {
    double top = -std::numeric_limits<double>::infinity();
    std::size_t arg = 0;
    for (std::size_t i = 0; i < m_n; ++i)
        if (static_cast<std::ptrdiff_t>(i) != exclude)
            if (const double v = dot(w, point(i), m_d); v > top) {
                top = v;
                arg = i;
            }
    return {top, arg};
}

std::vector<std::size_t> hull::initial_set(const double* q, std::ptrdiff_t exclude) const {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < m_n; ++i)
        if (static_cast<std::ptrdiff_t>(i) != exclude)
            idx.push_back(i);
    const std::size_t k = m_options.initial_columns ? m_options.initial_columns
                                                    : std::max<std::size_t>(16, (m_d + 1) / 4);
    if (m_options.method == lp_method::full || idx.size() <= k)
        return idx;
    // The k points farthest in the direction from the centroid to q: for a query outside they
    // are the likeliest to bound the hull there. Measured against the k nearest points, they
    // need fewer rounds (2.8 against 3.8 at d = 16, N = 1,000; bench/README.md).
    std::vector<double> u(q, q + m_d);
    for (std::size_t j = 0; j < m_d; ++j)
        u[j] -= m_centroid[j];
    std::vector<double> key(m_n);
    for (const std::size_t i : idx)
        key[i] = -dot(point(i), u.data(), m_d);
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                      [&](std::size_t a, std::size_t b) {
                          return key[a] < key[b] || (key[a] == key[b] && a < b);
                      });
    idx.resize(k);
    return idx;
}

hull_answer hull::contains(const double* q, std::ptrdiff_t exclude) const {
    hull_answer a;
    const std::size_t d = m_d;
    if (!m_finite || !std::all_of(q, q + d, [](double v) { return std::isfinite(v); })) {
        a.detail = m_finite ? "the query has a NaN or infinite coordinate"
                            : "a reference point has a NaN or infinite coordinate";
        return a;
    }
    std::vector<std::size_t> set = initial_set(q, exclude);
    if (set.empty()) {
        a.detail = "no reference points";
        return a;
    }
    std::vector<char> in_set(m_n, 0);
    for (const std::size_t i : set)
        in_set[i] = 1;
    ClpSimplex lp;
    lp.setLogLevel(0);
    // Tighter than Clp's 1e-7 defaults, so that its answer is well within the tolerance the
    // certificates are checked against.
    lp.setPrimalTolerance(std::min(1e-9, m_tol * 1e-2));
    lp.setDualTolerance(std::min(1e-9, m_tol * 1e-2));
    load_slacks(lp, q, d);
    add_points(lp, *this, set);
    const std::size_t per_round = m_options.columns_per_round
                                      ? m_options.columns_per_round
                                      : std::max<std::size_t>(32, (d + 1) / 2);
    std::vector<double> w(d);
    std::vector<std::pair<double, std::size_t>> violators;
    while (true) {
        // From the last round's basis (new columns enter at 0), keeping Clp's work areas between
        // rounds (startFinishOptions 1).
        lp.primal(0, 1);
        ++a.rounds;
        a.iterations += lp.numberIterations();
        if (!lp.isProvenOptimal()) {
            a.columns = set.size();
            a.detail = "Clp status " + std::to_string(lp.status()) + ", secondary " +
                       std::to_string(lp.secondaryStatus());
            return a;
        }
        const double* y = lp.dualRowSolution();
        std::copy(y, y + d, w.begin());
        const double b = -y[d];
        violators.clear();
        if (lp.objectiveValue() > m_tol)
            for (std::size_t i = 0; i < m_n; ++i)
                if (!in_set[i] && static_cast<std::ptrdiff_t>(i) != exclude)
                    if (const double v = dot(w.data(), point(i), d) - b; v > m_tol * 1e-3)
                        violators.push_back({v, i});
        if (violators.empty())
            break;
        const std::size_t take = std::min(per_round, violators.size());
        std::partial_sort(violators.begin(), violators.begin() + static_cast<std::ptrdiff_t>(take),
                          violators.end(), [](const auto& l, const auto& r) {
                              return l.first > r.first ||
                                     (l.first == r.first && l.second < r.second);
                          });
        std::vector<std::size_t> added;
        for (std::size_t t = 0; t < take; ++t) {
            added.push_back(violators[t].second);
            in_set[violators[t].second] = 1;
        }
        add_points(lp, *this, added);
        set.insert(set.end(), added.begin(), added.end());
    }
    a.columns = set.size();
    const double* lambda = lp.primalColumnSolution() + 2 * d;
    for (std::size_t c = 0; c < set.size(); ++c)
        if (lambda[c] > 0.0)
            a.weights.push_back({set[c], lambda[c]});
    std::sort(a.weights.begin(), a.weights.end());
    if (lp.objectiveValue() <= m_tol) {
        a.status = hull_answer::verdict::inside;
    } else {
        a.w = w;
        a.status = hull_answer::verdict::outside;
    }
    verify(q, exclude, a);
    return a;
}

void hull::verify(const double* q, std::ptrdiff_t exclude, hull_answer& a) const {
    const std::size_t d = m_d;
    // The weights' point of the hull (clipped at 0 and rescaled to sum 1) and its distance.
    double sum = 0.0;
    for (auto& [i, l] : a.weights) {
        l = std::max(l, 0.0);
        sum += l;
    }
    std::vector<double> rebuilt(d, 0.0);
    for (auto& [i, l] : a.weights) {
        if (sum > 0)
            l /= sum;
        for (std::size_t j = 0; j < d; ++j)
            rebuilt[j] += l * point(i)[j];
    }
    double worst = 0.0, l1 = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
        const double diff = std::abs(rebuilt[j] - q[j]);
        if (!(diff <= worst)) // NaN included: it must not drop out of the check
            worst = diff;
        l1 += diff;
    }
    if (a.status == hull_answer::verdict::inside) {
        a.residual = worst;
        a.distance = 0.0;
        if (!(sum > 0 && worst <= m_tol * 1.01)) {
            a.detail = "the weights rebuild q only within " + std::to_string(worst);
            a.status = hull_answer::verdict::failed;
        }
        return;
    }
    if (a.status != hull_answer::verdict::outside)
        return;
    // The hyperplane scaled to max |w_j| = 1 and b the points' support in its direction:
    // then w . q - b is a lower bound on the L1 distance (Hoelder).
    double top_w = 0.0;
    for (const double v : a.w)
        top_w = std::max(top_w, std::abs(v));
    if (top_w > 0)
        for (double& v : a.w)
            v /= top_w;
    a.b = support(a.w.data(), exclude).first;
    a.distance = dot(a.w.data(), q, d) - a.b;
    a.residual = a.weights.empty() ? std::numeric_limits<double>::quiet_NaN() : l1 - a.distance;
    // Outside means farther than the tolerance (closer counts as inside), by a margin that also
    // survives the rounding of the dot products themselves.
    if (!(top_w > 0 && a.distance > separation_margin(q))) {
        a.detail = "the hyperplane separates q by " + std::to_string(a.distance) +
                   ", not more than the tolerance " + std::to_string(separation_margin(q));
        a.status = hull_answer::verdict::failed;
    }
}

screen::screen(const hull& h, std::size_t max_planes)
    : m_hull(h), m_lo(h.dim(), -std::numeric_limits<double>::infinity()),
      m_hi(h.dim(), std::numeric_limits<double>::infinity()), m_max_planes(max_planes) {
    if (!h.finite())
        return; // an unbounded box screens out nothing (and contains() fails such hulls)
    m_lo.assign(h.dim(), std::numeric_limits<double>::infinity());
    m_hi.assign(h.dim(), -std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < h.size(); ++i)
        for (std::size_t j = 0; j < h.dim(); ++j) {
            m_lo[j] = std::min(m_lo[j], h.point(i)[j]);
            m_hi[j] = std::max(m_hi[j], h.point(i)[j]);
        }
}

bool screen::separates(const double* q, hull_answer& out) {
    const std::size_t d = m_hull.dim();
    out = hull_answer{};
    const double margin = m_hull.separation_margin(q);
    for (std::size_t j = 0; j < d; ++j)
        if (q[j] - m_hi[j] > margin || m_lo[j] - q[j] > margin) {
            out.w.assign(d, 0.0);
            out.w[j] = q[j] > m_hi[j] ? 1.0 : -1.0;
            out.b = q[j] > m_hi[j] ? m_hi[j] : -m_lo[j];
            out.by = hull_answer::answered_by::box;
            ++m_box_hits;
            break;
        }
    for (std::size_t p = 0; out.w.empty() && p < m_planes.size(); ++p) {
        const auto& plane = m_planes[p];
        if (dot(plane.data(), q, d) - plane[d] > margin) {
            out.w.assign(plane.begin(), plane.begin() + static_cast<std::ptrdiff_t>(d));
            out.b = plane[d];
            out.by = hull_answer::answered_by::plane;
            ++m_plane_hits;
            std::rotate(m_planes.begin(), m_planes.begin() + static_cast<std::ptrdiff_t>(p),
                        m_planes.begin() + static_cast<std::ptrdiff_t>(p) + 1);
        }
    }
    if (out.w.empty())
        return false;
    out.status = hull_answer::verdict::outside;
    out.distance = dot(out.w.data(), q, d) - out.b;
    out.residual = std::numeric_limits<double>::quiet_NaN();
    return true;
}

void screen::remember(const hull_answer& a) {
    if (a.status != hull_answer::verdict::outside || a.by != hull_answer::answered_by::lp)
        return;
    std::vector<double> plane = a.w;
    plane.push_back(m_hull.support(a.w.data()).first); // valid for every point
    m_planes.insert(m_planes.begin(), std::move(plane));
    if (m_planes.size() > m_max_planes)
        m_planes.pop_back();
}

double wendel_probability(std::size_t n, std::size_t d) {
    // 2^{-(n-1)} sum_{k<d} C(n-1, k), summed in logs: n may be in the thousands.
    double total = 0.0;
    for (std::size_t k = 0; k < d && k <= n - 1; ++k)
        total += std::exp(std::lgamma(double(n)) - std::lgamma(double(k + 1)) -
                          std::lgamma(double(n - k)) - double(n - 1) * std::log(2.0));
    return std::min(total, 1.0);
}

} // namespace hull_test
