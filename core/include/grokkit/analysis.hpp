// The analysis plugin interface: typed outputs declared once, bound when a run starts, written
// per checkpoint; inputs from earlier analyses of the same checkpoint.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/dataset.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/model.hpp>
#include <grokkit/output.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/train.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace grokkit {

/// What an analysis' outputs() sees when a run starts: the generated split (its attributes and
/// records tell what the dataset is), the built model and the dataset plugin itself (ask it for
/// a capability with dynamic_cast to a core interface).
struct analysis_setup {
    const input_spec& spec;
    const dataset_split& data;
    model& net;
    const dataset& source;
};

/// A checkpoint committed to the run file.
struct checkpoint_info {
    std::int64_t step = 0;    ///< training step
    std::int64_t updates = 0; ///< optimizer updates taken before it
    double learning_rate = 0; ///< the rate of the update taken at `step` (train_config)
};

/// One parameter of the run's dataset or model set to another value: key "dataset.<name>" or
/// "model.<name>".
struct setting_override {
    std::string key;
    param_value value;
};

/// The run's dataset and model plugins with some parameters changed, generated and built anew
/// (analysis_context::variant).
struct run_variant {
    std::unique_ptr<dataset> source; ///< for capabilities (dynamic_cast), as source() is
    input_spec spec;
    dataset_split data;
    std::unique_ptr<model> net; ///< built for `spec`
};

/// What an analysis sees while it runs at one checkpoint.
class GROKKIT_VISIBLE analysis_context {
  public:
    virtual ~analysis_context();
    virtual const input_spec& spec() const = 0;
    virtual const dataset_split& data() const = 0;
    /// The dataset plugin object (for capabilities: dynamic_cast to a core interface).
    virtual const dataset& source() const = 0;
    /// The model with the parameters of the checkpoint being analysed.
    virtual model& trained_model() = 0;
    /// The loss the run trains on (for per-example gradients: grokkit::example_gradients).
    virtual const loss_config& loss() const = 0;
    /// Training step of that checkpoint.
    virtual std::int64_t step() const = 0;
    /// The run's BLAS thread count ([run] threads), for work the analysis splits itself.
    virtual int threads() const = 0;
    /// The run's seed ([run] seed): new_model(run_seed()) is the run's own initialisation.
    virtual std::uint64_t run_seed() const = 0;
    /// The seed of this analysis' own random draws: derived from the run seed and the
    /// analysis name, the same under `grokkit run` and `grokkit analyze`. Key draws by step
    /// (grokkit::rng(seed(), purpose, step())) so each checkpoint's are reproducible alone.
    virtual std::uint64_t seed() const = 0;
    /// The run's [train] configuration: retrain with the run's settings, or change a copy.
    virtual const train_config& training() const = 0;
    /// A new model of the run's plugin and parameters, built for this dataset and initialised
    /// from `seed` (the run's own initialisation with the run seed). Independent of the
    /// trained model: train or perturb it freely. Must not outlive the analysis' run().
    virtual std::unique_ptr<model> new_model(std::uint64_t seed) const = 0;
    /// The run's dataset and model with `overrides` applied to their parameters, the data
    /// generated and the model built from `seed`: for analyses that vary the setting itself
    /// (double descent over dimensions or widths). Throws grokkit::error naming the key for a
    /// key that is not "dataset.<parameter>" or "model.<parameter>" (listing those that are),
    /// or a value the parameter's rules refuse. Must not outlive the analysis' run().
    virtual run_variant variant(const std::vector<setting_override>& overrides,
                                std::uint64_t seed) const = 0;
    /// An independent copy of the model with this checkpoint's parameters; changing or
    /// retraining it leaves the run untouched. Must not outlive the analysis' run().
    virtual std::unique_ptr<model> copy_model() const = 0;
    /// The checkpoints committed so far, in order, this one included.
    virtual std::vector<checkpoint_info> checkpoints() const = 0;
    /// Flat parameters (grokkit::flat_parameters order) of checkpoints()[index].
    virtual std::vector<float> checkpoint_parameters(std::size_t index) const = 0;
    /// The value an earlier analysis wrote for this same checkpoint, `reference` being
    /// "<analysis>/<output>" (the value of a parameter declared with param::input()), in the
    /// producer's dtype. Throws grokkit::error when the producer has not written this step.
    virtual output_value input(const std::string& reference) const = 0;
    /// Stores this checkpoint's value of a declared output (not a tiled one). Throws grokkit::error
    /// naming the analysis and the output for an undeclared name, a wrong dtype or a wrong shape.
    virtual void write(const std::string& output, const output_value& value) = 0;
    /// Stores one block of this checkpoint's value of an output declared tiled(): `tile`, of
    /// the output's dtype (or float32 for float64) and rank, goes to the file at once with its
    /// first element at `origin` (one index per dim). Tiles must not overlap and must cover the
    /// whole value before run() returns (their element counts are summed to check), so a value
    /// larger than memory is never held whole. Throws grokkit::error naming the analysis and the
    /// output for an output not declared tiled, a wrong dtype, or a block outside the shape.
    virtual void write_tile(const std::string& output, const std::vector<std::size_t>& origin,
                            const output_value& tile) = 0;
    /// Long work in items (retrainings, games) that a kill must not lose, for an analysis whose
    /// outputs() called output_binding::keep_items(). commit_item() writes one item's values to
    /// the run file at once, its index and then the checkpoint's step last, so once it returns
    /// the item survives a SIGKILL. After `grokkit run --resume`, committed_items() gives back
    /// what this checkpoint had committed (index -> values), and run() continues with the
    /// items still missing. Call both from the thread that calls run().
    virtual std::map<std::int64_t, std::vector<double>> committed_items() const = 0;
    /// The texts committed with them (index -> text; "" where none was given).
    virtual std::map<std::int64_t, std::string> committed_item_texts() const = 0;
    /// Commits an item's values and a text of its own (a game's PGN).
    virtual void commit_item(std::int64_t index, const std::vector<double>& values,
                             const std::string& text) = 0;
    void commit_item(std::int64_t index, const std::vector<double>& values) {
        commit_item(index, values, {});
    }
    /// How far this run() has got with long work of its own (retraining, queries, games):
    /// shown beside the training progress as "analysis <name>: <what> <done>/<total>". Call it
    /// per unit of work; the display draws only when due.
    virtual void progress(const std::string& what, std::int64_t done, std::int64_t total) = 0;
};

/// An analysis plugin.
class GROKKIT_VISIBLE analysis : public plugin_object {
  public:
    /// Declares every output (name, dtype, shape in named sizes, units, doc). Needs no data:
    /// `grokkit plugins --describe` prints the table from it.
    virtual void declare_outputs(output_set& os) const = 0;
    /// Binds the named sizes of the outputs (and skips optional ones) for this dataset and
    /// model, before any file is created (HDF5 SWMR forbids creating datasets later). Throws
    /// grokkit::error("<plugin>.outputs", ...) when it cannot serve them; a diagnostic whose
    /// key is one of the plugin's parameters is reported at that key in the pipeline.
    virtual void outputs(const analysis_setup& setup, output_binding& out) const = 0;
    /// Computes and writes every bound output for the current checkpoint.
    virtual void run(analysis_context& ctx) = 0;
};

/// Long work in items side by side: `work(worker, item)` runs for each of `items` on `workers`
/// threads (worker in [0, workers), so each can own a model copy), and `commit(item, values)`
/// on the calling thread as each ends, in the order they end, so commit_item() is called from
/// the thread that calls run(). After a failure no new item starts; what finished is still
/// committed, then the first error is rethrown. Results must not depend on `workers`: key each
/// item's draws by the item, never by the worker.
void run_items(
    std::size_t workers, const std::vector<std::size_t>& items,
    const std::function<std::vector<double>(std::size_t worker, std::size_t item)>& work,
    const std::function<void(std::size_t item, const std::vector<double>& values)>& commit);

} // namespace grokkit
