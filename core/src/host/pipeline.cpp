// Pipeline validation: every problem becomes a diagnostic with file:line:column and the key.
// SPDX-License-Identifier: Apache-2.0
#include "host/pipeline.hpp"
#include "sdk/markdown.hpp"

#include <grokkit/error.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace grokkit {

namespace fs = std::filesystem;

void run_section::declare(param_set& ps) {
    ps.add("name", name, "run name; the output defaults to runs/<name>.h5").file_name();
    ps.add("seed", seed, "seed of every random draw (split, init, batches, noise)").at_least(0);
    ps.add("threads", threads, "BLAS threads; results are bit-identical per thread count")
        .at_least(1)
        .at_most(256);
    ps.add("plugin_path", plugin_path, "extra plugin directories, relative to the pipeline file");
}

void declare_entry_keys(param_set& ps, std::string& name, std::string& at) {
    ps.add("name", name,
           "unique name of this analysis' outputs (/analyses/<name>); default: the plugin name")
        .non_empty();
    ps.add("at", at, "when it runs: at every checkpoint, or once at the end")
        .one_of({"checkpoints", "end"});
}

namespace {

// One plugin's section of the reference: its parameter table, and an analysis' outputs.
std::string plugin_reference(const loaded_plugin& p) {
    std::unique_ptr<plugin_object> obj(p.info->create());
    param_set ps;
    obj->declare(ps);
    std::string s = "### `" + p.name + "` (" + to_string(p.kind) + " " + p.version + ")\n\n" +
                    p.summary + "\n\n" + describe_params(ps);
    if (const auto* a = dynamic_cast<const analysis*>(obj.get())) {
        output_set os;
        a->declare_outputs(os);
        s += "\nOutputs:\n\n" + describe_outputs(os);
    }
    return s + "\n";
}

} // namespace

std::string pipeline_reference(const registry& reg) {
    std::string s = "## [run]\n\n";
    run_section run;
    param_set run_keys;
    run.declare(run_keys);
    s += describe_params(run_keys) + "\n## [train]\n\n";
    train_config train;
    param_set train_keys;
    train.declare(train_keys);
    s += describe_params(train_keys) + "\n## [[analysis]]\n\n`plugin` names the analysis; "
                                       "besides its own parameters every entry has:\n\n";
    std::string name = "<plugin>", at = "end";
    param_set entry_keys;
    declare_entry_keys(entry_keys, name, at);
    s += describe_params(entry_keys);
    for (plugin_kind k : {plugin_kind::dataset, plugin_kind::model, plugin_kind::analysis}) {
        s += std::string("\n## ") +
             (k == plugin_kind::dataset ? "Datasets ([dataset])"
              : k == plugin_kind::model ? "Models ([model])"
                                        : "Analyses ([[analysis]])") +
             "\n\n";
        for (const auto& name_of : reg.names(k))
            s += plugin_reference(*reg.find(name_of));
    }
    return s;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
    auto distance = [](const std::string& a, const std::string& b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j)
            row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diag = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t up = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::string best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        const std::size_t d = distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

std::string describe_params(const param_set& ps) {
    const auto cell = markdown_cell;
    std::string s = "| Key | Type | Default | Rule | Doc |\n|---|---|---|---|---|\n";
    for (const auto& p : ps.params()) {
        s += "| `" + p.key() + "` | " + to_string(p.type()) + " | " +
             (p.is_required() ? std::string("(required)") : "`" + cell(p.default_text()) + "`") +
             " | " + cell(p.rule_text()) + " | " + cell(p.doc()) + " |\n";
    }
    return s;
}

namespace {

const std::vector<std::string> top_level_keys = {"run", "dataset", "model", "train", "analysis"};

constexpr std::uint32_t after_every_line = 0xffffffffu; // sorts --set problems last

struct validator {
    std::string source;                             // file name as given
    std::map<std::string, std::string> override_of; // dotted key -> --set argument
    std::vector<diagnostic> diags;
    std::map<std::string, source_location> locations;

    source_location locate(const toml::source_region& r, const std::string& key) const {
        if (auto it = override_of.find(key); it != override_of.end())
            return {"--set " + it->second, after_every_line, 0};
        const std::uint32_t line = r.begin.line ? r.begin.line : 1;
        const std::uint32_t column = r.begin.column ? r.begin.column : 1;
        return {source + ":" + std::to_string(line) + ":" + std::to_string(column), line, column};
    }
    /// Remembers where `key` was written, for problems found after validation.
    void note(const toml::source_region& r, const std::string& key, const std::string& as) {
        locations[as] = locate(r, key);
    }
    void add(const toml::source_region& r, const std::string& key, std::string what,
             std::string expected = {}) {
        add_at(locate(r, key), key, std::move(what), std::move(expected));
    }
    void add_at(source_location l, const std::string& key, std::string what, std::string expected) {
        diags.push_back(
            {std::move(l.where), key, std::move(what), std::move(expected), l.line, l.column});
    }
};

const char* node_type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    default:
        return "a date or time";
    }
}

std::optional<param_value> to_param_value(const toml::node& n, std::string& problem) {
    if (auto v = n.value_exact<bool>())
        return param_value{*v};
    if (auto v = n.value_exact<std::int64_t>())
        return param_value{*v};
    if (auto v = n.value_exact<double>())
        return param_value{*v};
    if (auto v = n.value_exact<std::string>())
        return param_value{*v};
    if (const auto* arr = n.as_array()) {
        std::vector<std::int64_t> ints;
        std::vector<double> reals;
        std::vector<std::string> strings;
        bool any_float = false;
        for (const auto& e : *arr) {
            if (auto i = e.value_exact<std::int64_t>()) {
                ints.push_back(*i);
                reals.push_back(static_cast<double>(*i));
            } else if (auto d = e.value_exact<double>()) {
                any_float = true;
                reals.push_back(*d);
            } else if (auto s = e.value_exact<std::string>()) {
                strings.push_back(*s);
            } else {
                problem = std::string("array element is ") + node_type_name(e);
                return std::nullopt;
            }
        }
        if (!strings.empty() && !reals.empty()) {
            problem = "array mixes strings and numbers";
            return std::nullopt;
        }
        if (!strings.empty())
            return param_value{strings};
        if (any_float)
            return param_value{reals};
        return param_value{ints};
    }
    problem = std::string("value is ") + node_type_name(n);
    return std::nullopt;
}

std::vector<std::string> keys_of(const param_set& ps, const std::vector<std::string>& reserved) {
    std::vector<std::string> keys = reserved;
    for (const auto& p : ps.params())
        keys.push_back(p.key());
    return keys;
}

// Assigns every key of `t` except `reserved` ones to `ps`, then runs the cross-key rules.
void assign_table(validator& v, const toml::table& t, param_set& ps, const std::string& section,
                  const std::vector<std::string>& reserved) {
    std::set<std::string> given;
    std::map<std::string, toml::source_region> value_pos;
    const std::size_t errors_before = v.diags.size();
    for (auto&& [k, node] : t) {
        const std::string key(k.str());
        const std::string dotted = section + "." + key;
        if (std::find(reserved.begin(), reserved.end(), key) != reserved.end())
            continue;
        param* p = const_cast<param_set&>(ps).find(key);
        if (!p) {
            const std::string near = nearest(key, keys_of(ps, reserved));
            std::string expected = "one of: ";
            const auto keys = keys_of(ps, reserved);
            for (std::size_t i = 0; i < keys.size(); ++i)
                expected += (i ? ", " : "") + keys[i];
            v.add(k.source(), dotted,
                  "unknown key" + (near.empty() ? "" : " (did you mean \"" + near + "\"?)"),
                  expected);
            continue;
        }
        given.insert(key);
        value_pos[key] = node.source();
        v.note(node.source(), dotted, dotted);
        std::string problem;
        auto value = to_param_value(node, problem);
        if (!value) {
            v.add(node.source(), dotted, problem, p->rule_text());
            continue;
        }
        if (auto e = p->assign(*value))
            v.add(node.source(), dotted, *e, p->rule_text());
    }
    for (const auto& p : ps.params())
        if (p.is_required() && !given.count(p.key()))
            v.add(t.source(), section + "." + p.key(), "missing required key", p.rule_text());
    if (v.diags.size() != errors_before)
        return; // cross-key rules assume each key is valid on its own
    for (const auto& c : ps.checks()) {
        if (auto e = c.rule()) {
            auto it = value_pos.find(c.key);
            v.add(it != value_pos.end() ? it->second : t.source(), section + "." + c.key, *e,
                  c.expected);
        }
    }
}

std::optional<std::string> plugin_name(validator& v, const toml::table& t,
                                       const std::string& section) {
    const toml::node* n = t.get("plugin");
    v.note(n ? n->source() : t.source(), section + ".plugin", section);
    if (!n) {
        v.add(t.source(), section + ".plugin", "missing required key", "the name of a plugin");
        return std::nullopt;
    }
    if (auto s = n->value_exact<std::string>())
        return *s;
    v.add(n->source(), section + ".plugin", std::string("value is ") + node_type_name(*n),
          "a string naming a plugin");
    return std::nullopt;
}

template <class T>
std::unique_ptr<T> create_plugin(validator& v, const registry& reg, const toml::table& t,
                                 const std::string& section, plugin_kind kind,
                                 std::string& name_out) {
    auto name = plugin_name(v, t, section);
    if (!name)
        return nullptr;
    name_out = *name;
    try {
        auto obj = reg.create(*name, kind);
        return std::unique_ptr<T>(static_cast<T*>(obj.release()));
    } catch (const error& e) {
        const auto& d = e.diagnostics().front();
        v.add(t.get("plugin")->source(), section + ".plugin", d.what, d.expected);
    } catch (const std::exception& e) {
        v.add(t.get("plugin")->source(), section + ".plugin",
              "plugin \"" + *name + "\" failed to create: " + e.what());
    }
    return nullptr;
}

// The [[analysis]] table `which` names (its name, plugin or index) and its index, or null.
std::pair<toml::table*, std::size_t> find_analysis(toml::table& root, const std::string& which) {
    toml::array* arr = root.get_as<toml::array>("analysis");
    for (std::size_t i = 0; arr && i < arr->size(); ++i) {
        auto* t = arr->get_as<toml::table>(i);
        if (!t)
            continue;
        const toml::node* named = t->get("name") ? t->get("name") : t->get("plugin");
        const std::string name = named ? named->value_or(std::string{}) : "";
        if (name == which || std::to_string(i) == which)
            return {t, i};
    }
    return {nullptr, 0};
}

// The table a `--set` path's key goes into, creating a missing [section]; null after adding
// the problem. `dotted` receives the key as messages name it.
toml::table* override_target(validator& v, toml::table& root, const std::string& arg,
                             const std::vector<std::string>& parts, std::string& dotted) {
    auto problem = [&](std::string key, std::string what, std::string expected) {
        v.diags.push_back({"--set " + arg, std::move(key), std::move(what), std::move(expected),
                           after_every_line, 0});
        return nullptr;
    };
    const std::string path = arg.substr(0, arg.find('='));
    if (parts.size() == 3 && parts[0] == "analysis") {
        const auto [found, index] = find_analysis(root, parts[1]);
        if (!found)
            return problem(path, "no [[analysis]] named or numbered \"" + parts[1] + "\"",
                           "analysis.<name or index>.<key>");
        dotted = "analysis." + parts[1] + "." + parts[2];
        // Problems are reported under the entry's index, whichever way --set named it.
        v.override_of["analysis." + std::to_string(index) + "." + parts[2]] = arg;
        return found;
    }
    if (parts.size() != 2)
        return problem(path, "not of the form section.key=value",
                       "section.key=value or analysis.<name>.key=value");
    if (std::find(top_level_keys.begin(), top_level_keys.end(), parts[0]) == top_level_keys.end() ||
        parts[0] == "analysis")
        return problem(path, "unknown section \"" + parts[0] + "\"",
                       "run, dataset, model, train or analysis.<name>");
    if (!root.get(parts[0]))
        root.insert_or_assign(parts[0], toml::table{});
    toml::table* target = root.get_as<toml::table>(parts[0]);
    if (!target)
        return problem(parts[0], "is not a table", "a table");
    dotted = path;
    return target;
}

// Applies one `--set key.path=value` to the parsed table.
void apply_override(validator& v, toml::table& root, const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
        v.diags.push_back({"--set " + arg, "", "not of the form key=value", "section.key=value",
                           after_every_line, 0});
        return;
    }
    const std::string path = arg.substr(0, eq);
    const std::string value_text = arg.substr(eq + 1);
    std::vector<std::string> parts;
    for (std::size_t s = 0, e; s <= path.size(); s = e + 1) {
        e = std::min(path.find('.', s), path.size());
        parts.push_back(path.substr(s, e - s));
    }
    std::string dotted;
    toml::table* target = override_target(v, root, arg, parts, dotted);
    if (!target)
        return;
    v.override_of[dotted] = arg;
    // The value is read as TOML; anything that is not TOML is taken as a plain string.
    try {
        toml::table parsed = toml::parse("v = " + value_text, "--set " + arg);
        target->insert_or_assign(parts.back(), *parsed.get("v"));
    } catch (const toml::parse_error&) {
        target->insert_or_assign(parts.back(), value_text);
    }
}

// The dotted key a TOML syntax error is about, read from the offending line and the table
// header above it.
std::string key_at_line(const std::string& text, std::uint32_t line) {
    auto trim = [](const std::string& x) {
        const auto b = x.find_first_not_of(" \t[");
        const auto e = x.find_last_not_of(" \t]");
        return b == std::string::npos ? std::string{} : x.substr(b, e - b + 1);
    };
    std::istringstream in(text);
    std::string s, section;
    for (std::uint32_t i = 0; i < line && std::getline(in, s); ++i) {
        const auto first = s.find_first_not_of(" \t");
        if (i + 1 < line && first != std::string::npos && s[first] == '[')
            section = trim(s.substr(
                0, s.find(']', first) == std::string::npos ? s.size() : s.find(']', first) + 1));
    }
    const auto first = s.find_first_not_of(" \t");
    if (first != std::string::npos && s[first] == '[')
        return trim(s.substr(0, s.find(']') == std::string::npos ? s.size() : s.find(']') + 1));
    const auto eq = s.find('=');
    const std::string key = trim(eq == std::string::npos ? s : s.substr(0, eq));
    return section.empty() || key.empty() ? key : section + "." + key;
}

// What is wrong with `consumer`'s input `ref` ("<analysis>/<output>") of dtype `type`: a
// {what, expected} pair, or nothing when an earlier analysis that runs at every checkpoint
// the consumer runs at declares that output with a fitting dtype.
std::optional<std::pair<std::string, std::string>>
chain_problem(const pipeline& p, std::size_t consumer, const std::string& ref, dtype type) {
    std::vector<std::string> earlier;
    for (std::size_t j = 0; j < consumer; ++j) {
        output_set os;
        p.analyses[j].object->declare_outputs(os);
        for (const auto& o : os.outputs())
            earlier.push_back(p.analyses[j].name + "/" + o.name() + " (" + to_string(o.type()) +
                              ")");
    }
    const std::string choices = earlier.empty()
                                    ? "an output of an earlier [[analysis]] (there is none)"
                                    : "one of the earlier analyses' outputs: " + join(earlier);
    const auto slash = ref.find('/');
    if (slash == std::string::npos)
        return std::pair{"\"" + ref + "\" is not of the form <analysis>/<output>", choices};
    const std::string name = ref.substr(0, slash), output = ref.substr(slash + 1);
    std::size_t j = 0;
    while (j < p.analyses.size() && p.analyses[j].name != name)
        ++j;
    if (j == p.analyses.size())
        return std::pair{"no analysis is named \"" + name + "\"", choices};
    if (j >= consumer)
        return std::pair{"analysis \"" + name + "\" " +
                             (j == consumer ? "is this one" : "comes later in the pipeline"),
                         "an analysis before this one; " + choices};
    output_set os;
    p.analyses[j].object->declare_outputs(os);
    const output_decl* d = os.find(output);
    if (!d)
        return std::pair{"analysis \"" + name + "\" (" + p.analyses[j].plugin +
                             ") has no output \"" + output + "\"",
                         choices};
    if (p.analyses[j].at == "end" && p.analyses[consumer].at == "checkpoints")
        return std::pair{"\"" + name + "\" runs at the end only, this analysis at every checkpoint",
                         "a producer with at = \"checkpoints\", or at = \"end\" here"};
    const bool real = [](dtype t) { return t == dtype::float64 || t == dtype::float32; }(type);
    const bool fits =
        d->type() == type || (real && (d->type() == dtype::float64 || d->type() == dtype::float32));
    if (!fits)
        return std::pair{"\"" + ref + "\" is of dtype " + to_string(d->type()),
                         std::string("an output of dtype ") + to_string(type)};
    return std::nullopt;
}

// Every input() parameter of every analysis names a fitting output of an earlier one.
void check_chaining(validator& v, const pipeline& p) {
    for (std::size_t i = 0; i < p.analyses.size(); ++i) {
        param_set ps;
        p.analyses[i].object->declare(ps);
        const std::string section = "analysis." + std::to_string(i);
        for (const auto& prm : ps.params()) {
            if (!prm.is_input())
                continue;
            const param_value value = prm.value();
            const std::string* ref = std::get_if<std::string>(&value);
            if (!ref)
                continue; // input() is for string parameters; assign() reported the type
            if (ref->empty() && !prm.is_required())
                continue; // an optional input left out
            if (auto problem = chain_problem(p, i, *ref, *prm.input_type())) {
                auto it = v.locations.find(section + "." + prm.key());
                source_location l = it != v.locations.end() ? it->second : v.locations[section];
                v.add_at(std::move(l), section + "." + prm.key(), problem->first, problem->second);
            }
        }
    }
}

} // namespace

namespace {

// The TOML document, or the one syntax error toml++ stops at, as invalid input.
toml::table parse_toml(const std::string& text, const std::string& source_name) {
    try {
        return toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& pos = e.source().begin;
        std::string what(e.description());
        std::string expected = "valid TOML";
        if (what.find("cannot redefine existing") != std::string::npos) {
            what = "duplicate key";
            expected = "each key once per table";
        } else {
            if (what.rfind("Error while parsing ", 0) == 0)
                what = "error while parsing " + what.substr(20);
            what = "TOML syntax error: " + what;
        }
        throw invalid_input(diagnostic{
            source_name + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column),
            key_at_line(text, pos.line), what, expected, pos.line, pos.column});
    }
}

// One pass of validation over a parsed document: every section assigned to its declared
// parameters, every problem collected in `v`.
struct pipeline_parser {
    validator& v;
    const toml::table& root;
    registry& reg;
    pipeline& p;

    const toml::table* section(const char* name) const { return root.get_as<toml::table>(name); }

    void check_top_level() {
        for (auto&& [k, node] : root) {
            const std::string key(k.str());
            if (std::find(top_level_keys.begin(), top_level_keys.end(), key) ==
                top_level_keys.end()) {
                const std::string near = nearest(key, top_level_keys);
                v.add(k.source(), key,
                      "unknown section" + (near.empty() ? "" : " (did you mean \"" + near + "\"?)"),
                      "[run], [dataset], [model], [train] or [[analysis]]");
            } else if (key == "analysis" ? !node.is_array_of_tables() : !node.is_table()) {
                v.add(node.source(), key, std::string("is ") + node_type_name(node),
                      key == "analysis" ? "[[analysis]] tables" : "a [" + key + "] table");
            }
        }
    }

    // [run] then [train]; the plugin directories [run] names are loaded in between, before
    // any plugin is looked up.
    void assign_core_sections(const fs::path& base_dir) {
        static const toml::table empty_table;
        for (const char* name : {"run", "train"})
            if (const toml::table* t = section(name))
                v.note(t->source(), name, name);
        param_set run_keys;
        p.run.declare(run_keys);
        assign_table(v, section("run") ? *section("run") : empty_table, run_keys, "run", {});
        for (const auto& dir : p.run.plugin_path)
            reg.load_directory(fs::path(dir).is_absolute() ? fs::path(dir) : base_dir / dir);
        param_set train_keys;
        p.train.declare(train_keys);
        assign_table(v, section("train") ? *section("train") : empty_table, train_keys, "train",
                     {});
    }

    // [dataset] or [model]: the plugin created from its `plugin` key, the rest its parameters.
    template <class T>
    void plugin_section(const char* name, plugin_kind kind, std::string& plugin_out,
                        std::unique_ptr<T>& object_out) {
        const toml::table* t = section(name);
        if (!t) {
            if (!root.get(name))
                v.diags.push_back({v.source, name, "missing section",
                                   "a [" + std::string(name) +
                                       "] table with plugin = one of: " + join(reg.names(kind)),
                                   0, 0});
            return;
        }
        object_out = create_plugin<T>(v, reg, *t, name, kind, plugin_out);
        if (!object_out)
            return;
        param_set ps;
        object_out->declare(ps);
        assign_table(v, *t, ps, name, {"plugin"});
    }

    void assign_entry_keys(const toml::table& t, const std::string& section_name,
                           analysis_entry& entry) {
        entry.name = entry.plugin;
        entry.at = "end";
        param_set core_keys;
        declare_entry_keys(core_keys, entry.name, entry.at);
        for (const char* k : {"name", "at"}) {
            const toml::node* n = t.get(k);
            if (!n)
                continue;
            std::string problem;
            auto value = to_param_value(*n, problem);
            auto* prm = core_keys.find(k);
            if (!value)
                v.add(n->source(), section_name + "." + k, problem, prm->rule_text());
            else if (auto e = prm->assign(*value))
                v.add(n->source(), section_name + "." + k, *e, prm->rule_text());
            else if (std::string(k) == "name" && entry.name.find('/') != std::string::npos)
                v.add(n->source(), section_name + ".name",
                      "\"" + entry.name + "\" holds a '/', which separates analysis and output",
                      "a name without '/'");
        }
    }

    void analyses() {
        const toml::array* arr = root.get_as<toml::array>("analysis");
        if (!arr || !arr->is_array_of_tables())
            return;
        std::set<std::string> names;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::table& t = *arr->get_as<toml::table>(i);
            analysis_entry entry;
            const std::string section_name = "analysis." + std::to_string(i);
            entry.object = create_plugin<analysis>(v, reg, t, section_name, plugin_kind::analysis,
                                                   entry.plugin);
            assign_entry_keys(t, section_name, entry);
            if (!entry.object)
                continue;
            if (!names.insert(entry.name).second)
                v.add((t.get("name") ? t.get("name") : t.get("plugin"))->source(),
                      section_name + ".name", "duplicate analysis name \"" + entry.name + "\"",
                      "a unique name per [[analysis]]");
            param_set ps;
            entry.object->declare(ps);
            assign_table(v, t, ps, section_name, {"plugin", "name", "at"});
            p.analyses.push_back(std::move(entry));
        }
    }
};

} // namespace

pipeline parse_pipeline(const std::string& text, const std::string& source_name,
                        const fs::path& base_dir, const std::vector<std::string>& overrides,
                        registry& reg) {
    validator v;
    v.source = source_name;
    toml::table root = parse_toml(text, source_name);
    for (const auto& arg : overrides)
        apply_override(v, root, arg);

    pipeline p;
    p.text = text;
    p.overrides = overrides;
    pipeline_parser parser{v, root, reg, p};
    parser.check_top_level();
    parser.assign_core_sections(base_dir);
    parser.plugin_section("dataset", plugin_kind::dataset, p.dataset_plugin, p.data);
    parser.plugin_section("model", plugin_kind::model, p.model_plugin, p.net);
    parser.analyses();
    if (v.diags.empty())
        check_chaining(v, p);
    p.locations = std::move(v.locations);
    if (!v.diags.empty()) {
        std::stable_sort(v.diags.begin(), v.diags.end(),
                         [](const diagnostic& a, const diagnostic& b) {
                             return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                         });
        throw invalid_input(std::move(v.diags));
    }
    return p;
}

pipeline load_pipeline(const fs::path& file, const std::vector<std::string>& overrides,
                       registry& reg) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw invalid_input(diagnostic{file.string(), "", "cannot read pipeline file",
                                       "a readable TOML file", 0, 0});
    std::ostringstream ss;
    ss << in.rdbuf();
    fs::path base = file.parent_path();
    if (base.empty())
        base = ".";
    pipeline p = parse_pipeline(ss.str(), file.string(), base, overrides, reg);
    p.file = file;
    return p;
}

std::string pipeline::resolved_text() const {
    std::string s;
    auto section = [&](const std::string& header, const std::string& plugin, auto declare) {
        s += header + "\n";
        if (!plugin.empty())
            s += "plugin = \"" + plugin + "\"\n";
        param_set ps;
        declare(ps);
        for (const auto& prm : ps.params())
            s += prm.key() + " = " + prm.value_text() + "\n";
        s += "\n";
    };
    run_section r = run;
    train_config t = train;
    section("[run]", "", [&](param_set& ps) { r.declare(ps); });
    section("[dataset]", dataset_plugin, [&](param_set& ps) { data->declare(ps); });
    section("[model]", model_plugin, [&](param_set& ps) { net->declare(ps); });
    section("[train]", "", [&](param_set& ps) { t.declare(ps); });
    for (const auto& a : analyses) {
        // The entry's keys quoted as TOML, as every other string value.
        std::string plugin = a.plugin, name = a.name, at = a.at;
        param_set entry;
        entry.add("plugin", plugin, "analysis plugin");
        declare_entry_keys(entry, name, at);
        s += "[[analysis]]\n";
        for (const auto& prm : entry.params())
            s += prm.key() + " = " + prm.value_text() + "\n";
        param_set ps;
        a.object->declare(ps);
        for (const auto& prm : ps.params())
            s += prm.key() + " = " + prm.value_text() + "\n";
        s += "\n";
    }
    return s;
}

} // namespace grokkit

namespace grokkit {

source_location pipeline::locate(const std::string& section, const std::string& key) const {
    if (auto it = locations.find(section + "." + key); it != locations.end())
        return it->second;
    if (auto it = locations.find(section); it != locations.end())
        return it->second;
    return {file.string(), 0, 0};
}

invalid_input pipeline::relocate(const error& e, const std::string& section) const {
    std::vector<std::string> keys;
    auto declared_keys = [&](plugin_object& obj) {
        param_set ps;
        obj.declare(ps);
        for (const auto& prm : ps.params())
            keys.push_back(prm.key());
    };
    if (section == "dataset" && data)
        declared_keys(*data);
    else if (section == "model" && net)
        declared_keys(*net);
    for (std::size_t i = 0; i < analyses.size(); ++i)
        if (section == "analysis." + std::to_string(i))
            declared_keys(*analyses[i].object);
    std::vector<diagnostic> out;
    for (diagnostic d : e.diagnostics()) {
        if (d.line == 0) {
            const bool is_key = std::find(keys.begin(), keys.end(), d.key) != keys.end();
            source_location l = is_key ? locate(section, d.key) : locate(section, "plugin");
            if (!is_key && !d.where.empty()) // keep the plugin function that refused
                d.what = d.where + (d.key.empty() ? "" : ": " + d.key) + ": " + d.what;
            d.key = section + (is_key ? "." + d.key : std::string());
            d.where = std::move(l.where);
            d.line = l.line;
            d.column = l.column;
        }
        out.push_back(std::move(d));
    }
    return invalid_input(std::move(out));
}

} // namespace grokkit
