// Curvature products of the training objective and conjugate gradient; see curvature.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/curvature.hpp>
#include <grokkit/error.hpp>

#include <cmath>
#include <utility>

namespace grokkit {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += a[i] * b[i];
    return s;
}

// The logits of `examples`, for the member initialiser (the loss curvature needs them).
const xt::xtensor<float, 2>& forward(model& m, const example_set& examples,
                                     xt::xtensor<float, 2>& logits) {
    m.forward(as_batch(examples), logits);
    return logits;
}

} // namespace

curvature_kind curvature_from_string(const std::string& name) {
    if (name == "hessian")
        return curvature_kind::hessian;
    if (name == "gauss_newton")
        return curvature_kind::gauss_newton;
    throw error(diagnostic{"curvature", "curvature", "\"" + name + "\" is not a curvature",
                           "hessian or gauss_newton"});
}

std::vector<double> regulariser_diagonal(model& m, const optimizer_config& cfg) {
    const bool coupled_decay = cfg.kind == "sgd" || cfg.kind == "adam";
    std::vector<double> diagonal;
    diagonal.reserve(parameter_count(m));
    for (const parameter* p : m.parameters()) {
        const double r = cfg.l2 + (coupled_decay && p->decay ? cfg.weight_decay : 0.0);
        diagonal.insert(diagonal.end(), p->value.size(), r);
    }
    return diagonal;
}

curvature_product::curvature_product(model& m, const example_set& examples, const loss_config& loss,
                                     curvature_kind kind, std::vector<double> regulariser,
                                     double damping)
    : m_net(m), m_examples(examples), m_loss(loss), m_kind(kind),
      m_regulariser(std::move(regulariser)), m_damping(damping),
      m_loss_curvature(loss, forward(m, examples, m_logits), view_of(examples.mask)) {
    const std::size_t p = parameter_count(m);
    if (m_regulariser.size() != p)
        throw error("curvature_product",
                    std::to_string(m_regulariser.size()) + " regulariser values",
                    "one per parameter value (" + std::to_string(p) + ")");
    if (!(damping >= 0.0))
        throw error("curvature_product", "damping " + std::to_string(damping), "damping >= 0");
    const batch all = as_batch(m_examples);
    const nn::loss_sum sum = evaluate_loss(m_loss, m_logits, all, &m_dlogits);
    m_mean_loss = all.n > 0 ? sum.loss / static_cast<double>(all.n) : 0.0;
    // backward_tangent() reads the primal backward's deltas; the Gauss–Newton product needs none.
    if (m_kind == curvature_kind::hessian)
        m_net.backward(m_dlogits);
    m_direction.resize(p);
}

void curvature_product::set_damping(double damping) {
    if (!(damping >= 0.0))
        throw error("curvature_product", "damping " + std::to_string(damping), "damping >= 0");
    m_damping = damping;
}

void curvature_product::apply(const std::vector<double>& v, std::vector<double>& out) {
    const std::size_t p = size();
    if (v.size() != p)
        throw error("curvature_product.apply", std::to_string(v.size()) + " values",
                    std::to_string(p) + " (one per parameter value)");
    for (std::size_t j = 0; j < p; ++j)
        m_direction[j] = static_cast<float>(v[j]);
    m_net.forward_tangent(m_direction, m_t_logits);
    m_loss_curvature.apply(m_t_logits, m_t_dlogits);
    if (m_kind == curvature_kind::hessian)
        m_net.backward_tangent(m_dlogits, m_t_dlogits);
    else
        m_net.backward(m_t_dlogits); // Jᵀ (∇²ℓ J v)
    out.resize(p);
    std::size_t j = 0;
    for (const parameter* t : m_net.parameters())
        for (const float g : t->grad) {
            out[j] = static_cast<double>(g) + (m_regulariser[j] + m_damping) * v[j];
            ++j;
        }
}

std::vector<double> curvature_product::explicit_matrix() {
    const std::size_t p = size();
    std::vector<double> a(p * p), e(p, 0.0), column;
    for (std::size_t j = 0; j < p; ++j) {
        e[j] = 1.0;
        apply(e, column);
        e[j] = 0.0;
        for (std::size_t i = 0; i < p; ++i)
            a[i * p + j] = column[i];
    }
    for (std::size_t i = 0; i < p; ++i)
        for (std::size_t j = i + 1; j < p; ++j)
            a[i * p + j] = a[j * p + i] = 0.5 * (a[i * p + j] + a[j * p + i]);
    return a;
}

cg_result conjugate_gradient(
    const std::function<void(const std::vector<double>&, std::vector<double>&)>& apply,
    const std::vector<double>& b, std::vector<double>& x, double tolerance,
    std::size_t max_iterations) {
    const std::size_t n = b.size();
    cg_result result;
    x.assign(n, 0.0);
    const double b_norm = std::sqrt(dot(b, b));
    if (b_norm == 0.0) {
        result.converged = true;
        return result;
    }
    std::vector<double> r = b, p = b, ap;
    double rr = dot(r, r);
    while (result.iterations < max_iterations) {
        if (std::sqrt(rr) <= tolerance * b_norm) {
            result.converged = true;
            break;
        }
        apply(p, ap);
        const double curvature = dot(p, ap);
        if (!(curvature > 0.0)) {
            result.indefinite = true;
            break;
        }
        const double alpha = rr / curvature;
        for (std::size_t i = 0; i < n; ++i) {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
        }
        const double rr_next = dot(r, r);
        const double beta = rr_next / rr;
        rr = rr_next;
        for (std::size_t i = 0; i < n; ++i)
            p[i] = r[i] + beta * p[i];
        ++result.iterations;
    }
    result.converged = result.converged || std::sqrt(rr) <= tolerance * b_norm;
    // The true residual of the x returned.
    apply(x, ap);
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i)
        res += (b[i] - ap[i]) * (b[i] - ap[i]);
    result.relative_residual = std::sqrt(res) / b_norm;
    return result;
}

} // namespace grokkit
