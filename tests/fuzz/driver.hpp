// A seeded mutation fuzzer for grokkit's parsers: each target is one function from bytes to an
// outcome; the driver feeds it its corpus, then seeded mutations of it, and stops at the first
// input that ends in anything but acceptance or a clean refusal (grokkit::error).
//
// Not coverage-guided (libFuzzer needs clang and clang-built plugins): the mutations are seeded,
// so a run is repeatable from its seed, and every input is kept on disk while it runs, so the
// one that crashed or hung the process is never lost (scripts/fuzz names it crash-<hash>).
// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace grokkit_fuzz {

using bytes = std::vector<std::uint8_t>;

/// What a target did with one input; a failure is a thrown std::logic_error (a broken
/// property), any other exception than grokkit::error, a sanitizer report, a crash or a hang.
enum class outcome {
    accepted, ///< read, and every property checked held
    refused,  ///< a clean error (grokkit::error) naming what is wrong
    /// A child crashed or hung inside the library the target isolates (libhdf5), which the
    /// grokkit commands that isolate it report as a corrupt file: a refusal, counted apart.
    isolated,
};

struct target {
    std::string name = {};
    /// Tokens the mutator inserts or substitutes (keys, move texts, magic numbers).
    std::vector<std::string> dictionary = {};
    /// Called once before the first input (paths from the command line are known by then).
    std::function<void()> setup = {};
    std::function<outcome(const bytes& input)> run = {};
    /// Largest input the mutator makes, in bytes.
    std::size_t max_size = 1 << 16;
};

/// The driver's command line: `fuzz-TARGET [--runs N] [--seed S] [--corpus DIR|FILE]...
/// [--keep DIR] [--timeout SECONDS] [FILE...]`: the corpus, then N seeded mutations of it
/// (N defaults to $GROKKIT_FUZZ_RUNS, else 300). FILEs alone are replayed without mutations.
int main_of(const target& t, int argc, char** argv);

/// How a child process given one input ended (run_in_child).
enum class child_end { accepted, refused, failed, crashed, hung, library_crashed, library_hung };

/// Runs `work` in a forked child with a time limit, as grokkit runs its own readers of run files
/// (a corrupt HDF5 file can make libhdf5 1.10.8 loop or crash). The child exits 0 for accepted,
/// 3 for refused, 4 for a failed property or an unexpected exception (`failed`); a sanitizer
/// report, a signal or any other exit code is `crashed`, and no end within the limit `hung`.
/// With `isolated_library` ("libhdf5"), a crash or hang whose stack passes through that library
/// is `library_crashed` or `library_hung` instead: the child looks at its own stack.
child_end run_in_child(const std::function<outcome()>& work, double timeout_seconds,
                       const std::string& isolated_library = "");

/// A directory of its own for the target's files, removed at exit.
const std::filesystem::path& scratch_dir();

/// Writes `data` to `path` (throws std::runtime_error if it cannot).
void write_file(const std::filesystem::path& path, const bytes& data);
bytes read_file(const std::filesystem::path& path);

/// Throws std::logic_error("<what>") unless `condition`: a property of the target failed.
void require(bool condition, const std::string& what);

/// The outcome of a child that ended accepted or refused; throws std::logic_error naming
/// `what` ("the reader") for a child that failed, crashed or hung.
outcome child_outcome(child_end end, const std::string& what);

} // namespace grokkit_fuzz
