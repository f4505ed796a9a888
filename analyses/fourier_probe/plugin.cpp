// Entry point of the fourier_probe analysis plugin.
// SPDX-License-Identifier: Apache-2.0
#include "fourier_probe.hpp"

GROKKIT_DEFINE_PLUGIN(fourier_probe::analysis_impl, "fourier_probe", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "Fourier (Z_p) or Walsh (parity) structure of a model, per checkpoint")
