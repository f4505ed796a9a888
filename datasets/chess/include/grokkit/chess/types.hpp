// Chess vocabulary: colours, pieces, squares, bitboards and the 16-bit move.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <bit>
#include <cstdint>
#include <string>

namespace grokkit::chess {

/// A set of squares, bit i for square i.
using bitboard = std::uint64_t;

enum color : std::uint8_t { white, black };
constexpr color operator~(color c) {
    return color(c ^ 1);
}

enum piece_type : std::uint8_t { pawn, knight, bishop, rook, queen, king };

/// A coloured piece, colour * 8 + type + 1, so that 0 is an empty square.
enum piece : std::uint8_t { no_piece = 0 };
constexpr piece make_piece(color c, piece_type t) {
    return piece(c * 8 + t + 1);
}
constexpr piece_type type_of(piece p) {
    return piece_type((p & 7) - 1);
}
constexpr color color_of(piece p) {
    return color(p >> 3);
}

// clang-format off
/// Squares a1 = 0, b1 = 1, ..., h8 = 63: file = s % 8, rank = s / 8.
enum square : std::uint8_t {
    a1, b1, c1, d1, e1, f1, g1, h1,
    a2, b2, c2, d2, e2, f2, g2, h2,
    a3, b3, c3, d3, e3, f3, g3, h3,
    a4, b4, c4, d4, e4, f4, g4, h4,
    a5, b5, c5, d5, e5, f5, g5, h5,
    a6, b6, c6, d6, e6, f6, g6, h6,
    a7, b7, c7, d7, e7, f7, g7, h7,
    a8, b8, c8, d8, e8, f8, g8, h8,
    no_square
};
// clang-format on

constexpr int file_of(square s) {
    return s & 7;
}
constexpr int rank_of(square s) {
    return s >> 3;
}
constexpr square make_square(int file, int rank) {
    return square(rank * 8 + file);
}
constexpr bitboard square_bb(square s) {
    return bitboard(1) << s;
}

/// "e4" for e4.
std::string square_name(square s);

// Castling rights, one bit each.
enum castling_right : std::uint8_t {
    white_kingside = 1,
    white_queenside = 2,
    black_kingside = 4,
    black_queenside = 8,
    all_castling = 15
};

constexpr bitboard file_a = 0x0101010101010101ULL;
constexpr bitboard file_h = file_a << 7;
constexpr bitboard rank_1 = 0xFFULL;
constexpr bitboard rank_8 = rank_1 << 56;
constexpr bitboard rank_bb(int rank) {
    return rank_1 << (8 * rank);
}
constexpr bitboard file_bb(int file) {
    return file_a << file;
}

constexpr int popcount(bitboard b) {
    return std::popcount(b);
}
constexpr square lsb(bitboard b) {
    return square(std::countr_zero(b));
}
constexpr bool more_than_one(bitboard b) {
    return (b & (b - 1)) != 0;
}
/// The lowest square of `b`, removed from it; `b` must not be empty.
constexpr square pop_lsb(bitboard& b) {
    const square s = lsb(b);
    b &= b - 1;
    return s;
}

enum class move_kind : std::uint8_t { normal, promotion, en_passant, castling };

/// A move in 16 bits: from (6), to (6), promotion piece (2: knight..queen), kind (2).
/// Castling is the king's move (e1g1), as in UCI for standard chess.
class move {
  public:
    constexpr move() = default;
    constexpr move(square from, square to, move_kind kind = move_kind::normal,
                   piece_type promotion = knight)
        : m_bits(std::uint16_t(from | to << 6 | (promotion - knight) << 12 | int(kind) << 14)) {}

    constexpr square from() const { return square(m_bits & 63); }
    constexpr square to() const { return square(m_bits >> 6 & 63); }
    constexpr move_kind kind() const { return move_kind(m_bits >> 14); }
    /// The piece a promotion makes (knight, bishop, rook or queen); meaningless otherwise.
    constexpr piece_type promotion() const { return piece_type((m_bits >> 12 & 3) + knight); }
    constexpr std::uint16_t bits() const { return m_bits; }
    /// The default move (a1a1) is no move.
    constexpr bool is_none() const { return m_bits == 0; }

    friend constexpr bool operator==(move, move) = default;

  private:
    std::uint16_t m_bits = 0;
};

} // namespace grokkit::chess
