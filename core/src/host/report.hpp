// `grokkit report`: one self-contained HTML page from a run file's sections.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/registry.hpp"

#include <grokkit/report.hpp>
#include <grokkit/run_file.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace grokkit {

/// The sections of `file`'s report: provenance and progress, training curves, then one per
/// analysis (its plugin's report_contributor section when `reg` has the plugin and it offers
/// one, else a generic one of its scalar outputs).
std::vector<report_section> report_sections(const run_file& file, const registry& reg);

/// Where the charting library's files are: $GROKKIT_JS_DIR, else <prefix>/share/grokkit/js
/// beside the executable (the build tree mirrors it), else /usr/local/share/grokkit/js.
std::filesystem::path report_js_dir();

/// One HTML page holding `sections` with the charting library, styles and data inlined: it
/// opens offline. Throws grokkit::error when the library's files are missing.
std::string render_report(const std::string& title, const std::vector<report_section>& sections);

} // namespace grokkit
