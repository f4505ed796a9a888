// Optimizers over a model's named parameters; their state is checkpointed by name.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/model.hpp>

#include <xtensor/xarray.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// AdamW hyper-parameters (Loshchilov & Hutter; decoupled weight decay, as torch.optim.AdamW).
struct adamw_config {
    double beta1 = 0.9;
    double beta2 = 0.98;
    double eps = 1e-8;
    double weight_decay = 1.0;
};

/// A named optimizer state tensor, checkpointed as /checkpoints/optimizer/<name>.
struct state_tensor {
    std::string name;
    xt::xarray<float>* value;
};

/// AdamW over a fixed list of parameters.
class adamw {
  public:
    adamw(std::vector<parameter*> params, adamw_config config);
    /// One update with learning rate `lr`, from the gradients now in the parameters.
    void step(double lr);
    /// Number of updates taken so far (restored from checkpoints).
    std::int64_t steps_taken() const { return m_t; }
    void set_steps_taken(std::int64_t t) { m_t = t; }
    /// Moment estimates, named "<param>.m" and "<param>.v".
    std::vector<state_tensor> state();

  private:
    std::vector<parameter*> m_params;
    adamw_config m_config;
    std::vector<xt::xarray<float>> m_m, m_v;
    std::int64_t m_t = 0;
};

} // namespace grokkit
