// Progress of long work: a bar redrawn in place on a terminal, plain lines elsewhere.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace grokkit {

/// How progress is shown: a bar redrawn in place (a terminal), plain lines (logs, pipes),
/// or nothing.
enum class progress_style { bar, lines, quiet };

/// `bar` when file descriptor `fd` is a terminal, else `lines`; `quiet` when asked.
progress_style progress_style_for(int fd, bool quiet);

/// Shows how far `total` units of work (steps, queries, games) have got: done/total, rate,
/// ETA and the latest values. tick() may be called for every unit: it reads the clock and
/// draws only when due (a bar at most 10 times a second, and at once when an activity starts
/// or ends; lines at each report() once `line_interval` seconds have passed since the last
/// line, the first and last always, and a line as an activity starts when one is due).
class GROKKIT_VISIBLE progress_meter {
  public:
    progress_meter(std::ostream& out, progress_style style, std::string unit, std::int64_t total,
                   double line_interval = 1.0);
    /// `done` units finished; redraws a bar when due.
    void tick(std::int64_t done);
    /// New values to show beside the count (metrics at an evaluation); a line when due.
    void report(std::int64_t done, const std::vector<std::string>& names,
                const std::vector<double>& values);
    /// What runs now besides the main work ("analysis fourier_probe"); "" when back to it.
    void activity(const std::string& what);
    /// The last line (a bar ends with its newline).
    void finish();

  private:
    using clock = std::chrono::steady_clock;
    std::string status_text() const;
    void draw_bar();
    void draw_line();

    std::ostream& m_out;
    progress_style m_style;
    std::string m_unit;
    std::int64_t m_total;
    double m_line_interval;
    clock::time_point m_start, m_last_draw, m_last_line;
    std::int64_t m_first = -1; // units done when the meter first ticked (a resume starts late)
    std::int64_t m_done = 0;
    std::size_t m_columns; // a bar's width limit
    bool m_drawn = false, m_lined = false;
    std::string m_values;   // "train_loss 0.012  test_accuracy 0.5"
    std::string m_activity; // shown after the values
};

} // namespace grokkit
