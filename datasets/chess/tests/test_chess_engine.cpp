// The UCI client against the real Stockfish: handshake, options and their ranges, short
// searches of each kind, engines in parallel, one killed mid-search and one that hangs.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/uci_engine.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <thread>

using namespace grokkit::chess;

namespace {
void require_stockfish() {
    INFO("Stockfish is missing: ./scripts/install-deps installs Debian's stockfish");
    REQUIRE(::access(stockfish_path, X_OK) == 0);
}
search_limits depth(int d) {
    search_limits l;
    l.depth = d;
    return l;
}
} // namespace

TEST_CASE("UCI: Stockfish starts, names itself and lists its options with ranges", "[chess]") {
    require_stockfish();
    uci_engine engine;
    CHECK_THAT(engine.name(), Catch::StartsWith("Stockfish"));
    const auto& options = engine.options();
    const auto skill = std::find_if(options.begin(), options.end(),
                                    [](const uci_option& o) { return o.name == "Skill Level"; });
    REQUIRE(skill != options.end());
    CHECK(skill->type == "spin");
    CHECK(skill->min == 0);
    CHECK(skill->max == 20);
    engine.set_option("Skill Level", "3");
    engine.set_option("Threads", "1");
    engine.set_option("Hash", "16");
    engine.set_option("UCI_LimitStrength", "true");
    engine.set_option("UCI_Elo", "1350");
    CHECK_THROWS_WITH(engine.set_option("UCI_Elo", "1000"),
                      Catch::Contains("option \"UCI_Elo\": \"1000\"; expected an integer in "
                                      "[1350, 2850]"));
    CHECK_THROWS_WITH(engine.set_option("Skill Level", "21"),
                      Catch::Contains("expected an integer in [0, 20]"));
    CHECK_THROWS_WITH(engine.set_option("UCI_LimitStrength", "yes"),
                      Catch::Contains("expected true or false"));
    CHECK_THROWS_WITH(engine.set_option("Skil Level", "3"),
                      Catch::Contains("\"Skil Level\": unknown; expected one of: ") &&
                          Catch::Contains("Skill Level"));
    // Still answering after the refused options.
    const auto r = engine.go(position(), {}, depth(2));
    CHECK(legal_moves(position()).contains(r.best));
}

TEST_CASE("UCI: searches by depth, nodes and movetime give legal moves", "[chess]") {
    require_stockfish();
    uci_engine engine;
    engine.set_option("Threads", "1");
    engine.new_game();
    const position start;
    const std::vector<move> moves = {parse_uci(start, "e2e4"),
                                     parse_uci(position::from_fen("rnbqkbnr/pppppppp/8/8/4P3/8/"
                                                                  "PPPP1PPP/RNBQKBNR b KQkq - 0 1"),
                                               "e7e5")};
    position after = start;
    for (const move m : moves)
        (void)after.make(m);

    const auto by_depth = engine.go(start, moves, depth(6));
    CHECK(legal_moves(after).contains(by_depth.best));
    CHECK(by_depth.depth == 6);
    CHECK(by_depth.score_cp.has_value());

    search_limits nodes;
    nodes.nodes = 2000;
    const auto by_nodes = engine.go(start, moves, nodes);
    CHECK(legal_moves(after).contains(by_nodes.best));
    CHECK(by_nodes.nodes >= 1);

    search_limits time;
    time.movetime_ms = 50;
    const auto by_time = engine.go(start, moves, time);
    CHECK(legal_moves(after).contains(by_time.best));

    // A mate in one is found and scored as one.
    const position mate = position::from_fen("k7/8/1K6/8/8/8/8/7R w - - 0 1");
    const auto mating = engine.go(mate, {}, depth(4));
    CHECK(to_uci(mating.best) == "h1h8");
    CHECK(mating.mate_in == 1);
    // No legal move: no best move.
    CHECK(engine.go(position::from_fen("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"), {}, depth(3))
              .best.is_none());
    CHECK_THROWS_WITH(engine.go(start, {}, search_limits{}),
                      Catch::Contains("expected movetime, nodes or depth"));
}

TEST_CASE("UCI: two engines search at once in their own processes", "[chess]") {
    require_stockfish();
    uci_engine a, b;
    CHECK(a.pid() != b.pid());
    search_result ra, rb;
    std::thread ta([&] { ra = a.go(position(), {}, depth(8)); });
    std::thread tb([&] { rb = b.go(position(), {}, depth(8)); });
    ta.join();
    tb.join();
    CHECK(legal_moves(position()).contains(ra.best));
    CHECK(legal_moves(position()).contains(rb.best));
}

TEST_CASE("UCI: an engine killed mid-search is detected, restarted and reported", "[chess]") {
    require_stockfish();
    uci_engine engine;
    engine.set_option("Skill Level", "5");
    const pid_t first = engine.pid();
    search_limits long_search;
    long_search.depth = 60;
    long_search.timeout = std::chrono::seconds(60);
    // Killed on the first line it prints while searching: an event, not a timer.
    bool killed = false;
    CHECK_THROWS_AS(engine.go(position(), {}, long_search,
                              [&](const std::string&) {
                                  if (!killed)
                                      killed = ::kill(first, SIGKILL) == 0;
                              }),
                    engine_failure);
    CHECK(killed);
    CHECK(engine.restarts() == 1);
    CHECK_THAT(engine.last_failure(), Catch::Contains("died during a search (killed by signal 9)"));
    CHECK(engine.pid() != first);
    // Restarted with its options, and searching again.
    const auto r = engine.go(position(), {}, depth(3));
    CHECK(legal_moves(position()).contains(r.best));
}

TEST_CASE("UCI: an engine that never answers a search is stopped, restarted and reported",
          "[chess]") {
    uci_engine engine(std::string(GROKKIT_SOURCE_DIR) + "/datasets/chess/tests/fake_engine.sh");
    CHECK(engine.name() == "Hanging Engine");
    engine.set_option("Hash", "32");
    search_limits limits;
    limits.nodes = 100;
    limits.timeout = std::chrono::milliseconds(300);
    CHECK_THROWS_WITH(engine.go(position(), {}, limits),
                      Catch::Contains("did not answer a search within 300 ms") &&
                          Catch::Contains("; restarted"));
    CHECK(engine.restarts() == 1);
}

TEST_CASE("UCI: a program that is not an engine is refused at start", "[chess]") {
    CHECK_THROWS_WITH(uci_engine("/nonexistent/stockfish", std::chrono::milliseconds(2000)),
                      Catch::Contains("cannot start a UCI engine"));
    CHECK_THROWS_WITH(uci_engine("/bin/true", std::chrono::milliseconds(2000)),
                      Catch::Contains("cannot start a UCI engine"));
}
