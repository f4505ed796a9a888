// memorisation: accuracies on noisy vs clean training examples, per checkpoint.
// SPDX-License-Identifier: Apache-2.0
#include "memorisation.hpp"

#include <grokkit/error.hpp>

#include <algorithm>

namespace memorisation {

namespace {

const grokkit::dataset_record* record(const grokkit::dataset_split& d, const char* name) {
    for (const auto& r : d.records)
        if (r.name == name)
            return &r;
    return nullptr;
}

} // namespace

fit_counts count_fit(const std::vector<std::int32_t>& predicted, const std::int32_t* train_labels,
                     const std::vector<std::int64_t>& noisy_index,
                     const std::vector<std::int64_t>& true_label) {
    fit_counts c;
    std::vector<bool> is_noisy(predicted.size(), false);
    for (std::size_t i = 0; i < noisy_index.size(); ++i) {
        const auto j = static_cast<std::size_t>(noisy_index[i]);
        is_noisy[j] = true;
        c.noisy_fit += predicted[j] == train_labels[j];
        c.noisy_true += predicted[j] == true_label[i];
    }
    std::size_t n_clean = 0;
    for (std::size_t j = 0; j < predicted.size(); ++j)
        if (!is_noisy[j]) {
            ++n_clean;
            c.clean_accuracy += predicted[j] == train_labels[j];
        }
    if (!noisy_index.empty()) {
        c.noisy_fit /= static_cast<double>(noisy_index.size());
        c.noisy_true /= static_cast<double>(noisy_index.size());
    }
    if (n_clean)
        c.clean_accuracy /= static_cast<double>(n_clean);
    return c;
}

void analysis_impl::declare(grokkit::param_set& ps) {
    ps.add("per_example", m_per_example,
           "also record each training example's predicted class (n_train values per run)");
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("noisy_fit", dtype::float64, {}, "fraction",
           "noisy training examples predicted as their replaced label");
    os.add("noisy_true", dtype::float64, {}, "fraction",
           "noisy training examples predicted as their true label");
    os.add("clean_accuracy", dtype::float64, {}, "fraction",
           "clean training examples predicted correctly");
    os.add("predicted", dtype::int64, {"n_train"}, "class",
           "arg-max class of each training example")
        .optional("per_example = true");
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    if (!record(setup.data, "noisy_index") || !record(setup.data, "true_label"))
        throw grokkit::error(grokkit::diagnostic{
            "memorisation.outputs", "", "the dataset records no noisy_index/true_label",
            "a dataset with label_noise (modular_arithmetic, sparse_parity)", 0, 0});
    out.size("n_train", setup.data.train.size());
    if (!m_per_example)
        out.skip("predicted");
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const auto& train = ctx.data().train;
    xt::xtensor<float, 2> logits;
    ctx.trained_model().forward(grokkit::as_batch(train), logits);
    std::vector<std::int32_t> predicted(train.size());
    const std::size_t c = logits.shape()[1];
    for (std::size_t i = 0; i < predicted.size(); ++i) {
        const float* row = logits.data() + i * c;
        predicted[i] = static_cast<std::int32_t>(std::max_element(row, row + c) - row);
    }
    const auto fit =
        count_fit(predicted, train.labels.data(), record(ctx.data(), "noisy_index")->values,
                  record(ctx.data(), "true_label")->values);
    ctx.write("noisy_fit", fit.noisy_fit);
    ctx.write("noisy_true", fit.noisy_true);
    ctx.write("clean_accuracy", fit.clean_accuracy);
    if (m_per_example)
        ctx.write("predicted", std::vector<std::int64_t>(predicted.begin(), predicted.end()));
}

grokkit::report_section analysis_impl::report(const grokkit::run_file& f,
                                              const std::string& name) const {
    grokkit::report_section s;
    s.title = "Memorisation (" + name + ")";
    const auto steps = f.analysis_steps(name);
    const std::vector<double> x(steps.begin(), steps.end());
    std::vector<grokkit::chart_series> series;
    for (const char* o : {"noisy_fit", "noisy_true", "clean_accuracy"}) {
        series.push_back({o, x, f.analysis_scalars(name, o)});
    }
    s.notes.push_back("noisy_fit: noisy training examples predicted as the wrong label they were "
                      "given; noisy_true: as their true label; clean_accuracy: the other training "
                      "examples. A network that memorises the exceptions while learning the rule "
                      "has noisy_fit near 1 as test accuracy rises.");
    s.charts.push_back(grokkit::line_chart("Noisy labels fitted against the clean ones", series,
                                           {"step", "share", true, false, {}}));
    return s;
}

} // namespace memorisation
