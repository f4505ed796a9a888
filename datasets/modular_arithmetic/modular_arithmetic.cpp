// The modular arithmetic dataset: pairs, labels, the seeded split, label noise and its records.
// SPDX-License-Identifier: Apache-2.0
#include "modular_arithmetic.hpp"

#include <grokkit/error.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modular_arithmetic {

namespace {

// Power et al. (2022)'s binary operations on residues, plus a+b over unordered pairs (PAIR).
const std::vector<std::string> operation_list = {
    "a+b",        "a-b",          "a*b",    "a/b",        "a/b_or_a-b", "a^2+b^2",
    "a^2+ab+b^2", "a^2+ab+b^2+a", "a^3+ab", "a^3+ab^2+b", "a+b_sym"};

enum class operation {
    add,
    sub,
    mul,
    div,
    div_or_sub,
    sq_sum,
    quad,
    quad_a,
    cube_ab,
    cube_ab2_b,
    add_sym
};

operation parse_operation(const std::string& s) {
    if (s == "a+b")
        return operation::add;
    if (s == "a-b")
        return operation::sub;
    if (s == "a*b")
        return operation::mul;
    if (s == "a/b")
        return operation::div;
    if (s == "a/b_or_a-b")
        return operation::div_or_sub;
    if (s == "a^2+b^2")
        return operation::sq_sum;
    if (s == "a^2+ab+b^2")
        return operation::quad;
    if (s == "a^2+ab+b^2+a")
        return operation::quad_a;
    if (s == "a^3+ab")
        return operation::cube_ab;
    if (s == "a^3+ab^2+b")
        return operation::cube_ab2_b;
    if (s == "a+b_sym")
        return operation::add_sym;
    // declare() rejects anything else before a run starts; this guards direct use of the class.
    throw grokkit::error(grokkit::diagnostic{"modular_arithmetic.generate", "operation",
                                             "unknown operation \"" + s + "\"",
                                             "one of " + grokkit::join(operation_list)});
}

// The inverse of b mod p by the extended Euclidean algorithm; b and p are coprime.
std::int64_t inverse_mod(std::int64_t b, std::int64_t p) {
    std::int64_t r0 = p, r1 = b, t0 = 0, t1 = 1;
    while (r1 != 0) {
        const std::int64_t q = r0 / r1;
        r0 = std::exchange(r1, r0 - q * r1);
        t0 = std::exchange(t1, t0 - q * t1);
    }
    return t0 < 0 ? t0 + p : t0;
}

// a, b in [0, p) with p < 2^31, so every product of two residues fits in 63 bits.
std::int64_t apply(operation o, std::int64_t a, std::int64_t b, std::int64_t p) {
    switch (o) {
    case operation::add:
    case operation::add_sym:
        return (a + b) % p;
    case operation::sub:
        return (a - b + p) % p;
    case operation::mul:
        return a * b % p;
    case operation::div:
        return a * inverse_mod(b, p) % p;
    case operation::div_or_sub:
        return b % 2 == 1 ? a * inverse_mod(b, p) % p : (a - b + p) % p;
    case operation::sq_sum:
        return (a * a % p + b * b % p) % p;
    case operation::quad:
        return (a * a % p + a * b % p + b * b % p) % p;
    case operation::quad_a:
        return (a * a % p + a * b % p + b * b % p + a) % p;
    case operation::cube_ab:
        return (a * a % p * a % p + a * b % p) % p;
    case operation::cube_ab2_b:
        return (a * a % p * a % p + a * b % p * b % p + b) % p;
    }
    return 0;
}

// Every admissible pair in row-major order: a outer, b inner.
std::vector<std::array<std::int64_t, 2>> enumerate_pairs(operation o, std::int64_t p) {
    std::vector<std::array<std::int64_t, 2>> pairs;
    for (std::int64_t a = 0; a < p; ++a) {
        const std::int64_t b_first = o == operation::div ? 1 : o == operation::add_sym ? a : 0;
        for (std::int64_t b = b_first; b < p; ++b)
            pairs.push_back({a, b});
    }
    return pairs;
}

// The examples at `index` (positions into pairs/labels), in that order.
grokkit::example_set make_examples(const std::vector<std::array<std::int64_t, 2>>& pairs,
                                   const std::vector<std::int64_t>& labels,
                                   const std::vector<std::size_t>& index, std::size_t n_tokens,
                                   std::int64_t p) {
    grokkit::example_set s;
    s.tokens = xt::xtensor<std::int32_t, 2>::from_shape({index.size(), n_tokens});
    s.labels = xt::xtensor<std::int32_t, 1>::from_shape({index.size()});
    for (std::size_t i = 0; i < index.size(); ++i) {
        const auto& [a, b] = pairs[index[i]];
        s.tokens(i, 0) = static_cast<std::int32_t>(a);
        s.tokens(i, 1) = static_cast<std::int32_t>(b);
        if (n_tokens == 3)
            s.tokens(i, 2) = static_cast<std::int32_t>(p); // "="
        s.labels(i) = static_cast<std::int32_t>(labels[index[i]]);
    }
    return s;
}

// The split and its noise as run-file records; empty ones keep shape {0} so readers need no
// special case.
std::vector<grokkit::dataset_record>
make_records(const std::vector<std::array<std::int64_t, 2>>& pairs,
             const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& train_index,
             const std::vector<std::size_t>& test_index, const grokkit::label_noise& noise) {
    std::vector<std::int64_t> flat_pairs;
    flat_pairs.reserve(2 * pairs.size());
    for (const auto& [a, b] : pairs)
        flat_pairs.insert(flat_pairs.end(), {a, b});
    return {
        grokkit::make_record("train_index", "training examples, as indices into pairs",
                             train_index),
        grokkit::make_record("test_index", "test examples, as indices into pairs", test_index),
        grokkit::make_record("pairs", "every input pair (a, b) in row-major order", flat_pairs,
                             {pairs.size(), 2}),
        grokkit::make_record("labels", "true label of every pair, before label noise", labels),
        grokkit::make_record("noisy_index",
                             "positions within the train set whose labels were replaced",
                             noise.positions),
        grokkit::make_record("true_label", "true labels at noisy_index", noise.true_labels),
    };
}

void throw_if_empty_train(std::size_t n_train, std::size_t n_pairs, double fraction) {
    if (n_train > 0)
        return;
    throw grokkit::error(grokkit::diagnostic{
        "modular_arithmetic.generate", "train_fraction",
        std::to_string(fraction) + " of " + std::to_string(n_pairs) + " pairs is no pair at all",
        "a fraction that keeps at least one pair for training"});
}

} // namespace

bool is_prime(std::int64_t n) {
    if (n < 2)
        return false;
    for (std::int64_t d = 2; d * d <= n; ++d)
        if (n % d == 0)
            return false;
    return true;
}

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("modulus", p.modulus, "p; inputs are all pairs (a, b) with 0 <= a, b < p")
        .at_least(2)
        .at_most(4096); // p^2 pairs are held in memory
    ps.add("operation", p.operation,
           "label a o b mod p; a/b is a * b^-1 over b != 0; a/b_or_a-b is a/b for odd b, else "
           "a-b; a+b_sym uses pairs a <= b only")
        .one_of(operation_list);
    ps.add("train_fraction", p.train_fraction,
           "share of pairs to train on; n_train = floor(train_fraction * n_pairs)")
        .above(0)
        .below(1);
    ps.add("split_seed", p.split_seed, "seed of the train/test split; -1 uses the run seed")
        .at_least(-1);
    ps.add("label_noise", p.label_noise,
           "share of training labels replaced by another class (run seed); test stays clean")
        .at_least(0)
        .below(1);
    ps.add("equals_token", p.equals_token,
           "append the token \"=\" (id p) as in Nanda et al. (2023); vocabulary p + 1");
    ps.check("operation", "a prime modulus for a/b and a/b_or_a-b",
             [&p]() -> std::optional<std::string> {
                 const bool divides = p.operation == "a/b" || p.operation == "a/b_or_a-b";
                 if (!divides || is_prime(p.modulus))
                     return std::nullopt;
                 return "\"" + p.operation + "\" with modulus " + std::to_string(p.modulus) +
                        ", which is not prime";
             });
}

grokkit::input_spec dataset_impl::spec() const {
    const auto p = static_cast<std::size_t>(m_params.modulus);
    grokkit::input_spec s;
    s.n_tokens = m_params.equals_token ? 3 : 2;
    s.vocab_size = m_params.equals_token ? p + 1 : p;
    s.n_classes = p;
    s.token_names = {"a", "b"};
    if (m_params.equals_token)
        s.token_names.push_back("=");
    return s;
}

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    const std::int64_t p = m_params.modulus;
    if (p > std::numeric_limits<std::int32_t>::max() - 1)
        throw grokkit::error(grokkit::diagnostic{"modular_arithmetic.generate", "modulus",
                                                 std::to_string(p) + " does not fit token ids",
                                                 "a modulus below 2^31 - 1"});
    const operation op = parse_operation(m_params.operation);
    const auto pairs = enumerate_pairs(op, p);
    std::vector<std::int64_t> labels(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i)
        labels[i] = apply(op, pairs[i][0], pairs[i][1], p);

    const std::size_t n = pairs.size();
    const auto n_train = static_cast<std::size_t>(std::floor(m_params.train_fraction * double(n)));
    throw_if_empty_train(n_train, n, m_params.train_fraction);
    const std::uint64_t split_seed =
        m_params.split_seed >= 0 ? static_cast<std::uint64_t>(m_params.split_seed) : seed;
    const std::vector<std::size_t> perm = grokkit::rng(split_seed, "split").permutation(n);
    const std::vector<std::size_t> train_index(perm.begin(), perm.begin() + long(n_train));
    const std::vector<std::size_t> test_index(perm.begin() + long(n_train), perm.end());

    const std::size_t n_tokens = m_params.equals_token ? 3 : 2;
    grokkit::dataset_split out;
    out.train = make_examples(pairs, labels, train_index, n_tokens, p);
    out.test = make_examples(pairs, labels, test_index, n_tokens, p);
    const grokkit::label_noise noise = grokkit::add_label_noise(out.train, m_params.label_noise,
                                                                seed, static_cast<std::size_t>(p));

    out.records = make_records(pairs, labels, train_index, test_index, noise);
    out.attributes = {{"modulus", p},
                      {"n_pairs", static_cast<std::int64_t>(n)},
                      {"n_train", static_cast<std::int64_t>(n_train)}};
    return out;
}

} // namespace modular_arithmetic
