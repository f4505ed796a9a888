// The progress meter: rate and ETA from the units done since it started, drawn when due.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/progress.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace grokkit {

progress_style progress_style_for(int fd, bool quiet) {
    if (quiet)
        return progress_style::quiet;
    return isatty(fd) ? progress_style::bar : progress_style::lines;
}

namespace {

// Columns of the terminal on stdout (a bar longer than that would wrap and redraw badly).
std::size_t terminal_columns() {
    winsize w{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20)
        return w.ws_col;
    return 100;
}

std::string duration_text(double seconds) {
    const auto s = static_cast<std::int64_t>(std::llround(std::max(seconds, 0.0)));
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    return buf;
}

std::string number_text(double v) {
    std::ostringstream os;
    os << std::setprecision(4) << v;
    return os.str();
}

} // namespace

progress_meter::progress_meter(std::ostream& out, progress_style style, std::string unit,
                               std::int64_t total, double line_interval)
    : m_out(out), m_style(style), m_unit(std::move(unit)), m_total(total),
      m_line_interval(line_interval), m_start(clock::now()), m_last_draw(m_start),
      m_last_line(m_start), m_columns(style == progress_style::bar ? terminal_columns() : 0) {}

// "5000/12000  1234 steps/s  ETA 0:05  (41.0 s)"
std::string progress_meter::status_text() const {
    const double elapsed = std::chrono::duration<double>(clock::now() - m_start).count();
    std::ostringstream os;
    os << std::setw(7) << m_done << "/" << m_total;
    const std::int64_t since = m_done - std::max<std::int64_t>(m_first, 0);
    if (since > 0 && elapsed > 0) {
        const double rate = static_cast<double>(since) / elapsed;
        os << "  " << number_text(rate) << " " << m_unit << "/s  ETA "
           << duration_text(static_cast<double>(m_total - m_done) / rate);
    }
    os << "  (" << std::fixed << std::setprecision(1) << elapsed << " s)";
    return os.str();
}

void progress_meter::draw_bar() {
    const int width = 24;
    const double share =
        m_total > 0 ? std::clamp(static_cast<double>(m_done) / double(m_total), 0.0, 1.0) : 1.0;
    const int filled = static_cast<int>(share * width);
    std::ostringstream line;
    line << "[" << std::string(static_cast<std::size_t>(filled), '#')
         << std::string(static_cast<std::size_t>(width - filled), '.') << "] " << std::setw(3)
         << static_cast<int>(share * 100) << "% " << m_unit.substr(0, m_unit.size() - 1) << " "
         << status_text() << (m_activity.empty() ? "" : "  [" + m_activity + "]")
         << (m_values.empty() ? "" : "  ") << m_values;
    // \r and erase-line redraw in place; cut to the terminal so the line never wraps.
    m_out << "\r\x1b[2K" << line.str().substr(0, m_columns - 1);
    m_out.flush();
    m_drawn = true;
}

// "step    5000/12000  train_loss 0.01 ...  1234 steps/s  ETA 0:05  (41.0 s)"
void progress_meter::draw_line() {
    const std::string status = status_text();
    const auto slash = status.find('/');
    const auto space = status.find("  ", slash);
    m_out << m_unit.substr(0, m_unit.size() - 1) << " " << status.substr(0, space)
          << (m_values.empty() ? "" : "  ") << m_values
          << (space == std::string::npos ? "" : status.substr(space)) << "\n";
    m_out.flush();
    m_last_line = clock::now();
    m_lined = true;
}

void progress_meter::tick(std::int64_t done) {
    if (m_first < 0) {
        m_first = done;
        m_start = clock::now();
    }
    m_done = done;
    if (m_style != progress_style::bar)
        return;
    const auto now = clock::now();
    if (m_drawn && now - m_last_draw < std::chrono::milliseconds(100))
        return;
    m_last_draw = now;
    draw_bar();
}

void progress_meter::report(std::int64_t done, const std::vector<std::string>& names,
                            const std::vector<double>& values) {
    if (m_style == progress_style::quiet)
        return;
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
        text += (text.empty() ? "" : "  ") + names[i] + " " + number_text(values[i]);
    m_values = text;
    tick(done);
    const double since = std::chrono::duration<double>(clock::now() - m_last_line).count();
    const bool last = done >= m_total;
    if (m_style == progress_style::lines && (!m_lined || last || since >= m_line_interval))
        draw_line();
}

void progress_meter::activity(const std::string& what) {
    // Shown at once when work starts or ends; updates within it (retraining 40/200) when due.
    const bool started_or_ended = what.empty() != m_activity.empty();
    m_activity = what;
    const auto now = clock::now();
    if (m_style == progress_style::lines) { // logs get a line as work starts and as it goes
        const double since = std::chrono::duration<double>(now - m_last_line).count();
        if (!what.empty() && since >= m_line_interval) { // on (retraining 40/200), when due
            m_out << m_unit.substr(0, m_unit.size() - 1) << " " << std::setw(7) << m_done << "  ["
                  << what << "]\n";
            m_out.flush();
            m_last_line = now;
        }
        return;
    }
    if (m_style != progress_style::bar)
        return;
    if (!started_or_ended && m_drawn && now - m_last_draw < std::chrono::milliseconds(100))
        return;
    m_last_draw = now;
    draw_bar();
}

void progress_meter::finish() {
    if (m_style == progress_style::bar && m_drawn) {
        m_activity.clear();
        draw_bar();
        m_out << "\n";
        m_out.flush();
    }
}

} // namespace grokkit
