// The hull_test analysis: for each query, whether it lies in the convex hull of the training
// points in one space (the inputs or a hidden representation), with its L1 distance and a
// checked certificate; the model's accuracy and loss inside versus outside; and the share of
// queries inside over a grid of dimensions and reference sizes.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hull.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hull_test {

struct params {
    std::string space = "input";
    std::string queries = "test";
    std::string query_index;
    std::int64_t max_queries = 1000;
    std::vector<std::int64_t> dimensions;
    std::vector<std::int64_t> reference_sizes;
    std::string projection = "pca";
    bool screens = true;
    double tolerance = 1e-7;
    std::string method = "generation";
    bool certificates = false;
};

/// Points of one space as rows: n rows of d doubles.
struct point_set {
    std::vector<double> x;
    std::size_t n = 0, d = 0;
    const double* row(std::size_t i) const { return x.data() + i * d; }
};

/// The principal axes of a point set: its mean and covariance eigenvectors, largest first.
struct principal_axes {
    std::vector<double> mean, values, vectors; ///< vectors (d, d): column k is axis k
    std::size_t d = 0;
};

/// One query's answer as the outputs record it.
struct query_result {
    std::int64_t status = -1; ///< -1 not tested, 0 outside, 1 inside, 2 failed
    std::int64_t by = -1;     ///< -1 not tested, 0 LP, 1 bounding box, 2 earlier hyperplane
    double distance = 0, residual = 0, seconds = 0;
    int rounds = 0;
    std::size_t columns = 0;
    std::vector<std::int64_t> weight_index;
    std::vector<double> weight, hyperplane;
};

/// Answers queries[k] (rows of `q`) against `h` on `threads` threads, each a contiguous block
/// with its own screen; exclude[k] >= 0 leaves that reference point out (leave-one-out).
/// `tick` is called on the calling thread as queries finish (done, total).
std::vector<query_result> answer_all(const hull& h, const point_set& q,
                                     const std::vector<std::ptrdiff_t>& exclude, bool screens,
                                     bool keep_certificates, int threads,
                                     const std::function<void(std::size_t, std::size_t)>& tick);

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    /// Its section of `grokkit report` (report.cpp).
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

    params m_params;

  private:
    /// The query positions (into the query split) tested at this checkpoint.
    std::vector<std::int64_t> pick_queries(grokkit::analysis_context& ctx) const;
    /// Writes accuracy and loss inside and outside; returns whether each query is predicted
    /// right.
    std::vector<char> write_model_fit(grokkit::analysis_context& ctx,
                                      const std::vector<std::int64_t>& picked,
                                      const std::vector<query_result>& results);
    void write_grid(grokkit::analysis_context& ctx, const point_set& ref, const point_set& q,
                    const principal_axes* axes, const std::vector<std::int64_t>& picked,
                    const std::vector<query_result>& results, const std::vector<char>& correct);

    // space = "input" does not change between checkpoints: its answers are kept for the same
    // queries (not across processes; a resumed run computes them again). So are the grid's
    // verdicts; its accuracies are recomputed from each checkpoint's predictions.
    struct input_cache {
        std::vector<std::int64_t> picked;
        std::vector<query_result> results;
        std::vector<std::vector<std::int64_t>> grid_status; // per cell, per query
        std::vector<double> grid_seconds;                   // per cell
        bool valid = false, grid_valid = false;
    } m_cache;
};

} // namespace hull_test
