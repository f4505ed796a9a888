// The sparse parity dataset: relevant bits, inputs, parity labels, the split, label noise, records.
// SPDX-License-Identifier: Apache-2.0
#include "sparse_parity.hpp"

#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sparse_parity {

namespace {

// n_examples × n_bits floats are held in memory: 2^20 examples of 62 bits is about 260 MB.
constexpr std::int64_t max_examples = std::int64_t{1} << 20;

std::string number_text(double x) {
    std::ostringstream os;
    os << x; // 0.1, not std::to_string's 0.100000
    return os.str();
}

std::string list_text(const std::vector<std::int64_t>& xs) {
    std::string s = "[";
    for (std::size_t i = 0; i < xs.size(); ++i)
        s += (i ? ", " : "") + std::to_string(xs[i]);
    return s + "]";
}

std::optional<std::string> k_problem(const params& p) {
    if (p.k <= p.n_bits)
        return std::nullopt;
    return std::to_string(p.k) + " relevant bits of only n_bits = " + std::to_string(p.n_bits);
}

std::optional<std::string> n_examples_problem(const params& p) {
    // The n_bits rule keeps 2^n_bits within 64 bits; it binds only for small n_bits.
    if (p.n_bits < 1 || p.n_bits > 62)
        return std::nullopt;
    const std::int64_t n_inputs = std::int64_t{1} << p.n_bits;
    if (p.n_examples <= n_inputs)
        return std::nullopt;
    return std::to_string(p.n_examples) + " examples of only 2^" + std::to_string(p.n_bits) +
           " = " + std::to_string(n_inputs) + " distinct inputs";
}

std::optional<std::string> relevant_bits_problem(const params& p) {
    const std::vector<std::int64_t>& bits = p.relevant_bits;
    if (bits.empty())
        return std::nullopt; // drawn from the run seed
    if (static_cast<std::int64_t>(bits.size()) != p.k)
        return list_text(bits) + " has " + std::to_string(bits.size()) +
               " elements but k = " + std::to_string(p.k);
    for (const std::int64_t b : bits)
        if (b < 0 || b >= p.n_bits)
            return list_text(bits) + " holds " + std::to_string(b) +
                   ", not a position of n_bits = " + std::to_string(p.n_bits) + " bits";
    std::vector<std::int64_t> sorted = bits;
    std::sort(sorted.begin(), sorted.end());
    const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
    if (twice != sorted.end())
        return list_text(bits) + " repeats bit " + std::to_string(*twice);
    return std::nullopt;
}

std::optional<std::string> train_fraction_problem(const params& p) {
    if (std::floor(p.train_fraction * double(p.n_examples)) >= 1)
        return std::nullopt;
    return number_text(p.train_fraction) + " of " + std::to_string(p.n_examples) +
           " examples trains on none";
}

// The rules across keys, shared by declare() (checked before a run) and generate() (direct use).
struct cross_key_rule {
    const char* key;
    const char* expected;
    std::optional<std::string> (*problem)(const params&);
};

constexpr cross_key_rule cross_key_rules[] = {
    {"k", "k <= n_bits", &k_problem},
    {"n_examples", "n_examples <= 2^n_bits", &n_examples_problem},
    {"relevant_bits", "k distinct positions in [0, n_bits), or [] to draw them from the run seed",
     &relevant_bits_problem},
    {"train_fraction", "a fraction that keeps at least one example for training",
     &train_fraction_problem},
};

struct drawn_data {
    std::vector<std::int64_t> relevant_bits; // sorted
    std::vector<std::uint64_t> inputs;       // bit j of inputs[i] is bit j of example i
    std::vector<std::int32_t> labels;        // true parity of each example
};

struct split_index {
    std::vector<std::size_t> train; // positions into inputs, in training-set order
    std::vector<std::size_t> test;
};

// The given bits, or the first k of a seeded permutation of all positions; sorted either way.
std::vector<std::int64_t> choose_relevant_bits(const params& p, std::uint64_t seed) {
    std::vector<std::int64_t> bits = p.relevant_bits;
    if (bits.empty()) {
        const std::vector<std::size_t> perm =
            grokkit::rng(seed, "relevant").permutation(static_cast<std::size_t>(p.n_bits));
        bits.assign(perm.begin(), perm.begin() + p.k);
    }
    std::sort(bits.begin(), bits.end());
    return bits;
}

// Example i is the low n_bits bits of the i-th draw: every bit an independent fair coin, and
// duplicates possible. With n = 2^n_bits every input appears exactly once, in shuffled order.
std::vector<std::uint64_t> draw_inputs(std::size_t n_bits, std::size_t n, std::uint64_t seed) {
    grokkit::rng draw(seed, "examples");
    if (n == std::size_t{1} << n_bits) {
        const std::vector<std::size_t> perm = draw.permutation(n);
        return std::vector<std::uint64_t>(perm.begin(), perm.end());
    }
    const std::uint64_t mask = (std::uint64_t{1} << n_bits) - 1;
    std::vector<std::uint64_t> inputs(n);
    for (std::uint64_t& x : inputs)
        x = draw.next_u64() & mask;
    return inputs;
}

drawn_data draw_data(const params& p, std::uint64_t seed) {
    drawn_data d;
    d.relevant_bits = choose_relevant_bits(p, seed);
    d.inputs = draw_inputs(static_cast<std::size_t>(p.n_bits),
                           static_cast<std::size_t>(p.n_examples), seed);
    std::uint64_t relevant_mask = 0;
    for (const std::int64_t b : d.relevant_bits)
        relevant_mask |= std::uint64_t{1} << b;
    d.labels.resize(d.inputs.size());
    for (std::size_t i = 0; i < d.inputs.size(); ++i)
        d.labels[i] = std::popcount(d.inputs[i] & relevant_mask) & 1; // XOR of the relevant bits
    return d;
}

// The examples at `index`, in that order. pm1 maps bit b to 1 - 2b, so the label is 1 exactly
// when the product of the relevant features is -1 (Barak et al.'s y = prod x_i).
grokkit::example_set make_examples(const drawn_data& d, const std::vector<std::size_t>& index,
                                   std::size_t n_bits, bool pm1) {
    grokkit::example_set s;
    s.features = xt::xtensor<float, 2>::from_shape({index.size(), n_bits}); // (n, n_bits)
    s.labels = xt::xtensor<std::int32_t, 1>::from_shape({index.size()});
    for (std::size_t i = 0; i < index.size(); ++i) {
        const std::uint64_t x = d.inputs[index[i]];
        for (std::size_t j = 0; j < n_bits; ++j) {
            const auto b = static_cast<float>((x >> j) & 1);
            s.features(i, j) = pm1 ? 1.0f - 2.0f * b : b;
        }
        s.labels(i) = d.labels[index[i]];
    }
    return s;
}

// Every record is one-dimensional; empty ones keep shape {0} so readers need no special case.
std::vector<grokkit::dataset_record> make_records(const drawn_data& d, const split_index& split,
                                                  const grokkit::label_noise& noise) {
    return {
        grokkit::make_record("relevant_bits",
                             "the k bit positions whose parity is the label, sorted",
                             d.relevant_bits),
        grokkit::make_record("train_index", "training examples, as indices into inputs",
                             split.train),
        grokkit::make_record("test_index", "test examples, as indices into inputs", split.test),
        grokkit::make_record("inputs", "every example as a bit mask: bit j is input bit j (0/1)",
                             d.inputs),
        grokkit::make_record("labels", "true label of every example, before label noise", d.labels),
        grokkit::make_record("noisy_index",
                             "positions within the train set whose labels were flipped",
                             noise.positions),
        grokkit::make_record("true_label", "true labels at noisy_index", noise.true_labels),
    };
}

} // namespace

std::vector<grokkit::diagnostic> cross_key_problems(const params& p, const std::string& where) {
    std::vector<grokkit::diagnostic> found;
    for (const cross_key_rule& r : cross_key_rules)
        if (const auto what = r.problem(p))
            found.push_back(grokkit::diagnostic{where, r.key, *what, r.expected});
    return found;
}

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("n_bits", p.n_bits, "n; every input is n bits, each a fair coin")
        .at_least(1)
        .at_most(62); // inputs are held as 64-bit masks, and 2^n_bits must fit
    ps.add("k", p.k, "number of relevant bits; the label is their parity (XOR); k <= n_bits")
        .at_least(1);
    ps.add("n_examples", p.n_examples,
           "inputs drawn, train and test together (duplicates possible); n_examples = 2^n_bits "
           "enumerates every input once")
        .at_least(2)
        .at_most(double(max_examples));
    ps.add("train_fraction", p.train_fraction,
           "share of examples to train on; n_train = floor(train_fraction * n_examples)")
        .above(0)
        .below(1);
    ps.add("encoding", p.encoding, "features: pm1 maps bit b to 1 - 2b (+1 or -1), 01 keeps b")
        .one_of({"pm1", "01"});
    ps.add("label_noise", p.label_noise,
           "share of training labels flipped, exactly floor(label_noise * n_train) (run seed); "
           "test stays clean")
        .at_least(0)
        .below(1);
    ps.add("split_seed", p.split_seed, "seed of the train/test split; -1 uses the run seed")
        .at_least(-1);
    ps.add("relevant_bits", p.relevant_bits,
           "the k relevant bit positions, 0-based; [] draws them from the run seed")
        .at_least(0)
        .at_most(61);
    for (const cross_key_rule& r : cross_key_rules)
        ps.check(r.key, r.expected, [&p, problem = r.problem] { return problem(p); });
}

grokkit::input_spec dataset_impl::spec() const {
    grokkit::input_spec s;
    s.n_features = static_cast<std::size_t>(m_params.n_bits);
    s.n_classes = 2;
    return s;
}

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    // For direct callers (the host checked them): a shift by n_bits >= 64 or a huge
    // allocation would follow from values that break the rules.
    grokkit::check_declared(*this, "sparse_parity.generate");
    const drawn_data d = draw_data(m_params, seed);

    const std::size_t n = d.inputs.size();
    const auto n_train = static_cast<std::size_t>(std::floor(m_params.train_fraction * double(n)));
    const std::uint64_t split_seed =
        m_params.split_seed >= 0 ? static_cast<std::uint64_t>(m_params.split_seed) : seed;
    const std::vector<std::size_t> perm = grokkit::rng(split_seed, "split").permutation(n);
    const split_index split{{perm.begin(), perm.begin() + long(n_train)},
                            {perm.begin() + long(n_train), perm.end()}};

    const auto n_bits = static_cast<std::size_t>(m_params.n_bits);
    const bool pm1 = m_params.encoding == "pm1";
    grokkit::dataset_split out;
    out.train = make_examples(d, split.train, n_bits, pm1);
    out.test = make_examples(d, split.test, n_bits, pm1);
    const grokkit::label_noise noise =
        grokkit::add_label_noise(out.train, m_params.label_noise, seed, 2);

    out.records = make_records(d, split, noise);
    out.attributes = {{"n_bits", m_params.n_bits},
                      {"k", m_params.k},
                      {"n_examples", static_cast<std::int64_t>(n)},
                      {"n_train", static_cast<std::int64_t>(n_train)}};
    return out;
}

} // namespace sparse_parity
