// Tests of pipeline validation in-process: overrides, resolved text, collected diagnostics.
// SPDX-License-Identifier: Apache-2.0
#include "host/pipeline.hpp"

#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <grokkit_test/host.hpp>

using Catch::Matchers::Contains;

namespace {

const char* good = R"([run]
name = "t"
seed = 3

[dataset]
plugin = "modular_arithmetic"
modulus = 7

[model]
plugin = "mlp"
hidden = [16]

[train]
steps = 5
lr = 1e-2
)";

grokkit::registry& plugins() {
    return grokkit_test::builtin_plugins();
}

std::vector<grokkit::diagnostic> diagnostics_of(const std::string& text,
                                                const std::vector<std::string>& sets = {}) {
    try {
        grokkit::parse_pipeline(text, "p.toml", ".", sets, plugins());
    } catch (const grokkit::error& e) {
        return e.diagnostics();
    }
    return {};
}

} // namespace

TEST_CASE("pipeline: a valid pipeline resolves every key, and the resolved text resolves to itself",
          "[pipeline]") {
    auto p = grokkit::parse_pipeline(good, "p.toml", ".", {}, plugins());
    CHECK(p.run.seed == 3);
    CHECK(p.train.lr == 1e-2);
    const std::string resolved = p.resolved_text();
    CHECK_THAT(resolved, Contains("modulus = 7") && Contains("train_fraction = 0.3") &&
                             Contains("hidden = [16]") && Contains("weight_decay = 1.0"));
    auto again = grokkit::parse_pipeline(resolved, "resolved.toml", ".", {}, plugins());
    CHECK(again.resolved_text() == resolved);
}

TEST_CASE("pipeline: --set overrides are parsed as TOML and validated like the file",
          "[pipeline]") {
    auto p = grokkit::parse_pipeline(
        good, "p.toml", ".", {"train.lr=3e-4", "dataset.operation=a-b", "run.name=x y"}, plugins());
    CHECK(p.train.lr == 3e-4);
    CHECK_THAT(p.resolved_text(), Contains("operation = \"a-b\"") && Contains("name = \"x y\""));

    auto ds = diagnostics_of(good, {"train.lr=-1"});
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].where == "--set train.lr=-1");
    CHECK(ds[0].key == "train.lr");
    CHECK(ds[0].what == "-1.0 is out of range");

    ds = diagnostics_of(good, {"train.lrr=1"});
    REQUIRE(ds.size() == 1);
    CHECK_THAT(ds[0].what, Contains("did you mean \"lr\""));
}

TEST_CASE("pipeline: every problem is reported at once, sorted by position", "[pipeline]") {
    const std::string bad = R"([run]
seed = -1

[dataset]
plugin = "modular_arithmetic"
modulus = "seven"
train_fractoin = 0.5

[model]
plugin = "mlp"
activation = "tanh"
)";
    auto ds = diagnostics_of(bad);
    REQUIRE(ds.size() == 4);
    CHECK(ds[0].to_string() ==
          "p.toml:2:8: run.seed: -1 is out of range; expected an integer >= 0");
    CHECK(ds[1].where == "p.toml:6:11");
    CHECK(ds[1].key == "dataset.modulus");
    CHECK(ds[2].where == "p.toml:7:1");
    CHECK_THAT(ds[2].what, Contains("did you mean \"train_fraction\""));
    CHECK(ds[3].key == "model.activation");
    CHECK_THAT(ds[3].expected, Contains("relu"));
}

TEST_CASE("pipeline: nearest suggests close keys only", "[pipeline]") {
    CHECK(grokkit::nearest("modulis", {"modulus", "operation"}) == "modulus");
    CHECK(grokkit::nearest("zzzzzz", {"modulus", "operation"}).empty());
}
