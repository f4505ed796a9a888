#!/usr/bin/env bash
# scripts/run-summary reads run files and reports the first step at each accuracy threshold,
# agreeing with the metrics h5py reads directly.
# usage: run_summary.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
grokkit="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$grokkit" run "$src/tests/e2e/small.toml" --out "$tmp/a.h5" --quiet >/dev/null
"$grokkit" run "$src/tests/e2e/small.toml" --out "$tmp/b.h5" --quiet --set run.seed=2 \
    --set train.steps=20 >/dev/null
/usr/bin/python3 "$src/scripts/run-summary" --threshold 0.5 --label dataset.modulus \
    "$tmp/a.h5" "$tmp/b.h5" >"$tmp/table.md"
cat "$tmp/table.md"
/usr/bin/python3 - "$tmp" <<'PY'
import sys, h5py, numpy as np
tmp = sys.argv[1]
rows = [l.strip().strip("|").split("|") for l in open(f"{tmp}/table.md")][2:]
rows = [[c.strip() for c in r] for r in rows]
assert len(rows) == 2, rows
for row, name, seed in zip(rows, ["a", "b"], ["1", "2"]):
    with h5py.File(f"{tmp}/{name}.h5", "r") as f:
        step = f["metrics/step"][:]
        for col, key in [(3, "train_accuracy"), (4, "test_accuracy")]:
            hit = np.nonzero(f["metrics/" + key][:] >= 0.5)[0]
            want = f"{int(step[hit[0]]):,}" if hit.size else "—"
            assert row[col] == want, (name, key, row[col], want)
        assert row[5] == f"{f['metrics/test_accuracy'][-1]:.3f}", row
        assert row[8] == str(f.attrs["threads"]) and row[9] == f.attrs["blas_kernel"], row
    assert row[1] == seed and row[2] == "31", row
# The 600-step run fits its training set past 0.5; the 20-step run does not.
assert rows[0][3] != "—" and rows[1][3] == "—", rows
print("ok: run-summary matches the metrics")
PY
