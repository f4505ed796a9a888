// Hull membership as LP feasibility: lambda >= 0, sum lambda = 1, X^T lambda = q, solved by
// Clp's primal simplex; infeasibility rays give the separating hyperplanes.
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"

#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

namespace hull_test {

hull::hull(std::vector<double> points, std::size_t n, std::size_t d, double tolerance)
    : m_x(std::move(points)), m_n(n), m_d(d), m_tolerance(tolerance) {}

namespace {

// Columns are the points: column i holds x_i (rows 0..d-1) and 1 (row d, the convexity row).
CoinPackedMatrix hull_matrix(const std::vector<double>& x, std::size_t n, std::size_t d) {
    std::vector<int> starts(n + 1), rows;
    std::vector<double> values;
    for (std::size_t i = 0; i < n; ++i) {
        starts[i] = static_cast<int>(rows.size());
        for (std::size_t j = 0; j < d; ++j)
            if (x[i * d + j] != 0.0) {
                rows.push_back(static_cast<int>(j));
                values.push_back(x[i * d + j]);
            }
        rows.push_back(static_cast<int>(d));
        values.push_back(1.0);
    }
    starts[n] = static_cast<int>(rows.size());
    std::vector<int> lengths(n);
    for (std::size_t i = 0; i < n; ++i)
        lengths[i] = starts[i + 1] - starts[i];
    return CoinPackedMatrix(true, static_cast<int>(d + 1), static_cast<int>(n), starts.back(),
                            values.data(), rows.data(), starts.data(), lengths.data());
}

} // namespace

hull_answer hull::solve(const std::vector<double>& q) const {
    hull_answer a;
    ClpSimplex lp;
    lp.setLogLevel(0);
    const CoinPackedMatrix m = hull_matrix(m_x, m_n, m_d);
    std::vector<double> lower(m_n, 0.0), upper(m_n, COIN_DBL_MAX), cost(m_n, 0.0);
    std::vector<double> rhs(q.begin(), q.end());
    rhs.push_back(1.0);
    lp.loadProblem(m, lower.data(), upper.data(), cost.data(), rhs.data(), rhs.data());
    lp.setInfeasibilityCost(1e10);
    lp.primal();
    if (lp.isProvenOptimal()) {
        const double* lambda = lp.primalColumnSolution();
        for (std::size_t i = 0; i < m_n; ++i)
            if (lambda[i] > 0.0)
                a.weights.push_back({i, lambda[i]});
        a.status = hull_answer::verdict::inside;
    } else if (lp.isProvenPrimalInfeasible()) {
        // The ray y of the rows [X^T lambda = q; sum lambda = 1]: w = -y[0..d-1], b = y[d]
        // gives w . x_i <= b < w . q (measured on this Clp, 1.17.6).
        std::unique_ptr<double[]> ray(lp.infeasibilityRay());
        if (!ray) {
            a.detail = "Clp proved infeasibility without a ray";
            return a;
        }
        a.w.resize(m_d);
        for (std::size_t j = 0; j < m_d; ++j)
            a.w[j] = -ray[j];
        a.b = ray[m_d];
        a.status = hull_answer::verdict::outside;
    } else {
        a.detail = "Clp status " + std::to_string(lp.status()) + ", secondary " +
                   std::to_string(lp.secondaryStatus());
    }
    return a;
}

void hull::verify(const std::vector<double>& q, hull_answer& a) const {
    if (a.status == hull_answer::verdict::inside) {
        std::vector<double> rebuilt(m_d, 0.0);
        double sum = 0.0;
        for (const auto& [i, l] : a.weights) {
            sum += l;
            for (std::size_t j = 0; j < m_d; ++j)
                rebuilt[j] += l * m_x[i * m_d + j];
        }
        double worst = std::abs(sum - 1.0);
        for (std::size_t j = 0; j < m_d; ++j)
            worst = std::max(worst, std::abs(rebuilt[j] - q[j]));
        a.residual = worst;
        if (!(worst <= m_tolerance * (1.0 + std::sqrt(double(m_d))))) {
            a.detail = "the weights rebuild q only within " + std::to_string(worst);
            a.status = hull_answer::verdict::failed;
        }
        return;
    }
    if (a.status != hull_answer::verdict::outside)
        return;
    const double norm = std::sqrt(std::inner_product(a.w.begin(), a.w.end(), a.w.begin(), 0.0));
    double top = -INFINITY;
    for (std::size_t i = 0; i < m_n; ++i)
        top = std::max(
            top, std::inner_product(a.w.begin(), a.w.end(), m_x.begin() + long(i * m_d), 0.0));
    const double wq = std::inner_product(a.w.begin(), a.w.end(), q.begin(), 0.0);
    a.residual = norm > 0 ? (wq - top) / norm : 0.0;
    if (!(norm > 0 && wq > a.b && top <= a.b + m_tolerance * norm && a.residual > 0)) {
        a.detail = "the hyperplane does not separate q (margin " + std::to_string(a.residual) + ")";
        a.status = hull_answer::verdict::failed;
    }
}

hull_answer hull::contains(const std::vector<double>& q) const {
    hull_answer a = solve(q);
    verify(q, a);
    return a;
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
