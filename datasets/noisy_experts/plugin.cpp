// The noisy_experts plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "noisy_experts.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(noisy_experts::dataset_impl, "noisy_experts", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "states with one correct action, labelled by K imperfect experts whose "
                      "errors are independent or shared (transcendence in closed form)")
