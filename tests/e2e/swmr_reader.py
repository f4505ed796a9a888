#!/usr/bin/env python3
"""Reads a run file with h5py (SWMR) while grokkit is still writing it and requires the reader
to see the metrics grow; then ends the run with SIGINT and checks the closed file.
usage: swmr_reader.py GROKKIT_BINARY PIPELINE"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py


STEPS = 1_000_000  # far more than the reader needs: the test ends the run itself


def main(grokkit, pipeline):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "live.h5")
        proc = subprocess.Popen([grokkit, "run", pipeline, "--out", out, "--quiet",
                                 "--set", f"train.steps={STEPS}"],
                                stdout=subprocess.DEVNULL)
        # Deadlines bound a hang only; the test waits on the file's growth, not on the clock.
        f = None
        deadline = time.time() + 300
        while f is None and time.time() < deadline and proc.poll() is None:
            try:
                f = h5py.File(out, "r", libver="latest", swmr=True)
            except (OSError, FileNotFoundError):
                time.sleep(0.01)  # not created yet, or SWMR writing not started yet
        if f is None:
            print("FAIL: could not open the file while the run was writing")
            proc.kill()
            return 1
        seen = []
        step = f["metrics/step"]
        acc = f["metrics/test_accuracy"]
        while proc.poll() is None and len(seen) < 5 and time.time() < deadline:
            step.refresh()
            acc.refresh()
            n = step.shape[0]
            if n and (not seen or n != seen[-1]):
                seen.append(n)
                last = int(step[n - 1])
                assert last == (n - 1) * 10, f"row {n - 1} has step {last}"
                assert acc.shape[0] >= n, (acc.shape, n)  # data before the step row
            time.sleep(0.01)
        f.close()
        proc.send_signal(signal.SIGINT)  # ends the run with a checkpoint
        rc = proc.wait()
        if rc != 130:
            print(f"FAIL: grokkit exited with {rc}; expected 130 after SIGINT")
            return 1
        print(f"reader saw the metrics at {len(seen)} different lengths while the run wrote: "
              f"{seen}")
        if len(seen) < 5:
            print("FAIL: expected to see the metrics grow at least 5 times")
            return 1
        with h5py.File(out, "r") as done:
            n = done["metrics/step"].shape[0]
            assert n >= seen[-1], (n, seen)
            assert list(done["metrics/step"][:]) == [10 * i for i in range(n)]
            assert done["run/status"][()].rstrip(b"\0") == b"interrupted", done["run/status"][()]
            assert 10 * (n - 1) <= done["checkpoints/step"][-1] < STEPS
        print("PASS")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
