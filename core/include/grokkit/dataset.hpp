// The dataset plugin interface.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/plugin.hpp>

#include <cstdint>

namespace grokkit {

/// A dataset plugin. After its parameters are assigned the host calls spec(), then generate().
class GROKKIT_VISIBLE dataset : public plugin_object {
  public:
    /// The inputs and targets this dataset produces with its current parameters.
    virtual input_spec spec() const = 0;
    /// Builds the split; a pure function of the parameters and `seed` (the run seed).
    virtual dataset_split generate(std::uint64_t seed) const = 0;
};

} // namespace grokkit
