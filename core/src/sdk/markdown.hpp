// Markdown pieces of the generated plugin documentation (parameter and output tables).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace grokkit {

/// `text` as one Markdown table cell: pipes escaped, newlines joined.
inline std::string markdown_cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|')
            out += "\\|";
        else
            out += c == '\n' ? ' ' : c;
    }
    return out;
}

} // namespace grokkit
