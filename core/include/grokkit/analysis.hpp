// The analysis plugin interface: outputs declared up front, written per checkpoint.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/plugin.hpp>

#include <xtensor/xarray.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// One array an analysis writes each time it runs. The run file stores it as
/// /analyses/<name>/<output.name> with a leading axis over the runs of the analysis.
struct output_decl {
    std::string name;
    std::vector<std::size_t> shape; ///< shape of one run's value (without the leading axis)
    std::vector<std::string> axes;  ///< one name per axis of `shape`
    std::string units;              ///< "nats", "fraction", "1" ...
    std::string doc;                ///< one line, stored as an attribute
};

/// What an analysis sees while it runs.
class GROKKIT_VISIBLE analysis_context {
  public:
    virtual ~analysis_context();
    virtual const input_spec& spec() const = 0;
    virtual const dataset_split& data() const = 0;
    /// The model with the parameters of the checkpoint being analysed.
    virtual model& trained_model() = 0;
    /// The loss the run trains on (for per-example gradients: grokkit::example_gradients).
    virtual const loss_config& loss() const = 0;
    /// Training step of that checkpoint.
    virtual std::int64_t step() const = 0;
    /// An output of an earlier analysis, as `"<analysis>/<output>"`, for this same run of the
    /// pipeline (latest row written).
    virtual xt::xarray<double> input(const std::string& reference) const = 0;
    /// Stores this run's value of a declared output; the shape must match the declaration.
    virtual void write(const std::string& output, const xt::xarray<double>& value) = 0;
};

/// An analysis plugin.
class GROKKIT_VISIBLE analysis : public plugin_object {
  public:
    /// Every output, declared before training starts (HDF5 SWMR forbids creating them later).
    /// `data` is the generated split (its attributes tell what the dataset is); `m` is built.
    /// Throws grokkit::error("<plugin>.outputs", ...) when the analysis cannot serve this
    /// dataset or model, before any file is created.
    virtual std::vector<output_decl> outputs(const input_spec& spec, const dataset_split& data,
                                             model& m) const = 0;
    /// Computes and writes every declared output for the current checkpoint.
    virtual void run(analysis_context& ctx) = 0;
};

} // namespace grokkit
