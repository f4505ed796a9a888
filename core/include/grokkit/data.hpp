// What a dataset hands to models and analyses: the input spec and the train/test examples.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// The shape of a dataset's inputs and targets; models check it when they are built.
struct input_spec {
    std::size_t n_tokens = 0;             ///< sequence length of token inputs; 0 for dense features
    std::size_t vocab_size = 0;           ///< token ids lie in [0, vocab_size)
    std::size_t n_features = 0;           ///< width of dense feature inputs; 0 for token inputs
    std::size_t n_classes = 0;            ///< labels lie in [0, n_classes)
    std::vector<std::string> token_names; ///< optional, one per position ("a", "b", "=")

    bool has_tokens() const { return n_tokens > 0; }
    /// "tokens (2 positions, vocabulary 113), 113 classes" for error messages.
    std::string describe() const;
};

/// A set of examples; exactly one of tokens and features is non-empty.
struct example_set {
    xt::xtensor<std::int32_t, 2> tokens{std::array<std::size_t, 2>{0, 0}}; ///< (n, n_tokens)
    xt::xtensor<float, 2> features{std::array<std::size_t, 2>{0, 0}};      ///< (n, n_features)
    xt::xtensor<std::int32_t, 1> labels{std::array<std::size_t, 1>{0}};    ///< (n,) as trained on

    std::size_t size() const { return labels.size(); }
};

/// A read-only view of `n` consecutive examples (or a gathered copy of them).
struct batch {
    const std::int32_t* tokens = nullptr; ///< (n, n_tokens) row-major, or null
    const float* features = nullptr;      ///< (n, n_features) row-major, or null
    const std::int32_t* labels = nullptr; ///< (n,), or null when not needed
    std::size_t n = 0;
};

/// The whole of a set as one batch.
batch as_batch(const example_set& s);

/// An integer array a dataset records in the run file under /dataset (split indices, noise).
struct dataset_record {
    std::string name;               ///< dataset name under /dataset
    std::string doc;                ///< stored as the `doc` attribute
    std::vector<std::size_t> shape; ///< row-major shape of values
    std::vector<std::int64_t> values;
};

/// A scalar a dataset records as an attribute of /dataset (modulus, relevant bits).
struct dataset_attribute {
    std::string name;
    std::int64_t value;
};

/// Everything a dataset generates for one run.
struct dataset_split {
    example_set train;
    example_set test;
    std::vector<dataset_record> records;
    std::vector<dataset_attribute> attributes;
};

} // namespace grokkit
