// The sparse_parity plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "sparse_parity.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(sparse_parity::dataset_impl, "sparse_parity", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "random n-bit inputs labelled with the parity of k hidden bits, as features")
