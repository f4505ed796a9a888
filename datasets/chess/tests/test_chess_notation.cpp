// UCI and SAN: known moves written as real files write them, round trips over every legal
// move of random games, and a table of malformed and illegal moves.
// SPDX-License-Identifier: Apache-2.0
#include "random_games.hpp"

#include <grokkit/chess/game.hpp>
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

using namespace grokkit::chess;

namespace {
/// The SAN of the legal move `uci` in `fen`.
std::string san(const char* fen, const char* uci) {
    const position pos = position::from_fen(fen);
    return to_san(pos, parse_uci(pos, uci));
}
} // namespace

TEST_CASE("SAN is written with the least disambiguation and the check marks", "[chess]") {
    const char* start = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
    CHECK(san(start, "e2e4") == "e4");
    CHECK(san(start, "g1f3") == "Nf3");
    // Knights on b1 and f1 both reach d2: the file tells them apart.
    CHECK(san("4k3/8/8/8/8/8/8/1N2KN2 w - - 0 1", "b1d2") == "Nbd2");
    // Rooks on a1 and a5 both reach a3: the rank does.
    CHECK(san("4k3/8/8/R7/8/8/8/R3K3 w - - 0 1", "a1a3") == "R1a3");
    // Queens on e4, h4 and h1 all reach e1... h4 shares the file with h1 and the rank with e4.
    CHECK(san("1k6/8/8/8/4Q2Q/8/K7/7Q w - - 0 1", "h4e1") == "Qh4e1");
    CHECK(san("1k6/8/8/8/4Q2Q/8/K7/7Q w - - 0 1", "e4e1") == "Qee1");
    // A pinned knight does not need telling apart from the one that can move.
    CHECK(san("4k3/8/8/8/4r3/8/2N1N3/4K3 w - - 0 1", "c2d4") == "Nd4");
    CHECK(san("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1g1") == "O-O");
    CHECK(san("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", "e8c8") == "O-O-O");
    CHECK(san("8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c7c8q") == "c8=Q");
    CHECK(san("1n2k3/2P5/8/8/8/8/8/4K3 w - - 0 1", "c7b8n") == "cxb8=N");
    CHECK(san("rnbqkbnr/ppp1pppp/8/3pP3/8/8/PPPP1PPP/RNBQKBNR w KQkq d6 0 3", "e5d6") == "exd6");
    CHECK(san("rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2", "d8h4") == "Qh4#");
    CHECK(san("4k3/8/8/8/8/8/8/R3K3 w - - 0 1", "a1a8") == "Ra8+");
}

TEST_CASE("SAN is read in the forms real game files use", "[chess]") {
    const position start;
    const position castles = position::from_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
    const position promotes = position::from_fen("1n2k3/2P5/8/8/8/8/8/4K3 w - - 0 1");
    CHECK(to_uci(parse_san(start, "Nf3")) == "g1f3");
    CHECK(to_uci(parse_san(start, "Ng1f3")) == "g1f3");
    CHECK(to_uci(parse_san(start, "Ng1-f3")) == "g1f3");
    CHECK(to_uci(parse_san(start, "e4!?")) == "e2e4");
    CHECK(to_uci(parse_san(start, "e4!!")) == "e2e4");
    CHECK(to_uci(parse_san(start, "Pe4")) == "e2e4");
    CHECK(to_uci(parse_san(castles, "O-O")) == "e1g1");
    CHECK(to_uci(parse_san(castles, "0-0-0+")) == "e1c1");
    CHECK(to_uci(parse_san(promotes, "c8=Q+")) == "c7c8q");
    CHECK(to_uci(parse_san(promotes, "c8Q")) == "c7c8q");
    CHECK(to_uci(parse_san(promotes, "cxb8=R")) == "c7b8r");
    CHECK(to_uci(parse_san(promotes, "cb8N")) == "c7b8n");
    const position ep =
        position::from_fen("rnbqkbnr/ppp1pppp/8/3pP3/8/8/PPPP1PPP/RNBQKBNR w KQkq d6 0 3");
    CHECK(to_uci(parse_san(ep, "exd6 e.p.")) == "e5d6");
    CHECK(to_uci(parse_san(ep, "exd6")) == "e5d6");
    CHECK(parse_san(ep, "exd6").kind() == move_kind::en_passant);
    CHECK(to_uci(parse_san(promotes, "c8=q")) == "c7c8q");
    CHECK(to_uci(parse_san(promotes, "c8q")) == "c7c8q");
    CHECK(to_uci(parse_san(promotes, "cxb8=n")) == "c7b8n");
    CHECK(to_uci(parse_san(start, "Nf3!+")) == "g1f3");
    CHECK(to_uci(parse_san(start, "e4++")) == "e2e4");
    // A pawn's capture needs its file, and a push has no x.
    const position pawn_or_capture = position::from_fen("4k3/8/3r4/2P5/8/8/8/4K3 w - - 0 1");
    CHECK(to_uci(parse_san(pawn_or_capture, "cxd6")) == "c5d6");
    CHECK(to_uci(parse_san(pawn_or_capture, "cd6")) == "c5d6");
    CHECK(to_uci(parse_san(pawn_or_capture, "c6")) == "c5c6");
}

TEST_CASE("UCI and SAN round-trip every legal move of random games", "[chess]") {
    std::size_t checked = 0;
    chess_test::random_games(7, 40, 300, [&](const position& pos, move) {
        for (const move m : legal_moves(pos)) {
            REQUIRE(parse_uci(pos, to_uci(m)) == m);
            const std::string text = to_san(pos, m);
            INFO(pos.fen() << " " << text);
            REQUIRE(parse_san(pos, text) == m);
            ++checked;
        }
    });
    CHECK(checked > 100000);
}

namespace {
struct bad_move {
    const char* fen;
    const char* text;
    const char* message; ///< a fragment the error must contain
};

template <class Parse> void check_errors(const std::vector<bad_move>& table, Parse parse) {
    for (const auto& bad : table) {
        INFO(bad.fen << " " << bad.text);
        const position pos = position::from_fen(bad.fen);
        try {
            (void)parse(pos, bad.text);
            FAIL("accepted");
        } catch (const grokkit::error& e) {
            CHECK_THAT(e.what(), Catch::Contains(bad.message));
            if (std::string_view(bad.text).find('\r') == std::string_view::npos) // else escaped
                CHECK_THAT(e.what(), Catch::Contains(std::string("\"") + bad.text + "\""));
        }
    }
}

const char* start = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
} // namespace

TEST_CASE("malformed and illegal UCI moves get an error saying what and where", "[chess]") {
    check_errors(
        {
            {start, "", "malformed; expected two squares and an optional promotion letter"},
            {start, "e2", "malformed"},
            {start, "e2e", "malformed"},
            {start, "e2e4e", "malformed"},
            {start, "e2e9", "malformed"},
            {start, "i2i4", "malformed"},
            {start, "E2E4", "malformed"},
            {start, "e2e4 ", "malformed"},
            {start, "0000", "malformed"},
            {start, "e3e4", "no white piece on e3; expected a legal move: a2a3"},
            {start, "e7e5", "no white piece on e7"},
            {start, "e2e5", "not a legal move here; expected a legal move:"},
            {start, "e1g1", "not a legal move here"},
            {start, "e2e1", "not a legal move here"},
            {start, "a2a8", "not a legal move here"},
            {start, "e2\re4", "UCI move \"e2\\x0De4\": malformed"},
            {start, "e2e4q", "a promotion letter on a move that does not promote"},
            {"8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c7c8", "needs a promotion letter; expected c7c8q"},
            {"8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c7c8k", "malformed"},
            {"r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1h1", "not a legal move here"},
            {"8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1", "e4d3", "not a legal move here"},
            {"4k3/8/8/8/8/8/4r3/4K3 w - - 0 1", "e1f2", "not a legal move here"},
            {"7k/5Q2/6K1/8/8/8/8/8 b - - 0 1", "h8g8",
             "expected no move: there is no legal move in this position"},
        },
        [](const position& pos, const char* text) { return parse_uci(pos, text); });
}

TEST_CASE("malformed, illegal and ambiguous SAN moves get an error saying what", "[chess]") {
    check_errors(
        {
            {start, "", "empty"},
            {start, "+", "empty"},
            {start, "e", "no destination square"},
            {start, "Nf", "no destination square"},
            {start, "e9", "no destination square"},
            {start, "Zf3", "malformed"},
            {start, "Ngf3x", "no destination square"},
            {start, "Nxxf3", "malformed"},
            {start, "N11f3", "malformed"},
            {start, "e5", "no legal pawn move to e5; expected a legal move: Na3 Nc3 Nf3 Nh3 a3"},
            {start, "Ke2", "no legal king move to e2"},
            {start, "Nd2", "no legal knight move to d2"},
            {start, "O-O", "castling kingside is not legal here"},
            {start, "o-o", "no destination square"},
            {start, "e4=Q", "a promotion on a move that does not promote"},
            {"8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c8", "needs a promotion piece"},
            {"8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c8=K", "a pawn cannot promote to a king"},
            {"8/2P1k3/8/8/8/8/8/4K3 w - - 0 1", "c8=P", "a pawn cannot promote to a pawn"},
            {"4k3/8/8/8/8/8/8/1N2KN2 w - - 0 1", "Nd2", "ambiguous between Nbd2 and Nfd2"},
            {"1k6/8/8/8/4Q2Q/8/K7/7Q w - - 0 1", "Qhe1", "ambiguous between Qh4e1 and Q1e1"},
            {"r3k2r/8/8/8/8/5q2/8/R3K2R w KQkq - 0 1", "O-O", "castling kingside is not legal"},
            {"r3k2r/8/8/8/8/5q2/8/R3K2R w KQkq - 0 1", "O-O-O", "castling queenside is not legal"},
            {"8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1", "exd3", "no legal pawn move to d3"},
            {"4k3/8/3r4/2P5/8/8/8/4K3 w - - 0 1", "d6", "no legal pawn move to d6"},
            {"4k3/8/3r4/2P5/8/8/8/4K3 w - - 0 1", "cxc6", "no legal pawn move to c6"},
            {"4k3/8/8/8/8/8/8/4K3 w - - 0 1", "N", "no destination square"},
        },
        [](const position& pos, const char* text) { return parse_san(pos, text); });
}
