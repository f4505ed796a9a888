// The grokkit subcommands; each returns the process exit code.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace grokkit::cli {

int cmd_run(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_plugins(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_analyze(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);

/// Prints an error's diagnostics, one per line, prefixed "error: ".
void print_error(const std::exception& e);

} // namespace grokkit::cli
