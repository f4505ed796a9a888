// Plugin discovery and loading through Boost.DLL; the registry owns every loaded library.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/dataset.hpp>
#include <grokkit/model.hpp>
#include <grokkit/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace grokkit {

/// A plugin library that passed every check.
struct loaded_plugin {
    std::string name;
    std::string version;
    std::string summary;
    plugin_kind kind;
    std::filesystem::path path;
    const plugin_info* info;
};

/// A library that was refused, with the reason (`dlerror` text, version numbers...).
struct load_refusal {
    std::filesystem::path path;
    std::string reason;
    std::string to_string() const { return path.string() + ": " + reason; }
};

/// Loads plugin libraries and creates plugin objects. Declare it before (so it is destroyed
/// after) every object it creates: libraries are never unloaded while it lives.
class registry {
  public:
    /// <exe dir>/../<libdir>/grokkit/plugins (the build tree mirrors the install layout).
    static std::filesystem::path builtin_plugin_dir();
    /// Directories listed in GROKKIT_PLUGIN_PATH (colon-separated), in order.
    static std::vector<std::filesystem::path> env_plugin_dirs();

    /// Loads user directories (env, then `extra`) first, then the built-in directory.
    void load_default(const std::vector<std::filesystem::path>& extra = {});
    /// Tries every lib*.so in `dir` (sorted); a missing directory is ignored.
    void load_directory(const std::filesystem::path& dir);
    /// Tries one library; refusals and warnings are recorded, never thrown.
    void load_file(const std::filesystem::path& file);

    const std::vector<loaded_plugin>& plugins() const { return m_plugins; }
    const std::vector<load_refusal>& refusals() const { return m_refusals; }
    const std::vector<std::string>& warnings() const { return m_warnings; }

    const loaded_plugin* find(const std::string& name) const;
    /// Names of the loaded plugins of one kind, sorted.
    std::vector<std::string> names(plugin_kind kind) const;

    /// A new object of plugin `name`; throws grokkit::error if unknown or of another kind.
    std::unique_ptr<plugin_object> create(const std::string& name, plugin_kind kind) const;
    std::unique_ptr<dataset> create_dataset(const std::string& name) const;
    std::unique_ptr<model> create_model(const std::string& name) const;
    std::unique_ptr<analysis> create_analysis(const std::string& name) const;

  private:
    /// Loads `files` not seen before, each first probed in a child process.
    void load_files(const std::vector<std::filesystem::path>& files);
    /// Loads one probed library; `probe_problem` is its probe's refusal, or "".
    void load_probed(const std::filesystem::path& file, const std::string& probe_problem);

    std::vector<boost::dll::shared_library> m_libraries;
    std::vector<loaded_plugin> m_plugins;
    std::vector<load_refusal> m_refusals;
    std::vector<std::string> m_warnings;
    std::vector<std::filesystem::path> m_seen;
};

} // namespace grokkit
