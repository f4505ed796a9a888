#!/usr/bin/env bash
# Invalid input found while the pipeline is prepared (an analysis that rejects its parameters
# against the model, a model that rejects the dataset) exits 2 under `run` and `analyze`,
# creates or changes no file, and names file:line:column, the key and the alternatives.
# usage: invalid_input.sh GROKKIT_BINARY
set -uo pipefail
grokkit="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
cat >probe.toml <<'TOML'
[run]
name = "probe"

[dataset]
plugin = "modular_arithmetic"
modulus = 23

[model]
plugin = "mlp"
d_embed = 8
hidden = [16]

[train]
steps = 20
checkpoint_every = 10

[[analysis]]
plugin = "fourier_probe"
at = "checkpoints"
neurons = "no_such_layer"
TOML
probe_error='error: probe.toml:20:11: analysis.0.neurons: the model has no representation "no_such_layer"; expected auto, none or one of the model'"'"'s representations: embed, hidden0.pre, hidden0, logits'

expect() { # name, expected exit code, expected stderr line, command...
    local name="$1" code="$2" line="$3"; shift 3
    "$@" >out.txt 2>err.txt; local rc=$?
    if [[ $rc -ne $code ]] || ! grep -qxF "$line" err.txt; then
        echo "FAIL: $name: exit $rc (expected $code); stderr:"; cat err.txt
        echo "expected the line: $line"; fail=1
    else
        echo "ok: $name: exit $rc"
    fi
}

expect "run, bad analysis parameter" 2 "$probe_error" "$grokkit" run probe.toml --out r.h5
[[ ! -e r.h5 && ! -e r.h5.creating ]] || { echo "FAIL: run left r.h5 behind"; fail=1; }
expect "check, bad analysis parameter" 2 "$probe_error" "$grokkit" check probe.toml

# analyze: a finished run without the analysis, then the bad pipeline on it.
sed '/^\[\[analysis\]\]/,$d' probe.toml >plain.toml
"$grokkit" run plain.toml --out done.h5 --quiet >/dev/null || { echo "FAIL: plain run"; exit 1; }
before=$(md5sum <done.h5)
expect "analyze, bad analysis parameter" 2 "$probe_error" "$grokkit" analyze done.h5 probe.toml
[[ "$(md5sum <done.h5)" == "$before" ]] || { echo "FAIL: analyze changed done.h5"; fail=1; }

# --resume with another pipeline is refused (exit 2) and leaves the file as it was.
cp done.h5 resumed.h5
before=$(md5sum <resumed.h5)
"$grokkit" run plain.toml --set train.steps=30 --out resumed.h5 --resume >/dev/null 2>err.txt; rc=$?
if [[ $rc -ne 2 || "$(md5sum <resumed.h5)" != "$before" ]] || ls resumed.h5.* >/dev/null 2>&1 ||
    ! grep -q "the pipeline differs from the one recorded" err.txt; then
    echo "FAIL: a refused resume exited $rc or changed the file or left a copy"; cat err.txt; fail=1
else
    echo "ok: refused resume: exit 2, file unchanged"
fi

# A model that cannot take the dataset's inputs: located at the model's plugin key.
printf '[dataset]\nplugin = "sparse_parity"\n\n[model]\nplugin = "transformer"\n' >spec.toml
expect "run, model rejects the dataset" 2 \
    'error: spec.toml:5:10: model: transformer.build: input is features (30 wide), 2 classes; expected tokens (at least 1 position, any vocabulary), at least 1 class' \
    "$grokkit" run spec.toml --out t.h5
[[ ! -e t.h5 ]] || { echo "FAIL: run left t.h5 behind"; fail=1; }

# A run-time failure is not invalid input: an output path that cannot be created exits 1.
expect "run, output path under a file" 1 \
    'error: plain.toml/r.h5: cannot create the directory plain.toml: Not a directory' \
    "$grokkit" run plain.toml --out plain.toml/r.h5
exit $fail
