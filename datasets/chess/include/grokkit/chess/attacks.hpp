// Attack tables: leapers by lookup, sliders by magic bitboards, and lines between squares.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/types.hpp>

namespace grokkit::chess {

namespace detail {

/// One square's slider lookup: attacks[((occupied & mask) * factor) >> shift].
struct magic_entry {
    bitboard mask = 0;
    bitboard factor = 0;
    const bitboard* attacks = nullptr;
    unsigned shift = 0;
};

/// Filled once when the library is loaded (a dynamic initialiser in attacks.cpp), before any
/// position can exist; nothing may use them from another static initialiser.
struct attack_tables {
    magic_entry rook[64];
    magic_entry bishop[64];
    bitboard knight[64];
    bitboard king[64];
    bitboard pawn[2][64];
    bitboard between[64][64]; ///< squares strictly between two aligned squares, else 0
    bitboard line[64][64];    ///< the whole rank, file or diagonal through both, else 0
};
extern attack_tables tables;
/// How many squares needed a magic search because the recorded factor failed (0 unless
/// the tables changed).
extern unsigned magic_searches;

inline bitboard slider_attacks(const magic_entry& m, bitboard occupied) {
    return m.attacks[((occupied & m.mask) * m.factor) >> m.shift];
}

} // namespace detail

inline bitboard knight_attacks(square s) {
    return detail::tables.knight[s];
}
inline bitboard king_attacks(square s) {
    return detail::tables.king[s];
}
/// The squares a pawn of colour `c` on `s` attacks.
inline bitboard pawn_attacks(color c, square s) {
    return detail::tables.pawn[c][s];
}
inline bitboard bishop_attacks(square s, bitboard occupied) {
    return detail::slider_attacks(detail::tables.bishop[s], occupied);
}
inline bitboard rook_attacks(square s, bitboard occupied) {
    return detail::slider_attacks(detail::tables.rook[s], occupied);
}
inline bitboard queen_attacks(square s, bitboard occupied) {
    return bishop_attacks(s, occupied) | rook_attacks(s, occupied);
}
inline bitboard between(square a, square b) {
    return detail::tables.between[a][b];
}
inline bitboard line_through(square a, square b) {
    return detail::tables.line[a][b];
}

/// Pawns of colour `c` shifted one square forward, or forward and to the west or east.
template <color c> constexpr bitboard pawn_push(bitboard b) {
    return c == white ? b << 8 : b >> 8;
}
template <color c> constexpr bitboard pawn_capture_west(bitboard b) {
    return c == white ? (b & ~file_a) << 7 : (b & ~file_a) >> 9;
}
template <color c> constexpr bitboard pawn_capture_east(bitboard b) {
    return c == white ? (b & ~file_h) << 9 : (b & ~file_h) >> 7;
}

} // namespace grokkit::chess
