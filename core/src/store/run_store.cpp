// Run file writer: layout in docs/run-file.md; SWMR rules in DESIGN §4.
// SPDX-License-Identifier: Apache-2.0
#include "store/run_store.hpp"
#include "store/test_hook.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/version.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>

namespace grokkit {

namespace {
error being_written(const std::filesystem::path& file) {
    return error(diagnostic{file.string(), "",
                            "the run file is being written by another grokkit process (it "
                            "holds the file's lock)",
                            "a run file no process is writing (wait for that run to end, or "
                            "stop it with Ctrl-C or SIGTERM, which checkpoint, then --resume; "
                            "or choose another --out)"});
}
} // namespace

void file_lock::refuse_if_held(const std::filesystem::path& file) {
    if (held_elsewhere(file))
        throw being_written(file);
}

// An open-file-description lock (fcntl F_OFD_SETLK on the whole file), not flock(2): HDF5
// itself flocks the files it opens, readers included, so an exclusive flock would shut h5py out
// of a live run. On Linux the two kinds of lock do not interact (except on NFS, which maps both
// to its own locks); an OFD lock, like a flock, belongs to the open file, not to the process.
namespace {
bool try_write_lock(int fd) {
    struct flock range = {};
    range.l_type = F_WRLCK;
    range.l_whence = SEEK_SET; // l_start = l_len = 0: the whole file, however long it grows
    return fcntl(fd, F_OFD_SETLK, &range) == 0;
}
} // namespace

file_lock file_lock::exclusive(const std::filesystem::path& file) {
    // O_RDWR: a write lock needs write access. Close-on-exec, so that a child (a chess engine)
    // cannot keep the lock after grokkit has died.
    const int fd = open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        throw error(file.string(), std::string("cannot open to lock: ") + std::strerror(errno));
    if (!try_write_lock(fd)) {
        const int why = errno;
        close(fd);
        if (why == EAGAIN || why == EACCES)
            throw being_written(file);
        throw error(file.string(), std::string("cannot lock: ") + std::strerror(why));
    }
    file_lock lock;
    lock.m_fd = fd;
    return lock;
}

bool file_lock::held_elsewhere(const std::filesystem::path& file) {
    // Asks (F_OFD_GETLK) rather than takes the lock: a reader needs no write access, and a
    // writer starting at this instant must not find the lock briefly held by the question.
    const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock range = {};
    range.l_type = F_WRLCK;
    range.l_whence = SEEK_SET;
    const bool asked = fcntl(fd, F_OFD_GETLK, &range) == 0;
    close(fd);
    return asked && range.l_type != F_UNLCK;
}

file_lock& file_lock::operator=(file_lock&& o) noexcept {
    if (this != &o) {
        if (m_fd >= 0)
            close(m_fd);
        m_fd = o.m_fd;
        o.m_fd = -1;
    }
    return *this;
}

file_lock::~file_lock() {
    if (m_fd >= 0)
        close(m_fd); // releases the lock
}

namespace {
// The layout of a work item's values: one variable-length row of float64.
output_layout item_layout() {
    output_layout o;
    o.name = "values";
    o.type = dtype::float64;
    o.shape = {1};
    o.axes = {"value"};
    o.variable = true;
    o.units = "1";
    o.doc = "each item's values, as the analysis documents them";
    return o;
}

output_layout item_text_layout() {
    output_layout o;
    o.name = "text";
    o.type = dtype::string;
    o.shape = {1};
    o.axes = {"text"};
    o.variable = true;
    o.units = "";
    o.doc = "each item's text, as the analysis documents it; may be empty";
    return o;
}
} // namespace

namespace fs = std::filesystem;

namespace {

std::string now_iso8601() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

h5::handle file_access(bool clear_status_flags) {
    h5::handle fapl(h5::check(H5Pcreate(H5P_FILE_ACCESS), "file access property list"));
    // Pin the format to 1.10 so SWMR works and the file stays readable by HDF5 1.10 tools.
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
    if (clear_status_flags) {
        // A killed SWMR writer leaves the file marked open; this property (h5clear's) lifts it.
        hbool_t clear = 1;
        if (H5Pexist(fapl, "clear_status_flags") > 0)
            H5Pset(fapl, "clear_status_flags", &clear);
        else
            H5Pinsert2(fapl, "clear_status_flags", sizeof(hbool_t), &clear, nullptr, nullptr,
                       nullptr, nullptr, nullptr, nullptr);
    }
    return fapl;
}

std::vector<std::size_t> shape_of(const xt::xarray<float>& a) {
    return {a.shape().begin(), a.shape().end()};
}

void write_examples(hid_t parent, const std::string& name, const example_set& s) {
    h5::handle g = h5::create_group(parent, name);
    if (s.tokens.size())
        h5::write_array(g, "tokens", {s.tokens.shape()[0], s.tokens.shape()[1]}, s.tokens.data());
    if (s.features.size())
        h5::write_array(g, "features", {s.features.shape()[0], s.features.shape()[1]},
                        s.features.data());
    if (s.targets.size())
        h5::write_array(g, "targets", {s.targets.shape()[0], s.targets.shape()[1]},
                        s.targets.data());
    else
        h5::write_array(g, "labels", {s.labels.size()}, s.labels.data());
    if (!s.mask.empty()) {
        h5::write_array(g, "mask_offsets", {s.mask.offsets.size()}, s.mask.offsets.data());
        h5::write_array(g, "mask_classes", {s.mask.classes.size()}, s.mask.classes.data());
    }
}

void write_header(hid_t file, const run_header& h, const input_spec& spec) {
    h5::write_attr(file, "schema_version", run_file_schema_version);
    h5::write_attr(file, "grokkit_version", std::string(version()));
    h5::write_attr(file, "git_revision", std::string(git_revision()));
    h5::write_attr(file, "created", now_iso8601());
    h5::write_attr(file, "seed", h.seed);
    h5::write_attr(file, "threads", h.threads);
    h5::write_attr(file, "blas_kernel", std::string(blas_kernel()));
    h5::write_attr(file, "fingerprint", std::string(core_fingerprint()));
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    h5::write_attr(file, "hdf5_version",
                   std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));
    h5::write_attr(file, "pipeline_file", h.pipeline_file);
    h5::write_attr(file, "overrides", join(h.overrides, "\n"));
    h5::write_attr(file, "resume_count", std::int64_t{0});
    // What changes while the run goes lives in datasets: attributes cannot change under SWMR.
    h5::handle g = h5::create_group(file, "run");
    h5::write_fixed_text(g, "status", "running", 16);
    h5::write_fixed_text(g, "finished", "", 24);
    h5::write_scalar(g, "wall_seconds", 0.0);
    h5::write_text(file, "pipeline", h.pipeline_text);
    h5::write_text(file, "pipeline_resolved", h.resolved_text);
    (void)spec;
}

} // namespace

run_store::~run_store() = default;

namespace {} // namespace

void check_dataset_names(const dataset_split& split, const input_spec& spec,
                         const std::string& plugin) {
    // A dataset may repeat a core attribute only with the core's value.
    const std::pair<const char*, std::size_t> core[] = {
        {"n_train", split.train.size()}, {"n_test", split.test.size()},
        {"n_tokens", spec.n_tokens},     {"vocab_size", spec.vocab_size},
        {"n_features", spec.n_features}, {"n_classes", spec.n_classes},
        {"n_targets", spec.n_targets}};
    for (const auto& t : split.texts)
        for (const auto& a : split.attributes)
            if (t.name == a.name || t.name == "plugin")
                throw error(plugin + ".generate",
                            "text attribute '" + t.name + "' repeats another attribute's name",
                            "another name");
    for (const auto& a : split.attributes) {
        bool clash = a.name == "plugin";
        for (const auto& [name, value] : core)
            clash = clash || (a.name == name && a.value != static_cast<std::int64_t>(value));
        if (clash)
            throw error(plugin + ".generate",
                        "attribute '" + a.name + "' clashes with the core's /dataset attribute",
                        "another name");
    }
    for (const auto& r : split.records)
        if (r.name == "train" || r.name == "test")
            throw error(plugin + ".generate",
                        "record '" + r.name + "' clashes with the core's /dataset/" + r.name,
                        "another name");
}

namespace {

// /dataset: the input spec, the dataset's attributes and records, and both example sets.
void write_dataset(hid_t file, const run_header& header, const dataset_split& split,
                   const input_spec& spec) {
    check_dataset_names(split, spec, header.dataset_plugin);
    h5::handle g = h5::create_group(file, "dataset");
    h5::write_attr(g, "plugin", header.dataset_plugin);
    for (const auto& [name, value] :
         {std::pair{"n_train", split.train.size()}, std::pair{"n_test", split.test.size()},
          std::pair{"n_tokens", spec.n_tokens}, std::pair{"vocab_size", spec.vocab_size},
          std::pair{"n_features", spec.n_features}, std::pair{"n_classes", spec.n_classes},
          std::pair{"n_targets", spec.n_targets}})
        h5::write_attr(g, name, static_cast<std::int64_t>(value));
    for (const auto& a : split.attributes)
        if (!h5::has_attr(g, a.name)) // a core one repeated with its value (checked above)
            h5::write_attr(g, a.name, a.value);
    for (const auto& t : split.texts)
        h5::write_attr(g, t.name, t.value);
    write_examples(g, "train", split.train);
    write_examples(g, "test", split.test);
    for (const auto& r : split.records) {
        h5::write_array(g, r.name, r.shape, r.values.data());
        h5::handle d(H5Dopen2(g, r.name.c_str(), H5P_DEFAULT));
        h5::write_attr(d, "doc", r.doc);
    }
}

// /metrics: the step series (the commit marker) and one series per metric.
void create_metrics(hid_t file, const run_layout& layout) {
    h5::handle g = h5::create_group(file, "metrics");
    h5::handle step = h5::create_series(g, "step", H5T_NATIVE_INT64, {}, {});
    h5::write_attr(step, "doc",
                   std::string("training step of each row; appended last, it commits the row"));
    for (const auto& m : layout.metric_names)
        h5::create_series(g, m, H5T_NATIVE_DOUBLE, {}, {});
    h5::write_attr(g, "order", join(layout.metric_names, "\n")); // as the trainer reports
}

// /checkpoints: parameters and optimizer state with a leading checkpoint axis, checksummed.
void create_checkpoints(hid_t file, const run_header& header, const run_layout& layout) {
    h5::handle g = h5::create_group(file, "checkpoints");
    h5::handle params = h5::create_group(g, "params");
    h5::handle opt = h5::create_group(g, "optimizer");
    h5::write_attr(opt, "type", header.optimizer);
    std::vector<std::string> order;
    for (const auto* p : layout.params) {
        h5::create_series(params, p->name, H5T_NATIVE_FLOAT, shape_of(p->value), {true, true});
        order.push_back(p->name);
    }
    // HDF5 lists members by name; readers need the model's parameters() order.
    h5::write_attr(params, "order", join(order, "\n"));
    for (const auto& st : layout.optimizer_state)
        h5::create_series(opt, st.name, H5T_NATIVE_FLOAT, shape_of(*st.value), {true, true});
    h5::create_series(g, "updates", H5T_NATIVE_INT64, {}, {});
    h5::handle step = h5::create_series(g, "step", H5T_NATIVE_INT64, {}, {});
    h5::write_attr(
        step, "doc",
        std::string("training step of each checkpoint; appended last, it commits the checkpoint"));
}

} // namespace

run_store run_store::create(const fs::path& file, const run_header& header,
                            const run_layout& layout, const dataset_split& split,
                            const input_spec& spec, bool replace) {
    h5::quiet_errors();
    if (std::error_code dir_error; file.has_parent_path()) {
        fs::create_directories(file.parent_path(), dir_error);
        if (dir_error)
            throw error(file.string(), "cannot create the directory " +
                                           file.parent_path().string() + ": " +
                                           dir_error.message());
    }
    run_store s;
    s.m_path = file;
    s.m_layout = layout;
    // The file is built under a temporary name and renamed once complete and under SWMR, so a
    // kill during creation never leaves a half-made file under the run's name.
    const fs::path creating = fs::path(file.string() + ".creating");
    std::error_code ec;
    fs::remove(creating, ec); // a leftover of a run killed while creating its file
    if (fs::exists(file) && !replace)
        throw error(file.string(), "run file exists", "a new file name");
    if (fs::exists(file)) // --force never replaces a run that is being written
        s.m_replaced = file_lock::exclusive(file);
    s.m_work = work_copy(creating); // removed unless the rename below makes it the run file
    h5::handle fcpl(h5::check(H5Pcreate(H5P_FILE_CREATE), "file creation property list"));
    h5::handle fapl = file_access(false);
    s.m_file = h5::handle(H5Fcreate(creating.c_str(), H5F_ACC_EXCL, fcpl, fapl));
    if (!s.m_file.valid())
        throw error(file.string(),
                    "cannot create run file (does it exist, or is the directory writable?)");
    write_header(s.m_file, header, spec);
    write_dataset(s.m_file, header, split, spec);
    create_metrics(s.m_file, layout);
    create_checkpoints(s.m_file, header, layout);
    create_analysis_groups(h5::create_group(s.m_file, "analyses"), layout.analyses);
    s.open_handles();
    h5::check(H5Fstart_swmr_write(s.m_file), "cannot start SWMR writing on " + file.string());
    // Only now: HDF5 holds its own lock on the file until SWMR writing starts.
    s.m_lock = file_lock::exclusive(creating);
    fs::rename(creating, file); // replaces an old run only now that the new one is whole
    s.m_work.keep();
    return s;
}

const output_layout* analysis_layout::find(const std::string& output) const {
    for (const auto& o : outputs)
        if (o.name == output)
            return &o;
    return nullptr;
}

void run_store::create_analysis_groups(hid_t analyses_group,
                                       const std::vector<analysis_layout>& analyses) {
    for (const auto& a : analyses) {
        h5::handle ag = h5::create_group(analyses_group, a.name);
        h5::write_attr(ag, "plugin", a.plugin);
        h5::write_attr(ag, "at", a.at);
        h5::create_series(ag, "step", H5T_NATIVE_INT64, {}, {});
        for (const auto& o : a.outputs)
            output_series::create(ag, o, a.at == "end" ? "run" : "checkpoint");
        if (!a.items)
            continue;
        h5::handle ig = h5::create_group(ag, "items");
        h5::write_attr(ig, "doc",
                       std::string("work items committed one by one within a checkpoint's run "
                                   "(a kill loses none): row r is item index[r] of checkpoint "
                                   "step[r], its values values[r]; step is written last"));
        output_series::create(ig, item_layout(), "item");
        output_series::create(ig, item_text_layout(), "item");
        h5::create_series(ig, "index", H5T_NATIVE_INT64, {}, {});
        h5::create_series(ig, "step", H5T_NATIVE_INT64, {}, {});
    }
}

void run_store::open_handles() {
    auto open = [&](const std::string& path) {
        return h5::handle(
            h5::check(H5Dopen2(m_file, path.c_str(), H5P_DEFAULT), "missing dataset " + path));
    };
    m_metric_step = open("/metrics/step");
    m_metrics.clear();
    for (const auto& m : m_layout.metric_names)
        m_metrics.push_back(open("/metrics/" + m));
    m_params.clear();
    for (const auto* p : m_layout.params)
        m_params.push_back(open("/checkpoints/params/" + p->name));
    m_state.clear();
    for (const auto& st : m_layout.optimizer_state)
        m_state.push_back(open("/checkpoints/optimizer/" + st.name));
    m_checkpoint_step = open("/checkpoints/step");
    m_checkpoint_updates = open("/checkpoints/updates");
    m_analyses.clear();
    for (const auto& a : m_layout.analyses) {
        auto& h = m_analyses[a.name];
        h.step = open("/analyses/" + a.name + "/step");
        h5::handle g = h5::open_group(m_file, "analyses/" + a.name);
        for (const auto& o : a.outputs)
            h.outputs.emplace(o.name, output_series::open(g, o));
        if (a.items) {
            h5::handle ig = h5::open_group(g, "items");
            h.item_values = output_series::open(ig, item_layout());
            h.item_text = output_series::open(ig, item_text_layout());
            h.item_index = open("/analyses/" + a.name + "/items/index");
            h.item_step = open("/analyses/" + a.name + "/items/step");
        }
    }
}

void run_store::flush() {
    // Writes reach the disk here (HDF5 caches them until then), so this is where a full disk
    // or a file size limit shows: stop before anything is committed on top of a failed write.
    errno = 0;
    if (H5Fflush(m_file, H5F_SCOPE_LOCAL) < 0) {
        const std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : "";
        throw error(diagnostic{m_path.string(), "",
                               "cannot write the run file" + why +
                                   " (is the disk full, or a file size limit reached?)",
                               "room for the file: the last committed checkpoint is kept, so "
                               "free some space and --resume"});
    }
}

void run_store::append_metrics(std::int64_t step, const std::vector<double>& values) {
    const std::size_t n = h5::series_length(m_metric_step);
    for (std::size_t i = 0; i < m_metrics.size(); ++i) {
        h5::set_series_length(m_metrics[i], n + 1);
        h5::write_row(m_metrics[i], n, H5T_NATIVE_DOUBLE, &values.at(i));
    }
    flush();
    h5::set_series_length(m_metric_step, n + 1);
    h5::write_row(m_metric_step, n, H5T_NATIVE_INT64, &step);
    flush();
    test_hook::reached("metric_row");
}

void run_store::append_checkpoint(std::int64_t step, std::int64_t updates, bool transient) {
    std::size_t n = h5::series_length(m_checkpoint_step);
    if (m_last_transient && n >= 1) {
        // Uncommit the transient row before writing over it: a kill from here on resumes from
        // the checkpoint before it and replays the same steps.
        --n;
        h5::set_series_length(m_checkpoint_step, n);
        flush();
    }
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        h5::set_series_length(m_params[i], n + 1);
        h5::write_row(m_params[i], n, H5T_NATIVE_FLOAT, m_layout.params[i]->value.data());
    }
    for (std::size_t i = 0; i < m_state.size(); ++i) {
        h5::set_series_length(m_state[i], n + 1);
        h5::write_row(m_state[i], n, H5T_NATIVE_FLOAT, m_layout.optimizer_state[i].value->data());
    }
    h5::set_series_length(m_checkpoint_updates, n + 1);
    h5::write_row(m_checkpoint_updates, n, H5T_NATIVE_INT64, &updates);
    flush();
    test_hook::reached("checkpoint_data");
    h5::set_series_length(m_checkpoint_step, n + 1);
    h5::write_row(m_checkpoint_step, n, H5T_NATIVE_INT64, &step);
    flush();
    test_hook::reached("checkpoint");
    m_last_checkpoint = step;
    m_last_updates = updates;
    m_last_transient = transient;
}

std::int64_t run_store::last_analysis_step(const std::string& name) const {
    const auto& h = m_analyses.at(name);
    const std::size_t n = h5::series_length(h.step);
    if (n == 0)
        return -1;
    std::int64_t s = 0;
    h5::read_row(h.step, n - 1, H5T_NATIVE_INT64, &s);
    return s;
}

void run_store::write_analysis_tile(const std::string& name, const std::string& output,
                                    const std::vector<std::size_t>& origin,
                                    const output_value& tile) {
    auto& h = m_analyses.at(name);
    h.outputs.at(output).write_tile(h5::series_length(h.step), origin, tile);
}

void run_store::discard_uncommitted(const std::string& name) {
    auto& h = m_analyses.at(name);
    const std::size_t n = h5::series_length(h.step);
    for (auto& [out, series] : h.outputs)
        series.truncate(n);
    flush();
}

void run_store::append_analysis(const std::string& name, std::int64_t step,
                                const std::map<std::string, output_value>& values,
                                const std::set<std::string>& tiled) {
    auto& h = m_analyses.at(name);
    const std::size_t n = h5::series_length(h.step);
    for (auto& [out, series] : h.outputs) // all checked before any row grows
        if (!values.count(out) && !tiled.count(out))
            throw error(name + ".run", "output \"" + out + "\" was declared but not written",
                        "a value for every output outputs() did not skip");
    for (auto& [out, series] : h.outputs)
        if (!tiled.count(out))
            series.append(n, values.at(out));
        else
            series.grow_to(n + 1); // a tiled output of no elements got no tile
    flush();
    h5::set_series_length(h.step, n + 1);
    h5::write_row(h.step, n, H5T_NATIVE_INT64, &step);
    flush();
}

void run_store::append_item(const std::string& name, std::int64_t step, std::int64_t index,
                            const std::vector<double>& values, const std::string& text) {
    auto& h = m_analyses.at(name);
    if (!h.item_values)
        throw error(name + ".run", "commit_item() of an analysis that keeps no items",
                    "output_binding::keep_items() in its outputs()");
    const std::size_t n = h5::series_length(h.item_step);
    const std::int64_t count = static_cast<std::int64_t>(values.size());
    h.item_values->append(n, output_value(dtype::float64, {1}, values, {0, count}));
    h.item_text->append(n, output_value(std::vector<std::string>{text}));
    h5::set_series_length(h.item_index, n + 1);
    h5::write_row(h.item_index, n, H5T_NATIVE_INT64, &index);
    flush();
    h5::set_series_length(h.item_step, n + 1);
    h5::write_row(h.item_step, n, H5T_NATIVE_INT64, &step);
    flush();
}

std::map<std::int64_t, std::vector<double>> run_store::read_items(const std::string& name,
                                                                  std::int64_t step) const {
    std::map<std::int64_t, std::vector<double>> items;
    const auto& h = m_analyses.at(name);
    if (!h.item_values)
        return items;
    const auto steps = h5::read_int_series(h.item_step);
    const auto index = h5::read_int_series(h.item_index);
    for (std::size_t r = 0; r < steps.size(); ++r)
        if (steps[r] == step) {
            const auto rows = h.item_values->read(r).real_rows();
            items[index[r]] = rows.empty() ? std::vector<double>{} : rows.front();
        }
    return items;
}

std::map<std::int64_t, std::string> run_store::read_item_texts(const std::string& name,
                                                               std::int64_t step) const {
    std::map<std::int64_t, std::string> texts;
    const auto& h = m_analyses.at(name);
    if (!h.item_text)
        return texts;
    const auto steps = h5::read_int_series(h.item_step);
    const auto index = h5::read_int_series(h.item_index);
    for (std::size_t r = 0; r < steps.size(); ++r)
        if (steps[r] == step)
            texts[index[r]] = h.item_text->read(r).texts().at(0);
    return texts;
}

output_value run_store::read_analysis(const std::string& name, const std::string& output,
                                      std::int64_t step) const {
    const std::string reference = name + "/" + output;
    auto it = m_analyses.find(name);
    if (it == m_analyses.end() || !it->second.outputs.count(output))
        throw error("analysis input", "no output \"" + reference + "\" in the run file");
    const auto steps = h5::read_int_series(it->second.step);
    const auto row = std::find(steps.begin(), steps.end(), step);
    if (row == steps.end())
        throw error("analysis input",
                    "\"" + reference + "\" has no value for step " + std::to_string(step),
                    "its producer to run there first");
    return it->second.outputs.at(output).read(static_cast<std::size_t>(row - steps.begin()));
}

void run_store::commit_analyses() {
    flush();
    m_analyses.clear();
    m_metrics.clear();
    m_params.clear();
    m_state.clear();
    m_metric_step = {};
    m_checkpoint_step = {};
    m_checkpoint_updates = {};
    m_file = {};
    fs::rename(m_work.path(), m_path);
    m_work.keep();
}

void run_store::finish(const std::string& status, double wall_seconds) {
    // Overwrites datasets that exist since creation: allowed under SWMR, so live readers may
    // keep the file open.
    h5::handle g = h5::open_group(m_file, "run");
    h5::write_scalar(g, "wall_seconds", m_previous_seconds + wall_seconds);
    h5::write_fixed_text(g, "finished", now_iso8601(), 24);
    h5::write_fixed_text(g, "status", status, 16);
    flush();
    g = {};
    m_metrics.clear();
    m_params.clear();
    m_state.clear();
    m_analyses.clear();
    m_metric_step = {};
    m_checkpoint_step = {};
    m_checkpoint_updates = {};
    m_file = {};
}

namespace {

// Refuses to resume a file whose pipeline, thread count or BLAS kernel differs from this run's.
void check_same_run(hid_t f, const fs::path& file, const run_header& header) {
    if (!h5::exists(f, "/pipeline_resolved") || !h5::exists(f, "/checkpoints/step"))
        throw error(file.string(),
                    "not a grokkit run file (no /pipeline_resolved or /checkpoints/step)");
    if (h5::read_text(f, "pipeline_resolved") != header.resolved_text)
        throw invalid_input(file.string(),
                            "the pipeline differs from the one recorded in the run file; "
                            "expected the same resolved pipeline (see `grokkit inspect`)");
    if (h5::read_int_attr(f, "threads") != header.threads)
        throw invalid_input(file.string(), "thread count " + std::to_string(header.threads) +
                                               " differs from the recorded " +
                                               std::to_string(h5::read_int_attr(f, "threads")));
    if (h5::read_string_attr(f, "blas_kernel") != blas_kernel())
        throw invalid_input(file.string(), std::string("BLAS kernel ") + blas_kernel() +
                                               " differs from the recorded " +
                                               h5::read_string_attr(f, "blas_kernel"));
}

} // namespace

void run_store::restore_last_checkpoint() {
    // The last committed checkpoint: every row below the length of /checkpoints/step.
    const auto steps = h5::read_int_series(m_checkpoint_step);
    if (steps.empty())
        throw no_checkpoint(m_path.string(),
                            "the run file holds no complete checkpoint to resume from");
    const std::size_t n = steps.size();
    for (auto& d : m_params)
        h5::set_series_length(d, n);
    for (auto& d : m_state)
        h5::set_series_length(d, n);
    h5::set_series_length(m_checkpoint_updates, n);
    for (std::size_t i = 0; i < m_params.size(); ++i)
        h5::read_row(m_params[i], n - 1, H5T_NATIVE_FLOAT, m_layout.params[i]->value.data());
    for (std::size_t i = 0; i < m_state.size(); ++i)
        h5::read_row(m_state[i], n - 1, H5T_NATIVE_FLOAT,
                     m_layout.optimizer_state[i].value->data());
    h5::read_row(m_checkpoint_updates, n - 1, H5T_NATIVE_INT64, &m_last_updates);
    m_last_checkpoint = steps.back();
}

void run_store::drop_rows_after_checkpoint() {
    // Rows after the checkpoint, and rows whose commit marker was never written, are dropped.
    const std::int64_t last = m_last_checkpoint;
    auto keep_rows = [last](hid_t step_dset) {
        const auto st = h5::read_int_series(step_dset);
        std::size_t k = 0;
        while (k < st.size() && st[k] <= last)
            ++k;
        return k;
    };
    const std::size_t n_metrics = keep_rows(m_metric_step);
    h5::set_series_length(m_metric_step, n_metrics);
    for (auto& d : m_metrics)
        h5::set_series_length(d, n_metrics);
    for (auto& [name, h] : m_analyses) {
        const std::size_t k = keep_rows(h.step);
        h5::set_series_length(h.step, k);
        for (auto& [o, series] : h.outputs)
            series.truncate(k);
        if (h.item_values) { // items of this checkpoint stay: the analysis resumes from them
            const std::size_t i = keep_rows(h.item_step);
            h5::set_series_length(h.item_step, i);
            h5::set_series_length(h.item_index, i);
            h.item_values->truncate(i);
            h.item_text->truncate(i);
        }
    }
}

run_store run_store::resume(const fs::path& file, const run_header& header,
                            const run_layout& layout) {
    h5::quiet_errors();
    run_store s;
    s.m_path = file;
    s.m_layout = layout;
    // The repairs below (truncation, attributes) are written outside SWMR, where a kill could
    // leave the file inconsistent: they are made on a copy that replaces the file only once
    // SWMR writing has started again, so a kill at any moment leaves a resumable file.
    // Held until the copy has replaced the file: a second --resume, or a live writer, is
    // refused here, before the copy's status flags are cleared.
    s.m_replaced = file_lock::exclusive(file);
    s.m_work = work_copy::of(file, ".resuming");
    const fs::path work = s.m_work.path();
    s.m_file = open_run_file_for_resume(work);
    check_same_run(s.m_file, file, header);
    s.open_handles();
    s.restore_last_checkpoint();
    s.drop_rows_after_checkpoint();
    h5::handle g = h5::open_group(s.m_file, "run");
    h5::write_fixed_text(g, "status", "running", 16);
    // Sessions killed without finish() left no time behind; this counts finished ones.
    s.m_previous_seconds = h5::read_scalar(g, "wall_seconds");
    g = {};
    h5::write_attr(s.m_file, "resume_count", h5::read_int_attr(s.m_file, "resume_count") + 1);
    s.flush();
    h5::check(H5Fstart_swmr_write(s.m_file), "cannot start SWMR writing on " + file.string());
    s.m_lock = file_lock::exclusive(work); // as in create(): after HDF5's own lock is gone
    fs::rename(work, file);
    s.m_work.keep();
    return s;
}

run_store run_store::open_for_analysis(const fs::path& file, const run_layout& layout,
                                       bool replace) {
    h5::quiet_errors();
    run_store s;
    s.m_path = file;
    s.m_layout = layout;
    // Analyses are added to a copy that replaces the file in commit_analyses(): a failure or
    // a kill midway leaves the run file as it was.
    s.m_replaced = file_lock::exclusive(file); // not a run still being written
    s.m_work = work_copy::of(file, ".analyzing");
    h5::handle fapl = file_access(false); // HDF5's own lock keeps others off the copy
    s.m_file = h5::handle(H5Fopen(s.m_work.path().c_str(), H5F_ACC_RDWR, fapl));
    if (!s.m_file.valid())
        throw error(file.string(),
                    "cannot open run file for writing; is it being written, or was its run "
                    "killed? (resume it first) or is it corrupt?");
    if (!h5::exists(s.m_file, "/checkpoints/step") || !h5::exists(s.m_file, "/analyses"))
        throw error(file.string(), "not a grokkit run file (no /checkpoints/step or /analyses)");
    h5::handle g = h5::open_group(s.m_file, "analyses");
    for (const auto& a : layout.analyses) {
        if (!h5::exists(g, a.name))
            continue;
        if (!replace)
            throw invalid_input(file.string(),
                                "analysis '" + a.name + "' is already in the run file",
                                "another name, or --force to replace it");
        H5Ldelete(g, a.name.c_str(), H5P_DEFAULT);
    }
    create_analysis_groups(g, layout.analyses);
    s.open_handles();
    const auto steps = h5::read_int_series(s.m_checkpoint_step);
    s.m_last_checkpoint = steps.empty() ? -1 : steps.back();
    return s;
}

std::vector<std::int64_t> run_store::checkpoint_steps() const {
    return h5::read_int_series(m_checkpoint_step);
}

void run_store::load_checkpoint(std::size_t index) {
    for (std::size_t i = 0; i < m_params.size(); ++i)
        h5::read_row(m_params[i], index, H5T_NATIVE_FLOAT, m_layout.params[i]->value.data());
}

std::vector<float> run_store::read_checkpoint(std::size_t index) const {
    std::size_t n = 0;
    for (const auto* p : m_layout.params)
        n += p->value.size();
    std::vector<float> out(n);
    float* at = out.data();
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        h5::read_row(m_params[i], index, H5T_NATIVE_FLOAT, at);
        at += m_layout.params[i]->value.size();
    }
    return out;
}

std::vector<std::int64_t> run_store::checkpoint_updates() const {
    auto v = h5::read_int_series(m_checkpoint_updates);
    v.resize(std::min(v.size(), h5::series_length(m_checkpoint_step)));
    return v;
}

namespace {

// The end-of-file address a version 2 or 3 superblock records (at byte 28, after the
// signature, version, size of offsets and lengths, flags, base address and extension
// address), or 0 if the file does not start with such a superblock of 8-byte offsets.
std::uint64_t recorded_end_of_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    unsigned char b[36] = {};
    if (!in.read(reinterpret_cast<char*>(b), sizeof b))
        return 0;
    const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (std::memcmp(b, signature, 8) != 0 || (b[8] != 2 && b[8] != 3) || b[9] != 8)
        return 0;
    std::uint64_t eof = 0;
    for (int i = 7; i >= 0; --i)
        eof = (eof << 8) | b[28 + i];
    return eof;
}

// Whether every chunk holding a committed row of the datasets under `path` (recursively: the
// first `rows` rows) lies within the first `size` bytes of the file.
bool committed_rows_within(hid_t parent, const std::string& path, hsize_t rows,
                           std::uint64_t size) {
    if (!h5::exists(parent, path))
        return true;
    if (h5::is_group(parent, path)) {
        h5::handle g = h5::open_group(parent, path);
        for (const std::string& name : h5::members(g))
            if (!committed_rows_within(g, name, rows, size))
                return false;
        return true;
    }
    h5::handle d(H5Dopen2(parent, path.c_str(), H5P_DEFAULT));
    h5::handle space(H5Dget_space(d));
    const int rank = H5Sget_simple_extent_ndims(space);
    if (!d.valid() || rank < 1)
        return false;
    std::vector<hsize_t> at(static_cast<std::size_t>(rank), 0);
    for (hsize_t row = 0; row < rows; ++row) {
        at[0] = row;
        unsigned filters = 0;
        haddr_t address = HADDR_UNDEF;
        hsize_t bytes = 0;
        if (H5Dget_chunk_info_by_coord(d, at.data(), &filters, &address, &bytes) < 0)
            return false;
        if (address != HADDR_UNDEF && address + bytes > size)
            return false;
    }
    return true;
}

// After a repair: the committed checkpoints and metrics rows (the lengths of their `step`
// series) were all written before the file was cut short, as after a failed write; a file cut
// anywhere else (a partial copy) is refused rather than resumed from zeros.
bool committed_data_within(hid_t f, std::uint64_t size) {
    const auto committed = [&](const char* step) {
        if (!h5::exists(f, step))
            return hsize_t{0};
        h5::handle d(H5Dopen2(f, step, H5P_DEFAULT));
        return static_cast<hsize_t>(h5::series_length(d));
    };
    return committed_rows_within(f, "checkpoints", committed("/checkpoints/step"), size) &&
           committed_rows_within(f, "metrics", committed("/metrics/step"), size);
}

} // namespace

h5::handle open_run_file_for_resume(const fs::path& file) {
    h5::quiet_errors();
    h5::handle fapl = file_access(true);
    h5::handle f(H5Fopen(file.c_str(), H5F_ACC_RDWR, fapl));
    // A write that failed (a full disk, a file size limit) can leave the file shorter than the
    // space HDF5 had allocated, which it then refuses to open. What lies beyond the end was
    // never written, and nothing committed points there (commits follow successful flushes):
    // the file is extended with zeros to its recorded size, and the uncommitted rows are
    // dropped as after any kill.
    const std::uint64_t recorded = f.valid() ? 0 : recorded_end_of_file(file);
    if (const std::uint64_t size = fs::file_size(file); recorded > size) {
        fs::resize_file(file, recorded);
        f = h5::handle(H5Fopen(file.c_str(), H5F_ACC_RDWR, fapl));
        if (f.valid() && !committed_data_within(f, size))
            throw error(file.string(),
                        "the run file is cut short inside its committed data (a partial copy?)",
                        "the whole file: it cannot be resumed");
    }
    if (!f.valid())
        throw error(file.string(),
                    "cannot open run file for resuming; it is not a readable HDF5 file "
                    "(truncated or corrupt?)");
    // After a kill the superblock's end-of-file may be stale; re-derive it before any write.
    h5::check(H5Fincrement_filesize(f, 0), "cannot repair the file size of " + file.string());
    return f;
}

h5::handle open_run_file_readonly(const fs::path& file) {
    h5::quiet_errors();
    // A closed file opens plainly; a live or killed one is still marked open by its writer and
    // opens only in SWMR-read mode. SWMR reads retry failed checksums (100 times by default,
    // which makes a corrupt file look like a hang), so keep the retries few.
    h5::handle fapl = file_access(false);
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        H5Pset_metadata_read_attempts(fapl, 3);
        f = H5Fopen(file.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    }
    if (f < 0)
        throw error(file.string(),
                    "cannot open run file; it is not a readable HDF5 file (truncated or corrupt?)");
    return h5::handle(f);
}

} // namespace grokkit
