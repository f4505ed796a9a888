// Input specs and batches.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/data.hpp>

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

} // namespace grokkit
