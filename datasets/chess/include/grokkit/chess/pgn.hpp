// PGN: a streaming reader for real-world files (plain or zstd-compressed) and a writer.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/chess/game.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace grokkit::chess {

/// Why a game was skipped: the ply and text of the move that failed (empty when the game failed
/// before its moves, on a FEN tag or a variant), and the reason.
struct pgn_problem {
    std::size_t ply = 0; ///< 1 for the first move of the game; 0 when no move was reached
    std::string move_text;
    std::string reason;
};

/// One game of a PGN file.
struct pgn_game {
    std::size_t number = 0; ///< 1 for the first game of the file
    std::size_t line = 0;   ///< line of the file where the game starts
    std::vector<std::pair<std::string, std::string>> tags; ///< in file order
    position start;          ///< the FEN tag's position, else the initial one
    std::vector<move> moves; ///< the main line (variations are skipped)
    std::string result;      ///< the movetext's result token, else the Result tag, else "*"
    /// Set when the game was skipped: its moves stop before the one that failed.
    std::optional<pgn_problem> problem;

    /// The value of tag `name`, or null.
    const std::string* tag(std::string_view name) const;
    /// The final position (start with every move played).
    position final_position() const;
};

/// Reads games one at a time from a .pgn file or a zstd-compressed one (recognised by its
/// magic number, not its name; decompressed with a window of up to 2^31 bytes, so files made
/// with `zstd --long` read). It handles tag pairs with escapes, comments ({...} and ;),
/// NAGs ($1), nested variations (skipped), escape lines (%), move numbers glued to moves
/// (1.e4), a UTF-8 byte order mark and CRLF line ends. A game whose FEN tag, variant or any
/// move cannot be read is returned with `problem` set, and reading goes on with the next one.
class pgn_reader {
  public:
    /// Opens `path`; throws grokkit::error if it cannot be opened.
    explicit pgn_reader(const std::string& path);
    ~pgn_reader();
    pgn_reader(const pgn_reader&) = delete;
    pgn_reader& operator=(const pgn_reader&) = delete;

    /// The next game, or false at the end of the file. Throws grokkit::error when the file
    /// itself cannot be read further (a read error, a corrupt or truncated zstd stream).
    bool next(pgn_game& game);

  private:
    struct state;
    std::unique_ptr<state> m_state;
};

/// A game as PGN text: the seven-tag roster first (with "?" for missing ones), then the other
/// tags, SetUp and FEN when the start is not the initial position, the moves in SAN with move
/// numbers, lines of at most 80 characters, and the result.
std::string write_pgn(const std::vector<std::pair<std::string, std::string>>& tags,
                      const position& start, const std::vector<move>& moves,
                      const std::string& result);

} // namespace grokkit::chess
