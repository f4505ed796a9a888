// Unit tests of the modular_arithmetic dataset, linked to its object files (no dlopen).
// SPDX-License-Identifier: Apache-2.0
#include "modular_arithmetic.hpp"

#include <grokkit/error.hpp>
#include <grokkit/params.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using setting = std::pair<std::string, grokkit::param_value>;

// A dataset with its parameters bound and assigned, as the host does it. Not copyable: the
// param_set holds references into the dataset.
struct configured {
    explicit configured(const std::vector<setting>& settings) {
        ds.declare(ps);
        for (const auto& [key, value] : settings) {
            grokkit::param* p = ps.find(key);
            REQUIRE(p != nullptr);
            const auto problem = p->assign(value);
            INFO(key << ": " << problem.value_or(""));
            REQUIRE_FALSE(problem.has_value());
        }
    }
    configured(const configured&) = delete;
    configured& operator=(const configured&) = delete;

    modular_arithmetic::dataset_impl ds;
    grokkit::param_set ps;
};

const grokkit::dataset_record& find_record(const grokkit::dataset_split& s,
                                           const std::string& name) {
    const auto it = std::find_if(s.records.begin(), s.records.end(),
                                 [&](const grokkit::dataset_record& r) { return r.name == name; });
    REQUIRE(it != s.records.end());
    return *it;
}

std::int64_t find_attribute(const grokkit::dataset_split& s, const std::string& name) {
    const auto it =
        std::find_if(s.attributes.begin(), s.attributes.end(),
                     [&](const grokkit::dataset_attribute& a) { return a.name == name; });
    REQUIRE(it != s.attributes.end());
    return it->value;
}

std::int64_t mod(std::int64_t x, std::int64_t p) {
    return ((x % p) + p) % p;
}

// The inverse by search, independent of the extended Euclid in the plugin.
std::int64_t brute_inverse(std::int64_t b, std::int64_t p) {
    for (std::int64_t x = 1; x < p; ++x)
        if (b * x % p == 1)
            return x;
    FAIL("no inverse of " << b << " mod " << p);
    return 0;
}

std::int64_t expected_label(const std::string& op, std::int64_t a, std::int64_t b, std::int64_t p) {
    if (op == "a+b" || op == "a+b_sym")
        return mod(a + b, p);
    if (op == "a-b")
        return mod(a - b, p);
    if (op == "a*b")
        return mod(a * b, p);
    if (op == "a/b")
        return mod(a * brute_inverse(b, p), p);
    if (op == "a/b_or_a-b")
        return b % 2 == 1 ? mod(a * brute_inverse(b, p), p) : mod(a - b, p);
    if (op == "a^2+b^2")
        return mod(a * a + b * b, p);
    if (op == "a^2+ab+b^2")
        return mod(a * a + a * b + b * b, p);
    if (op == "a^2+ab+b^2+a")
        return mod(a * a + a * b + b * b + a, p);
    if (op == "a^3+ab")
        return mod(a * a * a + a * b, p);
    if (op == "a^3+ab^2+b")
        return mod(a * a * a + a * b * b + b, p);
    FAIL("unknown operation " << op);
    return 0;
}

// The admissible pairs in row-major order, as the README documents them.
std::vector<std::int64_t> expected_pairs(const std::string& op, std::int64_t p) {
    std::vector<std::int64_t> flat;
    for (std::int64_t a = 0; a < p; ++a)
        for (std::int64_t b = 0; b < p; ++b)
            if (!(op == "a/b" && b == 0) && !(op == "a+b_sym" && a > b))
                flat.insert(flat.end(), {a, b});
    return flat;
}

// The examples at `index` must be the pairs and labels the records point at.
void check_examples_match_records(const grokkit::example_set& s,
                                  const grokkit::dataset_record& index,
                                  const grokkit::dataset_split& split) {
    const auto& pairs = find_record(split, "pairs").values;
    const auto& labels = find_record(split, "labels").values;
    REQUIRE(s.size() == index.values.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto k = static_cast<std::size_t>(index.values[i]);
        CHECK(s.tokens(i, 0) == pairs[2 * k]);
        CHECK(s.tokens(i, 1) == pairs[2 * k + 1]);
        CHECK(s.labels(i) == labels[k]);
    }
}

} // namespace

TEST_CASE("modular_arithmetic: labels match the formula for every operation",
          "[modular_arithmetic]") {
    const std::int64_t p = 7;
    const auto op = GENERATE(as<std::string>{}, "a+b", "a-b", "a*b", "a/b", "a/b_or_a-b", "a^2+b^2",
                             "a^2+ab+b^2", "a^2+ab+b^2+a", "a^3+ab", "a^3+ab^2+b", "a+b_sym");
    INFO("operation " << op);
    configured c({{"modulus", p}, {"operation", op}, {"train_fraction", 0.5}});
    const grokkit::dataset_split s = c.ds.generate(1);

    const auto& pairs = find_record(s, "pairs");
    const auto& labels = find_record(s, "labels");
    const std::vector<std::int64_t> want_pairs = expected_pairs(op, p);
    const std::size_t n = want_pairs.size() / 2;
    CHECK(n == (op == "a/b" ? 42u : op == "a+b_sym" ? 28u : 49u));
    REQUIRE(pairs.shape == std::vector<std::size_t>{n, 2});
    REQUIRE(pairs.values == want_pairs);
    REQUIRE(labels.shape == std::vector<std::size_t>{n});
    for (std::size_t i = 0; i < n; ++i)
        CHECK(labels.values[i] ==
              expected_label(op, pairs.values[2 * i], pairs.values[2 * i + 1], p));
    check_examples_match_records(s.train, find_record(s, "train_index"), s);
    check_examples_match_records(s.test, find_record(s, "test_index"), s);
}

TEST_CASE("modular_arithmetic: n_train is floor(train_fraction * n_pairs)",
          "[modular_arithmetic]") {
    SECTION("p = 113, all pairs, 0.3 gives 3830") {
        configured c({{"modulus", std::int64_t{113}}, {"train_fraction", 0.3}});
        const grokkit::dataset_split s = c.ds.generate(0);
        CHECK(s.train.size() == 3830);
        CHECK(s.test.size() == 12769 - 3830);
        CHECK(find_attribute(s, "n_pairs") == 12769);
        CHECK(find_attribute(s, "n_train") == 3830);
        CHECK(find_attribute(s, "modulus") == 113);
    }
    SECTION("p = 67, a+b_sym, 0.4 gives 911") {
        configured c({{"modulus", std::int64_t{67}},
                      {"operation", std::string{"a+b_sym"}},
                      {"train_fraction", 0.4}});
        const grokkit::dataset_split s = c.ds.generate(0);
        CHECK(s.train.size() == 911);
        CHECK(s.test.size() == 67 * 68 / 2 - 911);
        CHECK(find_attribute(s, "n_pairs") == 67 * 68 / 2);
        CHECK(find_attribute(s, "n_train") == 911);
    }
}

TEST_CASE("modular_arithmetic: train and test are disjoint and cover every pair",
          "[modular_arithmetic]") {
    configured c({{"modulus", std::int64_t{31}}, {"train_fraction", 0.37}});
    const grokkit::dataset_split s = c.ds.generate(3);
    const auto& train = find_record(s, "train_index");
    const auto& test = find_record(s, "test_index");
    CHECK(train.shape == std::vector<std::size_t>{train.values.size()});
    CHECK(test.shape == std::vector<std::size_t>{test.values.size()});

    std::vector<std::int64_t> all = train.values;
    all.insert(all.end(), test.values.begin(), test.values.end());
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> want(31 * 31);
    std::iota(want.begin(), want.end(), 0);
    CHECK(all == want); // a permutation of 0..n-1: no index twice, none missing
}

TEST_CASE("modular_arithmetic: the split is a pure function of the seed", "[modular_arithmetic]") {
    configured c({{"modulus", std::int64_t{23}}});
    const auto train_index = [&](std::uint64_t seed) {
        return find_record(c.ds.generate(seed), "train_index").values;
    };
    CHECK(train_index(5) == train_index(5));
    CHECK(train_index(5) != train_index(6));
    // The split is shuffled, not the row-major prefix.
    std::vector<std::int64_t> prefix(train_index(5).size());
    std::iota(prefix.begin(), prefix.end(), 0);
    CHECK(train_index(5) != prefix);
}

TEST_CASE("modular_arithmetic: split_seed overrides the run seed", "[modular_arithmetic]") {
    configured fixed({{"modulus", std::int64_t{23}}, {"split_seed", std::int64_t{42}}});
    configured by_run({{"modulus", std::int64_t{23}}});
    const auto train_index = [](const configured& c, std::uint64_t seed) {
        return find_record(c.ds.generate(seed), "train_index").values;
    };
    CHECK(train_index(fixed, 1) == train_index(fixed, 2));
    CHECK(train_index(fixed, 1) == train_index(by_run, 42));
    CHECK(train_index(fixed, 1) != train_index(by_run, 1));
}

TEST_CASE("modular_arithmetic: label noise replaces exactly floor(label_noise * n_train) labels",
          "[modular_arithmetic]") {
    const std::int64_t p = GENERATE(as<std::int64_t>{}, 2, 13);
    INFO("modulus " << p);
    configured c({{"modulus", p}, {"train_fraction", 0.75}, {"label_noise", 0.4}});
    const grokkit::dataset_split s = c.ds.generate(9);
    const auto& labels = find_record(s, "labels").values;
    const auto& train_index = find_record(s, "train_index").values;
    const auto& test_index = find_record(s, "test_index").values;
    const auto& noisy = find_record(s, "noisy_index");
    const auto& truth = find_record(s, "true_label");

    const std::size_t n_train = s.train.size();
    const auto n_noisy = static_cast<std::size_t>(0.4 * double(n_train)); // floor, positive
    CHECK(n_train == static_cast<std::size_t>(0.75 * double(p * p)));
    REQUIRE(noisy.values.size() == n_noisy);
    CHECK(noisy.shape == std::vector<std::size_t>{n_noisy});
    CHECK(truth.shape == std::vector<std::size_t>{n_noisy});
    CHECK(std::is_sorted(noisy.values.begin(), noisy.values.end()));
    CHECK(std::set<std::int64_t>(noisy.values.begin(), noisy.values.end()).size() == n_noisy);

    const std::set<std::int64_t> is_noisy(noisy.values.begin(), noisy.values.end());
    for (std::size_t i = 0; i < n_train; ++i) {
        const std::int64_t true_label = labels[static_cast<std::size_t>(train_index[i])];
        CHECK(s.train.labels(i) >= 0);
        CHECK(s.train.labels(i) < p);
        CHECK((s.train.labels(i) != true_label) == (is_noisy.count(std::int64_t(i)) == 1));
    }
    for (std::size_t j = 0; j < n_noisy; ++j) {
        const auto i = static_cast<std::size_t>(noisy.values[j]);
        CHECK(truth.values[j] == labels[static_cast<std::size_t>(train_index[i])]);
    }
    for (std::size_t i = 0; i < s.test.size(); ++i)
        CHECK(s.test.labels(i) == labels[static_cast<std::size_t>(test_index[i])]);
}

TEST_CASE("modular_arithmetic: without label noise the noise records are empty",
          "[modular_arithmetic]") {
    configured c({{"modulus", std::int64_t{11}}});
    const grokkit::dataset_split s = c.ds.generate(0);
    CHECK(find_record(s, "noisy_index").shape == std::vector<std::size_t>{0});
    CHECK(find_record(s, "true_label").shape == std::vector<std::size_t>{0});
    CHECK(find_record(s, "noisy_index").values.empty());
    check_examples_match_records(s.train, find_record(s, "train_index"), s);
}

TEST_CASE("modular_arithmetic: equals_token appends = with id p", "[modular_arithmetic]") {
    const std::int64_t p = 17;
    SECTION("without") {
        configured c({{"modulus", p}});
        const grokkit::input_spec spec = c.ds.spec();
        CHECK(spec.n_tokens == 2);
        CHECK(spec.vocab_size == 17);
        CHECK(spec.n_classes == 17);
        CHECK(spec.n_features == 0);
        CHECK(spec.token_names == std::vector<std::string>{"a", "b"});
        CHECK(c.ds.generate(0).train.tokens.shape(1) == 2);
    }
    SECTION("with") {
        configured c({{"modulus", p}, {"equals_token", true}});
        const grokkit::input_spec spec = c.ds.spec();
        CHECK(spec.n_tokens == 3);
        CHECK(spec.vocab_size == 18);
        CHECK(spec.n_classes == 17);
        CHECK(spec.token_names == std::vector<std::string>{"a", "b", "="});
        const grokkit::dataset_split s = c.ds.generate(0);
        for (const grokkit::example_set* set : {&s.train, &s.test}) {
            REQUIRE(set->tokens.shape(1) == 3);
            for (std::size_t i = 0; i < set->size(); ++i) {
                CHECK(set->tokens(i, 2) == p);
                CHECK(set->tokens(i, 0) < p);
                CHECK(set->tokens(i, 1) < p);
                CHECK(set->labels(i) < p);
            }
        }
        check_examples_match_records(s.train, find_record(s, "train_index"), s);
    }
}

TEST_CASE("modular_arithmetic: a/b and a/b_or_a-b need a prime modulus", "[modular_arithmetic]") {
    const auto problems = [](std::int64_t p, const std::string& op) {
        configured c({{"modulus", p}, {"operation", op}});
        std::vector<std::string> found;
        for (const grokkit::param_check& check : c.ps.checks()) {
            CHECK(check.key == "operation");
            CHECK(check.expected == "a prime modulus for a/b and a/b_or_a-b");
            if (const auto what = check.rule())
                found.push_back(*what);
        }
        return found;
    };
    const std::vector<std::string> refused = problems(12, "a/b");
    REQUIRE(refused.size() == 1);
    CHECK(refused[0] == "\"a/b\" with modulus 12, which is not prime");
    CHECK(problems(13, "a/b").empty());
    CHECK(problems(12, "a*b").empty());
    CHECK(problems(12, "a/b_or_a-b").size() == 1);
    CHECK(problems(13, "a/b_or_a-b").empty());
}

TEST_CASE("modular_arithmetic: rules refuse values outside their range", "[modular_arithmetic]") {
    modular_arithmetic::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    const auto refuses = [&](const std::string& key, const grokkit::param_value& v) {
        grokkit::param* p = ps.find(key);
        REQUIRE(p != nullptr);
        return p->assign(v).has_value();
    };
    CHECK(refuses("modulus", std::int64_t{1}));
    CHECK_FALSE(refuses("modulus", std::int64_t{2}));
    CHECK(refuses("operation", std::string{"a%b"}));
    CHECK(refuses("train_fraction", 0.0));
    CHECK(refuses("train_fraction", 1.0));
    CHECK(refuses("split_seed", std::int64_t{-2}));
    CHECK_FALSE(refuses("split_seed", std::int64_t{-1}));
    CHECK(refuses("label_noise", -0.1));
    CHECK(refuses("label_noise", 1.0));
    CHECK_FALSE(refuses("label_noise", 0.0));
}

TEST_CASE("modular_arithmetic: every parameter is declared with a doc", "[modular_arithmetic]") {
    modular_arithmetic::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        CHECK_FALSE(p.doc().empty());
    }
    CHECK(keys == std::vector<std::string>{"modulus", "operation", "train_fraction", "split_seed",
                                           "label_noise", "equals_token"});
}

TEST_CASE("modular_arithmetic: an empty train set is refused", "[modular_arithmetic]") {
    // 4 pairs at 0.1 would train on floor(0.4) = 0 of them.
    configured c({{"modulus", std::int64_t{2}}, {"train_fraction", 0.1}});
    CHECK_THROWS_AS(c.ds.generate(0), grokkit::error);
}
