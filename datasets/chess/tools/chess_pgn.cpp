// chess-pgn FILE [--moves]: one line per game of a PGN file (plain or .zst), skipped games with
// their reason, and the counts.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/notation.hpp>
#include <grokkit/chess/pgn.hpp>
#include <grokkit/error.hpp>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

constexpr const char* usage =
    "usage: chess-pgn FILE [--moves]\n"
    "  Reads every game of FILE (.pgn, or zstd-compressed .pgn.zst) and prints one line per\n"
    "  game: its number, tag count, plies, result and final FEN (with --moves, its moves in\n"
    "  UCI), or, for a game that was skipped, the ply and move that failed and why; then the\n"
    "  counts loaded and skipped. Exits 0 when the file could be read, even with skipped\n"
    "  games, and 2 when it could not.\n";

void print_game(const grokkit::chess::pgn_game& g, bool with_moves) {
    if (g.problem) {
        const auto& p = *g.problem;
        if (p.ply > 0)
            std::printf("game %zu: skipped at ply %zu, move \"%s\": %s\n", g.number, p.ply,
                        p.move_text.c_str(), p.reason.c_str());
        else
            std::printf("game %zu: skipped: %s\n", g.number, p.reason.c_str());
        return;
    }
    std::string line = "game " + std::to_string(g.number) + ": " + std::to_string(g.tags.size()) +
                       " tags, " + std::to_string(g.moves.size()) + " plies, result " + g.result +
                       ", final FEN " + g.final_position().fen();
    if (with_moves) {
        line += ", moves";
        for (const auto m : g.moves)
            line += ' ' + grokkit::chess::to_uci(m);
    }
    std::printf("%s\n", line.c_str());
}

int run(int argc, char** argv) {
    std::string path;
    bool with_moves = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--moves") == 0) {
            with_moves = true;
        } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(usage, stdout);
            return 0;
        } else if (path.empty()) {
            path = argv[i];
        } else {
            throw grokkit::error("chess-pgn", "unexpected argument '" + std::string(argv[i]) + "'",
                                 "FILE [--moves]");
        }
    }
    if (path.empty())
        throw grokkit::error("chess-pgn", "FILE is required", "FILE [--moves]");
    grokkit::chess::pgn_reader reader(path);
    grokkit::chess::pgn_game g;
    std::size_t loaded = 0, skipped = 0;
    while (reader.next(g)) {
        print_game(g, with_moves);
        ++(g.problem ? skipped : loaded);
    }
    std::printf("loaded %zu games, skipped %zu\n", loaded, skipped);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const grokkit::error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
