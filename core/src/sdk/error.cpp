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

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? separator : "") + items[i];
    return out;
}

std::string shape_text(std::size_t rows, std::size_t cols) {
    // Appended piece by piece: "(" + std::string trips GCC 12's false -Wrestrict (bug 105329).
    std::string s(1, '(');
    s += std::to_string(rows);
    s += ", ";
    s += std::to_string(cols);
    s += ')';
    return s;
}

namespace {
std::string lines_of(const std::vector<diagnostic>& ds) {
    std::vector<std::string> lines;
    for (const auto& d : ds)
        lines.push_back(d.to_string());
    return join(lines, "\n");
}
} // namespace

error::error(diagnostic d) : error(std::vector<diagnostic>{std::move(d)}) {}

error::error(std::vector<diagnostic> diagnostics)
    : std::runtime_error(lines_of(diagnostics)), m_diagnostics(std::move(diagnostics)) {}

error::error(std::string where, std::string what, std::string expected)
    : error(diagnostic{std::move(where), "", std::move(what), std::move(expected), 0, 0}) {}

error::error(std::string where, std::string what)
    : error(std::move(where), std::move(what), std::string()) {}

error::~error() = default;

invalid_input::~invalid_input() = default;

} // namespace grokkit
