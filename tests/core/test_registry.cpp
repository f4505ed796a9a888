// Tests of plugin loading: the good fixture loads, each broken one is refused with its reason.
// SPDX-License-Identifier: Apache-2.0
#include "host/registry.hpp"

#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <map>

namespace {

const std::string fixture_dir = GROKKIT_BINARY_DIR "/tests/fixtures/plugins";

std::map<std::string, std::string> refusals_by_library(const grokkit::registry& reg) {
    std::map<std::string, std::string> out;
    for (const auto& r : reg.refusals())
        out[r.path.filename().string()] = r.reason;
    return out;
}

} // namespace

TEST_CASE("registry: good plugins load and every broken fixture is refused with its reason",
          "[registry]") {
    grokkit::registry reg;
    reg.load_directory(fixture_dir);
    REQUIRE(reg.plugins().size() == 1);
    CHECK(reg.plugins()[0].name == "good_minimal");
    CHECK(reg.plugins()[0].kind == grokkit::plugin_kind::dataset);

    const auto refused = refusals_by_library(reg);
    REQUIRE(refused.size() == 8);
    using Catch::Matchers::Contains;
    CHECK_THAT(refused.at("libgrokkit_bad_api_version.so"),
               Contains("plugin api version 0; expected " + std::to_string(GROKKIT_API_VERSION)));
    CHECK_THAT(refused.at("libgrokkit_bad_fingerprint.so"),
               Contains("build fingerprint 'api1;gcc0") &&
                   Contains(std::string("expected '") + grokkit::core_fingerprint()));
    CHECK_THAT(refused.at("libgrokkit_no_entry_point.so"),
               Contains("no 'grokkit_plugin_entry' entry point"));
    CHECK_THAT(refused.at("libgrokkit_not_a_plugin.so"),
               Contains("no 'grokkit_plugin_entry' entry point"));
    CHECK_THAT(refused.at("libgrokkit_missing_symbol.so"),
               Contains("cannot load library") && Contains("undefined symbol"));
    CHECK_THAT(refused.at("libgrokkit_throwing_factory.so"),
               Contains("factory threw") && Contains("deliberate failure"));
    CHECK_THAT(refused.at("libgrokkit_undocumented_param.so"), Contains("has no doc string"));
    CHECK_THAT(refused.at("libgrokkit_crashing_constructor.so"),
               Contains("loading it") &&
                   Contains("the file is damaged")); // signal 11; ASan: exit 1

    REQUIRE(reg.warnings().size() == 1);
    CHECK_THAT(reg.warnings()[0],
               Contains("plugin 'good_minimal'") && Contains("libgrokkit_duplicate_name.so") &&
                   Contains("already loaded from") && Contains("libgrokkit_good_minimal.so"));
}

TEST_CASE("registry: a refused library does not stop the others from loading", "[registry]") {
    grokkit::registry reg;
    reg.load_file(fixture_dir + "/libgrokkit_missing_symbol.so");
    reg.load_file(fixture_dir + "/libgrokkit_good_minimal.so");
    reg.load_file(fixture_dir + "/libgrokkit_throwing_factory.so");
    CHECK(reg.plugins().size() == 1);
    CHECK(reg.refusals().size() == 2);
}

TEST_CASE("registry: objects are created through the library, unknown names list what exists",
          "[registry]") {
    grokkit::registry reg;
    reg.load_directory(fixture_dir);
    auto ds = reg.create_dataset("good_minimal");
    REQUIRE(ds);
    CHECK(ds->spec().n_classes == 2);
    try {
        reg.create_dataset("nope");
        FAIL("expected an error");
    } catch (const grokkit::error& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains("unknown dataset plugin \"nope\"") &&
                                 Catch::Matchers::Contains("one of: good_minimal"));
    }
    CHECK_THROWS_AS(reg.create_model("good_minimal"), grokkit::error);
}

TEST_CASE("registry: the built-in plugin directory holds the shipped plugins", "[registry]") {
    grokkit::registry reg;
    reg.load_directory(GROKKIT_PLUGIN_DIR);
    CHECK(reg.refusals().empty());
    CHECK(reg.find("modular_arithmetic") != nullptr);
    CHECK(reg.find("mlp") != nullptr);
}

TEST_CASE("registry: symbolic links that loop or lead nowhere are refused, not thrown",
          "[registry]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / "grokkit_test_registry_links";
    fs::remove_all(dir);
    fs::create_directories(dir / "libgrokkit_a_directory.so");
    fs::create_symlink(dir / "libgrokkit_loop.so", dir / "libgrokkit_loop.so");
    fs::create_symlink(dir / "missing.so", dir / "libgrokkit_dangling.so");
    fs::copy_file(fixture_dir + "/libgrokkit_good_minimal.so", dir / "libgrokkit_good.so");
    grokkit::registry reg;
    reg.load_directory(dir);
    CHECK(reg.plugins().size() == 1);
    const auto refused = refusals_by_library(reg);
    REQUIRE(refused.size() == 2);
    CHECK_THAT(refused.at("libgrokkit_loop.so"),
               Catch::Matchers::Contains("Too many levels of symbolic links"));
    CHECK_THAT(refused.at("libgrokkit_dangling.so"),
               Catch::Matchers::Contains("No such file or directory"));
    fs::remove_all(dir);
}
