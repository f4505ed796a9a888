// Tests of noisy_experts: the experts' accuracies and error structure, the closed-form rewards
// of their mixture (majority vote at T -> 0, the mean accuracy at T = 1), and the capabilities
// (oracle, episodes, experts) low_temperature reads.
// SPDX-License-Identifier: Apache-2.0
#include "noisy_experts.hpp"

#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

namespace {

// Each expert's share of states where it chooses the correct action.
std::vector<double> measured_accuracy(const noisy_experts::experts_table& t) {
    std::vector<double> acc(t.n_experts, 0.0);
    for (std::size_t k = 0; k < t.n_experts; ++k) {
        for (std::size_t s = 0; s < t.n_states; ++s)
            acc[k] += t.choice[k * t.n_states + s] == t.correct[s] ? 1.0 : 0.0;
        acc[k] /= static_cast<double>(t.n_states);
    }
    return acc;
}

// An actor that always knows the answer.
class oracle_actor final : public grokkit::actor {
  public:
    explicit oracle_actor(std::vector<std::int64_t> correct) : m_correct(std::move(correct)) {}
    std::int32_t act(const grokkit::observation& o) override {
        return static_cast<std::int32_t>(m_correct[static_cast<std::size_t>(o.example.tokens[0])]);
    }

  private:
    std::vector<std::int64_t> m_correct;
};

} // namespace

TEST_CASE("noisy_experts: experts have their accuracies; T = 1 gives the mean accuracy",
          "[noisy_experts]") {
    noisy_experts::params p;
    p.n_states = 20000;
    p.accuracy = {0.3, 0.6, 0.9};
    p.weights = {1.0, 2.0, 1.0};
    const auto t = noisy_experts::draw_experts(p, 3);
    const auto acc = measured_accuracy(t);
    for (std::size_t k = 0; k < 3; ++k)
        CHECK(std::abs(acc[k] - p.accuracy[k]) < 0.015); // 4 standard errors
    // At T = 1 the mixture picks the right action with probability sum_k w_k [right], exactly.
    const double mean = 0.25 * acc[0] + 0.5 * acc[1] + 0.25 * acc[2];
    CHECK(noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 10, 1.0) ==
          Approx(mean).epsilon(1e-12));
}

TEST_CASE("noisy_experts: independent errors are voted away at low temperature",
          "[noisy_experts]") {
    noisy_experts::params p;
    p.n_states = 20000;
    p.n_actions = 1000; // wrong actions (almost) never coincide
    p.accuracy = {0.6, 0.6, 0.6};
    const auto t = noisy_experts::draw_experts(p, 5);
    // Right when at least 2 of 3 are right; with exactly one right, a three-way tie: 1/3.
    const double q = 0.6, majority = 3 * q * q * (1 - q) + q * q * q + q * (1 - q) * (1 - q);
    const double cold =
        noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 1000, 0.0);
    CHECK(std::abs(cold - majority) < 0.015);
    CHECK(cold > 0.7);
    // Sharper than T = 1 (the mean accuracy, 0.6) and continuous towards T = 0.
    CHECK(noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 1000, 1.0) <
          cold - 0.1);
    CHECK(noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 1000, 0.01) ==
          Approx(cold).margin(1e-6));
}

TEST_CASE("noisy_experts: the T = 0 limit splits ties, also between sums of unequal weights",
          "[noisy_experts]") {
    // One state, four actions, action 0 correct. Weights 0.1 + 0.2 (right) against 0.3 (wrong):
    // a tie, though 0.1 + 0.2 != 0.3 in binary; the limit gives each half.
    const std::vector<std::int32_t> correct{0};
    std::vector<double> mix{0.1, 0.3, 0.0, 0.0};
    mix[0] += 0.2;
    mix[2] = 0.1;
    REQUIRE(mix[0] != mix[1]);
    CHECK(noisy_experts::tempered_reward(mix, correct, 4, 0.0) == Approx(0.5).epsilon(1e-12));
    CHECK(noisy_experts::tempered_reward(mix, correct, 4, 1e-3) == Approx(0.5).epsilon(1e-6));
    // Unequal weights through exact_mixture: weights 1, 2, 3 over experts choosing 0, 0, 1.
    noisy_experts::experts_table t;
    t.n_states = 1;
    t.n_actions = 4;
    t.n_experts = 3;
    t.correct = {0};
    t.choice = {0, 0, 1};
    t.weights = {1.0 / 6, 2.0 / 6, 3.0 / 6};
    const auto tie = noisy_experts::exact_mixture(t);
    CHECK(noisy_experts::tempered_reward(tie, t.correct, 4, 0.0) == Approx(0.5).epsilon(1e-12));
    CHECK(noisy_experts::tempered_reward(tie, t.correct, 4, 0.5) == Approx(0.5).epsilon(1e-9));
    // Right with 0.4 against 0.6: never at T = 0, 0.4 at T = 1, 0.16 / (0.16 + 0.36) at T = 0.5.
    t.weights = {0.2, 0.2, 0.6};
    const auto m = noisy_experts::exact_mixture(t);
    CHECK(noisy_experts::tempered_reward(m, t.correct, 4, 0.0) == 0.0);
    CHECK(noisy_experts::tempered_reward(m, t.correct, 4, 1.0) == Approx(0.4));
    CHECK(noisy_experts::tempered_reward(m, t.correct, 4, 0.5) == Approx(0.16 / 0.52));
}

TEST_CASE("noisy_experts: shared errors and a dominant expert leave no transcendence",
          "[noisy_experts]") {
    noisy_experts::params p;
    p.n_states = 20000;
    p.accuracy = {0.4, 0.5, 0.6, 0.7, 0.8};
    p.error_correlation = 1.0;
    auto t = noisy_experts::draw_experts(p, 7);
    // One shared uniform: the majority (3 of 5) is right iff u < 0.6, the median accuracy.
    double cold = noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 10, 0);
    CHECK(std::abs(cold - 0.6) < 0.015);
    CHECK(cold < measured_accuracy(t)[4]);
    for (std::size_t s = 0; s < t.n_states; ++s)
        REQUIRE(t.shared[s] == 1);
    // A dominant expert (2/3 of the data) decides every state: the mixture is as good as it.
    p.error_correlation = 0.0;
    p.accuracy = {0.5, 0.7, 0.7, 0.7, 0.7};
    p.weights = {8, 1, 1, 1, 1};
    t = noisy_experts::draw_experts(p, 7);
    cold = noisy_experts::tempered_reward(noisy_experts::exact_mixture(t), t.correct, 10, 0);
    CHECK(cold == Approx(measured_accuracy(t)[0]).epsilon(1e-12));
}

TEST_CASE("noisy_experts: the split, its records and the capabilities", "[noisy_experts]") {
    noisy_experts::dataset_impl d;
    d.m_params.n_states = 50;
    d.m_params.samples_per_state = 4;
    d.m_params.test_per_state = 2;
    const auto data = d.generate(1);
    CHECK(data.train.size() == 200);
    CHECK(data.test.size() == 100);
    CHECK(d.spec().vocab_size == 50);
    const auto again = d.generate(1);
    CHECK(
        std::equal(data.train.labels.begin(), data.train.labels.end(), again.train.labels.begin()));
    const auto states = d.reward_states(data);
    REQUIRE(states.size() == 50);
    // The empirical mixture's rows are distributions; its T = 1 reward is the labels' accuracy.
    const auto emp = noisy_experts::empirical_mixture(data.train.tokens, data.train.labels, 50, 10);
    double right = 0.0;
    for (std::size_t i = 0; i < data.train.size(); ++i) {
        const auto s = static_cast<std::size_t>(data.train.tokens(i, 0));
        right += data.train.labels(i) == states.labels(s) ? 1.0 : 0.0;
    }
    const auto refs = d.reference_rewards(data, 1.0);
    REQUIRE(refs.size() == 2);
    CHECK(refs[1].name == "empirical mixture");
    CHECK(refs[1].reward == Approx(right / 200.0).epsilon(1e-12));
    for (std::size_t s = 0; s < 50; ++s) {
        const auto r = d.action_rewards(data, s);
        CHECK(r[static_cast<std::size_t>(states.labels(s))] == 1.0);
        CHECK(std::accumulate(r.begin(), r.end(), 0.0) == 1.0);
        CHECK(std::accumulate(emp.begin() + long(s * 10), emp.begin() + long(s * 10 + 10), 0.0) ==
              Approx(1.0));
    }
    // Episodes: an actor that knows the answers scores 1; an expert about its accuracy.
    std::vector<std::int64_t> correct(states.labels.begin(), states.labels.end());
    oracle_actor perfect(correct);
    CHECK(d.play(data, 3, perfect, 9).reward == 1.0);
    CHECK(d.expert_names(data).size() == 5);
    auto expert = d.expert(data, 2, 0);
    double total = 0.0;
    for (std::size_t e = 0; e < 400; ++e)
        total += d.play(data, e, *expert, 9).reward;
    double accuracy = 0.0; // expert 2's share of right states, from the records
    for (std::size_t s = 0; s < 50; ++s)
        accuracy += expert->act({grokkit::slice_batch(states, s, 1), {}}) == states.labels(s);
    CHECK(std::abs(total / 400 - accuracy / 50) < 0.05); // 4000 visits: 6 standard errors
    CHECK_THROWS_AS(d.expert(data, 5, 0), grokkit::error);
    d.m_params.weights = {1.0, 2.0};
    CHECK_THROWS_AS(d.generate(1), grokkit::error);
}
