// Entry point of the retraining analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "retraining.hpp"

GROKKIT_DEFINE_PLUGIN(retraining::analysis_impl, "retraining", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "ground truth by retraining: leave-one-out, random subsets, Feldman & "
                      "Zhang memorisation, and the LDS of the pipeline's influence analyses")
