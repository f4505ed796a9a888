// Games of uniformly random legal moves from a seed, for round-trip and cross-checking tests.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/game.hpp>
#include <grokkit/chess/movegen.hpp>

#include <cstdint>
#include <random>

namespace chess_test {

/// Plays `n_games` games of random legal moves (at most `max_plies` each, or until the game
/// ends without claims), calling `visit(const position&, move)` before every move.
template <class Visit>
void random_games(std::uint64_t seed, int n_games, int max_plies, Visit&& visit) {
    using namespace grokkit::chess;
    std::mt19937_64 rng(seed); // mt19937_64's output is the same everywhere; take it modulo n
    for (int g = 0; g < n_games; ++g) {
        game played;
        for (int ply = 0; ply < max_plies && played.status(false) == outcome::ongoing; ++ply) {
            const move_list moves = legal_moves(played.current());
            const move m = moves[std::size_t(rng() % moves.size())];
            visit(played.current(), m);
            played.play(m);
        }
    }
}

} // namespace chess_test
