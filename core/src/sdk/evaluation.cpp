// Evaluation environments: the model as an actor, and the interval of a mean.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/evaluation.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

namespace grokkit {

actor::~actor() = default;
reward_oracle::~reward_oracle() = default;
episode_environment::~episode_environment() = default;
expert_panel::~expert_panel() = default;

std::string actor::name() const {
    return "player";
}

std::string model_actor::name() const {
    char text[96];
    std::snprintf(text, sizeof text, "model, T = %g", m_config.temperature);
    std::string n = text;
    if (m_config.top_k > 0)
        n += ", top-k " + std::to_string(m_config.top_k);
    if (m_config.top_p < 1.0) {
        std::snprintf(text, sizeof text, ", top-p %g", m_config.top_p);
        n += text;
    }
    return n;
}

std::vector<reference_value> reward_oracle::reference_rewards(const dataset_split&, double) const {
    return {};
}

std::vector<rated_opponent> episode_environment::opponents(const dataset_split&) const {
    return {};
}

std::size_t episode_environment::episode_opponent(const dataset_split&, std::size_t) const {
    return 0;
}

model_actor::model_actor(model& net, std::size_t n_classes, sampling_config config, rng draws)
    : m_net(net), m_classes(n_classes), m_config(config), m_draws(draws) {
    check_sampling(config, "model_actor");
}

std::int32_t model_actor::act(const observation& state) {
    if (state.example.n != 1)
        throw error("model_actor",
                    "an observation of " + std::to_string(state.example.n) + " examples",
                    "one example per state");
    m_net.forward(state.example, m_logits);
    if (m_logits.shape(1) != m_classes)
        throw error("model_actor", "logits of " + std::to_string(m_logits.shape(1)) + " classes",
                    std::to_string(m_classes) + " classes, as the dataset has");
    return sample_action(m_logits.data(), m_classes, state.example.mask, 0, m_config, m_draws);
}

interval_estimate mean_interval(const std::vector<double>& values, double z) {
    interval_estimate e;
    e.n = values.size();
    if (values.empty()) {
        e.mean = e.lower = e.upper = std::numeric_limits<double>::quiet_NaN();
        return e;
    }
    double sum = 0.0;
    for (const double v : values)
        sum += v;
    e.mean = sum / static_cast<double>(e.n);
    double squares = 0.0;
    for (const double v : values)
        squares += (v - e.mean) * (v - e.mean);
    // One value says nothing about the spread: the interval is unbounded, never [mean, mean].
    const double se =
        e.n > 1 ? std::sqrt(squares / static_cast<double>(e.n - 1) / static_cast<double>(e.n))
                : std::numeric_limits<double>::infinity();
    e.lower = e.mean - z * se;
    e.upper = e.mean + z * se;
    return e;
}

} // namespace grokkit
