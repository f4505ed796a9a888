// The training loop's pieces: loss, metrics, batches and one optimizer update.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "pipeline.hpp"

#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/optimizer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// Drives one model on one split with the [train] settings. Every random draw is keyed by the
/// step, so the state needed to resume is the parameters and optimizer state alone.
class trainer {
  public:
    trainer(model& net, const dataset_split& split, const train_section& cfg, std::uint64_t seed);

    /// Names of the values evaluate() returns, in order.
    static std::vector<std::string> metric_names();
    /// Learning rate of the update taken at step `step` (warm-up applied).
    double learning_rate(std::int64_t step) const;
    /// train_loss, train_accuracy, test_loss, test_accuracy, lr at `step` with the current
    /// parameters. With full-batch training the train forward pass also leaves the gradients of
    /// the update at `step` in place (see gradients_ready()).
    std::vector<double> evaluate(std::int64_t step);
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
    const dataset_split& m_split;
    train_section m_cfg;
    std::uint64_t m_seed;
    class optimizer m_optimizer;
    xt::xtensor<float, 2> m_logits, m_dlogits;
    xt::xtensor<std::int32_t, 2> m_batch_tokens;
    xt::xtensor<float, 2> m_batch_features;
    xt::xtensor<std::int32_t, 1> m_batch_labels;
    std::int64_t m_gradients_step = -1;
};

} // namespace grokkit
