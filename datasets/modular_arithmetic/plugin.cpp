// The modular_arithmetic plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "modular_arithmetic.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(modular_arithmetic::dataset_impl, "modular_arithmetic", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "all pairs (a, b) mod p labelled a o b mod p, split train/test by seed")
