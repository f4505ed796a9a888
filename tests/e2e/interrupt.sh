#!/usr/bin/env bash
# SIGINT makes a run write a checkpoint, record status "interrupted" and exit 130; the file
# is then readable by plain h5py, and --resume finishes it.
# The signal is sent once the run prints progress past step 0 (training has started), and the
# run is long by its step count, so the test does not depend on the machine's speed.
# usage: interrupt.sh GROKKIT_BINARY
set -euo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/wait_for_line.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sets=(--set train.steps=6000 --set train.checkpoint_every=1000)
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --progress-interval 0 >"$tmp/out.txt" &
pid=$!
wait_for_line "$tmp/out.txt" '^step +[1-9][0-9]*/' "$pid"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
if [[ $rc -ne 130 ]]; then
    echo "FAIL: expected exit 130 after SIGINT, got $rc; the run printed:" >&2
    tail -3 "$tmp/out.txt" >&2
    exit 1
fi
/usr/bin/python3 - "$tmp/r.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")  # plain open: the file was closed cleanly
status = f["run/status"][()].rstrip(b"\0").decode()
steps = list(f["checkpoints/step"][:])
assert status == "interrupted", status
# Step 0, then the checkpoint the signal wrote (unless it came exactly at a scheduled one).
assert steps[0] == 0 and 0 < steps[-1] < 6000, steps
print("interrupted with checkpoints at", steps)
PY
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --resume --quiet | grep -q "resumed from checkpoint"
/usr/bin/python3 -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
assert f['run/status'][()].rstrip(b'\0') == b'complete'
assert f['checkpoints/step'][-1] == 6000
print('resumed to completion')" "$tmp/r.h5"
# The signal's checkpoint was transient: the resumed file has the same checkpoints, analyses
# and metrics as a run never stopped.
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/whole.h5" --quiet >/dev/null
/usr/bin/python3 "$here/compare_runs.py" "$tmp/whole.h5" "$tmp/r.h5"
