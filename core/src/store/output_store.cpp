// Storing typed analysis outputs: fixed-shape rows, or flat values plus offsets.
// SPDX-License-Identifier: Apache-2.0
#include "store/output_store.hpp"

#include <grokkit/error.hpp>

#include <variant>

namespace grokkit {

namespace {

// The memory type of a value's flat elements; bool uses the enum, strings their bytes.
h5::handle memory_type(dtype t) {
    switch (t) {
    case dtype::float64:
        return h5::handle(H5Tcopy(H5T_NATIVE_DOUBLE));
    case dtype::float32:
        return h5::handle(H5Tcopy(H5T_NATIVE_FLOAT));
    case dtype::int64:
        return h5::handle(H5Tcopy(H5T_NATIVE_INT64));
    case dtype::boolean:
        return h5::bool_type();
    case dtype::string:
        break;
    }
    return h5::handle(H5Tcopy(H5T_NATIVE_UINT8));
}

output_value::elements empty_elements(dtype t, std::size_t n) {
    switch (t) {
    case dtype::float64:
        return std::vector<double>(n);
    case dtype::float32:
        return std::vector<float>(n);
    case dtype::int64:
        return std::vector<std::int64_t>(n);
    default:
        return std::vector<std::uint8_t>(n);
    }
}

const void* data_of(const output_value::elements& e) {
    return std::visit([](const auto& v) -> const void* { return v.data(); }, e);
}
void* data_of(output_value::elements& e) {
    return std::visit([](auto& v) -> void* { return v.data(); }, e);
}

void describe(hid_t obj, const output_layout& o, const std::string& leading_axis) {
    std::vector<std::string> axes{leading_axis};
    axes.insert(axes.end(), o.axes.begin(), o.axes.end());
    h5::write_attr(obj, "units", o.units);
    h5::write_attr(obj, "axes", join(axes, ","));
    h5::write_attr(obj, "doc", o.doc);
    h5::write_attr(obj, "dtype", std::string(to_string(o.type)));
}

} // namespace

void output_series::create(hid_t group, const output_layout& o, const std::string& leading_axis) {
    h5::handle type = memory_type(o.type);
    if (!o.variable) {
        h5::handle d = h5::create_series(group, o.name, type, o.shape, {true, false, 256});
        describe(d, o, leading_axis);
        return;
    }
    h5::handle g = h5::create_group(group, o.name);
    describe(g, o, leading_axis);
    std::vector<std::string> shape;
    for (auto n : o.shape)
        shape.push_back(std::to_string(n));
    h5::write_attr(g, "shape", join(shape, ","));
    h5::write_attr(g, "layout",
                   std::string("variable-length: element e of row r is values[offsets[r, e]"
                               ":offsets[r, e + 1]]") +
                       (o.type == dtype::string ? " as UTF-8 bytes" : ""));
    h5::create_series(g, "values", type, {}, {true, false, 4096});
    h5::create_series(g, "offsets", H5T_NATIVE_INT64, {o.n_elements() + 1}, {true, false, 256});
}

output_series output_series::open(hid_t group, const output_layout& o) {
    output_series s;
    s.m_layout = o;
    auto open = [](hid_t parent, const std::string& path) {
        return h5::handle(
            h5::check(H5Dopen2(parent, path.c_str(), H5P_DEFAULT), "missing dataset " + path));
    };
    if (o.tiled) {
        // Tiles cover part of many chunks each: a cache of 64 MiB keeps the chunks a tile
        // leaves half-written until the next fills them, instead of compressing them twice.
        h5::handle dapl(h5::check(H5Pcreate(H5P_DATASET_ACCESS), "dataset access list"));
        H5Pset_chunk_cache(dapl, 12'421, std::size_t{64} << 20, 1.0);
        s.m_data = h5::handle(
            h5::check(H5Dopen2(group, o.name.c_str(), dapl), "missing dataset " + o.name));
    } else if (!o.variable) {
        s.m_data = open(group, o.name);
    } else {
        s.m_data = open(group, o.name + "/values");
        s.m_offsets = open(group, o.name + "/offsets");
    }
    return s;
}

void output_series::append(std::size_t row, const output_value& v) {
    h5::handle type = memory_type(m_layout.type);
    if (!m_layout.variable) {
        h5::set_series_length(m_data, row + 1);
        h5::write_row(m_data, row, type, data_of(v.values()));
        return;
    }
    // Offsets are stored absolute (into the whole `values`), so h5py slices without sums.
    const std::size_t base = h5::series_length(m_data);
    h5::set_series_length(m_data, base + v.n_values());
    h5::write_rows(m_data, base, v.n_values(), type, data_of(v.values()));
    std::vector<std::int64_t> offsets = v.offsets();
    for (auto& x : offsets)
        x += static_cast<std::int64_t>(base);
    h5::set_series_length(m_offsets, row + 1);
    h5::write_row(m_offsets, row, H5T_NATIVE_INT64, offsets.data());
}

void output_series::write_tile(std::size_t row, const std::vector<std::size_t>& origin,
                               const output_value& v) {
    if (h5::series_length(m_data) <= row)
        h5::set_series_length(m_data, row + 1);
    std::vector<std::size_t> start{row}, count{1};
    start.insert(start.end(), origin.begin(), origin.end());
    count.insert(count.end(), v.shape().begin(), v.shape().end());
    h5::handle type = memory_type(m_layout.type);
    h5::write_block(m_data, start, count, type, data_of(v.values()));
}

output_value output_series::read(std::size_t row) const {
    h5::handle type = memory_type(m_layout.type);
    if (!m_layout.variable) {
        output_value::elements e = empty_elements(m_layout.type, m_layout.n_elements());
        h5::read_row(m_data, row, type, data_of(e));
        return output_value(m_layout.type, m_layout.shape, std::move(e));
    }
    std::vector<std::int64_t> offsets(m_layout.n_elements() + 1);
    h5::read_row(m_offsets, row, H5T_NATIVE_INT64, offsets.data());
    const std::int64_t base = offsets.front();
    const auto n = static_cast<std::size_t>(offsets.back() - base);
    output_value::elements e = empty_elements(m_layout.type, n);
    h5::read_rows(m_data, static_cast<std::size_t>(base), n, type, data_of(e));
    for (auto& x : offsets)
        x -= base;
    return output_value(m_layout.type, m_layout.shape, std::move(e), std::move(offsets));
}

void output_series::grow_to(std::size_t n_rows) {
    if (h5::series_length(m_data) < n_rows)
        h5::set_series_length(m_data, n_rows);
}

void output_series::truncate(std::size_t n_rows) {
    if (!m_layout.variable) {
        h5::set_series_length(m_data, n_rows);
        return;
    }
    std::size_t n_values = 0;
    if (n_rows > 0) {
        std::vector<std::int64_t> offsets(m_layout.n_elements() + 1);
        h5::read_row(m_offsets, n_rows - 1, H5T_NATIVE_INT64, offsets.data());
        n_values = static_cast<std::size_t>(offsets.back());
    }
    h5::set_series_length(m_offsets, n_rows);
    h5::set_series_length(m_data, n_values);
}

} // namespace grokkit
