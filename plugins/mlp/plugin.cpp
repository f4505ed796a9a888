// The mlp plugin's entry: exports model_impl as the "mlp" model.
// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(mlp::model_impl, "mlp", "0.1.0", grokkit::plugin_kind::model,
                      "MLP on two embedded tokens (PAIR / Gromov / Nanda-style)")
