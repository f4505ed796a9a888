#!/usr/bin/env bash
# A run file being written is locked (flock) by its writer: a second `grokkit run --resume`,
# `--force` over it, or `grokkit analyze` into it is refused with a clear message, and the live
# run loses nothing (it goes on and completes, identical to a run never disturbed). Once the
# writer is SIGKILLed the kernel drops its lock, and --resume continues the run.
# Waits on the run's progress lines, never on a fixed sleep.
# usage: second_writer.sh GROKKIT_BINARY
set -euo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/wait_for_line.sh"
tmp="$(mktemp -d)"
trap 'kill -9 "${pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
sets=(--set train.steps=2000 --set train.checkpoint_every=500)

refused() { # the command must fail, saying the file is being written, and leave it alone
    local out rc=0
    out="$("$@" 2>&1)" || rc=$?
    if [[ $rc -eq 0 ]] || ! grep -q "being written by another grokkit process" <<<"$out"; then
        echo "FAIL: expected a refusal from: $*; got rc $rc:" >&2
        echo "$out" >&2
        exit 1
    fi
}

# 1. The first run is held by the test hook at its third metrics row (so it is surely live),
#    three refusals are tried, then it is released and completes untouched.
GROKKIT_TEST_HOLD=metric_row:3 GROKKIT_TEST_RELEASE="$tmp/release" \
    "$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --quiet >"$tmp/out.txt" 2>&1 &
pid=$!
wait_for_line "$tmp/out.txt" '^grokkit: test hook holding at metric_row 3$' "$pid"
refused "$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --resume --quiet
refused "$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --force --quiet
cat >"$tmp/analysis.toml" <<'TOML'
[[analysis]]
plugin = "fourier_probe"
name = "late"
at = "checkpoints"
TOML
refused "$grokkit" analyze "$tmp/r.h5" --pipeline "$tmp/analysis.toml"
touch "$tmp/release"
wait "$pid"
pid=
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/whole.h5" --quiet >/dev/null
/usr/bin/python3 "$here/compare_runs.py" "$tmp/whole.h5" "$tmp/r.h5"

# 2. A writer killed with SIGKILL (held inside its second checkpoint) holds no lock: --resume
#    continues it to the same file.
GROKKIT_TEST_HOLD=checkpoint_data:2 "$grokkit" run "$here/small.toml" "${sets[@]}" \
    --out "$tmp/k.h5" --quiet >"$tmp/out2.txt" 2>&1 &
pid=$!
wait_for_line "$tmp/out2.txt" '^grokkit: test hook holding at checkpoint_data 2$' "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/k.h5" --resume --quiet >/dev/null
/usr/bin/python3 "$here/compare_runs.py" "$tmp/whole.h5" "$tmp/k.h5"
echo "second writers refused; the live run and the killed one both ended whole"
