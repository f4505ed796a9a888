// The robustness plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "robustness.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(robustness::analysis_impl, "robustness", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "input-gradient norms and segment slopes of the fit, beside the law of "
                      "robustness' sqrt(n d / P)")
