// The sparse parity dataset: random n-bit inputs labelled with the XOR of k hidden bits.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/dataset.hpp>
#include <grokkit/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sparse_parity {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t n_bits = 30;
    std::int64_t k = 3;
    std::int64_t n_examples = 1200;
    double train_fraction = 0.75;
    std::string encoding = "pm1";
    double label_noise = 0.0;
    std::int64_t split_seed = -1;
    std::vector<std::int64_t> relevant_bits; // empty: drawn from the run seed
};

/// The rules across keys that `p` breaks, as diagnostics located at `where`; empty when none.
std::vector<grokkit::diagnostic> cross_key_problems(const params& p, const std::string& where);

/// Barak et al. (2022) data: n_examples uniform inputs in {0, 1}^n_bits, each labelled with the
/// parity of its k relevant bits, as dense features (pm1: 1 - 2b, 01: b).
class dataset_impl : public grokkit::dataset {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    /// Throws grokkit::error when the parameters break a rule (direct callers skip validation).
    grokkit::dataset_split generate(std::uint64_t seed) const override;

  private:
    params m_params;
};

} // namespace sparse_parity
