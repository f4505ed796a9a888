#!/usr/bin/env bash
# Runs one bad-pipeline case through the real binary and diffs its stderr with <case>.expected.
# SPDX-License-Identifier: Apache-2.0
#
# usage: run_case.sh GROKKIT CASE_DIR CASE
#   Runs `GROKKIT check CASE.toml [--set ARG]...` from inside CASE_DIR, the --set arguments
#   read from CASE.args (one per line, blank lines ignored). Passes when the exit code is 2,
#   stdout is empty and stderr equals CASE.expected exactly, the final
#   "N problem(s) found; nothing was run" line included.
#   With GROKKIT_UPDATE_EXPECTED=1 it writes CASE.expected from the actual stderr instead
#   (still requiring exit code 2 and an empty stdout); review the diff before committing.
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 GROKKIT CASE_DIR CASE" >&2
    exit 2
fi
grokkit=$(realpath "$1")
case_dir=$2
name=$3

cd "$case_dir" || exit 1
if [ ! -f "$name.toml" ]; then
    echo "FAIL $name: $case_dir/$name.toml does not exist" >&2
    exit 1
fi

args=()
if [ -f "$name.args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        [ -n "$line" ] && args+=(--set "$line")
    done < "$name.args"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A hang is a failure too (check generates the dataset, so a huge one could take long).
timeout 60 "$grokkit" check "$name.toml" "${args[@]}" > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?

command_text="grokkit check $name.toml"
for a in "${args[@]}"; do
    command_text+=" $(printf '%q' "$a")"
done

fail() {
    echo "FAIL $name: $1" >&2
    echo "  command (in $case_dir): $command_text" >&2
    echo "  stderr:" >&2
    sed 's/^/    | /' "$tmp/stderr" >&2
    exit 1
}

if [ "$rc" -eq 124 ]; then
    fail "did not finish within 60 s"
elif [ "$rc" -gt 128 ]; then
    fail "killed by signal $((rc - 128)) (exit code $rc); expected exit code 2"
elif [ "$rc" -ne 2 ]; then
    fail "exit code $rc; expected 2 (validation failed, nothing run)"
fi
if [ -s "$tmp/stdout" ]; then
    echo "  stdout:" >&2
    sed 's/^/    | /' "$tmp/stdout" >&2
    fail "printed to stdout; expected nothing (a failed check prints no resolved pipeline)"
fi

if [ "${GROKKIT_UPDATE_EXPECTED:-0}" = 1 ]; then
    cp "$tmp/stderr" "$name.expected"
    echo "wrote $case_dir/$name.expected"
    exit 0
fi

if [ ! -f "$name.expected" ]; then
    fail "$name.expected does not exist (GROKKIT_UPDATE_EXPECTED=1 writes it from this output)"
fi
if ! diff -u --label "$name.expected" --label "actual stderr" "$name.expected" "$tmp/stderr" > "$tmp/diff"; then
    echo "FAIL $name: stderr differs from $name.expected (- expected, + actual)" >&2
    echo "  command (in $case_dir): $command_text" >&2
    cat "$tmp/diff" >&2
    exit 1
fi
echo "ok $name"
