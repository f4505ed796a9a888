// chess-perft FEN DEPTH [--divide]: legal move path counts, printed as Stockfish's `go perft`.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/chess/movegen.hpp>
#include <grokkit/chess/notation.hpp>
#include <grokkit/error.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

constexpr const char* usage =
    "usage: chess-perft FEN DEPTH [--divide]\n"
    "  Counts the legal move sequences of DEPTH plies from FEN (\"startpos\" for the initial\n"
    "  position) and prints \"Nodes searched: N\", with each first move's count before it\n"
    "  under --divide, as Stockfish's `go perft` does. Leaves are counted in bulk at the last\n"
    "  ply; the time and rate go to stderr.\n";

int run(int argc, char** argv) {
    std::string fen;
    std::string depth_text;
    bool divide = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--divide") == 0)
            divide = true;
        else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(usage, stdout);
            return 0;
        } else if (fen.empty())
            fen = argv[i];
        else if (depth_text.empty())
            depth_text = argv[i];
        else
            throw grokkit::error("chess-perft",
                                 "unexpected argument \"" + std::string(argv[i]) + "\"",
                                 "FEN DEPTH [--divide]");
    }
    if (fen.empty() || depth_text.empty())
        throw grokkit::error("chess-perft", "FEN and DEPTH are required", "FEN DEPTH [--divide]");
    int depth = -1;
    const auto [end, ec] =
        std::from_chars(depth_text.data(), depth_text.data() + depth_text.size(), depth);
    if (ec != std::errc() || end != depth_text.data() + depth_text.size() || depth < 0 ||
        depth > 20)
        throw grokkit::error("chess-perft: DEPTH", "'" + depth_text + "'", "an integer in [0, 20]");

    auto pos = grokkit::chess::position::from_fen(fen == "startpos" ? grokkit::chess::start_fen
                                                                    : std::string_view(fen));
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t nodes = 0;
    if (divide && depth > 0) {
        for (const auto& e : grokkit::chess::perft_divide(pos, depth)) {
            std::printf("%s: %llu\n", grokkit::chess::to_uci(e.first).c_str(),
                        static_cast<unsigned long long>(e.leaves));
            nodes += e.leaves;
        }
        std::printf("\n");
    } else {
        nodes = grokkit::chess::perft(pos, depth);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("Nodes searched: %llu\n", static_cast<unsigned long long>(nodes));
    std::fflush(stdout);
    std::fprintf(stderr,
                 "chess-perft: %.3f s, %.1f M nodes/s (leaves counted in bulk at the last ply)\n",
                 seconds, seconds > 0 ? double(nodes) / seconds / 1e6 : 0.0);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const grokkit::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
