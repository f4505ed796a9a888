#!/usr/bin/env python3
"""Perft speed: grokkit's chess library (chess-perft) against Stockfish's own `go perft`.

Both programs run on the same positions and depths in one run; every count is checked against
the other program's and against the count recorded here (from Stockfish). Both count leaves in
bulk at the last ply: Stockfish's perft sizes the legal move list of each position one ply from
the end (MoveList<LEGAL>(pos).size()) and chess-perft counts the same moves without listing
them. Both are single-threaded.

Timing excludes start-up for both: chess-perft reports the time of its perft call on stderr;
Stockfish is started once, made ready (`isready`), then timed from sending `go perft` to
reading `Nodes searched`. The best of --repeats runs is kept for each.

Usage: bench/perft_vs_stockfish.py [--perft build/bin/chess-perft] [--repeats 3] [--quick]
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STOCKFISH = "/usr/games/stockfish"

# (name, FEN, depth, leaves): the two positions first, then three that stress en
# passant, promotions and checks. Counts are Stockfish 15.1's.
CASES = [
    ("start position", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", 6, 119060324),
    ("Kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 5,
     193690690),
    ("en passant + rook checks", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", 7, 178633661),
    ("promotions + castling", "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
     5, 15833292),
    ("promotion by capture", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", 5,
     89941194),
]


def time_chess_perft(binary, fen, depth):
    out = subprocess.run([binary, fen, str(depth)], capture_output=True, text=True, check=True)
    nodes = int(re.search(r"Nodes searched: (\d+)", out.stdout).group(1))
    seconds = float(re.search(r"chess-perft: ([0-9.]+) s", out.stderr).group(1))
    return nodes, seconds


class Stockfish:
    def __init__(self):
        self.p = subprocess.Popen([STOCKFISH], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.send("uci")
        self.wait_for("uciok")

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def wait_for(self, prefix):
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("Stockfish exited")
            if line.startswith(prefix):
                return line

    def perft(self, fen, depth):
        self.send("position fen " + fen)
        self.send("isready")
        self.wait_for("readyok")
        start = time.perf_counter()
        self.send("go perft %d" % depth)
        line = self.wait_for("Nodes searched")
        seconds = time.perf_counter() - start
        return int(line.split(":")[1]), seconds

    def close(self):
        self.send("quit")
        self.p.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--perft", default=os.path.join(HERE, "..", "build", "bin", "chess-perft"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one depth less, one repeat")
    args = ap.parse_args()
    if not os.access(STOCKFISH, os.X_OK):
        sys.exit("perft_vs_stockfish: %s is missing; ./scripts/install-deps installs it" % STOCKFISH)
    if not os.access(args.perft, os.X_OK):
        sys.exit("perft_vs_stockfish: %s is missing; build first (cmake --build build)" % args.perft)
    repeats = 1 if args.quick else args.repeats

    print("Perft, single-threaded, best of %d; both count leaves in bulk at the last ply" % repeats)
    print("(chess-perft counts the last ply's legal moves without making them; Stockfish sizes "
          "its legal move list there).")
    print("%-26s %5s %13s %14s %14s %7s" % ("position", "depth", "leaves", "grokkit M n/s",
                                           "Stockfish M n/s", "ratio"))
    stockfish = Stockfish()
    failed = False
    ratios = []
    for name, fen, depth, leaves in CASES:
        if args.quick:
            depth -= 1
            leaves = None
        ours = [time_chess_perft(args.perft, fen, depth) for _ in range(repeats)]
        theirs = [stockfish.perft(fen, depth) for _ in range(repeats)]
        counts = {n for n, _ in ours} | {n for n, _ in theirs}
        if len(counts) != 1 or (leaves is not None and counts != {leaves}):
            print("MISMATCH %s depth %d: chess-perft %s, Stockfish %s, recorded %s" %
                  (name, depth, [n for n, _ in ours], [n for n, _ in theirs], leaves))
            failed = True
            continue
        n = counts.pop()
        rate_ours = n / min(s for _, s in ours) / 1e6
        rate_theirs = n / min(s for _, s in theirs) / 1e6
        ratios.append(rate_ours / rate_theirs)
        print("%-26s %5d %13s %14.1f %14.1f %6.2fx" % (name, depth, "{:,}".format(n), rate_ours,
                                                      rate_theirs, rate_ours / rate_theirs))
    stockfish.close()
    if ratios:
        print("grokkit/Stockfish nodes per second: %.2fx to %.2fx (target: at least 0.5x)" %
              (min(ratios), max(ratios)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
