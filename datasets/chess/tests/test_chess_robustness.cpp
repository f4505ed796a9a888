// Seeded random mutations of real FENs and random move texts: every input either reads into
// a consistent position or legal move, or is refused with grokkit::error; nothing else.
// SPDX-License-Identifier: Apache-2.0
#include "random_games.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace grokkit::chess;

namespace {

std::vector<position> positions_of_random_games(std::uint64_t seed, std::size_t every) {
    std::vector<position> out;
    std::size_t ply = 0;
    chess_test::random_games(seed, 20, 200, [&](const position& pos, move) {
        if (ply++ % every == 0)
            out.push_back(pos);
    });
    return out;
}

/// One to four random edits: a character replaced, inserted, deleted, or two swapped.
std::string mutate(std::string s, std::mt19937_64& rng, std::string_view alphabet) {
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
        const std::size_t at = s.empty() ? 0 : rng() % s.size();
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 4) {
        case 0:
            if (!s.empty())
                s[at] = c;
            break;
        case 1:
            s.insert(s.begin() + std::ptrdiff_t(at), c);
            break;
        case 2:
            if (!s.empty())
                s.erase(at, 1);
            break;
        default:
            if (s.size() > 1)
                std::swap(s[at], s[rng() % s.size()]);
        }
    }
    return s;
}

} // namespace

TEST_CASE("mutated FENs read into consistent positions or get grokkit::error", "[chess]") {
    const auto positions = positions_of_random_games(11, 5);
    std::mt19937_64 rng(12);
    const std::string_view alphabet = "pnbrqkPNBRQK12345678/ wb-KQkqabcdefgh0123456789x\t";
    int accepted = 0, refused = 0;
    for (int i = 0; i < 30000; ++i) {
        const std::string text =
            mutate(positions[std::size_t(rng() % positions.size())].fen(), rng, alphabet);
        INFO(text);
        try {
            position pos = position::from_fen(text); // outside REQUIRE, which would catch
            ++accepted;
            // What was accepted is a position the rest of the library can work with.
            REQUIRE(position::from_fen(pos.fen()) == pos);
            REQUIRE(perft(pos, 2) == [&] {
                std::uint64_t n = 0;
                for (const move m : legal_moves(pos)) {
                    position after = pos;
                    (void)after.make(m);
                    n += std::uint64_t(count_legal(after));
                }
                return n;
            }());
        } catch (const grokkit::error& e) {
            ++refused;
            REQUIRE_THAT(e.what(), Catch::StartsWith("FEN \""));
        }
    }
    CHECK(accepted > 500);
    CHECK(refused > 1000);
}

TEST_CASE("random SAN and UCI texts read into legal moves or get grokkit::error", "[chess]") {
    const auto positions = positions_of_random_games(13, 3);
    std::mt19937_64 rng(14);
    const std::string_view alphabet = "abcdefgh12345678NBRQKPOo0-x=+#!?e.p qrbn";
    int san_moves = 0, uci_moves = 0;
    for (int i = 0; i < 40000; ++i) {
        const position& pos = positions[std::size_t(rng() % positions.size())];
        std::string text;
        const std::size_t length = rng() % 9;
        for (std::size_t k = 0; k < length; ++k)
            text += alphabet[rng() % alphabet.size()];
        // Half are mutations of a legal move's text, which gets near the edge more often.
        const move_list legal = legal_moves(pos);
        if (i % 2 && !legal.empty()) {
            const move m = legal[std::size_t(rng() % legal.size())];
            text = mutate(i % 4 == 1 ? to_san(pos, m) : to_uci(m), rng, alphabet);
        }
        INFO(pos.fen() << " \"" << text << "\"");
        try {
            const move m = parse_san(pos, text); // outside REQUIRE, which would catch
            REQUIRE(legal.contains(m));
            ++san_moves;
        } catch (const grokkit::error& e) {
            REQUIRE_THAT(e.what(), Catch::StartsWith("SAN move \"" + text + "\""));
        }
        try {
            const move m = parse_uci(pos, text); // outside REQUIRE, which would catch
            REQUIRE(legal.contains(m));
            ++uci_moves;
        } catch (const grokkit::error& e) {
            REQUIRE_THAT(e.what(), Catch::StartsWith("UCI move \"" + text + "\""));
        }
    }
    CHECK(san_moves > 500);
    CHECK(uci_moves > 100);
}
