// The progress bar's cost per training step, measured directly: what the runner and the CLI do
// after every update (a std::function call, a clock read, a redraw at most 10 times a second),
// timed over many calls with the bar drawn into a discarded stream.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/progress.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <streambuf>

namespace {
// A stream buffer that keeps nothing, so drawing costs formatting but no terminal.
struct discard : std::streambuf {
    int overflow(int c) override { return c; }
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};
} // namespace

int main() {
    discard sink;
    std::ostream out(&sink);
    const std::int64_t n = 20'000'000;
    grokkit::progress_meter meter(out, grokkit::progress_style::bar, "steps", n);
    // As the runner reports: through a std::function, after every update.
    const std::function<void(std::int64_t)> report = [&](std::int64_t s) { meter.tick(s); };
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t s = 1; s <= n; ++s)
        report(s);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%.1f ns per step's progress report (%lld reports in %.2f s)\n",
                1e9 * seconds / double(n), static_cast<long long>(n), seconds);
    return 0;
}
