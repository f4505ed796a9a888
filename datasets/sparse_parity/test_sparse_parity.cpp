// Unit tests of the sparse_parity dataset, linked to its object files (no dlopen).
// SPDX-License-Identifier: Apache-2.0
#include "sparse_parity.hpp"

#include <grokkit/error.hpp>
#include <grokkit/params.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using setting = std::pair<std::string, grokkit::param_value>;
using ints = std::vector<std::int64_t>;

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

    // The cross-key problems the host would report before a run, by key.
    std::map<std::string, std::string> cross_key_problems() const {
        std::map<std::string, std::string> found;
        for (const grokkit::param_check& check : ps.checks())
            if (const auto what = check.rule())
                found[check.key] = *what;
        return found;
    }

    sparse_parity::dataset_impl ds;
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

// Example i of `s` as a bit mask, read back from its features: pm1 has bit 1 as -1, 01 as 1.
std::uint64_t input_bits(const grokkit::example_set& s, std::size_t i, bool pm1) {
    std::uint64_t x = 0;
    for (std::size_t j = 0; j < s.features.shape(1); ++j) {
        const float v = s.features(i, j);
        REQUIRE((pm1 ? (v == 1.0f || v == -1.0f) : (v == 0.0f || v == 1.0f)));
        if (v == (pm1 ? -1.0f : 1.0f))
            x |= std::uint64_t{1} << j;
    }
    return x;
}

// The parity of the bits of x at `positions`, computed bit by bit, independent of the plugin's
// mask-and-popcount.
std::int32_t parity(std::uint64_t x, const ints& positions) {
    std::int32_t p = 0;
    for (const std::int64_t b : positions)
        p ^= static_cast<std::int32_t>((x >> b) & 1);
    return p;
}

ints relevant_bits(const configured& c, std::uint64_t seed) {
    return find_record(c.ds.generate(seed), "relevant_bits").values;
}

} // namespace

TEST_CASE("sparse_parity: labels are the parity of the recorded relevant bits in both encodings",
          "[sparse_parity]") {
    const auto encoding = GENERATE(as<std::string>{}, "pm1", "01");
    INFO("encoding " << encoding);
    const bool pm1 = encoding == "pm1";
    configured c({{"n_bits", std::int64_t{12}},
                  {"k", std::int64_t{4}},
                  {"n_examples", std::int64_t{500}},
                  {"encoding", encoding}});
    const grokkit::dataset_split s = c.ds.generate(4);
    const ints& relevant = find_record(s, "relevant_bits").values;
    const ints& inputs = find_record(s, "inputs").values;
    const ints& labels = find_record(s, "labels").values;
    REQUIRE(relevant.size() == 4);
    REQUIRE(inputs.size() == 500);
    REQUIRE(labels.size() == 500);

    const std::pair<const grokkit::example_set*, const char*> sets[] = {{&s.train, "train_index"},
                                                                        {&s.test, "test_index"}};
    for (const auto& [set, index_name] : sets) {
        const ints& index = find_record(s, index_name).values;
        REQUIRE(set->tokens.size() == 0);
        REQUIRE(set->features.shape(0) == index.size());
        REQUIRE(set->features.shape(1) == 12);
        for (std::size_t i = 0; i < set->size(); ++i) {
            const std::uint64_t x = input_bits(*set, i, pm1);
            const auto e = static_cast<std::size_t>(index[i]);
            CHECK(x == static_cast<std::uint64_t>(inputs[e]));
            CHECK(set->labels(i) == parity(x, relevant));
            CHECK(set->labels(i) == labels[e]);
        }
    }
}

TEST_CASE("sparse_parity: the input is dense features with two classes", "[sparse_parity]") {
    configured c({{"n_bits", std::int64_t{17}}});
    const grokkit::input_spec spec = c.ds.spec();
    CHECK(spec.n_features == 17);
    CHECK(spec.n_tokens == 0);
    CHECK(spec.vocab_size == 0);
    CHECK(spec.n_classes == 2);
    CHECK_FALSE(spec.has_tokens());
    const grokkit::dataset_split s = c.ds.generate(0);
    CHECK(s.train.features.shape(1) == 17);
    CHECK(s.test.features.shape(1) == 17);
    CHECK(find_attribute(s, "n_bits") == 17);
    CHECK(find_attribute(s, "k") == 3);
}

TEST_CASE("sparse_parity: relevant bits are a pure function of the seed", "[sparse_parity]") {
    configured c({});
    const ints bits = relevant_bits(c, 7);
    REQUIRE(bits.size() == 3);
    CHECK(std::is_sorted(bits.begin(), bits.end()));
    CHECK(std::adjacent_find(bits.begin(), bits.end()) == bits.end());
    CHECK(bits.front() >= 0);
    CHECK(bits.back() < 30);
    CHECK(relevant_bits(c, 7) == bits);

    // 30 choose 3 = 4060 subsets: ten seeds drawing the same one would be a broken stream.
    std::set<ints> seen;
    for (std::uint64_t seed = 0; seed < 10; ++seed)
        seen.insert(relevant_bits(c, seed));
    CHECK(seen.size() >= 9);
    CHECK(relevant_bits(c, 8) != bits);
}

TEST_CASE("sparse_parity: explicit relevant_bits are used and recorded sorted", "[sparse_parity]") {
    configured c({{"n_bits", std::int64_t{10}},
                  {"n_examples", std::int64_t{500}},
                  {"relevant_bits", ints{7, 2, 5}}});
    CHECK(c.cross_key_problems().empty());
    for (const std::uint64_t seed : {1u, 2u}) {
        const grokkit::dataset_split s = c.ds.generate(seed);
        CHECK(find_record(s, "relevant_bits").values == ints{2, 5, 7});
        for (std::size_t i = 0; i < s.train.size(); ++i)
            CHECK(s.train.labels(i) == parity(input_bits(s.train, i, true), {2, 5, 7}));
    }
}

TEST_CASE("sparse_parity: relevant_bits are validated", "[sparse_parity]") {
    SECTION("the element rule refuses negative positions and positions past 61") {
        sparse_parity::dataset_impl ds;
        grokkit::param_set ps;
        ds.declare(ps);
        grokkit::param* p = ps.find("relevant_bits");
        REQUIRE(p != nullptr);
        CHECK(p->assign(ints{1, -1, 2}) == "element -1 is out of range");
        CHECK(p->assign(ints{1, 62, 2}) == "element 62 is out of range");
        CHECK_FALSE(p->assign(ints{0, 61, 2}).has_value());
        CHECK_FALSE(p->assign(ints{}).has_value());
    }
    SECTION("the cross-key check refuses duplicates, positions >= n_bits and a count != k") {
        const auto problems = [](const ints& bits) {
            // 8 bits have 256 inputs: fewer examples than the default 1200, so n_examples is fine.
            configured c({{"n_bits", std::int64_t{8}},
                          {"n_examples", std::int64_t{200}},
                          {"relevant_bits", bits}});
            CHECK_THROWS_AS(c.ds.generate(0), grokkit::error);
            return c.cross_key_problems();
        };
        using problem_map = std::map<std::string, std::string>;
        CHECK(problems({2, 5, 2}) == problem_map{{"relevant_bits", "[2, 5, 2] repeats bit 2"}});
        CHECK(
            problems({1, 8, 3}) ==
            problem_map{{"relevant_bits", "[1, 8, 3] holds 8, not a position of n_bits = 8 bits"}});
        CHECK(problems({1, 2}) ==
              problem_map{{"relevant_bits", "[1, 2] has 2 elements but k = 3"}});
    }
    SECTION("the check names the rule") {
        configured c({});
        const auto& checks = c.ps.checks();
        const auto it = std::find_if(checks.begin(), checks.end(), [](const auto& check) {
            return check.key == "relevant_bits";
        });
        REQUIRE(it != checks.end());
        CHECK(it->expected ==
              "k distinct positions in [0, n_bits), or [] to draw them from the run seed");
    }
}

TEST_CASE("sparse_parity: cross-key rules bound k and n_examples by n_bits and keep a train set",
          "[sparse_parity]") {
    using problem_map = std::map<std::string, std::string>;
    const auto problems = [](const std::vector<setting>& settings) {
        configured c(settings);
        if (!c.cross_key_problems().empty())
            CHECK_THROWS_AS(c.ds.generate(0), grokkit::error);
        return c.cross_key_problems();
    };
    CHECK(problems({{"n_bits", std::int64_t{4}},
                    {"k", std::int64_t{5}},
                    {"n_examples", std::int64_t{16}}}) ==
          problem_map{{"k", "5 relevant bits of only n_bits = 4"}});
    CHECK(
        problems(
            {{"n_bits", std::int64_t{4}}, {"k", std::int64_t{4}}, {"n_examples", std::int64_t{16}}})
            .empty());
    CHECK(problems({{"n_bits", std::int64_t{4}}, {"n_examples", std::int64_t{17}}}) ==
          problem_map{{"n_examples", "17 examples of only 2^4 = 16 distinct inputs"}});
    CHECK(problems({{"n_examples", std::int64_t{3}}, {"train_fraction", 0.3}}) ==
          problem_map{{"train_fraction", "0.3 of 3 examples trains on none"}});
    CHECK(problems({{"n_examples", std::int64_t{3}}, {"train_fraction", 0.34}}).empty());
}

TEST_CASE("sparse_parity: rules refuse values outside their range", "[sparse_parity]") {
    sparse_parity::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    const auto refuses = [&](const std::string& key, const grokkit::param_value& v) {
        grokkit::param* p = ps.find(key);
        REQUIRE(p != nullptr);
        return p->assign(v).has_value();
    };
    CHECK(refuses("n_bits", std::int64_t{0}));
    CHECK(refuses("n_bits", std::int64_t{63}));
    CHECK_FALSE(refuses("n_bits", std::int64_t{62}));
    CHECK(refuses("k", std::int64_t{0}));
    CHECK(refuses("n_examples", std::int64_t{1}));
    CHECK(refuses("n_examples", std::int64_t{(1 << 20) + 1}));
    CHECK(refuses("train_fraction", 0.0));
    CHECK(refuses("train_fraction", 1.0));
    CHECK(refuses("encoding", std::string{"bits"}));
    CHECK_FALSE(refuses("encoding", std::string{"01"}));
    CHECK(refuses("label_noise", -0.1));
    CHECK(refuses("label_noise", 1.0));
    CHECK(refuses("split_seed", std::int64_t{-2}));
}

TEST_CASE("sparse_parity: n_train is floor(train_fraction * n_examples) and the split covers every "
          "example once",
          "[sparse_parity]") {
    SECTION("defaults: 1200 examples at 0.75 give 900 and 300") {
        configured c({});
        const grokkit::dataset_split s = c.ds.generate(0);
        CHECK(s.train.size() == 900);
        CHECK(s.test.size() == 300);
        CHECK(find_attribute(s, "n_examples") == 1200);
        CHECK(find_attribute(s, "n_train") == 900);
    }
    SECTION("1001 examples at 0.3 give 300 and 701") {
        configured c({{"n_examples", std::int64_t{1001}}, {"train_fraction", 0.3}});
        const grokkit::dataset_split s = c.ds.generate(2);
        CHECK(s.train.size() == 300);
        CHECK(s.test.size() == 701);
        ints all = find_record(s, "train_index").values;
        const ints& test = find_record(s, "test_index").values;
        all.insert(all.end(), test.begin(), test.end());
        std::sort(all.begin(), all.end());
        ints want(1001);
        std::iota(want.begin(), want.end(), 0);
        CHECK(all == want); // a permutation of 0..n-1
    }
}

TEST_CASE("sparse_parity: split_seed moves the split but not the inputs or relevant bits",
          "[sparse_parity]") {
    configured fixed({{"split_seed", std::int64_t{42}}});
    configured by_run({});
    const grokkit::dataset_split a = fixed.ds.generate(1);
    const grokkit::dataset_split b = fixed.ds.generate(2);
    const grokkit::dataset_split c = by_run.ds.generate(1);
    const grokkit::dataset_split d = by_run.ds.generate(42);
    CHECK(find_record(a, "train_index").values == find_record(b, "train_index").values);
    CHECK(find_record(a, "train_index").values == find_record(d, "train_index").values);
    CHECK(find_record(a, "train_index").values != find_record(c, "train_index").values);
    CHECK(find_record(a, "inputs").values == find_record(c, "inputs").values);
    CHECK(find_record(a, "inputs").values != find_record(b, "inputs").values);
    CHECK(find_record(a, "relevant_bits").values == find_record(c, "relevant_bits").values);
}

TEST_CASE("sparse_parity: label noise flips exactly floor(label_noise * n_train) training labels",
          "[sparse_parity]") {
    configured c(
        {{"n_examples", std::int64_t{1000}}, {"train_fraction", 0.7}, {"label_noise", 0.15}});
    const grokkit::dataset_split s = c.ds.generate(9);
    const ints& labels = find_record(s, "labels").values;
    const ints& train_index = find_record(s, "train_index").values;
    const ints& test_index = find_record(s, "test_index").values;
    const grokkit::dataset_record& noisy = find_record(s, "noisy_index");
    const grokkit::dataset_record& truth = find_record(s, "true_label");

    REQUIRE(s.train.size() == 700);
    REQUIRE(noisy.values.size() == 105); // floor(0.15 * 700)
    CHECK(noisy.shape == std::vector<std::size_t>{105});
    CHECK(truth.shape == std::vector<std::size_t>{105});
    CHECK(std::is_sorted(noisy.values.begin(), noisy.values.end()));
    const std::set<std::int64_t> is_noisy(noisy.values.begin(), noisy.values.end());
    CHECK(is_noisy.size() == 105);

    for (std::size_t i = 0; i < s.train.size(); ++i) {
        const std::int64_t true_label = labels[static_cast<std::size_t>(train_index[i])];
        CHECK((s.train.labels(i) != true_label) == (is_noisy.count(std::int64_t(i)) == 1));
        CHECK((s.train.labels(i) == 0 || s.train.labels(i) == 1));
    }
    for (std::size_t j = 0; j < noisy.values.size(); ++j) {
        const auto i = static_cast<std::size_t>(noisy.values[j]);
        CHECK(truth.values[j] == labels[static_cast<std::size_t>(train_index[i])]);
        CHECK(s.train.labels(i) == 1 - truth.values[j]);
    }
    const ints& relevant = find_record(s, "relevant_bits").values;
    for (std::size_t i = 0; i < s.test.size(); ++i) {
        CHECK(s.test.labels(i) == labels[static_cast<std::size_t>(test_index[i])]);
        CHECK(s.test.labels(i) == parity(input_bits(s.test, i, true), relevant));
    }
}

TEST_CASE("sparse_parity: without label noise the noise records are empty", "[sparse_parity]") {
    configured c({});
    const grokkit::dataset_split s = c.ds.generate(0);
    CHECK(find_record(s, "noisy_index").shape == std::vector<std::size_t>{0});
    CHECK(find_record(s, "true_label").shape == std::vector<std::size_t>{0});
    CHECK(find_record(s, "noisy_index").values.empty());
}

TEST_CASE("sparse_parity: n_examples = 2^n_bits enumerates every input exactly once",
          "[sparse_parity]") {
    configured c({{"n_bits", std::int64_t{6}}, {"n_examples", std::int64_t{64}}});
    const grokkit::dataset_split s = c.ds.generate(5);
    ints inputs = find_record(s, "inputs").values;
    ints want(64);
    std::iota(want.begin(), want.end(), 0);
    CHECK(inputs != want); // shuffled, not in counting order
    std::sort(inputs.begin(), inputs.end());
    CHECK(inputs == want);

    std::multiset<std::uint64_t> from_features;
    for (const grokkit::example_set* set : {&s.train, &s.test})
        for (std::size_t i = 0; i < set->size(); ++i)
            from_features.insert(input_bits(*set, i, true));
    CHECK(from_features == std::multiset<std::uint64_t>(want.begin(), want.end()));
}

TEST_CASE("sparse_parity: random inputs have fair bits and balanced labels", "[sparse_parity]") {
    configured c({});
    const grokkit::dataset_split s = c.ds.generate(3);
    const ints& inputs = find_record(s, "inputs").values;
    const ints& labels = find_record(s, "labels").values;
    // 1200 examples: a bit frequency has sd 0.0144, the overall one (36,000 bits) 0.0026; the
    // tolerances are over 5 sd, and the seed is fixed, so this never flakes.
    std::size_t n_ones = 0;
    for (std::int64_t j = 0; j < 30; ++j) {
        std::size_t ones = 0;
        for (const std::int64_t x : inputs)
            ones += static_cast<std::size_t>((x >> j) & 1);
        CHECK_THAT(double(ones) / 1200.0, Catch::Matchers::WithinAbs(0.5, 0.08));
        n_ones += ones;
    }
    CHECK_THAT(double(n_ones) / 36000.0, Catch::Matchers::WithinAbs(0.5, 0.015));
    const auto n_odd = std::count(labels.begin(), labels.end(), 1);
    CHECK_THAT(double(n_odd) / 1200.0, Catch::Matchers::WithinAbs(0.5, 0.075));
    for (const std::int64_t x : inputs)
        CHECK(x < (std::int64_t{1} << 30));
}

TEST_CASE("sparse_parity: the Walsh-Hadamard spectrum of the labels sits on the relevant bits",
          "[sparse_parity]") {
    // All 256 inputs of 8 bits, so the transform is exact: for f(x) = (-1)^label(x) the
    // coefficient F(T) = sum_x f(x) (-1)^|T & x| is 256 at T = the relevant set, 0 elsewhere.
    configured c({{"n_bits", std::int64_t{8}},
                  {"k", std::int64_t{3}},
                  {"n_examples", std::int64_t{256}},
                  {"train_fraction", 0.5}});
    const grokkit::dataset_split s = c.ds.generate(13);
    std::vector<std::int64_t> f(256, 0);
    for (const grokkit::example_set* set : {&s.train, &s.test})
        for (std::size_t i = 0; i < set->size(); ++i)
            f[input_bits(*set, i, true)] += set->labels(i) == 1 ? -1 : 1;
    REQUIRE(std::all_of(f.begin(), f.end(), [](std::int64_t v) { return v == 1 || v == -1; }));

    std::uint64_t relevant_mask = 0;
    for (const std::int64_t b : find_record(s, "relevant_bits").values)
        relevant_mask |= std::uint64_t{1} << b;
    std::int64_t energy = 0;
    std::vector<std::uint64_t> support;
    for (std::uint64_t t = 0; t < 256; ++t) {
        std::int64_t coefficient = 0;
        for (std::uint64_t x = 0; x < 256; ++x)
            coefficient += std::popcount(t & x) % 2 ? -f[x] : f[x];
        energy += coefficient * coefficient;
        if (coefficient != 0)
            support.push_back(t);
        if (t == relevant_mask)
            CHECK(coefficient == 256);
    }
    CHECK(support == std::vector<std::uint64_t>{relevant_mask});
    CHECK(energy == 256 * 256); // Parseval: all of sum_x f(x)^2 * 2^n on one coefficient
}

TEST_CASE("sparse_parity: every parameter is declared with a doc", "[sparse_parity]") {
    sparse_parity::dataset_impl ds;
    grokkit::param_set ps;
    ds.declare(ps);
    std::vector<std::string> keys;
    for (const grokkit::param& p : ps.params()) {
        keys.push_back(p.key());
        CHECK_FALSE(p.doc().empty());
    }
    CHECK(keys == std::vector<std::string>{"n_bits", "k", "n_examples", "train_fraction",
                                           "encoding", "label_noise", "split_seed",
                                           "relevant_bits"});
}
