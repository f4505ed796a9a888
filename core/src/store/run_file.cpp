// The run-file reader: committed rows of a live, finished or killed run, and its pipeline tree.
// SPDX-License-Identifier: Apache-2.0
#include "store/h5.hpp"
#include "store/output_store.hpp"
#include "store/run_store.hpp"

#include <grokkit/error.hpp>
#include <grokkit/run_file.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

namespace grokkit {

// ---- pipeline_tree ----------------------------------------------------------------------

struct pipeline_tree::impl {
    toml::table root;
    std::string source;

    const toml::node* find(const std::string& key) const {
        const toml::node* n = &root;
        std::size_t begin = 0;
        while (n && begin <= key.size()) {
            const std::size_t end = std::min(key.find('.', begin), key.size());
            const std::string part = key.substr(begin, end - begin);
            if (const auto* t = n->as_table())
                n = t->get(part);
            else if (const auto* a = n->as_array())
                n = part.find_first_not_of("0123456789") == std::string::npos && !part.empty()
                        ? a->get(std::stoul(part))
                        : nullptr;
            else
                n = nullptr;
            begin = end + 1;
        }
        return n;
    }
    [[noreturn]] void wrong(const std::string& key, const char* expected) const {
        const toml::node* n = find(key);
        throw error(diagnostic{source, key, n ? "value is not " + std::string(expected) : "missing",
                               expected, 0, 0});
    }
};

pipeline_tree::pipeline_tree(const std::string& toml_text, const std::string& source)
    : m_impl(std::make_unique<impl>()) {
    m_impl->source = source;
    try {
        m_impl->root = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        throw error(source, "the recorded pipeline is not TOML: " + std::string(e.description()));
    }
}
pipeline_tree::pipeline_tree(pipeline_tree&&) noexcept = default;
pipeline_tree& pipeline_tree::operator=(pipeline_tree&&) noexcept = default;
pipeline_tree::~pipeline_tree() = default;

bool pipeline_tree::has(const std::string& key) const {
    return m_impl->find(key) != nullptr;
}

std::string pipeline_tree::string(const std::string& key) const {
    const toml::node* n = m_impl->find(key);
    if (auto v = n ? n->value_exact<std::string>() : std::nullopt)
        return *v;
    m_impl->wrong(key, "a string");
}

std::int64_t pipeline_tree::integer(const std::string& key) const {
    const toml::node* n = m_impl->find(key);
    if (auto v = n ? n->value_exact<std::int64_t>() : std::nullopt)
        return *v;
    m_impl->wrong(key, "an integer");
}

double pipeline_tree::real(const std::string& key) const {
    const toml::node* n = m_impl->find(key);
    if (auto v = n ? n->value<double>() : std::nullopt)
        return *v;
    m_impl->wrong(key, "a number");
}

bool pipeline_tree::boolean(const std::string& key) const {
    const toml::node* n = m_impl->find(key);
    if (auto v = n ? n->value_exact<bool>() : std::nullopt)
        return *v;
    m_impl->wrong(key, "a boolean");
}

std::vector<std::string> pipeline_tree::strings(const std::string& key) const {
    std::vector<std::string> out;
    const toml::node* n = m_impl->find(key);
    if (!n)
        return out;
    const toml::array* a = n->as_array();
    if (!a)
        m_impl->wrong(key, "a list of strings");
    for (const auto& e : *a) {
        auto v = e.value_exact<std::string>();
        if (!v)
            m_impl->wrong(key, "a list of strings");
        out.push_back(*v);
    }
    return out;
}

std::vector<std::string> pipeline_tree::keys(const std::string& section) const {
    const toml::node* n = m_impl->find(section);
    const toml::table* t = n ? n->as_table() : nullptr;
    if (!t)
        m_impl->wrong(section, "a table");
    std::vector<std::pair<toml::source_position, std::string>> keyed;
    for (auto&& [k, v] : *t)
        keyed.emplace_back(k.source().begin, std::string(k.str()));
    // toml++ iterates in sorted order; the file's order is the source positions'.
    std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.line, a.first.column) < std::tie(b.first.line, b.first.column);
    });
    std::vector<std::string> out;
    for (auto& [pos, k] : keyed)
        out.push_back(std::move(k));
    return out;
}

std::string pipeline_tree::value_text(const std::string& key) const {
    const toml::node* n = m_impl->find(key);
    if (!n)
        return {};
    std::ostringstream os;
    n->visit([&](auto&& v) { os << toml::toml_formatter{v}; });
    return os.str();
}

std::size_t pipeline_tree::n_analyses() const {
    const toml::node* n = m_impl->find("analysis");
    return n && n->as_array() ? n->as_array()->size() : 0;
}

// ---- run_file ---------------------------------------------------------------------------

struct run_file::impl {
    std::filesystem::path path;
    h5::handle file;

    h5::handle dataset(const std::string& p) const {
        return h5::handle(
            h5::check(H5Dopen2(file, p.c_str(), H5P_DEFAULT), path.string() + ": no dataset " + p));
    }
    // Rows of a series below the committed count `n`.
    std::vector<double> doubles(const std::string& p, std::size_t n) const {
        auto v = h5::read_double_series(dataset(p));
        v.resize(std::min(v.size(), n));
        return v;
    }
    output_layout layout_of(const std::string& group, const std::string& name) const;
};

output_layout run_file::impl::layout_of(const std::string& group, const std::string& name) const {
    const std::string p = group + "/" + name;
    h5::handle g = h5::open_group(file, group);
    output_layout l;
    l.name = name;
    l.variable = h5::is_group(g, name);
    h5::handle obj = l.variable ? h5::open_group(g, name) : dataset(p);
    const std::string dtype_name =
        h5::has_attr(obj, "dtype") ? h5::read_string_attr(obj, "dtype") : "float64";
    for (dtype t : {dtype::float64, dtype::float32, dtype::int64, dtype::boolean, dtype::string})
        if (dtype_name == to_string(t))
            l.type = t;
    l.units = h5::has_attr(obj, "units") ? h5::read_string_attr(obj, "units") : "";
    l.doc = h5::has_attr(obj, "doc") ? h5::read_string_attr(obj, "doc") : "";
    std::stringstream axes(h5::has_attr(obj, "axes") ? h5::read_string_attr(obj, "axes") : "");
    for (std::string a; std::getline(axes, a, ',');)
        l.axes.push_back(a);
    if (!l.axes.empty())
        l.axes.erase(l.axes.begin()); // the leading (checkpoint or run) axis
    if (l.variable && h5::has_attr(obj, "shape")) {
        std::stringstream shape(h5::read_string_attr(obj, "shape"));
        for (std::string d; std::getline(shape, d, ',');)
            l.shape.push_back(std::stoul(d));
    } else if (l.variable) { // no shape attribute: rows from the offsets, one axis at most
        const std::size_t rows = h5::dims(dataset(p + "/offsets")).at(1) - 1;
        if (!l.axes.empty())
            l.shape = {rows};
    } else {
        const auto d = h5::dims(dataset(p));
        l.shape.assign(d.begin() + 1, d.end());
    }
    return l;
}

run_file::run_file(const std::filesystem::path& path) : m_impl(std::make_unique<impl>()) {
    m_impl->path = path;
    m_impl->file = open_run_file_readonly(path);
    for (const char* required : {"/pipeline_resolved", "/metrics/step", "/checkpoints/step"})
        if (!h5::exists(m_impl->file, required))
            throw error(path.string(), std::string("not a grokkit run file (no ") + required + ")");
}
run_file::run_file(run_file&&) noexcept = default;
run_file& run_file::operator=(run_file&&) noexcept = default;
run_file::~run_file() = default;

const std::filesystem::path& run_file::path() const {
    return m_impl->path;
}

std::string run_file::pipeline_text() const {
    return h5::read_text(m_impl->file, "pipeline");
}

pipeline_tree run_file::resolved_pipeline() const {
    return pipeline_tree(h5::read_text(m_impl->file, "pipeline_resolved"),
                         m_impl->path.string() + ":/pipeline_resolved");
}

std::string run_file::status() const {
    return h5::read_fixed_text(h5::open_group(m_impl->file, "run"), "status");
}

std::string run_file::finished() const {
    return h5::read_fixed_text(h5::open_group(m_impl->file, "run"), "finished");
}

double run_file::wall_seconds() const {
    return h5::read_scalar(h5::open_group(m_impl->file, "run"), "wall_seconds");
}

bool run_file::has_attribute(const std::string& name) const {
    return h5::has_attr(m_impl->file, name);
}
std::string run_file::string_attribute(const std::string& name) const {
    return h5::read_string_attr(m_impl->file, name);
}
std::int64_t run_file::int_attribute(const std::string& name) const {
    return h5::read_int_attr(m_impl->file, name);
}

namespace {
// The names an `order` attribute lists (one per line), else the members by name.
std::vector<std::string> ordered_members(hid_t group) {
    std::vector<std::string> out;
    if (!h5::has_attr(group, "order")) { // files written before the attribute
        out = h5::members(group);
        out.erase(std::remove(out.begin(), out.end(), "step"), out.end());
        return out;
    }
    std::stringstream order(h5::read_string_attr(group, "order"));
    for (std::string n; std::getline(order, n);)
        out.push_back(n);
    return out;
}
} // namespace

std::vector<std::string> run_file::metric_names() const {
    return ordered_members(h5::open_group(m_impl->file, "metrics"));
}

std::vector<std::int64_t> run_file::metric_steps() const {
    return h5::read_int_series(m_impl->dataset("/metrics/step"));
}

std::vector<double> run_file::metric(const std::string& name) const {
    return m_impl->doubles("/metrics/" + name, metric_steps().size());
}

std::string run_file::dataset_plugin() const {
    return h5::read_string_attr(h5::open_group(m_impl->file, "dataset"), "plugin");
}

std::int64_t run_file::dataset_attribute(const std::string& name) const {
    return h5::read_int_attr(h5::open_group(m_impl->file, "dataset"), name);
}

std::string run_file::dataset_text(const std::string& name) const {
    h5::handle g = h5::open_group(m_impl->file, "dataset");
    return h5::has_attr(g, name) ? h5::read_string_attr(g, name) : std::string();
}

std::vector<std::string> run_file::dataset_records() const {
    h5::handle g = h5::open_group(m_impl->file, "dataset");
    std::vector<std::string> out;
    for (const auto& n : h5::members(g))
        if (!h5::is_group(g, n))
            out.push_back(n);
    return out;
}

xt::xarray<std::int64_t> run_file::dataset_record(const std::string& name) const {
    h5::handle d = m_impl->dataset("/dataset/" + name);
    xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(h5::dims(d));
    if (a.size())
        h5::check(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data()),
                  "cannot read /dataset/" + name);
    return a;
}

std::vector<std::int64_t> run_file::checkpoint_steps() const {
    return h5::read_int_series(m_impl->dataset("/checkpoints/step"));
}

std::vector<std::int64_t> run_file::checkpoint_updates() const {
    auto v = h5::read_int_series(m_impl->dataset("/checkpoints/updates"));
    v.resize(std::min(v.size(), checkpoint_steps().size()));
    return v;
}

std::vector<std::string> run_file::parameter_names() const {
    return ordered_members(h5::open_group(m_impl->file, "checkpoints/params"));
}

xt::xarray<float> run_file::parameter(const std::string& name, std::size_t index) const {
    if (index >= checkpoint_steps().size())
        throw error(m_impl->path.string(),
                    "checkpoint " + std::to_string(index) + " is not committed",
                    "one below " + std::to_string(checkpoint_steps().size()));
    h5::handle d = m_impl->dataset("/checkpoints/params/" + name);
    const auto dims = h5::dims(d);
    xt::xarray<float> a = xt::zeros<float>(std::vector<std::size_t>(dims.begin() + 1, dims.end()));
    h5::read_row(d, index, H5T_NATIVE_FLOAT, a.data());
    return a;
}

std::vector<run_file_analysis> run_file::analyses() const {
    h5::handle g = h5::open_group(m_impl->file, "analyses");
    std::vector<std::string> names = h5::members(g);
    // Pipeline order for the analyses the resolved pipeline names; post-hoc ones after.
    const pipeline_tree tree = resolved_pipeline();
    std::vector<std::string> ordered;
    for (std::size_t i = 0; i < tree.n_analyses(); ++i) {
        const std::string n = tree.string("analysis." + std::to_string(i) + ".name");
        if (std::find(names.begin(), names.end(), n) != names.end())
            ordered.push_back(n);
    }
    for (const auto& n : names)
        if (std::find(ordered.begin(), ordered.end(), n) == ordered.end())
            ordered.push_back(n);
    std::vector<run_file_analysis> out;
    for (const auto& n : ordered) {
        h5::handle ag = h5::open_group(g, n);
        run_file_analysis a{
            n, h5::read_string_attr(ag, "plugin"), h5::read_string_attr(ag, "at"), {}};
        for (const auto& o : h5::members(ag))
            if (o != "step" && o != "items") // the commit marker and the work items
                a.outputs.push_back(m_impl->layout_of("/analyses/" + n, o));
        out.push_back(std::move(a));
    }
    return out;
}

std::vector<std::int64_t> run_file::analysis_steps(const std::string& name) const {
    return h5::read_int_series(m_impl->dataset("/analyses/" + name + "/step"));
}

output_value run_file::analysis_output(const std::string& name, const std::string& output,
                                       std::size_t row) const {
    const std::string group = "/analyses/" + name;
    if (!h5::exists(m_impl->file, group + "/" + output))
        throw error(m_impl->path.string(), "no output \"" + name + "/" + output + "\"");
    if (row >= analysis_steps(name).size())
        throw error(m_impl->path.string(),
                    "row " + std::to_string(row) + " of \"" + name + "\" is not committed");
    h5::handle g = h5::open_group(m_impl->file, group);
    return output_series::open(g, m_impl->layout_of(group, output)).read(row);
}

std::vector<double> run_file::analysis_scalars(const std::string& name,
                                               const std::string& output) const {
    std::vector<double> out;
    const std::size_t n = analysis_steps(name).size();
    for (std::size_t r = 0; r < n; ++r)
        out.push_back(analysis_output(name, output, r).scalar());
    return out;
}

} // namespace grokkit
