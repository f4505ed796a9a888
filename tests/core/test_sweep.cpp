// Sweep definitions: grid and seed syntax, canonical values and hashes, phase labels, states
// read from the files, and the index h5py reads.
// SPDX-License-Identifier: Apache-2.0
#include "host/sweep.hpp"

#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <grokkit_test/host.hpp>
#include <set>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;
namespace sw = grokkit::sweep;

namespace {

const std::string pipeline = R"([dataset]
plugin = "modular_arithmetic"
modulus = 7

[model]
plugin = "mlp"
d_embed = 4
hidden = [8]

[train]
steps = 20
eval_every = 5
checkpoint_every = 10
)";

struct scratch : grokkit_test::scratch_dir {
    explicit scratch(const std::string& name) : scratch_dir("sweep_" + name) {
        std::ofstream(path / "p.toml") << pipeline;
    }
    sw::sweep_spec spec(std::vector<std::string> grids, const std::string& seeds) const {
        sw::sweep_spec s;
        s.pipeline_file = path / "p.toml";
        for (const auto& g : grids)
            s.grid.push_back(sw::parse_grid(g));
        s.seeds = sw::parse_seeds(seeds);
        return s;
    }
};

std::string messages(const grokkit::error& e) {
    std::string s;
    for (const auto& d : e.diagnostics())
        s += d.to_string() + "\n";
    return s;
}

} // namespace

TEST_CASE("sweep: grids split at top-level commas", "[sweep]") {
    const auto a = sw::parse_grid("model.hidden=[8,16],[32], [64]");
    CHECK(a.key == "model.hidden");
    CHECK(a.values == std::vector<std::string>{"[8,16]", "[32]", "[64]"});
    CHECK(sw::parse_grid("dataset.operation=\"a,b\",'x'").values ==
          std::vector<std::string>{"\"a,b\"", "'x'"});
    CHECK_THROWS_AS(sw::parse_grid("train.lr"), grokkit::invalid_input);
    CHECK_THROWS_AS(sw::parse_grid("train.lr=1,,2"), grokkit::invalid_input);
    CHECK_THROWS_WITH(sw::parse_grid("run.seed=1,2"), Contains("--seeds"));
    CHECK_THROWS_WITH(sw::parse_grid("run.threads=1,2"), Contains("--threads"));
}

TEST_CASE("sweep: seeds are inclusive ranges and lists, each once", "[sweep]") {
    CHECK(sw::parse_seeds("0..3") == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(sw::parse_seeds("5") == std::vector<std::int64_t>{5});
    CHECK(sw::parse_seeds("0..1,7,9..10") == std::vector<std::int64_t>{0, 1, 7, 9, 10});
    CHECK_THROWS_AS(sw::parse_seeds("3..1"), grokkit::invalid_input);
    CHECK_THROWS_AS(sw::parse_seeds("a"), grokkit::invalid_input);
    CHECK_THROWS_AS(sw::parse_seeds("-1"), grokkit::invalid_input);
    CHECK_THROWS_WITH(sw::parse_seeds("0..2,1"), Contains("seed 1 repeats"));
}

TEST_CASE("sweep: points are the cross product with canonical values and stable hashes",
          "[sweep]") {
    scratch s("expand");
    auto spec = s.spec({"train.lr=1e-3,0.01", "model.hidden=[8],[16]"}, "0..2");
    const auto points =
        sw::expand(spec, grokkit_test::builtin_plugins(), sw::expand_check::first_point);
    REQUIRE(points.size() == 12);
    // The first axis slowest, seeds fastest; values as the resolved pipeline writes them.
    CHECK(points[0].label() == "train.lr=0.001 model.hidden=[8] run.seed=0 run.threads=1");
    auto floats = s.spec({"train.lr=3e-3,1.0,2", "model.hidden=[ 8, 16 ]"}, "0");
    CHECK(sw::expand(floats, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only)[0]
              .label() == "train.lr=0.003 model.hidden=[8, 16] run.seed=0 run.threads=1");
    CHECK(floats.grid[0].values.size() == 3);
    CHECK(points[4].label() == "train.lr=0.001 model.hidden=[16] run.seed=1 run.threads=1");
    CHECK(points[11].label() == "train.lr=0.01 model.hidden=[16] run.seed=2 run.threads=1");
    CHECK(spec.base_sha256.size() == 64);
    std::set<std::string> hashes;
    for (const auto& p : points)
        hashes.insert(p.hash);
    CHECK(hashes.size() == points.size());
    // The same point written otherwise (0.001, the axes in another order) has the same hash.
    auto other = s.spec({"model.hidden=[8]", "train.lr=0.001"}, "0");
    const auto again =
        sw::expand(other, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only);
    REQUIRE(again.size() == 1);
    CHECK(again[0].hash == points[0].hash);
    CHECK(again[0].overrides(other) == std::vector<std::string>{"model.hidden=[8]",
                                                                "train.lr=0.001", "run.seed=0",
                                                                "run.threads=1"});
}

TEST_CASE("sweep: invalid grids are refused together before anything runs", "[sweep]") {
    scratch s("invalid");
    auto spec = s.spec({"train.lr=0.001,1e-3", "train.nonsense=1", "model.hidden=\"x\""}, "0");
    try {
        sw::expand(spec, grokkit_test::builtin_plugins(), sw::expand_check::first_point);
        FAIL("expected invalid_input");
    } catch (const grokkit::invalid_input& e) {
        const std::string m = messages(e);
        CHECK_THAT(m, Contains("value 1e-3 is 0.001, which the grid already has"));
        CHECK_THAT(m, Contains("train.nonsense"));
        CHECK_THAT(m, Contains("model.hidden"));
    }
    auto twice = s.spec({"train.lr=0.1", "train.lr=0.2"}, "0");
    CHECK_THROWS_WITH(
        sw::expand(twice, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only),
        Contains("is given twice"));
}

TEST_CASE("sweep: a directory keeps one experiment", "[sweep]") {
    scratch s("experiment");
    const sw::layout dir{s.path / "sweep"};
    auto spec = s.spec({"train.lr=0.01,0.02"}, "0..1");
    sw::expand(spec, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only);
    sw::save_spec(dir, spec);
    const auto loaded = sw::load_spec(dir);
    CHECK(loaded.base_sha256 == spec.base_sha256);
    CHECK(loaded.seeds == spec.seeds);
    REQUIRE(loaded.grid.size() == 1);
    CHECK(loaded.grid[0].values == spec.grid[0].values);
    // More seeds or grid values: the same experiment. Another pipeline: refused.
    auto more = s.spec({"train.lr=0.01,0.02,0.03"}, "0..5");
    sw::expand(more, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only);
    CHECK_NOTHROW(sw::check_same_experiment(dir, more));
    auto other = s.spec({"train.lr=0.01"}, "0");
    other.sets = {"train.steps=30"};
    sw::expand(other, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only);
    CHECK_THROWS_WITH(sw::check_same_experiment(dir, other),
                      Contains("holds a sweep of another pipeline"));
    // The pipeline file changed since: the recorded definition no longer resolves the same.
    std::ofstream(s.path / "p.toml", std::ios::app) << "weight_decay = 0.5\n";
    auto held = sw::load_spec(dir);
    CHECK_THROWS_WITH(
        sw::expand(held, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only),
        Contains("resolves differently"));
}

TEST_CASE("sweep: phases follow the documented thresholds", "[sweep]") {
    const sw::phase_rules rules; // 0.99, ratio 2
    CHECK(sw::phase_of(-1, -1, rules) == "confusion");
    CHECK(sw::phase_of(-1, 300, rules) == "confusion");
    CHECK(sw::phase_of(500, -1, rules) == "memorisation");
    CHECK(sw::phase_of(500, 1000, rules) == "comprehension");
    CHECK(sw::phase_of(500, 400, rules) == "comprehension");
    CHECK(sw::phase_of(500, 1001, rules) == "grokking");
    CHECK(sw::phase_of(0, 0, rules) == "comprehension");
    CHECK(sw::phase_of(500, 30000, sw::phase_rules{0.99, 100.0}) == "comprehension");
}

TEST_CASE("sweep: states come from the files", "[sweep]") {
    scratch s("states");
    const sw::layout dir{s.path / "sweep"};
    auto spec = s.spec({}, "0..1");
    const auto points =
        sw::expand(spec, grokkit_test::builtin_plugins(), sw::expand_check::resolve_only);
    CHECK(sw::survey_point(dir, points[0], spec.rules).state == sw::point_state::pending);
    fs::create_directories(dir.point_dir(points[1]));
    std::ofstream(dir.failure_file(points[1])) << "grokkit run ended with exit code 1\nerror: x\n";
    const auto r = sw::survey_point(dir, points[1], spec.rules);
    CHECK(r.state == sw::point_state::failed);
    CHECK_THAT(r.error, Contains("error: x"));
    const auto counts = sw::count_states(sw::survey(dir, points, spec.rules));
    CHECK(counts.text() == "0 done, 1 failed, 1 pending of 2 points");
}
