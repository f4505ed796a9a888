// The influence analysis: influence scores of every training example on chosen queries,
// self-influence (a memorisation score) and the top proponents and opponents of each query, per
// checkpoint; see influence.hpp for the sign and scale.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "influence.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace influence {

struct params {
    std::string method = "cg";
    std::string curvature = "hessian";
    double damping = 1e-3;
    bool relative_damping = false;
    std::string queries = "test";
    std::vector<std::int64_t> query_positions;
    std::string query_index;
    std::int64_t max_queries = 100;
    std::int64_t top_k = 10;
    bool self_influence = true;
    double cg_tolerance = 1e-5;
    std::int64_t cg_max_iterations = 1000;
    double max_memory = 1024.0; ///< MiB
    double lissa_scale = 0.0;
    std::int64_t lissa_depth = 1000;
    std::int64_t lissa_repeats = 1;
    std::int64_t lissa_batch_size = 128;
    std::int64_t trak_dimension = 1024;
};

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
    /// Positions in the query split of this checkpoint's queries, ascending.
    std::vector<std::int64_t> pick_queries(grokkit::analysis_context& ctx) const;
    /// Rows of the per-query outputs: the most queries any checkpoint can have.
    std::size_t rows(const grokkit::analysis_context& ctx) const;
    /// Where the scores go: tiles of the used rows, and NaN for the unused ones.
    score_sink scores_to(grokkit::analysis_context& ctx, std::size_t used) const;
    void write(grokkit::analysis_context& ctx, const std::vector<std::int64_t>& picked,
               const result& r, double seconds_total) const;
};

} // namespace influence
