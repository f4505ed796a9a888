// A game: a start position, the moves played, and how it ends.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/position.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace grokkit::chess {

enum class outcome : std::uint8_t {
    ongoing,
    checkmate,
    stalemate,
    insufficient_material,
    fifty_move_rule,        ///< 100 half-moves without a capture or pawn move (claimed)
    threefold_repetition,   ///< the same position a third time (claimed)
    seventy_five_move_rule, ///< 150 half-moves: a draw without a claim
    fivefold_repetition     ///< the same position a fifth time: a draw without a claim
};
/// "checkmate", "threefold repetition", ...
std::string outcome_name(outcome o);

/// Neither side can mate by any sequence of legal moves, by the usual sufficient test: no
/// pawns, rooks or queens, and at most one minor piece or only bishops all on one square colour.
bool insufficient_material(const position& pos);

class game {
  public:
    explicit game(const position& start = position());

    const position& start() const { return m_start; }
    const position& current() const { return m_current; }
    const std::vector<move>& moves() const { return m_moves; }

    /// Plays `m`; throws grokkit::error if it is not legal in the current position.
    void play(move m);
    /// Reads the move in UCI or SAN (parse_uci, parse_san), plays and returns it.
    move play_uci(std::string_view text);
    move play_san(std::string_view text);
    /// Takes back the last move; the game must have one.
    void take_back();

    /// How often the current position has occurred, this time included (same pieces, side to
    /// move, castling rights and en passant capture).
    int repetitions() const;
    /// Checkmate and stalemate first, then insufficient material. With `claim_draws` (what an
    /// engine would do, and the default) the fifty-move rule and threefold repetition end the
    /// game; without, only their automatic forms (75 moves, fivefold) do.
    outcome status(bool claim_draws = true) const;
    /// "1-0", "0-1", "1/2-1/2", or "*" while the game goes on.
    std::string result(bool claim_draws = true) const;

  private:
    position m_start;
    position m_current;
    std::vector<move> m_moves;
    std::vector<undo_info> m_undo;
    std::vector<std::uint64_t> m_keys; ///< the key of every position so far, the current last
};

} // namespace grokkit::chess
