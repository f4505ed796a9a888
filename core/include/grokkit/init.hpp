// Parameter initialisers shared by the models: each fills one tensor from its own random stream.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>

namespace grokkit::init {

// Every initialiser draws from rng(seed, "init", stream), one tensor per stream, so adding a
// parameter to a model never shifts another parameter's initial values.

/// N(0, std_dev²): PyTorch's nn.Embedding (std_dev 1) and Nanda's transformer.
void normal(std::span<float> values, double std_dev, std::uint64_t seed, std::uint64_t stream);

/// U(-bound, bound): PyTorch's nn.Linear weights and biases with bound = 1/sqrt(fan_in).
void uniform(std::span<float> values, double bound, std::uint64_t seed, std::uint64_t stream);

/// N(0, std_dev²) conditioned on |x| < 2 std_dev, as Haiku's TruncatedNormal(stddev): `std_dev`
/// is the untruncated one (the values' own std is 0.8796 std_dev). hk.Linear's default is
/// std_dev = 1/sqrt(fan_in); VarianceScaling(s) is std_dev = sqrt(s/fan_in) / 0.8796.
void truncated_normal(std::span<float> values, double std_dev, std::uint64_t seed,
                      std::uint64_t stream);

/// The std of a standard normal truncated to (-2, 2), Haiku's `distribution_stddev`.
inline constexpr double truncated_normal_std = 0.87962566103423978;

} // namespace grokkit::init
