// The PGN reader on a fixture of real-file features and broken games, plain and zstd (with a
// 2 GiB window), corrupt and truncated streams, and the writer's round trip.
// SPDX-License-Identifier: Apache-2.0
#include "random_games.hpp"

#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/pgn.hpp>
#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace grokkit::chess;

namespace {

const std::string fixture =
    std::string(GROKKIT_SOURCE_DIR) + "/datasets/chess/tests/data/mixed.pgn";

std::string scratch(const std::string& name) {
    return std::string(GROKKIT_BINARY_DIR) + "/tests/pgn-" + std::to_string(::getpid()) + "-" +
           name;
}

std::vector<pgn_game> read_all(const std::string& path) {
    pgn_reader reader(path);
    std::vector<pgn_game> games;
    pgn_game g;
    while (reader.next(g))
        games.push_back(g);
    return games;
}

std::string uci_moves(const pgn_game& g) {
    std::string s;
    for (const move m : g.moves) {
        if (!s.empty())
            s += ' ';
        s += to_uci(m);
    }
    return s;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

/// `zstd --long=31` reading a pipe: the frame declares a 2 GiB window, beyond zstd's default
/// decoding limit.
std::string compress_long(const std::string& path) {
    const std::string out = path + ".zst";
    REQUIRE(std::system(("zstd -q -f --long=31 < '" + path + "' > '" + out + "'").c_str()) == 0);
    return out;
}

void check_fixture_games(const std::vector<pgn_game>& games) {
    REQUIRE(games.size() == 9);
    for (std::size_t i = 0; i < games.size(); ++i)
        CHECK(games[i].number == i + 1);

    const pgn_game& first = games[0]; // BOM, CRLF, comments, NAGs, variations, escape line
    CHECK(!first.problem);
    CHECK(first.line == 1);
    CHECK(uci_moves(first) == "e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6");
    CHECK(first.result == "1-0");
    REQUIRE(first.tag("Event"));
    CHECK(*first.tag("Event") == "Escapes \"quoted\" and \\ backslash");
    CHECK(*first.tag("WhiteElo") == "950");
    CHECK(*first.tag("TimeControl") == "300+0");
    CHECK(first.tags.size() == 10);

    REQUIRE(games[1].problem); // an illegal move
    CHECK(games[1].problem->ply == 3);
    CHECK(games[1].problem->move_text == "Ke3");
    CHECK_THAT(games[1].problem->reason, Catch::Contains("no legal king move to e3"));
    CHECK(uci_moves(games[1]) == "e2e4 e7e5");

    CHECK(!games[2].problem); // from a FEN, black first
    CHECK(games[2].start.fen() == "4k3/8/8/8/8/8/4P3/4K3 b - - 0 1");
    CHECK(uci_moves(games[2]) == "e8d7 e2e4 d7e6");
    CHECK(games[2].final_position().fen() == "8/8/4k3/8/4P3/8/8/4K3 w - - 1 3");

    REQUIRE(games[3].problem); // ambiguous
    CHECK(games[3].problem->ply == 7);
    CHECK_THAT(games[3].problem->reason, Catch::Contains("ambiguous between Nfg5 and Neg5"));
    REQUIRE(games[4].problem); // unreadable
    CHECK(games[4].problem->ply == 2);
    CHECK(games[4].problem->move_text == "Zz9");
    REQUIRE(games[5].problem); // bad FEN tag
    CHECK(games[5].problem->ply == 0);
    CHECK_THAT(games[5].problem->reason,
               Catch::StartsWith("FEN tag: FEN") && Catch::Contains("it has 5 fields"));
    REQUIRE(games[6].problem); // a variant
    CHECK_THAT(games[6].problem->reason, Catch::Contains("\"Chess960\" is not standard chess"));

    CHECK(!games[7].problem); // no result token: ends at the next tags, result from its tag
    CHECK(uci_moves(games[7]) == "d2d4 d7d5");
    CHECK(games[7].result == "1/2-1/2");
    CHECK(!games[8].problem); // the last game, without a final newline
    CHECK(uci_moves(games[8]) == "c2c4 c7c5 b1c3 b8c6");
    CHECK(games[8].result == "1/2-1/2");
}

} // namespace

TEST_CASE("PGN: broken games are skipped one by one and the good ones around them load",
          "[chess]") {
    check_fixture_games(read_all(fixture));
}

TEST_CASE("PGN: a .zst file with a 2 GiB window reads as the plain file does", "[chess]") {
    const std::string plain = scratch("mixed.pgn");
    write_file(plain, file_bytes(fixture));
    const std::string zst = compress_long(plain);
    check_fixture_games(read_all(zst));
    std::remove(plain.c_str());
    std::remove(zst.c_str());
}

TEST_CASE("PGN: unreadable files are errors, not games", "[chess]") {
    CHECK_THROWS_WITH(pgn_reader("/nonexistent/x.pgn"),
                      Catch::Contains("/nonexistent/x.pgn: cannot open"));
    const std::string plain = scratch("for-zstd.pgn");
    write_file(plain, file_bytes(fixture));
    const std::string zst = compress_long(plain);
    const std::string bytes = file_bytes(zst);

    write_file(zst, bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(read_all(zst), Catch::Contains("the zstd stream is truncated"));

    std::string flipped = bytes;
    for (std::size_t i = 8; i < flipped.size(); i += 3)
        flipped[i] = char(flipped[i] ^ 0x5A);
    write_file(zst, flipped);
    CHECK_THROWS_WITH(read_all(zst), Catch::Contains("corrupt zstd data"));
    std::remove(plain.c_str());
    std::remove(zst.c_str());
}

TEST_CASE("PGN: written games read back to the same moves, tags and result", "[chess]") {
    const std::string path = scratch("written.pgn");
    std::vector<std::vector<move>> played;
    std::vector<std::string> results;
    std::string text;
    {
        std::vector<move> moves;
        game g;
        std::size_t count = 0;
        chess_test::random_games(5, 30, 300, [&](const position& pos, move m) {
            if (pos == position() && !moves.empty()) { // a new game began
                played.push_back(moves);
                moves.clear();
            }
            moves.push_back(m);
            ++count;
        });
        played.push_back(moves);
        CHECK(count > 3000);
    }
    for (std::size_t i = 0; i < played.size(); ++i) {
        game g;
        for (const move m : played[i])
            g.play(m);
        results.push_back(g.result(false));
        text += write_pgn({{"Event", "random \"game\" " + std::to_string(i)}, {"WhiteElo", "900"}},
                          position(), played[i], results.back());
    }
    // One from a FEN with black to move.
    const position black_first = position::from_fen("4k3/8/8/8/8/8/4P3/4K3 b - - 0 1");
    text += write_pgn({}, black_first, {parse_uci(black_first, "e8d7")}, "*");
    write_file(path, text);

    const auto games = read_all(path);
    REQUIRE(games.size() == played.size() + 1);
    for (std::size_t i = 0; i < played.size(); ++i) {
        INFO("game " << i);
        CHECK(!games[i].problem);
        CHECK(games[i].moves == played[i]);
        CHECK(games[i].result == results[i]);
        CHECK(*games[i].tag("Event") == "random \"game\" " + std::to_string(i));
        CHECK(*games[i].tag("WhiteElo") == "900");
        CHECK(*games[i].tag("Date") == "????.??.??");
    }
    CHECK(games.back().start == black_first);
    CHECK(uci_moves(games.back()) == "e8d7");
    // Lines stay within 80 characters.
    std::size_t longest = 0, start = 0;
    for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', start)) {
        longest = std::max(longest, at - start);
        start = at + 1;
    }
    CHECK(longest <= 80);
    std::remove(path.c_str());
}
