// A thin RAII layer over the HDF5 C API: handles, attributes and extendible datasets.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit::h5 {

/// Owns one hid_t and closes it with the right H5?close.
class handle {
  public:
    handle() = default;
    explicit handle(hid_t id);
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& o) noexcept : m_id(o.m_id) { o.m_id = H5I_INVALID_HID; }
    handle& operator=(handle&& o) noexcept;
    ~handle();
    hid_t get() const { return m_id; }
    operator hid_t() const { return m_id; }
    bool valid() const { return m_id >= 0; }

  private:
    hid_t m_id = H5I_INVALID_HID;
};

/// Throws grokkit::error("hdf5", what) when `status` is negative.
hid_t check(hid_t status, const std::string& what);

/// Silences HDF5's own error printing (errors become grokkit::error).
void quiet_errors();

handle create_group(hid_t parent, const std::string& name);
handle open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& path);
/// Whether `path` (which must exist) is a group.
bool is_group(hid_t parent, const std::string& path);
/// Names of a group's members, sorted by name.
std::vector<std::string> members(hid_t group);
/// A dataset's dimensions.
std::vector<std::size_t> dims(hid_t dset);

void write_attr(hid_t obj, const std::string& name, const std::string& value);
void write_attr(hid_t obj, const std::string& name, std::int64_t value);
void write_attr(hid_t obj, const std::string& name, double value);
std::string read_string_attr(hid_t obj, const std::string& name);
std::int64_t read_int_attr(hid_t obj, const std::string& name);
bool has_attr(hid_t obj, const std::string& name);

/// A scalar variable-length UTF-8 string dataset (long text such as the pipeline).
void write_text(hid_t parent, const std::string& name, const std::string& text);
std::string read_text(hid_t parent, const std::string& name);

/// A scalar fixed-length string dataset of `capacity` bytes, created or overwritten in place
/// (allowed under SWMR, unlike attributes).
void write_fixed_text(hid_t parent, const std::string& name, const std::string& text,
                      std::size_t capacity);
/// A scalar float64 dataset, created or overwritten in place.
void write_scalar(hid_t parent, const std::string& name, double value);
/// What write_fixed_text() and write_scalar() wrote.
std::string read_fixed_text(hid_t parent, const std::string& name);
double read_scalar(hid_t parent, const std::string& name);

/// A fixed-shape dataset written at once (int64, float32 or float64).
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const std::int64_t* data);
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const std::int32_t* data);
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const float* data);
void write_array(hid_t parent, const std::string& name, const std::vector<std::size_t>& shape,
                 const double* data);
/// A 1-D dataset of variable-length UTF-8 strings (h5py: `.asstr()[:]`).
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values);

/// Options of an extendible dataset with leading axis of unlimited length.
struct series_options {
    bool compress = true;         ///< deflate level 4 (with shuffle)
    bool checksum = false;        ///< fletcher32, so raw-data corruption is detected on read
    std::size_t chunk_rows = 256; ///< rows per chunk of a series of scalars
};

/// Elements of one chunk of a series of rows at most (512 KiB of doubles).
inline constexpr hsize_t max_chunk_elements = hsize_t{1} << 16;

/// Creates an empty dataset of shape (0, row_shape...) extendible along axis 0, chunked by row
/// (a row of more than max_chunk_elements split into its trailing rows, halved if still too large),
/// stored in the little-endian file type of `mem_type` (native float, double, int64, uint8, or
/// an enum such as bool_type()).
handle create_series(hid_t parent, const std::string& name, hid_t mem_type,
                     const std::vector<std::size_t>& row_shape, series_options options);
/// The same with the file type given.
handle create_typed_series(hid_t parent, const std::string& name, hid_t file_type,
                           const std::vector<std::size_t>& row_shape, series_options options);
/// An int8 enum {FALSE = 0, TRUE = 1}: what h5py reads as numpy bool.
handle bool_type();
/// Number of rows (length of axis 0).
std::size_t series_length(hid_t dset);
/// Sets the number of rows (grow or truncate).
void set_series_length(hid_t dset, std::size_t n);
/// Writes row `index` (< length) from `data` of `mem_type`.
void write_row(hid_t dset, std::size_t index, hid_t mem_type, const void* data);
/// Reads row `index` into `data` (sized by the caller).
void read_row(hid_t dset, std::size_t index, hid_t mem_type, void* data);
/// Writes rows [first, first + n_rows) (< length) from `data`.
void write_rows(hid_t dset, std::size_t first, std::size_t n_rows, hid_t mem_type,
                const void* data);
/// Reads rows [first, first + n_rows) into `data` (sized by the caller).
void read_rows(hid_t dset, std::size_t first, std::size_t n_rows, hid_t mem_type, void* data);
/// Writes the block of `count` elements per axis from `start` (within the extent) from `data`.
void write_block(hid_t dset, const std::vector<std::size_t>& start,
                 const std::vector<std::size_t>& count, hid_t mem_type, const void* data);
/// Number of elements of one row.
std::size_t row_size(hid_t dset);
/// Reads the whole of a 1-D series.
std::vector<std::int64_t> read_int_series(hid_t dset);
std::vector<double> read_double_series(hid_t dset);

} // namespace grokkit::h5
