#!/usr/bin/env bash
# Every plugin's example.toml runs to completion; every pipeline in examples/ and bench/
# validates (they are long experiments, run by hand, not in the suite). Validating prepares the
# data; a pipeline whose data takes minutes to make names smaller settings for the check in
# lines "# check-set: key=value", passed as --set.
# usage: examples.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
grokkit="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
shopt -s nullglob
for ex in "$src"/datasets/*/example.toml "$src"/plugins/*/example.toml "$src"/analyses/*/example.toml; do
    name="$(basename "$(dirname "$ex")")"
    if grep -q '^# requires:' "$ex"; then
        echo "skip: $name ($(grep -m1 '^# requires:' "$ex"))"
        continue
    fi
    if "$grokkit" run "$ex" --out "$tmp/$name.h5" --quiet >"$tmp/$name.log" 2>&1; then
        echo "ok: $name/example.toml ($(grep -m1 'status:' "$tmp/$name.log"))"
    else
        echo "FAIL: $name/example.toml"; cat "$tmp/$name.log"; fail=1
    fi
done
for ex in "$src"/examples/*.toml "$src"/bench/*/*.toml; do
    sets=()
    while read -r kv; do sets+=(--set "$kv"); done < <(sed -n 's/^# check-set: *//p' "$ex")
    if "$grokkit" check "$ex" "${sets[@]}" >/dev/null 2>"$tmp/check.log"; then
        echo "ok: check $(basename "$ex")"
    else
        echo "FAIL: check $ex"; cat "$tmp/check.log"; fail=1
    fi
done
exit $fail
