// What a dataset hands to models and analyses: the input spec and the train/test examples.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace grokkit {

/// The shape of a dataset's inputs and targets; models check it when they are built.
struct input_spec {
    std::size_t n_tokens = 0;   ///< sequence length of token inputs; 0 for dense features
    std::size_t vocab_size = 0; ///< token ids lie in [0, vocab_size)
    std::size_t n_features = 0; ///< width of dense feature inputs; 0 for token inputs
    std::size_t n_classes = 0;  ///< labels lie in [0, n_classes); 0 for regression
    std::size_t n_targets = 0;  ///< real-valued targets per example (regression); 0 for labels
    std::vector<std::string> token_names; ///< optional, one per position ("a", "b", "=")

    bool has_tokens() const { return n_tokens > 0; }
    /// Whether examples carry real-valued targets (trained with the mse loss) instead of labels.
    bool is_regression() const { return n_targets > 0; }
    /// The width of a model's output row: n_targets for regression, else n_classes.
    std::size_t n_outputs() const { return is_regression() ? n_targets : n_classes; }
    /// "tokens (2 positions, vocabulary 113), 113 classes" for error messages.
    std::string describe() const;
};

/// The classes each example may take (for chess: the legal moves of its position), as sorted
/// index lists: example i allows classes[offsets[i]] ... classes[offsets[i + 1] - 1]. Kept so,
/// never as n x n_classes values. With no offsets, every class is allowed. The softmax, the loss
/// and the accuracy of every model honour it (evaluate_loss, nn::softmax): a disallowed class
/// gets exactly zero probability and zero gradient.
struct class_mask {
    std::vector<std::int64_t> offsets; ///< n + 1 values, or none
    std::vector<std::int32_t> classes;

    bool empty() const { return offsets.empty(); }
    /// Appends one example's allowed classes (sorted and deduplicated here).
    void add(std::vector<std::int32_t> allowed);
    /// Appends row `row` of `source`.
    void add_row_of(const class_mask& source, std::size_t row);
};

/// Rows of a class_mask as a batch sees them: row r allows classes[offsets[r]] ...
/// classes[offsets[r + 1] - 1] (offsets index the whole mask's classes). Null: all allowed.
struct mask_view {
    const std::int64_t* offsets = nullptr;
    const std::int32_t* classes = nullptr;

    explicit operator bool() const { return offsets != nullptr; }
    /// The same mask from row `first` on.
    mask_view from(std::size_t first) const {
        return {offsets ? offsets + first : nullptr, classes};
    }
};

/// A set of examples; exactly one of tokens and features is non-empty, and exactly one of labels
/// (classification) and targets (regression).
struct example_set {
    xt::xtensor<std::int32_t, 2> tokens{std::array<std::size_t, 2>{0, 0}}; ///< (n, n_tokens)
    xt::xtensor<float, 2> features{std::array<std::size_t, 2>{0, 0}};      ///< (n, n_features)
    xt::xtensor<std::int32_t, 1> labels{std::array<std::size_t, 1>{0}};    ///< (n,) as trained on
    xt::xtensor<float, 2> targets{std::array<std::size_t, 2>{0, 0}};       ///< (n, n_targets)
    class_mask mask; ///< allowed classes per example; empty for all

    std::size_t size() const { return targets.size() ? targets.shape()[0] : labels.size(); }
};

/// A read-only view of `n` consecutive examples (or a gathered copy of them).
struct batch {
    const std::int32_t* tokens = nullptr; ///< (n, n_tokens) row-major, or null
    const float* features = nullptr;      ///< (n, n_features) row-major, or null
    const std::int32_t* labels = nullptr; ///< (n,), or null when not needed
    const float* targets = nullptr;       ///< (n, n_targets) row-major, for regression
    std::size_t n_targets = 0;            ///< width of a targets row
    mask_view mask;                       ///< allowed classes, or null for all
    std::size_t n = 0;
};

/// The whole of a set as one batch.
batch as_batch(const example_set& s);
/// Examples [first, first + count) of a set as one batch (a view, not a copy).
batch slice_batch(const example_set& s, std::size_t first, std::size_t count);
/// A view of a whole mask (null when it is empty).
mask_view view_of(const class_mask& m);

/// An integer array a dataset records in the run file under /dataset (split indices, noise).
struct dataset_record {
    std::string name;               ///< dataset name under /dataset
    std::string doc;                ///< stored as the `doc` attribute
    std::vector<std::size_t> shape; ///< row-major shape of values
    std::vector<std::int64_t> values;
};

/// A record of `values` (any integer type) with `shape`, by default one-dimensional.
template <typename T>
dataset_record make_record(std::string name, std::string doc, const std::vector<T>& values,
                           std::vector<std::size_t> shape = {}) {
    if (shape.empty())
        shape = {values.size()};
    return {std::move(name), std::move(doc), std::move(shape),
            std::vector<std::int64_t>(values.begin(), values.end())};
}

/// Which training labels add_label_noise() replaced.
struct label_noise {
    std::vector<std::size_t> positions;    ///< sorted positions within the train set
    std::vector<std::int64_t> true_labels; ///< the labels they had before
};

/// Replaces exactly floor(fraction · n_train) training labels, at the first positions of
/// rng(seed, "noise").permutation(n_train), by another class drawn uniformly from the
/// n_classes − 1 others with rng(seed, "noise", 1) (with two classes: the flip). The test set
/// stays clean; the caller records the result (noisy_index, true_label).
label_noise add_label_noise(example_set& train, double fraction, std::uint64_t seed,
                            std::size_t n_classes);

/// A scalar a dataset records as an attribute of /dataset (modulus, relevant bits).
struct dataset_attribute {
    std::string name;
    std::int64_t value;
};

/// A string a dataset records as an attribute of /dataset (the SHA-256 of the games it read).
struct dataset_text {
    std::string name;
    std::string value;
};

/// Everything a dataset generates for one run.
struct dataset_split {
    example_set train;
    example_set test;
    std::vector<dataset_record> records;
    std::vector<dataset_attribute> attributes;
    std::vector<dataset_text> texts;
};

} // namespace grokkit
