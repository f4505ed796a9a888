// The gaussian_points dataset: points in R^d from a centred normal, ball or cube, optionally
// labelled by a rule, for checking hull tests against theory and for the interpolation regime.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/dataset.hpp>

#include <cstdint>
#include <string>

namespace gaussian_points {

/// The parameters; the defaults here are the only ones (declare() binds these fields).
struct params {
    std::int64_t dim = 16;
    std::int64_t n_points = 2000;
    std::string distribution = "normal";
    double scale = 1.0;
    double train_fraction = 0.5;
    std::string labels = "halfspace";
    double label_noise = 0.0;
};

/// n_points points x in R^dim, drawn independently: N(0, scale² I) ("normal"), uniform in the
/// ball of radius `scale` ("ball"), or uniform in the cube [-scale, scale]^dim ("cube"). All
/// three are symmetric about the origin, as Wendel's theorem needs. Labels: "none" (one class),
/// "halfspace" (x·w > 0 for a unit w drawn from the seed: 2 classes), or "radius" (|x| above
/// the median radius of the distribution, estimated from the points: 2 classes).
class dataset_impl : public grokkit::dataset {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    grokkit::dataset_split generate(std::uint64_t seed) const override;

  private:
    params m_params;
};

} // namespace gaussian_points
