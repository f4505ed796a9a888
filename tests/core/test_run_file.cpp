// Tests of the run-file reader: the pipeline tree, and a real run read back through run_file.
// SPDX-License-Identifier: Apache-2.0
#include "host/runner.hpp"

#include <grokkit/error.hpp>
#include <grokkit/run_file.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <grokkit_test/host.hpp>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

TEST_CASE("run_file: the pipeline tree reads keys by type and lists them in file order",
          "[run_file]") {
    const grokkit::pipeline_tree t(R"([run]
seed = 3
name = "x"

[train]
lr = 1
class_mean = true

[[analysis]]
plugin = "fourier_probe"
name = "fp"
)",
                                   "t.toml");
    CHECK(t.integer("run.seed") == 3);
    CHECK(t.string("run.name") == "x");
    CHECK(t.real("train.lr") == 1.0); // an integer serves as a real
    CHECK(t.boolean("train.class_mean"));
    CHECK(t.keys("run") == std::vector<std::string>{"seed", "name"});
    CHECK(t.n_analyses() == 1);
    CHECK(t.string("analysis.0.name") == "fp");
    CHECK(t.value_text("run.name") == "'x'"); // TOML text, as toml++ writes it
    CHECK(t.value_text("run.missing").empty());
    CHECK_THROWS_WITH(t.integer("run.name"),
                      "t.toml: run.name: value is not an integer; expected an integer");
    CHECK_THROWS_WITH(t.string("model.plugin"), "t.toml: model.plugin: missing; expected a string");
    CHECK_THROWS_WITH(grokkit::pipeline_tree("a = ", "bad.toml"), Contains("bad.toml: "));
}

TEST_CASE("run_file: a finished run reads back as it was written", "[run_file]") {
    const grokkit_test::scratch_dir scratch("run_file");
    const fs::path& dir = scratch.path;
    {
        std::ofstream(dir / "p.toml") << R"([run]
name = "r"
seed = 5
threads = 1

[dataset]
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

[[analysis]]
plugin = "memorisation"
at = "checkpoints"
per_example = true
)";
    }
    grokkit::registry& reg = grokkit_test::builtin_plugins();
    grokkit::run_options o;
    o.pipeline_file = dir / "p.toml";
    o.out = dir / "r.h5";
    grokkit::run_pipeline(reg, o, {});

    const grokkit::run_file f(dir / "r.h5");
    CHECK(f.status() == "complete");
    CHECK(f.int_attribute("seed") == 5);
    CHECK(f.int_attribute("threads") == 1);
    CHECK(f.resolved_pipeline().integer("dataset.modulus") == 7);
    CHECK(f.metric_names() == std::vector<std::string>{"train_loss", "train_accuracy", "test_loss",
                                                       "test_accuracy", "lr"});
    CHECK(f.metric_steps() == std::vector<std::int64_t>{0, 5, 10, 15, 20});
    CHECK(f.metric("lr").size() == 5);
    CHECK(f.checkpoint_steps() == std::vector<std::int64_t>{0, 10, 20});
    const auto names = f.parameter_names();
    REQUIRE(names.size() == 6);
    CHECK(names.front() == "embed_a"); // parameters() order, not HDF5's sorted order
    CHECK(f.parameter("hidden0.weight", 2).shape() == std::vector<std::size_t>{8, 8});
    CHECK_THROWS_WITH(f.parameter("hidden0.weight", 3), Contains("is not committed"));
    CHECK(f.dataset_attribute("modulus") == 7);
    CHECK(f.dataset_record("train_index").dimension() == 1);

    const auto analyses = f.analyses();
    REQUIRE(analyses.size() == 1);
    CHECK(analyses[0].name == "memorisation");
    CHECK(f.analysis_steps("memorisation") == std::vector<std::int64_t>{0, 10, 20});
    const auto predicted = f.analysis_output("memorisation", "predicted", 2);
    CHECK(predicted.type() == grokkit::dtype::int64);
    CHECK(predicted.shape() ==
          std::vector<std::size_t>{static_cast<std::size_t>(f.dataset_attribute("n_train"))});
    CHECK(f.analysis_output("memorisation", "clean_accuracy", 0).scalar() >= 0.0);
    const auto series = f.analysis_scalars("memorisation", "clean_accuracy");
    REQUIRE(series.size() == 3);
    for (std::size_t r = 0; r < 3; ++r)
        CHECK(series[r] == f.analysis_output("memorisation", "clean_accuracy", r).scalar());
    CHECK_THROWS_WITH(f.analysis_scalars("memorisation", "predicted"), Contains("int64"));
}
