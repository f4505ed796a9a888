// Drawing actions from a model's logits: softmax at a temperature (greedy at 0), optionally cut
// to the top k or the top-p nucleus, over the classes a mask allows; one counter-based draw per
// action, so an evaluation is reproducible and resumable from its keys alone.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/rng.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace grokkit {

/// How actions are drawn from logits.
struct sampling_config {
    double temperature = 1.0; ///< T: p ∝ exp(logit / T); 0 is greedy (the arg-max)
    std::size_t top_k = 0;    ///< keep only the k most probable allowed classes; 0: all
    double top_p = 1.0;       ///< keep the fewest most probable classes whose mass reaches top_p
};

/// Throws grokkit::error("<where>", ...) for a temperature that is negative or not finite, or a
/// top_p outside (0, 1].
void check_sampling(const sampling_config& config, const std::string& where);

/// The distribution sample_action draws from for row `row` of `mask` (every class when the mask
/// is null), given that row's `n_classes` logits: softmax(logits / T) over the allowed classes,
/// computed in double; then the top_k most probable are kept (ties go to the lower class), of
/// them the smallest most-probable set whose share of their mass reaches top_p (the order of
/// Hugging Face's and vLLM's samplers), and renormalised. Every other class gets exactly 0. At
/// T = 0 the arg-max gets 1 (the lowest class among equal logits). A class the mask lists twice
/// counts once. Throws grokkit::error when the row allows no class or an allowed logit is not
/// finite.
std::vector<double> action_probabilities(const float* logits, std::size_t n_classes, mask_view mask,
                                         std::size_t row, const sampling_config& config);

/// One action drawn from action_probabilities by inverting one uniform of `draws` (drawn at
/// T = 0 too, so a stream's later draws do not depend on the temperature).
std::int32_t sample_action(const float* logits, std::size_t n_classes, mask_view mask,
                           std::size_t row, const sampling_config& config, rng& draws);

} // namespace grokkit
