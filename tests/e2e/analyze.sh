#!/usr/bin/env bash
# `grokkit analyze` on a finished run computes the same outputs, bit for bit, as the same
# analyses run during training; it refuses a mismatched pipeline and an existing analysis
# unless --force.
# usage: analyze.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
grokkit="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
with="$src/analyses/fourier_probe/example.toml"
# The same pipeline without its [[analysis]] block.
sed '/^\[\[analysis\]\]/,$d' "$with" >"$tmp/without.toml"
"$grokkit" run "$with" --out "$tmp/live.h5" --quiet >/dev/null
"$grokkit" run "$tmp/without.toml" --out "$tmp/post.h5" --quiet >/dev/null
"$grokkit" analyze "$tmp/post.h5" "$with"
/usr/bin/python3 - "$tmp/live.h5" "$tmp/post.h5" <<'PY'
import sys
import h5py
import numpy as np
live = h5py.File(sys.argv[1], "r")["analyses/fourier_probe"]
post = h5py.File(sys.argv[2], "r")["analyses/fourier_probe"]
assert sorted(live.keys()) == sorted(post.keys()), (list(live), list(post))
for k in live:
    a, b = live[k][()], post[k][()]
    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), k
    assert dict(live[k].attrs) == dict(post[k].attrs), k
print("post-hoc outputs identical to live ones:", len(live), "datasets")
PY
# A second time: refused without --force, replaced with it.
if "$grokkit" analyze "$tmp/post.h5" "$with" 2>"$tmp/err"; then echo "FAIL: re-analysis not refused"; exit 1; fi
grep -q "already in the run file" "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$grokkit" analyze "$tmp/post.h5" "$with" --force >/dev/null
# A pipeline whose dataset differs is refused.
if "$grokkit" analyze "$tmp/post.h5" "$with" --force --set dataset.modulus=29 2>"$tmp/err"; then
    echo "FAIL: mismatched dataset not refused"; exit 1
fi
grep -qF "error: --set dataset.modulus=29: dataset.modulus: is 29 here but 23 in $tmp/post.h5; expected the recorded value" "$tmp/err" || { cat "$tmp/err"; exit 1; }
# So is one whose loss differs: analyses receive the trained loss (ctx.loss()).
if "$grokkit" analyze "$tmp/post.h5" "$with" --force --set train.class_mean=true 2>"$tmp/err"; then
    echo "FAIL: mismatched loss not refused"; exit 1
fi
grep -qF "train.class_mean: is true here but false in $tmp/post.h5" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo PASS
