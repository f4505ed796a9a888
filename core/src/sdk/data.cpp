// Input specs and batches.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/data.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>

namespace grokkit {

std::string input_spec::describe() const {
    std::string s;
    if (n_tokens > 0)
        s = "tokens (" + std::to_string(n_tokens) + " positions, vocabulary " +
            std::to_string(vocab_size) + ")";
    else
        s = "features (" + std::to_string(n_features) + " wide)";
    return s + ", " + std::to_string(n_classes) + " classes";
}

batch as_batch(const example_set& s) {
    batch b;
    b.n = s.size();
    b.tokens = s.tokens.size() ? s.tokens.data() : nullptr;
    b.features = s.features.size() ? s.features.data() : nullptr;
    b.labels = s.labels.size() ? s.labels.data() : nullptr;
    return b;
}

label_noise add_label_noise(example_set& train, double fraction, std::uint64_t seed,
                            std::size_t n_classes) {
    const std::size_t n_train = train.size();
    const auto n_noisy =
        static_cast<std::size_t>(std::floor(fraction * static_cast<double>(n_train)));
    label_noise r;
    if (n_noisy == 0 || n_classes < 2)
        return r;
    r.positions = rng(seed, "noise").permutation(n_train);
    r.positions.resize(n_noisy);
    std::sort(r.positions.begin(), r.positions.end());
    rng draw(seed, "noise", 1);
    for (const std::size_t i : r.positions) {
        const std::int64_t truth = train.labels(i);
        // Draw from [0, n_classes - 1) and skip over the true class: uniform over the others.
        auto other = static_cast<std::int64_t>(draw.below(n_classes - 1));
        if (other >= truth)
            ++other;
        r.true_labels.push_back(truth);
        train.labels(i) = static_cast<std::int32_t>(other);
    }
    return r;
}

} // namespace grokkit
