// The plugin entry point: one exported info struct per library, and the base of plugin objects.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>
#include <grokkit/params.hpp>
#include <grokkit/version.hpp>

#include <boost/dll/alias.hpp>

#include <cstdint>

namespace grokkit {

enum class plugin_kind : std::uint32_t { dataset = 1, model = 2, analysis = 3 };

/// "dataset", "model" or "analysis".
const char* to_string(plugin_kind k);

/// Base of every object a plugin creates. Its parameters are fields of the object, bound by
/// declare(); the host assigns them from the pipeline before any other call.
class GROKKIT_VISIBLE plugin_object {
  public:
    virtual ~plugin_object();
    /// Binds, documents and constrains every parameter (called once per object).
    virtual void declare(param_set& ps) = 0;
};

/// Checks `obj`'s current parameter values against every rule its declare() states, the
/// cross-key ones included, as the pipeline validator does. For code that sets parameters
/// directly (tests, tools): a plugin calls it first in build() or generate() instead of
/// restating its rules. Throws grokkit::error with one diagnostic per problem, at `where`
/// ("<plugin>.<function>"). declare() only binds fields, so `obj` is not changed.
void check_declared(const plugin_object& obj, const std::string& where);

/// What a plugin library exports. `api_version` is first and never moves, so any future host can
/// read it before trusting the rest. All strings are literals: no dynamic initialisation.
struct plugin_info {
    std::uint32_t api_version; ///< GROKKIT_API_VERSION the plugin was built with
    const char* fingerprint;   ///< GROKKIT_FINGERPRINT the plugin was built with
    const char* name;          ///< the `plugin =` value in pipelines
    const char* version;       ///< the plugin's own version
    plugin_kind kind;
    const char* summary;        ///< one line for `grokkit plugins`
    plugin_object* (*create)(); ///< a new object owned by the caller; may throw grokkit::error
};

/// Name of the one alias every plugin library exports.
inline constexpr const char* plugin_entry_symbol = "grokkit_plugin_entry";

} // namespace grokkit

/// Exports `info_function` (returning `const grokkit::plugin_info*`) as the library's entry.
#define GROKKIT_PLUGIN_ENTRY(info_function) BOOST_DLL_ALIAS(info_function, grokkit_plugin_entry)

/// Defines and exports the entry for plugin class `Type` in one line.
#define GROKKIT_DEFINE_PLUGIN(Type, NameLiteral, VersionLiteral, Kind, SummaryLiteral)             \
    namespace {                                                                                    \
    grokkit::plugin_object* grokkit_create_plugin_object() {                                       \
        return new Type();                                                                         \
    }                                                                                              \
    const grokkit::plugin_info* grokkit_plugin_info_fn() {                                         \
        static constexpr grokkit::plugin_info info{                                                \
            GROKKIT_API_VERSION, GROKKIT_FINGERPRINT,          NameLiteral, VersionLiteral, Kind,  \
            SummaryLiteral,      &grokkit_create_plugin_object};                                   \
        return &info;                                                                              \
    }                                                                                              \
    }                                                                                              \
    GROKKIT_PLUGIN_ENTRY(grokkit_plugin_info_fn)
