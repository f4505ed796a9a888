// robustness: Jacobian norms from model::input_gradients, slopes along segments from forward
// passes, and the law of robustness' scale.
// SPDX-License-Identifier: Apache-2.0
#include "robustness.hpp"

#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace robustness {

namespace {

constexpr std::size_t rows_per_pass = 512; // bounds the (rows, d) buffers of one pass

} // namespace

std::vector<double> jacobian_norms(grokkit::model& net, const grokkit::example_set& set,
                                   std::size_t n_outputs) {
    const std::size_t n = set.size();
    std::vector<double> squared(n, 0.0);
    xt::xtensor<float, 2> weights, gradients;
    for (std::size_t first = 0; first < n; first += rows_per_pass) {
        const std::size_t count = std::min(rows_per_pass, n - first);
        const grokkit::batch b = grokkit::slice_batch(set, first, count);
        for (std::size_t c = 0; c < n_outputs; ++c) { // one output's gradient per pass
            weights = xt::zeros<float>({count, n_outputs});
            for (std::size_t i = 0; i < count; ++i)
                weights(i, c) = 1.0f;
            net.input_gradients(b, weights, gradients);
            for (std::size_t i = 0; i < count; ++i)
                for (std::size_t j = 0; j < gradients.shape(1); ++j)
                    squared[first + i] += double(gradients(i, j)) * gradients(i, j);
        }
    }
    for (double& s : squared)
        s = std::sqrt(s);
    return squared;
}

double largest_segment_slope(grokkit::model& net, const grokkit::example_set& train,
                             const std::vector<std::pair<std::size_t, std::size_t>>& pairs,
                             std::size_t points) {
    const std::size_t d = train.features.shape(1);
    const std::size_t per_pass = std::max<std::size_t>(1, rows_per_pass / points);
    double largest = 0.0;
    xt::xtensor<float, 2> x, logits;
    for (std::size_t first = 0; first < pairs.size(); first += per_pass) {
        const std::size_t count = std::min(per_pass, pairs.size() - first);
        x = xt::zeros<float>({count * points, d});
        std::vector<double> step(count);
        for (std::size_t s = 0; s < count; ++s) {
            const float* a = train.features.data() + pairs[first + s].first * d;
            const float* b = train.features.data() + pairs[first + s].second * d;
            double length = 0.0;
            for (std::size_t j = 0; j < d; ++j)
                length += double(b[j] - a[j]) * (b[j] - a[j]);
            step[s] = std::sqrt(length) / static_cast<double>(points - 1);
            for (std::size_t k = 0; k < points; ++k) {
                const float t = static_cast<float>(k) / static_cast<float>(points - 1);
                for (std::size_t j = 0; j < d; ++j)
                    x(s * points + k, j) = a[j] + t * (b[j] - a[j]);
            }
        }
        grokkit::batch batch;
        batch.features = x.data();
        batch.n = count * points;
        net.forward(batch, logits);
        const std::size_t c = logits.shape(1);
        for (std::size_t s = 0; s < count; ++s) {
            if (step[s] == 0.0)
                continue; // a segment from a point to a copy of itself
            for (std::size_t k = 0; k + 1 < points; ++k) {
                const float* f0 = logits.data() + (s * points + k) * c;
                double change = 0.0;
                for (std::size_t o = 0; o < c; ++o)
                    change += double(f0[c + o] - f0[o]) * (f0[c + o] - f0[o]);
                largest = std::max(largest, std::sqrt(change) / step[s]);
            }
        }
    }
    return largest;
}

void analysis_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("segments", p.segments,
           "segments between random pairs of training inputs along which slopes are measured")
        .at_least(1)
        .at_most(1e6);
    ps.add("points_per_segment", p.points_per_segment,
           "evenly spaced points on each segment, its ends included")
        .at_least(2)
        .at_most(4096);
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("train_gradient_mean", dtype::float64, {}, "",
           "mean over training inputs of the Jacobian's Frobenius norm |df/dx|");
    os.add("train_gradient_max", dtype::float64, {}, "", "its largest value");
    os.add("test_gradient_mean", dtype::float64, {}, "", "the same over the test inputs");
    os.add("test_gradient_max", dtype::float64, {}, "", "its largest value");
    os.add("segment_slope_max", dtype::float64, {}, "",
           "largest |f(x') - f(x)| / |x' - x| between neighbouring points on segments joining "
           "training inputs: a lower bound on the Lipschitz constant");
    os.add("bubeck_sellke_scale", dtype::float64, {}, "",
           "sqrt(n d / P), n training examples in R^d, P parameters: the Lipschitz constant "
           "below which, up to constants, no P-parameter model interpolates noisy data");
    os.add("parameters", dtype::int64, {}, "", "P, the model's trained parameter values");
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup, grokkit::output_binding&) const {
    if (setup.spec.has_tokens() || setup.spec.n_features == 0)
        throw grokkit::error("robustness.outputs", "input is " + setup.spec.describe(),
                             "dense feature inputs (a token has no gradient)");
    if (setup.data.train.size() < 2)
        throw grokkit::error("robustness.outputs",
                             std::to_string(setup.data.train.size()) + " training examples",
                             "at least 2, to join by segments");
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const params& p = m_params;
    const grokkit::example_set& train = ctx.data().train;
    const std::size_t n = train.size(), n_outputs = ctx.spec().n_outputs();
    std::unique_ptr<grokkit::model> net = ctx.copy_model(); // input gradients overwrite grads
    const auto summary = [&](const grokkit::example_set& set) {
        const std::vector<double> norms = jacobian_norms(*net, set, n_outputs);
        const double sum = std::accumulate(norms.begin(), norms.end(), 0.0);
        return gradient_summary{norms.empty() ? 0.0 : sum / static_cast<double>(norms.size()),
                                norms.empty() ? 0.0
                                              : *std::max_element(norms.begin(), norms.end())};
    };
    const gradient_summary on_train = summary(train), on_test = summary(ctx.data().test);
    grokkit::rng draws(ctx.seed(), "segments", static_cast<std::uint64_t>(ctx.step()));
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (std::int64_t s = 0; s < p.segments; ++s) {
        const auto i = static_cast<std::size_t>(draws.below(n));
        auto j = static_cast<std::size_t>(draws.below(n - 1));
        pairs.emplace_back(i, j >= i ? j + 1 : j);
    }
    const double slope =
        largest_segment_slope(*net, train, pairs, static_cast<std::size_t>(p.points_per_segment));
    const std::size_t parameters = grokkit::parameter_count(*net);
    ctx.write("train_gradient_mean", on_train.mean);
    ctx.write("train_gradient_max", on_train.max);
    ctx.write("test_gradient_mean", on_test.mean);
    ctx.write("test_gradient_max", on_test.max);
    ctx.write("segment_slope_max", slope);
    ctx.write("bubeck_sellke_scale",
              std::sqrt(static_cast<double>(n) * static_cast<double>(ctx.spec().n_features) /
                        static_cast<double>(parameters)));
    ctx.write("parameters", static_cast<std::int64_t>(parameters));
}

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Robustness (" + name + ")";
    const auto steps = f.analysis_steps(name);
    const std::vector<double> x(steps.begin(), steps.end());
    std::vector<grokkit::chart_series> series;
    for (const char* o :
         {"train_gradient_mean", "test_gradient_mean", "segment_slope_max", "bubeck_sellke_scale"})
        series.push_back({o, x, f.analysis_scalars(name, o)});
    s.notes.push_back(
        "Smoothness of the fit: the mean Jacobian norm |df/dx| at training and test inputs, and "
        "the largest slope along segments between training inputs (a lower bound on the "
        "Lipschitz constant). Bubeck and Sellke (2021) prove that interpolating n noisy points in "
        "R^d with P parameters needs a Lipschitz constant of at least about sqrt(n d / P): a lower "
        "bound, so a measured slope above it says nothing against the law, and the law does not "
        "predict that a trained network's slope falls as P grows.");
    s.charts.push_back(grokkit::line_chart("Gradient norms and slopes against the law's scale",
                                           series, {"step", "slope", true, true, {}}));
    if (!steps.empty()) {
        grokkit::report_table t{{"output", "last checkpoint"}, {}};
        for (const auto& line : series)
            t.rows.push_back({line.name, grokkit::table_number(line.y.back())});
        s.tables.push_back(std::move(t));
    }
    return s;
}

} // namespace robustness
