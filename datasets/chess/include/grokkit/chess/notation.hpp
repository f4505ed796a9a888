// Moves as text: UCI (e2e4, e7e8q, e1g1) and SAN (Nbd7, exd6, O-O, e8=Q+), read and written.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/position.hpp>

#include <string>
#include <string_view>

namespace grokkit::chess {

/// "e2e4", "e7e8q"; castling is the king's move ("e1g1"); no move is "0000".
std::string to_uci(move m);
/// The legal move `text` names in UCI. Throws grokkit::error saying what is wrong: malformed
/// text, no piece of the side to move on the first square, a missing or needless promotion
/// letter, or a move that is not legal here (the legal ones are listed).
move parse_uci(const position& pos, std::string_view text);

/// Standard algebraic notation of a legal move: the piece letter, the least disambiguation
/// (file, else rank, else both), x for captures, =Q for promotions, + for check, # for mate.
/// Throws grokkit::error for a move that is not legal in `pos`.
std::string to_san(const position& pos, move m);
/// The legal move `text` names in SAN, in the forms real game files use: O-O and 0-0, promotion
/// with or without '=', long forms (Ng1f3, Ng1-f3), and check marks, annotation glyphs (!, ?,
/// !?) and "e.p." after the move, all ignored. Throws grokkit::error for malformed text, a
/// move no legal move matches, or an ambiguous one (the candidates are listed).
move parse_san(const position& pos, std::string_view text);

/// "knight" for knight.
std::string piece_name(piece_type t);

} // namespace grokkit::chess
