// noisy_experts: the experts' choices, the examples drawn from them, and the closed forms.
// SPDX-License-Identifier: Apache-2.0
#include "noisy_experts.hpp"

#include <grokkit/error.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>

namespace noisy_experts {

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("n_states", p.n_states, "independent states, each with one correct action")
        .at_least(1)
        .at_most(1'000'000);
    ps.add("n_actions", p.n_actions, "m: actions per state, one of them correct")
        .at_least(2)
        .at_most(4096);
    ps.add("accuracy", p.accuracy,
           "each expert's chance of choosing a state's correct action (K experts, one per value)")
        .at_least(0)
        .at_most(1)
        .non_empty();
    ps.add("weights", p.weights,
           "each expert's share of the examples (normalised); empty: equal shares")
        .above(0);
    ps.add("error_correlation", p.error_correlation,
           "chance that a state's mistakes are shared: there the experts draw one uniform u "
           "(expert k is right iff u < accuracy_k) and make one same mistake; 0: independent "
           "errors, 1: all shared")
        .at_least(0)
        .at_most(1);
    ps.add("samples_per_state", p.samples_per_state,
           "training examples per state, each an action of an expert drawn by weight")
        .at_least(1)
        .at_most(100'000);
    ps.add("test_per_state", p.test_per_state, "held-out examples per state, drawn the same way")
        .at_least(1)
        .at_most(100'000);
    ps.add("episodes", p.episodes,
           "episodes of one evaluation as an environment (each visits episode_length states "
           "drawn uniformly; its reward is the share of them acted on correctly)")
        .at_least(1)
        .at_most(1'000'000);
    ps.add("episode_length", p.episode_length, "states each episode visits")
        .at_least(1)
        .at_most(100'000);
    ps.check("weights", "one weight per expert (as many as accuracy has), or none",
             [&p]() -> std::optional<std::string> {
                 if (!p.weights.empty() && p.weights.size() != p.accuracy.size())
                     return std::to_string(p.weights.size()) + " weights for " +
                            std::to_string(p.accuracy.size()) + " experts";
                 return std::nullopt;
             });
    ps.check("n_states",
             "n_states x samples_per_state (and x test_per_state) at most 10,000,000 examples",
             [&p]() -> std::optional<std::string> {
                 const auto per_state = std::max(p.samples_per_state, p.test_per_state);
                 if (p.n_states * per_state > 10'000'000)
                     return std::to_string(p.n_states * per_state) + " examples in one set";
                 return std::nullopt;
             });
}

grokkit::input_spec dataset_impl::spec() const {
    grokkit::input_spec s;
    s.n_tokens = 1;
    s.vocab_size = static_cast<std::size_t>(m_params.n_states);
    s.n_classes = static_cast<std::size_t>(m_params.n_actions);
    s.token_names = {"state"};
    return s;
}

experts_table draw_experts(const params& p, std::uint64_t seed) {
    experts_table t;
    t.n_states = static_cast<std::size_t>(p.n_states);
    t.n_actions = static_cast<std::size_t>(p.n_actions);
    t.n_experts = p.accuracy.size();
    t.weights = p.weights.empty() ? std::vector<double>(t.n_experts, 1.0) : p.weights;
    const double total = std::accumulate(t.weights.begin(), t.weights.end(), 0.0);
    for (auto& w : t.weights)
        w /= total;
    t.correct.resize(t.n_states);
    t.shared.resize(t.n_states);
    t.choice.resize(t.n_experts * t.n_states);
    const auto wrong = [&](grokkit::rng& r, std::int32_t right) {
        // Uniform among the m - 1 actions other than `right`.
        const auto a = static_cast<std::int32_t>(r.below(t.n_actions - 1));
        return a >= right ? a + 1 : a;
    };
    for (std::size_t s = 0; s < t.n_states; ++s) {
        grokkit::rng r(seed, "noisy_experts state", s);
        const auto right = static_cast<std::int32_t>(r.below(t.n_actions));
        t.correct[s] = right;
        t.shared[s] = r.uniform() < p.error_correlation ? 1 : 0;
        const double u = r.uniform();
        const std::int32_t common = wrong(r, right);
        for (std::size_t k = 0; k < t.n_experts; ++k) {
            const double v = t.shared[s] ? u : r.uniform();
            t.choice[k * t.n_states + s] =
                v < p.accuracy[k] ? right : (t.shared[s] ? common : wrong(r, right));
        }
    }
    return t;
}

namespace {

// `per_state` examples of every state, each an action of an expert drawn by weight with
// rng(seed, purpose, state); `which` gets each example's expert.
grokkit::example_set draw_examples(const experts_table& t, std::size_t per_state,
                                   std::uint64_t seed, const char* purpose,
                                   std::vector<std::int64_t>& which) {
    grokkit::example_set set;
    const std::size_t n = t.n_states * per_state;
    set.tokens = xt::zeros<std::int32_t>({n, std::size_t{1}});
    set.labels = xt::zeros<std::int32_t>({n});
    which.assign(n, 0);
    for (std::size_t s = 0; s < t.n_states; ++s) {
        grokkit::rng r(seed, purpose, s);
        for (std::size_t j = 0; j < per_state; ++j) {
            const double u = r.uniform();
            std::size_t k = 0;
            for (double cumulative = t.weights[0]; k + 1 < t.n_experts && u >= cumulative;)
                cumulative += t.weights[++k];
            const std::size_t i = s * per_state + j;
            set.tokens(i, 0) = static_cast<std::int32_t>(s);
            set.labels(i) = t.choice[k * t.n_states + s];
            which[i] = static_cast<std::int64_t>(k);
        }
    }
    return set;
}

const grokkit::dataset_record& record(const grokkit::dataset_split& data, const char* name) {
    for (const auto& r : data.records)
        if (r.name == name)
            return r;
    throw grokkit::error("noisy_experts", std::string("a split without the record ") + name,
                         "a split generated by noisy_experts");
}

// The experts' table as generate() recorded it in `data` (weights from the parameters).
experts_table table_of(const params& p, const grokkit::dataset_split& data) {
    experts_table t;
    t.n_states = static_cast<std::size_t>(p.n_states);
    t.n_actions = static_cast<std::size_t>(p.n_actions);
    t.n_experts = p.accuracy.size();
    const auto& correct = record(data, "correct_action").values;
    const auto& choice = record(data, "expert_action").values;
    if (correct.size() != t.n_states || choice.size() != t.n_experts * t.n_states)
        throw grokkit::error("noisy_experts", "records of another size than the parameters give",
                             "the split this dataset generated with these parameters");
    t.correct.assign(correct.begin(), correct.end());
    t.choice.assign(choice.begin(), choice.end());
    t.weights = p.weights.empty() ? std::vector<double>(t.n_experts, 1.0) : p.weights;
    const double total = std::accumulate(t.weights.begin(), t.weights.end(), 0.0);
    for (auto& w : t.weights)
        w /= total;
    return t;
}

} // namespace

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    grokkit::check_declared(*this, "noisy_experts.generate"); // for direct callers
    const params& p = m_params;
    const experts_table t = draw_experts(p, seed);
    grokkit::dataset_split out;
    std::vector<std::int64_t> train_expert, test_expert;
    out.train = draw_examples(t, static_cast<std::size_t>(p.samples_per_state), seed,
                              "noisy_experts train", train_expert);
    out.test = draw_examples(t, static_cast<std::size_t>(p.test_per_state), seed,
                             "noisy_experts test", test_expert);
    out.records = {
        grokkit::make_record("correct_action", "each state's correct action", t.correct),
        grokkit::make_record("expert_action", "the action each expert chooses in each state",
                             t.choice, {t.n_experts, t.n_states}),
        grokkit::make_record("shared_error",
                             "1 where the state's mistakes are shared (error_correlation)",
                             t.shared),
        grokkit::make_record("train_expert", "the expert of each training example", train_expert),
        grokkit::make_record("test_expert", "the expert of each test example", test_expert)};
    out.attributes = {{"n_states", p.n_states},
                      {"n_actions", p.n_actions},
                      {"n_experts", static_cast<std::int64_t>(t.n_experts)}};
    return out;
}

double tempered_reward(const std::vector<double>& mixture, const std::vector<std::int32_t>& correct,
                       std::size_t n_actions, double temperature) {
    double total = 0.0;
    for (std::size_t s = 0; s < correct.size(); ++s) {
        const double* p = mixture.data() + s * n_actions;
        const double top = *std::max_element(p, p + n_actions);
        // p^(1/T) relative to the largest, so small T neither underflows nor overflows. At T = 0
        // shares equal but for rounding (weights 0.1 + 0.3 against 0.4) are a tie.
        const double tied = top * (1.0 - 1e-12);
        double z = 0.0, right = 0.0;
        for (std::size_t a = 0; a < n_actions; ++a) {
            const double w = p[a] <= 0.0        ? 0.0
                             : temperature == 0 ? (p[a] >= tied ? 1.0 : 0.0)
                                                : std::pow(p[a] / top, 1.0 / temperature);
            z += w;
            if (static_cast<std::int32_t>(a) == correct[s])
                right = w;
        }
        total += right / z;
    }
    return correct.empty() ? std::nan("") : total / static_cast<double>(correct.size());
}

std::vector<double> exact_mixture(const experts_table& t) {
    std::vector<double> m(t.n_states * t.n_actions, 0.0);
    for (std::size_t k = 0; k < t.n_experts; ++k)
        for (std::size_t s = 0; s < t.n_states; ++s)
            m[s * t.n_actions + static_cast<std::size_t>(t.choice[k * t.n_states + s])] +=
                t.weights[k];
    return m;
}

std::vector<double> empirical_mixture(const xt::xtensor<std::int32_t, 2>& states,
                                      const xt::xtensor<std::int32_t, 1>& labels,
                                      std::size_t n_states, std::size_t n_actions) {
    std::vector<double> m(n_states * n_actions, 0.0);
    std::vector<double> count(n_states, 0.0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto s = static_cast<std::size_t>(states(i, 0));
        m[s * n_actions + static_cast<std::size_t>(labels(i))] += 1.0;
        count[s] += 1.0;
    }
    for (std::size_t s = 0; s < n_states; ++s)
        for (std::size_t a = 0; a < n_actions; ++a)
            m[s * n_actions + a] = count[s] > 0 ? m[s * n_actions + a] / count[s]
                                                : 1.0 / static_cast<double>(n_actions);
    return m;
}

grokkit::example_set dataset_impl::reward_states(const grokkit::dataset_split& data) const {
    const experts_table t = table_of(m_params, data);
    grokkit::example_set set;
    set.tokens = xt::zeros<std::int32_t>({t.n_states, std::size_t{1}});
    set.labels = xt::zeros<std::int32_t>({t.n_states});
    for (std::size_t s = 0; s < t.n_states; ++s) {
        set.tokens(s, 0) = static_cast<std::int32_t>(s);
        set.labels(s) = t.correct[s];
    }
    return set;
}

std::vector<double> dataset_impl::action_rewards(const grokkit::dataset_split& data,
                                                 std::size_t state) const {
    const auto& correct = record(data, "correct_action").values;
    if (state >= correct.size())
        throw grokkit::error("noisy_experts.action_rewards", "state " + std::to_string(state),
                             "a state below " + std::to_string(correct.size()));
    std::vector<double> r(static_cast<std::size_t>(m_params.n_actions), 0.0);
    r[static_cast<std::size_t>(correct[state])] = 1.0;
    return r;
}

std::vector<grokkit::reference_value>
dataset_impl::reference_rewards(const grokkit::dataset_split& data, double temperature) const {
    const experts_table t = table_of(m_params, data);
    return {
        {"exact mixture", tempered_reward(exact_mixture(t), t.correct, t.n_actions, temperature)},
        {"empirical mixture",
         tempered_reward(
             empirical_mixture(data.train.tokens, data.train.labels, t.n_states, t.n_actions),
             t.correct, t.n_actions, temperature)}};
}

std::size_t dataset_impl::episode_count(const grokkit::dataset_split&) const {
    return static_cast<std::size_t>(m_params.episodes);
}

grokkit::episode_result dataset_impl::play(const grokkit::dataset_split& data, std::size_t index,
                                           grokkit::actor& player, std::uint64_t seed) const {
    const auto& correct = record(data, "correct_action").values;
    grokkit::rng r(seed, "noisy_experts episode", index);
    grokkit::episode_result result;
    double right = 0.0;
    for (std::int64_t i = 0; i < m_params.episode_length; ++i) {
        const auto s = static_cast<std::int32_t>(r.below(correct.size()));
        grokkit::observation o;
        o.example.tokens = &s;
        o.example.n = 1;
        const std::string text = "state " + std::to_string(s);
        o.text = text;
        const std::int32_t action = player.act(o);
        if (action == correct[static_cast<std::size_t>(s)])
            right += 1.0;
        // The record: "state:action" per step, a trailing * where the action was correct.
        if (i)
            result.record += ' ';
        result.record += std::to_string(s);
        result.record += ':';
        result.record += std::to_string(action);
        if (action == correct[static_cast<std::size_t>(s)])
            result.record += '*';
    }
    result.reward = right / static_cast<double>(m_params.episode_length);
    return result;
}

std::vector<std::string> dataset_impl::expert_names(const grokkit::dataset_split&) const {
    const auto& p = m_params;
    std::vector<std::string> names;
    for (std::size_t k = 0; k < p.accuracy.size(); ++k) {
        char text[96];
        const double w = p.weights.empty() ? 1.0 / static_cast<double>(p.accuracy.size())
                                           : p.weights[k] / std::accumulate(p.weights.begin(),
                                                                            p.weights.end(), 0.0);
        std::snprintf(text, sizeof text, "expert %zu (accuracy %.3g, weight %.3g)", k,
                      p.accuracy[k], w);
        names.emplace_back(text);
    }
    return names;
}

namespace {

// Expert k: in state s it always chooses its action of the table.
class table_expert final : public grokkit::actor {
  public:
    explicit table_expert(std::vector<std::int32_t> choice) : m_choice(std::move(choice)) {}
    std::int32_t act(const grokkit::observation& o) override {
        if (o.example.tokens == nullptr || o.example.n != 1)
            throw grokkit::error("noisy_experts expert", "an observation without one state token",
                                 "a state of this dataset");
        const auto s = static_cast<std::size_t>(o.example.tokens[0]);
        if (s >= m_choice.size())
            throw grokkit::error("noisy_experts expert", "state " + std::to_string(s),
                                 "a state below " + std::to_string(m_choice.size()));
        return m_choice[s];
    }

  private:
    std::vector<std::int32_t> m_choice;
};

} // namespace

std::unique_ptr<grokkit::actor> dataset_impl::expert(const grokkit::dataset_split& data,
                                                     std::size_t k, std::uint64_t) const {
    const experts_table t = table_of(m_params, data);
    if (k >= t.n_experts)
        throw grokkit::error("noisy_experts.expert", "expert " + std::to_string(k),
                             "one of the " + std::to_string(t.n_experts) + " experts");
    return std::make_unique<table_expert>(std::vector<std::int32_t>(
        t.choice.begin() + static_cast<std::ptrdiff_t>(k * t.n_states),
        t.choice.begin() + static_cast<std::ptrdiff_t>((k + 1) * t.n_states)));
}

} // namespace noisy_experts
