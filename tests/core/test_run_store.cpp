// Tests of the run-file writer: typed analysis rows round-trip, and resume drops every row after
// the last checkpoint, variable-length values included.
// SPDX-License-Identifier: Apache-2.0
#include "store/h5.hpp"
#include "store/run_store.hpp"

#include <grokkit/error.hpp>
#include <grokkit/run_file.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using grokkit::dtype;
using grokkit::output_value;
namespace fs = std::filesystem;

namespace {

// A store's inputs: one parameter, two metrics, one analysis with a fixed and a ragged output.
struct fixture {
    fs::path dir;
    grokkit::parameter w;
    grokkit::run_header header;
    grokkit::run_layout layout;
    grokkit::dataset_split split;
    grokkit::input_spec spec;

    explicit fixture(const std::string& name)
        : dir(fs::temp_directory_path() / ("grokkit_test_run_store_" + name)) {
        fs::remove_all(dir);
        fs::create_directories(dir);
        w.name = "w";
        w.value = xt::zeros<float>({2, 3});
        w.grad = w.value;
        header.pipeline_text = header.resolved_text = "[run]\nseed = 0\n";
        header.dataset_plugin = "fixture";
        header.model_plugin = "fixture";
        layout.metric_names = {"loss", "lr"};
        layout.params = {&w};
        grokkit::analysis_layout a{"probe", "probe", "checkpoints", {}};
        a.outputs.push_back({"score", dtype::float32, {3}, {"item"}, false, "1", "a score"});
        a.outputs.push_back({"picked", dtype::int64, {}, {}, true, "index", "an index set"});
        a.outputs.push_back({"note", dtype::string, {}, {}, true, "", "a note"});
        layout.analyses = {a};
        split.train.labels = xt::xtensor<std::int32_t, 1>{0, 1};
        split.train.tokens = xt::xtensor<std::int32_t, 2>{{0, 1}, {1, 0}};
        split.test = split.train;
        spec.n_tokens = 2;
        spec.vocab_size = 2;
        spec.n_classes = 2;
    }
    ~fixture() { fs::remove_all(dir); }
    fs::path file() const { return dir / "r.h5"; }

    // One checkpoint at `step` with w = step everywhere and its analysis row.
    void checkpoint(grokkit::run_store& s, std::int64_t step) {
        w.value.fill(static_cast<float>(step));
        s.append_metrics(step, {1.0 / static_cast<double>(step + 1), 0.1});
        s.append_checkpoint(step, step);
        const auto& a = layout.analyses[0];
        std::vector<std::vector<std::int64_t>> set{
            std::vector<std::int64_t>(static_cast<std::size_t>(step % 4), step)};
        std::map<std::string, output_value> row{
            {"score", output_value(std::vector<double>{0.5, 1.5, double(step)})
                          .conformed(a.outputs[0], "probe.run")},
            {"picked", output_value(set).conformed(a.outputs[1], "probe.run")},
            {"note", output_value("at " + std::to_string(step)).conformed(a.outputs[2], "n")}};
        s.append_analysis("probe", step, row);
    }
};

} // namespace

TEST_CASE("run_store: typed analysis rows read back as written, by step", "[run_store]") {
    fixture f("typed");
    {
        auto s = grokkit::run_store::create(f.file(), f.header, f.layout, f.split, f.spec);
        for (std::int64_t step : {0, 5, 10})
            f.checkpoint(s, step);
        CHECK(s.read_analysis("probe", "picked", 5).int64_rows() ==
              std::vector<std::vector<std::int64_t>>{{5}});
        CHECK_THROWS_WITH(s.read_analysis("probe", "picked", 7),
                          Catch::Matchers::Contains("has no value for step 7"));
        CHECK(s.read_checkpoint(1) == std::vector<float>(6, 5.0f));
        s.finish("complete", 1.0);
    }
    const grokkit::run_file r(f.file());
    CHECK(r.analysis_steps("probe") == std::vector<std::int64_t>{0, 5, 10});
    const auto score = r.analysis_output("probe", "score", 2);
    CHECK(score.type() == dtype::float32);
    CHECK(std::get<std::vector<float>>(score.values()) == std::vector<float>{0.5f, 1.5f, 10.0f});
    CHECK(r.analysis_output("probe", "picked", 2).int64_rows() ==
          std::vector<std::vector<std::int64_t>>{{10, 10}});
    CHECK(r.analysis_output("probe", "note", 1).text() == "at 5");
    CHECK(r.analysis_output("probe", "picked", 0).int64_rows() ==
          std::vector<std::vector<std::int64_t>>{{}}); // an empty row is still a row
}

TEST_CASE("run_store: resume keeps rows up to the last checkpoint and cuts values back",
          "[run_store]") {
    fixture f("resume");
    {
        auto s = grokkit::run_store::create(f.file(), f.header, f.layout, f.split, f.spec);
        f.checkpoint(s, 0);
        f.checkpoint(s, 10);
        // Rows after the last checkpoint, as a run killed before its next checkpoint leaves
        // them: metrics and an analysis row without a checkpoint row.
        s.append_metrics(15, {0.5, 0.1});
        const auto& a = f.layout.analyses[0];
        s.append_analysis(
            "probe", 15,
            {{"score", output_value(std::vector<double>{1, 2, 3}).conformed(a.outputs[0], "p")},
             {"picked", output_value(std::vector<std::vector<std::int64_t>>{{7, 7, 7}})
                            .conformed(a.outputs[1], "p")},
             {"note", output_value("dropped").conformed(a.outputs[2], "p")}});
    } // not finished: as after SIGKILL
    f.w.value.fill(-1.0f);
    {
        auto s = grokkit::run_store::resume(f.file(), f.header, f.layout);
        CHECK(s.last_checkpoint_step() == 10);
        CHECK(f.w.value(0, 0) == 10.0f); // the checkpoint is loaded into the layout's tensors
        s.finish("complete", 1.0);       // nothing appended since the resume
    }
    {
        // The flat values end where the last kept row's do: picked {} and {10, 10}; notes
        // "at 0" and "at 10". The dropped row's {7, 7, 7} and "dropped" are gone.
        grokkit::h5::handle h(H5Fopen(f.file().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
        REQUIRE(h.valid());
        auto extent = [&](const char* path) {
            grokkit::h5::handle d(H5Dopen2(h, path, H5P_DEFAULT));
            return grokkit::h5::dims(d).at(0);
        };
        CHECK(extent("/analyses/probe/picked/values") == 2);
        CHECK(extent("/analyses/probe/note/values") == 9);
        CHECK(extent("/analyses/probe/note/offsets") == 2);
        CHECK(extent("/metrics/loss") == 2);
    }
    const grokkit::run_file r(f.file());
    CHECK(r.metric_steps() == std::vector<std::int64_t>{0, 10});
    CHECK(r.analysis_steps("probe") == std::vector<std::int64_t>{0, 10});
    CHECK(r.int_attribute("resume_count") == 1);
    CHECK(r.analysis_output("probe", "note", 1).text() == "at 10");

    f.header.resolved_text = "[run]\nseed = 1\n";
    CHECK_THROWS_AS(grokkit::run_store::resume(f.file(), f.header, f.layout),
                    grokkit::invalid_input);
    CHECK(fs::exists(f.file()));
    CHECK_FALSE(fs::exists(f.file().string() + ".resuming")); // the work copy is cleaned up
}

TEST_CASE("run_store: a file without a committed checkpoint cannot be resumed", "[run_store]") {
    fixture f("empty");
    { auto s = grokkit::run_store::create(f.file(), f.header, f.layout, f.split, f.spec); }
    CHECK_THROWS_AS(grokkit::run_store::resume(f.file(), f.header, f.layout),
                    grokkit::no_checkpoint);
}

TEST_CASE("run store: a large row is chunked by its trailing rows, so one reads alone",
          "[run_store]") {
    const fixture fx("chunks");
    const auto path = fx.dir / "c.h5";
    grokkit::h5::handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const auto chunks = [&](const std::string& name, std::vector<std::size_t> shape) {
        grokkit::h5::handle d =
            grokkit::h5::create_series(f, name, H5T_NATIVE_DOUBLE, shape, {true, false, 256});
        grokkit::h5::handle dcpl(H5Dget_create_plist(d));
        std::vector<hsize_t> c(shape.size() + 1);
        H5Pget_chunk(dcpl, static_cast<int>(c.size()), c.data());
        return c;
    };
    CHECK(chunks("small", {30, 200}) == std::vector<hsize_t>{1, 30, 200});
    CHECK(chunks("scores", {100, 50'000}) == std::vector<hsize_t>{1, 1, 50'000});
    CHECK(chunks("long", {4, 300'000}) == std::vector<hsize_t>{1, 1, 37'500});
}
