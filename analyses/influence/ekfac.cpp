// EK-FAC (George et al. 2018; Grosse et al. 2023, as kronfluence computes it): per linear site
// y = x·W + b, with x̄ = [x, 1] when there is a bias, the Gauss–Newton block of its weights is
// approximated in the eigenbasis Q_A ⊗ Q_S of the Kronecker factors A = E[x̄ x̄ᵀ] and
// S = E[dy dyᵀ], with its diagonal there corrected to Λ = E_examples[(Q_Aᵀ G Q_S)²] (G the
// example's gradient of [W; b]). Inverse-curvature products are then two rotations and a
// division: score(q, i) = Σ_sites ⟨V_q / (Λ + r + λ), V_i⟩ with V = Q_Aᵀ G Q_S.
//
// The gradients dy of the factors and of Λ are those of labels sampled from the model's own
// softmax (mse: Gaussian noise of the loss's curvature), so their expectation is the
// Gauss–Newton matrix, not the empirical Fisher. Parameters outside the sites (embeddings, layer
// norms, attention) play no part, as in kronfluence. The regulariser enters as its mean over each
// site's values (exact for a uniform l2).
// SPDX-License-Identifier: Apache-2.0
#include "tiles.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/linalg.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace influence::detail {

namespace {

// Rows per sum into the Kronecker factors.
constexpr std::size_t factor_run = 256;

struct site_factors {
    std::size_t d_in = 0, d_out = 0, a_dim = 0; // a_dim = d_in + 1 with a bias
    std::size_t weight_offset = 0, bias_offset = 0;
    bool has_bias = false;
    std::vector<double> a_cov, s_cov; // the factors, then their eigenvectors (columns)
    std::vector<double> lambda;       // (a_dim, d_out): the corrected eigenvalues
    double regulariser = 0.0;         // the mean of R over the site's values
    std::size_t rotated_offset = 0;   // where the site's V starts in a row of all sites' V
};

// The pseudo-gradients dℓ/dlogits of labels sampled from the model (cross-entropy: p − e_ŷ with
// ŷ ~ p, whose second moment is diag(p) − ppᵀ; mse: √2·ε, ε ~ N(0, I)), each keyed by its
// example's index, times the square root of the loss's class scale.
xt::xtensor<float, 2> sampled_dlogits(const xt::xtensor<float, 2>& logits,
                                      const grokkit::loss_config& loss, std::uint64_t seed,
                                      std::size_t first) {
    const std::size_t n = logits.shape(0), c = logits.shape(1);
    xt::xtensor<float, 2> d = xt::zeros<float>(logits.shape());
    const double scale = loss.class_mean ? 1.0 / std::sqrt(static_cast<double>(c)) : 1.0;
    std::vector<double> p(c);
    for (std::size_t i = 0; i < n; ++i) {
        grokkit::rng r(seed, "ekfac labels", first + i);
        const float* z = logits.data() + i * c;
        if (loss.name == "mse") {
            for (std::size_t j = 0; j < c; ++j)
                d(i, j) = static_cast<float>(std::sqrt(2.0) * scale * r.normal());
            continue;
        }
        const double top = *std::max_element(z, z + c);
        double total = 0.0;
        for (std::size_t j = 0; j < c; ++j)
            total += p[j] = std::exp(static_cast<double>(z[j]) - top);
        const double u = r.uniform() * total;
        std::size_t label = 0;
        for (double cum = p[0]; label + 1 < c && u >= cum; cum += p[++label]) {
        }
        for (std::size_t j = 0; j < c; ++j)
            d(i, j) = static_cast<float>(scale * (p[j] / total - (j == label ? 1.0 : 0.0)));
    }
    return d;
}

// Rows x̄ = [x, 1] (with a bias) in double: (rows, a_dim).
std::vector<double> augmented(const xt::xtensor<float, 2>& x, const site_factors& f) {
    const std::size_t rows = x.shape(0);
    std::vector<double> out(rows * f.a_dim, 1.0);
    for (std::size_t t = 0; t < rows; ++t)
        for (std::size_t a = 0; a < f.d_in; ++a)
            out[t * f.a_dim + a] = x(t, a);
    return out;
}

// out (rows, cols2) = m (rows, cols) · q (cols, cols2), all row-major double.
void multiply(const std::vector<double>& m, std::size_t rows, std::size_t cols,
              const std::vector<double>& q, std::size_t cols2, std::vector<double>& out) {
    out.assign(rows * cols2, 0.0);
    if (rows && cols && cols2)
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, rows, cols2, cols, 1.0,
                      m.data(), cols, q.data(), cols2, 0.0, out.data(), cols2);
}

using site_visit = std::function<void(std::size_t site, const xt::xtensor<float, 2>& inputs,
                                      const xt::xtensor<float, 2>& output_grads, std::size_t first,
                                      std::size_t count)>;

// One pass of sampled-label backward passes over the training set, each site's rows visited.
void site_pass(grokkit::model& net, const grokkit::example_set& train,
               const grokkit::loss_config& loss, std::uint64_t seed, std::size_t columns,
               std::size_t n_sites, const site_visit& visit) {
    xt::xtensor<float, 2> logits, inputs, output_grads;
    for (std::size_t first = 0; first < train.size(); first += columns) {
        const std::size_t count = std::min(columns, train.size() - first);
        const grokkit::batch rows = grokkit::slice_batch(train, first, count);
        net.forward(rows, logits);
        grokkit::apply_class_mask(logits, rows.mask); // labels are sampled from allowed classes
        const xt::xtensor<float, 2> d = sampled_dlogits(logits, loss, seed, first);
        net.backward(d);
        for (std::size_t s = 0; s < n_sites; ++s) {
            net.linear_site_rows(s, d, inputs, output_grads);
            visit(s, inputs, output_grads, first, count);
        }
    }
}

// V = Q_Aᵀ G Q_S of every site for each row of `g` (count, P): (count, D), D = Σ a_dim · d_out.
std::vector<double> rotate(const std::vector<site_factors>& sites, const std::vector<double>& g,
                           std::size_t count, std::size_t p, std::size_t d) {
    std::vector<double> out(count * d), m, t, v;
    for (std::size_t i = 0; i < count; ++i)
        for (const site_factors& f : sites) {
            m.assign(f.a_dim * f.d_out, 0.0);
            const double* row = g.data() + i * p;
            std::copy_n(row + f.weight_offset, f.d_in * f.d_out, m.begin());
            if (f.has_bias)
                std::copy_n(row + f.bias_offset, f.d_out,
                            m.begin() + static_cast<std::ptrdiff_t>(f.d_in * f.d_out));
            // t = Q_Aᵀ m, then v = t Q_S.
            t.assign(f.a_dim * f.d_out, 0.0);
            grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, f.a_dim, f.d_out,
                          f.a_dim, 1.0, f.a_cov.data(), f.a_dim, m.data(), f.d_out, 0.0, t.data(),
                          f.d_out);
            multiply(t, f.a_dim, f.d_out, f.s_cov, f.d_out, v);
            std::copy(v.begin(), v.end(),
                      out.begin() + static_cast<std::ptrdiff_t>(i * d + f.rotated_offset));
        }
    return out;
}

std::vector<site_factors> sites_of(grokkit::model& net, const std::vector<double>& regulariser) {
    const auto tensors = net.parameters();
    std::vector<std::size_t> offset(tensors.size() + 1, 0);
    for (std::size_t t = 0; t < tensors.size(); ++t)
        offset[t + 1] = offset[t] + tensors[t]->value.size();
    std::vector<site_factors> sites;
    std::size_t rotated = 0;
    for (const grokkit::linear_site& s : net.linear_sites()) {
        site_factors f;
        const auto& w = tensors.at(s.weight)->value;
        f.d_in = w.shape(0);
        f.d_out = w.shape(1);
        f.has_bias = s.bias >= 0;
        f.a_dim = f.d_in + (f.has_bias ? 1 : 0);
        f.weight_offset = offset[s.weight];
        f.bias_offset = f.has_bias ? offset[static_cast<std::size_t>(s.bias)] : 0;
        double sum = 0.0;
        for (std::size_t k = 0; k < f.d_in * f.d_out; ++k)
            sum += regulariser[f.weight_offset + k];
        for (std::size_t k = 0; f.has_bias && k < f.d_out; ++k)
            sum += regulariser[f.bias_offset + k];
        f.regulariser = sum / static_cast<double>(f.a_dim * f.d_out);
        f.a_cov.assign(f.a_dim * f.a_dim, 0.0);
        f.s_cov.assign(f.d_out * f.d_out, 0.0);
        f.lambda.assign(f.a_dim * f.d_out, 0.0);
        f.rotated_offset = rotated;
        rotated += f.a_dim * f.d_out;
        sites.push_back(std::move(f));
    }
    return sites;
}

// The factors, their eigenvectors and the corrected eigenvalues, from two passes.
void fit(std::vector<site_factors>& sites, grokkit::model& net, const grokkit::example_set& train,
         const grokkit::loss_config& loss, std::uint64_t seed, std::size_t columns) {
    // Summed in fixed runs of examples, so the factors' bits do not depend on max_memory.
    std::vector<gram_accumulator> a_sums, s_sums;
    for (site_factors& f : sites) {
        a_sums.emplace_back(f.a_cov, f.a_dim, factor_run, 1.0);
        s_sums.emplace_back(f.s_cov, f.d_out, factor_run, 1.0);
    }
    site_pass(net, train, loss, seed, columns, sites.size(),
              [&](std::size_t s, const xt::xtensor<float, 2>& x, const xt::xtensor<float, 2>& dy,
                  std::size_t, std::size_t) {
                  const std::vector<double> a = augmented(x, sites[s]);
                  const std::vector<double> g(dy.begin(), dy.end());
                  a_sums[s].add(a.data(), x.shape(0));
                  s_sums[s].add(g.data(), dy.shape(0));
              });
    for (std::size_t s = 0; s < sites.size(); ++s) {
        a_sums[s].finish();
        s_sums[s].finish();
    }
    for (site_factors& f : sites) { // keep the eigenvectors in place of the factors
        f.a_cov = grokkit::symmetric_eigen(f.a_cov, f.a_dim).vectors;
        f.s_cov = grokkit::symmetric_eigen(f.s_cov, f.d_out).vectors;
    }
    const double per_example = 1.0 / static_cast<double>(std::max<std::size_t>(train.size(), 1));
    site_pass(net, train, loss, seed, columns, sites.size(),
              [&](std::size_t s, const xt::xtensor<float, 2>& x, const xt::xtensor<float, 2>& dy,
                  std::size_t, std::size_t count) {
                  site_factors& f = sites[s];
                  const std::size_t rows = x.shape(0), per = count ? rows / count : 0;
                  std::vector<double> ra, rs, v(f.a_dim * f.d_out);
                  multiply(augmented(x, f), rows, f.a_dim, f.a_cov, f.a_dim, ra);
                  multiply(std::vector<double>(dy.begin(), dy.end()), rows, f.d_out, f.s_cov,
                           f.d_out, rs);
                  for (std::size_t i = 0; i < count; ++i) {
                      // The example's rotated gradient Σ_t ra_tᵀ rs_t.
                      grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, f.a_dim,
                                    f.d_out, per, 1.0, ra.data() + i * per * f.a_dim, f.a_dim,
                                    rs.data() + i * per * f.d_out, f.d_out, 0.0, v.data(), f.d_out);
                      for (std::size_t k = 0; k < v.size(); ++k)
                          f.lambda[k] += per_example * v[k] * v[k];
                  }
              });
}

} // namespace

void ekfac_scores(grokkit::model& curvature_net, grokkit::model& gradient_net,
                  const grokkit::example_set& train, const grokkit::loss_config& loss,
                  const std::vector<double>& regulariser, const std::vector<double>& query_grads,
                  const settings& s, result& r, const score_sink& sink,
                  const progress_fn& progress) {
    std::vector<site_factors> sites = sites_of(curvature_net, regulariser);
    if (sites.empty())
        throw grokkit::error(grokkit::diagnostic{
            "influence.run", "method",
            "ekfac: the model exposes no linear layers (grokkit::model::linear_sites)",
            "a model with linear sites (linear, mlp, transformer), or method = \"cg\"", 0, 0});
    const std::size_t p = r.n_parameters;
    std::size_t d = 0;
    double factor_bytes = 0.0;
    for (const site_factors& f : sites) {
        d += f.a_dim * f.d_out;
        factor_bytes +=
            8.0 * static_cast<double>(f.a_dim * f.a_dim + f.d_out * f.d_out +
                                      3 * f.a_dim * f.d_out + factor_run * (f.a_dim + f.d_out));
    }
    // The factors, the queries' rotated gradients, and per example its gradient, its rotated
    // sites and its scores (the passes' rows are of the same order for one row per example).
    const std::size_t columns =
        columns_per_tile(s, factor_bytes + 8.0 * static_cast<double>(r.n_queries * (d + p)),
                         gradient_bytes(p) + 8.0 * static_cast<double>(2 * d + r.n_queries),
                         r.n_train, "the Kronecker factors and the queries' gradients", r);
    auto t0 = std::chrono::steady_clock::now();
    fit(sites, curvature_net, train, loss, s.seed, columns);
    double trace = 0.0;
    for (const site_factors& f : sites)
        trace += std::accumulate(f.lambda.begin(), f.lambda.end(), 0.0) +
                 f.regulariser * static_cast<double>(f.a_dim * f.d_out);
    r.mean_eigenvalue = d ? trace / static_cast<double>(d) : 0.0;
    r.damping = damping_of(s, r.mean_eigenvalue);
    // 1 / (Λ + r + λ) over the rotated coordinates of every site.
    std::vector<double> inverse(d);
    for (const site_factors& f : sites)
        for (std::size_t k = 0; k < f.lambda.size(); ++k)
            inverse[f.rotated_offset + k] = 1.0 / (f.lambda[k] + f.regulariser + r.damping);
    r.seconds_curvature += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::vector<double> left = rotate(sites, query_grads, r.n_queries, p, d);
    for (std::size_t q = 0; q < r.n_queries; ++q)
        for (std::size_t k = 0; k < d; ++k)
            left[q * d + k] *= inverse[k];
    r.query_solves.assign(r.n_queries, solve_stats{0, nan, true, false});
    double gradient_seconds = 0.0;
    stream_tiles(
        columns,
        [&](std::size_t first, std::size_t count, std::vector<double>& tile) {
            const std::vector<double> g =
                timed_gradients(gradient_net, train, loss, first, count, gradient_seconds);
            const std::vector<double> v = rotate(sites, g, count, p, d);
            product_tile(left, r.n_queries, v, count, d, tile);
            for (std::size_t i = 0; s.self_influence && i < count; ++i) {
                double self = 0.0;
                for (std::size_t k = 0; k < d; ++k)
                    self += v[i * d + k] * v[i * d + k] * inverse[k];
                r.self_influence[first + i] = self;
            }
        },
        sink, progress, r);
    r.seconds_gradients += gradient_seconds;
    r.seconds_solves = seconds_since(t0) - gradient_seconds;
}

} // namespace influence::detail
