// The configured training loss and per-example gradients; see loss.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/loss.hpp>

#include <limits>

namespace grokkit {

namespace {

// Real-valued targets (n, c) against logits (n, c): only the mse loss fits them.
nn::loss_sum loss_to_targets(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                             const float* targets, std::size_t n_targets,
                             xt::xtensor<float, 2>* dlogits, double weight) {
    if (loss.name != "mse")
        throw error(diagnostic{"loss", "loss",
                               "\"" + loss.name + "\" with a dataset of real-valued targets",
                               "\"mse\" (the squared error to the targets)"});
    if (n_targets != logits.shape(1))
        throw error("loss", "outputs " + std::to_string(logits.shape(1)) + " wide",
                    "one output per target (" + std::to_string(n_targets) + ")");
    return nn::squared_error_to_targets(logits, targets, dlogits, weight);
}

// `weight` multiplies every example's loss (and so its gradient). A batch with targets is
// regression; one with labels, classification.
nn::loss_sum weighted_loss(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                           const batch& x, xt::xtensor<float, 2>* dlogits, double weight) {
    const std::size_t n_classes = logits.shape(1);
    if (loss.class_mean && n_classes > 0)
        weight /= static_cast<double>(n_classes);
    if (x.targets)
        return loss_to_targets(loss, logits, x.targets, x.n_targets, dlogits, weight);
    const std::int32_t* labels = x.labels;
    const mask_view mask = x.mask;
    if (loss.name == "cross_entropy")
        return nn::softmax_cross_entropy(logits, labels, dlogits, weight, mask);
    if (loss.name == "mse") {
        if (mask)
            throw error(diagnostic{"loss", "loss",
                                   "mse with a dataset that masks classes (allowed moves)",
                                   "cross_entropy, whose softmax the mask restricts"});
        return nn::mean_squared_error(logits, labels, dlogits, weight);
    }
    throw error(
        diagnostic{"loss", "loss", "unknown loss \"" + loss.name + "\"", "cross_entropy or mse"});
}

} // namespace

model::~model() = default;

void model::example_gradients(const xt::xtensor<float, 2>&, xt::xtensor<float, 2>&) {
    throw error("model.example_gradients", "this model does not compute per-example gradients",
                "a model that "
                "overrides grokkit::model::example_gradients (mlp, linear and transformer do)");
}

std::vector<std::size_t> direction_offsets(const std::vector<parameter>& tensors,
                                           const std::vector<float>& v, const char* where) {
    std::vector<std::size_t> offsets(tensors.size());
    std::size_t n = 0;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        offsets[k] = n;
        n += tensors[k].value.size();
    }
    if (v.size() != n)
        throw error(where, "a direction of " + std::to_string(v.size()) + " values",
                    std::to_string(n) + " (one per parameter value)");
    return offsets;
}

void model::input_gradients(const batch&, const xt::xtensor<float, 2>&, xt::xtensor<float, 2>&) {
    throw error("model.input_gradients", "this model gives no gradients with respect to its inputs",
                "a model of dense inputs that overrides grokkit::model::input_gradients (linear, "
                "mlp and random_features do)");
}

void model::forward_tangent(const std::vector<float>&, xt::xtensor<float, 2>&) {
    throw error("model.forward_tangent", "this model has no tangent passes",
                "a model that overrides grokkit::model::forward_tangent and backward_tangent "
                "(mlp, linear and transformer do)");
}

void model::backward_tangent(const xt::xtensor<float, 2>&, const xt::xtensor<float, 2>&) {
    throw error("model.backward_tangent", "this model has no tangent passes",
                "a model that overrides grokkit::model::forward_tangent and backward_tangent "
                "(mlp, linear and transformer do)");
}

std::vector<linear_site> model::linear_sites() const {
    return {};
}

void model::linear_site_rows(std::size_t, const xt::xtensor<float, 2>&, xt::xtensor<float, 2>&,
                             xt::xtensor<float, 2>&) {
    throw error("model.linear_site_rows", "this model exposes no linear layers",
                "a model that overrides grokkit::model::linear_sites and linear_site_rows "
                "(linear, mlp and transformer do)");
}

nn::loss_sum evaluate_loss(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                           const std::int32_t* labels, xt::xtensor<float, 2>* dlogits,
                           mask_view mask) {
    batch x;
    x.labels = labels;
    x.mask = mask;
    x.n = logits.shape(0);
    return weighted_loss(loss, logits, x, dlogits, 1.0);
}

nn::loss_sum evaluate_loss(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                           const batch& x, xt::xtensor<float, 2>* dlogits) {
    return weighted_loss(loss, logits, x, dlogits, 1.0);
}

void apply_class_mask(xt::xtensor<float, 2>& logits, mask_view mask) {
    if (!mask)
        return;
    const std::size_t n = logits.shape(0), c = logits.shape(1);
    for (std::size_t i = 0; i < n; ++i) {
        float* row = logits.data() + i * c;
        const std::int32_t* allowed = mask.classes + mask.offsets[i];
        const std::int32_t* end = mask.classes + mask.offsets[i + 1];
        for (std::size_t j = 0; j < c; ++j) {
            if (allowed != end && static_cast<std::size_t>(*allowed) == j)
                ++allowed;
            else
                row[j] = -std::numeric_limits<float>::infinity();
        }
    }
}

std::vector<example_loss> example_losses(const loss_config& loss,
                                         const xt::xtensor<float, 2>& logits, const batch& x) {
    const std::size_t c = logits.shape(1);
    std::vector<example_loss> out(x.n);
    xt::xtensor<float, 2> row = xt::zeros<float>({std::size_t{1}, c});
    for (std::size_t i = 0; i < x.n; ++i) {
        std::copy_n(logits.data() + i * c, c, row.data());
        batch one_example = x;
        one_example.n = 1;
        one_example.labels = x.labels ? x.labels + i : nullptr;
        one_example.targets = x.targets ? x.targets + i * x.n_targets : nullptr;
        one_example.mask = x.mask.from(i);
        const nn::loss_sum one = weighted_loss(loss, row, one_example, nullptr, 1.0);
        out[i] = {one.loss, one.n_correct > 0};
    }
    return out;
}

loss_curvature::loss_curvature(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                               mask_view mask) {
    const std::size_t c = logits.shape(1);
    m_scale = loss.class_mean && c > 0 ? 1.0 / static_cast<double>(c) : 1.0;
    if (loss.name == "cross_entropy") {
        nn::softmax(logits, m_probabilities, mask);
        return;
    }
    if (loss.name != "mse")
        throw error(diagnostic{"loss", "loss", "unknown loss \"" + loss.name + "\"",
                               "cross_entropy or mse"});
    m_is_cross_entropy = false;
}

void loss_curvature::apply(const xt::xtensor<float, 2>& t_logits,
                           xt::xtensor<float, 2>& t_dlogits) const {
    if (m_is_cross_entropy)
        return nn::softmax_cross_entropy_tangent(m_probabilities, t_logits, t_dlogits, m_scale);
    const std::size_t n = t_logits.shape(0), c = t_logits.shape(1);
    nn::ensure_shape(t_dlogits, n, c);
    const double factor = n > 0 ? 2.0 * m_scale / static_cast<double>(n) : 0.0;
    for (std::size_t k = 0; k < n * c; ++k)
        t_dlogits.data()[k] = static_cast<float>(factor * t_logits.data()[k]);
}

std::size_t parameter_count(model& m) {
    std::size_t n = 0;
    for (const parameter* p : m.parameters())
        n += p->value.size();
    return n;
}

nn::loss_sum example_gradients(model& m, const batch& x, const loss_config& loss,
                               xt::xtensor<float, 2>& out) {
    xt::xtensor<float, 2> logits, dlogits;
    m.forward(x, logits);
    // The mean loss's gradient is Σ_i dℓ_i / n; weighting each example by n leaves dℓ_i.
    const double n = static_cast<double>(x.n);
    nn::loss_sum sum = weighted_loss(loss, logits, x, &dlogits, n);
    if (x.n > 0)
        sum.loss /= n; // the weight scaled the loss too
    m.example_gradients(dlogits, out);
    const std::size_t p = parameter_count(m);
    if (out.shape(0) != x.n || out.shape(1) != p)
        throw error("model.example_gradients",
                    "the model wrote " + std::to_string(out.shape(0)) + " x " +
                        std::to_string(out.shape(1)) + " gradients",
                    std::to_string(x.n) + " x " + std::to_string(p));
    return sum;
}

} // namespace grokkit
