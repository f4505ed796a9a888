#!/usr/bin/env python3
"""SIGKILLs a run at 10 events drawn from a seeded list, resuming it after each, and requires
the final file to equal an uninterrupted run (compare_runs.py) and every kill to lose nothing
already committed.

Each kill lands exactly at its event: the test hook (GROKKIT_TEST_HOLD=EVENT:N, see
core/src/store/test_hook.hpp) holds the run at the N-th such event of the process and prints a
line; the test kills on that line. The events: a metrics row just committed, a checkpoint's
parameters and optimizer state written but its step not yet committed (inside the checkpoint),
and a checkpoint just committed. No timing is involved, so it passes on any machine, pinned
to one core included.
usage: kill_at_events.py GROKKIT_BINARY PIPELINE"""
import os
import random
import signal
import subprocess
import sys
import tempfile

import h5py

STEPS = 600  # small.toml: metrics every 10 steps, a checkpoint every 50
EVENTS = [("metric_row", 12), ("checkpoint_data", 3), ("checkpoint", 3)]  # kind, largest N


def seeded_events(seed=31):
    """Four kills at metric rows, three inside checkpoints and three after them, each at a
    seeded occurrence, in a seeded order."""
    rng = random.Random(seed)
    out = [(kind, rng.randint(1, largest))
           for (kind, largest), count in zip(EVENTS, (4, 3, 3)) for _ in range(count)]
    rng.shuffle(out)
    return out


def committed(path):
    """The checkpoint steps and the metric steps up to the last checkpoint (what a resume keeps)."""
    if not os.path.exists(path):
        return [], []
    with h5py.File(path, "r", swmr=True) as f:
        checkpoints = [int(s) for s in f["checkpoints/step"][:]]
        last = checkpoints[-1] if checkpoints else -1
        metrics = [int(s) for s in f["metrics/step"][:] if s <= last]
    return checkpoints, metrics


def run_held(grokkit, pipeline, out, event):
    """Runs (resuming if the file exists) held at `event`, then SIGKILLs it there."""
    kind, n = event
    cmd = [grokkit, "run", pipeline, "--set", f"train.steps={STEPS}", "--out", out, "--quiet"]
    if os.path.exists(out):
        cmd.append("--resume")
    env = dict(os.environ, GROKKIT_TEST_HOLD=f"{kind}:{n}")
    env.pop("GROKKIT_TEST_RELEASE", None)  # held until killed
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    expected = f"grokkit: test hook holding at {kind} {n}".encode()
    for line in proc.stderr:
        if line.rstrip() == expected:
            proc.send_signal(signal.SIGKILL)
            break
    rest = proc.stderr.read().decode()
    rc = proc.wait()
    if rc != -signal.SIGKILL:
        sys.exit(f"FAIL: the run ended with {rc} before {kind} {n}: {rest}")


def main(grokkit, pipeline):
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        reference, killed = os.path.join(tmp, "reference.h5"), os.path.join(tmp, "killed.h5")
        subprocess.run([grokkit, "run", pipeline, "--set", f"train.steps={STEPS}", "--out",
                        reference, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        events = seeded_events()
        before = ([], [])
        for event in events:
            run_held(grokkit, pipeline, killed, event)
            after = committed(killed)
            # Nothing committed before the kill is lost: the earlier checkpoints and the metric
            # rows they cover are all still there, with the same steps.
            for old, new, what in zip(before, after, ("checkpoints", "metric rows")):
                assert new[:len(old)] == old, (event, what, old, new)
            before = after
        subprocess.run([grokkit, "run", pipeline, "--set", f"train.steps={STEPS}", "--out",
                        killed, "--resume", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        print("killed at", ", ".join(f"{k} {n}" for k, n in events))
        print("checkpoints committed before the last kill:", before[0])
        return subprocess.call([sys.executable, os.path.join(here, "compare_runs.py"),
                                reference, killed])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
