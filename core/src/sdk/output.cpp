// Typed analysis outputs: declarations, binding to sizes, values and their conversions.
// SPDX-License-Identifier: Apache-2.0
#include "sdk/markdown.hpp"

#include <grokkit/error.hpp>
#include <grokkit/output.hpp>

#include <algorithm>
#include <numeric>

namespace grokkit {

namespace {
// Appended piece by piece: "(" + std::string trips GCC 12's false -Wrestrict (bug 105329).
std::string parenthesised(const std::string& inner) {
    std::string s(1, '(');
    s += inner;
    s += ')';
    return s;
}
} // namespace

const char* to_string(dtype t) {
    switch (t) {
    case dtype::float64:
        return "float64";
    case dtype::float32:
        return "float32";
    case dtype::int64:
        return "int64";
    case dtype::boolean:
        return "bool";
    case dtype::string:
        return "string";
    }
    return "?";
}

output_decl::output_decl(std::string name, dtype type, std::vector<std::string> dims,
                         std::string units, std::string doc)
    : m_name(std::move(name)), m_type(type), m_dims(std::move(dims)), m_units(std::move(units)),
      m_doc(std::move(doc)) {
    for (const auto& d : m_dims)
        m_axes.push_back(d.rfind("n_", 0) == 0 ? d.substr(2) : d);
}

output_decl& output_decl::axes(std::vector<std::string> names) {
    if (names.size() != m_dims.size())
        throw error("output " + m_name,
                    std::to_string(names.size()) + " axis names for " +
                        std::to_string(m_dims.size()) + " dims",
                    "one name per dim");
    m_axes = std::move(names);
    return *this;
}

output_decl& output_decl::ragged() {
    m_ragged = true;
    return *this;
}

output_decl& output_decl::tiled() {
    m_tiled = true;
    return *this;
}

output_decl& output_decl::optional(std::string when) {
    m_when = std::move(when);
    return *this;
}

std::string output_decl::shape_text() const {
    std::vector<std::string> dims = m_dims;
    if (m_ragged)
        dims.push_back("*");
    return parenthesised(join(dims));
}

output_decl& output_set::add(std::string name, dtype type, std::vector<std::string> dims,
                             std::string units, std::string doc) {
    if (doc.empty())
        throw error(diagnostic{"output " + name, "", "declared without a doc string",
                               "one line saying what it holds", 0, 0});
    if (find(name))
        throw error(
            diagnostic{"output " + name, "", "declared twice", "unique output names", 0, 0});
    if (name == "step" || name == "items")
        throw error(diagnostic{"output " + name, "", "a name the run file reserves",
                               "a name other than step and items", 0, 0});
    m_outputs.emplace_back(std::move(name), type, std::move(dims), std::move(units),
                           std::move(doc));
    return m_outputs.back();
}

const output_decl* output_set::find(const std::string& name) const {
    for (const auto& o : m_outputs)
        if (o.name() == name)
            return &o;
    return nullptr;
}

std::string describe_outputs(const output_set& os) {
    std::string s = "| Output | Type | Shape | Units | Doc |\n|---|---|---|---|---|\n";
    for (const auto& o : os.outputs()) {
        std::string doc = o.doc();
        if (o.is_optional())
            doc += " (only for " + o.when() + ")";
        s += "| `" + o.name() + "` | " + to_string(o.type()) + " | " + o.shape_text() + " | " +
             markdown_cell(o.units()) + " | " + markdown_cell(doc) + " |\n";
    }
    return s;
}

std::string dims_text(const std::vector<std::size_t>& shape) {
    std::vector<std::string> parts;
    for (auto n : shape)
        parts.push_back(std::to_string(n));
    return parenthesised(join(parts));
}

std::size_t output_layout::n_elements() const {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

std::vector<output_layout> bind_outputs(const std::string& analysis, const output_set& os,
                                        const output_binding& b) {
    const std::string where = analysis + ".outputs";
    for (const auto& s : b.skipped()) {
        const output_decl* d = os.find(s);
        if (!d || !d->is_optional())
            throw error(
                where, "skips \"" + s + "\", " + (d ? "a required output" : "an undeclared output"),
                "the name of an optional output");
    }
    std::vector<output_layout> out;
    for (const auto& d : os.outputs()) {
        const auto& skipped = b.skipped();
        if (std::find(skipped.begin(), skipped.end(), d.name()) != skipped.end())
            continue;
        if (d.is_tiled() && d.is_variable())
            throw error(where, "output \"" + d.name() + "\" is tiled and of variable length",
                        "tiled() for fixed-shape numeric outputs only");
        output_layout l{d.name(),        d.type(),  {},      d.axis_names(),
                        d.is_variable(), d.units(), d.doc(), d.is_tiled()};
        for (const auto& dim : d.dims()) {
            auto it = b.sizes().find(dim);
            if (it == b.sizes().end())
                throw error(where, "output \"" + d.name() + "\": size \"" + dim + "\" is not bound",
                            "output_binding::size(\"" + dim + "\", n)");
            l.shape.push_back(it->second);
        }
        out.push_back(std::move(l));
    }
    return out;
}

// ---- values -----------------------------------------------------------------------------

namespace {

template <class T> std::vector<T> flat(const xt::xarray<T>& a) {
    return std::vector<T>(a.begin(), a.end());
}

std::vector<std::size_t> shape_of(const xt::svector<std::size_t>& s) {
    return std::vector<std::size_t>(s.begin(), s.end());
}

bool is_real(dtype t) {
    return t == dtype::float64 || t == dtype::float32;
}

} // namespace

output_value::output_value(dtype type, std::vector<std::size_t> shape, elements values,
                           std::vector<std::int64_t> offsets)
    : m_type(type), m_shape(std::move(shape)), m_values(std::move(values)),
      m_offsets(std::move(offsets)) {}

output_value::output_value(double v) : output_value(dtype::float64, {}, std::vector<double>{v}) {}
output_value::output_value(std::int64_t v)
    : output_value(dtype::int64, {}, std::vector<std::int64_t>{v}) {}
output_value::output_value(bool v)
    : output_value(dtype::boolean, {},
                   std::vector<std::uint8_t>{v ? std::uint8_t{1} : std::uint8_t{0}}) {}
output_value::output_value(const char* text) : output_value(std::string(text)) {}
output_value::output_value(std::string text)
    : output_value(std::vector<std::string>{std::move(text)}) {
    m_shape.clear();
}
// The shape is taken before the vector moves (argument evaluation order is unspecified).
output_value::output_value(std::vector<double> v) : m_type(dtype::float64), m_shape{v.size()} {
    m_values = std::move(v);
}
output_value::output_value(std::vector<std::int64_t> v) : m_type(dtype::int64), m_shape{v.size()} {
    m_values = std::move(v);
}
output_value::output_value(const xt::xarray<double>& a)
    : output_value(dtype::float64, shape_of(a.shape()), flat(a)) {}
output_value::output_value(const xt::xarray<float>& a)
    : output_value(dtype::float32, shape_of(a.shape()), flat(a)) {}
output_value::output_value(const xt::xarray<std::int64_t>& a)
    : output_value(dtype::int64, shape_of(a.shape()), flat(a)) {}

output_value::output_value(std::vector<std::string> texts) : m_type(dtype::string) {
    std::vector<std::uint8_t> bytes;
    m_offsets.push_back(0);
    for (const auto& t : texts) {
        bytes.insert(bytes.end(), t.begin(), t.end());
        m_offsets.push_back(static_cast<std::int64_t>(bytes.size()));
    }
    m_shape = {texts.size()};
    m_values = std::move(bytes);
}

namespace {
template <class T>
std::pair<std::vector<T>, std::vector<std::int64_t>> concat(const std::vector<std::vector<T>>& r) {
    std::vector<T> values;
    std::vector<std::int64_t> offsets{0};
    for (const auto& row : r) {
        values.insert(values.end(), row.begin(), row.end());
        offsets.push_back(static_cast<std::int64_t>(values.size()));
    }
    return {std::move(values), std::move(offsets)};
}
} // namespace

output_value::output_value(const std::vector<std::vector<std::int64_t>>& rows)
    : m_type(dtype::int64), m_shape{rows.size()} {
    auto [v, o] = concat(rows);
    m_values = std::move(v);
    m_offsets = std::move(o);
}

output_value::output_value(const std::vector<std::vector<double>>& rows)
    : m_type(dtype::float64), m_shape{rows.size()} {
    auto [v, o] = concat(rows);
    m_values = std::move(v);
    m_offsets = std::move(o);
}

output_value output_value::booleans(const std::vector<bool>& v, std::vector<std::size_t> shape) {
    std::vector<std::uint8_t> bytes(v.begin(), v.end());
    if (shape.empty())
        shape = {v.size()};
    return output_value(dtype::boolean, std::move(shape), std::move(bytes));
}

std::size_t output_value::n_values() const {
    return std::visit([](const auto& v) { return v.size(); }, m_values);
}

double output_value::scalar() const {
    if (is_variable() || !m_shape.empty() || m_type == dtype::string || n_values() != 1)
        throw error("output_value.scalar",
                    std::string("a value of dtype ") + to_string(m_type) + " and shape " +
                        dims_text(m_shape),
                    "a number");
    return array()();
}

xt::xarray<double> output_value::array() const {
    if (is_variable() || m_type == dtype::string)
        throw error("output_value.array",
                    std::string("a variable-length value of dtype ") + to_string(m_type),
                    "a fixed-shape number array");
    xt::xarray<double> a = xt::zeros<double>(m_shape);
    std::visit([&](const auto& v) { std::copy(v.begin(), v.end(), a.begin()); }, m_values);
    return a;
}

std::vector<std::int64_t> output_value::int64s() const {
    if (m_type != dtype::int64 && m_type != dtype::boolean)
        throw error("output_value.int64s", std::string("a value of dtype ") + to_string(m_type),
                    "int64 or bool");
    if (const auto* b = std::get_if<std::vector<std::uint8_t>>(&m_values))
        return std::vector<std::int64_t>(b->begin(), b->end());
    return std::get<std::vector<std::int64_t>>(m_values);
}

std::vector<std::vector<std::int64_t>> output_value::int64_rows() const {
    if (m_type != dtype::int64 || !is_variable())
        throw error("output_value.int64_rows",
                    std::string(is_variable() ? "a" : "a fixed-shape") + " value of dtype " +
                        to_string(m_type),
                    "variable-length int64 rows");
    const auto& v = std::get<std::vector<std::int64_t>>(m_values);
    std::vector<std::vector<std::int64_t>> rows;
    for (std::size_t r = 0; r + 1 < m_offsets.size(); ++r)
        rows.emplace_back(v.begin() + m_offsets[r], v.begin() + m_offsets[r + 1]);
    return rows;
}

std::vector<std::vector<double>> output_value::real_rows() const {
    if (!is_real(m_type) || !is_variable())
        throw error("output_value.real_rows", std::string("a value of dtype ") + to_string(m_type),
                    "variable-length float64 or float32 rows");
    std::vector<std::vector<double>> rows;
    std::visit(
        [&](const auto& v) {
            for (std::size_t r = 0; r + 1 < m_offsets.size(); ++r)
                rows.emplace_back(v.begin() + m_offsets[r], v.begin() + m_offsets[r + 1]);
        },
        m_values);
    return rows;
}

std::vector<std::string> output_value::texts() const {
    if (m_type != dtype::string)
        throw error("output_value.texts", std::string("a value of dtype ") + to_string(m_type),
                    "strings");
    const auto& b = std::get<std::vector<std::uint8_t>>(m_values);
    std::vector<std::string> out;
    for (std::size_t r = 0; r + 1 < m_offsets.size(); ++r)
        out.emplace_back(b.begin() + m_offsets[r], b.begin() + m_offsets[r + 1]);
    return out;
}

std::string output_value::text() const {
    const auto all = texts();
    if (all.size() != 1)
        throw error("output_value.text", std::to_string(all.size()) + " strings",
                    "one (a scalar string)");
    return all.front();
}

std::string output_value::inconsistency() const {
    // The element vector the dtype is stored in: double, float, int64, bytes (bool, string).
    const std::size_t alternative[] = {0, 1, 2, 3, 3};
    if (m_values.index() != alternative[static_cast<int>(m_type)])
        return std::string("elements of another type than its dtype ") + to_string(m_type);
    if (!is_variable()) {
        const std::size_t n =
            std::accumulate(m_shape.begin(), m_shape.end(), std::size_t{1}, std::multiplies<>());
        if (n_values() != n)
            return std::to_string(n_values()) + " elements for shape " + dims_text(m_shape);
        return {};
    }
    const bool ordered = std::is_sorted(m_offsets.begin(), m_offsets.end());
    if (m_offsets.front() != 0 || !ordered ||
        m_offsets.back() != static_cast<std::int64_t>(n_values()))
        return "row offsets that do not run from 0 up to its " + std::to_string(n_values()) +
               " elements";
    return {};
}

output_value output_value::conformed(const output_layout& target, const std::string& where) const {
    const std::string what = "output \"" + target.name + "\": ";
    if (const std::string problem = inconsistency(); !problem.empty())
        throw error(where, what + "a value with " + problem,
                    "elements that match the value's dtype, shape and row offsets");
    const bool same_kind = m_type == target.type || (is_real(m_type) && is_real(target.type));
    if (!same_kind)
        throw error(where, what + "a value of dtype " + to_string(m_type),
                    std::string(to_string(target.type)) + " as declared");
    // Variable-length values are rows: one per element of the declared fixed dims (a scalar
    // string is one row).
    const std::size_t rows = is_variable() ? m_offsets.size() - 1 : 0;
    const bool shape_ok = target.variable ? is_variable() && rows == target.n_elements()
                                          : !is_variable() && m_shape == target.shape;
    if (!shape_ok) {
        const std::string found = (is_variable() ? std::to_string(rows) + " variable-length rows"
                                                 : "shape " + dims_text(m_shape));
        const std::string want = target.variable
                                     ? std::to_string(target.n_elements()) +
                                           " variable-length rows " + dims_text(target.shape)
                                     : "shape " + dims_text(target.shape);
        throw error(where, what + found, want + " as declared");
    }
    if (m_type == target.type)
        return *this;
    elements converted;
    if (target.type == dtype::float64)
        std::visit([&](const auto& v) { converted = std::vector<double>(v.begin(), v.end()); },
                   m_values);
    else
        std::visit([&](const auto& v) { converted = std::vector<float>(v.begin(), v.end()); },
                   m_values);
    return output_value(target.type, m_shape, std::move(converted), m_offsets);
}

} // namespace grokkit
