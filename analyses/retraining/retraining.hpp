// The retraining analysis: the ground truth influence estimates are judged by. At each
// checkpoint it retrains the run's model from its initialisation, with the run's training
// configuration, on the whole training set, on the set without each of chosen examples
// (leave-one-out), and on K random subsets (Feldman & Zhang 2020); from these it gives the
// actual leave-one-out changes of the queries' losses, Feldman & Zhang's memorisation and
// influence estimates, and the linear datamodeling score (LDS, Park et al. 2023) and
// leave-one-out Pearson of every influence analysis of the pipeline.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace retraining {

struct params {
    std::int64_t leave_one_out = 0;
    std::vector<std::int64_t> loo_positions;
    std::int64_t subsets = 0;
    double subset_fraction = 0.5;
    std::int64_t steps = 0;
    std::string queries = "test";
    std::int64_t max_queries = 100;
    std::vector<std::string> influence;
    std::int64_t workers = 0;
};

/// What one retrained model scored: each query's loss and correctness, each training example's
/// loss and correctness (the values of its work item, in this order).
struct scored_model {
    std::vector<double> query_loss, query_correct, train_loss, train_correct;

    std::vector<double> flat() const;
    static scored_model from_flat(const std::vector<double>& v, std::size_t n_queries,
                                  std::size_t n_train);
};

/// Spearman's rank correlation of a and b (average ranks for ties); NaN when either is constant
/// or they have fewer than 2 values.
double spearman(const std::vector<double>& a, const std::vector<double>& b);
/// Pearson's correlation; NaN when either is constant or they have fewer than 2 values.
double pearson(const std::vector<double>& a, const std::vector<double>& b);

/// Feldman & Zhang's estimate for each column j of `outcome` (K, n_cols) against membership
/// `in` (K, n_train): mean over the subsets holding i of outcome[k][j] minus the mean over those
/// without it, for every i: (n_train, n_cols) row-major; NaN where either group is empty.
std::vector<double> membership_difference(const std::vector<std::vector<bool>>& in,
                                          const std::vector<std::vector<double>>& outcome,
                                          std::size_t n_train);

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

    params m_params;

  private:
    /// The training positions left out one at a time.
    std::vector<std::size_t> loo_examples(std::size_t n_train, std::uint64_t seed) const;
};

} // namespace retraining
