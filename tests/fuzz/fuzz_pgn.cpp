// Fuzz target: the PGN reader, plain and zstd-compressed. Input: the bytes of a file (a .zst one
// when it starts with zstd's magic number). A plain input is also read compressed.
// Properties: a game read without a problem writes as PGN that reads back to the same game;
// the compressed copy reads to the same games as the plain file.
// SPDX-License-Identifier: Apache-2.0
#include "driver.hpp"

#include <grokkit/chess/pgn.hpp>
#include <grokkit/error.hpp>

#include <zstd.h>

namespace {

using namespace grokkit_fuzz;
using grokkit_fuzz::outcome;
using namespace grokkit::chess;

struct game_summary {
    std::string start_fen;
    std::vector<move> moves;
    bool problem = false;
    friend bool operator==(const game_summary&, const game_summary&) = default;
};

void check_written_reads_back(const pgn_game& g) {
    const auto path = scratch_dir() / "written.pgn";
    write_file(path, [&] {
        const std::string text = write_pgn(g.tags, g.start, g.moves, g.result);
        return bytes(text.begin(), text.end());
    }());
    pgn_reader again(path.string());
    pgn_game h;
    require(again.next(h) && !h.problem && h.moves == g.moves && h.start == g.start,
            "game " + std::to_string(g.number) + " did not read back from the PGN written of it");
}

std::vector<game_summary> read_games(const std::filesystem::path& path, bool check) {
    std::vector<game_summary> games;
    pgn_reader reader(path.string());
    for (pgn_game g; reader.next(g);) {
        games.push_back({g.start.fen(), g.moves, g.problem.has_value()});
        if (check && !g.problem)
            check_written_reads_back(g);
        if (check && g.problem)
            require(!g.problem->reason.empty(), "a skipped game without a reason");
    }
    return games;
}

bool is_zstd(const bytes& b) {
    return b.size() >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd;
}

outcome run(const bytes& input) {
    const auto plain = scratch_dir() / "input.pgn";
    write_file(plain, input);
    const auto games = read_games(plain, true); // a grokkit::error here is a clean refusal
    if (!is_zstd(input)) {
        bytes packed(ZSTD_compressBound(input.size()));
        packed.resize(ZSTD_compress(packed.data(), packed.size(), input.data(), input.size(), 1));
        const auto zst = scratch_dir() / "input.pgn.zst";
        write_file(zst, packed);
        require(read_games(zst, false) == games, "the .zst copy read differently");
    }
    return games.empty() ? outcome::refused : outcome::accepted;
}

} // namespace

int main(int argc, char** argv) {
    return main_of({.name = "pgn",
                    .dictionary = {"[Event \"",
                                   "[FEN \"",
                                   "[SetUp \"1\"]",
                                   "[Variant \"",
                                   "\"]\n",
                                   "\n\n",
                                   "1. ",
                                   "2... ",
                                   "{",
                                   "}",
                                   "(",
                                   ")",
                                   ";",
                                   "\n%",
                                   "$1",
                                   "1-0",
                                   "0-1",
                                   "1/2-1/2",
                                   "*",
                                   "O-O",
                                   "=Q",
                                   "\\\"",
                                   "\r\n",
                                   "\xef\xbb\xbf",
                                   "e4",
                                   "Nf3",
                                   "exd5",
                                   std::string("\x28\xb5\x2f\xfd", 4)},
                    .run = run},
                   argc, argv);
}
