// Legal move generation in one pass: the king avoids attacked squares, other pieces keep to
// the check mask (block or capture a single checker) and their pin line.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/movegen.hpp>

#include <algorithm>

namespace grokkit::chess {

namespace {

// The generator hands its moves to a sink, so listing and counting share one rule set.
struct list_sink {
    move_list& moves;

    void piece_moves(square from, bitboard targets) {
        while (targets)
            moves.push(move(from, pop_lsb(targets)));
    }
    void pawn_moves(bitboard targets, int offset) {
        while (targets) {
            const square to = pop_lsb(targets);
            moves.push(move(square(to - offset), to));
        }
    }
    void promotions(square from, square to) {
        for (const piece_type t : {queen, rook, bishop, knight})
            moves.push(move(from, to, move_kind::promotion, t));
    }
    void pawn_promotions(bitboard targets, int offset) {
        while (targets) {
            const square to = pop_lsb(targets);
            promotions(square(to - offset), to);
        }
    }
    void single(move m) { moves.push(m); }
};

struct count_sink {
    int count = 0;

    void piece_moves(square, bitboard targets) { count += popcount(targets); }
    void pawn_moves(bitboard targets, int) { count += popcount(targets); }
    void promotions(square, square) { count += 4; }
    void pawn_promotions(bitboard targets, int) { count += 4 * popcount(targets); }
    void single(move) { ++count; }
};

/// Every square the side not to move attacks, seen through `occupied`.
template <color us> bitboard enemy_attacks(const position& pos, bitboard occupied) {
    constexpr color them = ~us;
    const bitboard pawns = pos.pieces(them, pawn);
    bitboard attacked = pawn_capture_west<them>(pawns) | pawn_capture_east<them>(pawns);
    for (bitboard b = pos.pieces(them, knight); b;)
        attacked |= knight_attacks(pop_lsb(b));
    for (bitboard b = pos.pieces(them, bishop) | pos.pieces(them, queen); b;)
        attacked |= bishop_attacks(pop_lsb(b), occupied);
    for (bitboard b = pos.pieces(them, rook) | pos.pieces(them, queen); b;)
        attacked |= rook_attacks(pop_lsb(b), occupied);
    return attacked | king_attacks(pos.king_square(them));
}

/// What every non-king move must respect.
struct constraints {
    bitboard own, enemy, occupied;
    bitboard target; ///< squares a non-king piece may move to: not own, and blocks a check
    bitboard pinned; ///< own pieces that may move only along their line to the king
    bitboard checkers;
    square king_sq;
};

template <color us, class Sink>
void generate_pawn_moves(const position& pos, const constraints& c, Sink& sink) {
    constexpr int up = us == white ? 8 : -8;
    constexpr int west = us == white ? 7 : -9;
    constexpr int east = us == white ? 9 : -7;
    constexpr bitboard promoting_rank = us == white ? rank_bb(6) : rank_bb(1);
    constexpr bitboard double_push_rank = us == white ? rank_bb(2) : rank_bb(5);
    const bitboard empty = ~c.occupied;
    const bitboard pawns = pos.pieces(us, pawn);
    const bitboard free = pawns & ~c.pinned;

    const bitboard movers = free & ~promoting_rank;
    const bitboard one = pawn_push<us>(movers) & empty;
    sink.pawn_moves(one & c.target, up);
    sink.pawn_moves(pawn_push<us>(one & double_push_rank) & empty & c.target, 2 * up);
    sink.pawn_moves(pawn_capture_west<us>(movers) & c.enemy & c.target, west);
    sink.pawn_moves(pawn_capture_east<us>(movers) & c.enemy & c.target, east);

    if (const bitboard promoters = free & promoting_rank) {
        sink.pawn_promotions(pawn_push<us>(promoters) & empty & c.target, up);
        sink.pawn_promotions(pawn_capture_west<us>(promoters) & c.enemy & c.target, west);
        sink.pawn_promotions(pawn_capture_east<us>(promoters) & c.enemy & c.target, east);
    }

    // A pinned piece cannot answer a check; out of check it keeps to its pin line.
    if (!c.checkers)
        for (bitboard b = pawns & c.pinned; b;) {
            const square from = pop_lsb(b);
            const bitboard one_pinned = pawn_push<us>(square_bb(from)) & empty;
            bitboard to = (one_pinned | (pawn_push<us>(one_pinned & double_push_rank) & empty) |
                           (pawn_attacks(us, from) & c.enemy)) &
                          line_through(c.king_sq, from);
            while (to) {
                const square s = pop_lsb(to);
                if (square_bb(s) & (rank_1 | rank_8))
                    sink.promotions(from, s);
                else
                    sink.single(move(from, s));
            }
        }

    if (const square ep = pos.en_passant(); ep != no_square)
        for (bitboard b = pawn_attacks(~us, ep) & pawns; b;) {
            const square from = pop_lsb(b);
            if (pos.en_passant_is_legal(from, ep))
                sink.single(move(from, ep, move_kind::en_passant));
        }
}

template <color us, class Sink>
void generate_castling(const position& pos, const constraints& c, bitboard attacked, Sink& sink) {
    constexpr int rank = us == white ? 0 : 56;
    constexpr auto kingside = us == white ? white_kingside : black_kingside;
    constexpr auto queenside = us == white ? white_queenside : black_queenside;
    constexpr bitboard kingside_path = bitboard(0x60) << rank;   // f, g
    constexpr bitboard queenside_empty = bitboard(0x0E) << rank; // b, c, d
    constexpr bitboard queenside_path = bitboard(0x0C) << rank;  // c, d
    const auto rights = pos.castling_rights();
    if ((rights & kingside) && !(c.occupied & kingside_path) && !(attacked & kingside_path))
        sink.single(move(c.king_sq, square(g1 + rank), move_kind::castling));
    if ((rights & queenside) && !(c.occupied & queenside_empty) && !(attacked & queenside_path))
        sink.single(move(c.king_sq, square(c1 + rank), move_kind::castling));
}

template <color us, class Sink> void generate(const position& pos, Sink& sink) {
    constexpr color them = ~us;
    constraints c;
    c.own = pos.pieces(us);
    c.enemy = pos.pieces(them);
    c.occupied = c.own | c.enemy;
    c.king_sq = pos.king_square(us);
    c.checkers = pos.attackers_to(c.king_sq, c.occupied) & c.enemy;

    // The king's own square is left out, so it cannot step back along a checking ray.
    const bitboard attacked = enemy_attacks<us>(pos, c.occupied ^ square_bb(c.king_sq));
    sink.piece_moves(c.king_sq, king_attacks(c.king_sq) & ~c.own & ~attacked);
    if (more_than_one(c.checkers))
        return;

    c.target = ~c.own;
    if (c.checkers)
        c.target &= between(c.king_sq, lsb(c.checkers)) | c.checkers;

    const bitboard enemy_diagonal = pos.pieces(them, bishop) | pos.pieces(them, queen);
    const bitboard enemy_straight = pos.pieces(them, rook) | pos.pieces(them, queen);
    c.pinned = 0;
    for (bitboard snipers = (bishop_attacks(c.king_sq, c.enemy) & enemy_diagonal) |
                            (rook_attacks(c.king_sq, c.enemy) & enemy_straight);
         snipers;) {
        const bitboard blockers = between(c.king_sq, pop_lsb(snipers)) & c.occupied;
        if (!more_than_one(blockers))
            c.pinned |= blockers & c.own;
    }

    for (bitboard b = pos.pieces(us, knight) & ~c.pinned; b;) {
        const square from = pop_lsb(b);
        sink.piece_moves(from, knight_attacks(from) & c.target);
    }
    const bitboard diagonal = pos.pieces(us, bishop) | pos.pieces(us, queen);
    const bitboard straight = pos.pieces(us, rook) | pos.pieces(us, queen);
    for (bitboard b = diagonal & ~c.pinned; b;) {
        const square from = pop_lsb(b);
        sink.piece_moves(from, bishop_attacks(from, c.occupied) & c.target);
    }
    for (bitboard b = straight & ~c.pinned; b;) {
        const square from = pop_lsb(b);
        sink.piece_moves(from, rook_attacks(from, c.occupied) & c.target);
    }
    if (!c.checkers) {
        for (bitboard b = diagonal & c.pinned; b;) {
            const square from = pop_lsb(b);
            sink.piece_moves(from, bishop_attacks(from, c.occupied) & c.target &
                                       line_through(c.king_sq, from));
        }
        for (bitboard b = straight & c.pinned; b;) {
            const square from = pop_lsb(b);
            sink.piece_moves(from, rook_attacks(from, c.occupied) & c.target &
                                       line_through(c.king_sq, from));
        }
    }

    generate_pawn_moves<us>(pos, c, sink);
    if (!c.checkers)
        generate_castling<us>(pos, c, attacked, sink);
}

template <class Sink> void generate_for_side(const position& pos, Sink& sink) {
    if (pos.side_to_move() == white)
        generate<white>(pos, sink);
    else
        generate<black>(pos, sink);
}

} // namespace

bool move_list::contains(move m) const {
    return std::find(begin(), end(), m) != end();
}

void generate_legal(const position& pos, move_list& moves) {
    moves.clear();
    list_sink sink{moves};
    generate_for_side(pos, sink);
}

move_list legal_moves(const position& pos) {
    move_list moves;
    generate_legal(pos, moves);
    return moves;
}

int count_legal(const position& pos) {
    count_sink sink;
    generate_for_side(pos, sink);
    return sink.count;
}

std::uint64_t perft(position& pos, int depth) {
    if (depth <= 0)
        return 1;
    if (depth == 1)
        return std::uint64_t(count_legal(pos));
    move_list moves;
    generate_legal(pos, moves);
    std::uint64_t leaves = 0;
    for (const move m : moves) {
        const undo_info undo = pos.make(m);
        leaves += perft(pos, depth - 1);
        pos.unmake(m, undo);
    }
    return leaves;
}

std::vector<perft_entry> perft_divide(position& pos, int depth) {
    std::vector<perft_entry> entries;
    for (const move m : legal_moves(pos)) {
        const undo_info undo = pos.make(m);
        entries.push_back({m, perft(pos, depth - 1)});
        pos.unmake(m, undo);
    }
    return entries;
}

} // namespace grokkit::chess
