// Pipeline files: TOML parsed with toml++, validated against the declared parameters.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/registry.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/dataset.hpp>
#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/params.hpp>
#include <grokkit/train.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace grokkit {

/// [run]: what identifies and drives a run.
struct run_section {
    std::string name = "run";
    std::int64_t seed = 0;
    std::int64_t threads = 2;
    std::vector<std::string> plugin_path;
    void declare(param_set& ps);
};

/// One [[analysis]] entry.
struct analysis_entry {
    std::string plugin;
    std::string name; ///< unique; defaults to the plugin name
    std::string at;   ///< "checkpoints" or "end"
    std::unique_ptr<analysis> object;
};

/// Where a section or key of a pipeline was written: "file:line:column", or "--set k=v".
struct source_location {
    std::string where;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

/// A validated pipeline: every plugin created and every parameter assigned.
struct pipeline {
    std::filesystem::path file;
    std::string text;                   ///< the file as written
    std::vector<std::string> overrides; ///< --set arguments, in order
    run_section run;
    train_config train; ///< [train]
    std::string dataset_plugin;
    std::string model_plugin;
    std::unique_ptr<dataset> data;
    std::unique_ptr<model> net;
    std::vector<analysis_entry> analyses;
    /// Where each section ("dataset", "analysis.0": its `plugin` key) and each given key
    /// ("dataset.modulus") was written.
    std::map<std::string, source_location> locations;

    /// Every key with its final value (defaults included), as TOML.
    std::string resolved_text() const;
    /// Where `section.key` was written; the section's location when the key was not given
    /// (its default is in use), or the file itself when neither is known.
    source_location locate(const std::string& section, const std::string& key) const;
    /// `e` as invalid input about `section` ("model", "analysis.1"): each diagnostic without a
    /// file position is located at its key in that section (at the section when its key is not
    /// one of the section's) and the key gets the section's prefix.
    invalid_input relocate(const error& e, const std::string& section) const;
};

/// Parses `file`, applies `overrides` ("key.path=value"), loads plugin_path directories into
/// `reg`, creates the plugins and assigns every parameter. Throws grokkit::error holding every
/// problem found, sorted by position in the file.
pipeline load_pipeline(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                       registry& reg);

/// The same from text (`source_name` is used in messages); `base_dir` anchors plugin_path.
pipeline parse_pipeline(const std::string& text, const std::string& source_name,
                        const std::filesystem::path& base_dir,
                        const std::vector<std::string>& overrides, registry& reg);

/// The parameter table of a plugin as Markdown (Key | Type | Default | Rule | Doc).
std::string describe_params(const param_set& ps);

/// The keys every [[analysis]] has besides its plugin's parameters: name and at.
void declare_entry_keys(param_set& ps, std::string& name, std::string& at);

/// The pipeline reference as Markdown: [run], [train], the [[analysis]] keys, and the tables
/// of every plugin in `reg` by kind and name (`grokkit plugins --markdown`).
std::string pipeline_reference(const registry& reg);

/// The closest of `candidates` to `word` within a small edit distance, or "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

} // namespace grokkit
