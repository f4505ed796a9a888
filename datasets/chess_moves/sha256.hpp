// SHA-256 (FIPS 180-4) of a file, so a run records exactly which games it trained on.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace chess_moves {

/// Lower-case hex SHA-256 of the bytes of `path`; throws grokkit::error if it cannot be read.
std::string sha256_of_file(const std::string& path);
/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_of(const std::string& bytes);

} // namespace chess_moves
