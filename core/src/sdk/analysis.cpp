// Anchors analysis_context's vtable in core.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/analysis.hpp>

namespace grokkit {
analysis_context::~analysis_context() = default;
} // namespace grokkit
