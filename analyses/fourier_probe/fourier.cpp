// Fourier and Walsh transforms for the fourier_probe.
// SPDX-License-Identifier: Apache-2.0
#include "fourier.hpp"

#include <grokkit/gemm.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fourier_probe {

xt::xtensor<double, 2> fourier_basis(std::size_t p) {
    xt::xtensor<double, 2> b = xt::zeros<double>({p, p});
    const double two_pi = 2.0 * M_PI;
    for (std::size_t x = 0; x < p; ++x)
        b(0, x) = 1.0 / std::sqrt(static_cast<double>(p));
    for (std::size_t k = 1; 2 * k - 1 < p; ++k) {
        const bool is_nyquist = 2 * k == p;
        for (std::size_t x = 0; x < p; ++x) {
            const double angle = two_pi * static_cast<double>(k * x % p) / static_cast<double>(p);
            if (is_nyquist) {
                b(2 * k - 1, x) = (x % 2 ? -1.0 : 1.0) / std::sqrt(static_cast<double>(p));
            } else {
                b(2 * k - 1, x) = std::sqrt(2.0 / static_cast<double>(p)) * std::cos(angle);
                b(2 * k, x) = std::sqrt(2.0 / static_cast<double>(p)) * std::sin(angle);
            }
        }
    }
    return b;
}

std::size_t frequency_of_row(std::size_t row) {
    return (row + 1) / 2;
}

std::vector<double> frequency_norms(const xt::xtensor<double, 2>& basis,
                                    const xt::xtensor<double, 2>& table) {
    const std::size_t p = basis.shape()[0], d = table.shape()[1];
    xt::xtensor<double, 2> coef = xt::zeros<double>({p, d});
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, p, d, p, 1.0, basis.data(), p,
                  table.data(), d, 0.0, coef.data(), d);
    std::vector<double> norms(n_frequencies(p) + 1, 0.0);
    for (std::size_t r = 0; r < p; ++r)
        for (std::size_t j = 0; j < d; ++j)
            norms[frequency_of_row(r)] += coef(r, j) * coef(r, j);
    for (auto& x : norms)
        x = std::sqrt(x);
    return norms;
}

xt::xtensor<double, 2> neuron_frequency_energy(const xt::xtensor<double, 2>& basis,
                                               const xt::xtensor<double, 2>& act) {
    const std::size_t p = basis.shape()[0], n = act.shape()[1], n_freq = n_frequencies(p);
    // Transform along a: t1[i, (b, n)] = Σ_a B[i, a] act[(a, b), n].
    xt::xtensor<double, 2> t1 = xt::zeros<double>({p, p * n});
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, p, p * n, p, 1.0, basis.data(), p,
                  act.data(), p * n, 0.0, t1.data(), p * n);
    // Along b, one a-frequency row at a time: c[j, n] = Σ_b B[j, b] t1[i, (b, n)].
    xt::xtensor<double, 2> energy = xt::zeros<double>({n, n_freq + 1});
    xt::xtensor<double, 2> c = xt::zeros<double>({p, n});
    for (std::size_t i = 0; i < p; ++i) {
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, p, n, p, 1.0, basis.data(), p,
                      t1.data() + i * p * n, n, 0.0, c.data(), n);
        const std::size_t fi = frequency_of_row(i);
        for (std::size_t j = 0; j < p; ++j) {
            const std::size_t fj = frequency_of_row(j);
            for (std::size_t m = 0; m < n; ++m) {
                const double e = c(j, m) * c(j, m);
                if (fi == 0 && fj == 0) {
                    energy(m, 0) += e;
                    continue;
                }
                if (fi != 0)
                    energy(m, fi) += e;
                if (fj != 0 && fj != fi)
                    energy(m, fj) += e;
            }
        }
    }
    return energy;
}

double gini(const std::vector<double>& x) {
    if (x.empty())
        return 0.0;
    std::vector<double> s = x;
    std::sort(s.begin(), s.end());
    const double total = std::accumulate(s.begin(), s.end(), 0.0);
    if (total <= 0.0)
        return 0.0;
    // G = Σ_i (2i − n − 1) x_(i) / (n Σ x), with x sorted ascending and i = 1..n.
    const double n = static_cast<double>(s.size());
    double acc = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i)
        acc += (2.0 * static_cast<double>(i + 1) - n - 1.0) * s[i];
    return acc / (n * total);
}

namespace {
// cos and sin of 2π·j/p for j = 0..p−1 (w_k·m reduces to the residue k·m mod p).
std::pair<std::vector<double>, std::vector<double>> angle_tables(std::size_t p) {
    std::vector<double> c(p), s(p);
    for (std::size_t j = 0; j < p; ++j) {
        const double angle = 2.0 * M_PI * static_cast<double>(j) / static_cast<double>(p);
        c[j] = std::cos(angle);
        s[j] = std::sin(angle);
    }
    return {c, s};
}
} // namespace

answer_projection project_on_answers(const xt::xtensor<double, 2>& logits,
                                     const std::vector<std::int32_t>& answer, std::size_t p) {
    const std::size_t n = logits.shape()[0], n_freq = n_frequencies(p);
    answer_projection r;
    r.cos_coef.assign(n_freq + 1, 0.0);
    r.sin_coef.assign(n_freq + 1, 0.0);
    r.energy.assign(n_freq + 1, 0.0);
    // cos/sin of w_k·m for every k and residue m, so the sums below are table look-ups.
    const auto [cos_table, sin_table] = angle_tables(p);
    for (std::size_t e = 0; e < n; ++e) {
        double mean = 0.0;
        for (std::size_t c = 0; c < p; ++c)
            mean += logits(e, c);
        mean /= static_cast<double>(p);
        for (std::size_t c = 0; c < p; ++c) {
            const double v = logits(e, c);
            r.total_energy += (v - mean) * (v - mean);
            const long diff = static_cast<long>(answer[e]) - static_cast<long>(c);
            const long m =
                ((diff % static_cast<long>(p)) + static_cast<long>(p)) % static_cast<long>(p);
            for (std::size_t k = 1; k <= n_freq; ++k) {
                const std::size_t km = (k * static_cast<std::size_t>(m)) % p;
                r.cos_coef[k] += v * cos_table[km];
                r.sin_coef[k] += v * sin_table[km];
            }
        }
    }
    // Over every (example, c), cos² and sin² of w_k(y−c) sum to n·p/2 each (n·p for cos at the
    // Nyquist frequency of even p, whose sine vanishes).
    for (std::size_t k = 1; k <= n_freq; ++k) {
        const bool nyquist = 2 * k == p;
        const double cc = static_cast<double>(n * p) / (nyquist ? 1.0 : 2.0);
        r.cos_coef[k] /= cc;
        r.sin_coef[k] = nyquist ? 0.0 : r.sin_coef[k] / cc;
        r.energy[k] = (r.cos_coef[k] * r.cos_coef[k] + r.sin_coef[k] * r.sin_coef[k]) * cc;
    }
    return r;
}

xt::xtensor<double, 2> restricted_logits(const answer_projection& proj,
                                         const std::vector<std::int32_t>& answer,
                                         const std::vector<std::size_t>& frequencies,
                                         std::size_t p) {
    const std::size_t n = answer.size();
    xt::xtensor<double, 2> out = xt::zeros<double>({n, p});
    const auto [cos_table, sin_table] = angle_tables(p);
    for (std::size_t e = 0; e < n; ++e)
        for (std::size_t c = 0; c < p; ++c) {
            const long diff = static_cast<long>(answer[e]) - static_cast<long>(c);
            const long m =
                ((diff % static_cast<long>(p)) + static_cast<long>(p)) % static_cast<long>(p);
            double v = 0.0;
            for (std::size_t k : frequencies) {
                const std::size_t km = (k * static_cast<std::size_t>(m)) % p;
                v += proj.cos_coef[k] * cos_table[km] + proj.sin_coef[k] * sin_table[km];
            }
            out(e, c) = v;
        }
    return out;
}

std::vector<std::size_t> key_frequencies(const answer_projection& proj, double fraction,
                                         std::size_t max_count) {
    std::vector<std::size_t> ks;
    for (std::size_t k = 1; k < proj.energy.size(); ++k)
        ks.push_back(k);
    std::stable_sort(ks.begin(), ks.end(),
                     [&](std::size_t a, std::size_t b) { return proj.energy[a] > proj.energy[b]; });
    const double total = std::accumulate(proj.energy.begin() + 1, proj.energy.end(), 0.0);
    std::vector<std::size_t> key;
    double acc = 0.0;
    for (std::size_t k : ks) {
        if (key.size() >= max_count || (total > 0.0 && acc >= fraction * total))
            break;
        key.push_back(k);
        acc += proj.energy[k];
    }
    std::sort(key.begin(), key.end());
    return key;
}

double mean_cross_entropy(const xt::xtensor<double, 2>& logits, const std::int32_t* labels) {
    const std::size_t n = logits.shape()[0], c = logits.shape()[1];
    double total = 0.0;
    for (std::size_t e = 0; e < n; ++e) {
        double mx = logits(e, 0);
        for (std::size_t j = 1; j < c; ++j)
            mx = std::max(mx, logits(e, j));
        double s = 0.0;
        for (std::size_t j = 0; j < c; ++j)
            s += std::exp(logits(e, j) - mx);
        total += std::log(s) + mx - logits(e, static_cast<std::size_t>(labels[e]));
    }
    return n ? total / static_cast<double>(n) : 0.0;
}

void walsh_hadamard(std::vector<double>& f) {
    const std::size_t n = f.size();
    for (std::size_t h = 1; h < n; h *= 2)
        for (std::size_t i = 0; i < n; i += 2 * h)
            for (std::size_t j = i; j < i + h; ++j) {
                const double x = f[j], y = f[j + h];
                f[j] = x + y;
                f[j + h] = x - y;
            }
    for (auto& x : f)
        x /= static_cast<double>(n);
}

} // namespace fourier_probe
