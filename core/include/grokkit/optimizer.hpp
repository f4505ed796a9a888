// Optimizers over a model's named parameters; their state is checkpointed by name.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/model.hpp>

#include <xtensor/xarray.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// Update rule and its hyper-parameters. Each rule follows its torch.optim namesake:
/// "sgd" (momentum, weight decay added to the gradient), "adam" (weight decay added to the
/// gradient), "adamw" (decoupled weight decay, Loshchilov & Hutter).
struct optimizer_config {
    std::string kind = "adamw";
    double beta1 = 0.9;        ///< adam/adamw first-moment decay
    double beta2 = 0.98;       ///< adam/adamw second-moment decay
    double eps = 1e-8;         ///< adam/adamw denominator epsilon
    double momentum = 0.0;     ///< sgd momentum
    double weight_decay = 1.0; ///< decoupled for adamw, L2 in the gradient for sgd and adam
    double l1 = 0.0;           ///< adds l1·sign(w) to every gradient (an L1 penalty)
    double l2 = 0.0;           ///< adds l2·w to every gradient (an L2 penalty ½·l2·‖w‖²)
    double clip_norm = 0.0;    ///< > 0: scale gradients so their global L2 norm is at most this
};

/// A named optimizer state tensor, checkpointed as /checkpoints/optimizer/<name>.
struct state_tensor {
    std::string name;
    xt::xarray<float>* value;
};

/// One of the update rules above over a fixed list of parameters. Gradient penalties and
/// clipping are applied to the gradients in place before the update.
class optimizer {
  public:
    optimizer(std::vector<parameter*> params, optimizer_config config);
    /// One update with learning rate `lr`, from the gradients now in the parameters.
    void step(double lr);
    /// Number of updates taken so far (restored from checkpoints).
    std::int64_t steps_taken() const { return m_t; }
    void set_steps_taken(std::int64_t t) { m_t = t; }
    /// State tensors: "<param>.m" and "<param>.v" (adam, adamw) or "<param>.momentum" (sgd).
    std::vector<state_tensor> state();
    const optimizer_config& config() const { return m_config; }
    /// Global L2 norm of the gradients before clipping, from the last step(); computed only
    /// when clip_norm > 0 (0 otherwise).
    double last_gradient_norm() const { return m_last_norm; }

  private:
    void apply_penalties_and_clip();
    double squared_norm() const;

    std::vector<parameter*> m_params;
    optimizer_config m_config;
    std::vector<xt::xarray<float>> m_m, m_v;
    std::int64_t m_t = 0;
    double m_last_norm = 0.0;
};

} // namespace grokkit
