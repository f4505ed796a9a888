// Out-of-line virtual destructors anchor the interfaces' vtables and RTTI in core.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
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

void check_declared(const plugin_object& obj, const std::string& where) {
    param_set ps;
    const_cast<plugin_object&>(obj).declare(ps); // binds references; changes no value
    std::vector<diagnostic> found;
    for (const auto& p : ps.params())
        if (auto what = p.problem())
            found.push_back({where, p.key(), *what, p.rule_text(), 0, 0});
    if (found.empty()) // cross-key rules assume each key is valid on its own
        for (const auto& c : ps.checks())
            if (auto what = c.rule())
                found.push_back({where, c.key, *what, c.expected, 0, 0});
    if (!found.empty())
        throw error(std::move(found));
}

} // namespace grokkit
