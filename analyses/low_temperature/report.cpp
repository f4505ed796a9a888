// low_temperature's section of `grokkit report`: reward against temperature with its
// intervals, the experts' lines and the dataset's closed-form curves, and the verdict.
// SPDX-License-Identifier: Apache-2.0
#include "low_temperature.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace low_temperature {

namespace {

std::vector<double> values(const grokkit::run_file& f, const std::string& name, const char* output,
                           std::size_t row) {
    const auto a = f.analysis_output(name, output, row).array();
    return std::vector<double>(a.begin(), a.end());
}

std::string with_interval(double mean, double lower, double upper) {
    return grokkit::table_number(mean, "%.3f") + " [" + grokkit::table_number(lower, "%.3f") +
           ", " + grokkit::table_number(upper, "%.3f") + "]";
}

// One sentence on whether the model beats its best expert at this row.
std::string verdict_text(const grokkit::run_file& f, const std::string& name, std::size_t row,
                         const std::vector<std::string>& experts) {
    const auto scalar = [&](const char* o) { return f.analysis_output(name, o, row).scalar(); };
    if (experts.empty())
        return "The dataset names no experts, so there is nothing to transcend.";
    const auto e = values(f, name, "expert_reward", row);
    const auto best = static_cast<std::size_t>(std::max_element(e.begin(), e.end()) - e.begin());
    const bool yes = f.analysis_output(name, "transcends", row).int64s().at(0) != 0;
    const std::string at = "T = " + grokkit::table_number(scalar("best_temperature"), "%.4g");
    return std::string(yes ? "Transcends: " : "Does not transcend: ") + "the best mean reward, " +
           grokkit::table_number(scalar("best_reward"), "%.3f") + " at " + at + ", is " +
           grokkit::table_number(scalar("margin"), "%+.3f") + " against the best expert (" +
           experts[best] + ", " + grokkit::table_number(scalar("best_expert_reward"), "%.3f") +
           ")" +
           (yes ? ", and the intervals do not overlap."
                : "; transcending needs an interval wholly above the best expert's.");
}

bool has_output(const grokkit::run_file& f, const std::string& name, const char* output) {
    for (const auto& a : f.analyses())
        if (a.name == name)
            for (const auto& o : a.outputs)
                if (o.name == output)
                    return true;
    return false;
}

// Against rated opponents: the ratings at each temperature and the experts', a table and a chart.
void add_ratings(grokkit::report_section& s, const grokkit::run_file& f, const std::string& name,
                 std::size_t row, const std::vector<double>& t,
                 const std::vector<std::string>& experts) {
    const auto opponents = f.analysis_output(name, "opponent", row).texts();
    const auto opponent_rating = values(f, name, "opponent_rating", row);
    const auto score = values(f, name, "opponent_score", row);
    const auto r = values(f, name, "rating", row), rd = values(f, name, "rating_deviation", row);
    const auto elo = values(f, name, "elo", row), lo = values(f, name, "elo_lower", row),
               hi = values(f, name, "elo_upper", row);
    grokkit::report_table table;
    table.header = {"T", "Glicko-2 (RD)", "Elo [95% interval]"};
    for (std::size_t o = 0; o < opponents.size(); ++o)
        table.header.push_back("score vs " + opponents[o] + " (" +
                               grokkit::table_number(opponent_rating[o], "%.0f") + ")");
    std::vector<double> glicko_lo, glicko_hi;
    for (std::size_t i = 0; i < t.size(); ++i) {
        table.rows.push_back({grokkit::table_number(t[i], "%.4g"),
                              grokkit::table_number(r[i], "%.0f") + " (" +
                                  grokkit::table_number(rd[i], "%.0f") + ")",
                              grokkit::table_number(elo[i], "%.0f") + " [" +
                                  grokkit::table_number(lo[i], "%.0f") + ", " +
                                  grokkit::table_number(hi[i], "%.0f") + "]"});
        for (std::size_t o = 0; o < opponents.size(); ++o)
            table.rows.back().push_back(
                grokkit::table_number(score[i * opponents.size() + o], "%.2f"));
        glicko_lo.push_back(r[i] - 1.96 * rd[i]);
        glicko_hi.push_back(r[i] + 1.96 * rd[i]);
    }
    s.tables.push_back(std::move(table));
    grokkit::report_table e;
    e.header = {"expert", "Glicko-2 (RD)", "Elo [95% interval]"};
    const auto er = values(f, name, "expert_rating", row),
               erd = values(f, name, "expert_rating_deviation", row),
               eelo = values(f, name, "expert_elo", row),
               elo_lo = values(f, name, "expert_elo_lower", row),
               elo_hi = values(f, name, "expert_elo_upper", row);
    for (std::size_t k = 0; k < experts.size(); ++k)
        e.rows.push_back({experts[k],
                          grokkit::table_number(er[k], "%.0f") + " (" +
                              grokkit::table_number(erd[k], "%.0f") + ")",
                          grokkit::table_number(eelo[k], "%.0f") + " [" +
                              grokkit::table_number(elo_lo[k], "%.0f") + ", " +
                              grokkit::table_number(elo_hi[k], "%.0f") + "]"});
    if (!experts.empty())
        s.tables.push_back(std::move(e));
    std::vector<grokkit::chart_series> lines{
        {"model, Glicko-2 ± 1.96 RD", t, r, glicko_lo, glicko_hi}};
    for (std::size_t k = 0; k < experts.size(); ++k)
        lines.push_back({experts[k], t, std::vector<double>(t.size(), er[k])});
    for (std::size_t o = 0; o < opponents.size(); ++o)
        lines.push_back({opponents[o], t, std::vector<double>(t.size(), opponent_rating[o])});
    grokkit::line_chart_options opt;
    opt.x_title = "temperature T";
    opt.y_title = "Glicko-2 rating";
    opt.log_x = true;
    opt.symlog_constant = 0.001;
    s.charts.push_back(grokkit::line_chart("Rating against temperature (experts and opponents as "
                                           "level lines)",
                                           lines, opt));
}

// The episodes' records of one row as one file to save: PGN when they are games.
grokkit::report_download records_file(const grokkit::run_file& f, const std::string& name,
                                      std::size_t row, std::int64_t step) {
    const auto records = f.analysis_output(name, "episode_record", row).texts();
    grokkit::report_download d;
    const bool pgn = !records.empty() && records.front().rfind("[", 0) == 0;
    for (const auto& r : records) {
        d.content += r;
        if (!pgn)
            d.content += '\n';
    }
    const std::string stem = name + "-step" + std::to_string(step);
    d.file_name = stem + (pgn ? ".pgn" : ".txt");
    d.media_type = pgn ? "application/x-chess-pgn" : "text/plain";
    d.label = "Every episode of step " + std::to_string(step) + " (" +
              std::to_string(records.size()) + (pgn ? " games, PGN)" : " records)");
    return d;
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Low-temperature sampling (" + name + ")";
    const auto steps = f.analysis_steps(name);
    if (steps.empty()) {
        s.notes.push_back("No checkpoint analysed yet.");
        return s;
    }
    const std::size_t last = steps.size() - 1;
    const std::string mode = f.analysis_output(name, "mode", last).text();
    const auto experts = f.analysis_output(name, "expert", last).texts();
    const auto references = f.analysis_output(name, "reference", last).texts();
    s.notes.push_back(
        "The model's actions are sampled at each temperature T (p ∝ exp(logit / T), greedy at "
        "0) and scored by " +
        std::string(mode == "oracle" ? "the dataset's known reward of each action in its states"
                                     : "playing the dataset's episodes") +
        ", with 95% intervals; the experts that generated the training data are measured the "
        "same way. Zhang et al. (2024): at low temperature the model is a majority vote of its "
        "experts, and beats them all when their errors are diverse.");
    s.notes.push_back("At step " + std::to_string(steps[last]) + ": " +
                      verdict_text(f, name, last, experts));

    const auto t = values(f, name, "temperature", last);
    const auto mean = values(f, name, "reward", last), lo = values(f, name, "reward_lower", last),
               hi = values(f, name, "reward_upper", last);
    const auto above = f.analysis_output(name, "above_experts", last).int64s();
    const auto refs = values(f, name, "reference_reward", last);
    grokkit::report_table table;
    table.header = {"T", "model reward [95% interval]", "n"};
    for (const auto& r : references)
        table.header.push_back(r);
    if (!experts.empty())
        table.header.push_back("above the best expert");
    const auto scored = f.analysis_output(name, "scored", last).int64s();
    const auto aborted = f.analysis_output(name, "aborted", last).int64s();
    for (std::size_t i = 0; i < t.size(); ++i) {
        table.rows.push_back(
            {grokkit::table_number(t[i], "%.4g"), with_interval(mean[i], lo[i], hi[i]),
             std::to_string(scored[i]) +
                 (aborted[i] ? " (" + std::to_string(aborted[i]) + " aborted)" : std::string())});
        for (std::size_t r = 0; r < references.size(); ++r)
            table.rows.back().push_back(grokkit::table_number(refs[r * t.size() + i], "%.3f"));
        if (!experts.empty())
            table.rows.back().push_back(above[i] ? "yes" : "no");
    }
    s.tables.push_back(std::move(table));
    if (!experts.empty()) {
        grokkit::report_table e;
        e.header = {"expert", "reward [95% interval]"};
        const auto em = values(f, name, "expert_reward", last),
                   el = values(f, name, "expert_lower", last),
                   eu = values(f, name, "expert_upper", last);
        for (std::size_t k = 0; k < experts.size(); ++k)
            e.rows.push_back({experts[k], with_interval(em[k], el[k], eu[k])});
        s.tables.push_back(std::move(e));
    }

    std::vector<grokkit::chart_series> lines{{"model", t, mean, lo, hi}};
    for (std::size_t r = 0; r < references.size(); ++r)
        lines.push_back({references[r],
                         t,
                         std::vector<double>(refs.begin() + static_cast<long>(r * t.size()),
                                             refs.begin() + static_cast<long>((r + 1) * t.size())),
                         {},
                         {}});
    const auto em = values(f, name, "expert_reward", last);
    for (std::size_t k = 0; k < experts.size(); ++k)
        lines.push_back({experts[k], t, std::vector<double>(t.size(), em[k]), {}, {}});
    grokkit::line_chart_options o;
    o.x_title = "temperature T";
    o.y_title = "mean reward";
    o.log_x = true;
    o.symlog_constant = 0.001;
    s.charts.push_back(grokkit::line_chart(
        "Reward against temperature at step " + std::to_string(steps[last]), lines, o));
    if (has_output(f, name, "rating"))
        add_ratings(s, f, name, last, t, experts);
    if (has_output(f, name, "episode_record"))
        s.downloads.push_back(records_file(f, name, last, steps[last]));
    if (steps.size() > 1) {
        grokkit::report_table by_step;
        by_step.header = {"step", "best T", "best reward", "margin", "transcends"};
        for (std::size_t r = 0; r < steps.size(); ++r) {
            const auto v = [&](const char* out) {
                return f.analysis_output(name, out, r).scalar();
            };
            by_step.rows.push_back(
                {std::to_string(steps[r]), grokkit::table_number(v("best_temperature"), "%.4g"),
                 grokkit::table_number(v("best_reward"), "%.3f"),
                 grokkit::table_number(v("margin"), "%+.3f"),
                 f.analysis_output(name, "transcends", r).int64s().at(0) ? "yes" : "no"});
        }
        s.tables.push_back(std::move(by_step));
    }
    return s;
}

} // namespace low_temperature
