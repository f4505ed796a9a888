// grokkit: the command-line host.
// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"

#include <grokkit/version.hpp>

#include <hdf5.h>

#include <cstring>
#include <iostream>

namespace {

const char* usage = R"(usage: grokkit <command> [options]

commands:
  run PIPELINE [--set key=value]... [--out FILE] [--resume | --force]
                          validate the pipeline, train, analyse, write the run file
  check PIPELINE [--set key=value]...
                          validate only; print the resolved pipeline
  plugins [--describe NAME]
                          list plugins (and refused libraries), or one plugin's parameters
  inspect RUN.h5          summarise a run file (live, finished or killed)
  analyze RUN.h5 PIPELINE [--set key=value]... [--force]
                          run the pipeline's analyses on a finished run's checkpoints
  report RUN.h5|SWEEP_DIR [-o report.html]
                          one self-contained HTML page of a run or a sweep (live ones too)
  sweep PIPELINE --grid key=v1,v2,... --seeds A..B [--out DIR] [--jobs J]
                          run the grid x seeds as separate runs, restartably, here, on MPI
                          ranks (mpirun) or as a Slurm array (--emit-slurm); --status DIR

options:
  --version               print versions and exit
  --help                  this text; `grokkit <command> --help` for a command's options

environment:
  GROKKIT_PLUGIN_PATH     colon-separated plugin directories, searched before the built-in one
)";

} // namespace

int main(int argc, char** argv) {
    // No HDF5 clean-up at exit: every file grokkit opens is closed by its owner, and a file whose
    // write failed (a full disk) cannot be closed, which made the library's clean-up crash
    // after the error had been reported. The kernel closes what is left.
    H5dont_atexit();
    if (argc < 2) {
        std::cerr << usage;
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        std::cout << usage;
        return 0;
    }
    if (cmd == "--version") {
        std::cout << "grokkit " << grokkit::version() << " (git " << grokkit::git_revision()
                  << ")\nplugin api " << GROKKIT_API_VERSION << ", fingerprint "
                  << grokkit::core_fingerprint() << "\n";
        return 0;
    }
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (cmd == "run")
            return grokkit::cli::cmd_run(args);
        if (cmd == "check")
            return grokkit::cli::cmd_check(args);
        if (cmd == "plugins")
            return grokkit::cli::cmd_plugins(args);
        if (cmd == "inspect")
            return grokkit::cli::cmd_inspect(args);
        if (cmd == "analyze")
            return grokkit::cli::cmd_analyze(args);
        if (cmd == "report")
            return grokkit::cli::cmd_report(args);
        if (cmd == "sweep")
            return grokkit::cli::cmd_sweep(args);
    } catch (const std::exception& e) {
        grokkit::cli::print_error(e);
        return 1;
    }
    std::cerr << "error: unknown command '" << cmd
              << "'; expected one of: run, check, plugins, inspect, analyze, report, sweep\n";
    return 2;
}
