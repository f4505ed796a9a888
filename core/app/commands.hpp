// The grokkit subcommands; each returns the process exit code.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/error.hpp>

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace grokkit::cli {

int cmd_run(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_plugins(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_analyze(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_sweep(const std::vector<std::string>& args);

/// Prints an error's diagnostics, one per line, prefixed "error: ".
void print_error(const std::exception& e);

/// Parses a command's `args` against `desc` (adding --help) and `positional`; false with
/// `exit_code` set when the command must stop (help printed: 0, bad options: 2).
bool parse_options(const std::vector<std::string>& args,
                   boost::program_options::options_description& desc,
                   const boost::program_options::positional_options_description& positional,
                   const char* synopsis, boost::program_options::variables_map& vm, int& exit_code);

/// Prints invalid input's diagnostics and "N problems found; nothing was run"; returns 2.
int report_invalid(const error& e);

} // namespace grokkit::cli
