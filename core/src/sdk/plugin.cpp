// Out-of-line virtual destructors anchor the interfaces' vtables and RTTI in core.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/plugin.hpp>

namespace grokkit {

plugin_object::~plugin_object() = default;

const char* to_string(plugin_kind k) {
    switch (k) {
    case plugin_kind::dataset:
        return "dataset";
    case plugin_kind::model:
        return "model";
    case plugin_kind::analysis:
        return "analysis";
    }
    return "unknown";
}

} // namespace grokkit
