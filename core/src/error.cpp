// grokkit::error and diagnostic formatting.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>

namespace grokkit {

std::string diagnostic::to_string() const {
    std::string s = where;
    if (!key.empty())
        s += (s.empty() ? "" : ": ") + key;
    if (!what.empty())
        s += (s.empty() ? "" : ": ") + what;
    if (!expected.empty())
        s += "; expected " + expected;
    return s;
}

namespace {
std::string join(const std::vector<diagnostic>& ds) {
    std::string s;
    for (const auto& d : ds) {
        if (!s.empty())
            s += '\n';
        s += d.to_string();
    }
    return s;
}
} // namespace

error::error(diagnostic d) : error(std::vector<diagnostic>{std::move(d)}) {}

error::error(std::vector<diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), m_diagnostics(std::move(diagnostics)) {}

error::error(std::string where, std::string what)
    : error(diagnostic{std::move(where), "", std::move(what), "", 0, 0}) {}

error::~error() = default;

} // namespace grokkit
