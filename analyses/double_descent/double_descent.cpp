// double_descent: closed-form fits of regenerated variants, their risks and the theory beside.
// SPDX-License-Identifier: Apache-2.0
#include "double_descent.hpp"

#include <grokkit/error.hpp>
#include <grokkit/least_squares.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace double_descent {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

grokkit::linear_readout& readout_of(grokkit::model& net, const char* where) {
    auto* r = dynamic_cast<grokkit::linear_readout*>(&net);
    if (!r)
        throw grokkit::error(where, "the model is not a fixed-features readout",
                             "a grokkit::linear_readout model: linear (bias = false) or "
                             "random_features");
    return *r;
}

// Mean squared error (to targets, or to one-hot labels) and error rate of `net` on `set`.
std::pair<double, double> risk_on(grokkit::model& net, const grokkit::example_set& set) {
    if (set.size() == 0)
        return {nan, nan};
    grokkit::loss_config mse;
    mse.name = "mse";
    xt::xtensor<float, 2> logits;
    const grokkit::batch b = grokkit::as_batch(set);
    net.forward(b, logits);
    const auto sum = grokkit::evaluate_loss(mse, logits, b, nullptr);
    const double n = static_cast<double>(set.size());
    return {sum.loss / n, b.targets ? nan : 1.0 - static_cast<double>(sum.n_correct) / n};
}

} // namespace

void analysis_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("vary", p.vary,
           "the setting set to round(ratio * n_train) at each ratio: \"dataset.<key>\" (dim: "
           "d = p for a linear model) or \"model.<key>\" (random_features' width)")
        .non_empty();
    ps.add("ratios", p.ratios, "gamma = parameters / training examples, one fit per draw each")
        .non_empty()
        .above(0)
        .at_most(1000);
    ps.add("ridges", p.ridges,
           "ridge values lambda of (1/n)|y - Phi b|^2 + lambda |b|^2; 0: the minimum-norm "
           "least-squares solution")
        .non_empty()
        .at_least(0);
    ps.add("draws", p.draws, "independent draws of data (and features) at each ratio")
        .at_least(1)
        .at_most(10000);
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("ratio", dtype::float64, {"n_ratios"}, "", "the ratios asked for");
    os.add("gamma", dtype::float64, {"n_ratios"}, "",
           "p / n as fitted: readout rows over training examples");
    os.add("ridge", dtype::float64, {"n_ridges"}, "", "the ridge values lambda");
    os.add("train_risk", dtype::float64, {"n_ratios", "n_ridges", "n_draws"}, "squared error",
           "mean squared error on the draw's training set");
    os.add("test_risk", dtype::float64, {"n_ratios", "n_ridges", "n_draws"}, "squared error",
           "mean squared error on the draw's test set (the excess risk when its targets are "
           "noiseless)");
    os.add("test_error", dtype::float64, {"n_ratios", "n_ridges", "n_draws"}, "fraction",
           "share of test examples whose arg-max output is not the label")
        .optional("classification datasets");
    os.add("norm", dtype::float64, {"n_ratios", "n_ridges", "n_draws"}, "",
           "Frobenius norm of the fitted readout");
    os.add("mean_test_risk", dtype::float64, {"n_ratios", "n_ridges"}, "squared error",
           "test_risk averaged over the draws");
    os.add("theory_risk", dtype::float64, {"n_ratios", "n_ridges"}, "squared error",
           "the dataset's asymptotic test risk for least squares on raw inputs (Hastie et al. "
           "2020 for isotropic linear regression); NaN where it offers none");
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const params& p = m_params;
    if (p.vary.rfind("dataset.", 0) != 0 && p.vary.rfind("model.", 0) != 0)
        throw grokkit::error(grokkit::diagnostic{"double_descent.outputs", "vary",
                                                 "\"" + p.vary + "\"",
                                                 "\"dataset.<key>\" or \"model.<key>\"", 0, 0});
    // Asks for one row's features now, so a model that cannot give them (a bias) fails here.
    xt::xtensor<float, 2> phi;
    readout_of(setup.net, "double_descent.outputs")
        .readout_features(grokkit::slice_batch(setup.data.train, 0, 1), phi);
    out.size("n_ratios", p.ratios.size());
    out.size("n_ridges", p.ridges.size());
    out.size("n_draws", static_cast<std::size_t>(p.draws));
    if (setup.spec.is_regression())
        out.skip("test_error");
}

fit_result analysis_impl::fit_variant(grokkit::run_variant& v) const {
    grokkit::model& net = *v.net;
    const grokkit::linear_readout& readout = readout_of(net, "double_descent.run");
    const grokkit::least_squares solver = grokkit::fit_readout(net, v.data.train, 0.0);
    fit_result f;
    const std::size_t rows = net.parameters().at(readout.readout_index())->value.shape(0);
    f.gamma = static_cast<double>(rows) / static_cast<double>(v.data.train.size());
    for (const double ridge : m_params.ridges) {
        const std::vector<double> beta = solver.solve(ridge);
        grokkit::set_readout(net, beta);
        const auto [train, unused] = risk_on(net, v.data.train);
        const auto [test, error] = risk_on(net, v.data.test);
        f.train_risk.push_back(train);
        f.test_risk.push_back(test);
        f.test_error.push_back(error);
        f.norm.push_back(
            std::sqrt(std::inner_product(beta.begin(), beta.end(), beta.begin(), 0.0)));
    }
    return f;
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const params& p = m_params;
    const std::size_t n_r = p.ratios.size(), n_l = p.ridges.size();
    const auto n_d = static_cast<std::size_t>(p.draws);
    const auto n = static_cast<double>(ctx.data().train.size());
    std::vector<double> gamma(n_r), theory(n_r * n_l, nan), mean(n_r * n_l, 0.0);
    std::vector<double> train(n_r * n_l * n_d), test(train.size()), error(train.size()),
        norm(train.size());
    for (std::size_t r = 0; r < n_r; ++r)
        for (std::size_t k = 0; k < n_d; ++k) {
            // The same seeds at every ratio: the curve's points share their draws' randomness.
            const std::uint64_t seed = grokkit::rng(ctx.seed(), "draw", k).next_u64();
            const auto value = std::max<std::int64_t>(1, std::llround(p.ratios[r] * n));
            grokkit::run_variant v = ctx.variant({{p.vary, value}}, seed);
            const fit_result f = fit_variant(v);
            gamma[r] = f.gamma;
            const auto* theory_source =
                dynamic_cast<const grokkit::least_squares_theory*>(v.source.get());
            const bool raw = readout_of(*v.net, "double_descent.run").reads_raw_inputs();
            for (std::size_t l = 0; l < n_l; ++l) {
                const std::size_t at = (r * n_l + l) * n_d + k;
                train[at] = f.train_risk[l];
                test[at] = f.test_risk[l];
                error[at] = f.test_error[l];
                norm[at] = f.norm[l];
                mean[r * n_l + l] += f.test_risk[l] / static_cast<double>(n_d);
                if (k == 0 && theory_source && raw)
                    theory[r * n_l + l] = theory_source->least_squares_risk(v.data, p.ridges[l]);
            }
            ctx.progress("fits", static_cast<std::int64_t>(r * n_d + k + 1),
                         static_cast<std::int64_t>(n_r * n_d));
        }
    const auto shaped = [](std::vector<double> values, std::vector<std::size_t> shape) {
        return grokkit::output_value(grokkit::dtype::float64, std::move(shape), std::move(values));
    };
    ctx.write("ratio", p.ratios);
    ctx.write("gamma", gamma);
    ctx.write("ridge", p.ridges);
    ctx.write("train_risk", shaped(train, {n_r, n_l, n_d}));
    ctx.write("test_risk", shaped(test, {n_r, n_l, n_d}));
    if (!ctx.spec().is_regression())
        ctx.write("test_error", shaped(error, {n_r, n_l, n_d}));
    ctx.write("norm", shaped(norm, {n_r, n_l, n_d}));
    ctx.write("mean_test_risk", shaped(mean, {n_r, n_l}));
    ctx.write("theory_risk", shaped(theory, {n_r, n_l}));
}

namespace {

// The q-quantile (linear between order statistics) of the finite values of `v`.
double quantile(std::vector<double> v, double q) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }),
            v.end());
    if (v.empty())
        return nan;
    std::sort(v.begin(), v.end());
    const double at = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(at));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::string ridge_label(double ridge) {
    return ridge == 0.0 ? std::string("ridgeless") : "lambda = " + grokkit::table_number(ridge);
}

// One series per ridge value of a (n_ratios, n_ridges, n_draws) output: its median over the
// draws, with the quartiles as the interval.
std::vector<grokkit::chart_series> quartile_series(const xt::xarray<double>& values,
                                                   const xt::xarray<double>& gamma,
                                                   const xt::xarray<double>& ridges,
                                                   const std::string& prefix) {
    std::vector<grokkit::chart_series> out;
    const std::vector<double> x(gamma.begin(), gamma.end());
    for (std::size_t l = 0; l < ridges.size(); ++l) {
        grokkit::chart_series line{prefix + ridge_label(ridges(l)), x, {}};
        for (std::size_t r = 0; r < gamma.size(); ++r) {
            std::vector<double> draws;
            for (std::size_t k = 0; k < values.shape(2); ++k)
                draws.push_back(values(r, l, k));
            line.y.push_back(quantile(draws, 0.5));
            line.lower.push_back(quantile(draws, 0.25));
            line.upper.push_back(quantile(draws, 0.75));
        }
        out.push_back(std::move(line));
    }
    return out;
}

} // namespace

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Double descent (" + name + ")";
    const auto steps = f.analysis_steps(name);
    if (steps.empty()) {
        s.notes.push_back("No fits are recorded yet.");
        return s;
    }
    const std::size_t row = steps.size() - 1;
    const auto read = [&](const char* o) { return f.analysis_output(name, o, row).array(); };
    const xt::xarray<double> gamma = read("gamma"), ridges = read("ridge"),
                             test = read("test_risk"), theory = read("theory_risk"),
                             mean = read("mean_test_risk");
    std::vector<grokkit::chart_series> risk = quartile_series(test, gamma, ridges, "measured, ");
    grokkit::report_table table{{"gamma", "ridge", "mean test risk", "theory", "mean / theory"},
                                {}};
    for (std::size_t l = 0; l < ridges.size(); ++l) {
        grokkit::chart_series line{"theory, " + ridge_label(ridges(l)), {}, {}};
        for (std::size_t r = 0; r < gamma.size(); ++r) {
            line.x.push_back(gamma(r));
            line.y.push_back(theory(r, l));
            table.rows.push_back({grokkit::table_number(gamma(r)), grokkit::table_number(ridges(l)),
                                  grokkit::table_number(mean(r, l)),
                                  grokkit::table_number(theory(r, l)),
                                  grokkit::table_number(mean(r, l) / theory(r, l))});
        }
        if (std::any_of(line.y.begin(), line.y.end(), [](double y) { return std::isfinite(y); }))
            risk.push_back(std::move(line));
    }
    s.notes.push_back(
        "Closed-form least squares on " + std::to_string(test.shape(2)) +
        " independent draws at each gamma = p / n: the median test risk with its quartiles, and "
        "the asymptotic risk where the dataset offers one (Hastie, Montanari, Rosset and "
        "Tibshirani 2020: sigma^2 gamma / (1 - gamma) below the threshold, r^2 (1 - 1/gamma) + "
        "sigma^2 / (gamma - 1) above it, for minimum-norm interpolation of isotropic data). The "
        "ridgeless risk peaks at gamma = 1, where the model first interpolates; ridge flattens the "
        "peak.");
    s.charts.push_back(grokkit::line_chart("Test risk against p / n", risk,
                                           {"gamma = p / n", "test risk", true, true, {}, 0.1}));
    s.charts.push_back(grokkit::line_chart(
        "Training risk against p / n", quartile_series(read("train_risk"), gamma, ridges, ""),
        {"gamma = p / n", "training risk", true, false, {}, 0.1}));
    s.charts.push_back(grokkit::line_chart("Norm of the solution against p / n",
                                           quartile_series(read("norm"), gamma, ridges, ""),
                                           {"gamma = p / n", "|beta|", true, true, {}, 0.1}));
    s.tables.push_back(std::move(table));
    return s;
}

} // namespace double_descent
