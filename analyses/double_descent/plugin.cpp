// The double_descent plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "double_descent.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(double_descent::analysis_impl, "double_descent", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "closed-form least-squares risk against p/n for ridge values from 0, beside "
                      "the ridgeless theory")
