// The my_modsum dataset plugin: every pair (a, b) mod p labelled (a + b + offset) mod p.
// SPDX-License-Identifier: Apache-2.0
//
// A template for your own dataset. A dataset plugin is one class derived from grokkit::dataset
// with three member functions, plus one GROKKIT_DEFINE_PLUGIN line at the bottom:
//   declare()  binds each parameter to a field and states its doc and rules; the host fills the
//              fields from the pipeline's [dataset] table and reports every broken rule before
//              anything runs (`grokkit plugins --describe my_modsum` prints the table);
//   spec()     says what the inputs and labels look like, so models can check they fit;
//   generate() builds the train and test sets from the parameters and the run seed only.
// Plugins include only <grokkit/...> headers, and must have no static objects with
// constructors (nothing may run at dlopen time).
#include <grokkit/dataset.hpp>
#include <grokkit/params.hpp>
#include <grokkit/plugin.hpp>
#include <grokkit/rng.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace my_modsum {

/// The parameters, with their defaults; declare() binds these fields.
struct params {
    std::int64_t modulus = 23;
    std::int64_t offset = 0;
    double train_fraction = 0.5;
};

class dataset_impl : public grokkit::dataset {
  public:
    void declare(grokkit::param_set& ps) override;
    grokkit::input_spec spec() const override;
    grokkit::dataset_split generate(std::uint64_t seed) const override;

  private:
    params m_params;
};

void dataset_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    // The upper bound keeps the p² pairs small enough to hold in memory several times over.
    ps.add("modulus", p.modulus, "p; inputs are all pairs (a, b) with 0 <= a, b < p")
        .at_least(2)
        .at_most(1000);
    ps.add("offset", p.offset, "added before reducing: label = (a + b + offset) mod p");
    ps.add("train_fraction", p.train_fraction,
           "share of pairs to train on; n_train = floor(train_fraction * p^2)")
        .above(0)
        .below(1);
    // A rule across keys: the host runs it only once every key is valid on its own, and reports
    // a broken rule at the `train_fraction` line of the pipeline file.
    ps.check("train_fraction", "a fraction that keeps at least one pair for training",
             [&p]() -> std::optional<std::string> {
                 const std::int64_t n = p.modulus * p.modulus;
                 if (std::floor(p.train_fraction * double(n)) >= 1)
                     return std::nullopt;
                 return "keeps no pair: floor(train_fraction * " + std::to_string(n) + ") = 0";
             });
}

grokkit::input_spec dataset_impl::spec() const {
    const auto p = static_cast<std::size_t>(m_params.modulus);
    grokkit::input_spec s;
    s.n_tokens = 2;   // the tokens a and b (the shipped "mlp" model takes exactly two)
    s.vocab_size = p; // token ids are residues 0..p-1
    s.n_classes = p;  // so are labels
    s.token_names = {"a", "b"};
    return s;
}

namespace {

// The examples at `index` (pair numbers i = a * p + b), in that order.
grokkit::example_set make_examples(const std::vector<std::size_t>& index, std::int64_t p,
                                   std::int64_t offset) {
    grokkit::example_set s;
    s.tokens = xt::xtensor<std::int32_t, 2>::from_shape({index.size(), 2});
    s.labels = xt::xtensor<std::int32_t, 1>::from_shape({index.size()});
    // Reduce offset first: it may be negative or huge, and a + b + offset could overflow.
    const std::int64_t shift = ((offset % p) + p) % p;
    for (std::size_t k = 0; k < index.size(); ++k) {
        const auto i = static_cast<std::int64_t>(index[k]);
        const std::int64_t a = i / p, b = i % p;
        s.tokens(k, 0) = static_cast<std::int32_t>(a);
        s.tokens(k, 1) = static_cast<std::int32_t>(b);
        s.labels(k) = static_cast<std::int32_t>((a + b + shift) % p);
    }
    return s;
}

grokkit::dataset_record index_record(const char* name, const char* doc,
                                     const std::vector<std::size_t>& index) {
    return {name, doc, {index.size()}, std::vector<std::int64_t>(index.begin(), index.end())};
}

} // namespace

grokkit::dataset_split dataset_impl::generate(std::uint64_t seed) const {
    // The host checked the declared rules; this gives direct callers (tests, tools) the same.
    grokkit::check_declared(*this, "my_modsum.generate");
    const std::int64_t p = m_params.modulus;
    const auto n = static_cast<std::size_t>(p * p);
    const auto n_train = static_cast<std::size_t>(std::floor(m_params.train_fraction * double(n)));

    // Shuffle with grokkit's counter-based generator, keyed by the run seed and a purpose string:
    // the split is reproducible on every machine and independent of the model's random draws.
    const std::vector<std::size_t> perm = grokkit::rng(seed, "split").permutation(n);
    const std::vector<std::size_t> train_index(perm.begin(), perm.begin() + long(n_train));
    const std::vector<std::size_t> test_index(perm.begin() + long(n_train), perm.end());

    grokkit::dataset_split out;
    out.train = make_examples(train_index, p, m_params.offset);
    out.test = make_examples(test_index, p, m_params.offset);
    // Saved under /dataset in the run file, so analyses can recover the split without
    // re-implementing it. The host already stores n_train, n_test and the examples themselves.
    out.records = {
        index_record("train_index", "training examples, as pair numbers a * p + b", train_index),
        index_record("test_index", "test examples, as pair numbers a * p + b", test_index),
    };
    out.attributes = {{"modulus", p}, {"offset", m_params.offset}};
    return out;
}

} // namespace my_modsum

// The library's one exported entry: class, `plugin =` name, plugin version, kind, one-line
// summary for `grokkit plugins`. It also stamps the SDK's API version and ABI fingerprint, which
// the host checks before it trusts anything else in the library.
GROKKIT_DEFINE_PLUGIN(my_modsum::dataset_impl, "my_modsum", "0.1.0", grokkit::plugin_kind::dataset,
                      "all pairs (a, b) mod p labelled (a + b + offset) mod p; template plugin")
