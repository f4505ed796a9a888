// Text helpers for the library's error messages.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace grokkit::chess::detail {

/// `text` between quotes (built by appending: `"\"" + std::string` trips GCC 12's false
/// -Wrestrict, bug 105329).
/// Control characters are written as \xNN, so an error never hides what it complains of.
inline std::string quoted(std::string_view text, char mark = '"') {
    std::string s(1, mark);
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) {
            s += c;
            continue;
        }
        static const char* const hex = "0123456789ABCDEF";
        s += "\\x";
        s += hex[(c >> 4) & 15];
        s += hex[c & 15];
    }
    s += mark;
    return s;
}

} // namespace grokkit::chess::detail
