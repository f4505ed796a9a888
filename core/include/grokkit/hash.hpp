// SHA-256 (FIPS 180-4): what a run records of the files it read, and the names of content-
// addressed things (cached games, calibrations, sweep points).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>

namespace grokkit {

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(const std::string& bytes);
/// Lower-case hex SHA-256 of the bytes of `path`; throws grokkit::error if it cannot be read.
std::string sha256_of_file(const std::filesystem::path& path);

} // namespace grokkit
