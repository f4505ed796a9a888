// Self-describing parameters: binding, type conversion and rule checks.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/params.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace grokkit {

const char* to_string(param_type t) {
    switch (t) {
    case param_type::boolean:
        return "boolean";
    case param_type::integer:
        return "integer";
    case param_type::real:
        return "number";
    case param_type::string:
        return "string";
    case param_type::integer_list:
        return "list of integers";
    case param_type::string_list:
        return "list of strings";
    case param_type::real_list:
        return "list of numbers";
    }
    return "?";
}

namespace {

std::string format_real(double v) {
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    std::ostringstream os;
    os.precision(17);
    os << v;
    std::string s = os.str();
    // Shortest text that reads back to the same double, so resolved pipelines round-trip.
    for (int p = 1; p <= 17; ++p) {
        std::ostringstream t;
        t.precision(p);
        t << v;
        if (std::stod(t.str()) == v) {
            s = t.str();
            break;
        }
    }
    if (s.find_first_of("eE") != std::string::npos && v == std::floor(v) && std::abs(v) < 1e16) {
        std::ostringstream f;
        f << std::fixed << std::setprecision(1) << v; // 3000.0, not 3e+03
        s = f.str();
    }
    if (s.find_first_of(".eEn") == std::string::npos)
        s += ".0";
    return s;
}

std::string quote(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            q += '\\';
        q += c;
    }
    return q + "\"";
}

struct text_visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_real(d); }
    std::string operator()(const std::string& s) const { return quote(s); }
    template <class T> std::string operator()(const std::vector<T>& xs) const {
        std::string s = "[";
        for (std::size_t i = 0; i < xs.size(); ++i)
            s += (i ? ", " : "") + (*this)(xs[i]);
        return s + "]";
    }
};

std::string value_to_text(const param_value& v) {
    return std::visit(text_visitor{}, v);
}

const char* value_type_name(const param_value& v) {
    switch (v.index()) {
    case 0:
        return "a boolean";
    case 1:
        return "an integer";
    case 2:
        return "a float";
    case 3:
        return "a string";
    default:
        return "an array";
    }
}

} // namespace

param::param(std::string key, param_type type, std::string doc)
    : m_key(std::move(key)), m_type(type), m_doc(std::move(doc)) {}

param& param::at_least(double lo) {
    m_min = lo;
    m_min_open = false;
    return *this;
}
param& param::at_most(double hi) {
    m_max = hi;
    m_max_open = false;
    return *this;
}
param& param::above(double lo) {
    m_min = lo;
    m_min_open = true;
    return *this;
}
param& param::below(double hi) {
    m_max = hi;
    m_max_open = true;
    return *this;
}
param& param::one_of(std::vector<std::string> choices) {
    m_choices = std::move(choices);
    return *this;
}
param& param::required() {
    m_required = true;
    return *this;
}
param& param::non_empty() {
    m_non_empty = true;
    return *this;
}
param& param::file_name() {
    m_file_name = true;
    return *this;
}
param& param::input(dtype type) {
    m_input_type = type;
    return *this;
}

void param::finish_declaration() {
    m_default_text = value_text();
}

std::string param::value_text() const {
    return m_getter ? value_to_text(m_getter()) : "";
}

namespace {

const char* type_phrase(param_type t) {
    switch (t) {
    case param_type::boolean:
        return "true or false";
    case param_type::integer:
        return "an integer";
    case param_type::real:
        return "a number";
    case param_type::string:
        return "a string";
    case param_type::integer_list:
        return "a list of integers";
    case param_type::string_list:
        return "a list of strings";
    case param_type::real_list:
        return "a list of numbers";
    }
    return "a value";
}

// A bound as users read it: integers without a fraction, reals as they read back.
std::string bound_text(double x, bool integral) {
    if (integral && std::abs(x) < 9.0e15)
        return std::to_string(static_cast<std::int64_t>(std::ceil(x)));
    std::string s = format_real(x);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0)
        s.resize(s.size() - 2);
    return s;
}

} // namespace

std::string param::range_text() const {
    const bool integral = m_type == param_type::integer || m_type == param_type::integer_list;
    if (m_min && m_max)
        return " in " + std::string(m_min_open ? "(" : "[") + bound_text(*m_min, integral) + ", " +
               bound_text(*m_max, integral) + (m_max_open ? ")" : "]");
    if (m_min)
        return std::string(m_min_open ? " > " : " >= ") + bound_text(*m_min, integral);
    if (m_max)
        return std::string(m_max_open ? " < " : " <= ") + bound_text(*m_max, integral);
    return {};
}

std::string param::rule_text() const {
    const bool is_list = m_type == param_type::integer_list || m_type == param_type::string_list ||
                         m_type == param_type::real_list;
    if (!m_choices.empty())
        return (is_list ? "a list of: " : "one of ") + join(m_choices);
    std::string what = type_phrase(m_type);
    if (m_non_empty)
        what = "a non-empty " + what.substr(what.find(' ') + 1);
    if (m_file_name)
        what = "a file name (not empty, no '/', not \".\" or \"..\")";
    if (m_input_type)
        what = std::string("\"<analysis>/<output>\" of an earlier analysis, dtype ") +
               to_string(*m_input_type);
    const std::string range = range_text();
    if (!range.empty() && is_list)
        return what + ", each" + range;
    return what + range;
}

std::optional<std::string> param::check_rules(const param_value& v) const {
    auto check_number = [&](double x) -> std::optional<std::string> {
        // Written so NaN fails every comparison and is rejected.
        const bool low_ok = !m_min || (m_min_open ? x > *m_min : x >= *m_min);
        const bool high_ok = !m_max || (m_max_open ? x < *m_max : x <= *m_max);
        if (low_ok && high_ok && !std::isnan(x))
            return std::nullopt;
        return value_to_text(param_value{x}) + " is out of range";
    };
    auto check_choice = [&](const std::string& s) -> std::optional<std::string> {
        if (m_choices.empty() ||
            std::find(m_choices.begin(), m_choices.end(), s) != m_choices.end())
            return std::nullopt;
        return quote(s) + " is not a valid choice";
    };
    if (auto* i = std::get_if<std::int64_t>(&v)) {
        if (auto e = check_number(static_cast<double>(*i)))
            return std::to_string(*i) + " is out of range";
    } else if (auto* d = std::get_if<double>(&v)) {
        if (auto e = check_number(*d))
            return e;
    } else if (auto* s = std::get_if<std::string>(&v)) {
        if ((m_non_empty || m_file_name) && s->empty())
            return std::string("the string is empty");
        if (m_file_name && (*s == "." || *s == ".." ||
                            s->find_first_of(std::string("/\0", 2)) != std::string::npos))
            return quote(*s) + " is not a plain file name (it could name a path elsewhere)";
        return check_choice(*s);
    } else if (auto* il = std::get_if<std::vector<std::int64_t>>(&v)) {
        if (m_non_empty && il->empty())
            return std::string("the list is empty");
        for (auto x : *il)
            if (check_number(static_cast<double>(x)))
                return "element " + std::to_string(x) + " is out of range";
    } else if (auto* rl = std::get_if<std::vector<double>>(&v)) {
        if (m_non_empty && rl->empty())
            return std::string("the list is empty");
        for (const double x : *rl)
            if (check_number(x))
                return "element " + format_real(x) + " is out of range";
    } else if (auto* sl = std::get_if<std::vector<std::string>>(&v)) {
        if (m_non_empty && sl->empty())
            return std::string("the list is empty");
        for (const auto& x : *sl)
            if (auto e = check_choice(x))
                return "element " + *e;
    }
    return std::nullopt;
}

namespace {

// `v` as a value of type `t` where that is lossless: integers where a number is expected (never
// the reverse), integer lists as lists of numbers, and an empty TOML array (which arrives as an
// empty list of integers) as an empty list of any type.
param_value widened(param_type t, const param_value& v) {
    const auto* ints = std::get_if<std::vector<std::int64_t>>(&v);
    const bool empty_list =
        (ints && ints->empty()) || (std::holds_alternative<std::vector<std::string>>(v) &&
                                    std::get<std::vector<std::string>>(v).empty());
    if (t == param_type::real && std::holds_alternative<std::int64_t>(v))
        return static_cast<double>(std::get<std::int64_t>(v));
    if (t == param_type::real_list && ints)
        return std::vector<double>(ints->begin(), ints->end());
    if (empty_list && t == param_type::string_list)
        return std::vector<std::string>{};
    if (empty_list && t == param_type::integer_list)
        return std::vector<std::int64_t>{};
    if (empty_list && t == param_type::real_list)
        return std::vector<double>{};
    return v;
}

} // namespace

std::optional<std::string> param::assign(const param_value& v) {
    const param_value converted = widened(m_type, v);
    // param_type lists the alternatives of param_value in their order.
    const auto expected_index = static_cast<std::size_t>(m_type);
    if (converted.index() != expected_index) {
        if (auto* reals = std::get_if<std::vector<double>>(&v);
            reals && m_type == param_type::integer_list) {
            for (double x : *reals)
                if (x != std::floor(x))
                    return "element " + format_real(x) + " is not an integer";
            return value_to_text(v) + " has float elements";
        }
        return value_to_text(v) + " is " + value_type_name(v);
    }
    if (auto e = check_rules(converted))
        return e;
    return m_setter(converted);
}

param& param_set::push(param p) {
    m_params.push_back(std::move(p));
    m_params.back().finish_declaration();
    return m_params.back();
}

namespace {
template <class T, std::size_t Index> void bind(param& p, T& field) {
    p.m_setter = [&field](const param_value& v) -> std::optional<std::string> {
        field = std::get<Index>(v);
        return std::nullopt;
    };
    p.m_getter = [&field]() -> param_value { return field; };
}
} // namespace

param& param_set::add(std::string key, bool& field, std::string doc) {
    param p(std::move(key), param_type::boolean, std::move(doc));
    bind<bool, 0>(p, field);
    return push(std::move(p));
}
param& param_set::add(std::string key, std::int64_t& field, std::string doc) {
    param p(std::move(key), param_type::integer, std::move(doc));
    bind<std::int64_t, 1>(p, field);
    return push(std::move(p));
}
param& param_set::add(std::string key, double& field, std::string doc) {
    param p(std::move(key), param_type::real, std::move(doc));
    bind<double, 2>(p, field);
    return push(std::move(p));
}
param& param_set::add(std::string key, std::string& field, std::string doc) {
    param p(std::move(key), param_type::string, std::move(doc));
    bind<std::string, 3>(p, field);
    return push(std::move(p));
}
param& param_set::add(std::string key, std::vector<std::int64_t>& field, std::string doc) {
    param p(std::move(key), param_type::integer_list, std::move(doc));
    bind<std::vector<std::int64_t>, 4>(p, field);
    return push(std::move(p));
}
param& param_set::add(std::string key, std::vector<std::string>& field, std::string doc) {
    param p(std::move(key), param_type::string_list, std::move(doc));
    bind<std::vector<std::string>, 5>(p, field);
    return push(std::move(p));
}

param& param_set::add(std::string key, std::vector<double>& field, std::string doc) {
    param p(std::move(key), param_type::real_list, std::move(doc));
    bind<std::vector<double>, 6>(p, field);
    return push(std::move(p));
}

void param_set::check(std::string key, std::string expected,
                      std::function<std::optional<std::string>()> rule) {
    m_checks.push_back({std::move(key), std::move(expected), std::move(rule)});
}

param* param_set::find(const std::string& key) {
    for (auto& p : m_params)
        if (p.key() == key)
            return &p;
    return nullptr;
}

} // namespace grokkit
