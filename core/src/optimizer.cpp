// AdamW with decoupled weight decay, matching torch.optim.AdamW's update order.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/optimizer.hpp>

#include <cmath>

namespace grokkit {

adamw::adamw(std::vector<parameter*> params, adamw_config config)
    : m_params(std::move(params)), m_config(config) {
    for (auto* p : m_params) {
        m_m.push_back(xt::zeros<float>(p->value.shape()));
        m_v.push_back(xt::zeros<float>(p->value.shape()));
    }
}

void adamw::step(double lr) {
    ++m_t;
    const double bc1 = 1.0 - std::pow(m_config.beta1, static_cast<double>(m_t));
    const double bc2 = 1.0 - std::pow(m_config.beta2, static_cast<double>(m_t));
    const float b1 = static_cast<float>(m_config.beta1);
    const float b2 = static_cast<float>(m_config.beta2);
    const float step_size = static_cast<float>(lr / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const float eps = static_cast<float>(m_config.eps);
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        parameter& p = *m_params[i];
        const float decay = p.decay ? static_cast<float>(1.0 - lr * m_config.weight_decay) : 1.0f;
        float* w = p.value.data();
        const float* g = p.grad.data();
        float* m = m_m[i].data();
        float* v = m_v[i].data();
        const std::size_t n = p.value.size();
        for (std::size_t j = 0; j < n; ++j) {
            w[j] *= decay;
            m[j] = b1 * m[j] + (1.0f - b1) * g[j];
            v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
            const float denom = std::sqrt(v[j]) / bc2_sqrt + eps;
            w[j] -= step_size * m[j] / denom;
        }
    }
}

std::vector<state_tensor> adamw::state() {
    std::vector<state_tensor> s;
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        s.push_back({m_params[i]->name + ".m", &m_m[i]});
        s.push_back({m_params[i]->name + ".v", &m_v[i]});
    }
    return s;
}

} // namespace grokkit
