// The random_features plugin's entry: exports model_impl as the "random_features" model.
// SPDX-License-Identifier: Apache-2.0
#include "random_features.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(
    random_features::model_impl, "random_features", "0.1.0", grokkit::plugin_kind::model,
    "a fixed random ReLU (or other) layer of width p and a trained linear readout")
