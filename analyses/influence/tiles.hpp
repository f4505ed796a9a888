// What every influence method shares: per-example gradients in blocks, the memory plan that
// sizes the blocks, and the stream that passes tiles of scores on.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "influence.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace influence::detail {

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Rows of each example's own loss gradient, in double: (count, P).
std::vector<double> gradients(grokkit::model& m, const grokkit::example_set& set,
                              const grokkit::loss_config& loss, std::size_t first,
                              std::size_t count);

/// gradients(), adding the seconds it took to `seconds`.
std::vector<double> timed_gradients(grokkit::model& m, const grokkit::example_set& set,
                                    const grokkit::loss_config& loss, std::size_t first,
                                    std::size_t count, double& seconds);

/// Each example's own loss.
std::vector<double> example_losses(grokkit::model& m, const grokkit::example_set& set,
                                   const grokkit::loss_config& loss);

double dot(const double* a, const double* b, std::size_t n);

/// Bytes of a per-example gradient as gradients() builds it: a float row and its double copy.
inline double gradient_bytes(std::size_t p) {
    return 12.0 * static_cast<double>(p);
}

/// Training examples per tile: as many as fit max_memory beside the method's fixed matrices
/// (`fixed` bytes), each column taking `per_column` bytes. Throws grokkit::error at key
/// max_memory when not even one column fits, saying how much the method needs and, in
/// `alternative`, what else would shrink it.
std::size_t columns_per_tile(const settings& s, double fixed, double per_column,
                             std::size_t n_train, const std::string& what, result& r,
                             const std::string& alternative = "fewer queries (max_queries)");

/// Fills `tile` (n_queries, count) with the scores of columns [first, first + count) and sets
/// their self-influence in the result.
using tile_producer =
    std::function<void(std::size_t first, std::size_t count, std::vector<double>& tile)>;

/// Runs `produce` over the training set in tiles of `columns`, in column order: each tile goes
/// to the ranking, then to the sink or into result::scores. Reports "training examples" done.
void stream_tiles(std::size_t columns, const tile_producer& produce, const score_sink& sink,
                  const progress_fn& progress, result& r);

/// tile (n_left, count) = alpha · left (n_left, P) · rightᵀ (P, count) + beta · tile.
void product_tile(const std::vector<double>& left, std::size_t n_left,
                  const std::vector<double>& right, std::size_t count, std::size_t p,
                  std::vector<double>& tile, double alpha = 1.0, double beta = 0.0);

/// gram += scale · Σ rowsᵀ rows over rows that arrive in blocks of any size, summed in runs of
/// `run_rows` rows fixed by their position in the stream (a remainder waits for the next block):
/// the order of the sums, and so every bit of the result, does not depend on the blocks.
class gram_accumulator {
  public:
    gram_accumulator(std::vector<double>& gram, std::size_t width, std::size_t run_rows,
                     double scale)
        : m_gram(gram), m_width(width), m_run(run_rows), m_scale(scale) {}
    /// Appends `n_rows` rows of `width` values.
    void add(const double* rows, std::size_t n_rows);
    /// Sums what is still waiting (call once, after the last block).
    void finish();

  private:
    void sum_rows(std::size_t first, std::size_t n_rows); // rows [first, first + n) of pending
    std::vector<double>& m_gram;
    std::size_t m_width, m_run;
    double m_scale;
    std::vector<double> m_pending;
};

/// λ: the damping itself, or relative to a mean eigenvalue, never taken below 0.
inline double damping_of(const settings& s, double mean_eigenvalue) {
    return s.relative_damping ? s.damping * std::max(mean_eigenvalue, 0.0) : s.damping;
}

/// Hutchinson's estimate of trace(A) / P with Rademacher probes.
double mean_eigenvalue_estimate(grokkit::curvature_product& product, std::uint64_t seed);

/// The other methods, each filling the result (lissa.cpp, ekfac.cpp, trak.cpp).
void lissa_solves(grokkit::curvature_product& product, grokkit::model& curvature_net,
                  grokkit::model& gradient_net, const grokkit::example_set& train,
                  const grokkit::loss_config& loss, const std::vector<double>& regulariser,
                  const std::vector<double>& query_grads, const settings& s, result& r,
                  const score_sink& sink, const progress_fn& progress);
void ekfac_scores(grokkit::model& curvature_net, grokkit::model& gradient_net,
                  const grokkit::example_set& train, const grokkit::loss_config& loss,
                  const std::vector<double>& regulariser, const std::vector<double>& query_grads,
                  const settings& s, result& r, const score_sink& sink,
                  const progress_fn& progress);
void trak_scores(grokkit::model& gradient_net, const grokkit::example_set& train,
                 const grokkit::example_set& queries, const grokkit::loss_config& loss,
                 const std::vector<double>& regulariser, const settings& s, result& r,
                 const score_sink& sink, const progress_fn& progress);

} // namespace influence::detail
