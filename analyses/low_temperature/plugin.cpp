// Entry point of the low_temperature analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "low_temperature.hpp"

GROKKIT_DEFINE_PLUGIN(low_temperature::analysis_impl, "low_temperature", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "reward of the model's actions sampled at each temperature beside its "
                      "experts': transcendence (Zhang et al. 2024)")
