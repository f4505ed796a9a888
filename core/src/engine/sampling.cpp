// Action sampling: the distribution in double over the allowed classes, then one inverted
// uniform per draw.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/sampling.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace grokkit {

void check_sampling(const sampling_config& c, const std::string& where) {
    if (!(c.temperature >= 0.0) || !std::isfinite(c.temperature))
        throw error(where, "temperature " + std::to_string(c.temperature),
                    "a finite temperature >= 0 (0: greedy)");
    if (!(c.top_p > 0.0 && c.top_p <= 1.0))
        throw error(where, "top_p " + std::to_string(c.top_p), "top_p in (0, 1]");
}

namespace {

// The classes row `row` allows, in increasing order.
std::vector<std::int32_t> allowed_classes(std::size_t n_classes, mask_view mask, std::size_t row) {
    std::vector<std::int32_t> allowed;
    if (!mask) {
        allowed.resize(n_classes);
        std::iota(allowed.begin(), allowed.end(), 0);
        return allowed;
    }
    for (std::int64_t i = mask.offsets[row]; i < mask.offsets[row + 1]; ++i)
        if (mask.classes[i] >= 0 && static_cast<std::size_t>(mask.classes[i]) < n_classes)
            allowed.push_back(mask.classes[i]);
    // A mask built by hand (an environment's observation) may repeat a class: count it once.
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    return allowed;
}

// Keeps the most probable classes of `order` (sorted by falling probability, ties to the lower
// class) up to top_k and until their mass reaches top_p; zeroes the rest and renormalises.
void truncate(std::vector<double>& p, std::vector<std::int32_t> order, const sampling_config& c) {
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(b)];
    });
    std::size_t keep = c.top_k > 0 ? std::min(c.top_k, order.size()) : order.size();
    if (c.top_p < 1.0) {
        // The nucleus of what top-k kept, renormalised (as Hugging Face's and vLLM's samplers).
        double all = 0.0, mass = 0.0;
        for (std::size_t i = 0; i < keep; ++i)
            all += p[static_cast<std::size_t>(order[i])];
        for (std::size_t i = 0; i < keep; ++i) {
            mass += p[static_cast<std::size_t>(order[i])];
            if (mass >= c.top_p * all) {
                keep = i + 1;
                break;
            }
        }
    }
    double total = 0.0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (i < keep)
            total += p[static_cast<std::size_t>(order[i])];
        else
            p[static_cast<std::size_t>(order[i])] = 0.0;
    }
    for (auto& x : p)
        x /= total;
}

} // namespace

std::vector<double> action_probabilities(const float* logits, std::size_t n_classes, mask_view mask,
                                         std::size_t row, const sampling_config& c) {
    const std::vector<std::int32_t> allowed = allowed_classes(n_classes, mask, row);
    if (allowed.empty())
        throw error("sampling", "row " + std::to_string(row) + " allows no class",
                    "at least one allowed action");
    for (const auto k : allowed)
        if (!std::isfinite(logits[k]))
            throw error("sampling",
                        "row " + std::to_string(row) + ": logit of class " + std::to_string(k) +
                            " is " + std::to_string(logits[k]),
                        "finite logits for every allowed class");
    std::vector<double> p(n_classes, 0.0);
    std::int32_t best = allowed.front();
    for (const auto k : allowed)
        if (logits[k] > logits[best])
            best = k;
    if (c.temperature == 0.0) {
        p[static_cast<std::size_t>(best)] = 1.0;
        return p;
    }
    // Shifted by the largest logit, so exp never overflows and the arg-max term is exactly 1.
    const double top = logits[best];
    for (const auto k : allowed)
        p[static_cast<std::size_t>(k)] =
            std::exp((static_cast<double>(logits[k]) - top) / c.temperature);
    truncate(p, allowed, c);
    return p;
}

std::int32_t sample_action(const float* logits, std::size_t n_classes, mask_view mask,
                           std::size_t row, const sampling_config& c, rng& draws) {
    const std::vector<double> p = action_probabilities(logits, n_classes, mask, row, c);
    const double u = draws.uniform();
    double cumulative = 0.0;
    std::int32_t last = -1;
    for (std::size_t k = 0; k < n_classes; ++k) {
        if (p[k] <= 0.0)
            continue;
        cumulative += p[k];
        last = static_cast<std::int32_t>(k);
        if (u < cumulative)
            return last;
    }
    return last; // u within rounding of 1: the last class with mass
}

} // namespace grokkit
