// Test support for in-process host tests: the built-in plugins, loaded once, and scratch
// directories that clean up after themselves.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "host/registry.hpp"

#include <filesystem>
#include <string>

namespace grokkit_test {

/// The build tree's plugins (GROKKIT_PLUGIN_DIR), loaded once and kept for the whole test run:
/// objects the tests create must not outlive their libraries.
inline grokkit::registry& builtin_plugins() {
    static grokkit::registry reg = [] {
        grokkit::registry r;
        r.load_directory(GROKKIT_PLUGIN_DIR);
        return r;
    }();
    return reg;
}

/// A fresh directory under the system's temporary directory, removed with the object.
struct scratch_dir {
    std::filesystem::path path;
    explicit scratch_dir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("grokkit_test_" + name)) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace grokkit_test
