// The run orchestration: everything is validated and declared before the file is created.
// SPDX-License-Identifier: Apache-2.0
#include "host/pipeline.hpp"
#include "host/registry.hpp"
#include "host/runner.hpp"
#include "store/h5.hpp"
#include "store/run_store.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/run_file.hpp>
#include <grokkit/train.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace grokkit {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) {
    g_stop_signal.store(sig);
}

/// Installs SIGINT/SIGTERM handlers for the lifetime of a run and restores the old ones.
class stop_signals {
  public:
    stop_signals() {
        g_stop_signal.store(0);
        m_int = std::signal(SIGINT, on_stop_signal);
        m_term = std::signal(SIGTERM, on_stop_signal);
    }
    ~stop_signals() {
        std::signal(SIGINT, m_int);
        std::signal(SIGTERM, m_term);
    }
    bool requested() const { return g_stop_signal.load() != 0; }

  private:
    void (*m_int)(int);
    void (*m_term)(int);
};

// Everything prepared before the run file exists.
struct prepared_run {
    const registry* reg = nullptr; // creates the models analyses copy
    pipeline pipe;
    dataset_split split;
    input_spec spec;
    std::vector<analysis_layout> analyses;
};

class context_impl : public analysis_context {
  public:
    context_impl(const prepared_run& r, std::size_t index, run_store& store)
        : m_run(r), m_layout(r.analyses.at(index)), m_loss(r.pipe.train.loss), m_store(store),
          m_seed(rng(static_cast<std::uint64_t>(r.pipe.run.seed), "analysis:" + m_layout.name)
                     .next_u64()) {}
    const input_spec& spec() const override { return m_run.spec; }
    const dataset_split& data() const override { return m_run.split; }
    const dataset& source() const override { return *m_run.pipe.data; }
    model& trained_model() override { return *m_run.pipe.net; }
    const loss_config& loss() const override { return m_loss; }
    std::int64_t step() const override { return m_step; }
    int threads() const override { return static_cast<int>(m_run.pipe.run.threads); }
    std::uint64_t seed() const override { return m_seed; }
    std::uint64_t run_seed() const override {
        return static_cast<std::uint64_t>(m_run.pipe.run.seed);
    }
    output_value input(const std::string& reference) const override {
        const auto slash = reference.find('/');
        return m_store.read_analysis(reference.substr(0, slash),
                                     slash == std::string::npos ? "" : reference.substr(slash + 1),
                                     m_step);
    }
    const train_config& training() const override { return m_run.pipe.train; }
    std::unique_ptr<model> new_model(std::uint64_t seed) const override {
        auto m = copy_plugin<model>(*m_run.pipe.net, m_run.pipe.model_plugin, "model", {});
        m->build(m_run.spec, seed);
        return m;
    }
    run_variant variant(const std::vector<setting_override>& overrides,
                        std::uint64_t seed) const override {
        for (const auto& o : overrides)
            if (o.key.rfind("dataset.", 0) != 0 && o.key.rfind("model.", 0) != 0)
                throw error(m_layout.name + ".variant", "setting \"" + o.key + "\"",
                            "\"dataset.<parameter>\" or \"model.<parameter>\"");
        const pipeline& p = m_run.pipe;
        run_variant v;
        v.source = copy_plugin<dataset>(*p.data, p.dataset_plugin, "dataset", overrides);
        check_declared(*v.source, p.dataset_plugin + ".variant");
        v.spec = v.source->spec();
        v.data = v.source->generate(seed);
        v.net = copy_plugin<model>(*p.net, p.model_plugin, "model", overrides);
        check_declared(*v.net, p.model_plugin + ".variant");
        v.net->build(v.spec, seed);
        return v;
    }
    std::unique_ptr<model> copy_model() const override {
        auto m = new_model(run_seed());
        set_flat_parameters(*m, flat_parameters(*m_run.pipe.net));
        return m;
    }
    std::vector<checkpoint_info> checkpoints() const override {
        const auto steps = m_store.checkpoint_steps();
        const auto updates = m_store.checkpoint_updates();
        // Up to this checkpoint: `analyze` has them all, a live run those so far, and both
        // must give an analysis the same.
        std::vector<checkpoint_info> out;
        for (std::size_t i = 0; i < steps.size() && steps[i] <= m_step; ++i)
            out.push_back({steps[i], updates[i], m_run.pipe.train.learning_rate(steps[i])});
        return out;
    }
    std::vector<float> checkpoint_parameters(std::size_t index) const override {
        return m_store.read_checkpoint(index);
    }
    void progress(const std::string& what, std::int64_t done, std::int64_t total) override {
        if (m_show)
            m_show("analysis " + m_layout.name + ": " + what + " " + std::to_string(done) + "/" +
                   std::to_string(total));
    }
    /// Where progress() goes (the run's progress display), or nowhere.
    void show_progress_with(std::function<void(const std::string&)> show) {
        m_show = std::move(show);
    }
    void write(const std::string& output, const output_value& value) override {
        const std::string where = m_layout.name + ".run"; // the analysis, not only its plugin
        const output_layout& o = declared(output, where);
        if (o.tiled)
            throw error(where, "output \"" + output + "\" is declared tiled",
                        "write_tile() for each of its blocks");
        m_values[output] = value.conformed(o, where);
    }
    void write_tile(const std::string& output, const std::vector<std::size_t>& origin,
                    const output_value& tile) override {
        const std::string where = m_layout.name + ".run";
        const output_layout& o = declared(output, where);
        if (!o.tiled)
            throw error(where, "write_tile() of \"" + output + "\", which is not declared tiled",
                        "write() of its whole value");
        bool inside = origin.size() == o.shape.size() && tile.shape().size() == o.shape.size();
        for (std::size_t d = 0; inside && d < origin.size(); ++d)
            inside = origin[d] + tile.shape()[d] <= o.shape[d];
        if (!inside)
            throw error(where,
                        "a tile of \"" + output + "\" of shape " + dims_text(tile.shape()) +
                            " at " + dims_text(origin),
                        "a block inside its shape " + dims_text(o.shape));
        output_layout block = o;
        block.shape = tile.shape();
        m_store.write_analysis_tile(m_layout.name, output, origin, tile.conformed(block, where));
        m_tiled[output] += block.n_elements();
    }

    std::map<std::int64_t, std::vector<double>> committed_items() const override {
        return m_store.read_items(m_layout.name, m_step);
    }
    std::map<std::int64_t, std::string> committed_item_texts() const override {
        return m_store.read_item_texts(m_layout.name, m_step);
    }
    using analysis_context::commit_item;
    void commit_item(std::int64_t index, const std::vector<double>& values,
                     const std::string& text) override {
        if (!m_layout.items)
            throw error(m_layout.name + ".run", "commit_item() of an analysis that keeps no items",
                        "output_binding::keep_items() in its outputs()");
        m_store.append_item(m_layout.name, m_step, index, values, text);
    }

    void begin(std::int64_t step) {
        m_step = step;
        m_values.clear();
        m_tiled.clear();
    }
    /// Runs the analysis; when it throws, the tiles it wrote are rolled back first, so the
    /// file holds only committed rows.
    void run_guarded(analysis& a) {
        try {
            a.run(*this);
        } catch (...) {
            m_store.discard_uncommitted(m_layout.name);
            throw;
        }
    }
    void commit() {
        std::set<std::string> tiled;
        for (const auto& o : m_layout.outputs)
            if (o.tiled && m_tiled[o.name] != o.n_elements())
                throw error(m_layout.name + ".run",
                            "tiles of \"" + o.name + "\" cover " + std::to_string(m_tiled[o.name]) +
                                " elements",
                            "tiles covering all " + std::to_string(o.n_elements()) + " once");
            else if (o.tiled)
                tiled.insert(o.name);
        m_store.append_analysis(m_layout.name, m_step, m_values, tiled);
    }

  private:
    // A new object of `plugin` with `from`'s parameter values, key by key, then the values of
    // the `overrides` whose keys are "<section>.<parameter>".
    template <class Object>
    std::unique_ptr<Object> copy_plugin(plugin_object& from, const std::string& plugin,
                                        const std::string& section,
                                        const std::vector<setting_override>& overrides) const {
        const plugin_kind kind = section == "model" ? plugin_kind::model : plugin_kind::dataset;
        std::unique_ptr<Object> out(
            static_cast<Object*>(m_run.reg->create(plugin, kind).release()));
        param_set source, target;
        from.declare(source);
        out->declare(target);
        for (const auto& prm : source.params())
            if (auto problem = target.find(prm.key())->assign(prm.value()))
                throw error(plugin + ".copy", prm.key() + ": " + *problem);
        const std::string prefix = section + ".";
        for (const auto& o : overrides) {
            if (o.key.rfind(prefix, 0) != 0)
                continue;
            param* prm = target.find(o.key.substr(prefix.size()));
            if (!prm) {
                std::vector<std::string> keys;
                for (const auto& known : target.params())
                    keys.push_back(prefix + known.key());
                throw error(m_layout.name + ".variant", "no setting \"" + o.key + "\"",
                            "one of " + join(keys));
            }
            if (auto problem = prm->assign(o.value))
                throw error(m_layout.name + ".variant", o.key + ": " + *problem);
        }
        return out;
    }

    const output_layout& declared(const std::string& output, const std::string& where) const {
        if (const output_layout* o = m_layout.find(output))
            return *o;
        std::vector<std::string> names;
        for (const auto& x : m_layout.outputs)
            names.push_back(x.name);
        throw error(where,
                    "analysis \"" + m_layout.name + "\" writes \"" + output +
                        "\", which it did not declare (or skipped)",
                    "one of: " + join(names));
    }

    const prepared_run& m_run;
    const analysis_layout& m_layout;
    loss_config m_loss;
    run_store& m_store;
    std::uint64_t m_seed;
    std::int64_t m_step = 0;
    std::map<std::string, output_value> m_values;
    std::map<std::string, std::size_t> m_tiled; // elements written per tiled output
    std::function<void(const std::string&)> m_show;
};

std::vector<context_impl> make_contexts(const prepared_run& r, run_store& store) {
    std::vector<context_impl> contexts;
    for (std::size_t i = 0; i < r.analyses.size(); ++i)
        contexts.emplace_back(r, i, store);
    return contexts;
}

// The pipeline validator checked each input against the producers' declarations; here the
// producer's bound outputs: an optional output it skips for this dataset cannot be read.
void check_analysis_inputs(const prepared_run& r) {
    std::vector<diagnostic> diags;
    for (std::size_t i = 0; i < r.pipe.analyses.size(); ++i) {
        param_set ps;
        r.pipe.analyses[i].object->declare(ps);
        for (const auto& prm : ps.params()) {
            if (!prm.is_input())
                continue;
            const auto ref = std::get<std::string>(prm.value());
            if (ref.empty())
                continue; // an optional input left out (the validator checked required ones)
            const auto slash = ref.find('/');
            const std::string name = ref.substr(0, slash), output = ref.substr(slash + 1);
            for (const auto& producer : r.analyses)
                if (producer.name == name && !producer.find(output)) {
                    const std::string section = "analysis." + std::to_string(i);
                    source_location l = r.pipe.locate(section, prm.key());
                    diags.push_back({std::move(l.where), section + "." + prm.key(),
                                     "\"" + ref + "\" is an optional output that " + name +
                                         " does not write for this dataset and model",
                                     "an output the producer writes here", l.line, l.column});
                }
        }
    }
    if (!diags.empty())
        throw invalid_input(std::move(diags));
}

// Runs `work`, a plugin call made while the pipeline is prepared; what it throws is invalid
// input about `section` of the pipeline (nothing has run yet).
template <class Work> void blame(const pipeline& p, const std::string& section, Work&& work) {
    try {
        work();
    } catch (const invalid_input&) {
        throw;
    } catch (const error& e) {
        throw p.relocate(e, section);
    }
}

std::unique_ptr<prepared_run> prepare(registry& reg, const fs::path& file,
                                      const std::vector<std::string>& overrides) {
    auto r = std::make_unique<prepared_run>();
    r->reg = &reg;
    if (reg.plugins().empty())
        reg.load_default();
    r->pipe = load_pipeline(file, overrides, reg);
    set_blas_threads(static_cast<int>(r->pipe.run.threads));
    const auto seed = static_cast<std::uint64_t>(r->pipe.run.seed);
    pipeline& p = r->pipe;
    blame(p, "dataset", [&] {
        r->spec = p.data->spec();
        r->split = p.data->generate(seed);
        check_dataset_names(r->split, r->spec, p.dataset_plugin);
    });
    // The loss must fit the dataset's targets before anything runs, not at step 0.
    if (r->spec.is_regression() && p.train.loss.name != "mse") {
        source_location l = p.locate("train", "loss");
        throw invalid_input(diagnostic{std::move(l.where), "train.loss",
                                       "\"" + p.train.loss.name + "\" with " + p.dataset_plugin +
                                           ", whose examples have real-valued targets",
                                       "loss = \"mse\"", l.line, l.column});
    }
    blame(p, "model", [&] { p.net->build(r->spec, seed); });
    for (std::size_t i = 0; i < p.analyses.size(); ++i) {
        auto& a = p.analyses[i];
        blame(p, "analysis." + std::to_string(i), [&] {
            output_set declared;
            a.object->declare_outputs(declared);
            output_binding binding;
            a.object->outputs(analysis_setup{r->spec, r->split, *p.net, *p.data}, binding);
            r->analyses.push_back({a.name, a.plugin, a.at,
                                   bind_outputs(a.plugin, declared, binding), binding.items()});
        });
    }
    check_analysis_inputs(*r);
    return r;
}

// The keys `analyze` requires to match the run file's: the data and model the checkpoints
// belong to, the seed that regenerates the split, and [train], which analyses get as
// ctx.loss(), ctx.training() and the checkpoints' learning rates.
std::vector<std::string> keys_that_must_match(const pipeline_tree& mine) {
    std::vector<std::string> keys;
    for (const char* section : {"dataset", "model", "train"})
        for (const auto& k : mine.keys(section))
            keys.push_back(std::string(section) + "." + k);
    keys.push_back("run.seed");
    return keys;
}

// Refuses a pipeline whose dataset, model, seed or loss differs from the recorded one, at the
// first key that differs.
void check_matches_run(const pipeline& p, const run_file& f) {
    const pipeline_tree mine(p.resolved_text(), p.file.string());
    const pipeline_tree recorded = f.resolved_pipeline();
    for (const auto& key : keys_that_must_match(mine)) {
        const std::string here = mine.value_text(key), there = recorded.value_text(key);
        if (here == there)
            continue;
        const auto dot = key.find('.');
        source_location l = p.locate(key.substr(0, dot), key.substr(dot + 1));
        throw invalid_input(
            diagnostic{std::move(l.where), key,
                       "is " + here + " here but " + (there.empty() ? "absent" : there) + " in " +
                           f.path().string(),
                       "the recorded value (see `grokkit inspect " + f.path().string() + "`)",
                       l.line, l.column});
    }
}

} // namespace

std::string check_pipeline(registry& reg, const fs::path& file,
                           const std::vector<std::string>& overrides) {
    auto r = prepare(reg, file, overrides);
    return r->pipe.resolved_text();
}

analyze_result analyze_run(registry& reg, const analyze_options& options) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = prepare(reg, options.pipeline_file, options.overrides);
    pipeline& p = r->pipe;
    if (p.analyses.empty())
        throw invalid_input(options.pipeline_file.string(), "the pipeline has no [[analysis]]",
                            "at least one");
    file_lock::refuse_if_held(options.run_file); // as `grokkit analyze` checks first
    check_matches_run(p, run_file(options.run_file));

    run_layout layout;
    layout.params = p.net->parameters();
    layout.analyses = r->analyses;
    run_store store = run_store::open_for_analysis(options.run_file, layout, options.replace);
    std::vector<context_impl> contexts = make_contexts(*r, store);
    const auto steps = store.checkpoint_steps();
    for (std::size_t c = 0; c < steps.size(); ++c) {
        store.load_checkpoint(c);
        for (std::size_t i = 0; i < p.analyses.size(); ++i) {
            if (p.analyses[i].at == "end" && c + 1 != steps.size())
                continue;
            contexts[i].begin(steps[c]);
            contexts[i].run_guarded(*p.analyses[i].object);
            contexts[i].commit();
        }
    }
    store.commit_analyses();
    analyze_result result;
    for (const auto& a : p.analyses)
        result.analyses.push_back(a.name);
    result.n_checkpoints = steps.size();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t0) {
    return std::chrono::duration<double>(steady::now() - t0).count();
}

// The run file: `out` resumed from its last checkpoint with --resume (which sets `start`, the
// optimizer's update count and result.resumed_from), else created; an existing file is
// replaced only with --force.
run_store open_store(const run_options& options, const fs::path& out, const run_header& header,
                     const run_layout& layout, const prepared_run& r, trainer& tr,
                     run_result& result) {
    if (fs::exists(out) && options.resume) {
        try {
            run_store store = run_store::resume(out, header, layout);
            tr.optimizer().set_steps_taken(store.last_checkpoint_updates());
            result.resumed_from = store.last_checkpoint_step();
            if (!r.pipe.train.on_schedule(result.resumed_from))
                store.mark_last_checkpoint_transient(); // a signal wrote it
            return store;
        } catch (const no_checkpoint&) {
            fs::remove(out); // killed before step 0 was committed: start over
        }
    }
    if (fs::exists(out) && !options.force)
        throw invalid_input(out.string(), "run file exists",
                            "--resume to continue it or --force to overwrite it");
    return run_store::create(out, header, layout, r.split, r.spec, options.force);
}

// The training loop of one run: metrics every eval_every steps, checkpoints every
// checkpoint_every steps, each checkpoint's analyses right after it, and a transient
// checkpoint on SIGINT/SIGTERM (no analyses: the run's results do not depend on when it was
// stopped).
struct training_loop {
    prepared_run& r;
    trainer& tr;
    run_store& store;
    std::vector<context_impl> contexts;
    const std::function<void(const progress&)>& report;
    std::vector<double> last_metrics;
    const std::vector<std::string> names; // trainer::metric_names()
    const std::vector<double> no_values;

    void tell(std::int64_t step, const std::vector<double>& values, std::string_view activity) {
        if (report)
            report(progress{step, r.pipe.train.steps, names, values, activity});
    }

    void run_analyses(std::int64_t step, bool final) {
        for (std::size_t i = 0; i < r.pipe.analyses.size(); ++i) {
            auto& a = r.pipe.analyses[i];
            if ((a.at == "end") != final || store.last_analysis_step(a.name) >= step)
                continue;
            tell(step, no_values, "analysis " + a.name);
            contexts[i].show_progress_with(
                [this, step](const std::string& text) { tell(step, no_values, text); });
            contexts[i].begin(step);
            blame_plugin("analysis '" + a.name + "' (plugin " + a.plugin + ")", step, [&] {
                contexts[i].run_guarded(*a.object);
                contexts[i].commit();
            });
            tr.invalidate_gradients();
            tell(step, no_values, "");
        }
    }

    /// Runs `work`, a plugin's part of the run at `step`; what it throws stops the run as an
    /// error naming `who` and the step. Every committed row stays in the file, and --resume
    /// goes on from the last checkpoint (tests/e2e/plugin_throws.py).
    template <class Work>
    void blame_plugin(const std::string& who, std::int64_t step, Work&& work) {
        try {
            work();
        } catch (const std::exception& e) {
            throw error(who + " at step " + std::to_string(step),
                        std::string(e.what()) +
                            "\n  the run file keeps every committed row and checkpoint: fix the "
                            "cause, then continue with `grokkit run ... --resume`");
        }
    }
    std::string model_plugins() const {
        return "model '" + r.pipe.model_plugin + "' on dataset '" + r.pipe.dataset_plugin + "'";
    }

    void evaluate(std::int64_t s) {
        blame_plugin("evaluating " + model_plugins(), s,
                     [&] { last_metrics = tr.evaluate(s, r.split.test); });
        store.append_metrics(s, last_metrics);
        tell(s, last_metrics, "");
    }

    /// Runs from `start` (a committed checkpoint when resumed) to the end or a stop signal;
    /// returns the status.
    std::string run(std::int64_t start, bool resumed) {
        const train_config& cfg = r.pipe.train;
        stop_signals signals;
        for (std::int64_t s = start;; ++s) {
            const bool resumed_here = resumed && s == start;
            const bool is_final = s == cfg.steps;
            if ((s % cfg.eval_every == 0 || is_final) && !resumed_here)
                evaluate(s);
            bool checkpointed = resumed_here;
            if (cfg.on_schedule(s) && !resumed_here) {
                store.append_checkpoint(s, tr.optimizer().steps_taken());
                checkpointed = true;
            }
            if (checkpointed && cfg.on_schedule(s))
                run_analyses(s, false);
            if (is_final) {
                run_analyses(s, true);
                return "complete";
            }
            if (signals.requested()) {
                if (!checkpointed)
                    store.append_checkpoint(s, tr.optimizer().steps_taken(), true);
                return "interrupted";
            }
            blame_plugin("training " + model_plugins(), s, [&] { tr.update(s); });
            tell(s + 1, no_values, "");
        }
    }
};

} // namespace

run_result run_pipeline(registry& reg, const run_options& options,
                        const std::function<void(const progress&)>& report) {
    const auto t0 = steady::now();
    auto r = prepare(reg, options.pipeline_file, options.overrides);
    pipeline& p = r->pipe;
    trainer tr(*p.net, r->split.train, p.train, static_cast<std::uint64_t>(p.run.seed));

    run_layout layout;
    layout.metric_names = trainer::metric_names();
    layout.params = p.net->parameters();
    layout.optimizer_state = tr.optimizer().state();
    layout.analyses = r->analyses;
    run_header header{p.text,           p.resolved_text(), p.overrides,
                      p.file.string(),  p.run.seed,        p.run.threads,
                      p.dataset_plugin, p.model_plugin,    p.train.optimizer.kind};
    const fs::path out =
        options.out.empty() ? fs::path("runs") / (p.run.name + ".h5") : options.out;
    run_result result;
    run_store store = open_store(options, out, header, layout, *r, tr, result);

    training_loop loop{*r, tr, store, make_contexts(*r, store), report, {}, trainer::metric_names(),
                       {}};
    const bool resumed = result.resumed_from >= 0;
    result.status = loop.run(resumed ? result.resumed_from : 0, resumed);
    if (loop.last_metrics.empty())
        loop.last_metrics = tr.evaluate(store.last_checkpoint_step(), r->split.test);
    result.seconds = seconds_since(t0);
    store.finish(result.status, result.seconds);
    result.file = out;
    result.metric_names = layout.metric_names;
    result.final_metrics = loop.last_metrics;
    return result;
}

} // namespace grokkit
