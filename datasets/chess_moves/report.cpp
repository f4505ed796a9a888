// chess_moves' section of `grokkit report`: the model's held-out move accuracy beside the two
// baselines it must be read against.
// SPDX-License-Identifier: Apache-2.0
#include "chess_moves.hpp"

#include <cmath>

namespace chess_moves {

move_baselines baselines(const std::vector<std::int64_t>& mask_offsets,
                         const std::vector<std::int64_t>& expert_agrees) {
    move_baselines b;
    double uniform = 0;
    for (std::size_t i = 0; i + 1 < mask_offsets.size(); ++i)
        uniform += 1.0 / double(mask_offsets[i + 1] - mask_offsets[i]);
    b.n_positions = mask_offsets.empty() ? 0 : std::int64_t(mask_offsets.size() - 1);
    b.uniform = b.n_positions ? uniform / double(b.n_positions) : NAN;
    std::int64_t agreed = 0;
    for (const std::int64_t a : expert_agrees)
        if (a >= 0) {
            ++b.n_known;
            agreed += a;
        }
    b.expert_agreement = b.n_known ? double(agreed) / double(b.n_known) : NAN;
    return b;
}

namespace {

std::vector<std::int64_t> as_vector(const xt::xarray<std::int64_t>& a) {
    return std::vector<std::int64_t>(a.begin(), a.end());
}

} // namespace

grokkit::report_section dataset_impl::report(const grokkit::run_file& f, const std::string&) const {
    grokkit::report_section s;
    s.title = "Dataset chess_moves: held-out move accuracy";
    const auto b = baselines(as_vector(f.dataset_record("test/mask_offsets")),
                             as_vector(f.dataset_record("test_expert_agrees")));
    const auto steps = f.metric_steps();
    const auto accuracy = f.metric("test_accuracy");
    const double last = accuracy.empty() ? NAN : accuracy.back();
    s.notes.push_back(std::to_string(f.dataset_attribute("n_games")) + " games (" +
                      std::to_string(f.dataset_attribute("n_train_games")) +
                      " to train on), split by game; " + std::to_string(b.n_positions) +
                      " held-out positions. Games: " + f.dataset_text("games_file") + ", SHA-256 " +
                      f.dataset_text("games_sha256") + ".");
    grokkit::report_table t{{"predictor", "held-out accuracy", "over"}, {}};
    const std::string positions = std::to_string(b.n_positions) + " positions";
    t.rows.push_back({"the model (argmax over legal moves), step " +
                          (steps.empty() ? std::string("–") : std::to_string(steps.back())),
                      grokkit::table_number(last, "%.4f"), positions});
    t.rows.push_back(
        {"uniform over the legal moves", grokkit::table_number(b.uniform, "%.4f"), positions});
    if (b.n_known)
        t.rows.push_back({"the expert asked again (its self-agreement)",
                          grokkit::table_number(b.expert_agreement, "%.4f"),
                          std::to_string(b.n_known) + " engine plies"});
    else
        s.notes.push_back("No expert self-agreement: the games hold no ExpertAgreement tags "
                          "(a user's PGN), so only the uniform baseline applies.");
    s.tables.push_back(std::move(t));
    const std::vector<double> x(steps.begin(), steps.end());
    std::vector<grokkit::chart_series> series{
        {"model", x, accuracy},
        {"uniform over legal", x, std::vector<double>(x.size(), b.uniform)}};
    if (b.n_known)
        series.push_back(
            {"expert self-agreement", x, std::vector<double>(x.size(), b.expert_agreement)});
    s.charts.push_back(grokkit::line_chart("Held-out move accuracy", series,
                                           {"step", "accuracy", true, false, {}}));
    return s;
}

} // namespace chess_moves
