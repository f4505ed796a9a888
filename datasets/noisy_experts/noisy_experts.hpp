// The noisy_experts dataset: a toy in which the transcendence of Zhang et al. (2024) is exact.
// Many independent states each have one correct action among m; K experts of given accuracies
// each choose one action per state, making their mistakes independently or together; the
// training data is the experts' choices, each example drawn from one expert by its weight.
// It offers a reward oracle (the reward of every action is known), an environment of
// episodes over the states, and its experts, so low_temperature can measure the model and
// the experts alike, and it gives the closed-form reward of the experts' mixture.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/dataset.hpp>
#include <grokkit/evaluation.hpp>

#include <cstdint>
#include <vector>

namespace noisy_experts {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t n_states = 500;
    std::int64_t n_actions = 10;
    std::vector<double> accuracy{0.6, 0.6, 0.6, 0.6, 0.6};
    std::vector<double> weights;
    double error_correlation = 0.0;
    std::int64_t samples_per_state = 10;
    std::int64_t test_per_state = 2;
    std::int64_t episodes = 200;
    std::int64_t episode_length = 10;
};

/// What generate() decides per state: the correct action, and each expert's choice.
struct experts_table {
    std::size_t n_states = 0, n_actions = 0, n_experts = 0;
    std::vector<std::int32_t> correct; ///< (n_states)
    std::vector<std::int32_t> choice;  ///< (n_experts, n_states) row-major
    std::vector<std::uint8_t> shared;  ///< (n_states): 1 where the experts erred together
    std::vector<double> weights;       ///< (n_experts), summing to 1
};

/// The experts' choices: a pure function of `p` and `seed`. In each state, with probability
/// error_correlation the experts share one uniform u and one wrong action (expert k is right iff u
/// < accuracy[k], so a weaker expert's mistakes include a stronger one's and all are the same
/// mistake); otherwise each is right with its accuracy independently and picks its wrong action
/// uniformly among the m - 1.
experts_table draw_experts(const params& p, std::uint64_t seed);

/// The expected reward over the states of a policy that, in each state, samples at
/// `temperature` from the probabilities `mixture` (n_states x n_actions, each row summing to 1):
/// p_T(a) ∝ p(a)^(1/T), and at T = 0 the limit, uniform over the most probable actions.
double tempered_reward(const std::vector<double>& mixture, const std::vector<std::int32_t>& correct,
                       std::size_t n_actions, double temperature);

/// The experts' exact mixture, row per state: sum_k weight_k [choice_k(s) = a].
std::vector<double> exact_mixture(const experts_table& t);
/// The empirical mixture of labelled examples: per state, the share of its examples with each
/// action (uniform for a state without examples).
std::vector<double> empirical_mixture(const xt::xtensor<std::int32_t, 2>& states,
                                      const xt::xtensor<std::int32_t, 1>& labels,
                                      std::size_t n_states, std::size_t n_actions);

class dataset_impl : public grokkit::dataset,
                     public grokkit::reward_oracle,
                     public grokkit::episode_environment,
                     public grokkit::expert_panel {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    grokkit::dataset_split generate(std::uint64_t seed) const override;

    grokkit::example_set reward_states(const grokkit::dataset_split& data) const override;
    std::vector<double> action_rewards(const grokkit::dataset_split& data,
                                       std::size_t state) const override;
    std::vector<grokkit::reference_value> reference_rewards(const grokkit::dataset_split& data,
                                                            double temperature) const override;

    std::size_t episode_count(const grokkit::dataset_split& data) const override;
    grokkit::episode_result play(const grokkit::dataset_split& data, std::size_t index,
                                 grokkit::actor& player, std::uint64_t seed) const override;

    std::vector<std::string> expert_names(const grokkit::dataset_split& data) const override;
    std::unique_ptr<grokkit::actor> expert(const grokkit::dataset_split& data, std::size_t k,
                                           std::uint64_t seed) const override;

    params m_params;
};

} // namespace noisy_experts
