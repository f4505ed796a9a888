// Plugin loading: every failure becomes a refusal with the library path and the reason.
// SPDX-License-Identifier: Apache-2.0
#include "host/registry.hpp"

#include <grokkit/error.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace grokkit {

namespace fs = std::filesystem;

fs::path registry::builtin_plugin_dir() {
    const fs::path exe = boost::dll::program_location();
    // The build tree mirrors the install layout: <prefix>/bin/grokkit,
    // <prefix>/<libdir>/grokkit/plugins.
    return (exe.parent_path().parent_path() / GROKKIT_PLUGIN_RELATIVE_DIR).lexically_normal();
}

std::vector<fs::path> registry::env_plugin_dirs() {
    std::vector<fs::path> dirs;
    const char* env = std::getenv("GROKKIT_PLUGIN_PATH");
    if (!env)
        return dirs;
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = std::min(s.find(':', start), s.size());
        if (end > start)
            dirs.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return dirs;
}

void registry::load_default(const std::vector<fs::path>& extra) {
    for (const auto& d : env_plugin_dirs())
        load_directory(d);
    for (const auto& d : extra)
        load_directory(d);
    load_directory(builtin_plugin_dir());
}

void registry::load_directory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (entry.is_regular_file() && name.rfind("lib", 0) == 0 &&
            entry.path().extension() == ".so")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
        load_file(f);
}

namespace {

// Boost.DLL 1.74 reports load failures as "Bad file descriptor"; dlopen's own text names the
// missing symbol or the bad ELF header, so probe with it first.
std::string dlopen_problem(const fs::path& file) {
    void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
        ::dlclose(handle);
        return {};
    }
    const char* msg = ::dlerror();
    std::string s = msg ? msg : "dlopen failed";
    // dlerror repeats the path; keep only the reason.
    const std::string prefix = file.string() + ": ";
    if (s.rfind(prefix, 0) == 0)
        s.erase(0, prefix.size());
    return "cannot load library: " + s;
}

std::string check_object(const plugin_info& info, plugin_object& obj) {
    const bool kind_ok = (info.kind == plugin_kind::dataset && dynamic_cast<dataset*>(&obj)) ||
                         (info.kind == plugin_kind::model && dynamic_cast<model*>(&obj)) ||
                         (info.kind == plugin_kind::analysis && dynamic_cast<analysis*>(&obj));
    if (!kind_ok)
        return std::string("factory returned an object that is not a ") + to_string(info.kind);
    param_set ps;
    obj.declare(ps);
    for (const auto& p : ps.params()) {
        if (p.doc().empty())
            return "parameter '" + p.key() +
                   "' has no doc string; expected every parameter documented";
        if (p.is_input() && p.type() != param_type::string)
            return "parameter '" + p.key() + "' is an input() of type " + to_string(p.type()) +
                   "; expected a string naming \"<analysis>/<output>\"";
    }
    if (const auto* a = dynamic_cast<const analysis*>(&obj)) {
        output_set os;
        try {
            a->declare_outputs(os); // refuses an undocumented or twice-declared output
        } catch (const std::exception& e) {
            return std::string("declare_outputs failed: ") + e.what();
        }
    }
    return {};
}

} // namespace

namespace {

// Why this host cannot use the plugin `info` describes, or "": versions, fingerprint, name,
// and an object its factory creates and whose declarations check out.
std::string info_problem(const plugin_info* info) {
    if (!info)
        return "entry point returned no plugin info";
    if (info->api_version != GROKKIT_API_VERSION)
        return "plugin api version " + std::to_string(info->api_version) + "; expected " +
               std::to_string(GROKKIT_API_VERSION);
    if (!info->fingerprint || std::strcmp(info->fingerprint, core_fingerprint()) != 0)
        return std::string("build fingerprint '") + (info->fingerprint ? info->fingerprint : "") +
               "'; expected '" + core_fingerprint() + "'";
    if (!info->name || !*info->name || !info->create)
        return "plugin info has no name or no factory";
    try {
        std::unique_ptr<plugin_object> obj(info->create());
        if (!obj)
            return "factory returned null";
        return check_object(*info, *obj);
    } catch (const std::exception& e) {
        return std::string("factory threw: ") + e.what();
    } catch (...) {
        return "factory threw a non-standard exception";
    }
}

} // namespace

void registry::load_file(const fs::path& file_in) {
    std::error_code ec;
    const fs::path file = fs::weakly_canonical(file_in, ec);
    if (std::find(m_seen.begin(), m_seen.end(), file) != m_seen.end())
        return;
    m_seen.push_back(file);
    auto refuse = [&](std::string reason) { m_refusals.push_back({file, std::move(reason)}); };

    if (auto problem = dlopen_problem(file); !problem.empty())
        return refuse(problem);
    boost::dll::shared_library lib;
    try {
        lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return refuse(std::string("cannot load library: ") + e.what());
    }
    if (!lib.has(plugin_entry_symbol))
        return refuse(std::string("no '") + plugin_entry_symbol +
                      "' entry point; expected a grokkit plugin library");
    const plugin_info* info = nullptr;
    try {
        info = lib.get_alias<const plugin_info*()>(plugin_entry_symbol)();
    } catch (const std::exception& e) {
        return refuse(std::string("entry point failed: ") + e.what());
    }
    if (auto problem = info_problem(info); !problem.empty())
        return refuse(problem);
    if (const auto* first = find(info->name)) {
        m_warnings.push_back("plugin '" + std::string(info->name) + "' in " + file.string() +
                             " ignored: already loaded from " + first->path.string());
        return; // the library stays loaded until the registry dies, like the others
    }
    m_plugins.push_back({info->name, info->version ? info->version : "",
                         info->summary ? info->summary : "", info->kind, file, info});
    m_libraries.push_back(std::move(lib));
}

const loaded_plugin* registry::find(const std::string& name) const {
    for (const auto& p : m_plugins)
        if (p.name == name)
            return &p;
    return nullptr;
}

std::vector<std::string> registry::names(plugin_kind kind) const {
    std::vector<std::string> out;
    for (const auto& p : m_plugins)
        if (p.kind == kind)
            out.push_back(p.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::unique_ptr<plugin_object> registry::create(const std::string& name, plugin_kind kind) const {
    const auto* p = find(name);
    if (!p || p->kind != kind) {
        std::string list;
        for (const auto& n : names(kind))
            list += (list.empty() ? "" : ", ") + n;
        std::string what = std::string("unknown ") + to_string(kind) + " plugin \"" + name + "\"";
        if (p)
            what += " (it is a " + std::string(to_string(p->kind)) + " plugin)";
        throw error(diagnostic{"", "plugin", what,
                               "one of: " + (list.empty() ? "(none found)" : list), 0, 0});
    }
    return std::unique_ptr<plugin_object>(p->info->create());
}

namespace {
template <class T> std::unique_ptr<T> downcast(std::unique_ptr<plugin_object> obj) {
    return std::unique_ptr<T>(static_cast<T*>(obj.release())); // kind checked at load
}
} // namespace

std::unique_ptr<dataset> registry::create_dataset(const std::string& name) const {
    return downcast<dataset>(create(name, plugin_kind::dataset));
}
std::unique_ptr<model> registry::create_model(const std::string& name) const {
    return downcast<model>(create(name, plugin_kind::model));
}
std::unique_ptr<analysis> registry::create_analysis(const std::string& name) const {
    return downcast<analysis>(create(name, plugin_kind::analysis));
}

} // namespace grokkit
