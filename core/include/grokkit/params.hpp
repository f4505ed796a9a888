// Self-describing plugin parameters: declaring a parameter binds, documents and validates it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>
#include <grokkit/output.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace grokkit {

/// A value as read from a pipeline file, before it is bound to a parameter.
using param_value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<std::string>, std::vector<double>>;

/// The type of a parameter; listed in the order of param_value's alternatives (assign() relies on
/// it).
enum class param_type { boolean, integer, real, string, integer_list, string_list, real_list };

/// Name of a type as users see it in messages and tables ("integer", "list of strings").
const char* to_string(param_type t);

/// One declared parameter bound to a field of its owner. Rules chain: `.at_least(2).required()`.
class GROKKIT_VISIBLE param {
  public:
    param(std::string key, param_type type, std::string doc);

    param& at_least(double lo);                      ///< value (each element of a list) >= lo
    param& at_most(double hi);                       ///< value <= hi
    param& above(double lo);                         ///< value > lo
    param& below(double hi);                         ///< value < hi
    param& one_of(std::vector<std::string> choices); ///< string (or each list element) in choices
    param& required();  ///< must be given in the pipeline; the default is not used
    param& non_empty(); ///< lists and strings must not be empty
    /// A string used as one file or directory name: non-empty, without '/' or NUL, not "." or
    /// "..", so that it cannot name a place outside the directory it is joined to.
    param& file_name();
    /// A string naming an earlier analysis' output, "<analysis>/<output>", of dtype `type`
    /// (float64 and float32 accept each other). The pipeline validator checks that the
    /// producer exists, comes earlier, runs at every checkpoint this analysis runs at and
    /// writes that dtype; the analysis reads the value with analysis_context::input(). Unless
    /// required(), an empty string (the usual default) means no input.
    param& input(dtype type);

    const std::string& key() const { return m_key; }
    param_type type() const { return m_type; }
    const std::string& doc() const { return m_doc; }
    bool is_required() const { return m_required; }
    bool is_input() const { return m_input_type.has_value(); }
    /// The dtype an input() parameter expects.
    std::optional<dtype> input_type() const { return m_input_type; }
    /// The bound field's current value.
    param_value value() const { return m_getter(); }
    /// The allowed values as text ("an integer >= 2", "one of a+b, a-b"), used in errors and
    /// tables.
    std::string rule_text() const;
    /// The bound field's current value as TOML text.
    std::string value_text() const;
    /// The default as TOML text (the bound value at declaration time).
    const std::string& default_text() const { return m_default_text; }

    /// Converts and checks `v`, then stores it; returns the problem (`what`) or nothing.
    std::optional<std::string> assign(const param_value& v);
    /// The bound field's current value checked against the rules: the problem or nothing.
    std::optional<std::string> problem() const { return check_rules(m_getter()); }

    // Binding, used by param_set::add; not for plugin code.
    std::function<std::optional<std::string>(const param_value&)> m_setter;
    std::function<param_value()> m_getter;
    void finish_declaration();

  private:
    std::optional<std::string> check_rules(const param_value& v) const;
    std::string range_text() const; ///< " in [1, 64]", " > 0" or ""

    std::string m_key;
    param_type m_type;
    std::string m_doc;
    std::string m_default_text;
    std::optional<double> m_min, m_max;
    bool m_min_open = false, m_max_open = false;
    std::vector<std::string> m_choices;
    bool m_required = false;
    bool m_non_empty = false;
    bool m_file_name = false;
    std::optional<dtype> m_input_type;
};

/// A cross-key rule: returns the problem, or nothing when the parameters agree.
struct param_check {
    std::string key; ///< the key the diagnostic points at
    std::string expected;
    std::function<std::optional<std::string>()> rule;
};

/// The parameters of one plugin (or one pipeline section), in declaration order.
class GROKKIT_VISIBLE param_set {
  public:
    param& add(std::string key, bool& field, std::string doc);
    param& add(std::string key, std::int64_t& field, std::string doc);
    param& add(std::string key, double& field, std::string doc);
    param& add(std::string key, std::string& field, std::string doc);
    param& add(std::string key, std::vector<std::int64_t>& field, std::string doc);
    param& add(std::string key, std::vector<std::string>& field, std::string doc);
    param& add(std::string key, std::vector<double>& field, std::string doc);

    /// Declares a rule across keys, checked after all keys are assigned.
    void check(std::string key, std::string expected,
               std::function<std::optional<std::string>()> rule);

    const std::deque<param>& params() const { return m_params; }
    const std::vector<param_check>& checks() const { return m_checks; }
    param* find(const std::string& key);

  private:
    param& push(param p);
    std::deque<param> m_params; // deque: references returned by add() stay valid
    std::vector<param_check> m_checks;
};

} // namespace grokkit
