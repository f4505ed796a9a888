// `grokkit sweep`: define or continue a sweep, run it here (a process pool), across MPI ranks
// or as a Slurm array; --status, --collect, --shard and --emit-slurm.
// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "host/registry.hpp"
#include "host/sweep.hpp"
#include "host/sweep_run.hpp"
#include "sweep_mpi.hpp"

#include <grokkit/error.hpp>

#include <boost/program_options.hpp>

#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace grokkit::cli {

namespace {

const char* const synopsis =
    "grokkit sweep PIPELINE --grid key=v1,v2,... [--grid ...] --seeds A..B [--set key=value]...\n"
    "                     [--threads T] [--jobs J] [--out DIR] [--retry-failed] [--emit-slurm "
    "FILE]\n"
    "       grokkit sweep DIR [--jobs J] [--retry-failed]     run (again) the sweep DIR holds\n"
    "       grokkit sweep --status DIR | --collect DIR | DIR --shard I/N";

struct sweep_args {
    std::string target, status, collect, shard, emit_slurm, out;
    std::vector<std::string> grids, sets, slurm_options;
    std::string seeds = "0";
    std::int64_t threads = 1;
    std::size_t jobs = 0, shards = 0;
    double threshold = 0.99, ratio = 2.0;
    bool retry_failed = false, quiet = false;
};

void declare_options(po::options_description& desc, sweep_args& a) {
    desc.add_options()("target", po::value(&a.target), "pipeline file, or a sweep directory")(
        "grid", po::value(&a.grids)->composing(), "key=v1,v2,...: a grid axis (TOML values)")(
        "seeds", po::value(&a.seeds), "seeds: A..B (inclusive), A,B,C or both (default 0)")(
        "set", po::value(&a.sets)->composing(), "override a key for every point")(
        "threads", po::value(&a.threads), "run.threads of every point (default 1)")(
        "jobs", po::value(&a.jobs), "points at a time here (default: cores / threads)")(
        "out", po::value(&a.out), "sweep directory (default sweeps/<pipeline name>)")(
        "retry-failed", "run failed points again")("quiet,q", "print only the summary")(
        "accuracy-threshold", po::value(&a.threshold), "accuracy a phase counts as reached")(
        "grokking-ratio", po::value(&a.ratio), "grokking when generalising > R x later")(
        "status", po::value(&a.status), "print the progress of the sweep in DIR")(
        "collect", po::value(&a.collect), "build DIR's index from its run files")(
        "shard", po::value(&a.shard), "I/N: run the points i with i % N == I (a Slurm task)")(
        "emit-slurm", po::value(&a.emit_slurm), "write an sbatch array script; run nothing")(
        "shards", po::value(&a.shards), "array tasks of --emit-slurm (default: one per point)")(
        "slurm-option", po::value(&a.slurm_options)->composing(),
        "an extra #SBATCH line for --emit-slurm (\"--time=02:00:00\")");
}

std::size_t usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
    return 1;
}

fs::path own_executable() {
    return fs::read_symlink("/proc/self/exe");
}

// The sweep to run: DIR's own definition, or one made from the options (checked against what
// `out` already holds).
sweep::sweep_spec spec_from(const sweep_args& a, sweep::layout& dir) {
    if (fs::is_directory(a.target)) {
        if (!a.grids.empty() || !a.sets.empty())
            throw invalid_input(diagnostic{
                a.target, "", "holds a sweep already; --grid and --set define a new one",
                "`grokkit sweep " + a.target + "` to run it, or the pipeline with --out " +
                    a.target + " to change its grid or seeds",
                0, 0});
        dir.root = fs::absolute(a.target);
        return sweep::load_spec(dir);
    }
    if (!fs::exists(a.target))
        throw invalid_input(diagnostic{a.target, "", "no such file or directory",
                                       "a pipeline file or a sweep directory", 0, 0});
    sweep::sweep_spec s;
    s.pipeline_file = fs::absolute(a.target);
    s.sets = a.sets;
    for (const auto& g : a.grids)
        s.grid.push_back(sweep::parse_grid(g));
    s.seeds = sweep::parse_seeds(a.seeds);
    s.threads = a.threads;
    s.rules = {a.threshold, a.ratio};
    dir.root =
        fs::absolute(a.out.empty() ? fs::path("sweeps") / s.pipeline_file.stem() : fs::path(a.out));
    return s;
}

void print_outcome(const sweep::layout& dir, const sweep::state_counts& c, bool wrote_index) {
    std::cout << "sweep: " << dir.root.string() << ": " << c.text() << "\n";
    if (wrote_index)
        std::cout << "index: " << dir.index_file().string() << "\nreport: grokkit report "
                  << dir.root.string() << "\n";
    if (c.failed > 0)
        std::cout << "failed points are retried only with --retry-failed (see `grokkit sweep "
                     "--status "
                  << dir.root.string() << "`)\n";
}

// 0 only when every point is done: a Slurm task or a script can trust it.
int exit_code(const sweep::pool_result& r) {
    if (r.counts.failed > 0 && !r.interrupted)
        return 1;
    if (r.interrupted || r.counts.done < r.counts.total())
        return 130; // stopped, or points left interrupted: the next run continues them
    return 0;
}

} // namespace

namespace {

sweep::layout layout_of(const std::string& dir_name) {
    return sweep::layout{fs::absolute(dir_name)};
}

// A directory's sweep, its points resolved against the pipeline as it is now (refused when
// the pipeline file no longer resolves to what the sweep was defined with).
std::vector<sweep::point> points_of(const sweep::layout& dir, sweep::sweep_spec& spec,
                                    registry& reg) {
    spec = sweep::load_spec(dir);
    reg.load_default();
    return sweep::expand(spec, reg, sweep::expand_check::resolve_only);
}

void print_points(const char* heading, sweep::point_state state,
                  const std::vector<sweep::point>& points,
                  const std::vector<sweep::point_record>& records) {
    bool first = true;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (records[i].state != state)
            continue;
        if (first)
            std::cout << heading << ":\n";
        first = false;
        std::cout << "  " << points[i].hash << "  " << points[i].label();
        const auto& s = records[i].summary;
        if (state == sweep::point_state::failed)
            std::cout << "\n    "
                      << records[i].error.substr(0, records[i].error.find_last_not_of('\n') + 1);
        else if (s.last_step >= 0)
            std::cout << "  (step " << s.last_step << " of " << s.steps << ")";
        std::cout << "\n";
    }
}

// A sweep directory read as it is now: its definition, points and their records.
struct surveyed_sweep {
    sweep::layout dir;
    sweep::sweep_spec spec;
    std::vector<sweep::point> points;
    std::vector<sweep::point_record> records;
};

surveyed_sweep survey_directory(const std::string& dir_name) {
    surveyed_sweep s{layout_of(dir_name), {}, {}, {}};
    registry reg;
    s.points = points_of(s.dir, s.spec, reg);
    s.records = sweep::survey(s.dir, s.points, s.spec.rules);
    return s;
}

int sweep_status(const std::string& dir_name) {
    const auto [dir, spec, points, records] = survey_directory(dir_name);
    std::cout << "sweep: " << dir.root.string() << "\npipeline: " << spec.pipeline_file.string()
              << "\n";
    for (const auto& axis : spec.grid)
        std::cout << "grid: " << axis.key << " = " << join(axis.values) << "\n";
    std::cout << "seeds: " << spec.seeds.size() << ", threads per point: " << spec.threads << "\n"
              << "points: " << sweep::count_states(records).text() << "\n";
    print_points("running", sweep::point_state::running, points, records);
    print_points("interrupted (the next run of the sweep resumes them)",
                 sweep::point_state::interrupted, points, records);
    print_points("failed", sweep::point_state::failed, points, records);
    std::map<std::string, int> phases;
    for (const auto& r : records)
        if (!r.summary.phase.empty())
            ++phases[r.summary.phase];
    if (!phases.empty()) {
        std::cout << "phases:";
        for (const auto& [name, n] : phases)
            std::cout << " " << name << " " << n;
        std::cout << "\n";
    }
    return 0;
}

int sweep_collect(const std::string& dir_name) {
    const auto [dir, spec, points, records] = survey_directory(dir_name);
    sweep::write_index(dir, spec, points, records);
    print_outcome(dir, sweep::count_states(records), true);
    return 0;
}

int sweep_shard(const std::string& dir_name, const std::string& shard, const sweep_args& a) {
    std::size_t index = 0, count = 0;
    char slash = 0;
    std::istringstream in(shard);
    if (!(in >> index >> slash >> count) || slash != '/' || count == 0 || index >= count ||
        !in.eof())
        throw invalid_input(diagnostic{"--shard " + shard, "", "is not I/N with 0 <= I < N",
                                       "a Slurm task's shard, as \"3/16\"", 0, 0});
    const auto dir = layout_of(dir_name);
    sweep::sweep_spec spec;
    registry reg;
    const auto points = points_of(dir, spec, reg);
    sweep::pool_options o;
    o.jobs = a.jobs > 0 ? a.jobs : 1;
    o.retry_failed = a.retry_failed;
    o.quiet = a.quiet;
    o.executable = own_executable();
    o.only = sweep::shard_points(points.size(), index, count);
    o.write_index = false;
    o.runner = "shard " + shard;
    if (const char* job = std::getenv("SLURM_ARRAY_JOB_ID"))
        o.runner +=
            std::string(" (Slurm job ") + job + " task " +
            (std::getenv("SLURM_ARRAY_TASK_ID") ? std::getenv("SLURM_ARRAY_TASK_ID") : "?") + ")";
    const auto r = sweep::run_pool(dir, spec, points, o);
    std::cout << "shard " << index << "/" << count << ": " << r.counts.text() << "\n";
    return exit_code(r);
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'')
            q += "'\\''";
        else
            q += c;
    }
    return q + "'";
}

int sweep_emit_slurm(const sweep::layout& dir, const sweep::sweep_spec& spec, std::size_t n_points,
                     const sweep_args& a) {
    const std::size_t shards = std::min(a.shards > 0 ? a.shards : n_points, n_points);
    fs::create_directories(dir.root / "slurm");
    std::ostringstream s;
    s << "#!/bin/bash\n"
      << "# grokkit sweep of " << spec.pipeline_file.string() << ": " << n_points << " points in "
      << shards << " array tasks.\n"
      << "# Each task runs its shard of the points (finished ones are skipped, interrupted ones\n"
      << "# resume from their checkpoints) and exits: nothing has to stay alive. Requeued or\n"
      << "# preempted tasks resume the same way. When the tasks are done:\n"
      << "#   grokkit sweep --collect " << dir.root.string() << "\n"
      << "#SBATCH --job-name=grokkit-" << spec.pipeline_file.stem().string() << "\n"
      << "#SBATCH --array=0-" << shards - 1 << "\n"
      << "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=" << spec.threads << "\n"
      << "#SBATCH --requeue\n#SBATCH --open-mode=append\n"
      << "#SBATCH --output=" << (dir.root / "slurm" / "task-%a.out").string() << "\n";
    for (const auto& opt : a.slurm_options)
        s << "#SBATCH " << opt << "\n";
    s << "exec " << shell_quote(own_executable().string()) << " sweep "
      << shell_quote(dir.root.string()) << " --shard \"${SLURM_ARRAY_TASK_ID}/" << shards << "\"\n";
    std::ofstream out(a.emit_slurm, std::ios::binary | std::ios::trunc);
    out << s.str();
    out.close();
    if (!out)
        throw error(a.emit_slurm, "cannot write the Slurm script");
    fs::permissions(a.emit_slurm,
                    fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
    std::cout << "slurm script: " << a.emit_slurm << " (" << shards << " array tasks for "
              << n_points << " points)\nsubmit: sbatch " << a.emit_slurm
              << "\nthen: grokkit sweep --collect " << dir.root.string() << "\n";
    return 0;
}

// Rank 0 checks the directory and records the definition; the others wait for its verdict.
void record_definition(const sweep::layout& dir, const sweep::sweep_spec& spec, mpi_session& mpi) {
    std::exception_ptr failure;
    if (mpi.rank() == 0) {
        try {
            sweep::check_same_experiment(dir, spec);
            sweep::save_spec(dir, spec);
        } catch (...) {
            failure = std::current_exception();
        }
    }
    if (!mpi.agree(!failure)) {
        if (failure)
            std::rethrow_exception(failure);
        throw error("sweep", "rank 0 refused the sweep");
    }
}

sweep::pool_options pool_options_for(const sweep_args& a, const sweep::sweep_spec& spec,
                                     const mpi_session& mpi) {
    sweep::pool_options o;
    o.retry_failed = a.retry_failed;
    o.quiet = a.quiet;
    o.executable = own_executable();
    const std::size_t cores = usable_cores(), threads = static_cast<std::size_t>(spec.threads);
    o.jobs = a.jobs > 0 ? a.jobs : std::max<std::size_t>(1, cores / threads);
    if (mpi.size() > 1)
        o.jobs = 1; // one point at a time per rank: the ranks are the parallelism
    else if (o.jobs * threads > cores)
        std::cerr << "warning: " << o.jobs << " jobs x " << threads << " threads exceed the "
                  << cores << " usable cores\n";
    return o;
}

int run_sweep(const sweep_args& a, mpi_session& mpi) {
    registry reg;
    reg.load_default();
    sweep::layout dir;
    sweep::sweep_spec spec = spec_from(a, dir);
    const auto points =
        sweep::expand(spec, reg,
                      fs::is_directory(a.target) ? sweep::expand_check::resolve_only
                                                 : sweep::expand_check::first_point);
    record_definition(dir, spec, mpi);
    if (!a.emit_slurm.empty())
        return mpi.rank() == 0 ? sweep_emit_slurm(dir, spec, points.size(), a) : 0;
    const sweep::pool_options o = pool_options_for(a, spec, mpi);
    if (mpi.rank() == 0 && !a.quiet)
        std::cout << "sweep: " << points.size() << " points (" << spec.seeds.size() << " seeds) in "
                  << dir.root.string() << "; "
                  << (mpi.size() > 1 ? std::to_string(mpi.size()) + " MPI ranks"
                                     : std::to_string(o.jobs) + " at a time")
                  << ", " << spec.threads << " thread(s) each" << std::endl;
    const sweep::pool_result r = mpi.size() > 1 ? mpi.run_or_abort(dir, spec, points, o)
                                                : sweep::run_pool(dir, spec, points, o);
    if (mpi.rank() != 0)
        return 0;
    print_outcome(dir, r.counts, true);
    return exit_code(r);
}

} // namespace

int cmd_sweep(const std::vector<std::string>& args) {
    po::options_description desc("grokkit sweep options");
    sweep_args a;
    declare_options(desc, a);
    po::positional_options_description pos;
    pos.add("target", 1);
    po::variables_map vm;
    int code = 0;
    if (!parse_options(args, desc, pos, synopsis, vm, code))
        return code;
    a.retry_failed = vm.count("retry-failed") > 0;
    a.quiet = vm.count("quiet") > 0;
    std::optional<mpi_session> mpi;
    try {
        if (!a.status.empty())
            return sweep_status(a.status);
        if (!a.collect.empty())
            return sweep_collect(a.collect);
        if (a.target.empty()) {
            std::cerr << "error: sweep: expected a pipeline file or a sweep directory\nusage: "
                      << synopsis << "\n";
            return 2;
        }
        if (!a.shard.empty())
            return sweep_shard(a.target, a.shard, a);
        mpi.emplace();
        return run_sweep(a, *mpi);
    } catch (const invalid_input& e) {
        if (mpi && mpi->rank() != 0)
            return 2; // rank 0 says it
        return report_invalid(e);
    } catch (const error& e) {
        if (!mpi || mpi->rank() == 0)
            print_error(e);
        return 1;
    }
}

} // namespace grokkit::cli
