#!/usr/bin/env bash
# Corrupt, truncated and foreign files given to `inspect` and `run --resume` get a clear error
# (exit 1, a message naming the file), never a crash or a hang.
# usage: corrupt_files.sh GROKKIT_BINARY
set -uo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
expect_clean_error() { # name, command...
    local name="$1"; shift
    local out rc
    out="$("$@" 2>&1)"; rc=$?
    if [[ $rc -ne 1 ]] || ! grep -q "^error: .*$name" <<<"$out"; then
        echo "FAIL: $* -> exit $rc:"; echo "$out" | head -5; fail=1
    else
        echo "ok: $(basename "$name"): $(grep -m1 '^error:' <<<"$out")"
    fi
}

"$grokkit" run "$here/small.toml" --set train.steps=100 --out "$tmp/good.h5" --quiet >/dev/null || exit 1
size=$(stat -c %s "$tmp/good.h5")

head -c $((size / 2)) "$tmp/good.h5" >"$tmp/truncated.h5"
head -c 100 "$tmp/good.h5" >"$tmp/stub.h5"
head -c 4096 /dev/urandom >"$tmp/garbage.h5"
/usr/bin/python3 -c "import h5py; h5py.File('$tmp/foreign.h5','w')['x'] = [1, 2, 3]"
for f in truncated stub garbage foreign; do
    expect_clean_error "$tmp/$f.h5" "$grokkit" inspect "$tmp/$f.h5"
    cp "$tmp/$f.h5" "$tmp/resume-$f.h5"
    expect_clean_error "$tmp/resume-$f.h5" "$grokkit" run "$here/small.toml" --out "$tmp/resume-$f.h5" --resume
done

# Flipped bytes anywhere in the file: inspect must end (ok or a clean error) within its limit.
for seed in 1 2 3 4 5 6; do
    cp "$tmp/good.h5" "$tmp/flipped.h5"
    /usr/bin/python3 - "$tmp/flipped.h5" "$seed" <<'PY'
import random, sys
path, seed = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
rng = random.Random(seed)
for _ in range(20):
    i = rng.randrange(min(len(data), 8192))  # metadata lives near the start
    data[i] ^= 1 << rng.randrange(8)
open(path, "wb").write(bytes(data))
PY
    out="$(timeout 60 "$grokkit" inspect --timeout 10 "$tmp/flipped.h5" 2>&1)"; rc=$?
    if [[ $rc -ne 0 && $rc -ne 1 ]]; then
        echo "FAIL: flipped bytes (seed $seed): exit $rc"; echo "$out" | tail -3; fail=1
    else
        echo "ok: flipped bytes (seed $seed): exit $rc $(grep -m1 '^error:' <<<"$out")"
    fi
done
exit $fail
