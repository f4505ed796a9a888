// The fuzz driver: corpus replay, seeded mutations, the kept input, isolated children.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"

#include <grokkit/error.hpp>

#include <dlfcn.h>
#include <execinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace fs = std::filesystem;

// The sanitizers' runtime, when there is one (weak: null in builds without sanitizers).
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace grokkit_fuzz {

namespace {

/// --runs by default: GROKKIT_FUZZ_RUNS (scripts/fuzz sets 10,000), else a quick 300.
std::size_t default_runs() {
    const char* env = std::getenv("GROKKIT_FUZZ_RUNS");
    return env && *env ? std::stoull(env) : 300;
}

struct options {
    std::size_t runs = default_runs();
    std::uint64_t seed = 1;
    double timeout = 30; // seconds per input; sanitizers make some inputs slow
    std::vector<fs::path> corpus_dirs;
    fs::path keep_dir; // holds the input being run; a crash or hang leaves it there
    std::vector<fs::path> replay;
};

[[noreturn]] void usage(const std::string& name, const std::string& why) {
    std::cerr << "fuzz " << name << ": " << why << "\nusage: fuzz-" << name
              << " [--runs N] [--seed S] [--corpus DIR|FILE]... [--keep DIR] [--timeout SECONDS]"
                 " [FILE...]\n";
    std::exit(2);
}

options parse_options(const std::string& name, int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(name, std::string(a) + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--runs")
                o.runs = std::stoull(value());
            else if (a == "--seed")
                o.seed = std::stoull(value());
            else if (a == "--timeout")
                o.timeout = std::stod(value());
            else if (a == "--corpus")
                o.corpus_dirs.emplace_back(value());
            else if (a == "--keep")
                o.keep_dir = value();
            else if (a.starts_with("--"))
                usage(name, "unknown option " + std::string(a));
            else
                o.replay.emplace_back(a);
        } catch (const std::logic_error&) {
            usage(name, "bad value for " + std::string(a));
        }
    }
    return o;
}

std::vector<bytes> load_corpus(const std::string& name, const std::vector<fs::path>& dirs) {
    std::vector<fs::path> files;
    for (const auto& dir : dirs) {
        if (fs::is_regular_file(dir)) {
            files.push_back(dir);
            continue;
        }
        if (!fs::is_directory(dir))
            usage(name, "no corpus file or directory " + dir.string());
        for (const auto& e : fs::recursive_directory_iterator(dir))
            if (e.is_regular_file() && e.path().filename() != "README.md" &&
                !e.path().filename().string().starts_with("."))
                files.push_back(e.path());
    }
    std::sort(files.begin(), files.end()); // the same order, so the same inputs, on every machine
    std::vector<bytes> corpus;
    for (const auto& f : files)
        corpus.push_back(read_file(f));
    return corpus;
}

std::string hex_hash(const bytes& data) {
    std::uint64_t h = 1469598103934665603ull; // FNV-1a
    for (const auto b : data)
        h = (h ^ b) * 1099511628211ull;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}

/// Seeded edits of one input, biased towards its first 4 KiB (HDF5's superblock and object
/// headers, ELF headers) one time in three.
class mutator {
  public:
    mutator(std::uint64_t seed, const std::vector<bytes>& corpus, const target& t)
        : m_rng(seed), m_corpus(corpus), m_target(t) {}

    bytes next(const bytes& base) {
        bytes out = base;
        const int edits = 1 + static_cast<int>(below(4)) + (below(4) == 0 ? int(below(16)) : 0);
        for (int e = 0; e < edits; ++e)
            edit(out);
        if (out.size() > m_target.max_size)
            out.resize(m_target.max_size);
        return out;
    }

    std::size_t below(std::size_t n) { return n == 0 ? 0 : m_rng() % n; }

  private:
    std::size_t position(const bytes& s) {
        if (s.empty())
            return 0;
        if (below(3) == 0)
            return below(std::min<std::size_t>(s.size(), 4096));
        return below(s.size());
    }

    const std::string& token() {
        static const std::vector<std::string> generic = {
            "0",  "-1", "1e308", "-0", "nan", "inf", "4294967296", "9223372036854775808",
            "\"", "'",  "[",     "]",  "{",   "}",   "=",          "\n",
            "\\", ".",  ",",     "\0", "\xff"};
        const auto& d = m_target.dictionary;
        if (!d.empty() && below(3) != 0)
            return d[below(d.size())];
        return generic[below(generic.size())];
    }

    void edit(bytes& s) {
        switch (below(9)) {
        case 0: // flip a bit
            if (!s.empty())
                s[position(s)] ^= std::uint8_t(1u << below(8));
            break;
        case 1: { // a byte set to a boundary value
            static constexpr std::array<std::uint8_t, 8> special = {0,    1,   0x7f, 0x80,
                                                                    0xff, ' ', '\n', '#'};
            if (!s.empty())
                s[position(s)] = special[below(special.size())];
            break;
        }
        case 2: { // random bytes inserted
            const std::size_t at = position(s), n = 1 + below(8);
            for (std::size_t i = 0; i < n; ++i)
                s.insert(s.begin() + std::ptrdiff_t(at), std::uint8_t(m_rng()));
            break;
        }
        case 3: { // a range deleted
            if (s.empty())
                break;
            const std::size_t at = position(s);
            const std::size_t n = std::min(s.size() - at, 1 + below(below(4) == 0 ? s.size() : 16));
            s.erase(s.begin() + std::ptrdiff_t(at), s.begin() + std::ptrdiff_t(at + n));
            break;
        }
        case 4: { // a range copied elsewhere
            if (s.empty())
                break;
            const std::size_t from = position(s), n = std::min(s.size() - from, 1 + below(64));
            const bytes piece(s.begin() + std::ptrdiff_t(from),
                              s.begin() + std::ptrdiff_t(from + n));
            s.insert(s.begin() + std::ptrdiff_t(position(s)), piece.begin(), piece.end());
            break;
        }
        case 5: { // a token inserted
            const auto& t = token();
            s.insert(s.begin() + std::ptrdiff_t(position(s)), t.begin(), t.end());
            break;
        }
        case 6: { // a token written over the bytes at a position
            const auto& t = token();
            const std::size_t at = position(s);
            for (std::size_t i = 0; i < t.size() && at + i < s.size(); ++i)
                s[at + i] = std::uint8_t(t[i]);
            break;
        }
        case 7: { // spliced: this input's head, another corpus entry's tail
            if (m_corpus.empty())
                break;
            const bytes& other = m_corpus[below(m_corpus.size())];
            const std::size_t keep = below(s.size() + 1), from = below(other.size() + 1);
            s.resize(keep);
            s.insert(s.end(), other.begin() + std::ptrdiff_t(from), other.end());
            break;
        }
        default: // truncated
            s.resize(below(s.size() + 1));
        }
    }

    std::mt19937_64 m_rng;
    const std::vector<bytes>& m_corpus;
    const target& m_target;
};

struct tally {
    std::size_t from_corpus = 0, mutated = 0, accepted = 0, refused = 0, isolated = 0;
};

/// Runs one input; false (and the input kept as crash-<hash>) when it failed in-process.
bool run_one(const target& t, const options& o, const bytes& input, tally& n) {
    const fs::path current = o.keep_dir.empty() ? fs::path() : o.keep_dir / "current-input";
    if (!current.empty())
        write_file(current, input);
    alarm(static_cast<unsigned>(std::max(1.0, o.timeout))); // a hang ends the process, input kept
    try {
        const outcome end = t.run(input);
        (end == outcome::accepted ? n.accepted : n.refused)++;
        n.isolated += end == outcome::isolated;
    } catch (const grokkit::error&) {
        ++n.refused;
    } catch (const std::exception& e) {
        alarm(0);
        std::cerr << "fuzz " << t.name << ": FAILED on an input of " << input.size()
                  << " bytes: " << e.what() << "\n";
        if (!current.empty()) {
            const fs::path kept = o.keep_dir / ("crash-" + hex_hash(input));
            fs::rename(current, kept);
            std::cerr << "fuzz " << t.name << ": the input is " << kept.string() << "\n";
        }
        return false;
    }
    alarm(0);
    return true;
}

} // namespace

int main_of(const target& t, int argc, char** argv) {
    const options o = parse_options(t.name, argc, argv);
    if (!o.keep_dir.empty())
        fs::create_directories(o.keep_dir);
    if (t.setup)
        t.setup();
    const auto start = std::chrono::steady_clock::now();
    tally n;
    if (!o.replay.empty()) {
        for (const auto& f : o.replay) {
            if (!run_one(t, o, read_file(f), n))
                return 1;
            ++n.from_corpus;
        }
    } else {
        const std::vector<bytes> corpus = load_corpus(t.name, o.corpus_dirs);
        for (const auto& input : corpus) {
            if (!run_one(t, o, input, n))
                return 1;
            ++n.from_corpus;
        }
        mutator m(o.seed, corpus, t);
        bytes previous;
        for (std::size_t i = 0; i < o.runs; ++i) {
            // One time in four the last input is edited further, so edits accumulate.
            const bytes& base = !previous.empty() && m.below(4) == 0 ? previous
                                : corpus.empty()                     ? previous
                                                 : corpus[m.below(corpus.size())];
            previous = m.next(base);
            if (!run_one(t, o, previous, n))
                return 1;
            ++n.mutated;
        }
    }
    if (!o.keep_dir.empty())
        fs::remove(o.keep_dir / "current-input");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "fuzz " << t.name << ": " << n.from_corpus + n.mutated << " inputs ("
              << n.from_corpus << " from the corpus, " << n.mutated << " mutated, seed " << o.seed
              << "): " << n.accepted << " accepted, " << n.refused << " refused with a clear error";
    if (n.isolated > 0)
        std::cout << " (" << n.isolated << " of them after the isolated library crashed or hung)";
    std::cout << ", none failed, " << std::fixed << std::setprecision(1) << secs << " s\n";
    return 0;
}

namespace {

constexpr int exit_library_crashed = 5, exit_library_hung = 6;
const char* isolated_library_name = nullptr; // in a child: the library whose faults are isolated

/// Whether the calling thread's stack passes through the isolated library. Not async-signal-safe
/// (backtrace may allocate on first use), which a child that is crashing anyway can afford.
bool stack_in_isolated_library() {
    void* frames[128];
    const int n = backtrace(frames, 128);
    for (int i = 0; i < n; ++i) {
        Dl_info info;
        if (dladdr(frames[i], &info) && info.dli_fname &&
            std::strstr(info.dli_fname, isolated_library_name))
            return true;
    }
    return false;
}

void on_fault(int sig) {
    if (stack_in_isolated_library())
        _exit(sig == SIGUSR1 ? exit_library_hung : exit_library_crashed);
    if (sig == SIGUSR1)
        _exit(7); // stopped outside the library: a hang of ours
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

/// Called by a sanitizer after its report, before the process exits: a report raised inside
/// the isolated library (libhdf5's memcpy of overlapping ranges from a corrupt heap, say) is that
/// library's fault, like a signal there.
void on_sanitizer_death() {
    if (stack_in_isolated_library())
        _exit(exit_library_crashed);
}

void isolate_faults_of(const std::string& library) {
    static std::string name;
    name = library;
    isolated_library_name = name.c_str();
    void* warm[1];
    backtrace(warm, 1); // loads libgcc's unwinder now, not inside the handler
    for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGUSR1})
        std::signal(sig, on_fault);
    if (__sanitizer_set_death_callback) // linked in sanitized builds only
        __sanitizer_set_death_callback(on_sanitizer_death);
}

} // namespace

child_end run_in_child(const std::function<outcome()>& work, double timeout_seconds,
                       const std::string& isolated_library) {
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        alarm(0);
        if (!isolated_library.empty())
            isolate_faults_of(isolated_library);
        int code = 4;
        try {
            code = work() == outcome::accepted ? 0 : 3;
        } catch (const grokkit::error&) {
            code = 3;
        } catch (const std::exception& e) {
            std::cerr << "fuzz child: " << e.what() << "\n";
        }
        std::exit(code); // exit, not _exit: LeakSanitizer checks at exit
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    int status = 0;
    bool asked_where = false; // SIGUSR1: the child says whether it is stuck in the library
    while (waitpid(pid, &status, WNOHANG) != pid) {
        const auto now = std::chrono::steady_clock::now();
        if (now > deadline && !isolated_library.empty() && !asked_where) {
            kill(pid, SIGUSR1);
            asked_where = true;
        } else if (now > deadline + std::chrono::seconds(5) || (now > deadline && !asked_where)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return child_end::hung;
        }
        usleep(500);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == exit_library_crashed)
        return child_end::library_crashed;
    if (WIFEXITED(status) && WEXITSTATUS(status) == exit_library_hung)
        return child_end::library_hung;
    if (asked_where)
        return child_end::hung;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return child_end::accepted;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        return child_end::refused;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
        return child_end::failed;
    return child_end::crashed;
}

outcome child_outcome(child_end end, const std::string& what) {
    switch (end) {
    case child_end::accepted:
        return outcome::accepted;
    case child_end::refused:
        return outcome::refused;
    case child_end::failed:
        throw std::logic_error(what + " failed a property (the child's message is above)");
    case child_end::crashed:
        throw std::logic_error(what + " crashed (the child's report is above)");
    case child_end::library_crashed:
    case child_end::library_hung:
        return outcome::isolated;
    case child_end::hung:
        break;
    }
    throw std::logic_error(what + " did not finish within its time limit");
}

const fs::path& scratch_dir() {
    struct scratch {
        fs::path path;
        pid_t owner = getpid();
        scratch() {
            std::string tmpl = (fs::temp_directory_path() / "grokkit-fuzz-XXXXXX").string();
            if (!mkdtemp(tmpl.data()))
                throw std::runtime_error("cannot make a scratch directory");
            path = tmpl;
        }
        ~scratch() {
            std::error_code ec;
            if (getpid() == owner)
                fs::remove_all(path, ec);
        }
    };
    static const scratch dir;
    return dir.path;
}

void write_file(const fs::path& path, const bytes& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    out.close();
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void require(bool condition, const std::string& what) {
    if (!condition)
        throw std::logic_error(what);
}

} // namespace grokkit_fuzz
