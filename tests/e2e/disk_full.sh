#!/usr/bin/env bash
# The disk filling up mid-run, simulated with a file size limit (`ulimit -f`, SIGXFSZ ignored,
# so writes fail with EFBIG as on a full disk): the run stops with a clear error and exit 1 (no
# crash), what was committed before stays readable, and --resume, once there is room, repairs
# the file (it was cut short of the space HDF5 had allocated) and ends with the same file as an
# uninterrupted run.
# usage: disk_full.sh GROKKIT_BINARY
set -euo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sets=(--set train.steps=600 --set run.threads=1)
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/whole.h5" --quiet >/dev/null
# A limit of a third of the whole file: reached after the first checkpoints, before the end.
limit_kib=$(($(stat -c %s "$tmp/whole.h5") / 3 / 1024))
rc=0
(trap '' XFSZ; ulimit -f "$limit_kib"
 exec "$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --quiet) \
    >"$tmp/out.txt" 2>&1 || rc=$?
if [[ $rc -ne 1 ]] || ! grep -q "cannot write the run file: File too large" "$tmp/out.txt"; then
    echo "FAIL: expected exit 1 and a clear error at the size limit, got rc $rc:" >&2
    cat "$tmp/out.txt" >&2
    exit 1
fi
/usr/bin/python3 - "$tmp/r.h5" "$tmp/whole.h5" <<'PY'
import shutil, struct, sys
import h5py, numpy as np
cut, whole = sys.argv[1], sys.argv[2]
# The file is shorter than the end HDF5 recorded in its superblock; a copy extended with zeros
# to that end opens, and its committed checkpoints are the uninterrupted run's.
head = open(cut, "rb").read(36)
recorded = struct.unpack("<Q", head[28:36])[0]
copy = cut + ".copy"
shutil.copy(cut, copy)
with open(copy, "r+b") as f:
    f.truncate(max(recorded, f.seek(0, 2)))
with h5py.File(copy, "r", swmr=True) as a, h5py.File(whole, "r") as b:
    steps = a["checkpoints/step"][:]
    n = len(steps)
    assert n >= 1 and list(steps) == list(b["checkpoints/step"][:n]), (steps, n)
    for name in a["checkpoints/params"]:
        assert np.array_equal(a["checkpoints/params"][name][:n], b["checkpoints/params"][name][:n]), name
print(f"cut short at {n} committed checkpoint(s) (steps {list(steps)}), all intact")
PY
"$grokkit" run "$here/small.toml" "${sets[@]}" --out "$tmp/r.h5" --resume --quiet >/dev/null
/usr/bin/python3 "$here/compare_runs.py" "$tmp/whole.h5" "$tmp/r.h5"
