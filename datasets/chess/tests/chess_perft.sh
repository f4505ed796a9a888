#!/usr/bin/env bash
# chess-perft prints what Stockfish's `go perft` prints, and refuses bad input with exit 2.
# Usage: chess_perft.sh CHESS_PERFT
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
perft=$1
stockfish=/usr/games/stockfish
[[ -x $stockfish ]] || { echo "Stockfish is missing: ./scripts/install-deps installs it" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_status() { # expect_status CODE FRAGMENT -- ARGS...: exit code and a stderr fragment
    local code=$1 fragment=$2
    shift 3
    local got=0
    "$perft" "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
    if [[ $got -ne $code ]] || ! grep -qF -- "$fragment" "$tmp/err"; then
        echo "FAIL: chess-perft $*: exit $got (want $code), stderr:" >&2
        cat "$tmp/err" >&2
        echo "(wanted a line containing: $fragment)" >&2
        exit 1
    fi
}

for fen in "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1" \
    "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1" \
    "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N b - - 0 1"; do
    # The same per-move lines and total, in any order, blank lines aside.
    "$perft" "$fen" 3 --divide 2>/dev/null | grep -v '^$' | sort >"$tmp/ours"
    printf 'position fen %s\ngo perft 3\nquit\n' "$fen" | "$stockfish" |
        grep -v -e '^$' -e '^Stockfish' | sort >"$tmp/theirs"
    diff "$tmp/ours" "$tmp/theirs" || { echo "FAIL: --divide differs from Stockfish for $fen" >&2; exit 1; }
    # Without --divide, only the total.
    total=$(grep '^Nodes searched' "$tmp/theirs")
    [[ $("$perft" "$fen" 3 2>/dev/null) == "$total" ]] || { echo "FAIL: total for $fen" >&2; exit 1; }
done
[[ $("$perft" startpos 4 2>/dev/null) == "Nodes searched: 197281" ]] || { echo "FAIL: startpos" >&2; exit 1; }
"$perft" startpos 3 2>&1 >/dev/null | grep -q "leaves counted in bulk at the last ply" ||
    { echo "FAIL: no rate on stderr" >&2; exit 1; }

expect_status 2 'field 2 (side to move): "x"; expected w or b' -- \
    "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1" 3
expect_status 2 'it has 4 fields' -- "8/8/8/8/8/8/8/8 w - -" 1
expect_status 2 'white has 0 kings' -- "8/8/8/8/8/8/8/k7 w - - 0 1" 1
expect_status 2 "DEPTH: 'x'; expected an integer in [0, 20]" -- startpos x
expect_status 2 "DEPTH: '-1'" -- startpos -1
expect_status 2 'FEN and DEPTH are required' -- startpos
expect_status 2 'unexpected argument "5"' -- startpos 3 5
"$perft" --help | grep -q "usage: chess-perft FEN DEPTH" || { echo "FAIL: --help" >&2; exit 1; }
echo "chess-perft: agrees with Stockfish and refuses bad input"
