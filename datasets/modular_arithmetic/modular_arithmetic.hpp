// The modular arithmetic dataset: all pairs (a, b) mod p labelled with a binary operation.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/dataset.hpp>

#include <cstdint>
#include <string>

namespace modular_arithmetic {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t modulus = 113;
    std::string operation = "a+b";
    double train_fraction = 0.3;
    std::int64_t split_seed = -1;
    double label_noise = 0.0;
    bool equals_token = false;
};

/// True when `n` is a prime number (trial division; n fits the modulus range).
bool is_prime(std::int64_t n);

/// Power et al. (2022) style data: every pair (a, b) with 0 <= a, b < p, labelled a ∘ b mod p.
class dataset_impl : public grokkit::dataset {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    /// Throws grokkit::error when the parameters leave the train set empty.
    grokkit::dataset_split generate(std::uint64_t seed) const override;

  private:
    params m_params;
};

} // namespace modular_arithmetic
