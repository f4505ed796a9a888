// Input specs and batches.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/data.hpp>
#include <grokkit/error.hpp>
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
    if (is_regression())
        return s + ", " + std::to_string(n_targets) + " real-valued target" +
               (n_targets == 1 ? "" : "s");
    return s + ", " + std::to_string(n_classes) + " classes";
}

void class_mask::add(std::vector<std::int32_t> allowed) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    if (offsets.empty())
        offsets.push_back(0);
    classes.insert(classes.end(), allowed.begin(), allowed.end());
    offsets.push_back(static_cast<std::int64_t>(classes.size()));
}

void class_mask::add_row_of(const class_mask& source, std::size_t row) {
    if (offsets.empty())
        offsets.push_back(0);
    const auto first = source.classes.begin() + source.offsets[row];
    classes.insert(classes.end(), first, source.classes.begin() + source.offsets[row + 1]);
    offsets.push_back(static_cast<std::int64_t>(classes.size()));
}

mask_view view_of(const class_mask& m) {
    return m.empty() ? mask_view{} : mask_view{m.offsets.data(), m.classes.data()};
}

batch slice_batch(const example_set& s, std::size_t first, std::size_t count) {
    batch b;
    b.n = count;
    const std::size_t nt = s.tokens.size() ? s.tokens.shape(1) : 0;
    const std::size_t nf = s.features.size() ? s.features.shape(1) : 0;
    b.tokens = nt ? s.tokens.data() + first * nt : nullptr;
    b.features = nf ? s.features.data() + first * nf : nullptr;
    b.labels = s.labels.size() ? s.labels.data() + first : nullptr;
    b.n_targets = s.targets.size() ? s.targets.shape(1) : 0;
    b.targets = b.n_targets ? s.targets.data() + first * b.n_targets : nullptr;
    b.mask = view_of(s.mask).from(first);
    return b;
}

batch as_batch(const example_set& s) {
    return slice_batch(s, 0, s.size());
}

label_noise add_label_noise(example_set& train, double fraction, std::uint64_t seed,
                            std::size_t n_classes) {
    if (!train.mask.empty())
        throw error("label noise", "the examples mask their classes",
                    "label noise only on a dataset without class masks");
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
