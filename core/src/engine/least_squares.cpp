// Least squares from one SVD (LAPACK dgesdd from OpenBLAS, called as linalg.cpp calls LAPACK),
// closed-form readouts, and the isotropic ridge risk; see least_squares.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/least_squares.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

// With the length of the character argument, which gfortran passes hidden at the end.
extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda,
                        double* s, double* u, const int* ldu, double* vt, const int* ldvt,
                        double* work, const int* lwork, int* iwork, int* info,
                        std::size_t jobz_len);

namespace grokkit {

linear_readout::~linear_readout() = default;
least_squares_theory::~least_squares_theory() = default;

namespace {

void check_finite(const std::vector<double>& values, const char* what) {
    for (std::size_t k = 0; k < values.size(); ++k)
        if (!std::isfinite(values[k]))
            throw error("least_squares",
                        std::string(what) + " value " + std::to_string(k) + " is " +
                            std::to_string(values[k]),
                        "finite values");
}

// The thin SVD of the column-major (m, n) matrix `a` (destroyed): s, u (m, r), vt (r, n).
void thin_svd(std::vector<double>& a, int m, int n, std::vector<double>& s, std::vector<double>& u,
              std::vector<double>& vt) {
    const int r = std::min(m, n);
    s.resize(static_cast<std::size_t>(r));
    u.resize(static_cast<std::size_t>(m) * static_cast<std::size_t>(r));
    vt.resize(static_cast<std::size_t>(r) * static_cast<std::size_t>(n));
    std::vector<int> iwork(8 * static_cast<std::size_t>(r));
    int info = 0, lwork = -1;
    double work_size = 0;
    dgesdd_("S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &r, &work_size, &lwork,
            iwork.data(), &info, 1);
    std::vector<double> work(static_cast<std::size_t>(work_size) + 1);
    lwork = static_cast<int>(work.size());
    dgesdd_("S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &r, work.data(), &lwork,
            iwork.data(), &info, 1);
    if (info != 0)
        throw error("least_squares", "LAPACK dgesdd returned info " + std::to_string(info),
                    "a converged SVD");
}

} // namespace

least_squares::least_squares(std::vector<double> phi, std::size_t n, std::size_t p,
                             const std::vector<double>& targets, std::size_t k)
    : m_n(n), m_p(p), m_k(k) {
    if (phi.size() != n * p || targets.size() != n * k)
        throw error("least_squares",
                    std::to_string(phi.size()) + " features and " + std::to_string(targets.size()) +
                        " targets",
                    std::to_string(n * p) + " and " + std::to_string(n * k) + " (n x p, n x k)");
    check_finite(phi, "feature");
    check_finite(targets, "target");
    const std::size_t r = std::min(n, p);
    if (r == 0)
        return;
    // Row-major Φ (n, p) is column-major Φᵀ (p, n) = V S Uᵀ: LAPACK's u is V and its vt is Uᵀ.
    std::vector<double> ut;
    thin_svd(phi, static_cast<int>(p), static_cast<int>(n), m_s, m_v, ut);
    const double tolerance =
        static_cast<double>(std::max(n, p)) * std::numeric_limits<double>::epsilon() * m_s[0];
    m_rank = static_cast<std::size_t>(
        std::count_if(m_s.begin(), m_s.end(), [&](double s) { return s > tolerance; }));
    m_uty.assign(r * k, 0.0);
    for (std::size_t j = 0; j < r; ++j)
        for (std::size_t i = 0; i < n; ++i) {
            const double u_ij = ut[j + i * r];
            for (std::size_t c = 0; c < k; ++c)
                m_uty[j * k + c] += u_ij * targets[i * k + c];
        }
}

std::vector<double> least_squares::solve(double ridge) const {
    if (!(ridge >= 0.0))
        throw error("least_squares", "ridge " + std::to_string(ridge), "ridge >= 0");
    std::vector<double> beta(m_p * m_k, 0.0);
    const std::size_t r = m_s.size();
    const double n_lambda = static_cast<double>(m_n) * ridge;
    for (std::size_t j = 0; j < r; ++j) {
        const double s = m_s[j];
        // Singular values past the rank are zero for the minimum-norm solution.
        const double f = ridge > 0.0 ? s / (s * s + n_lambda) : (j < m_rank ? 1.0 / s : 0.0);
        if (f == 0.0)
            continue;
        for (std::size_t l = 0; l < m_p; ++l) {
            const double v = m_v[l + j * m_p] * f;
            for (std::size_t c = 0; c < m_k; ++c)
                beta[l * m_k + c] += v * m_uty[j * m_k + c];
        }
    }
    return beta;
}

namespace {

linear_readout& readout_of(model& net, const char* where) {
    auto* r = dynamic_cast<linear_readout*>(&net);
    if (!r)
        throw error(where, "the model is not a fixed-features readout",
                    "a model that derives from grokkit::linear_readout (linear without bias, "
                    "random_features)");
    return *r;
}

// The set's targets (n, k), or its labels one-hot (n, n_classes).
std::vector<double> targets_of(const example_set& s, std::size_t k) {
    const std::size_t n = s.size();
    std::vector<double> y(n * k, 0.0);
    if (s.targets.size()) {
        std::copy(s.targets.begin(), s.targets.end(), y.begin());
        return y;
    }
    for (std::size_t i = 0; i < n; ++i)
        y[i * k + static_cast<std::size_t>(s.labels(i))] = 1.0;
    return y;
}

} // namespace

void set_readout(model& net, const std::vector<double>& beta) {
    linear_readout& r = readout_of(net, "set_readout");
    parameter& w = *net.parameters().at(r.readout_index());
    if (beta.size() != w.value.size())
        throw error("set_readout", std::to_string(beta.size()) + " values",
                    "the readout's " + std::to_string(w.value.size()));
    std::transform(beta.begin(), beta.end(), w.value.begin(),
                   [](double b) { return static_cast<float>(b); });
}

least_squares fit_readout(model& net, const example_set& train, double ridge) {
    linear_readout& r = readout_of(net, "fit_readout");
    xt::xtensor<float, 2> phi;
    r.readout_features(as_batch(train), phi);
    const parameter& w = *net.parameters().at(r.readout_index());
    const std::size_t n = train.size(), p = phi.shape(1),
                      k = w.value.size() / std::max<std::size_t>(p, 1);
    least_squares solver(std::vector<double>(phi.begin(), phi.end()), n, p, targets_of(train, k),
                         k);
    set_readout(net, solver.solve(ridge));
    return solver;
}

double isotropic_ridge_risk(double gamma, double ridge, double signal, double noise) {
    const double r2 = signal * signal, s2 = noise * noise;
    if (ridge == 0.0) {
        if (gamma < 1.0)
            return s2 * gamma / (1.0 - gamma);
        if (gamma > 1.0)
            return r2 * (1.0 - 1.0 / gamma) + s2 / (gamma - 1.0);
        return std::numeric_limits<double>::infinity();
    }
    // m(−λ) of the Marchenko–Pastur law with ratio γ, the positive root of
    // γ z m² − (1 − γ − z) m + 1 = 0 at z = −λ, in the form that does not cancel.
    const double a = 1.0 - gamma + ridge, root = std::sqrt(a * a + 4.0 * gamma * ridge);
    const double m = a >= 0.0 ? 2.0 / (root + a) : (root - a) / (2.0 * gamma * ridge);
    const double dm = (gamma * m * m + m) / (a + 2.0 * gamma * ridge * m); // m'(−λ)
    return r2 * ridge * ridge * dm + s2 * gamma * (m - ridge * dm);
}

} // namespace grokkit
