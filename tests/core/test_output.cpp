// Tests of typed outputs: declarations, binding named sizes, values, conversions and refusals.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/output.hpp>

#include <catch2/catch.hpp>

using grokkit::dtype;
using grokkit::output_binding;
using grokkit::output_layout;
using grokkit::output_set;
using grokkit::output_value;

namespace {

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const grokkit::error& e) {
        return e.what();
    }
    return "(no error)";
}

output_set example_outputs() {
    output_set os;
    os.add("loss", dtype::float64, {}, "nats", "a scalar");
    os.add("top", dtype::int64, {"n_queries"}, "index", "top-k per query").ragged();
    os.add("energy", dtype::float32, {"n_neurons", "n_frequencies"}, "1", "a matrix");
    os.add("pgn", dtype::string, {"n_games"}, "", "one game text each");
    os.add("mask", dtype::boolean, {"n_games"}, "", "who won").optional("chess datasets");
    return os;
}

} // namespace

TEST_CASE("output: declarations print as a table with named shapes", "[output]") {
    const std::string table = grokkit::describe_outputs(example_outputs());
    CHECK(table.find("| `loss` | float64 | () | nats | a scalar |") != std::string::npos);
    CHECK(table.find("| `top` | int64 | (n_queries, *) | index | top-k per query |") !=
          std::string::npos);
    CHECK(table.find("| `mask` | bool | (n_games) |  | who won (only for chess datasets) |") !=
          std::string::npos);
    output_set os;
    CHECK(message_of([&] { os.add("x", dtype::int64, {}, "", ""); }) ==
          "output x: declared without a doc string; expected one line saying what it holds");
    os.add("x", dtype::int64, {}, "", "x");
    CHECK(message_of([&] { os.add("x", dtype::int64, {}, "", "again"); }).find("declared twice") !=
          std::string::npos);
}

TEST_CASE("output: binding sizes every dim and skips only optional outputs", "[output]") {
    const output_set os = example_outputs();
    output_binding b;
    b.size("n_queries", 3);
    b.size("n_neurons", 4);
    b.size("n_frequencies", 5);
    b.size("n_games", 2);
    b.skip("mask");
    const auto layouts = grokkit::bind_outputs("probe", os, b);
    REQUIRE(layouts.size() == 4);
    CHECK(layouts[2].shape == std::vector<std::size_t>{4, 5});
    CHECK(layouts[2].axes == std::vector<std::string>{"neurons", "frequencies"});
    CHECK(layouts[1].variable);
    CHECK(layouts[3].variable); // strings are variable-length rows

    output_binding unbound;
    CHECK(message_of([&] { grokkit::bind_outputs("probe", os, unbound); }) ==
          "probe.outputs: output \"top\": size \"n_queries\" is not bound; expected "
          "output_binding::size(\"n_queries\", n)");
    b.skip("loss");
    CHECK(message_of([&] { grokkit::bind_outputs("probe", os, b); }) ==
          "probe.outputs: skips \"loss\", a required output; expected the name of an optional "
          "output");
}

TEST_CASE("output: values keep their dtype, shape and rows", "[output]") {
    const output_value s = 0.25;
    CHECK(s.type() == dtype::float64);
    CHECK(s.scalar() == 0.25);
    const output_value n = std::int64_t{7};
    CHECK(n.int64s() == std::vector<std::int64_t>{7});
    const output_value t = "1. e4 e5";
    CHECK(t.type() == dtype::string);
    CHECK(t.text() == "1. e4 e5");
    const output_value texts = std::vector<std::string>{"a", "", "ccc"};
    CHECK(texts.texts() == std::vector<std::string>{"a", "", "ccc"});
    const std::vector<std::vector<std::int64_t>> rows{{1, 2}, {}, {5}};
    const output_value r = rows;
    CHECK(r.int64_rows() == rows);
    CHECK(r.offsets() == std::vector<std::int64_t>{0, 2, 2, 3});
    const output_value v = std::vector<std::int64_t>{4, 5, 6};
    CHECK(v.shape() == std::vector<std::size_t>{3}); // taken before the vector moves
    const output_value b = output_value::booleans({true, false});
    CHECK(b.int64s() == std::vector<std::int64_t>{1, 0});
    CHECK(message_of([&] { (void)t.scalar(); }) ==
          "output_value.scalar: a value of dtype string and shape (); expected a number");
}

TEST_CASE("output: conforming checks dtype and shape, converting only between reals", "[output]") {
    output_layout energy{"energy", dtype::float32, {2}, {"neuron"}, false, "1", "d"};
    const xt::xarray<double> d = {1.5, 2.5};
    const output_value f = output_value(d).conformed(energy, "probe.run");
    CHECK(f.type() == dtype::float32);
    CHECK(std::get<std::vector<float>>(f.values()) == std::vector<float>{1.5f, 2.5f});
    CHECK(message_of([&] {
              (void)output_value(std::vector<std::int64_t>{1, 2}).conformed(energy, "probe.run");
          }) ==
          "probe.run: output \"energy\": a value of dtype int64; expected float32 as declared");
    CHECK(message_of([&] {
              (void)output_value(std::vector<double>{1, 2, 3}).conformed(energy, "probe.run");
          }) == "probe.run: output \"energy\": shape (3); expected shape (2) as declared");
    output_layout top{"top", dtype::int64, {2}, {"query"}, true, "", "d"};
    const std::vector<std::vector<std::int64_t>> two{{1}, {2, 3}};
    CHECK_NOTHROW(output_value(two).conformed(top, "hull.run"));
    const std::vector<std::vector<std::int64_t>> three{{1}, {2}, {3}};
    CHECK(message_of([&] { (void)output_value(three).conformed(top, "hull.run"); }) ==
          "hull.run: output \"top\": 3 variable-length rows; expected 2 variable-length rows "
          "(2) as declared");
}

TEST_CASE("output: values whose parts disagree are refused before they reach the file",
          "[output]") {
    const output_layout three{"x", dtype::float64, {3}, {"i"}, false, "1", "d"};
    const output_layout scalar{"s", dtype::float64, {}, {}, false, "1", "d"};
    const output_layout ints{"n", dtype::int64, {1}, {"i"}, false, "1", "d"};
    const output_layout rows{"r", dtype::int64, {}, {}, true, "", "d"};
    const std::string expected =
        "; expected elements that match the value's dtype, shape and row offsets";
    CHECK(message_of([&] {
              (void)output_value(dtype::float64, {3}, std::vector<double>{1}).conformed(three, "w");
          }) == "w: output \"x\": a value with 1 elements for shape (3)" + expected);
    CHECK(message_of([&] { (void)output_value().conformed(scalar, "w"); }) ==
          "w: output \"s\": a value with 0 elements for shape ()" + expected);
    CHECK(message_of([&] {
              (void)output_value(dtype::int64, {1}, std::vector<double>{1}).conformed(ints, "w");
          }) ==
          "w: output \"n\": a value with elements of another type than its dtype int64" + expected);
    CHECK(message_of([&] {
              (void)output_value(dtype::int64, {}, std::vector<std::int64_t>{1, 2}, {0, 3})
                  .conformed(rows, "w");
          }).find("row offsets that do not run from 0 up to its 2 elements") != std::string::npos);
}
