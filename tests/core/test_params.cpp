// Tests of self-describing parameters: types, ranges, NaN, choices, lists, rule text.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/params.hpp>
#include <grokkit/plugin.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using grokkit::param_set;
using grokkit::param_value;

TEST_CASE("params: integers are accepted where numbers are expected, never the reverse",
          "[params]") {
    param_set ps;
    double lr = 1e-3;
    std::int64_t steps = 10;
    ps.add("lr", lr, "learning rate").above(0);
    ps.add("steps", steps, "steps").at_least(0);
    CHECK_FALSE(ps.find("lr")->assign(std::int64_t{2}));
    CHECK(lr == 2.0);
    auto e = ps.find("steps")->assign(2.5);
    REQUIRE(e);
    CHECK(*e == "2.5 is a float");
    CHECK(steps == 10);
}

TEST_CASE("params: range rules reject NaN and name the bounds", "[params]") {
    param_set ps;
    double f = 0.3;
    ps.add("train_fraction", f, "share of pairs").above(0).below(1);
    CHECK(ps.find("train_fraction")->rule_text() == "a number in (0, 1)");
    CHECK(ps.find("train_fraction")->assign(std::numeric_limits<double>::quiet_NaN()));
    CHECK(ps.find("train_fraction")->assign(1.0));
    CHECK(ps.find("train_fraction")->assign(0.0));
    CHECK(*ps.find("train_fraction")->assign(1.3) == "1.3 is out of range");
    CHECK_FALSE(ps.find("train_fraction")->assign(0.5));
    CHECK(f == 0.5);
}

TEST_CASE("params: choices, lists and defaults", "[params]") {
    param_set ps;
    std::string op = "a+b";
    std::vector<std::int64_t> hidden{512};
    bool flag = false;
    ps.add("operation", op, "which operation").one_of({"a+b", "a-b"});
    ps.add("hidden", hidden, "widths").non_empty().at_least(1);
    ps.add("flag", flag, "a switch");
    CHECK(ps.find("operation")->default_text() == "\"a+b\"");
    CHECK(ps.find("hidden")->default_text() == "[512]");
    CHECK(*ps.find("operation")->assign(std::string("a*b")) == "\"a*b\" is not a valid choice");
    CHECK(ps.find("operation")->rule_text() == "one of a+b, a-b");
    CHECK(ps.find("hidden")->assign(std::vector<std::int64_t>{}));
    CHECK(ps.find("hidden")->assign(std::vector<std::int64_t>{4, 0}));
    CHECK_FALSE(ps.find("hidden")->assign(std::vector<std::int64_t>{4, 8}));
    CHECK(hidden == std::vector<std::int64_t>{4, 8});
    CHECK(ps.find("hidden")->value_text() == "[4, 8]");
    CHECK(*ps.find("flag")->assign(std::int64_t{1}) == "1 is an integer");
    CHECK(ps.find("missing") == nullptr);
}

TEST_CASE("params: cross-key checks run on demand", "[params]") {
    param_set ps;
    std::int64_t p = 12;
    std::string op = "a/b";
    ps.add("modulus", p, "p").at_least(2);
    ps.add("operation", op, "op");
    ps.check("operation", "a prime modulus for a/b", [&]() -> std::optional<std::string> {
        if (op == "a/b" && p % 2 == 0)
            return std::string("a/b needs a prime modulus");
        return std::nullopt;
    });
    REQUIRE(ps.checks().size() == 1);
    CHECK(ps.checks()[0].rule());
    p = 13;
    CHECK_FALSE(ps.checks()[0].rule());
}

TEST_CASE("params: real values print so they read back exactly", "[params]") {
    param_set ps;
    double lr = 1e-3, x = 0.1 + 0.2, one = 1.0;
    ps.add("lr", lr, "lr");
    ps.add("x", x, "x");
    ps.add("one", one, "one");
    CHECK(ps.find("lr")->value_text() == "0.001");
    CHECK(std::stod(ps.find("x")->value_text()) == x);
    CHECK(ps.find("one")->value_text() == "1.0");
}

namespace {
// A plugin object whose parameters are set directly, as tests and tools do.
struct directly_set : grokkit::plugin_object {
    std::int64_t n = 2;
    std::int64_t k = 1;
    std::string mode = "a";
    void declare(grokkit::param_set& ps) override {
        ps.add("n", n, "count").at_least(1);
        ps.add("k", k, "k <= n").at_least(0);
        ps.add("mode", mode, "mode").one_of({"a", "b"});
        ps.check("k", "k <= n", [this]() -> std::optional<std::string> {
            if (k <= n)
                return std::nullopt;
            return std::to_string(k) + " exceeds n = " + std::to_string(n);
        });
    }
};
} // namespace

TEST_CASE("params: check_declared applies the declared rules to values set directly", "[params]") {
    directly_set o;
    CHECK_NOTHROW(grokkit::check_declared(o, "fixture.build"));
    o.n = 0;
    o.mode = std::string(1, 'c'); // not = "c": GCC 12 warns falsely (-Wrestrict, bug 105329)
    try {
        grokkit::check_declared(o, "fixture.build");
        FAIL("no error");
    } catch (const grokkit::error& e) {
        REQUIRE(e.diagnostics().size() == 2);
        CHECK(e.diagnostics()[0].to_string() ==
              "fixture.build: n: 0 is out of range; expected an integer >= 1");
        CHECK(e.diagnostics()[1].to_string() ==
              "fixture.build: mode: \"c\" is not a valid choice; expected one of a, b");
    }
    o.n = 2;
    o.mode = std::string(1, 'a');
    o.k = 3; // each key valid alone: the cross-key rule speaks
    CHECK_THROWS_WITH(grokkit::check_declared(o, "fixture.build"),
                      "fixture.build: k: 3 exceeds n = 2; expected k <= n");
}

TEST_CASE("params: lists of numbers take integers and floats, each element checked", "[params]") {
    param_set ps;
    std::vector<double> temperatures{0.0, 1.0};
    ps.add("temperatures", temperatures, "temperatures").at_least(0).non_empty();
    auto& p = *ps.find("temperatures");
    CHECK(p.rule_text() == "a non-empty list of numbers, each >= 0");
    CHECK(p.default_text() == "[0.0, 1.0]");
    CHECK_FALSE(p.assign(std::vector<std::int64_t>{0, 1, 2}));
    CHECK(temperatures == std::vector<double>{0.0, 1.0, 2.0});
    CHECK_FALSE(p.assign(std::vector<double>{0.001, 0.5}));
    CHECK(temperatures == std::vector<double>{0.001, 0.5});
    CHECK(*p.assign(std::vector<double>{0.1, -1.0}) == "element -1.0 is out of range");
    CHECK(*p.assign(std::vector<std::int64_t>{}) == "the list is empty");
    CHECK(*p.assign(std::vector<std::string>{"a"}) == "[\"a\"] is an array");
    CHECK(*p.assign(0.5) == "0.5 is a float");
    CHECK(temperatures == std::vector<double>{0.001, 0.5});
}
