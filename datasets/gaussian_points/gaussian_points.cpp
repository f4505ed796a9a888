// gaussian_points: every draw from grokkit::rng, so a run seed gives the same points anywhere.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_points.hpp"

#include <grokkit/error.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace gaussian_points {

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("dim", p.dim, "d: the points lie in R^d (dense features)").at_least(1).at_most(4096);
    ps.add("n_points", p.n_points, "points drawn, train and test together")
        .at_least(2)
        .at_most(1e7);
    ps.add("distribution", p.distribution,
           "normal: N(0, scale^2 I); ball: uniform in the ball of radius scale; cube: uniform "
           "in [-scale, scale]^d (all symmetric about 0)")
        .one_of({"normal", "ball", "cube"});
    ps.add("scale", p.scale, "standard deviation (normal), radius (ball) or half-side (cube)")
        .above(0);
    ps.add("train_fraction", p.train_fraction,
           "share of points to train on: n_train = floor(train_fraction * n_points)")
        .above(0)
        .below(1);
    ps.add("labels", p.labels,
           "none: one class; halfspace: x.w > 0 for a unit w drawn from the seed; radius: |x| "
           "above the points' median radius")
        .one_of({"none", "halfspace", "radius"});
    ps.add("label_noise", p.label_noise, "share of training labels replaced by the other class")
        .at_least(0)
        .below(1);
    ps.check("label_noise", "label_noise = 0 with labels = \"none\" (one class)",
             [&p]() -> std::optional<std::string> {
                 if (p.labels == "none" && p.label_noise > 0)
                     return "a noisy label needs a second class";
                 return std::nullopt;
             });
}

grokkit::input_spec dataset_impl::spec() const {
    grokkit::input_spec s;
    s.n_features = static_cast<std::size_t>(m_params.dim);
    s.n_classes = m_params.labels == "none" ? 1 : 2;
    return s;
}

namespace {

// Point i (d values) into `x`, from its own stream so points do not depend on each other.
void draw_point(const params& p, std::uint64_t seed, std::size_t i, float* x) {
    const auto d = static_cast<std::size_t>(p.dim);
    grokkit::rng r(seed, "points", i);
    std::vector<double> v(d);
    if (p.distribution == "cube") {
        for (auto& c : v)
            c = (2.0 * r.uniform() - 1.0) * p.scale;
    } else {
        double norm2 = 0;
        for (auto& c : v) {
            c = r.normal();
            norm2 += c * c;
        }
        // Uniform in the ball: a uniform direction, radius scale * U^(1/d).
        const double f = p.distribution == "ball"
                             ? p.scale * std::pow(r.uniform(), 1.0 / double(d)) / std::sqrt(norm2)
                             : p.scale;
        for (auto& c : v)
            c *= f;
    }
    std::copy(v.begin(), v.end(), x);
}

// Labels of the points (n, d) by the rule; the halfspace's normal comes from the seed.
std::vector<std::int32_t> label_points(const params& p, std::uint64_t seed,
                                       const xt::xtensor<float, 2>& x) {
    const std::size_t n = x.shape()[0], d = x.shape()[1];
    std::vector<std::int32_t> y(n, 0);
    if (p.labels == "none")
        return y;
    std::vector<double> score(n);
    if (p.labels == "halfspace") {
        grokkit::rng r(seed, "halfspace");
        std::vector<double> w(d);
        for (auto& c : w)
            c = r.normal();
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < d; ++j)
                score[i] += w[j] * x(i, j);
    } else {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < d; ++j)
                score[i] += double(x(i, j)) * x(i, j);
        std::vector<double> sorted = score;
        std::nth_element(sorted.begin(), sorted.begin() + long(n / 2), sorted.end());
        const double median = sorted[n / 2];
        for (auto& s : score)
            s -= median;
    }
    for (std::size_t i = 0; i < n; ++i)
        y[i] = score[i] > 0 ? 1 : 0;
    return y;
}

grokkit::example_set examples(const xt::xtensor<float, 2>& x, const std::vector<std::int32_t>& y,
                              const std::vector<std::size_t>& index) {
    const std::size_t d = x.shape()[1];
    grokkit::example_set s;
    s.features = xt::zeros<float>({index.size(), d});
    s.labels = xt::zeros<std::int32_t>({index.size()});
    for (std::size_t i = 0; i < index.size(); ++i) {
        std::copy_n(x.data() + index[i] * d, d, s.features.data() + i * d);
        s.labels(i) = y[index[i]];
    }
    return s;
}

} // namespace

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    grokkit::check_declared(*this, "gaussian_points.generate"); // for direct callers
    const params& p = m_params;
    const auto n = static_cast<std::size_t>(p.n_points), d = static_cast<std::size_t>(p.dim);
    xt::xtensor<float, 2> x = xt::zeros<float>({n, d});
    for (std::size_t i = 0; i < n; ++i)
        draw_point(p, seed, i, x.data() + i * d);
    const auto y = label_points(p, seed, x);
    const auto n_train = static_cast<std::size_t>(std::floor(p.train_fraction * double(n)));
    if (n_train == 0 || n_train == n)
        throw grokkit::error(grokkit::diagnostic{
            "gaussian_points.generate", "train_fraction",
            "keeps " + std::to_string(n_train) + " of " + std::to_string(n) + " points to train",
            "a fraction that leaves points in both sets", 0, 0});
    const auto perm = grokkit::rng(seed, "split").permutation(n);
    const std::vector<std::size_t> train_index(perm.begin(), perm.begin() + long(n_train));
    const std::vector<std::size_t> test_index(perm.begin() + long(n_train), perm.end());
    grokkit::dataset_split out;
    out.train = examples(x, y, train_index);
    out.test = examples(x, y, test_index);
    const auto noise = grokkit::add_label_noise(out.train, p.label_noise, seed, spec().n_classes);
    out.records = {
        grokkit::make_record("train_index", "point of each training example", train_index),
        grokkit::make_record("test_index", "point of each test example", test_index),
        grokkit::make_record("noisy_index", "training positions with a replaced label",
                             noise.positions),
        grokkit::make_record("true_label", "their labels before", noise.true_labels)};
    out.attributes = {{"dim", p.dim}, {"n_points", p.n_points}};
    return out;
}

} // namespace gaussian_points
