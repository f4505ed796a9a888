// game: legality-checked play, repetition and the end of a game.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/game.hpp>
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <algorithm>

namespace grokkit::chess {

std::string outcome_name(outcome o) {
    static const char* const names[] = {"ongoing",
                                        "checkmate",
                                        "stalemate",
                                        "insufficient material",
                                        "fifty-move rule",
                                        "threefold repetition",
                                        "seventy-five-move rule",
                                        "fivefold repetition"};
    return names[int(o)];
}

bool insufficient_material(const position& pos) {
    if (pos.pieces(pawn) | pos.pieces(rook) | pos.pieces(queen))
        return false;
    const bitboard minors = pos.pieces(knight) | pos.pieces(bishop);
    if (!more_than_one(minors))
        return true;
    constexpr bitboard dark_squares = 0xAA55AA55AA55AA55ULL;
    const bitboard bishops = pos.pieces(bishop);
    return !pos.pieces(knight) && ((bishops & dark_squares) == 0 || (bishops & ~dark_squares) == 0);
}

game::game(const position& start) : m_start(start), m_current(start), m_keys{start.key()} {}

void game::play(move m) {
    if (!legal_moves(m_current).contains(m))
        throw error("move " + to_uci(m), "not legal in " + m_current.fen());
    m_undo.push_back(m_current.make(m));
    m_moves.push_back(m);
    m_keys.push_back(m_current.key());
}

move game::play_uci(std::string_view text) {
    const move m = parse_uci(m_current, text);
    play(m);
    return m;
}

move game::play_san(std::string_view text) {
    const move m = parse_san(m_current, text);
    play(m);
    return m;
}

void game::take_back() {
    if (m_moves.empty())
        throw error("take back", "no move has been played");
    m_current.unmake(m_moves.back(), m_undo.back());
    m_moves.pop_back();
    m_undo.pop_back();
    m_keys.pop_back();
}

int game::repetitions() const {
    // Only positions since the last capture or pawn move can repeat, and only with the same
    // side to move.
    const std::size_t now = m_keys.size() - 1;
    const std::size_t reach = std::min<std::size_t>(now, std::size_t(m_current.halfmove_clock()));
    int count = 1;
    for (std::size_t back = 2; back <= reach; back += 2)
        count += m_keys[now - back] == m_keys[now];
    return count;
}

outcome game::status(bool claim_draws) const {
    if (legal_moves(m_current).empty())
        return m_current.in_check() ? outcome::checkmate : outcome::stalemate;
    if (insufficient_material(m_current))
        return outcome::insufficient_material;
    const int clock = m_current.halfmove_clock();
    const int seen = repetitions();
    if (claim_draws && clock >= 100)
        return outcome::fifty_move_rule;
    if (claim_draws && seen >= 3)
        return outcome::threefold_repetition;
    if (clock >= 150)
        return outcome::seventy_five_move_rule;
    if (seen >= 5)
        return outcome::fivefold_repetition;
    return outcome::ongoing;
}

std::string game::result(bool claim_draws) const {
    switch (status(claim_draws)) {
    case outcome::ongoing:
        return "*";
    case outcome::checkmate:
        return m_current.side_to_move() == white ? "0-1" : "1-0";
    default:
        return "1/2-1/2";
    }
}

} // namespace grokkit::chess
