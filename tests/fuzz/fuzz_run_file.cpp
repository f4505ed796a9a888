// Fuzz target: the run-file reader on truncated, bit-flipped and foreign HDF5 files. Input: a
// file's bytes. Each input is read in a forked child with a time limit, the way grokkit's own
// commands read run files, since flipped metadata can make libhdf5 1.10.8 loop or crash.
// An input passes when the child reads every series of the file or refuses it with a clear
// error, or when libhdf5 itself crashes or loops in the child (the child checks its own stack),
// which `grokkit inspect` and `report` report as a corrupt file; those are counted apart. A
// crash or a hang anywhere else, or a sanitizer report, fails.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"

#include <grokkit/error.hpp>
#include <grokkit/run_file.hpp>

#include <iostream>

namespace {

using namespace grokkit_fuzz;

/// Reads everything the run file holds, as `grokkit inspect`, `report` and the analyses do.
outcome read_everything(const std::filesystem::path& path) {
    const grokkit::run_file f(path);
    (void)f.status();
    (void)f.wall_seconds();
    (void)f.finished();
    (void)f.pipeline_text();
    const auto tree = f.resolved_pipeline();
    (void)tree.n_analyses();
    for (const char* a : {"grokkit_version", "git_revision", "blas_kernel"})
        if (f.has_attribute(a))
            (void)f.string_attribute(a);
    for (const char* a : {"seed", "threads", "schema_version"})
        if (f.has_attribute(a))
            (void)f.int_attribute(a);
    (void)f.metric_steps();
    for (const auto& m : f.metric_names())
        (void)f.metric(m);
    (void)f.dataset_plugin();
    (void)f.dataset_attribute("n_train");
    for (const auto& r : f.dataset_records())
        (void)f.dataset_record(r);
    const auto checkpoints = f.checkpoint_steps();
    (void)f.checkpoint_updates();
    for (const auto& p : f.parameter_names())
        for (std::size_t i = 0; i < checkpoints.size(); ++i)
            (void)f.parameter(p, i);
    for (const auto& a : f.analyses()) {
        const auto steps = f.analysis_steps(a.name);
        for (const auto& o : a.outputs)
            for (std::size_t row = 0; row < steps.size(); ++row)
                (void)f.analysis_output(a.name, o.name, row);
    }
    return outcome::accepted;
}

outcome run(const bytes& input) {
    const auto path = scratch_dir() / "input.h5";
    write_file(path, input);
    const auto end = run_in_child([&] { return read_everything(path); }, 10.0, "libhdf5");
    return child_outcome(end, "the reader");
}

} // namespace

// Sanitizer settings of this driver alone (the environment's ASAN_OPTIONS still wins). A
// corrupt size makes libhdf5 ask malloc for petabytes, which must fail as it does outside
// AddressSanitizer, not end the process. libhdf5 1.10.8 leaks an object header from its
// metadata cache when it gives up on a corrupt file; the suppression names the library (built
// without frame pointers, so the fast unwinder sees no further than its first frame, and the
// slow one made each input ten times slower). Leaks anywhere else still fail.
extern "C" const char* __asan_default_options() {
    return "allocator_may_return_null=1";
}
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libhdf5_serial.so\n";
}

int main(int argc, char** argv) {
    return main_of({.name = "run_file",
                    .dictionary = {std::string("\x89HDF\r\n\x1a\n", 8), "OHDR", "OCHK", "TREE",
                                   "HEAP", "SNOD", "FRHP", "FSHD", "BTHD", "BTLF",
                                   std::string(8, '\xff'), std::string(8, '\0')},
                    .run = run,
                    .max_size = 1 << 22},
                   argc, argv);
}
