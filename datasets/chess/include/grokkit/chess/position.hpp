// A chess position as bitboards, with make and unmake, FEN, and the checks legality rests on.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/attacks.hpp>
#include <grokkit/chess/types.hpp>

#include <array>
#include <string>
#include <string_view>

namespace grokkit::chess {

/// What make() changes that unmake() cannot recompute.
struct undo_info {
    std::uint64_t key;
    piece captured;
    std::uint8_t castling;
    square en_passant;
    std::uint32_t halfmove_clock;
};

/// The FEN of the initial position.
inline constexpr std::string_view start_fen =
    "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

/// A position: pieces, side to move, castling rights, en passant square and move counters, with
/// a Zobrist key. It is a small value (copying is cheap); a game's history lives in `game`.
/// Positions may be built during static initialisation: the attack tables they use are filled
/// first (attacks.cpp gives its initialiser the earliest priority).
///
/// The en passant square is kept only when a capture on it is legal, so two positions that
/// allow the same moves have the same key (as threefold repetition needs) and fen() writes
/// "-" otherwise, as Lichess and X-FEN do.
class position {
  public:
    /// The initial position.
    position();
    /// Reads a FEN of six fields (separated by any whitespace; the move counters at most 10^9).
    /// Throws grokkit::error naming the field for malformed text and for positions that cannot
    /// arise: a missing or extra king, pawns on the first or last rank, castling rights without
    /// their king and rook, an impossible en passant square, or the side not to move in check.
    static position from_fen(std::string_view fen);
    std::string fen() const;

    bitboard occupied() const { return m_by_color[white] | m_by_color[black]; }
    bitboard pieces(color c) const { return m_by_color[c]; }
    bitboard pieces(piece_type t) const { return m_by_type[t]; }
    bitboard pieces(color c, piece_type t) const { return m_by_color[c] & m_by_type[t]; }
    piece at(square s) const { return m_board[s]; }
    color side_to_move() const { return m_side; }
    std::uint8_t castling_rights() const { return m_castling; }
    /// The square a pawn may capture en passant on, or no_square.
    square en_passant() const { return m_en_passant; }
    /// Half-moves since the last capture or pawn move (the fifty-move rule counts these).
    int halfmove_clock() const { return m_halfmove_clock; }
    int fullmove_number() const { return m_fullmove_number; }
    /// Zobrist key of pieces, side to move, castling rights and en passant square.
    std::uint64_t key() const { return m_key; }

    square king_square(color c) const { return lsb(pieces(c, king)); }
    /// Pieces of either colour attacking `s` when the board holds `occupied`.
    bitboard attackers_to(square s, bitboard occupied) const;
    /// The pieces giving check to the side to move.
    bitboard checkers() const {
        return attackers_to(king_square(m_side), occupied()) & m_by_color[~m_side];
    }
    bool in_check() const { return checkers() != 0; }
    /// Whether the pawn of the side to move on `from` may capture en passant on `to` without
    /// leaving its king in check.
    bool en_passant_is_legal(square from, square to) const;
    bool is_capture(move m) const {
        return m.kind() == move_kind::en_passant ||
               (m.kind() != move_kind::castling && m_board[m.to()] != no_piece);
    }

    /// Plays a legal move (one that generate_legal gives for this position).
    undo_info make(move m);
    /// Takes back `m`, which must be the last move made, with what its make() returned.
    void unmake(move m, const undo_info& undo);

    friend bool operator==(const position&, const position&) = default;

  private:
    struct empty_tag {};
    explicit position(empty_tag) {}
    static position empty_board() { return position(empty_tag{}); }
    void put(piece p, square s);
    void remove(square s);
    void relocate(square from, square to);
    void set_en_passant_after_double_push(square to);
    void set_castling(std::uint8_t rights);
    std::uint64_t computed_key() const;
    friend class fen_reader;

    std::array<bitboard, 6> m_by_type{};
    std::array<bitboard, 2> m_by_color{};
    std::uint64_t m_key = 0;
    std::array<piece, 64> m_board{};
    color m_side = white;
    std::uint8_t m_castling = 0;
    square m_en_passant = no_square;
    std::uint32_t m_halfmove_clock = 0;
    std::uint32_t m_fullmove_number = 1;
};

} // namespace grokkit::chess
