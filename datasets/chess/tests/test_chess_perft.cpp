// Perft counts against Stockfish: recorded tables, and Stockfish run live on random positions.
// SPDX-License-Identifier: Apache-2.0
#include "random_games.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace grokkit::chess;

namespace {

struct perft_case {
    const char* what;
    const char* fen;
    std::vector<std::uint64_t> counts; ///< depth 1, 2, ...
};

// Every count below was printed by Stockfish 15.1 (Debian's stockfish package) for
//   printf 'position fen FEN\ngo perft DEPTH\nquit\n' | /usr/games/stockfish
// never by grokkit.
const std::vector<perft_case> recorded = {
    {"start position",
     "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
     {20, 400, 8902, 197281, 4865609}},
    {"Kiwipete",
     "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
     {48, 2039, 97862, 4085603}},
    {"en passant that would expose the king along the rank, rook checks",
     "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1",
     {14, 191, 2812, 43238, 674624}},
    {"promotions with and without capture, castling with a pawn on the seventh",
     "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
     {6, 264, 9467, 422333}},
    {"promotion by capture next to the king",
     "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8",
     {44, 1486, 62379, 2103487}},
    {"middlegame, both sides castled",
     "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10",
     {46, 2079, 89890, 3894594}},
    {"six promotions at once, with and without capture",
     "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N b - - 0 1",
     {24, 496, 9483, 182838, 3605103}},
    {"en passant pinned along the rank by a rook",
     "8/8/8/K2pP2r/8/8/8/7k w - d6 0 1",
     {6, 78, 528, 8288, 55203}},
    {"en passant pinned along the rank by a queen",
     "8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1",
     {6, 136, 863, 20471, 117741}},
    {"en passant that captures the checking pawn",
     "8/8/8/2k5/3Pp3/8/8/4K3 b - d3 0 1",
     {9, 50, 379, 2369, 17879}},
    {"en passant capturing the checker but uncovering a bishop",
     "8/8/8/5k2/3pP3/8/8/1B4K1 b - e3 0 1",
     {7, 62, 423, 4359}},
    {"en passant beside a bishop",
     "4k3/8/8/2b5/3pP3/8/8/6K1 b - e3 0 1",
     {14, 79, 1072, 6517, 89995}},
    {"double check by knight and rook",
     "4k3/8/8/8/8/5n2/4r3/4K3 w - - 0 1",
     {3, 65, 158, 2475, 11708}},
    {"castling out of check",
     "r3k2r/8/8/8/4q3/8/8/R3K2R w KQkq - 0 1",
     {4, 204, 3696, 163887, 3116579}},
    {"castling through attacked squares",
     "r3k2r/8/8/8/8/5q2/8/R3K2R w KQkq - 0 1",
     {20, 855, 15621, 645452}},
    {"castling queenside with only b1 attacked",
     "r3k2r/8/8/8/8/n7/8/R3K2R w KQkq - 0 1",
     {21, 502, 10900, 274578}},
};

} // namespace

TEST_CASE("perft matches Stockfish's counts on positions that test every rule", "[chess]") {
    for (const auto& c : recorded) {
        position pos = position::from_fen(c.fen);
        const std::string before = pos.fen();
        for (std::size_t depth = 1; depth <= c.counts.size(); ++depth) {
            INFO(c.what << ": " << c.fen << " depth " << depth);
            CHECK(perft(pos, int(depth)) == c.counts[depth - 1]);
        }
        CHECK(pos.fen() == before); // perft leaves the position as it found it
    }
}

// Hidden from the default suite (about 0.5 s in a release build, minutes in a debug or
// sanitizer build); run with `build/tests/test_chess "[slow]"`. bench/perft_vs_stockfish.py
// checks the same counts against Stockfish as it times them.
TEST_CASE("perft to the issue's depths: start position 6, Kiwipete 5", "[.][slow]") {
    position start;
    CHECK(perft(start, 6) == 119060324);
    position kiwipete =
        position::from_fen("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1");
    CHECK(perft(kiwipete, 5) == 193690690);
}

namespace {

/// Stockfish's `go perft DEPTH` per first move for each FEN, from one Stockfish process.
std::vector<std::map<std::string, std::uint64_t>>
stockfish_divide(const std::vector<std::string>& fens, int depth) {
    const std::string script = std::string(GROKKIT_BINARY_DIR) + "/tests/stockfish-perft-" +
                               std::to_string(::getpid()) + ".txt";
    {
        std::ofstream out(script);
        for (const auto& fen : fens)
            out << "position fen " << fen << "\ngo perft " << depth << '\n';
        out << "quit\n";
    }
    const std::string command = "/usr/games/stockfish < '" + script + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::vector<std::map<std::string, std::uint64_t>> divides(1);
    char line[256];
    while (std::fgets(line, sizeof line, pipe)) {
        const std::string text(line);
        const auto colon = text.find(": ");
        if (text.rfind("Nodes searched", 0) == 0)
            divides.emplace_back();
        else if (colon != std::string::npos && colon <= 5)
            divides.back()[text.substr(0, colon)] = std::stoull(text.substr(colon + 2));
    }
    const int status = ::pclose(pipe);
    std::remove(script.c_str());
    REQUIRE(status == 0);
    divides.pop_back(); // the one after the last "Nodes searched"
    return divides;
}

} // namespace

TEST_CASE("perft per first move equals Stockfish's on 300 positions of random games", "[chess]") {
    INFO("Stockfish is missing: ./scripts/install-deps installs Debian's stockfish");
    REQUIRE(::access("/usr/games/stockfish", X_OK) == 0);
    std::vector<std::string> fens;
    int ply = 0;
    chess_test::random_games(24, 30, 200, [&](const position& pos, move) {
        if (ply++ % 7 == 0 && fens.size() < 300)
            fens.push_back(pos.fen());
    });
    REQUIRE(fens.size() >= 200);
    const auto expected = stockfish_divide(fens, 3);
    REQUIRE(expected.size() == fens.size());
    for (std::size_t i = 0; i < fens.size(); ++i) {
        position pos = position::from_fen(fens[i]);
        std::map<std::string, std::uint64_t> ours;
        for (const auto& e : perft_divide(pos, 3))
            ours[to_uci(e.first)] = e.leaves;
        INFO(fens[i]);
        CHECK(ours == expected[i]);
    }
}
