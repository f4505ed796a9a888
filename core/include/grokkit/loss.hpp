// The training loss as a pipeline configures it, and per-example gradients of it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/export.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// The per-example loss a run trains on, from `[train] loss` and `class_mean`.
struct loss_config {
    std::string name = "cross_entropy"; ///< cross_entropy or mse
    bool class_mean = false;            ///< also divide by the number of classes
};

/// The loss of `logits` (n, c) against `labels`, summed over examples (divide loss_sum::loss by
/// n for the mean the optimiser minimises). When `dlogits` is not null it receives d(mean
/// loss)/dlogits. With a class `mask` (a batch's `mask`), the softmax, loss, gradient and
/// accuracy see each example's allowed classes only. Throws grokkit::error for an unknown loss
/// name, a label outside [0, c) or outside its mask, or a mask with a loss other than
/// cross_entropy.
nn::loss_sum evaluate_loss(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                           const std::int32_t* labels, xt::xtensor<float, 2>* dlogits,
                           mask_view mask = {});
/// The same for the examples of batch `x` (x.n rows of logits): against its real-valued targets
/// when it has them (regression, which needs the mse loss: grokkit::error names [train] loss
/// otherwise), else against its labels and mask as above.
nn::loss_sum evaluate_loss(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                           const batch& x, xt::xtensor<float, 2>* dlogits);

/// Sets the logits (x.n, c) of the classes `mask` disallows to −∞, for code that forms its own
/// softmax (sampled labels, margins): those classes then get exactly zero probability.
void apply_class_mask(xt::xtensor<float, 2>& logits, mask_view mask);

/// One example's own loss (not divided by anything) and whether its arg-max allowed class is
/// its label (never, for real-valued targets).
struct example_loss {
    double loss = 0.0;
    bool correct = false;
};
/// Each example's example_loss from the logits (x.n, c) of batch `x` (labels and mask, or
/// targets).
std::vector<example_loss> example_losses(const loss_config& loss,
                                         const xt::xtensor<float, 2>& logits, const batch& x);

/// The curvature of the mean loss in the logits, at fixed logits (n, c), applied to tangents:
/// t_dlogits = ∇²_logits (mean loss) · t_logits, the tangent of evaluate_loss's dlogits. Per
/// example it is (diag(p) − p pᵀ) t / n for cross-entropy (p the softmax, formed once here) and
/// 2 t / n for mse, times 1/c with class_mean. Throws grokkit::error for an unknown loss name.
class GROKKIT_VISIBLE loss_curvature {
  public:
    /// `mask`: the examples' allowed classes, as evaluate_loss takes them.
    loss_curvature(const loss_config& loss, const xt::xtensor<float, 2>& logits,
                   mask_view mask = {});
    void apply(const xt::xtensor<float, 2>& t_logits, xt::xtensor<float, 2>& t_dlogits) const;

  private:
    bool m_is_cross_entropy = true;
    double m_scale = 1.0;
    xt::xtensor<float, 2> m_probabilities; // (n, c), cross-entropy only
};

/// The number of parameter values of `m`: the width of a row of example_gradients().
std::size_t parameter_count(model& m);

/// Row i of `out` (x.n, parameter_count(m)) becomes the gradient of example i's own loss ℓ_i
/// (not divided by x.n), flattened in parameters() order: one forward pass and the model's
/// batched model::example_gradients(). Returns the batch's loss, summed over examples. May
/// overwrite the parameters' grads. Memory is x.n × P floats: call it on slices of a large set.
nn::loss_sum example_gradients(model& m, const batch& x, const loss_config& loss,
                               xt::xtensor<float, 2>& out);

} // namespace grokkit
