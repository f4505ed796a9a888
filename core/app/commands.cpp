// Subcommand implementations: option parsing and printing only; the work is in core.
// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "host/pipeline.hpp"
#include "host/registry.hpp"
#include "host/report.hpp"
#include "host/runner.hpp"
#include "host/sweep.hpp"
#include "store/h5.hpp"
#include "store/run_store.hpp"

#include <grokkit/error.hpp>
#include <grokkit/progress.hpp>
#include <grokkit/run_file.hpp>

#include <boost/program_options.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace grokkit::cli {

void print_error(const std::exception& e) {
    if (const auto* ge = dynamic_cast<const error*>(&e)) {
        for (const auto& d : ge->diagnostics())
            std::cerr << "error: " << d.to_string() << "\n";
        return;
    }
    std::cerr << "error: " << e.what() << "\n";
}

bool parse_options(const std::vector<std::string>& args, po::options_description& desc,
                   const po::positional_options_description& positional, const char* synopsis,
                   po::variables_map& vm, int& exit_code) {
    desc.add_options()("help,h", "show this help");
    try {
        po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
        // --help before notify(): notify() enforces required options, which --help lacks.
        if (vm.count("help")) {
            std::cout << "usage: " << synopsis << "\n" << desc;
            exit_code = 0;
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "error: " << e.what() << "\nusage: " << synopsis << "\n" << desc;
        exit_code = 2;
        return false;
    }
    return true;
}

int report_invalid(const error& e) {
    print_error(e);
    const auto n = e.diagnostics().size();
    std::cerr << n << (n == 1 ? " problem" : " problems") << " found; nothing was run\n";
    return 2;
}

namespace {

// Runs `work` in a child process with a time limit, so a corrupt file that makes HDF5 hang or
// crash cannot take the caller with it. The child's stdout/stderr pass through.
int run_isolated(const std::function<int()>& work, int timeout_seconds, const std::string& what) {
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0)
        return work();
    if (pid == 0) {
        int rc = 1;
        try {
            rc = work();
        } catch (const std::exception& e) {
            print_error(e);
            rc = 1;
        }
        std::cout.flush();
        std::cerr.flush();
        _exit(rc);
    }
    int status = 0;
    for (int waited = 0; waited < timeout_seconds * 10; ++waited) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            std::cerr << "error: " << what << ": reading the file crashed (signal "
                      << WTERMSIG(status) << "); the file is corrupt\n";
            return 1;
        }
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    std::cerr << "error: " << what << ": reading the file did not finish within " << timeout_seconds
              << " s; the file is corrupt\n";
    return 1;
}

void write_page(const std::filesystem::path& out, const std::string& html) {
    std::ofstream stream(out, std::ios::binary | std::ios::trunc);
    stream << html;
    stream.close();
    if (!stream)
        throw error(out.string(), "cannot write the report", "a writable file");
}

std::string fmt(double v) {
    std::ostringstream os;
    os << std::setprecision(6) << v;
    return os.str();
}

} // namespace

namespace {

// Feeds the runner's reports to a progress meter on stdout: every step ticks it, evaluations
// bring the metrics (the learning rate left out), analyses show as the current activity.
class training_progress {
  public:
    training_progress(progress_style style, double line_interval)
        : m_style(style), m_line_interval(line_interval) {}
    void operator()(const progress& p) {
        if (!m_meter)
            m_meter.emplace(std::cout, m_style, "steps", p.steps, m_line_interval);
        if (!p.activity.empty() || m_in_activity) {
            m_meter->activity(std::string(p.activity));
            m_in_activity = !p.activity.empty();
        }
        if (p.values.empty()) {
            m_meter->tick(p.step);
            return;
        }
        m_names.clear();
        m_values.clear();
        for (std::size_t i = 0; i < p.names.size(); ++i)
            if (p.names[i] != "lr") {
                m_names.push_back(p.names[i]);
                m_values.push_back(p.values[i]);
            }
        m_meter->report(p.step, m_names, m_values);
    }
    void finish() {
        if (m_meter)
            m_meter->finish();
    }

  private:
    progress_style m_style;
    double m_line_interval;
    std::optional<progress_meter> m_meter;
    bool m_in_activity = false;
    std::vector<std::string> m_names;
    std::vector<double> m_values;
};

void print_summary(const run_result& r) {
    if (r.resumed_from >= 0)
        std::cout << "resumed from checkpoint at step " << r.resumed_from << "\n";
    std::cout << "run file: " << r.file.string() << "\n";
    std::cout << "status: " << r.status << " in " << std::fixed << std::setprecision(1) << r.seconds
              << " s\n"
              << std::defaultfloat;
    for (std::size_t i = 0; i < r.metric_names.size(); ++i)
        std::cout << "final " << r.metric_names[i] << ": " << fmt(r.final_metrics[i]) << "\n";
}

// Probes a file to resume in a child first: a corrupt file may crash or hang HDF5. It opens a
// copy the way the resume itself does (a killed writer's file may refuse a read-only open that
// the repairing open accepts), so the probe changes nothing a refused resume must keep.
bool resumable(const std::filesystem::path& file) {
    const std::filesystem::path probe = file.string() + ".probe";
    std::error_code ec;
    std::filesystem::copy_file(file, probe, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
        std::cerr << "error: " << file.string() << ": cannot copy it to probe it: " << ec.message()
                  << "\n";
        return false;
    }
    const bool ok =
        run_isolated(
            [&] {
                auto f = open_run_file_for_resume(probe);
                if (!h5::exists(f, "/checkpoints/step"))
                    throw error(file.string(), "not a grokkit run file (no /checkpoints/step)");
                return 0;
            },
            30, file.string()) == 0;
    std::filesystem::remove(probe, ec);
    return ok;
}

} // namespace

namespace {
int run_and_report(const run_options& o, bool quiet, double interval);
} // namespace

int cmd_run(const std::vector<std::string>& args) {
    po::options_description desc("grokkit run options");
    run_options o;
    std::string pipeline_file, out;
    desc.add_options()("pipeline", po::value(&pipeline_file)->required(), "pipeline TOML file")(
        "set", po::value(&o.overrides)->composing(),
        "override a key: section.key=value (TOML value)")("out", po::value(&out),
                                                          "run file (default runs/<run.name>.h5)")(
        "resume", "continue the run file from its last checkpoint")(
        "force", "overwrite an existing run file")("quiet,q", "print only the summary")(
        "progress-interval", po::value<double>()->default_value(1.0),
        "seconds between progress lines when stdout is not a terminal (0: every evaluation)");
    po::positional_options_description pos;
    pos.add("pipeline", 1);
    po::variables_map vm;
    int code = 0;
    if (!parse_options(
            args, desc, pos,
            "grokkit run PIPELINE [--set key=value]... [--out FILE] [--resume | --force]", vm,
            code))
        return code;
    o.pipeline_file = pipeline_file;
    o.out = out;
    o.resume = vm.count("resume") > 0;
    o.force = vm.count("force") > 0;
    if (o.resume && o.force) {
        std::cerr << "error: --resume and --force exclude each other\n";
        return 2;
    }
    if (o.resume && !o.out.empty() && std::filesystem::exists(o.out) && !resumable(o.out))
        return 1;
    const double interval = vm["progress-interval"].as<double>();
    if (!(interval >= 0)) {
        std::cerr << "error: --progress-interval " << interval << ": expected seconds >= 0\n";
        return 2;
    }
    return run_and_report(o, vm.count("quiet") > 0, interval);
}

namespace {

int run_and_report(const run_options& o, bool quiet, double interval) {
    training_progress shown(progress_style_for(STDOUT_FILENO, quiet), interval);
    registry reg; // outlives the catch below: errors thrown by plugins point into their code
    try {
        std::function<void(const progress&)> report;
        if (!quiet)
            report = std::ref(shown);
        const run_result r = run_pipeline(reg, o, report);
        shown.finish();
        print_summary(r);
        return r.status == "complete" ? 0 : 130;
    } catch (const invalid_input& e) {
        shown.finish();
        return report_invalid(e);
    } catch (const error& e) {
        shown.finish(); // the message starts on a line of its own, not after the bar
        print_error(e);
        return 1;
    }
}

} // namespace

int cmd_check(const std::vector<std::string>& args) {
    po::options_description desc("grokkit check options");
    std::vector<std::string> sets;
    std::string pipeline_file;
    desc.add_options()("pipeline", po::value(&pipeline_file)->required(), "pipeline TOML file")(
        "set", po::value(&sets)->composing(), "override a key: section.key=value (TOML value)");
    po::positional_options_description pos;
    pos.add("pipeline", 1);
    po::variables_map vm;
    int code = 0;
    if (!parse_options(args, desc, pos, "grokkit check PIPELINE [--set key=value]...", vm, code))
        return code;
    registry reg; // outlives the catch below
    try {
        std::cout << check_pipeline(reg, pipeline_file, sets);
        std::cerr << pipeline_file << ": ok\n";
        return 0;
    } catch (const invalid_input& e) {
        return report_invalid(e);
    } catch (const error& e) {
        print_error(e);
        return 1;
    }
}

namespace {

// `grokkit plugins --describe NAME`: the plugin's parameter table, and an analysis' outputs.
int describe_plugin(const registry& reg, const std::string& name) {
    const auto* p = reg.find(name);
    if (!p) {
        std::vector<std::string> names;
        for (const auto& q : reg.plugins())
            names.push_back(q.name);
        std::cerr << "error: plugin: unknown plugin \"" << name
                  << "\"; expected one of: " << join(names) << "\n";
        return 2;
    }
    std::unique_ptr<plugin_object> obj(p->info->create());
    param_set ps;
    obj->declare(ps);
    std::cout << "# " << p->name << " (" << to_string(p->kind) << " " << p->version << ")\n\n"
              << p->summary << "\n\n## Parameters\n\n"
              << describe_params(ps);
    if (const auto* a = dynamic_cast<const analysis*>(obj.get())) {
        output_set os;
        a->declare_outputs(os);
        std::cout << "\n## Outputs\n\n" << describe_outputs(os);
    }
    return 0;
}

} // namespace

int cmd_plugins(const std::vector<std::string>& args) {
    po::options_description desc("grokkit plugins options");
    std::string describe;
    desc.add_options()("describe", po::value(&describe), "print one plugin's parameter table")(
        "markdown", "print the pipeline reference: every section's and plugin's tables");
    po::positional_options_description pos;
    po::variables_map vm;
    int code = 0;
    if (!parse_options(args, desc, pos, "grokkit plugins [--describe NAME | --markdown]", vm, code))
        return code;
    registry reg;
    reg.load_default();
    for (const auto& w : reg.warnings())
        std::cerr << "warning: " << w << "\n";
    for (const auto& r : reg.refusals())
        std::cerr << "refused: " << r.to_string() << "\n";
    if (vm.count("markdown")) {
        std::cout << pipeline_reference(reg);
        return 0;
    }
    if (!describe.empty())
        return describe_plugin(reg, describe);
    for (plugin_kind k : {plugin_kind::dataset, plugin_kind::model, plugin_kind::analysis}) {
        std::cout << (k == plugin_kind::analysis ? "analyses" : std::string(to_string(k)) + "s")
                  << ":\n";
        for (const auto& p : reg.plugins())
            if (p.kind == k)
                std::cout << "  " << std::left << std::setw(22) << p.name << std::setw(8)
                          << p.version << p.summary << "\n";
    }
    return 0;
}

namespace {

void print_row(const std::string& key, const std::string& value) {
    std::cout << "  " << std::left << std::setw(16) << key << value << "\n";
}

// "min 0.0123 at step 400" over the committed rows (max for accuracies).
void print_metric(const run_file& f, const std::string& m, const std::vector<std::int64_t>& steps) {
    auto v = f.metric(m);
    v.resize(std::min(v.size(), steps.size())); // a live file may have grown since `steps`
    if (v.empty())
        return;
    const bool is_acc = m.find("accuracy") != std::string::npos;
    std::size_t best = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
        if (is_acc ? v[i] > v[best] : v[i] < v[best])
            best = i;
    std::cout << "  " << std::left << std::setw(16) << m << "last " << std::setw(12)
              << fmt(v.back()) << (is_acc ? "max " : "min ") << fmt(v[best]) << " at step "
              << steps[best] << "\n";
}

std::string range_text(const std::vector<std::int64_t>& steps) {
    return steps.empty()
               ? std::string()
               : ", steps " + std::to_string(steps.front()) + ".." + std::to_string(steps.back());
}

int inspect_file(const std::string& path) {
    const run_file f(path);
    std::cout << "run file: " << path << "\n";
    print_row("status", f.status());
    if (const std::string done = f.finished(); !done.empty())
        print_row("finished", done);
    if (const double secs = f.wall_seconds(); secs > 0)
        print_row("wall_seconds", fmt(secs));
    for (const char* a : {"grokkit_version", "git_revision", "created", "blas_kernel",
                          "hdf5_version", "pipeline_file", "overrides"})
        if (f.has_attribute(a))
            print_row(a, f.string_attribute(a));
    for (const char* a : {"schema_version", "seed", "threads", "resume_count"})
        if (f.has_attribute(a))
            print_row(a, std::to_string(f.int_attribute(a)));
    std::cout << "\npipeline (as written):\n" << f.pipeline_text() << "\n";
    std::cout << "dataset: " << f.dataset_plugin() << ", " << f.dataset_attribute("n_train")
              << " train / " << f.dataset_attribute("n_test") << " test examples\n";
    const auto steps = f.metric_steps();
    std::cout << "metrics: " << steps.size() << " rows" << range_text(steps) << "\n";
    for (const auto& m : f.metric_names())
        if (m != "lr")
            print_metric(f, m, steps);
    const auto checkpoints = f.checkpoint_steps();
    std::cout << "checkpoints: " << checkpoints.size() << range_text(checkpoints) << "\n";
    const auto analyses = f.analyses();
    std::cout << "analyses: " << analyses.size() << "\n";
    for (const auto& a : analyses)
        std::cout << "  " << a.name << " (" << a.plugin << ", at " << a.at
                  << "): " << f.analysis_steps(a.name).size() << " rows, " << a.outputs.size()
                  << " outputs\n";
    return 0;
}

} // namespace

namespace {

// The options of a command that reads one run file in a child (inspect, report): the file,
// `extra` options, and the time limit against a corrupt file that makes HDF5 hang. Returns
// false with `exit_code` set when the command must stop (help, bad options, no such file).
bool parse_file_command(const std::vector<std::string>& args, po::options_description& desc,
                        const char* synopsis, std::string& file, po::variables_map& vm,
                        int& exit_code) {
    desc.add_options()("file", po::value(&file)->required(), "run file (.h5), live or finished")(
        "timeout", po::value<int>()->default_value(60),
        "seconds before giving up on a corrupt file");
    po::positional_options_description pos;
    pos.add("file", 1);
    if (!parse_options(args, desc, pos, synopsis, vm, exit_code))
        return false;
    if (!std::filesystem::exists(file)) {
        std::cerr << "error: " << file << ": no such file\n";
        exit_code = 1;
        return false;
    }
    return true;
}

} // namespace

int cmd_inspect(const std::vector<std::string>& args) {
    po::options_description desc("grokkit inspect options");
    std::string file;
    po::variables_map vm;
    int code = 0;
    if (!parse_file_command(args, desc, "grokkit inspect RUN.h5", file, vm, code))
        return code;
    return run_isolated([&] { return inspect_file(file); }, vm["timeout"].as<int>(), file);
}

namespace {
/// Whether another process is writing `file` (its lock is held); says so if it is.
bool refused_as_live(const std::string& file) {
    try {
        file_lock::refuse_if_held(file);
        return false;
    } catch (const error& e) {
        print_error(e);
        return true;
    }
}
} // namespace

int cmd_analyze(const std::vector<std::string>& args) {
    po::options_description desc("grokkit analyze options");
    std::vector<std::string> sets;
    std::string run_file, pipeline_file;
    desc.add_options()("run-file", po::value(&run_file)->required(),
                       "finished run file (.h5)")("pipeline", po::value(&pipeline_file)->required(),
                                                  "pipeline whose [[analysis]] entries run")(
        "set", po::value(&sets)->composing(), "override a key: section.key=value (TOML value)")(
        "force", "replace analyses of the same name already in the file");
    po::positional_options_description pos;
    pos.add("run-file", 1).add("pipeline", 1);
    po::variables_map vm;
    int code = 0;
    if (!parse_options(args, desc, pos,
                       "grokkit analyze RUN.h5 PIPELINE [--set key=value]... [--force]", vm, code))
        return code;
    if (!std::filesystem::exists(run_file)) {
        std::cerr << "error: " << run_file << ": no such file\n";
        return 1;
    }
    if (refused_as_live(run_file)) // a live run would read as half-written
        return 1;
    // A corrupt file may crash or hang HDF5: probe it in a child first.
    if (run_isolated(
            [&] {
                const grokkit::run_file probe(run_file);
                return 0;
            },
            30, run_file) != 0)
        return 1;
    registry reg; // outlives the catch below
    try {
        const auto r =
            analyze_run(reg, analyze_options{run_file, pipeline_file, sets, vm.count("force") > 0});
        std::cout << "analysed " << r.n_checkpoints << " checkpoints of " << run_file << " in "
                  << std::fixed << std::setprecision(1) << r.seconds << " s:" << std::defaultfloat;
        for (const auto& a : r.analyses)
            std::cout << " /analyses/" << a;
        std::cout << "\n";
        return 0;
    } catch (const invalid_input& e) {
        return report_invalid(e);
    } catch (const error& e) {
        print_error(e);
        return 1;
    }
}

namespace {

// The report of one run file: its sections (the analyses' plugins found on the run's own
// plugin_path, relative to its pipeline file, too) rendered into `out`. Returns the page's size.
std::size_t write_run_report(const std::filesystem::path& file, const std::filesystem::path& out,
                             std::size_t& n_sections) {
    const run_file f(file);
    std::vector<std::filesystem::path> dirs;
    const std::filesystem::path base =
        std::filesystem::path(f.string_attribute("pipeline_file")).parent_path();
    for (const auto& d : f.resolved_pipeline().strings("run.plugin_path"))
        dirs.push_back(std::filesystem::path(d).is_absolute() ? std::filesystem::path(d)
                                                              : base / d);
    registry reg;
    reg.load_default(dirs);
    const auto sections = report_sections(f, reg);
    const std::string html = render_report("grokkit report: " + file.string(), sections);
    write_page(out, html);
    n_sections = sections.size();
    return html.size();
}

// A sweep's page, and each point's own report beside its run file when it has none newer
// than the run file (a sweep of hundreds of points renders only what changed).
int write_sweep_report(const std::filesystem::path& root, const std::filesystem::path& out) {
    const sweep::layout dir{std::filesystem::absolute(root)};
    sweep::sweep_spec spec = sweep::load_spec(dir);
    registry reg;
    reg.load_default();
    const auto points = sweep::expand(spec, reg, sweep::expand_check::resolve_only);
    const auto records = sweep::survey(dir, points, spec.rules);
    const auto out_dir = std::filesystem::absolute(out).parent_path();
    std::size_t written = 0;
    const auto link = [&](const sweep::point& p) -> std::string {
        if (!std::filesystem::exists(dir.run_file(p)))
            return "";
        std::error_code ec;
        const auto page = dir.report_file(p);
        if (!std::filesystem::exists(page) ||
            std::filesystem::last_write_time(page, ec) <
                std::filesystem::last_write_time(dir.run_file(p), ec)) {
            try {
                std::size_t n = 0;
                write_run_report(dir.run_file(p), page, n);
                ++written;
            } catch (const error& e) { // one unreadable point leaves the rest of the page
                std::cerr << "warning: report: point " << p.hash << ": " << e.what() << "\n";
                return "";
            }
        }
        return std::filesystem::relative(page, out_dir).string();
    };
    const auto sections = sweep::report_sections(dir, spec, points, records, link);
    const std::string html = render_report("grokkit sweep: " + dir.root.string(), sections);
    write_page(out, html);
    std::cout << "report: " << out.string() << " (" << points.size() << " points, " << written
              << " point reports written, " << html.size() / 1024 << " KB)\n";
    return 0;
}

} // namespace

int cmd_report(const std::vector<std::string>& args) {
    po::options_description desc("grokkit report options");
    std::string file, out;
    desc.add_options()("out,o", po::value(&out),
                       "HTML file to write (default: RUN.report.html beside the run)");
    po::variables_map vm;
    int code = 0;
    if (!parse_file_command(args, desc, "grokkit report RUN.h5|SWEEP_DIR [-o report.html]", file,
                            vm, code))
        return code;
    const bool is_sweep = std::filesystem::is_directory(file);
    if (out.empty())
        out = is_sweep ? (std::filesystem::path(file) / "report.html").string()
                       : std::filesystem::path(file).replace_extension(".report.html").string();
    if (std::error_code ec; std::filesystem::equivalent(file, out, ec)) {
        std::cerr << "error: " << out << ": is the run file itself; expected another -o file\n";
        return 2;
    }
    // In a child, as inspect: a corrupt file may make HDF5 hang or crash.
    return run_isolated(
        [&] {
            if (is_sweep)
                return write_sweep_report(file, out);
            std::size_t n_sections = 0;
            const std::size_t size = write_run_report(file, out, n_sections);
            std::cout << "report: " << out << " (" << n_sections << " sections, " << size / 1024
                      << " KB)\n";
            return 0;
        },
        // A sweep's page renders its points' reports too: minutes, not seconds, for hundreds.
        is_sweep && vm["timeout"].defaulted() ? 1800 : vm["timeout"].as<int>(), file);
}

} // namespace grokkit::cli
