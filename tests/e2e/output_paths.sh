#!/usr/bin/env bash
# Output names cannot escape the output directory (docs/security.md): run.name with "..", an
# absolute path or a "/" is refused before anything is written; a symlink where the run file or
# its temporary file would go is replaced, never written through.
# usage: output_paths.sh GROKKIT_BINARY SMALL_PIPELINE
set -uo pipefail
grokkit="$1"
pipeline="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkdir -p work/runs
echo precious >outside.txt
fail=0
check() { # description, condition...
    local what="$1"; shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
run() { (cd work && "$grokkit" run "$pipeline" --set train.steps=20 --quiet "$@" >/dev/null 2>"$tmp/err"); }

for name in '"../../escaped"' '"/tmp/grokkit-escaped"' '"sub/dir"' '".."'; do
    run --set "run.name=$name"
    rc=$?
    check "run.name=$name exits 2 naming run.name" test "$rc" -eq 2
    check "run.name=$name: the error names the key" grep -q "run.name" "$tmp/err"
done
check "nothing was written outside runs/" test ! -e escaped -a ! -e /tmp/grokkit-escaped.h5 -a ! -e work/sub

ln -s ../../outside.txt work/runs/linked.h5
run --set 'run.name="linked"'
check "a symlink at the run file's place is refused without --force" test $? -eq 2
run --set 'run.name="linked"' --force
check "--force replaces the symlink" test $? -eq 0 -a ! -L work/runs/linked.h5 -a -f work/runs/linked.h5
ln -s ../../outside.txt work/runs/temp.h5.creating
run --set 'run.name="temp"'
check "a symlink at the temporary file's place is not written through" test $? -eq 0 -a -f work/runs/temp.h5
check "the symlinks' target is untouched" test "$(cat outside.txt)" = precious
exit $fail
