// UCI and SAN reading and writing.
// SPDX-License-Identifier: Apache-2.0
#include "text.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace grokkit::chess {

namespace {

constexpr std::string_view san_letters = "PNBRQK";

std::optional<square> read_square(std::string_view text) {
    if (text.size() != 2 || text[0] < 'a' || text[0] > 'h' || text[1] < '1' || text[1] > '8')
        return std::nullopt;
    return make_square(text[0] - 'a', text[1] - '1');
}

bool is_file(char c) {
    return c >= 'a' && c <= 'h';
}
bool is_rank(char c) {
    return c >= '1' && c <= '8';
}

/// The legal moves as sorted text, for "expected" in errors.
template <class Format> std::string listed(const position& pos, Format format) {
    std::vector<std::string> texts;
    for (const move m : legal_moves(pos))
        texts.push_back(format(m));
    std::sort(texts.begin(), texts.end());
    if (texts.empty())
        return "no move: there is no legal move in this position";
    return "a legal move: " + join(texts, " ");
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

} // namespace

std::string square_name(square s) {
    return {char('a' + file_of(s)), char('1' + rank_of(s))};
}

std::string piece_name(piece_type t) {
    static const char* const names[] = {"pawn", "knight", "bishop", "rook", "queen", "king"};
    return names[t];
}

std::string to_uci(move m) {
    if (m.is_none())
        return "0000";
    std::string s = square_name(m.from()) + square_name(m.to());
    if (m.kind() == move_kind::promotion)
        s += "nbrq"[m.promotion() - knight];
    return s;
}

move parse_uci(const position& pos, std::string_view text) {
    const std::string where = "UCI move " + detail::quoted(text);
    auto fail = [&](const std::string& what, const std::string& expected) {
        throw error(where, what, expected);
    };
    const auto from = read_square(text.substr(0, 2));
    const auto to = read_square(text.size() >= 4 ? text.substr(2, 2) : std::string_view());
    const bool promotion_letter =
        text.size() == 5 && std::string_view("nbrq").find(text[4]) != std::string_view::npos;
    if (!from || !to || (text.size() != 4 && !promotion_letter))
        fail("malformed", "two squares and an optional promotion letter, as e2e4 or e7e8q");
    const piece p = pos.at(*from);
    if (p == no_piece || color_of(p) != pos.side_to_move())
        fail("no " + std::string(pos.side_to_move() == white ? "white" : "black") + " piece on " +
                 square_name(*from),
             listed(pos, to_uci));
    const move_list legal = legal_moves(pos);
    bool reachable = false, promotes = false;
    for (const move m : legal)
        if (m.from() == *from && m.to() == *to) {
            reachable = true;
            promotes = m.kind() == move_kind::promotion;
        }
    if (!reachable)
        fail("not a legal move here", listed(pos, to_uci));
    if (promotes && !promotion_letter)
        fail("a pawn reaching the last rank needs a promotion letter",
             std::string(text) + "q, " + std::string(text) + "r, " + std::string(text) + "b or " +
                 std::string(text) + "n");
    if (!promotes && promotion_letter)
        fail("a promotion letter on a move that does not promote", std::string(text.substr(0, 4)));
    for (const move m : legal)
        if (m.from() == *from && m.to() == *to &&
            (!promotes || "nbrq"[m.promotion() - knight] == text[4]))
            return m;
    return {}; // unreachable: the letter is one of nbrq and all four promotions are legal
}

std::string to_san(const position& pos, move m) {
    const move_list legal = legal_moves(pos);
    if (!legal.contains(m))
        throw error("SAN of move " + to_uci(m), "not a legal move in " + pos.fen(),
                    listed(pos, to_uci));
    std::string s;
    if (m.kind() == move_kind::castling) {
        s = file_of(m.to()) == 6 ? "O-O" : "O-O-O";
    } else {
        const piece_type type = type_of(pos.at(m.from()));
        if (type == pawn) {
            if (pos.is_capture(m))
                s = {char('a' + file_of(m.from())), 'x'};
        } else {
            s = san_letters[type];
            bool same_file = false, same_rank = false, ambiguous = false;
            for (const move other : legal)
                if (other.to() == m.to() && other.from() != m.from() &&
                    type_of(pos.at(other.from())) == type) {
                    ambiguous = true;
                    same_file |= file_of(other.from()) == file_of(m.from());
                    same_rank |= rank_of(other.from()) == rank_of(m.from());
                }
            if (ambiguous && (!same_file || same_rank))
                s += char('a' + file_of(m.from()));
            if (ambiguous && same_file)
                s += char('1' + rank_of(m.from()));
            if (pos.is_capture(m))
                s += 'x';
        }
        s += square_name(m.to());
        if (m.kind() == move_kind::promotion)
            s += std::string("=") + san_letters[m.promotion()];
    }
    position after = pos;
    (void)after.make(m);
    if (after.in_check())
        s += count_legal(after) == 0 ? '#' : '+';
    return s;
}

move parse_san(const position& pos, std::string_view text) {
    const std::string where = "SAN move " + detail::quoted(text);
    const auto san_of = [&pos](move m) { return to_san(pos, m); };
    auto fail = [&](const std::string& what, const std::string& expected) {
        throw error(where, what, expected);
    };
    std::string_view s = text;
    while (!s.empty() && std::string_view("!?+#").find(s.back()) != std::string_view::npos)
        s.remove_suffix(1);
    for (const std::string_view tail : {" e.p.", "e.p."})
        if (ends_with(s, tail)) {
            s.remove_suffix(tail.size());
            break;
        }
    if (s.empty())
        fail("empty", "a move such as e4, Nf3, exd5, O-O or e8=Q");

    const move_list legal = legal_moves(pos);
    if (s == "O-O" || s == "0-0" || s == "O-O-O" || s == "0-0-0") {
        const int file = s.size() == 3 ? 6 : 2;
        for (const move m : legal)
            if (m.kind() == move_kind::castling && file_of(m.to()) == file)
                return m;
        fail(std::string("castling ") + (file == 6 ? "kingside" : "queenside") +
                 " is not legal here",
             listed(pos, san_of));
    }

    piece_type type = pawn;
    if (const auto at = san_letters.find(s[0]); at != std::string_view::npos) {
        type = piece_type(at);
        s.remove_prefix(1);
    }
    std::optional<piece_type> promotion;
    // The promotion piece in capitals, or in lower case after '=' or the rank (some files).
    const bool lower_case_promotion =
        type == pawn && s.size() >= 3 &&
        std::string_view("nbrq").find(s.back()) != std::string_view::npos &&
        (s[s.size() - 2] == '=' || is_rank(s[s.size() - 2]));
    const char promotion_letter = s.empty()              ? '\0'
                                  : lower_case_promotion ? char(s.back() - 'a' + 'A')
                                                         : s.back();
    if (type == pawn && !s.empty())
        if (const auto at = san_letters.find(promotion_letter); at != std::string_view::npos) {
            if (at == pawn || at == king)
                fail("a pawn cannot promote to a " + piece_name(piece_type(at)),
                     "=Q, =R, =B or =N");
            promotion = piece_type(at);
            s.remove_suffix(1);
            if (!s.empty() && s.back() == '=')
                s.remove_suffix(1);
        }
    const auto to = read_square(s.size() >= 2 ? s.substr(s.size() - 2) : std::string_view());
    if (!to)
        fail("no destination square", "a move such as e4, Nf3, exd5, O-O or e8=Q");
    s.remove_suffix(2);
    const bool marked_capture = !s.empty() && (s.back() == 'x' || s.back() == ':');
    if (!s.empty() && (s.back() == 'x' || s.back() == ':' || s.back() == '-'))
        s.remove_suffix(1);
    int from_file = -1, from_rank = -1;
    if (!s.empty() && is_file(s.front())) {
        from_file = s.front() - 'a';
        s.remove_prefix(1);
    }
    if (!s.empty() && is_rank(s.front())) {
        from_rank = s.front() - '1';
        s.remove_prefix(1);
    }
    if (!s.empty())
        fail("malformed", "a piece letter, an optional file or rank, x, the square, =Q");

    std::vector<move> matches;
    for (const move m : legal) {
        if (m.to() != *to || m.kind() == move_kind::castling || type_of(pos.at(m.from())) != type)
            continue;
        if ((from_file >= 0 && file_of(m.from()) != from_file) ||
            (from_rank >= 0 && rank_of(m.from()) != from_rank))
            continue;
        // A pawn's file and x are what tell a capture from a push: "d6" is never cxd6.
        if (type == pawn && (pos.is_capture(m) ? from_file < 0 : marked_capture))
            continue;
        if (m.kind() == move_kind::promotion) {
            if (!promotion)
                fail("a pawn reaching the last rank needs a promotion piece",
                     "=Q, =R, =B or =N after the square");
            if (m.promotion() != *promotion)
                continue;
        } else if (promotion) {
            fail("a promotion on a move that does not promote",
                 "the move without =" + std::string(1, san_letters[*promotion]));
        }
        matches.push_back(m);
    }
    if (matches.size() == 1)
        return matches.front();
    if (matches.empty())
        fail("no legal " + piece_name(type) + " move to " + square_name(*to), listed(pos, san_of));
    std::vector<std::string> candidates;
    for (const move m : matches)
        candidates.push_back(to_san(pos, m));
    fail("ambiguous between " + join(candidates, " and "),
         "the file or rank of the piece that moves");
    return {}; // unreachable: fail throws
}

} // namespace grokkit::chess
