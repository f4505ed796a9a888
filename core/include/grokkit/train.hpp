// Training as a library call: the one training configuration, the trainer `grokkit run` drives,
// and train() for analyses that retrain (leave-one-out, random subsets).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/export.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/optimizer.hpp>
#include <grokkit/params.hpp>

#include <xtensor/xtensor.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace grokkit {

/// The training configuration: the pipeline's [train] section, and what analyses retrain with.
/// Its defaults are written once: here, and in loss_config and optimizer_config it holds.
struct GROKKIT_VISIBLE train_config {
    std::int64_t steps = 1000;
    loss_config loss;
    optimizer_config optimizer;
    double lr = 1e-3;
    std::string schedule = "constant";
    double min_lr = 0.0;
    std::int64_t warmup_steps = 0;
    std::int64_t batch_size = 0; ///< 0: full batch
    std::int64_t eval_every = 100;
    std::int64_t checkpoint_every = 1000;

    /// Binds, documents and constrains every [train] key.
    void declare(param_set& ps);
    /// Learning rate of the update taken at `step`: the schedule, then the warm-up factor.
    double learning_rate(std::int64_t step) const;
    /// Whether `step` has a scheduled checkpoint (every checkpoint_every steps, and the last).
    bool on_schedule(std::int64_t step) const {
        return step % checkpoint_every == 0 || step == steps;
    }
};

/// Drives one model on one training set with a train_config. Every random draw is keyed by the
/// step (batches by (seed, "batch", epoch)), so the state needed to resume is the parameters
/// and optimizer state alone.
class GROKKIT_VISIBLE trainer {
  public:
    /// `net` must be built; `train` must outlive the trainer.
    trainer(model& net, const example_set& train, const train_config& cfg, std::uint64_t seed);

    /// Names of the values evaluate() returns, in order.
    static std::vector<std::string> metric_names();
    /// train_loss, train_accuracy, test_loss, test_accuracy, lr at `step` with the current
    /// parameters (the accuracies NaN for real-valued targets, whose losses are the risks). With
    /// full-batch training the train forward pass also leaves the gradients of the update at `step`
    /// in place, so evaluating changes no parameter.
    std::vector<double> evaluate(std::int64_t step, const example_set& test);
    /// Forward and backward on the batch of `step`, unless evaluate() already did.
    void compute_gradients(std::int64_t step);
    /// Takes the update of `step` from the gradients in place.
    void update(std::int64_t step);
    /// Forgets gradients computed earlier (call after anything else ran the model).
    void invalidate_gradients() { m_gradients_step = -1; }

    class optimizer& optimizer() {
        return m_optimizer;
    }

  private:
    nn::loss_sum forward_loss(const batch& b, bool with_gradient);
    batch minibatch(std::int64_t step);

    model& m_net;
    const example_set& m_train;
    train_config m_cfg;
    std::uint64_t m_seed;
    class optimizer m_optimizer;
    xt::xtensor<float, 2> m_logits, m_dlogits;
    xt::xtensor<std::int32_t, 2> m_batch_tokens;
    xt::xtensor<float, 2> m_batch_features;
    xt::xtensor<std::int32_t, 1> m_batch_labels;
    xt::xtensor<float, 2> m_batch_targets;
    class_mask m_batch_mask;
    std::int64_t m_gradients_step = -1;
};

/// Trains `net` (built, with the parameters to start from) on `train` for cfg.steps updates
/// from step 0, with batches and every other draw keyed by `seed`: the parameters `grokkit run`
/// ends with for the same model, training set, configuration, seed and thread count
/// (evaluations and checkpoints change nothing).
/// `on_step`, when given, is called after each update with the number of updates taken.
/// `updates` >= 0 stops after that many (the schedule still spans cfg.steps): the parameters a
/// run of the same configuration has at that step.
void train(model& net, const example_set& train, const train_config& cfg, std::uint64_t seed,
           const std::function<void(std::int64_t)>& on_step = {}, std::int64_t updates = -1);

/// The examples of `set` at `indices`, in that order (leave-one-out, random subsets).
example_set subset(const example_set& set, const std::vector<std::size_t>& indices);

/// Every parameter value of `m` in parameters() order, each tensor row-major: the order of
/// model::example_gradients' columns.
std::vector<float> flat_parameters(model& m);
/// Sets every parameter of `m` from `values` (as flat_parameters() gives them). Throws
/// grokkit::error when the count differs from parameter_count(m).
void set_flat_parameters(model& m, const std::vector<float>& values);

} // namespace grokkit
