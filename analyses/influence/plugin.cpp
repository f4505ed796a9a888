// Entry point of the influence analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "influence_analysis.hpp"

GROKKIT_DEFINE_PLUGIN(influence::analysis_impl, "influence", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "influence scores of training examples on queries (exact or CG solves on "
                      "exact Hessian products), self-influence, top proponents and opponents")
