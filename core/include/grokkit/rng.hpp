// Counter-based random numbers: every draw is a pure function of (seed, purpose, counter).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace grokkit {

/// A stream of draws keyed by (seed, purpose, stream). No hidden state beyond a counter, so a
/// resumed run re-creates any stream from the step alone; distributions are our own (std::
/// distributions are implementation-defined and normal_distribution caches a value).
class rng {
  public:
    /// `purpose` names what the draws are for ("split", "init", "batch", "noise").
    rng(std::uint64_t seed, std::string_view purpose, std::uint64_t stream = 0);

    std::uint64_t next_u64();
    /// Uniform in [0, 1) with 53 random bits.
    double uniform();
    /// Uniform integer in [0, n), unbiased.
    std::uint64_t below(std::uint64_t n);
    /// Standard normal (Box-Muller, one value per call, no cache).
    double normal();
    /// A uniformly random permutation of 0..n-1 (Fisher-Yates).
    std::vector<std::size_t> permutation(std::size_t n);

  private:
    std::uint64_t m_key;
    std::uint64_t m_counter = 0;
};

/// `k` of the indices 0..n-1 without replacement, drawn by rng(seed, purpose), in ascending
/// order (all n when k >= n): one rule for analyses that must pick the same sample (influence
/// and retraining pick their queries with purpose "influence queries" and the run seed).
std::vector<std::size_t> sample_sorted(std::uint64_t seed, std::string_view purpose, std::size_t n,
                                       std::size_t k);

/// 64-bit hash of a string (FNV-1a), stable across platforms; used to key purposes.
std::uint64_t hash_purpose(std::string_view purpose);

} // namespace grokkit
