// Entry point of the memorisation analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "memorisation.hpp"

GROKKIT_DEFINE_PLUGIN(
    memorisation::analysis_impl, "memorisation", "0.1.0", grokkit::plugin_kind::analysis,
    "accuracy on the training labels a dataset replaced (label_noise) vs clean ones")
