// Zobrist keys, computed at compile time from a fixed seed (so they exist before any
// static initialiser runs and are the same in every build).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/types.hpp>

namespace grokkit::chess::detail {

struct zobrist_keys {
    std::uint64_t piece_square[16][64] = {};
    std::uint64_t castling[16] = {};
    std::uint64_t en_passant_file[8] = {};
    std::uint64_t black_to_move = 0;
};

constexpr zobrist_keys make_zobrist_keys() {
    zobrist_keys z;
    std::uint64_t state = 0x6A09E667F3BCC908ULL;
    auto next = [&state] { // splitmix64
        std::uint64_t x = (state += 0x9E3779B97F4A7C15ULL);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    };
    for (auto& squares : z.piece_square)
        for (auto& k : squares)
            k = next();
    for (auto& k : z.castling)
        k = next();
    for (auto& k : z.en_passant_file)
        k = next();
    z.black_to_move = next();
    return z;
}

inline constexpr zobrist_keys zobrist = make_zobrist_keys();

} // namespace grokkit::chess::detail
