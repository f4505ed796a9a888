// gaussian_regression: every draw from grokkit::rng, so a run seed gives the same data anywhere.
// SPDX-License-Identifier: Apache-2.0
#include "gaussian_regression.hpp"

#include <grokkit/error.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace gaussian_regression {

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("dim", p.dim, "d: inputs x lie in R^d (dense features)").at_least(1).at_most(16384);
    ps.add("n_train", p.n_train, "n: training examples").at_least(1).at_most(1e6);
    ps.add("n_test", p.n_test, "test examples").at_least(1).at_most(1e6);
    ps.add("covariance", p.covariance,
           "isotropic: x ~ N(0, I); power_law: independent coordinates with variances "
           "proportional to j^-decay, scaled to mean 1")
        .one_of({"isotropic", "power_law"});
    ps.add("decay", p.decay, "power_law: the exponent of the variances j^-decay").at_least(0);
    ps.add("teacher", p.teacher,
           "linear: f(x) = x.beta, |beta| = signal; random_network: a fixed random ReLU "
           "network of teacher_width units, E f^2 about signal^2")
        .one_of({"linear", "random_network"});
    ps.add("teacher_width", p.teacher_width, "random_network: hidden units of the teacher")
        .at_least(1)
        .at_most(100000);
    ps.add("signal", p.signal, "r: the teacher's signal norm (|beta|, or the rms of f)")
        .at_least(0);
    ps.add("noise", p.noise, "sigma: standard deviation of the Gaussian noise added to f(x)")
        .at_least(0);
    ps.add("test_noise", p.test_noise,
           "add the noise to the test targets too (else their mean squared error is the excess "
           "risk E[(f_hat - f)^2])");
    ps.add("task", p.task,
           "regression: the targets f(x) + noise; classification: the label 1 when f(x) + "
           "noise > 0, else 0")
        .one_of({"regression", "classification"});
    ps.add("label_noise", p.label_noise,
           "classification: share of training labels flipped to the other class")
        .at_least(0)
        .below(1);
    ps.check("label_noise", "label_noise = 0 with task = \"regression\" (noise is its noise)",
             [&p]() -> std::optional<std::string> {
                 if (p.task == "regression" && p.label_noise > 0)
                     return "label noise with real-valued targets";
                 return std::nullopt;
             });
}

grokkit::input_spec dataset_impl::spec() const {
    grokkit::input_spec s;
    s.n_features = static_cast<std::size_t>(m_params.dim);
    if (m_params.task == "regression")
        s.n_targets = 1;
    else
        s.n_classes = 2;
    return s;
}

namespace {

// The standard deviation of each coordinate.
std::vector<double> coordinate_scales(const params& p) {
    const auto d = static_cast<std::size_t>(p.dim);
    std::vector<double> var(d, 1.0);
    if (p.covariance == "power_law") {
        for (std::size_t j = 0; j < d; ++j)
            var[j] = std::pow(static_cast<double>(j + 1), -p.decay);
        const double mean = std::accumulate(var.begin(), var.end(), 0.0) / static_cast<double>(d);
        for (double& v : var)
            v /= mean;
    }
    for (double& v : var)
        v = std::sqrt(v);
    return var;
}

// A teacher f drawn from the seed: the linear map, or the random ReLU network.
class teacher_function {
  public:
    teacher_function(const params& p, std::uint64_t seed)
        : m_d(static_cast<std::size_t>(p.dim)), m_linear(p.teacher == "linear") {
        grokkit::rng r(seed, "teacher");
        const std::size_t units = m_linear ? 1 : static_cast<std::size_t>(p.teacher_width);
        m_w.resize(units * m_d);
        m_a.assign(units, 1.0);
        for (double& w : m_w)
            w = r.normal() / (m_linear ? 1.0 : std::sqrt(static_cast<double>(m_d)));
        if (m_linear) { // β uniform on the sphere of radius `signal`
            const double norm =
                std::sqrt(std::inner_product(m_w.begin(), m_w.end(), m_w.begin(), 0.0));
            m_a[0] = norm > 0 ? p.signal / norm : 0.0;
            return;
        }
        double sum_a2 = 0.0;
        for (double& a : m_a) {
            a = r.normal();
            sum_a2 += a * a;
        }
        // Var relu(z) = 1/2 − 1/(2π) for z ~ N(0, 1); distinct units are nearly uncorrelated.
        const double unit_variance = 0.5 - 0.5 / M_PI;
        const double c = p.signal / std::sqrt(sum_a2 * unit_variance);
        for (double& a : m_a)
            a *= c;
    }
    double operator()(const float* x) const {
        double f = 0.0;
        for (std::size_t k = 0; k < m_a.size(); ++k) {
            double z = 0.0;
            for (std::size_t j = 0; j < m_d; ++j)
                z += m_w[k * m_d + j] * x[j];
            f += m_a[k] * (m_linear ? z : std::max(z, 0.0) - 1.0 / std::sqrt(2.0 * M_PI));
        }
        return f;
    }

  private:
    std::size_t m_d;
    bool m_linear;
    std::vector<double> m_w; // (units, d)
    std::vector<double> m_a; // (units)
};

// Points [first, first + n) into `s`: features, and targets or labels.
grokkit::example_set draw_set(const params& p, std::uint64_t seed, std::size_t first, std::size_t n,
                              bool noisy, const teacher_function& f) {
    const auto d = static_cast<std::size_t>(p.dim);
    const std::vector<double> scales = coordinate_scales(p);
    const bool regression = p.task == "regression";
    grokkit::example_set s;
    s.features = xt::zeros<float>({n, d});
    s.targets = xt::zeros<float>({regression ? n : 0, std::size_t{regression ? 1u : 0u}});
    s.labels = xt::zeros<std::int32_t>({regression ? 0 : n});
    for (std::size_t i = 0; i < n; ++i) {
        grokkit::rng r(seed, "points", first + i);
        float* x = s.features.data() + i * d;
        for (std::size_t j = 0; j < d; ++j)
            x[j] = static_cast<float>(scales[j] * r.normal());
        const double eps = grokkit::rng(seed, "noise", first + i).normal();
        const double y = f(x) + (noisy ? p.noise * eps : 0.0);
        if (regression)
            s.targets(i, 0) = static_cast<float>(y);
        else
            s.labels(i) = y > 0 ? 1 : 0;
    }
    return s;
}

} // namespace

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    grokkit::check_declared(*this, "gaussian_regression.generate"); // for direct callers
    const params& p = m_params;
    const auto n_train = static_cast<std::size_t>(p.n_train);
    const auto n_test = static_cast<std::size_t>(p.n_test);
    const teacher_function f(p, seed);
    grokkit::dataset_split out;
    out.train = draw_set(p, seed, 0, n_train, true, f);
    // Classification keeps its test labels' noise: a label is the sign of a noisy score.
    out.test = draw_set(p, seed, n_train, n_test, p.test_noise || p.task != "regression", f);
    if (p.task == "classification") {
        const auto noise = grokkit::add_label_noise(out.train, p.label_noise, seed, 2);
        out.records = {
            grokkit::make_record("noisy_index", "training positions with a flipped label",
                                 noise.positions),
            grokkit::make_record("true_label", "their labels before", noise.true_labels)};
    }
    out.attributes = {{"dim", p.dim}};
    return out;
}

double dataset_impl::least_squares_risk(const grokkit::dataset_split& data, double ridge) const {
    const params& p = m_params;
    if (p.covariance != "isotropic" || p.teacher != "linear" || p.task != "regression" ||
        data.train.size() == 0)
        return std::numeric_limits<double>::quiet_NaN();
    const double gamma =
        static_cast<double>(data.train.features.shape(1)) / static_cast<double>(data.train.size());
    const double risk = grokkit::isotropic_ridge_risk(gamma, ridge, p.signal, p.noise);
    return risk + (p.test_noise ? p.noise * p.noise : 0.0);
}

} // namespace gaussian_regression
