// Reading run files: the one reader behind `inspect`, `analyze`, reports and sweeps.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>
#include <grokkit/output.hpp>

#include <xtensor/xarray.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace grokkit {

/// A pipeline as a TOML tree: the resolved pipeline a run file records, read by key rather
/// than by slicing its text. Keys are dotted: "dataset.modulus", "analysis.0.plugin".
class GROKKIT_VISIBLE pipeline_tree {
  public:
    /// Parses TOML text; throws grokkit::error("<source>", ...) when it is not TOML.
    pipeline_tree(const std::string& toml_text, const std::string& source);
    pipeline_tree(pipeline_tree&&) noexcept;
    pipeline_tree& operator=(pipeline_tree&&) noexcept;
    ~pipeline_tree();

    bool has(const std::string& key) const;
    /// The value at `key`; throws grokkit::error naming the key and the type found when it is
    /// missing or of another type (an integer serves as a real).
    std::string string(const std::string& key) const;
    std::int64_t integer(const std::string& key) const;
    double real(const std::string& key) const;
    bool boolean(const std::string& key) const;
    /// A list of strings (an empty list when the key is missing).
    std::vector<std::string> strings(const std::string& key) const;
    /// The keys of table `section` ("train", "analysis.1"), in file order.
    std::vector<std::string> keys(const std::string& section) const;
    /// The value at `key` as TOML text ("113", "\"a+b\"", "[512]"); "" when missing. Two trees
    /// agree on a key when these texts are equal.
    std::string value_text(const std::string& key) const;
    /// Number of [[analysis]] entries.
    std::size_t n_analyses() const;

  private:
    struct impl;
    std::unique_ptr<impl> m_impl;
};

/// One analysis recorded in a run file.
struct run_file_analysis {
    std::string name;
    std::string plugin;
    std::string at;                     ///< "checkpoints" or "end"
    std::vector<output_layout> outputs; ///< as stored: dtype, shape, axes, units, doc
};

/// A run file opened for reading: live (being written), finished, interrupted or killed. Every
/// series is read up to its committed rows only (the rows its group's `step` covers), so a
/// live file reads consistently. Not thread-safe; the file stays open while the object lives.
class GROKKIT_VISIBLE run_file {
  public:
    /// Opens `path` (SWMR read mode for live or killed runs). Throws grokkit::error naming the
    /// file when it is not a readable HDF5 file or not a grokkit run file.
    explicit run_file(const std::filesystem::path& path);
    run_file(run_file&&) noexcept;
    run_file& operator=(run_file&&) noexcept;
    ~run_file();

    const std::filesystem::path& path() const;
    /// The pipeline file's text as written.
    std::string pipeline_text() const;
    /// The resolved pipeline (every default filled in) as a tree.
    pipeline_tree resolved_pipeline() const;
    /// "running" (or killed), "complete" or "interrupted".
    std::string status() const;
    /// Seconds of the sessions that finished; 0 while the first one runs.
    double wall_seconds() const;
    /// When the last session finished (ISO 8601, UTC); "" while the first one runs.
    std::string finished() const;
    bool has_attribute(const std::string& name) const;
    /// A root attribute: string ones ("blas_kernel", "git_revision", "created") and integer
    /// ones ("seed", "threads", "schema_version", "resume_count").
    std::string string_attribute(const std::string& name) const;
    std::int64_t int_attribute(const std::string& name) const;

    /// Metric names in file order ("train_loss", ..., "lr").
    std::vector<std::string> metric_names() const;
    /// Steps of the committed metric rows.
    std::vector<std::int64_t> metric_steps() const;
    /// Metric `name` at those steps.
    std::vector<double> metric(const std::string& name) const;

    /// The dataset plugin's integer attributes ("modulus", "n_train") and records.
    std::string dataset_plugin() const;
    std::int64_t dataset_attribute(const std::string& name) const;
    /// The dataset plugin's text attributes ("games_sha256"); "" when it has none of `name`.
    std::string dataset_text(const std::string& name) const;
    std::vector<std::string> dataset_records() const;
    /// Record `name` (split indices, noise) as int64 with its shape.
    xt::xarray<std::int64_t> dataset_record(const std::string& name) const;

    /// Steps of the committed checkpoints.
    std::vector<std::int64_t> checkpoint_steps() const;
    /// Optimizer updates taken at each committed checkpoint.
    std::vector<std::int64_t> checkpoint_updates() const;
    /// Names of the checkpointed parameters, in the model's parameters() order.
    std::vector<std::string> parameter_names() const;
    /// Parameter `name` at checkpoint `index` (< checkpoint_steps().size()).
    xt::xarray<float> parameter(const std::string& name, std::size_t index) const;

    /// The analyses in the file, in pipeline order.
    std::vector<run_file_analysis> analyses() const;
    /// Steps of analysis `name`'s committed rows.
    std::vector<std::int64_t> analysis_steps(const std::string& name) const;
    /// Output `output` of analysis `name` at row `row` (< analysis_steps(name).size()).
    output_value analysis_output(const std::string& name, const std::string& output,
                                 std::size_t row) const;
    /// A scalar numeric output of analysis `name` at every committed row, as float64 (the y
    /// of a chart against analysis_steps(name)).
    std::vector<double> analysis_scalars(const std::string& name, const std::string& output) const;

  private:
    struct impl;
    std::unique_ptr<impl> m_impl;
};

} // namespace grokkit
