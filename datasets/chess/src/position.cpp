// Position: make and unmake, attack queries, the en passant legality rule.
// SPDX-License-Identifier: Apache-2.0
#include "zobrist.hpp"

#include <grokkit/chess/position.hpp>

namespace grokkit::chess {

using detail::zobrist;

namespace {

/// The castling rights that survive a move from or to each square (a king or rook moving or
/// being captured loses them).
constexpr std::array<std::uint8_t, 64> make_rights_kept() {
    std::array<std::uint8_t, 64> kept{};
    for (auto& k : kept)
        k = all_castling;
    kept[e1] = all_castling & ~(white_kingside | white_queenside);
    kept[h1] = all_castling & ~white_kingside;
    kept[a1] = all_castling & ~white_queenside;
    kept[e8] = all_castling & ~(black_kingside | black_queenside);
    kept[h8] = all_castling & ~black_kingside;
    kept[a8] = all_castling & ~black_queenside;
    return kept;
}
constexpr std::array<std::uint8_t, 64> rights_kept = make_rights_kept();

/// The rook's squares for castling with the king going to `king_to`.
struct rook_hop {
    square from;
    square to;
};
constexpr rook_hop castling_rook(square king_to) {
    switch (king_to) {
    case g1:
        return {h1, f1};
    case c1:
        return {a1, d1};
    case g8:
        return {h8, f8};
    default:
        return {a8, d8};
    }
}

} // namespace

position::position() : position(from_fen(start_fen)) {}

bitboard position::attackers_to(square s, bitboard occupied) const {
    return (pawn_attacks(white, s) & pieces(black, pawn)) |
           (pawn_attacks(black, s) & pieces(white, pawn)) | (knight_attacks(s) & pieces(knight)) |
           (king_attacks(s) & pieces(king)) |
           (bishop_attacks(s, occupied) & (pieces(bishop) | pieces(queen))) |
           (rook_attacks(s, occupied) & (pieces(rook) | pieces(queen)));
}

bool position::en_passant_is_legal(square from, square to) const {
    const color us = m_side;
    const square captured = square(to ^ 8);
    const square k = king_square(us);
    const bitboard occupied_after =
        (occupied() ^ square_bb(from) ^ square_bb(captured)) | square_bb(to);
    const bitboard them = pieces(~us) & ~square_bb(captured);
    const bitboard attackers =
        (rook_attacks(k, occupied_after) & (pieces(rook) | pieces(queen))) |
        (bishop_attacks(k, occupied_after) & (pieces(bishop) | pieces(queen))) |
        (knight_attacks(k) & pieces(knight)) | (pawn_attacks(us, k) & pieces(pawn));
    return (attackers & them) == 0;
}

void position::put(piece p, square s) {
    m_board[s] = p;
    m_by_type[type_of(p)] |= square_bb(s);
    m_by_color[color_of(p)] |= square_bb(s);
    m_key ^= zobrist.piece_square[p][s];
}

void position::remove(square s) {
    const piece p = m_board[s];
    m_board[s] = no_piece;
    m_by_type[type_of(p)] ^= square_bb(s);
    m_by_color[color_of(p)] ^= square_bb(s);
    m_key ^= zobrist.piece_square[p][s];
}

void position::relocate(square from, square to) {
    const piece p = m_board[from];
    const bitboard both = square_bb(from) | square_bb(to);
    m_board[from] = no_piece;
    m_board[to] = p;
    m_by_type[type_of(p)] ^= both;
    m_by_color[color_of(p)] ^= both;
    m_key ^= zobrist.piece_square[p][from] ^ zobrist.piece_square[p][to];
}

void position::set_castling(std::uint8_t rights) {
    m_key ^= zobrist.castling[m_castling] ^ zobrist.castling[rights];
    m_castling = rights;
}

void position::set_en_passant_after_double_push(square to) {
    // Called with the capturing side to move.
    const square target = square(to ^ 8);
    bitboard capturers = pawn_attacks(~m_side, target) & pieces(m_side, pawn);
    while (capturers)
        if (en_passant_is_legal(pop_lsb(capturers), target)) {
            m_en_passant = target;
            m_key ^= zobrist.en_passant_file[file_of(target)];
            return;
        }
}

undo_info position::make(move m) {
    undo_info undo{m_key, no_piece, m_castling, m_en_passant, m_halfmove_clock};
    const color us = m_side;
    const square from = m.from(), to = m.to();
    m_key ^= zobrist.black_to_move;
    if (m_en_passant != no_square) {
        m_key ^= zobrist.en_passant_file[file_of(m_en_passant)];
        m_en_passant = no_square;
    }
    ++m_halfmove_clock;
    bool double_push = false;
    switch (m.kind()) {
    case move_kind::castling: {
        const rook_hop rook = castling_rook(to);
        relocate(from, to);
        relocate(rook.from, rook.to);
        break;
    }
    case move_kind::en_passant:
        undo.captured = m_board[to ^ 8];
        remove(square(to ^ 8));
        relocate(from, to);
        break;
    case move_kind::promotion:
        undo.captured = m_board[to];
        if (undo.captured != no_piece)
            remove(to);
        remove(from);
        put(make_piece(us, m.promotion()), to);
        m_halfmove_clock = 0;
        break;
    case move_kind::normal:
        undo.captured = m_board[to];
        if (undo.captured != no_piece)
            remove(to);
        if (type_of(m_board[from]) == pawn) {
            m_halfmove_clock = 0;
            double_push = (from ^ to) == 16;
        }
        relocate(from, to);
        break;
    }
    if (undo.captured != no_piece)
        m_halfmove_clock = 0;
    const std::uint8_t rights = m_castling & rights_kept[from] & rights_kept[to];
    if (rights != m_castling)
        set_castling(rights);
    m_side = ~us;
    if (us == black)
        ++m_fullmove_number;
    if (double_push)
        set_en_passant_after_double_push(to);
    return undo;
}

void position::unmake(move m, const undo_info& undo) {
    m_side = ~m_side;
    const color us = m_side;
    if (us == black)
        --m_fullmove_number;
    const square from = m.from(), to = m.to();
    switch (m.kind()) {
    case move_kind::castling: {
        const rook_hop rook = castling_rook(to);
        relocate(to, from);
        relocate(rook.to, rook.from);
        break;
    }
    case move_kind::en_passant:
        relocate(to, from);
        put(undo.captured, square(to ^ 8));
        break;
    case move_kind::promotion:
        remove(to);
        put(make_piece(us, pawn), from);
        if (undo.captured != no_piece)
            put(undo.captured, to);
        break;
    case move_kind::normal:
        relocate(to, from);
        if (undo.captured != no_piece)
            put(undo.captured, to);
        break;
    }
    // The key changes above are undone wholesale.
    m_key = undo.key;
    m_castling = undo.castling;
    m_en_passant = undo.en_passant;
    m_halfmove_clock = undo.halfmove_clock;
}

std::uint64_t position::computed_key() const {
    std::uint64_t k = zobrist.castling[m_castling];
    for (int s = 0; s < 64; ++s)
        if (m_board[s] != no_piece)
            k ^= zobrist.piece_square[m_board[s]][s];
    if (m_en_passant != no_square)
        k ^= zobrist.en_passant_file[file_of(m_en_passant)];
    if (m_side == black)
        k ^= zobrist.black_to_move;
    return k;
}

} // namespace grokkit::chess
