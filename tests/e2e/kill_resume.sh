#!/usr/bin/env bash
# SIGKILL a run at random moments, resume it each time, and require the final file to have the
# same contents as an uninterrupted run (compare_runs.py).
# usage: kill_resume.sh GROKKIT_BINARY
set -euo pipefail
grokkit="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pipeline="$here/small.toml"
# Slow enough to be killed several times: more steps, checkpoints every 50.
sets=(--set train.steps=4000)

start=$(date +%s.%N)
"$grokkit" run "$pipeline" "${sets[@]}" --out "$tmp/reference.h5" --quiet >/dev/null
end=$(date +%s.%N)
# Kill after fixed fractions of the uninterrupted run time, so kills land mid-run on any machine.
delays=$(/usr/bin/python3 -c "
t = $end - $start
print(' '.join(f'{t * f:.3f}' for f in (0.1, 0.05, 0.08, 0.03, 0.07, 0.12, 0.06, 0.09, 0.04, 0.1)))")
elapsed=$(/usr/bin/python3 -c "print(f'{$end - $start:.2f}')")
echo "uninterrupted run: $elapsed s; kill delays: $(echo $delays)"

kills=0
"$grokkit" run "$pipeline" "${sets[@]}" --out "$tmp/killed.h5" --quiet >/dev/null &
pid=$!
for delay in $delays; do
    sleep "$delay"
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" && kills=$((kills + 1))
        wait "$pid" 2>/dev/null || true
    else
        wait "$pid" 2>/dev/null || true
    fi
    if [[ ! -f "$tmp/killed.h5" ]]; then
        # Killed before the file existed: start again from scratch.
        "$grokkit" run "$pipeline" "${sets[@]}" --out "$tmp/killed.h5" --quiet >/dev/null &
    else
        "$grokkit" run "$pipeline" "${sets[@]}" --out "$tmp/killed.h5" --resume --quiet >/dev/null &
    fi
    pid=$!
done
wait "$pid"
echo "killed the run $kills times"
if ((kills < 2)); then
    echo "FAIL: expected at least 2 kills; the run finished too fast to test resuming" >&2
    exit 1
fi
/usr/bin/python3 "$here/compare_runs.py" "$tmp/reference.h5" "$tmp/killed.h5"
resumes=$(/usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['resume_count'])" "$tmp/killed.h5")
echo "resume_count $resumes"
