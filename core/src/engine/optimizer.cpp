// SGD, Adam and AdamW, matching torch.optim's update order for each.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/optimizer.hpp>

#include <cmath>

namespace grokkit {

optimizer::optimizer(std::vector<parameter*> params, optimizer_config config)
    : m_params(std::move(params)), m_config(std::move(config)) {
    if (m_config.kind != "sgd" && m_config.kind != "adam" && m_config.kind != "adamw")
        throw error("optimizer", "unknown kind \"" + m_config.kind + "\"", "sgd, adam or adamw");
    for (auto* p : m_params) {
        m_m.push_back(xt::zeros<float>(p->value.shape()));
        if (m_config.kind != "sgd")
            m_v.push_back(xt::zeros<float>(p->value.shape()));
    }
}

void optimizer::apply_penalties_and_clip() {
    const float l1 = static_cast<float>(m_config.l1), l2 = static_cast<float>(m_config.l2);
    if (l1 != 0.0f || l2 != 0.0f)
        for (auto* p : m_params) {
            float* g = p->grad.data();
            const float* w = p->value.data();
            for (std::size_t j = 0; j < p->value.size(); ++j) {
                if (l1 != 0.0f)
                    g[j] += l1 * static_cast<float>((w[j] > 0.0f) - (w[j] < 0.0f));
                if (l2 != 0.0f)
                    g[j] += l2 * w[j];
            }
        }
    if (m_config.clip_norm <= 0.0)
        return; // the norm is only needed to clip: a sequential sum over every weight is not free
    m_last_norm = std::sqrt(squared_norm());
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when norm > max_norm.
    if (m_last_norm > m_config.clip_norm) {
        const float scale = static_cast<float>(m_config.clip_norm / (m_last_norm + 1e-6));
        for (auto* p : m_params)
            for (float& g : p->grad)
                g *= scale;
    }
}

double optimizer::squared_norm() const {
    // Eight partial sums in a fixed order: vectorisable, and the same on every run.
    constexpr std::size_t lanes = 8;
    double part[lanes] = {};
    for (const auto* p : m_params) {
        const float* g = p->grad.data();
        const std::size_t n = p->grad.size(), whole = n - n % lanes;
        for (std::size_t j = 0; j < whole; j += lanes)
            for (std::size_t l = 0; l < lanes; ++l)
                part[l] += static_cast<double>(g[j + l]) * g[j + l];
        for (std::size_t j = whole; j < n; ++j)
            part[j - whole] += static_cast<double>(g[j]) * g[j];
    }
    double sq = 0.0;
    for (double x : part)
        sq += x;
    return sq;
}

void optimizer::step(double lr) {
    apply_penalties_and_clip();
    ++m_t;
    const float wd = static_cast<float>(m_config.weight_decay);
    if (m_config.kind == "sgd") {
        const float mu = static_cast<float>(m_config.momentum), rate = static_cast<float>(lr);
        for (std::size_t i = 0; i < m_params.size(); ++i) {
            parameter& p = *m_params[i];
            float* w = p.value.data();
            const float* g = p.grad.data();
            float* buf = m_m[i].data();
            for (std::size_t j = 0; j < p.value.size(); ++j) {
                const float d = g[j] + (p.decay ? wd * w[j] : 0.0f);
                // torch: the first step's buffer is the gradient itself.
                buf[j] = m_t == 1 ? d : mu * buf[j] + d;
                w[j] -= rate * (mu != 0.0f ? buf[j] : d);
            }
        }
        return;
    }
    const bool decoupled = m_config.kind == "adamw";
    const double bc1 = 1.0 - std::pow(m_config.beta1, static_cast<double>(m_t));
    const double bc2 = 1.0 - std::pow(m_config.beta2, static_cast<double>(m_t));
    const float b1 = static_cast<float>(m_config.beta1);
    const float b2 = static_cast<float>(m_config.beta2);
    const float step_size = static_cast<float>(lr / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const float eps = static_cast<float>(m_config.eps);
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        parameter& p = *m_params[i];
        const float decay =
            (decoupled && p.decay) ? static_cast<float>(1.0 - lr * m_config.weight_decay) : 1.0f;
        const float coupled = (!decoupled && p.decay) ? wd : 0.0f;
        float* w = p.value.data();
        const float* g = p.grad.data();
        float* m = m_m[i].data();
        float* v = m_v[i].data();
        const std::size_t n = p.value.size();
        for (std::size_t j = 0; j < n; ++j) {
            const float gj = g[j] + coupled * w[j];
            w[j] *= decay;
            m[j] = b1 * m[j] + (1.0f - b1) * gj;
            v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
            const float denom = std::sqrt(v[j]) / bc2_sqrt + eps;
            w[j] -= step_size * m[j] / denom;
        }
    }
}

std::vector<state_tensor> optimizer::state() {
    std::vector<state_tensor> s;
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        if (m_config.kind == "sgd") {
            s.push_back({m_params[i]->name + ".momentum", &m_m[i]});
            continue;
        }
        s.push_back({m_params[i]->name + ".m", &m_m[i]});
        s.push_back({m_params[i]->name + ".v", &m_v[i]});
    }
    return s;
}

} // namespace grokkit
