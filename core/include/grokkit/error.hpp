// The one exception type grokkit throws for bad input, carrying every diagnostic found.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace grokkit {

/// One problem with user input: `<where>: <key>: <what>; expected <expected>`.
struct diagnostic {
    std::string where;      ///< file:line:column, a library path, --set argument or plugin.function
    std::string key;        ///< dotted key (`train.lr`), may be empty
    std::string what;       ///< what is wrong, with the value found
    std::string expected;   ///< what is allowed, may be empty
    std::uint32_t line = 0; ///< for sorting; 0 when the problem has no position
    std::uint32_t column = 0;

    /// The message in house format, without a trailing newline.
    std::string to_string() const;
};

/// Thrown for any user-facing failure; holds all diagnostics of one validation pass.
class GROKKIT_VISIBLE error : public std::runtime_error {
  public:
    /// A single diagnostic.
    explicit error(diagnostic d);
    /// Several diagnostics, reported together; must not be empty.
    explicit error(std::vector<diagnostic> diagnostics);
    /// One problem without a key: `where: what; expected <expected>` (`expected` may be empty).
    error(std::string where, std::string what, std::string expected);
    /// A plain message (`where: what`) for failures with nothing to expect instead.
    error(std::string where, std::string what);
    /// Out of line: anchors the vtable and type info in core, so an error thrown inside a
    /// plugin does not point into the plugin's code after it is caught.
    ~error() override;

    const std::vector<diagnostic>& diagnostics() const noexcept { return m_diagnostics; }

  private:
    std::vector<diagnostic> m_diagnostics;
};

/// Invalid user input (a pipeline, a parameter, a dataset and model or analysis that do not
/// fit together, a run file that does not match the pipeline): nothing was run and no file was
/// created or changed. The CLI exits 2 for it and 1 for any other error. Plugins throw plain
/// grokkit::error; the host turns what they throw while the pipeline is being prepared (spec,
/// generate, build, outputs) into invalid_input located in the pipeline file.
class GROKKIT_VISIBLE invalid_input : public error {
  public:
    using error::error;
    ~invalid_input() override;
};

// Pieces of error messages, so every plugin words lists and shapes alike.

/// The items separated by `separator`: "relu, gelu, square".
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ");
/// A matrix shape as "(rows, cols)".
std::string shape_text(std::size_t rows, std::size_t cols);

} // namespace grokkit
