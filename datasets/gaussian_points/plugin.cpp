// The gaussian_points plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_points.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(gaussian_points::dataset_impl, "gaussian_points", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "points in R^d from a centred normal, ball or cube, optionally labelled")
