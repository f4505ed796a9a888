// Tests of the training API: the schedule, flat parameters, subsets, and train() against the
// checkpoints `grokkit run` writes (straight, on a seeded subset, and resumed after SIGINT).
// SPDX-License-Identifier: Apache-2.0
#include "host/pipeline.hpp"
#include "host/runner.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/run_file.hpp>
#include <grokkit/train.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <grokkit_test/host.hpp>
#include <numeric>

using Catch::Matchers::WithinRel;
namespace fs = std::filesystem;

namespace {

grokkit::registry& plugins() {
    return grokkit_test::builtin_plugins();
}

// Minibatches of 8 over more than one epoch, so batch order and epochs matter.
std::string pipeline_text(double train_fraction) {
    return R"([run]
name = "t"
seed = 4
threads = 1

[dataset]
plugin = "modular_arithmetic"
modulus = 11
train_fraction = )" +
           std::to_string(train_fraction) + R"(

[model]
plugin = "mlp"
d_embed = 6
hidden = [12]

[train]
steps = 30
batch_size = 8
lr = 3e-3
eval_every = 10
checkpoint_every = 10
)";
}

// `grokkit run` of `text` into dir/r.h5; `interrupt_at` raises SIGINT at that evaluation.
fs::path run(const fs::path& dir, const std::string& text, std::int64_t interrupt_at = -1) {
    std::ofstream(dir / "p.toml") << text;
    grokkit::run_options o;
    o.pipeline_file = dir / "p.toml";
    o.out = dir / "r.h5";
    grokkit::run_pipeline(plugins(), o, [&](const grokkit::progress& p) {
        if (p.step == interrupt_at)
            std::raise(SIGINT); // the run's handler turns it into a checkpoint and a stop
    });
    return o.out;
}

// The final checkpoint of a run file, flat in parameters() order.
std::vector<float> final_parameters(const fs::path& file) {
    const grokkit::run_file f(file);
    std::vector<float> out;
    const std::size_t last = f.checkpoint_steps().size() - 1;
    for (const auto& name : f.parameter_names()) {
        const auto p = f.parameter(name, last);
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// The API's training of the same pipeline: its model built with `seed`, trained on the split's
// training set, or on its first `n_first` examples.
std::vector<float> api_parameters(const std::string& text, std::uint64_t seed,
                                  std::size_t n_first = 0) {
    grokkit::pipeline p = grokkit::parse_pipeline(text, "p.toml", ".", {}, plugins());
    grokkit::set_blas_threads(static_cast<int>(p.run.threads));
    const auto split = p.data->generate(static_cast<std::uint64_t>(p.run.seed));
    p.net->build(p.data->spec(), static_cast<std::uint64_t>(p.run.seed));
    grokkit::example_set train = split.train;
    if (n_first) {
        std::vector<std::size_t> first(n_first);
        std::iota(first.begin(), first.end(), std::size_t{0});
        train = grokkit::subset(split.train, first);
    }
    grokkit::train(*p.net, train, p.train, seed);
    return grokkit::flat_parameters(*p.net);
}

} // namespace

TEST_CASE("train: warm-up and the cosine schedule follow torch", "[train]") {
    grokkit::train_config c;
    c.lr = 1.0;
    c.steps = 100;
    c.warmup_steps = 10;
    CHECK_THAT(c.learning_rate(0), WithinRel(0.1, 1e-12)); // lr * (step + 1) / n
    CHECK_THAT(c.learning_rate(4), WithinRel(0.5, 1e-12));
    CHECK(c.learning_rate(9) == 1.0);
    CHECK(c.learning_rate(50) == 1.0);
    c.schedule = "cosine";
    c.min_lr = 0.1;
    c.warmup_steps = 0;
    CHECK(c.learning_rate(0) == 1.0);
    CHECK_THAT(c.learning_rate(50), WithinRel(0.55, 1e-12)); // halfway: the mean of lr, min_lr
    CHECK_THAT(c.learning_rate(100), WithinRel(0.1, 1e-12));
}

TEST_CASE("train: flat parameters round-trip and refuse a wrong count", "[train]") {
    grokkit::pipeline p = grokkit::parse_pipeline(pipeline_text(0.5), "p.toml", ".", {}, plugins());
    p.net->build(p.data->spec(), 1);
    std::vector<float> theta = grokkit::flat_parameters(*p.net);
    REQUIRE(theta.size() == grokkit::parameter_count(*p.net));
    for (float& v : theta)
        v = -v + 0.25f;
    grokkit::set_flat_parameters(*p.net, theta);
    CHECK(grokkit::flat_parameters(*p.net) == theta);
    CHECK(p.net->parameters().front()->value.data()[0] == theta[0]);
    theta.pop_back();
    CHECK_THROWS_WITH(grokkit::set_flat_parameters(*p.net, theta),
                      Catch::Matchers::Contains("parameter values"));
}

TEST_CASE("train: subset keeps the examples at the indices given, in order", "[train]") {
    grokkit::example_set s;
    s.tokens = xt::xtensor<std::int32_t, 2>{{0, 1}, {2, 3}, {4, 5}};
    s.labels = xt::xtensor<std::int32_t, 1>{7, 8, 9};
    const auto t = grokkit::subset(s, {2, 0});
    CHECK(t.tokens == xt::xtensor<std::int32_t, 2>{{4, 5}, {0, 1}});
    CHECK(t.labels == xt::xtensor<std::int32_t, 1>{9, 7});
    CHECK_THROWS_WITH(grokkit::subset(s, {3}), Catch::Matchers::Contains("index 3 of a set of 3"));
}

TEST_CASE("train: the API ends where grokkit run ends, straight, on a subset and resumed",
          "[train]") {
    const std::string text = pipeline_text(0.3);
    const grokkit_test::scratch_dir straight_dir("train_straight"), resumed_dir("train_resumed");
    const auto straight = final_parameters(run(straight_dir.path, text));
    CHECK(api_parameters(text, 4) == straight);
    CHECK(api_parameters(text, 5) != straight); // the batches' seed matters

    // The split takes the first floor(f n) of one permutation, so the 30% training set is the
    // first examples of the 60% one: the API on that subset is the 30% run.
    grokkit::pipeline p30 = grokkit::parse_pipeline(text, "p.toml", ".", {}, plugins());
    const std::size_t n30 = p30.data->generate(4).train.size();
    CHECK(api_parameters(pipeline_text(0.6), 4, n30) == straight);

    // Interrupted at step 10 (a checkpoint there), then resumed to the end.
    const fs::path& dir = resumed_dir.path;
    run(dir, text, 10);
    CHECK(grokkit::run_file(dir / "r.h5").status() == "interrupted");
    grokkit::run_options o;
    o.pipeline_file = dir / "p.toml";
    o.out = dir / "r.h5";
    o.resume = true;
    CHECK(grokkit::run_pipeline(plugins(), o, {}).resumed_from == 10);
    CHECK(final_parameters(dir / "r.h5") == straight);
}

namespace {
// A model that records the examples (their first token) each forward pass sees.
struct recording_model : grokkit::model {
    grokkit::parameter p;
    std::vector<std::vector<std::int32_t>> seen;
    void declare(grokkit::param_set&) override {}
    void build(const grokkit::input_spec&, std::uint64_t) override {
        p.name = "p";
        p.value = xt::zeros<float>({1});
        p.grad = xt::zeros<float>({1});
    }
    std::vector<grokkit::parameter*> parameters() override { return {&p}; }
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override {
        seen.emplace_back();
        for (std::size_t i = 0; i < x.n; ++i)
            seen.back().push_back(x.tokens[i * 2]);
        logits = xt::zeros<float>({x.n, std::size_t{2}});
    }
    void backward(const xt::xtensor<float, 2>&) override {}
    std::vector<std::string> representations() const override { return {}; }
    xt::xarray<float> representation(const std::string&, const grokkit::batch&) override {
        return {};
    }
};
} // namespace

TEST_CASE("train: minibatches walk one permutation per epoch, keyed by the step alone", "[train]") {
    grokkit::example_set train;
    const std::size_t n = 12;
    train.tokens = xt::zeros<std::int32_t>({n, std::size_t{2}});
    train.labels = xt::zeros<std::int32_t>({n});
    for (std::size_t i = 0; i < n; ++i)
        train.tokens(i, 0) = static_cast<std::int32_t>(i);
    grokkit::train_config cfg;
    cfg.batch_size = 5; // batches straddle epochs: 12 examples, 5 per step
    cfg.steps = 10;
    recording_model m;
    m.build({}, 0);
    grokkit::trainer t(m, train, cfg, 7);
    for (std::int64_t s = 0; s < 6; ++s)
        t.compute_gradients(s);
    std::vector<std::int32_t> stream;
    for (const auto& b : m.seen)
        stream.insert(stream.end(), b.begin(), b.end());
    REQUIRE(stream.size() == 30);
    for (std::size_t epoch = 0; epoch < 2; ++epoch) { // each epoch is a permutation of all 12
        std::vector<std::int32_t> e(stream.begin() + long(epoch * n),
                                    stream.begin() + long((epoch + 1) * n));
        std::sort(e.begin(), e.end());
        for (std::size_t i = 0; i < n; ++i)
            CHECK(e[i] == static_cast<std::int32_t>(i));
    }
    CHECK(std::vector<std::int32_t>(stream.begin(), stream.begin() + 12) !=
          std::vector<std::int32_t>(stream.begin() + 12, stream.begin() + 24)); // reshuffled
    // A trainer created afresh (as after a resume) gives step 4 the same batch.
    recording_model again;
    again.build({}, 0);
    grokkit::trainer t2(again, train, cfg, 7);
    t2.compute_gradients(4);
    CHECK(again.seen.front() == m.seen[4]);
}
