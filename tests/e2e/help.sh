#!/usr/bin/env bash
# `grokkit <command> --help` (and -h) prints that command's usage on stdout and exits 0 for
# every command the top-level help lists, required arguments missing or not.
# usage: help.sh GROKKIT_BINARY
set -uo pipefail
grokkit="$1"
fail=0
commands=$("$grokkit" --help | sed -n '/^commands:/,/^$/p' | grep -oE '^  [a-z]+' | tr -d ' ')
[[ -n "$commands" ]] || { echo "FAIL: grokkit --help lists no commands"; exit 1; }
for cmd in $commands; do
    for flag in --help -h; do
        out=$("$grokkit" "$cmd" "$flag" 2>&1); rc=$?
        if [[ $rc -ne 0 ]] || ! grep -q "^usage: grokkit $cmd" <<<"$out" || grep -q "^error" <<<"$out"; then
            echo "FAIL: grokkit $cmd $flag -> exit $rc:"; echo "$out" | head -3; fail=1
        else
            echo "ok: grokkit $cmd $flag"
        fi
    done
done
out=$("$grokkit" --help); rc=$?
[[ $rc -eq 0 && "$out" == usage:* ]] || { echo "FAIL: grokkit --help -> exit $rc"; fail=1; }
exit $fail
