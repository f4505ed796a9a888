// Fuzz target: pipeline parsing and validation (TOML, every plugin's parameters, --set
// overrides). Input: a pipeline file; lines after a line "%%" are --set overrides, one a line.
// Properties: a refusal names where each problem is; an accepted pipeline's resolved text
// parses again to itself.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"
#include "host/pipeline.hpp"

#include <grokkit/error.hpp>

#include <grokkit_test/host.hpp>
#include <sstream>

namespace {

using namespace grokkit_fuzz;

std::pair<std::string, std::vector<std::string>> split_input(const bytes& input) {
    std::string text(input.begin(), input.end());
    std::vector<std::string> sets;
    const auto cut = text.find("\n%%\n");
    if (cut != std::string::npos) {
        std::istringstream rest(text.substr(cut + 4));
        for (std::string line; std::getline(rest, line);)
            if (!line.empty())
                sets.push_back(line);
        text.resize(cut + 1);
    }
    return {text, sets};
}

outcome parse(const bytes& input) {
    const auto [text, sets] = split_input(input);
    // Relative plugin_path entries resolve under an empty directory: no plugin is loaded.
    const auto& base = scratch_dir();
    try {
        const auto p =
            grokkit::parse_pipeline(text, "fuzz.toml", base, sets, grokkit_test::builtin_plugins());
        const std::string resolved = p.resolved_text();
        const auto again = grokkit::parse_pipeline(resolved, "resolved.toml", base, {},
                                                   grokkit_test::builtin_plugins());
        require(again.resolved_text() == resolved,
                "the resolved text did not resolve to itself:\n" + resolved);
        return outcome::accepted;
    } catch (const grokkit::error& e) {
        require(!e.diagnostics().empty(), "an error without a diagnostic");
        for (const auto& d : e.diagnostics())
            require(!d.where.empty() && !d.what.empty(),
                    "a diagnostic without its place or its problem: " + d.to_string());
        return outcome::refused;
    }
}

} // namespace

int main(int argc, char** argv) {
    return main_of({.name = "pipeline",
                    .dictionary = {"[run]",
                                   "[dataset]",
                                   "[model]",
                                   "[train]",
                                   "[[analysis]]",
                                   "plugin = ",
                                   "\"modular_arithmetic\"",
                                   "\"mlp\"",
                                   "\"transformer\"",
                                   "\"sparse_parity\"",
                                   "\"fourier_probe\"",
                                   "\"hull_test\"",
                                   "\"influence\"",
                                   "seed = ",
                                   "threads = ",
                                   "steps = ",
                                   "lr = ",
                                   "hidden = [",
                                   "name = ",
                                   "at = ",
                                   "plugin_path = ",
                                   "\"checkpoints\"",
                                   "\"end\"",
                                   "modulus = ",
                                   "true",
                                   "false",
                                   "1979-05-27T07:32:00Z",
                                   "0x7f",
                                   "1_000",
                                   "\"\"\"",
                                   "'''",
                                   "\n%%\n",
                                   "train.lr=",
                                   "model.hidden=[8]",
                                   "dataset.modulus=",
                                   "run.name=\"../x\""},
                    .setup = [] { grokkit_test::builtin_plugins(); },
                    .run = parse},
                   argc, argv);
}
