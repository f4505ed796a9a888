// Entry point of the hull_test analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "hull_analysis.hpp"

GROKKIT_DEFINE_PLUGIN(hull_test::analysis_impl, "hull_test", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "convex-hull membership (interpolation or extrapolation) of queries, with "
                      "L1 distance and checked certificates, per checkpoint")
