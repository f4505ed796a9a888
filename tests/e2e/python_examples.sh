#!/usr/bin/env bash
# The examples/python plotting scripts run headless (Agg) on small runs and write non-blank
# PNGs (hull_tables.py prints its tables); plot_fourier.py on a run without the probe exits 2 with an error naming the file.
# usage: python_examples.sh GROKKIT_BINARY SOURCE_DIR
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
grokkit="$1"
src="$2"
py=/usr/bin/python3   # Debian's python3 with python3-h5py and python3-matplotlib
ex="$src/examples/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export MPLBACKEND=Agg

# Each PNG: the magic bytes, and at least 5% of its pixels differ from the most common colour.
check_pngs() {
    "$py" - "$@" <<'PY'
import sys
import matplotlib.image
import numpy as np
for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    img = matplotlib.image.imread(path)
    px = img.reshape(-1, img.shape[-1]) if img.ndim == 3 else img.reshape(-1, 1)
    colours, counts = np.unique(px, axis=0, return_counts=True)
    differ = 1 - counts.max() / len(px)
    assert differ >= 0.05, f"{path}: only {differ:.1%} of pixels differ from the background"
    print(f"ok: {path.rsplit('/', 1)[-1]} {img.shape[1]}x{img.shape[0]}, "
          f"{differ:.0%} non-background")
PY
}

# Modular arithmetic with the fourier_probe at every checkpoint; default output names.
"$grokkit" run "$src/analyses/fourier_probe/example.toml" --out "$tmp/p.h5" --quiet >/dev/null
out="$("$py" "$ex/plot_curves.py" "$tmp/p.h5")"
[ "$out" = "$tmp/p.curves.png" ] || { echo "FAIL: plot_curves.py printed '$out'"; exit 1; }
out="$("$py" "$ex/plot_fourier.py" "$tmp/p.h5" --analysis fourier_probe)"
[ "$out" = "$tmp/p.fourier.png" ] || { echo "FAIL: plot_fourier.py printed '$out'"; exit 1; }

# Sparse parity (Walsh mode, exact with 10 bits), with -o.
"$grokkit" run "$src/examples/pair-parity.toml" --out "$tmp/parity.h5" --quiet \
    --set dataset.n_bits=10 --set dataset.n_examples=1000 --set train.steps=200 \
    --set train.checkpoint_every=50 >/dev/null
"$py" "$ex/plot_curves.py" "$tmp/parity.h5" -o "$tmp/parity-curves.png" >/dev/null
"$py" "$ex/plot_fourier.py" "$tmp/parity.h5" -o "$tmp/parity-walsh.png" >/dev/null

# No probe in the run: exit 2, a message naming the file and the missing group, no PNG.
"$grokkit" run "$src/tests/e2e/small.toml" --out "$tmp/small.h5" --quiet \
    --set train.steps=20 >/dev/null
rc=0
"$py" "$ex/plot_fourier.py" "$tmp/small.h5" -o "$tmp/none.png" >"$tmp/stdout" 2>"$tmp/stderr" \
    || rc=$?
cat "$tmp/stderr"
[ "$rc" -eq 2 ] || { echo "FAIL: plot_fourier.py without the probe exited $rc, not 2"; exit 1; }
grep -q "error: $tmp/small.h5: .*analyses/fourier_probe" "$tmp/stderr" \
    || { echo "FAIL: the error does not name the file and the missing group"; exit 1; }
[ ! -e "$tmp/none.png" ] || { echo "FAIL: a PNG was written for a run without the probe"; exit 1; }
# The curves still plot for that run.
"$py" "$ex/plot_curves.py" "$tmp/small.h5" >/dev/null
# hull_tables.py: one table per hull_test entry, a row per checkpoint, values as in the file.
"$grokkit" run "$src/analyses/hull_test/example.toml" --out "$tmp/hull.h5" --quiet >/dev/null
"$py" "$ex/hull_tables.py" "$tmp/hull.h5" >"$tmp/hull.md"
"$py" - "$tmp/hull.h5" "$tmp/hull.md" <<'PY'
import sys
import h5py
f = h5py.File(sys.argv[1], "r")
text = open(sys.argv[2]).read()
for name in ("hull_input", "hull_hidden"):
    g = f["analyses"][name]
    assert f"{name}: {g['n_tested'][0]} test queries" in text, name
    for r in range(len(g["step"])):
        row = f"| {g['step'][r]:,} | "
        line = next(l for l in text.splitlines() if l.startswith(row) and
                    f"{g['inside_fraction'][r]:.3f}" in l)
        assert line.count("|") >= 5, line
print("ok: hull_tables.py")
PY
# grokking_distribution.py on a small sweep: the row of its one cell and a CSV line per point.
"$grokkit" sweep "$src/tests/e2e/small.toml" --seeds 0..1 --set train.steps=200 \
    --out "$tmp/sweep" -q >/dev/null
"$py" "$ex/grokking_distribution.py" "$tmp/sweep" --csv "$tmp/seeds.csv" >"$tmp/dist.txt"
grep -q "^| (one cell) | 2 | " "$tmp/dist.txt" || { cat "$tmp/dist.txt"; exit 1; }
test "$(grep -c ',done,' "$tmp/seeds.csv")" -eq 2 || { cat "$tmp/seeds.csv"; exit 1; }
echo "ok: grokking_distribution.py"
check_pngs "$tmp/p.curves.png" "$tmp/p.fourier.png" "$tmp/parity-curves.png" \
    "$tmp/parity-walsh.png" "$tmp/small.curves.png"
echo PASS
