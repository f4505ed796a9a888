// Evaluation environments: what a dataset may offer an analysis that measures a model by the
// reward of its actions rather than by its loss. An analysis finds each capability with
// dynamic_cast on analysis_context::source() (or analysis_setup::source), so one analysis
// serves a toy with exact rewards and a game against an engine alike.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/export.hpp>
#include <grokkit/model.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/sampling.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace grokkit {

/// What an actor sees of a state: the state as one example the model reads (its tokens or
/// features, and its allowed actions as the mask), and the environment's own text for it (a
/// position's FEN) for actors that are not models.
struct observation {
    batch example;         ///< example.n == 1
    std::string_view text; ///< may be empty
};

/// Whatever chooses actions: the evaluated model at a temperature, or one of the experts.
class GROKKIT_VISIBLE actor {
  public:
    virtual ~actor();
    /// The action in `state`: a class in [0, n_classes) that the example's mask allows.
    virtual std::int32_t act(const observation& state) = 0;
    /// Who plays, for an episode's record ("model, T = 0.1"); "player" by default.
    virtual std::string name() const;
};

/// The model as an actor: its logits for the example, drawn from by sample_action with its own
/// stream of draws (key it by what it plays: a temperature and an episode).
class GROKKIT_VISIBLE model_actor final : public actor {
  public:
    model_actor(model& net, std::size_t n_classes, sampling_config config, rng draws);
    std::int32_t act(const observation& state) override;
    /// "model, T = 0.1" (with top-k and top-p when set).
    std::string name() const override;

  private:
    model& m_net;
    std::size_t m_classes;
    sampling_config m_config;
    rng m_draws;
    xt::xtensor<float, 2> m_logits;
};

/// A named value beside a measured curve (the dataset's exact answer for a policy of its own).
struct reference_value {
    std::string name;
    double reward = 0.0;
};

/// Capability: a fixed set of evaluation states with a known reward for every action.
class GROKKIT_VISIBLE reward_oracle {
  public:
    virtual ~reward_oracle();
    /// The states, one example each (with each state's allowed actions as the mask): a pure
    /// function of `data`.
    virtual example_set reward_states(const dataset_split& data) const = 0;
    /// The reward of each of the n_classes actions in state `state` of reward_states().
    virtual std::vector<double> action_rewards(const dataset_split& data,
                                               std::size_t state) const = 0;
    /// Rewards the dataset knows in closed form over the same states at `temperature` (a
    /// mixture of its experts sampled at that temperature), in a fixed order of names; none
    /// by default.
    virtual std::vector<reference_value> reference_rewards(const dataset_split& data,
                                                           double temperature) const;
};

/// How one episode ended.
struct episode_result {
    double reward = 0.0;  ///< the player's score (a game: 1 win, 0.5 draw, 0 loss)
    bool aborted = false; ///< it could not finish (an engine died): recorded, never scored
    std::string record;   ///< the episode as text (a game's PGN), stored in the run file
};

/// An opponent an environment's episodes are played against, at a known rating.
struct rated_opponent {
    std::string name;
    double rating = 1500.0; ///< on the Elo scale, which Glicko shares
    double deviation = 0.0; ///< its uncertainty (a Glicko RD); 0 for a fixed rating
};

/// Capability: episodes in which the evaluated player acts (games against an opponent).
class GROKKIT_VISIBLE episode_environment {
  public:
    virtual ~episode_environment();
    /// The episodes of one evaluation.
    virtual std::size_t episode_count(const dataset_split& data) const = 0;
    /// Plays episode `index` with `player` taking the evaluated side's actions. `seed` keys the
    /// environment's own draws and is the same for every player, so the model at each
    /// temperature and each expert face the same episodes. Called from several threads at once
    /// with different players.
    virtual episode_result play(const dataset_split& data, std::size_t index, actor& player,
                                std::uint64_t seed) const = 0;
    /// The opponents of the episodes, when they are rated: the analysis then rates every player
    /// from its scores against them (rewards must be scores in [0, 1]). None by default.
    virtual std::vector<rated_opponent> opponents(const dataset_split& data) const;
    /// The opponent of episode `index`: an index into opponents().
    virtual std::size_t episode_opponent(const dataset_split& data, std::size_t index) const;
};

/// Capability: the experts whose actions the training data holds, measured as the model is.
class GROKKIT_VISIBLE expert_panel {
  public:
    virtual ~expert_panel();
    /// One name per expert, in a fixed order ("expert 0 (accuracy 0.6)").
    virtual std::vector<std::string> expert_names(const dataset_split& data) const = 0;
    /// Expert `k` as an actor; any randomness of its own comes from `seed`. Called from several
    /// threads at once (one actor per episode).
    virtual std::unique_ptr<actor> expert(const dataset_split& data, std::size_t k,
                                          std::uint64_t seed) const = 0;
};

/// A mean with a confidence interval.
struct interval_estimate {
    double mean = 0.0;
    double lower = 0.0;
    double upper = 0.0;
    std::size_t n = 0;
};

/// The mean of `values` and its normal-approximation interval, mean ± z · s / sqrt(n) with s the
/// sample standard deviation (z = 1.96: 95%): what the mean of the population the values were
/// drawn from may be. NaN for no values; for one value the bounds are infinite. When every value
/// is the same the interval has width 0, as the approximation gives it.
interval_estimate mean_interval(const std::vector<double>& values, double z = 1.959963984540054);

} // namespace grokkit
