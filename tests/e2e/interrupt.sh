#!/usr/bin/env bash
# SIGINT makes a run write a checkpoint, record status "interrupted" and exit 130; the file
# is then readable by plain h5py, and --resume finishes it.
# usage: interrupt.sh GROKKIT_BINARY
set -euo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sets=(--set train.steps=3000 --set train.checkpoint_every=1000)
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --quiet >/dev/null &
pid=$!
sleep 1.5
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
if [[ $rc -ne 130 ]]; then echo "FAIL: expected exit 130 after SIGINT, got $rc" >&2; exit 1; fi
/usr/bin/python3 - "$tmp/r.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")  # plain open: the file was closed cleanly
status = f["run/status"][()].rstrip(b"\0").decode()
steps = list(f["checkpoints/step"][:])
assert status == "interrupted", status
assert steps[-1] % 1000 != 0 or len(steps) >= 2, steps
print("interrupted with checkpoints at", steps)
PY
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --resume --quiet | grep -q "resumed from checkpoint"
/usr/bin/python3 -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
assert f['run/status'][()].rstrip(b'\0') == b'complete'
assert f['checkpoints/step'][-1] == 3000
print('resumed to completion')" "$tmp/r.h5"
