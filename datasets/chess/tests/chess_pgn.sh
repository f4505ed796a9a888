#!/usr/bin/env bash
# chess-pgn prints a line per game, a line per skipped game and the counts; it exits 0 when
# the file was read (skipped games included) and 2 when it could not be.
# Usage: chess_pgn.sh CHESS_PGN FIXTURE_PGN
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
tool=$1
fixture=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$tool" "$fixture" >"$tmp/out"
grep -qx 'game 1: 10 tags, 8 plies, result 1-0, final FEN r1bqkb1r/1ppp1ppp/p1n2n2/4p3/B3P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 2 5' "$tmp/out" ||
    fail "game 1 line: $(head -1 "$tmp/out")"
grep -q '^game 2: skipped at ply 3, move "Ke3": SAN move "Ke3": no legal king move to e3' "$tmp/out" || fail "game 2"
grep -q '^game 4: skipped at ply 7, move "Ng5": .*ambiguous' "$tmp/out" || fail "game 4"
grep -q '^game 6: skipped: FEN tag: ' "$tmp/out" || fail "game 6"
grep -q '^game 7: skipped: variant "Chess960"' "$tmp/out" || fail "game 7"
[[ $(tail -1 "$tmp/out") == "loaded 4 games, skipped 5" ]] || fail "summary: $(tail -1 "$tmp/out")"
[[ $(wc -l <"$tmp/out") -eq 10 ]] || fail "expected 10 lines"

"$tool" "$fixture" --moves | grep -qx 'game 3: 4 tags, 3 plies, result \*, final FEN 8/8/4k3/8/4P3/8/8/4K3 w - - 1 3, moves e8d7 e2e4 d7e6' ||
    fail "--moves"

zstd -q --long=31 <"$fixture" >"$tmp/games.pgn.zst"
"$tool" "$tmp/games.pgn.zst" | diff - "$tmp/out" || fail ".zst output differs from the plain file's"

status=0
"$tool" "$tmp/missing.pgn" 2>"$tmp/err" || status=$?
[[ $status -eq 2 ]] && grep -q "missing.pgn: cannot open" "$tmp/err" || fail "missing file: exit $status"
head -c 40 "$tmp/games.pgn.zst" >"$tmp/cut.pgn.zst"
status=0
"$tool" "$tmp/cut.pgn.zst" >/dev/null 2>"$tmp/err" || status=$?
[[ $status -eq 2 ]] && grep -q "truncated" "$tmp/err" || fail "truncated zstd: exit $status"
status=0
"$tool" 2>"$tmp/err" || status=$?
[[ $status -eq 2 ]] && grep -q "FILE is required" "$tmp/err" || fail "no FILE: exit $status"
"$tool" --help | grep -q "usage: chess-pgn FILE" || fail "--help"
echo "chess-pgn: games, skips, .zst and exit codes as documented"
