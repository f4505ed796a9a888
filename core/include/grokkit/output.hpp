// Typed analysis outputs: declared once (name, dtype, shape in named sizes, units, doc), bound
// to sizes when a run starts, written and read back as output_value.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>

#include <xtensor/xarray.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace grokkit {

/// Element type of an output as the run file stores it (bool as an HDF5 enum h5py reads as
/// numpy bool; string as UTF-8 bytes).
enum class dtype { float64, float32, int64, boolean, string };

/// "float64", "float32", "int64", "bool", "string".
const char* to_string(dtype t);

/// One output as an analysis declares it, before any run: its shape is given in named sizes
/// (n_queries, d, k) that the analysis binds when a run starts, so its documentation needs no
/// run. Rules chain: `os.add(...).ragged().optional("parity datasets")`.
class GROKKIT_VISIBLE output_decl {
  public:
    output_decl(std::string name, dtype type, std::vector<std::string> dims, std::string units,
                std::string doc);

    /// Each element of `dims` is a row of variable length (an index set, a top-k list).
    /// Strings are always of variable length and need no ragged().
    output_decl& ragged();
    /// Written only by some runs (the analysis' outputs() says which, by output_binding::skip);
    /// `when` says when, for the documentation.
    output_decl& optional(std::string when);
    /// Names of the axes as the run file's `axes` attribute gives them, one per dim; by
    /// default each dim's name without a leading "n_" (n_queries -> queries).
    output_decl& axes(std::vector<std::string> names);
    /// Written in parts with analysis_context::write_tile() (fixed-shape numeric outputs only):
    /// one too large to hold whole in memory, such as an n_queries x n_train score matrix.
    output_decl& tiled();

    const std::string& name() const { return m_name; }
    dtype type() const { return m_type; }
    const std::vector<std::string>& dims() const { return m_dims; }
    const std::string& units() const { return m_units; }
    const std::string& doc() const { return m_doc; }
    const std::string& when() const { return m_when; }
    const std::vector<std::string>& axis_names() const { return m_axes; }
    bool is_optional() const { return !m_when.empty(); }
    bool is_tiled() const { return m_tiled; }
    /// Variable-length rows: ragged numeric rows, or strings.
    bool is_variable() const { return m_ragged || m_type == dtype::string; }
    /// "(n_neurons, n_frequencies)", "()", "(n_queries, *)" with * a variable-length axis.
    std::string shape_text() const;

  private:
    std::string m_name;
    dtype m_type;
    std::vector<std::string> m_dims;
    std::vector<std::string> m_axes;
    std::string m_units;
    std::string m_doc;
    std::string m_when;
    bool m_ragged = false;
    bool m_tiled = false;
};

/// The outputs of one analysis, in declaration order.
class GROKKIT_VISIBLE output_set {
  public:
    /// Declares an output; `doc` must not be empty (the documentation is generated from it).
    output_decl& add(std::string name, dtype type, std::vector<std::string> dims, std::string units,
                     std::string doc);
    const std::deque<output_decl>& outputs() const { return m_outputs; }
    const output_decl* find(const std::string& name) const;

  private:
    std::deque<output_decl> m_outputs; // deque: references returned by add() stay valid
};

/// The Markdown table of `os` (Output | Type | Shape | Units | Doc), with a trailing newline.
std::string describe_outputs(const output_set& os);

/// What an analysis' outputs() decides for one run: the value of each named size, and which
/// optional outputs it will not write.
class GROKKIT_VISIBLE output_binding {
  public:
    void size(const std::string& dim, std::size_t n) { m_sizes[dim] = n; }
    void skip(const std::string& output) { m_skipped.push_back(output); }
    /// The analysis commits long work item by item (analysis_context::commit_item): the run
    /// file gets the group that keeps the items across a kill.
    void keep_items() { m_items = true; }
    bool items() const { return m_items; }
    const std::map<std::string, std::size_t>& sizes() const { return m_sizes; }
    const std::vector<std::string>& skipped() const { return m_skipped; }

  private:
    std::map<std::string, std::size_t> m_sizes;
    std::vector<std::string> m_skipped;
    bool m_items = false;
};

/// One output of one run of the pipeline: its declaration with every size bound.
struct output_layout {
    std::string name;
    dtype type = dtype::float64;
    std::vector<std::size_t> shape; ///< fixed dims (rows, for a variable-length output)
    std::vector<std::string> axes;  ///< one name per dim
    bool variable = false;          ///< each element of `shape` is a variable-length row
    std::string units;
    std::string doc;
    bool tiled = false; ///< written in parts (output_decl::tiled)

    /// Number of fixed elements (of rows, when variable): the product of `shape`.
    std::size_t n_elements() const;
};

/// "(3, 4)", "()": a shape as messages give it.
std::string dims_text(const std::vector<std::size_t>& shape);

/// The layouts of every output `os` declares that `b` does not skip. Throws grokkit::error
/// ("<analysis>.outputs", ...) for a size left unbound or a skip of an unknown or required
/// output.
std::vector<output_layout> bind_outputs(const std::string& analysis, const output_set& os,
                                        const output_binding& b);

/// One run's value of an output: row-major flat elements of its dtype and, for variable-length
/// outputs, the offsets of each row into them (n_rows + 1 values from 0). Implicit
/// constructors make `ctx.write("loss", 0.25)` and `ctx.write("top", rows)` read naturally.
class GROKKIT_VISIBLE output_value {
  public:
    using elements = std::variant<std::vector<double>, std::vector<float>,
                                  std::vector<std::int64_t>, std::vector<std::uint8_t>>;

    output_value() = default;
    output_value(double v);
    output_value(std::int64_t v);
    output_value(bool v);
    output_value(const char* text);
    output_value(std::string text);
    output_value(std::vector<double> v);
    output_value(std::vector<std::int64_t> v);
    output_value(std::vector<std::string> texts);
    output_value(const xt::xarray<double>& a);
    output_value(const xt::xarray<float>& a);
    output_value(const xt::xarray<std::int64_t>& a);
    /// Variable-length integer rows (index sets, top-k lists): one row per element.
    output_value(const std::vector<std::vector<std::int64_t>>& rows);
    /// Variable-length real rows.
    output_value(const std::vector<std::vector<double>>& rows);
    /// A bool array (std::vector<bool> is not contiguous).
    static output_value booleans(const std::vector<bool>& v, std::vector<std::size_t> shape = {});
    /// Any of the above from raw parts; `offsets` empty for a fixed-shape value.
    output_value(dtype type, std::vector<std::size_t> shape, elements values,
                 std::vector<std::int64_t> offsets = {});

    dtype type() const { return m_type; }
    const std::vector<std::size_t>& shape() const { return m_shape; }
    const elements& values() const { return m_values; }
    const std::vector<std::int64_t>& offsets() const { return m_offsets; }
    bool is_variable() const { return !m_offsets.empty(); }
    /// Number of flat values (bytes, for strings).
    std::size_t n_values() const;

    // Readers; each throws grokkit::error naming the dtype found when the value is not one.
    double scalar() const;                    ///< a fixed float64/float32/int64 scalar
    xt::xarray<double> array() const;         ///< a fixed numeric array, as float64
    std::vector<std::int64_t> int64s() const; ///< the flat int64 (or bool) values
    std::vector<std::vector<std::int64_t>> int64_rows() const; ///< variable-length int64 rows
    std::vector<std::vector<double>> real_rows() const;        ///< variable-length real rows
    std::string text() const;                                  ///< a scalar string
    std::vector<std::string> texts() const;                    ///< every string, row-major

    /// This value converted to `target`'s dtype where that loses no meaning (float64 and
    /// float32 into each other), checked against its shape. Throws grokkit::error("<where>", ...)
    /// naming the output, the dtype or shape found and the one declared.
    output_value conformed(const output_layout& target, const std::string& where) const;

  private:
    /// What makes the parts disagree (elements of another type than the dtype, a count that is
    /// not the shape's, offsets that do not run from 0 to the count), or "".
    std::string inconsistency() const;

    dtype m_type = dtype::float64;
    std::vector<std::size_t> m_shape;
    elements m_values = std::vector<double>{};
    std::vector<std::int64_t> m_offsets;
};

} // namespace grokkit
