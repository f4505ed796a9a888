#!/usr/bin/env bash
# Regression end to end: gaussian_regression stores float32 targets and no labels, trains with
# mse (accuracies NaN, the loss falls), refuses cross_entropy before a file is made; the
# double_descent example follows the theory's risk with its peak near p / n = 1, and the report
# has its section.
# usage: regression.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
grokkit="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. The example trains an MLP on real-valued targets with mse.
"$grokkit" run "$src/datasets/gaussian_regression/example.toml" --out "$tmp/r.h5" --quiet >/dev/null
/usr/bin/python3 - "$tmp/r.h5" <<'PY'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
d = f["dataset"]
t = d["train/targets"]
assert t.dtype == np.float32 and t.shape == (500, 1), (t.dtype, t.shape)
assert "labels" not in d["train"], list(d["train"].keys())
assert d.attrs["n_targets"] == 1 and d.attrs["n_classes"] == 0, dict(d.attrs)
m = f["metrics"]
for key in ("train_accuracy", "test_accuracy"):
    assert np.isnan(m[key][:]).all(), (key, m[key][:])
loss = m["train_loss"][:]
assert loss[-1] < loss[0], loss
print("ok: regression targets float32 (500, 1), no labels, accuracies NaN, train_loss", loss[0], "->", loss[-1])
PY

# 2. The default loss on real-valued targets is invalid input: exit 2, no file.
rc=0
"$grokkit" run "$src/datasets/gaussian_regression/example.toml" --set train.loss='"cross_entropy"' \
    --out "$tmp/bad.h5" >/dev/null 2>"$tmp/err" || rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "loss" "$tmp/err" || ! grep -q "mse" "$tmp/err"; then
    echo "FAIL: cross_entropy on gaussian_regression exited $rc (expected 2); stderr:"; cat "$tmp/err"
    exit 1
fi
[[ ! -e "$tmp/bad.h5" && ! -e "$tmp/bad.h5.creating" ]] || { echo "FAIL: the refused run left bad.h5 behind"; exit 1; }
echo "ok: cross_entropy refused: exit 2: $(head -n 1 "$tmp/err")"

# 3. The double_descent example: the mean test risk follows the theory and peaks near gamma = 1.
"$grokkit" run "$src/analyses/double_descent/example.toml" --out "$tmp/dd.h5" --quiet >/dev/null
/usr/bin/python3 - "$tmp/dd.h5" <<'PY'
import sys
import h5py
import numpy as np
g = h5py.File(sys.argv[1], "r")["analyses/double_descent"]
theory, mean = g["theory_risk"][:], g["mean_test_risk"][:]
assert theory.shape == (1, 8, 2) and mean.shape == (1, 8, 2), (theory.shape, mean.shape)
# 5 draws at n = 100: loose on purpose.
ratio = mean[0] / theory[0]
assert np.isfinite(ratio).all() and ((ratio >= 0.5) & (ratio <= 2.0)).all(), ratio
# Ridge 0: gamma = 0.9 (index 3) beside the peak, above gamma = 4.0 (index 7).
assert mean[0, 3, 0] > mean[0, 7, 0], mean[0, :, 0]
print("ok: double_descent mean / theory in", np.round(ratio.min(), 3), "..", np.round(ratio.max(), 3),
      "; ridgeless risk at gamma 0.9:", mean[0, 3, 0], "at 4.0:", mean[0, 7, 0])
PY

# 4. The report (written beside the run as dd.report.html) has the double_descent section.
"$grokkit" report "$tmp/dd.h5" >/dev/null
html="$tmp/dd.report.html"
[[ -s "$html" ]] || { echo "FAIL: grokkit report wrote no $html"; exit 1; }
for want in "Double descent" "Test risk against p / n"; do
    grep -qF "$want" "$html" || { echo "FAIL: the report lacks \"$want\""; exit 1; }
done
echo "ok: the report has the Double descent section"
