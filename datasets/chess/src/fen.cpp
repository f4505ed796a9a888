// FEN: reading with a diagnostic naming the field, and writing.
// SPDX-License-Identifier: Apache-2.0
#include "text.hpp"

#include <grokkit/chess/position.hpp>
#include <grokkit/error.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

namespace grokkit::chess {

using detail::quoted;

namespace {

constexpr std::string_view piece_letters = "PNBRQK";

char piece_letter(piece p) {
    const char c = piece_letters[type_of(p)];
    return color_of(p) == white ? c : char(c - 'A' + 'a');
}

std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
            ++i;
        if (i > start)
            fields.push_back(text.substr(start, i - start));
    }
    return fields;
}

const char* const color_names[2] = {"white", "black"};

} // namespace

/// Reads one FEN into a position, field by field; every failure names its field.
class fen_reader {
  public:
    explicit fen_reader(std::string_view fen) : m_fen(fen) {}

    position read() {
        const auto fields = split_fields(m_fen);
        if (fields.size() != 6)
            fail("",
                 "it has " + std::to_string(fields.size()) + " field" +
                     (fields.size() == 1 ? "" : "s"),
                 "6 fields separated by spaces: placement, side to move, castling, en passant, "
                 "halfmove clock, fullmove number");
        placement(fields[0]);
        side_to_move(fields[1]);
        castling(fields[2]);
        const square ep = en_passant(fields[3]);
        m_pos.m_halfmove_clock = counter(fields[4], "field 5 (halfmove clock)", 0);
        m_pos.m_fullmove_number = counter(fields[5], "field 6 (fullmove number)", 1);
        checks();
        if (ep != no_square)
            en_passant_history(ep);
        m_pos.m_key = m_pos.computed_key();
        if (ep != no_square) // kept only when a capture there is legal (position.hpp says why)
            m_pos.set_en_passant_after_double_push(square(ep ^ 8));
        return m_pos;
    }

  private:
    [[noreturn]] void fail(std::string field, std::string what, std::string expected = {}) const {
        throw error(diagnostic{"FEN " + quoted(m_fen), std::move(field), std::move(what),
                               std::move(expected), 0, 0});
    }

    void placement(std::string_view text) {
        const std::string field = "field 1 (placement)";
        int rank = 7, file = 0;
        bool after_digit = false;
        for (const char c : text) {
            const std::string where = "rank " + std::to_string(rank + 1);
            if (c == '/') {
                if (file != 8)
                    fail(field, where + " has " + std::to_string(file) + " squares",
                         "8 squares in every rank");
                if (--rank < 0)
                    fail(field, "more than 8 ranks", "8 ranks separated by /");
                file = 0;
                after_digit = false;
            } else if (c >= '1' && c <= '8') {
                if (after_digit)
                    fail(field, where + " has two digits in a row", "one digit per run of empties");
                file += c - '0';
                after_digit = true;
                if (file > 8)
                    fail(field, where + " has more than 8 squares", "8 squares in every rank");
            } else {
                const auto type = piece_letters.find(char(c & ~0x20));
                if (type == std::string_view::npos)
                    fail(field, quoted(std::string_view(&c, 1), '\'') + " in " + where,
                         "piece letters PNBRQK (white) or pnbrqk (black), digits 1-8 and /");
                if (file >= 8)
                    fail(field, where + " has more than 8 squares", "8 squares in every rank");
                m_pos.put(make_piece(c >= 'a' ? black : white, piece_type(type)),
                          make_square(file++, rank));
                after_digit = false;
            }
        }
        if (rank != 0 || file != 8)
            fail(field,
                 "it ends in rank " + std::to_string(rank + 1) + " after " + std::to_string(file) +
                     " squares",
                 "8 ranks of 8 squares");
        for (const color c : {white, black}) {
            const std::string name = color_names[c];
            const int kings = popcount(m_pos.pieces(c, king));
            if (kings != 1)
                fail(field, name + " has " + std::to_string(kings) + " kings", "one king each");
            if (popcount(m_pos.pieces(c, pawn)) > 8)
                fail(field,
                     name + " has " + std::to_string(popcount(m_pos.pieces(c, pawn))) + " pawns",
                     "at most 8 pawns a side");
            if (popcount(m_pos.pieces(c)) > 16)
                fail(field, name + " has " + std::to_string(popcount(m_pos.pieces(c))) + " pieces",
                     "at most 16 pieces a side");
            promoted_pieces(c);
        }
        if (const bitboard stray = m_pos.pieces(pawn) & (rank_1 | rank_8))
            fail(field, "a pawn on " + square_name(lsb(stray)),
                 "no pawns on the first or last rank");
    }

    /// Pieces beyond a side's initial queen, two rooks, bishops and knights were promoted, each
    /// from a pawn that is no longer on the board. (This also bounds the legal moves of any
    /// position read, which move_list's capacity relies on.)
    void promoted_pieces(color c) {
        const int pawns = popcount(m_pos.pieces(c, pawn));
        auto beyond = [&](piece_type t, int initial) {
            return std::max(0, popcount(m_pos.pieces(c, t)) - initial);
        };
        const int promoted =
            beyond(queen, 1) + beyond(rook, 2) + beyond(bishop, 2) + beyond(knight, 2);
        if (promoted > 8 - pawns)
            fail("field 1 (placement)",
                 std::string(color_names[c]) + " has " + std::to_string(promoted) +
                     " promoted pieces and " + std::to_string(pawns) + " pawns",
                 "at most one promoted piece per missing pawn (pieces beyond one queen and two "
                 "each of rooks, bishops and knights count as promoted)");
    }

    void side_to_move(std::string_view text) {
        if (text != "w" && text != "b")
            fail("field 2 (side to move)", quoted(text), "w or b");
        m_pos.m_side = text == "w" ? white : black;
    }

    void castling(std::string_view text) {
        const std::string field = "field 3 (castling)";
        if (text == "-")
            return;
        constexpr std::string_view order = "KQkq";
        std::size_t next = 0;
        for (const char c : text) {
            const auto at = order.find(c);
            if (at == std::string_view::npos || at < next)
                fail(field, quoted(text), "- or some of K, Q, k, q in that order, each once");
            next = at + 1;
            m_pos.m_castling |= std::uint8_t(1 << at);
        }
        struct need {
            castling_right right;
            char letter;
            square king_from, rook_from;
            color side;
        };
        for (const need& n :
             {need{white_kingside, 'K', e1, h1, white}, need{white_queenside, 'Q', e1, a1, white},
              need{black_kingside, 'k', e8, h8, black},
              need{black_queenside, 'q', e8, a8, black}}) {
            if (!(m_pos.m_castling & n.right))
                continue;
            const std::string right =
                std::string(1, n.letter) + " (" + color_names[n.side] +
                (n.letter == 'K' || n.letter == 'k' ? " kingside)" : " queenside)");
            if (m_pos.at(n.king_from) != make_piece(n.side, king))
                fail(field,
                     right + " without a " + color_names[n.side] + " king on " +
                         square_name(n.king_from),
                     "castling rights only for a king and rook on their starting squares");
            if (m_pos.at(n.rook_from) != make_piece(n.side, rook))
                fail(field,
                     right + " without a " + color_names[n.side] + " rook on " +
                         square_name(n.rook_from),
                     "castling rights only for a king and rook on their starting squares");
        }
    }

    /// The en passant square as written, checked against the board; no_square for "-".
    square en_passant(std::string_view text) {
        const std::string field = "field 4 (en passant)";
        if (text == "-")
            return no_square;
        if (text.size() != 2 || text[0] < 'a' || text[0] > 'h' || text[1] < '1' || text[1] > '8')
            fail(field, quoted(text), "- or a square such as e3");
        const square s = make_square(text[0] - 'a', text[1] - '1');
        const color mover = ~m_pos.m_side; // the side that just pushed two squares
        const int rank = mover == white ? 2 : 5;
        if (rank_of(s) != rank)
            fail(field, std::string(text) + " with " + color_names[m_pos.m_side] + " to move",
                 "a square on rank " + std::to_string(rank + 1));
        const square pawn_on = square(s ^ 8), came_from = square(s ^ 24);
        if (m_pos.at(pawn_on) != make_piece(mover, pawn))
            fail(field,
                 std::string(text) + " without a " + color_names[mover] + " pawn on " +
                     square_name(pawn_on),
                 "the square a pawn just passed over in a two-square move");
        if (m_pos.at(s) != no_piece || m_pos.at(came_from) != no_piece)
            fail(field,
                 std::string(text) + " with " + square_name(s) + " or " + square_name(came_from) +
                     " occupied",
                 "the square a pawn just passed over in a two-square move");
        return s;
    }

    std::uint32_t counter(std::string_view text, const std::string& field,
                          std::uint32_t least) const {
        // Capped far below 2^31, so that play can go on from any FEN read without overflow.
        constexpr std::uint32_t most = 1'000'000'000;
        std::uint32_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < least || value > most)
            fail(field, quoted(text),
                 "an integer in [" + std::to_string(least) + ", " + std::to_string(most) + "]");
        return value;
    }

    /// An en passant square says the last move was a two-square pawn move: it reset the
    /// halfmove clock, and any check it gives is from that pawn or uncovered by it.
    void en_passant_history(square ep) const {
        const std::string field = "field 4 (en passant)";
        const square pushed = square(ep ^ 8), came_from = square(ep ^ 24);
        const std::string push = square_name(came_from) + square_name(pushed);
        if (m_pos.m_halfmove_clock != 0)
            fail(field,
                 square_name(ep) + " with a halfmove clock of " +
                     std::to_string(m_pos.m_halfmove_clock),
                 "a halfmove clock of 0 after the two-square move " + push);
        const square k = m_pos.king_square(m_pos.m_side);
        for (bitboard b = m_pos.checkers(); b;) {
            const square checker = pop_lsb(b);
            if (checker != pushed && !(between(k, checker) & square_bb(came_from)))
                fail(field,
                     square_name(ep) + " with " + color_names[m_pos.m_side] + " in check from " +
                         square_name(checker) + ", which the two-square move " + push +
                         " could not have given",
                     "a position that move could have led to");
        }
    }

    void checks() {
        const color idle = ~m_pos.m_side;
        const bitboard occupied = m_pos.occupied();
        if (m_pos.attackers_to(m_pos.king_square(idle), occupied) & m_pos.pieces(m_pos.m_side))
            fail("field 2 (side to move)",
                 std::string(color_names[idle]) + " is in check but " + color_names[m_pos.m_side] +
                     " is to move",
                 "only the side to move in check");
        const int checkers = popcount(m_pos.checkers());
        if (checkers > 2)
            fail("field 1 (placement)",
                 std::string(color_names[m_pos.m_side]) + " is in check from " +
                     std::to_string(checkers) + " pieces",
                 "at most two pieces giving check");
    }

    std::string_view m_fen;
    position m_pos = position::empty_board();
};

position position::from_fen(std::string_view fen) {
    return fen_reader(fen).read();
}

std::string position::fen() const {
    std::string s;
    for (int rank = 7; rank >= 0; --rank) {
        int empty = 0;
        for (int file = 0; file < 8; ++file) {
            const piece p = m_board[make_square(file, rank)];
            if (p == no_piece) {
                ++empty;
                continue;
            }
            if (empty)
                s += char('0' + std::exchange(empty, 0));
            s += piece_letter(p);
        }
        if (empty)
            s += char('0' + empty);
        if (rank)
            s += '/';
    }
    s += m_side == white ? " w " : " b ";
    if (!m_castling)
        s += '-';
    for (int i = 0; i < 4; ++i)
        if (m_castling & (1 << i))
            s += "KQkq"[i];
    s += ' ';
    s += m_en_passant == no_square ? "-" : square_name(m_en_passant);
    s += ' ' + std::to_string(m_halfmove_clock) + ' ' + std::to_string(m_fullmove_number);
    return s;
}

} // namespace grokkit::chess
