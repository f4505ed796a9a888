// HDF5 helpers; every failure becomes a grokkit::error naming the object.
// SPDX-License-Identifier: Apache-2.0
#include "store/h5.hpp"

#include <grokkit/error.hpp>

#include <algorithm>
#include <functional>
#include <numeric>

namespace grokkit::h5 {

handle::handle(hid_t id) : m_id(id) {}

handle& handle::operator=(handle&& o) noexcept {
    if (this != &o) {
        this->~handle();
        m_id = o.m_id;
        o.m_id = H5I_INVALID_HID;
    }
    return *this;
}

handle::~handle() {
    if (m_id < 0)
        return;
    switch (H5Iget_type(m_id)) {
    case H5I_FILE:
        H5Fclose(m_id);
        break;
    case H5I_GROUP:
        H5Gclose(m_id);
        break;
    case H5I_DATASET:
        H5Dclose(m_id);
        break;
    case H5I_DATASPACE:
        H5Sclose(m_id);
        break;
    case H5I_DATATYPE:
        H5Tclose(m_id);
        break;
    case H5I_ATTR:
        H5Aclose(m_id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(m_id);
        break;
    default:
        break;
    }
    m_id = H5I_INVALID_HID;
}

hid_t check(hid_t status, const std::string& what) {
    if (status < 0)
        throw error("hdf5", what);
    return status;
}

void quiet_errors() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

handle create_group(hid_t parent, const std::string& name) {
    handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "link property list"));
    H5Pset_create_intermediate_group(lcpl, 1);
    handle gcpl(check(H5Pcreate(H5P_GROUP_CREATE), "group property list"));
    H5Pset_obj_track_times(gcpl, 0);
    return handle(check(H5Gcreate2(parent, name.c_str(), lcpl, gcpl, H5P_DEFAULT),
                        "cannot create group " + name));
}

handle open_group(hid_t parent, const std::string& name) {
    return handle(check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), "cannot open group " + name));
}

bool exists(hid_t parent, const std::string& path) {
    // Check each prefix: H5Lexists fails on a path whose intermediate group is missing.
    std::size_t pos = 0;
    while (true) {
        pos = path.find('/', pos + 1);
        const std::string prefix = path.substr(0, pos);
        if (!prefix.empty() && prefix != "/" && H5Lexists(parent, prefix.c_str(), H5P_DEFAULT) <= 0)
            return false;
        if (pos == std::string::npos)
            return true;
    }
}

namespace {
handle string_type() {
    handle t(check(H5Tcopy(H5T_C_S1), "string type"));
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

template <class T>
void write_scalar_attr(hid_t obj, const std::string& name, hid_t type, const T* value) {
    if (H5Aexists(obj, name.c_str()) > 0)
        H5Adelete(obj, name.c_str());
    handle space(check(H5Screate(H5S_SCALAR), "scalar space"));
    handle attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create attribute " + name));
    check(H5Awrite(attr, type, value), "cannot write attribute " + name);
}

handle dataset_props(const std::vector<hsize_t>& chunk, series_options o) {
    handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "dataset property list"));
    H5Pset_obj_track_times(dcpl, 0); // contents, not timestamps, define a run file
    if (!chunk.empty()) {
        H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
        if (o.checksum)
            H5Pset_fletcher32(dcpl);
        if (o.compress) {
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, 4);
        }
    }
    return dcpl;
}
} // namespace

void write_attr(hid_t obj, const std::string& name, const std::string& value) {
    handle t = string_type();
    const char* p = value.c_str();
    write_scalar_attr(obj, name, t, &p);
}

void write_attr(hid_t obj, const std::string& name, std::int64_t value) {
    write_scalar_attr(obj, name, H5T_NATIVE_INT64, &value);
}

void write_attr(hid_t obj, const std::string& name, double value) {
    write_scalar_attr(obj, name, H5T_NATIVE_DOUBLE, &value);
}

bool has_attr(hid_t obj, const std::string& name) {
    return H5Aexists(obj, name.c_str()) > 0;
}

std::string read_string_attr(hid_t obj, const std::string& name) {
    handle attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute " + name));
    handle t = string_type();
    char* p = nullptr;
    check(H5Aread(attr, t, &p), "cannot read attribute " + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
}

std::int64_t read_int_attr(hid_t obj, const std::string& name) {
    handle attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute " + name));
    std::int64_t v = 0;
    check(H5Aread(attr, H5T_NATIVE_INT64, &v), "cannot read attribute " + name);
    return v;
}

void write_text(hid_t parent, const std::string& name, const std::string& text) {
    handle t = string_type();
    handle space(check(H5Screate(H5S_SCALAR), "scalar space"));
    handle dcpl = dataset_props({}, {});
    handle d(check(H5Dcreate2(parent, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                   "cannot create " + name));
    const char* p = text.c_str();
    check(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "cannot write " + name);
}

std::string read_text(hid_t parent, const std::string& name) {
    handle d(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing dataset " + name));
    handle t = string_type();
    char* p = nullptr;
    check(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "cannot read " + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
}

void write_fixed_text(hid_t parent, const std::string& name, const std::string& text,
                      std::size_t capacity) {
    handle t(check(H5Tcopy(H5T_C_S1), "string type"));
    H5Tset_size(t, capacity);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    handle d;
    if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0) {
        d = handle(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "cannot open " + name));
    } else {
        handle space(check(H5Screate(H5S_SCALAR), "scalar space"));
        handle dcpl = dataset_props({}, {});
        H5Pset_layout(dcpl, H5D_CONTIGUOUS);
        d = handle(check(H5Dcreate2(parent, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                         "cannot create " + name));
    }
    std::string buf = text.substr(0, capacity);
    buf.resize(capacity, '\0');
    check(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "cannot write " + name);
}

void write_scalar(hid_t parent, const std::string& name, double value) {
    handle d;
    if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0) {
        d = handle(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "cannot open " + name));
    } else {
        handle space(check(H5Screate(H5S_SCALAR), "scalar space"));
        handle dcpl = dataset_props({}, {});
        H5Pset_layout(dcpl, H5D_CONTIGUOUS);
        d = handle(check(
            H5Dcreate2(parent, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
            "cannot create " + name));
    }
    check(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value),
          "cannot write " + name);
}

namespace {
void write_fixed(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 hid_t file_type, hid_t mem_type, const void* data) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    handle space(
        check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "space"));
    handle dcpl = dataset_props({}, {});
    handle d(
        check(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "cannot create " + name));
    hsize_t n = 1;
    for (auto x : dims)
        n *= x;
    if (n > 0)
        check(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write " + name);
}
} // namespace

void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const std::int64_t* data) {
    write_fixed(parent, name, shape, H5T_STD_I64LE, H5T_NATIVE_INT64, data);
}
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const std::int32_t* data) {
    write_fixed(parent, name, shape, H5T_STD_I32LE, H5T_NATIVE_INT32, data);
}
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const float* data) {
    write_fixed(parent, name, shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data);
}
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const double* data) {
    write_fixed(parent, name, shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data);
}

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
    handle t = string_type();
    const hsize_t n = values.size();
    handle space(check(H5Screate_simple(1, &n, nullptr), "string array space"));
    handle d(
        check(H5Dcreate2(parent, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              "cannot create " + name));
    std::vector<const char*> pointers;
    for (const auto& v : values)
        pointers.push_back(v.c_str());
    if (n > 0)
        check(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
              "cannot write " + name);
}

handle create_series(hid_t parent, const std::string& name, hid_t mem_type,
                     const std::vector<std::size_t>& row_shape, series_options options) {
    hid_t file_type = H5T_IEEE_F64LE;
    if (H5Tequal(mem_type, H5T_NATIVE_FLOAT) > 0)
        file_type = H5T_IEEE_F32LE;
    else if (H5Tequal(mem_type, H5T_NATIVE_INT64) > 0)
        file_type = H5T_STD_I64LE;
    else if (H5Tequal(mem_type, H5T_NATIVE_UINT8) > 0)
        file_type = H5T_STD_U8LE;
    else if (H5Tget_class(mem_type) == H5T_ENUM)
        file_type = mem_type;
    return create_typed_series(parent, name, file_type, row_shape, options);
}

handle create_typed_series(hid_t parent, const std::string& name, hid_t file_type,
                           const std::vector<std::size_t>& row_shape, series_options options) {
    std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
    for (auto x : row_shape) {
        dims.push_back(x);
        maxdims.push_back(x);
        chunk.push_back(x == 0 ? 1 : x);
    }
    // One row per chunk for tensors; scalar series get wider chunks (metrics grow a row at a
    // time, flat values of variable-length outputs many at a time).
    if (row_shape.empty())
        chunk[0] = options.chunk_rows;
    // A row too large for one chunk is split into its trailing rows (one query's scores), and
    // those along the last axis only when they are too large themselves: a reader of one
    // query's row then decompresses that row alone.
    const auto elements = [&chunk] {
        return std::accumulate(chunk.begin(), chunk.end(), hsize_t{1}, std::multiplies<>());
    };
    if (chunk.size() > 2 && elements() > max_chunk_elements)
        std::fill(chunk.begin() + 1, chunk.end() - 1, hsize_t{1});
    while (chunk.size() > 1 && elements() > max_chunk_elements)
        chunk.back() = (chunk.back() + 1) / 2;
    handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                       "space"));
    handle dcpl = dataset_props(chunk, options);
    return handle(
        check(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "cannot create " + name));
}

handle bool_type() {
    // The enum h5py reads as numpy bool.
    handle t(check(H5Tenum_create(H5T_NATIVE_INT8), "bool type"));
    const signed char no = 0, yes = 1;
    check(H5Tenum_insert(t, "FALSE", &no), "bool type");
    check(H5Tenum_insert(t, "TRUE", &yes), "bool type");
    return t;
}

namespace {
std::vector<hsize_t> dims_of(hid_t dset) {
    handle space(check(H5Dget_space(dset), "dataset space"));
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return dims;
}

void rows_io(hid_t dset, std::size_t first, std::size_t n_rows, hid_t mem_type, void* data,
             bool write) {
    if (n_rows == 0)
        return;
    std::vector<hsize_t> dims = dims_of(dset);
    // A reader of a live file holds a dataset's extent as it was when it opened the dataset;
    // rows committed since (the group's `step` says so) need a refresh to be seen.
    if (!write && first + n_rows > dims.at(0)) {
        check(H5Drefresh(dset), "cannot refresh a dataset of the live file");
        dims = dims_of(dset);
    }
    handle fspace(check(H5Dget_space(dset), "dataset space"));
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = first;
    count[0] = n_rows;
    check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          "row selection");
    handle mspace(
        check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "space"));
    if (write)
        check(H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, data), "cannot write row");
    else
        check(H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, data), "cannot read row");
}
} // namespace

std::size_t series_length(hid_t dset) {
    return static_cast<std::size_t>(dims_of(dset).at(0));
}

std::size_t row_size(hid_t dset) {
    auto dims = dims_of(dset);
    std::size_t n = 1;
    for (std::size_t i = 1; i < dims.size(); ++i)
        n *= dims[i];
    return n;
}

void set_series_length(hid_t dset, std::size_t n) {
    std::vector<hsize_t> dims = dims_of(dset);
    dims[0] = n;
    check(H5Dset_extent(dset, dims.data()), "cannot resize dataset");
}

void write_row(hid_t dset, std::size_t index, hid_t mem_type, const void* data) {
    rows_io(dset, index, 1, mem_type, const_cast<void*>(data), true);
}

void read_row(hid_t dset, std::size_t index, hid_t mem_type, void* data) {
    rows_io(dset, index, 1, mem_type, data, false);
}

void write_rows(hid_t dset, std::size_t first, std::size_t n_rows, hid_t mem_type,
                const void* data) {
    rows_io(dset, first, n_rows, mem_type, const_cast<void*>(data), true);
}

void read_rows(hid_t dset, std::size_t first, std::size_t n_rows, hid_t mem_type, void* data) {
    rows_io(dset, first, n_rows, mem_type, data, false);
}

void write_block(hid_t dset, const std::vector<std::size_t>& start,
                 const std::vector<std::size_t>& count, hid_t mem_type, const void* data) {
    if (std::find(count.begin(), count.end(), std::size_t{0}) != count.end())
        return;
    handle fspace(check(H5Dget_space(dset), "dataset space"));
    const std::vector<hsize_t> first(start.begin(), start.end()), n(count.begin(), count.end());
    check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, first.data(), nullptr, n.data(), nullptr),
          "block selection");
    handle mspace(check(H5Screate_simple(static_cast<int>(n.size()), n.data(), nullptr), "space"));
    check(H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, data), "cannot write block");
}

std::vector<std::int64_t> read_int_series(hid_t dset) {
    std::vector<std::int64_t> v(series_length(dset));
    if (!v.empty())
        check(H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()),
              "cannot read series");
    return v;
}

std::vector<double> read_double_series(hid_t dset) {
    std::vector<double> v(series_length(dset) * row_size(dset));
    if (!v.empty())
        check(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()),
              "cannot read series");
    return v;
}

bool is_group(hid_t parent, const std::string& path) {
    handle obj(check(H5Oopen(parent, path.c_str(), H5P_DEFAULT), "cannot open " + path));
    return H5Iget_type(obj) == H5I_GROUP;
}

std::vector<std::string> members(hid_t group) {
    std::vector<std::string> names;
    auto add = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
    };
    hsize_t index = 0;
    check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, add, &names),
          "cannot list a group");
    return names;
}

std::vector<std::size_t> dims(hid_t dset) {
    const auto d = dims_of(dset);
    return std::vector<std::size_t>(d.begin(), d.end());
}

std::string read_fixed_text(hid_t parent, const std::string& name) {
    handle d(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing dataset " + name));
    handle t(check(H5Dget_type(d), "type of " + name));
    std::string buf(H5Tget_size(t), '\0');
    check(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "cannot read " + name);
    return buf.substr(0, buf.find('\0'));
}

double read_scalar(hid_t parent, const std::string& name) {
    handle d(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing dataset " + name));
    double v = 0;
    check(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), "cannot read " + name);
    return v;
}

} // namespace grokkit::h5
