// Tests of report pieces: JSON text, charts that drop what they cannot draw, and a page no
// section's text or specification can break out of.
// SPDX-License-Identifier: Apache-2.0
#include "host/report.hpp"

#include <grokkit/report.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <grokkit_test/host.hpp>

using Catch::Matchers::Contains;

TEST_CASE("report: JSON strings and numbers", "[report]") {
    CHECK(grokkit::json_string("a\"b\\c\nd</script>") == "\"a\\\"b\\\\c\\nd\\u003c/script>\"");
    CHECK(grokkit::json_string(std::string(1, '\x01')) == "\"\\u0001\"");
    CHECK(grokkit::json_number(NAN) == "null");
    CHECK(grokkit::json_number(INFINITY) == "null");
    CHECK(grokkit::json_number(123456789.0) == "123456789"); // steps stay exact
}

TEST_CASE("report: line charts leave out NaN, and non-positive values on a log axis", "[report]") {
    const auto c = grokkit::line_chart("t", {{"s", {0, 1, 2, 3}, {1.0, NAN, -1.0, 2.0}}},
                                       {"step", "loss", true, true, {}});
    CHECK_THAT(c.vega_lite, Contains("\"x\":0,\"y\":1}"));
    CHECK_THAT(c.vega_lite, Contains("\"x\":3,\"y\":2}"));
    CHECK(c.vega_lite.find("\"x\":1,") == std::string::npos);
    CHECK(c.vega_lite.find("\"x\":2,") == std::string::npos);
    CHECK_THAT(c.vega_lite, Contains("\"type\":\"symlog\""));
}

TEST_CASE("report: no section text or specification ends a script element", "[report]") {
    const grokkit_test::scratch_dir js("report_js");
    for (const char* f : {"vega-6.4.0.min.js", "vega-lite-6.5.0.min.js", "vega-embed-7.3.0.min.js"})
        std::ofstream(js.path / f) << "/* stand-in */";
    setenv("GROKKIT_JS_DIR", js.path.c_str(), 1);
    grokkit::report_section s;
    s.title = "<b>title</b>";
    s.notes = {"a note with </script><script>alert(1)</script>"};
    s.charts.push_back({"chart", "{\"title\":\"</script><script>alert(2)</script>\"}"});
    const std::string page = grokkit::render_report("t", {s});
    unsetenv("GROKKIT_JS_DIR");
    CHECK(page.find("alert(1)</script>") == std::string::npos);
    CHECK(page.find("<script>alert(2)") == std::string::npos);
    CHECK_THAT(page, Contains("\\u003c/script>\\u003cscript>alert(2)"));
    CHECK_THAT(page, Contains("&lt;b&gt;title&lt;/b&gt;"));
}

TEST_CASE("report: precision at k counts the known cases among the k highest values", "[report]") {
    // k = 2: the two highest are indices 3 and 0; of the positives {0, 2} only 0 is among them.
    CHECK(grokkit::precision_at_k({5.0, 1.0, 2.0, 9.0}, {0, 2}) == Approx(0.5));
    // NaN never ranks, ties go to the lower index.
    const double nan = std::nan("");
    CHECK(grokkit::precision_at_k({nan, 1.0, 1.0, 0.0}, {1, 2}) == Approx(1.0));
    CHECK(grokkit::precision_at_k({nan, 1.0, 1.0, 0.0}, {2}) == Approx(0.0));
    CHECK(std::isnan(grokkit::precision_at_k({1.0}, {})));
}
