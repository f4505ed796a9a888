// The gaussian_regression plugin's one exported entry: glue only, the science is elsewhere.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_regression.hpp"

#include <grokkit/plugin.hpp>

GROKKIT_DEFINE_PLUGIN(gaussian_regression::dataset_impl, "gaussian_regression", "0.1.0",
                      grokkit::plugin_kind::dataset,
                      "x ~ N(0, Σ) in R^d with targets from a linear or random-network teacher "
                      "plus noise, or their signs")
