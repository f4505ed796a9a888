// Parameter initialisers; see init.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/init.hpp>
#include <grokkit/rng.hpp>

#include <cmath>

namespace grokkit::init {

void normal(std::span<float> values, double std_dev, std::uint64_t seed, std::uint64_t stream) {
    rng r(seed, "init", stream);
    for (float& v : values) {
        v = static_cast<float>(std_dev * r.normal());
    }
}

void uniform(std::span<float> values, double bound, std::uint64_t seed, std::uint64_t stream) {
    rng r(seed, "init", stream);
    for (float& v : values) {
        v = static_cast<float>(bound * (2.0 * r.uniform() - 1.0));
    }
}

void truncated_normal(std::span<float> values, double std_dev, std::uint64_t seed,
                      std::uint64_t stream) {
    rng r(seed, "init", stream);
    for (float& v : values) {
        // Rejection keeps 95.4% of draws, and the draw count depends on the seed alone.
        double z = r.normal();
        while (std::abs(z) >= 2.0) {
            z = r.normal();
        }
        v = static_cast<float>(std_dev * z);
    }
}

} // namespace grokkit::init
