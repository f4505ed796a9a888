// Fuzz target: plugin discovery over a directory of junk. Input: the bytes of a library file,
// whose last byte also chooses what else the directory holds (dangling symlinks, a symlink
// loop, a directory and an empty file named like plugins, a symlink to the file...). The corpus
// includes the build's own plugins (scripts/fuzz passes their directory), so mutations make
// truncated and damaged ELF files as well as junk.
// Discovery runs in this process: the registry probes each library in a child of its own, so a
// damaged library that crashes or hangs the loader must come back as a refusal; if it took this
// process down or hung it instead, the kept input shows which (the driver's time limit).
// Property: every lib*.so there is loaded, refused with its reason or warned of.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"
#include "host/registry.hpp"

#include <grokkit/error.hpp>

#include <iostream>

namespace {

using namespace grokkit_fuzz;
namespace fs = std::filesystem;

/// The directory the input describes; returns how many lib*.so names in it are not directories
/// (files, and symlinks to files, to nothing or to themselves), each of which discovery must
/// load or refuse.
std::size_t make_directory(const fs::path& dir, const bytes& input) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_file(dir / "libgrokkit_fuzz.so", input);
    std::size_t candidates = 1;
    const unsigned flags = input.empty() ? 0 : input.back();
    if (flags & 1) {
        fs::create_symlink(dir / "missing.so", dir / "libgrokkit_dangling.so");
        ++candidates;
    }
    if (flags & 2) {
        fs::create_symlink(dir / "libgrokkit_loop.so", dir / "libgrokkit_loop.so");
        ++candidates;
    }
    if (flags & 4)
        fs::create_directory(dir / "libgrokkit_dir.so");
    if (flags & 8) {
        write_file(dir / "libgrokkit_empty.so", {});
        ++candidates;
    }
    if (flags & 16) // the same file again: loaded or refused once
        fs::create_symlink("libgrokkit_fuzz.so", dir / "libgrokkit_alias.so");
    if (flags & 32)
        write_file(dir / "grokkit_fuzz.so", input); // not lib*: never a candidate
    if (flags & 64) {
        write_file(dir / "libgrokkit_fuzz.so.1", input); // not *.so
        fs::create_symlink(".", dir / "libgrokkit_self.so");
    }
    if (flags & 128) {
        write_file(dir / "lib grokkit \xc3\xa9\n.so", input);
        ++candidates;
    }
    return candidates;
}

outcome discover(const fs::path& dir, std::size_t candidates) {
    grokkit::registry reg;
    reg.load_directory(dir);
    // A second copy of a plugin already loaded is a warning ("ignored: already loaded from").
    const std::size_t seen = reg.plugins().size() + reg.refusals().size() + reg.warnings().size();
    require(seen == candidates, "of " + std::to_string(candidates) + " library names " +
                                    std::to_string(seen) + " were loaded, refused or warned of");
    for (const auto& r : reg.refusals())
        require(!r.reason.empty(), "a refusal without a reason: " + r.path.string());
    return reg.plugins().empty() ? outcome::refused : outcome::accepted;
}

outcome run(const bytes& input) {
    // Libraries that loop in the loader are refused after 2 s, not grokkit's default 15.
    setenv("GROKKIT_PLUGIN_PROBE_SECONDS", "2", 0);
    const fs::path dir = scratch_dir() / "plugins";
    return discover(dir, make_directory(dir, input));
}

} // namespace

// Damaged libraries crash the registry's probe children by design; without this, each would
// print a symbolised AddressSanitizer report before it dies, slowly enough to hit the limit.
extern "C" const char* __asan_default_options() {
    return "handle_segv=0:handle_sigbus=0:handle_sigill=0:handle_sigfpe=0";
}

int main(int argc, char** argv) {
    return main_of(
        {.name = "plugin_dir",
         .dictionary = {std::string("\x7f"
                                    "ELF\x02\x01\x01",
                                    7),
                        "grokkit_plugin_info", std::string(8, '\xff'), std::string(8, '\0')},
         .run = run,
         .max_size = 1 << 21},
        argc, argv);
}
