// Tests of the runner in-process: files are never overwritten or created on invalid input,
// analyses run at the steps they ask for, and analyze refuses what it cannot serve.
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

namespace {

grokkit::registry& plugins() {
    return grokkit_test::builtin_plugins();
}

struct scratch : grokkit_test::scratch_dir {
    fs::path dir;
    explicit scratch(const std::string& name) : scratch_dir("runner_" + name), dir(path) {}
    grokkit::run_options options(const std::string& text) const {
        std::ofstream(dir / "p.toml") << text;
        grokkit::run_options o;
        o.pipeline_file = dir / "p.toml";
        o.out = dir / "r.h5";
        return o;
    }
};

const std::string pipeline = R"([dataset]
plugin = "modular_arithmetic"
modulus = 7
label_noise = 0.2

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
name = "every"
at = "checkpoints"

[[analysis]]
plugin = "memorisation"
name = "last"
)";

} // namespace

TEST_CASE("runner: analyses run at every checkpoint or once at the end", "[runner]") {
    scratch s("at");
    const auto r = grokkit::run_pipeline(plugins(), s.options(pipeline), {});
    CHECK(r.status == "complete");
    const grokkit::run_file f(r.file);
    CHECK(f.analysis_steps("every") == std::vector<std::int64_t>{0, 10, 20});
    CHECK(f.analysis_steps("last") == std::vector<std::int64_t>{20});
    CHECK(f.metric_steps() == std::vector<std::int64_t>{0, 5, 10, 15, 20});
}

TEST_CASE("runner: an existing file is kept unless --force; invalid input creates none",
          "[runner]") {
    scratch s("files");
    auto o = s.options(pipeline);
    grokkit::run_pipeline(plugins(), o, {});
    const auto size = fs::file_size(o.out);
    CHECK_THROWS_AS(grokkit::run_pipeline(plugins(), o, {}), grokkit::invalid_input);
    CHECK(fs::file_size(o.out) == size);
    o.force = true;
    CHECK(grokkit::run_pipeline(plugins(), o, {}).status == "complete");

    auto bad = s.options(pipeline + "neurons = 1\n"); // an unknown key of memorisation
    bad.out = s.dir / "never.h5";
    CHECK_THROWS_AS(grokkit::run_pipeline(plugins(), bad, {}), grokkit::invalid_input);
    CHECK_FALSE(fs::exists(bad.out));
}

TEST_CASE("runner: analyze needs analyses and the run's dataset", "[runner]") {
    scratch s("analyze");
    const auto o = s.options(pipeline);
    grokkit::run_pipeline(plugins(), o, {});
    std::ofstream(s.dir / "none.toml") << pipeline.substr(0, pipeline.find("[[analysis]]"));
    CHECK_THROWS_WITH(grokkit::analyze_run(plugins(), {o.out, s.dir / "none.toml", {}, false}),
                      Contains("the pipeline has no [[analysis]]; expected at least one"));
    std::ofstream(s.dir / "other.toml") << pipeline;
    CHECK_THROWS_WITH(
        grokkit::analyze_run(plugins(), {o.out, s.dir / "other.toml", {"dataset.modulus=5"}, true}),
        Contains("dataset.modulus: is 5 here but 7 in"));
    const auto r = grokkit::analyze_run(plugins(), {o.out, s.dir / "other.toml", {}, true});
    CHECK(r.n_checkpoints == 3);
}
