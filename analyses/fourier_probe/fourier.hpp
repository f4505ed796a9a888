// Fourier analysis over Z_p and Walsh analysis over {±1}^n: the science of the fourier_probe.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fourier_probe {

/// Orthonormal Fourier basis of functions on Z_p, one basis vector per row (p, p): row 0 is
/// 1/√p; rows 2k−1 and 2k are √(2/p)·cos(2πkx/p) and √(2/p)·sin(2πkx/p), k = 1..⌊(p−1)/2⌋;
/// for even p the last row is (−1)^x/√p (its sine is zero). As in Nanda et al. (2023).
xt::xtensor<double, 2> fourier_basis(std::size_t p);

/// Frequency of basis row `row` (0 for the constant).
std::size_t frequency_of_row(std::size_t row);

/// Number of non-constant frequencies, ⌊p/2⌋.
inline std::size_t n_frequencies(std::size_t p) {
    return p / 2;
}

/// Norm of the columns of `table` (p, d) in each frequency: result[k] = ‖(B·table) rows of
/// frequency k‖, k = 0..⌊p/2⌋. Used for embeddings (rows are tokens).
std::vector<double> frequency_norms(const xt::xtensor<double, 2>& basis,
                                    const xt::xtensor<double, 2>& table);

/// Per-neuron 2-D Fourier energy of activations `act` (p*p, n) over the grid (a, b), row a*p+b:
/// result (n, K+1) with column 0 the constant (0, 0) term and column k the energy of every
/// coefficient (i, j) ≠ (0, 0) in which frequency k occurs (on a, on b, or both).
xt::xtensor<double, 2> neuron_frequency_energy(const xt::xtensor<double, 2>& basis,
                                               const xt::xtensor<double, 2>& act);

/// Gini coefficient of non-negative values (0: all equal, → 1: all mass on one).
double gini(const std::vector<double>& x);

/// Logits (n, p) over examples with true answers `answer` (n): the components along the
/// "answer directions" cos(w_k(y−c)) and sin(w_k(y−c)), w_k = 2πk/p, of Nanda et al.
struct answer_projection {
    std::vector<double> cos_coef; ///< per frequency k = 0..K (entry 0 unused)
    std::vector<double> sin_coef;
    std::vector<double> energy; ///< squared norm of the logits' projection on frequency k
    double total_energy = 0.0;  ///< squared norm of the logits after removing each row's mean
};
answer_projection project_on_answers(const xt::xtensor<double, 2>& logits,
                                     const std::vector<std::int32_t>& answer, std::size_t p);

/// The logits' projection on the answer directions of `frequencies` (n, p).
xt::xtensor<double, 2> restricted_logits(const answer_projection& proj,
                                         const std::vector<std::int32_t>& answer,
                                         const std::vector<std::size_t>& frequencies,
                                         std::size_t p);

/// Key frequencies: by decreasing energy, the fewest whose energy reaches `fraction` of all
/// non-constant energy, at most `max_count`.
std::vector<std::size_t> key_frequencies(const answer_projection& proj, double fraction,
                                         std::size_t max_count);

/// Mean softmax cross-entropy of logits (n, c) against labels, in double.
double mean_cross_entropy(const xt::xtensor<double, 2>& logits, const std::int32_t* labels);

/// In-place fast Walsh–Hadamard transform of f over {0,1}^n (size 2^n), normalised so the
/// result holds f̂(S) = E_x[f(x)·χ_S(x)] with χ_S(x) = (−1)^{|x∧S|}.
void walsh_hadamard(std::vector<double>& f);

} // namespace fourier_probe
