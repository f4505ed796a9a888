// The linear plugin's entry: exports model_impl as the "linear" model.
// SPDX-License-Identifier: Apache-2.0
#include "linear.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(linear::model_impl, "linear", "0.1.0", grokkit::plugin_kind::model,
                      "softmax regression on dense features or one-hot tokens")
