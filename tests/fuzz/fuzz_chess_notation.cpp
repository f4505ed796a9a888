// Fuzz target: FEN, SAN and UCI. Input: a FEN (or "startpos") on the first line, then one move
// text a line, each read as SAN, else as UCI, and played when it reads.
// Properties: a position read from FEN writes the FEN it reads back as; a move read is legal,
// and its SAN and UCI read back to it; make then unmake restores the position.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"

#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <sstream>

namespace {

using namespace grokkit_fuzz;
using grokkit_fuzz::outcome;
using namespace grokkit::chess;

void check_fen_round_trip(const position& pos) {
    const std::string fen = pos.fen();
    const position again = position::from_fen(fen); // a refusal here fails: the FEN was ours
    require(again.fen() == fen && again.key() == pos.key(), "FEN did not read back: " + fen);
}

/// The move `text` names, read as SAN and else as UCI; throws grokkit::error if neither.
move read_move(const position& pos, const std::string& text) {
    try {
        return parse_san(pos, text);
    } catch (const grokkit::error&) {
        return parse_uci(pos, text);
    }
}

void play(position& pos, move m, const std::string& text) {
    require(legal_moves(pos).contains(m), "'" + text + "' read as an illegal move in " + pos.fen());
    require(parse_san(pos, to_san(pos, m)) == m, "SAN " + to_san(pos, m) + " did not read back");
    require(parse_uci(pos, to_uci(m)) == m, "UCI " + to_uci(m) + " did not read back");
    const position before = pos;
    const auto undo = pos.make(m);
    position copy = pos;
    copy.unmake(m, undo);
    require(copy == before, "unmake of '" + text + "' did not restore " + before.fen());
    check_fen_round_trip(pos);
}

outcome run(const bytes& input) {
    std::istringstream lines(std::string(input.begin(), input.end()));
    std::string first;
    std::getline(lines, first);
    position pos = first == "startpos" ? position() : position::from_fen(first);
    check_fen_round_trip(pos);
    std::size_t played = 0;
    for (std::string text; std::getline(lines, text) && !legal_moves(pos).empty();) {
        try {
            const move m = read_move(pos, text);
            play(pos, m, text);
            ++played;
        } catch (const grokkit::error&) {
            // refused with a message; the next line is tried on the same position
        }
    }
    return played > 0 ? outcome::accepted : outcome::refused;
}

} // namespace

int main(int argc, char** argv) {
    return main_of(
        {.name = "chess_notation",
         .dictionary = {"O-O", "O-O-O", "0-0", "=Q",  "=N",     "+",   "#",   "x", "e.p.",
                        "!?",  "K",     "Q",   "R",   "B",      "N",   "a",   "h", "1",
                        "8",   "0000",  " w ", " b ", " KQkq ", " - ", "/8/", "/", "startpos\n"},
         .run = run,
         .max_size = 4096},
        argc, argv);
}
