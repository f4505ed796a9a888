// The run file's rows of one analysis output, in the layout of docs/run-file.md.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/h5.hpp"

#include <grokkit/output.hpp>

#include <cstddef>
#include <string>

namespace grokkit {

/// One output's rows, one per run of its analysis. A fixed-shape output is one dataset
/// (rows, shape...). A variable-length one (ragged rows, strings) is a group of two growing
/// datasets: `values`, every row's elements flat (UTF-8 bytes for strings), and `offsets`
/// (rows, n_elements + 1), where element e of row r is values[offsets[r, e]:offsets[r, e + 1]].
/// HDF5 variable-length types are avoided: flat values plus offsets are plain datasets that
/// SWMR readers follow like any other.
class output_series {
  public:
    /// Creates the output's objects in the analysis group; `leading_axis` names the row axis.
    static void create(hid_t group, const output_layout& o, const std::string& leading_axis);
    /// Opens what create() made.
    static output_series open(hid_t group, const output_layout& o);

    /// Writes `v` (already conformed to the layout) as row `row`, the current row count.
    void append(std::size_t row, const output_value& v);
    /// Writes `v` (conformed to a layout of its own shape) into row `row` as the block from
    /// `origin`, growing the series to row + 1 rows when shorter; fixed-shape outputs only.
    void write_tile(std::size_t row, const std::vector<std::size_t>& origin, const output_value& v);
    /// Row `row`'s value.
    output_value read(std::size_t row) const;
    /// Grows a fixed-shape series to at least `n_rows` rows (the new ones unwritten).
    void grow_to(std::size_t n_rows);
    /// Keeps the first `n_rows` rows (and, for variable ones, the values they point at).
    void truncate(std::size_t n_rows);

  private:
    output_layout m_layout;
    h5::handle m_data;    // fixed: the rows; variable: the flat values
    h5::handle m_offsets; // variable only
};

} // namespace grokkit
