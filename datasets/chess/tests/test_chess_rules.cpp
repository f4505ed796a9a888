// Position, make/unmake, FEN and the end of games: round trips over random games, known
// positions, and a table of malformed FENs.
// SPDX-License-Identifier: Apache-2.0
#include "random_games.hpp"

#include <grokkit/chess/game.hpp>
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

using namespace grokkit::chess;

namespace {
// Built during static initialisation, before main: the attack tables must be ready by then.
const position start_at_load;
const game game_at_load;
} // namespace

TEST_CASE("positions and games may be built during static initialisation", "[chess]") {
    CHECK(start_at_load.fen() == start_fen);
    CHECK(count_legal(game_at_load.current()) == 20);
}

TEST_CASE("move counters go on past 16 bits and FENs with them read back", "[chess]") {
    game g(position::from_fen("4k3/8/8/8/8/8/8/4K3 b - - 65535 65535"));
    g.play_uci("e8d8");
    CHECK(g.current().fen() == "3k4/8/8/8/8/8/8/4K3 w - - 65536 65536");
    CHECK(position::from_fen(g.current().fen()) == g.current());
    CHECK(g.status() == outcome::insufficient_material);
    CHECK(position::from_fen("4k3/8/8/8/8/8/8/4K3 b - - 1000000000 1000000000").halfmove_clock() ==
          1000000000);
}

TEST_CASE("FEN fields may be separated by any whitespace, as in CRLF files", "[chess]") {
    CHECK(position::from_fen(std::string(start_fen) + "\r\n") == position());
    CHECK(position::from_fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR\tw  KQkq -\t0 1") ==
          position());
}

TEST_CASE("the attack tables use the recorded magic factors", "[chess]") {
    CHECK(grokkit::chess::detail::magic_searches == 0);
}

TEST_CASE("make and unmake, FEN and the incremental key agree over random games", "[chess]") {
    std::size_t moves_seen = 0;
    chess_test::random_games(1, 60, 400, [&](const position& pos, move m) {
        ++moves_seen;
        // FEN round trip: the same position, key included (the key is rebuilt from scratch).
        const position reread = position::from_fen(pos.fen());
        REQUIRE(reread == pos);
        REQUIRE(count_legal(pos) == int(legal_moves(pos).size()));
        position after = pos;
        const undo_info undo = after.make(m);
        REQUIRE(position::from_fen(after.fen()).key() == after.key());
        after.unmake(m, undo);
        REQUIRE(after == pos);
    });
    CHECK(moves_seen > 10000);
}

TEST_CASE("checkmate, stalemate and draws are found on known positions", "[chess]") {
    SECTION("fool's mate") {
        game g;
        for (const char* san : {"f3", "e5", "g4", "Qh4#"})
            g.play_san(san);
        CHECK(g.status() == outcome::checkmate);
        CHECK(g.result() == "0-1");
    }
    SECTION("scholar's mate, White mates") {
        game g;
        for (const char* san : {"e4", "e5", "Bc4", "Nc6", "Qh5", "Nf6", "Qxf7#"})
            g.play_san(san);
        CHECK(g.status() == outcome::checkmate);
        CHECK(g.result() == "1-0");
    }
    SECTION("stalemate") {
        const game g(position::from_fen("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"));
        CHECK(g.status() == outcome::stalemate);
        CHECK(g.result() == "1/2-1/2");
    }
    SECTION("a check that is not mate") {
        const game g(position::from_fen("4k3/8/8/8/8/8/4q3/4K3 w - - 0 1"));
        CHECK(g.status() == outcome::ongoing);
    }
    SECTION("insufficient material") {
        for (const char* fen : {"8/8/4k3/8/8/3K4/8/8 w - - 0 1", "8/8/4k3/8/8/3KN3/8/8 w - - 0 1",
                                "8/8/4kb2/8/8/3KB3/8/8 w - - 0 1", // bishops on light squares
                                "8/2b5/4k3/8/8/3K4/5B2/8 b - - 0 1"})
            CHECK(game(position::from_fen(fen)).status() == outcome::insufficient_material);
        for (const char* fen : {"8/8/4k3/8/8/3KNN2/8/8 w - - 0 1", "8/8/4k3/8/8/3KP3/8/8 w - - 0 1",
                                "8/8/4kn2/8/8/3KB3/8/8 w - - 0 1",
                                "8/8/4k1b1/8/8/3KB3/8/8 w - - 0 1"}) // opposite colours
            CHECK(game(position::from_fen(fen)).status() == outcome::ongoing);
    }
    SECTION("fifty-move rule: claimed at 100 half-moves, automatic at 150") {
        game g(position::from_fen("8/8/4k3/8/8/3K4/8/R7 w - - 99 80"));
        CHECK(g.status() == outcome::ongoing);
        g.play_san("Ra2");
        CHECK(g.status() == outcome::fifty_move_rule);
        CHECK(g.status(false) == outcome::ongoing);
        CHECK(game(position::from_fen("8/8/4k3/8/8/3K4/8/R7 w - - 150 100")).status(false) ==
              outcome::seventy_five_move_rule);
    }
    SECTION("mate on the hundredth half-move is mate") {
        game g(position::from_fen("k7/8/1K6/8/8/8/8/7R w - - 99 80"));
        g.play_san("Rh8#");
        CHECK(g.status() == outcome::checkmate);
    }
    SECTION("threefold repetition by knights, fivefold without claims") {
        game g;
        for (int round = 0; round < 2; ++round)
            for (const char* san : {"Nf3", "Nf6", "Ng1", "Ng8"})
                g.play_san(san);
        CHECK(g.repetitions() == 3);
        CHECK(g.status() == outcome::threefold_repetition);
        CHECK(g.status(false) == outcome::ongoing);
        for (int round = 0; round < 2; ++round)
            for (const char* san : {"Nf3", "Nf6", "Ng1", "Ng8"})
                g.play_san(san);
        CHECK(g.status(false) == outcome::fivefold_repetition);
    }
    SECTION("a lost en passant right makes a different position") {
        // After 1.e4 Nf6 2.e5 d5 White may take en passant; after the knights go and come back
        // the same pieces stand, but without that right: not a repetition of it.
        game g;
        for (const char* san : {"e4", "Nf6", "e5", "d5"})
            g.play_san(san);
        const std::uint64_t with_capture = g.current().key();
        CHECK(g.current().en_passant() == d6);
        for (const char* san : {"Nf3", "Ng8", "Ng1", "Nf6"})
            g.play_san(san);
        CHECK(g.current().en_passant() == no_square);
        CHECK(g.current().key() != with_capture);
        CHECK(g.repetitions() == 1);
    }
    SECTION("take back restores the game") {
        game g;
        g.play_san("e4");
        g.play_san("e5");
        g.take_back();
        g.take_back();
        CHECK(g.current() == position());
        CHECK(g.moves().empty());
        CHECK_THROWS_WITH(g.take_back(), Catch::Contains("no move has been played"));
        CHECK_THROWS_WITH(g.play(move(e2, e5)),
                          Catch::Contains("move e2e5: not legal in " + std::string(start_fen)));
    }
}

TEST_CASE("the en passant square is kept only when a capture there is legal", "[chess]") {
    // Written after any double push by some programs; kept here only if a pawn may take.
    CHECK(position::from_fen("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq e3 0 1")
              .en_passant() == no_square);
    CHECK(position::from_fen("8/8/8/2k5/3Pp3/8/8/4K3 b - d3 0 1").en_passant() == d3);
    // A capture that would expose the king along the rank is no capture.
    CHECK(position::from_fen("8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1").en_passant() == no_square);
}

namespace {
struct bad_fen {
    const char* fen;
    const char* message; ///< a fragment the error must contain
};
} // namespace

TEST_CASE("malformed and impossible FENs get an error naming the field", "[chess]") {
    const std::vector<bad_fen> table = {
        {"", "it has 0 fields; expected 6 fields"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq -", "it has 4 fields"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 extra", "it has 7 fields"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP w KQkq - 0 1",
         "field 1 (placement): it ends in rank 2"},
        {"rnbqkbnr/pppppppp/9/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "'9' in rank 6"},
        {"rnbqkbnr/ppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "rank 7 has 7 squares"},
        {"rnbqkbnr/ppppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "rank 7 has more than 8"},
        {"rnbqkbnr/pppppppp/44/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "two digits in a row"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR/8 w KQkq - 0 1", "more than 8 ranks"},
        {"rnbqkbnr/pppxpppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "'x' in rank 7"},
        {"rnbq1bnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQ - 0 1", "black has 0 kings"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBKKBNR w kq - 0 1", "white has 2 kings"},
        {"rnbqkbnP/pppppppp/8/8/8/8/PPPPPPP1/RNBQKBNR w KQq - 0 1", "a pawn on h8"},
        {"rnbqkbnr/ppppppp1/8/8/8/8/PPPPPPPP/RNBQKBNp w Qkq - 0 1", "a pawn on h1"},
        {"rnbqkbnr/pppppppp/8/8/8/P7/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "white has 9 pawns"},
        {"rnbqkbnr/pppppppp/8/8/8/N7/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "white has 17 pieces"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1",
         "field 2 (side to move): \"x\"; expected w or b"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkx - 0 1", "field 3 (castling)"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w QK - 0 1", "in that order"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KKQ - 0 1", "each once"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBN1 w KQkq - 0 1",
         "K (white kingside) without a white rook on h1"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQ1BNR w kq - 0 1", "white has 0 kings"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQBKNR w K - 0 1",
         "K (white kingside) without a white king on e1"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e3 0 1",
         "field 4 (en passant): e3 with white to move; expected a square on rank 6"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e6 0 1",
         "e6 without a black pawn on e5"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e9 0 1", "\"e9\"; expected - or a"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - -1 1", "field 5 (halfmove clock)"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 0", "field 6 (fullmove number)"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 x",
         "an integer in [1, 1000000000]"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 1.5 1", "\"1.5\""},
        {"4k3/8/8/8/8/8/4R3/4K3 w - - 0 1",
         "field 2 (side to move): black is in check but white is to move"},
        {"8/8/8/8/8/8/3k4/4K3 w - - 0 1", "black is in check but white is to move"},
        {"k7/4r3/8/8/1b6/5n2/8/4K3 w - - 0 1", "white is in check from 3 pieces"},
        {"4k3/8/8/8/4Pp2/8/8/4K3 b - e3 7 40",
         "field 4 (en passant): e3 with a halfmove clock of 7; expected a halfmove clock of 0 "
         "after the two-square move e2e4"},
        {"4k3/8/8/3Pp3/8/8/5p2/4K3 w - e6 0 1",
         "e6 with white in check from f2, which the two-square move e7e5 could not have given"},
        {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1\x01",
         "field 6 (fullmove number): \"1\\x01\"; expected an integer in [1, 1000000000]"},
        {"4k3/8/8/8/8/8/8/4K3 b - - 1000000001 1", "field 5 (halfmove clock)"},
        {"rnbqkbnr/pppppppp/8/8/8/8/1PPPPPPP/QQBQKBNR w Kkq - 0 1",
         "white has 2 promoted pieces and 7 pawns; expected at most one promoted piece per"},
    };
    for (const auto& bad : table) {
        INFO(bad.fen);
        try {
            (void)position::from_fen(bad.fen);
            FAIL("accepted");
        } catch (const grokkit::error& e) {
            CHECK_THAT(e.what(), Catch::Contains(bad.message));
            CHECK_THAT(e.what(), Catch::StartsWith("FEN \""));
        }
    }
}
