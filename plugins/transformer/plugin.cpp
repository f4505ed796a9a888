// The transformer plugin's entry: exports model_impl as the "transformer" model.
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(transformer::model_impl, "transformer", "0.1.0", grokkit::plugin_kind::model,
                      "decoder-only transformer predicting from the last position (Nanda et al.)")
