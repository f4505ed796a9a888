#!/usr/bin/env bash
# Install grokkit into a temporary prefix, build examples/plugin-template against that prefix
# only (as a researcher would), and run its pipeline with the installed binary.
# usage: out_of_tree.sh SOURCE_DIR BUILD_DIR   (BUILD_DIR: an already built grokkit build tree)
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2
    exit 2
fi
src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
tmp="$(realpath "$(mktemp -d)")"
trap 'rm -rf "$tmp"' EXIT

prefix="$tmp/prefix"
plugin_src="$tmp/my-plugin" # a copy, so nothing can reach back into the source tree
plugin_build="$plugin_src/build"
grokkit="$prefix/bin/grokkit"
# Nothing from the build tree may leak in through the environment.
unset LD_LIBRARY_PATH GROKKIT_PLUGIN_PATH

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Runs a command quietly; on failure shows its output and why it mattered.
step() {
    local what="$1"
    shift
    if ! "$@" >"$tmp/step.log" 2>&1; then
        cat "$tmp/step.log" >&2
        fail "$what (command: $*)"
    fi
}

echo "== install $build into $prefix"
step "cmake --install of the build tree" cmake --install "$build" --prefix "$prefix"
[[ -x "$grokkit" ]] || fail "the install has no $grokkit"
[[ -f "$prefix/lib/cmake/grokkit/grokkit-config.cmake" ]] ||
    fail "the install has no lib/cmake/grokkit/grokkit-config.cmake"

# The installed binary must find the installed libgrokkit_core.so through its RPATH.
core_lib="$(ldd "$grokkit" | awk '$1 ~ /^libgrokkit_core\.so/ { print $3 }')"
[[ -n "$core_lib" && "$(realpath -m "$core_lib")" == "$prefix/lib/"* ]] ||
    fail "installed grokkit resolves libgrokkit_core.so to '${core_lib:-nothing}', not $prefix/lib (RPATH \$ORIGIN/../lib?)"

echo "== build the plugin template against $prefix"
cp -r "$src/examples/plugin-template" "$plugin_src"
rm -rf "$plugin_build"
# The compiler that built grokkit: plugins from another compiler are refused (ABI fingerprint).
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
step "configuring the plugin template against the installed package" \
    cmake -S "$plugin_src" -B "$plugin_build" -DCMAKE_PREFIX_PATH="$prefix" \
    ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
found="$(sed -n 's/^grokkit_DIR:PATH=//p' "$plugin_build/CMakeCache.txt")"
[[ "$found" == "$prefix/lib/cmake/grokkit" ]] ||
    fail "find_package(grokkit) found '$found', not the installed package in $prefix/lib/cmake/grokkit"
step "building the plugin template" cmake --build "$plugin_build"
for name in my_modsum my_bag my_margin; do
    [[ -f "$plugin_build/libgrokkit_$name.so" ]] ||
        fail "the template build produced no $plugin_build/libgrokkit_$name.so"
done

echo "== grokkit plugins"
GROKKIT_PLUGIN_PATH="$plugin_build" "$grokkit" plugins >"$tmp/plugins.out" 2>"$tmp/plugins.err" ||
    { cat "$tmp/plugins.out" "$tmp/plugins.err" >&2; fail "grokkit plugins exited non-zero"; }
cat "$tmp/plugins.out"
if [[ -s "$tmp/plugins.err" ]]; then
    cat "$tmp/plugins.err" >&2
    fail "grokkit plugins printed warnings or refusals (above)"
fi
for name in my_modsum my_bag my_margin; do
    grep -Eq "^  $name " "$tmp/plugins.out" ||
        fail "$name is not listed by the installed grokkit with GROKKIT_PLUGIN_PATH=$plugin_build"
done
grep -Eq '^  mlp ' "$tmp/plugins.out" ||
    fail "the built-in mlp plugin is not listed: the installed grokkit does not find $prefix/lib/grokkit/plugins"

for pipeline in example.toml example-bag.toml; do
    echo "== grokkit run $pipeline"
    (cd "$plugin_src" && GROKKIT_PLUGIN_PATH="$plugin_build" "$grokkit" run "$pipeline" \
        --set train.steps=50 --out "$tmp/$pipeline.h5" --force --quiet) ||
        fail "grokkit run of the template's $pipeline exited non-zero"

    /usr/bin/python3 - "$tmp/$pipeline.h5" <<'EOF' || fail "the run file of $pipeline is incomplete (see above)"
import sys
import h5py

with h5py.File(sys.argv[1], "r") as f:
    acc = f["/metrics/test_accuracy"][:]
    steps = f["/metrics/step"][:]
    assert len(acc) > 0 and len(acc) == len(steps), f"{len(acc)} accuracies for {len(steps)} steps"
    assert steps[-1] == 50, f"last step {steps[-1]}, expected 50"
    assert ((acc >= 0) & (acc <= 1)).all(), f"test_accuracy outside [0, 1]: {acc}"
    ds = f["/dataset"]
    assert ds.attrs["plugin"] in ("my_modsum", b"my_modsum"), ds.attrs["plugin"]
    n = len(ds["train_index"]) + len(ds["test_index"])
    assert n == 23 * 23, f"train_index + test_index hold {n} pairs, expected 23^2"
    g = f["/analyses/my_margin"]
    rows = len(g["step"])
    assert rows == len(f["/checkpoints/step"]), rows
    assert g["hardest"].shape == (rows, 5) and g["hardest"].dtype.kind == "i"
    assert (g["hardest_margin"][:, :-1] <= g["hardest_margin"][:, 1:]).all()  # smallest first
    o = g["summary/offsets"][rows - 1]
    summary = bytes(g["summary/values"][o[0]:o[1]]).decode()
    assert summary.startswith("step 50: mean margin"), summary
    print(f"run file ok: {len(acc)} metric rows, final test_accuracy {acc[-1]:.3f}; {summary}")
EOF
done
echo "PASS: out-of-tree dataset, model and analysis built against the installed grokkit and ran"
