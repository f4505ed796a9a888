#!/usr/bin/env python3
"""Reads a run file with h5py (SWMR) while grokkit is still writing it and requires the reader
to see the metrics grow, then checks the finished file.
usage: swmr_reader.py GROKKIT_BINARY PIPELINE"""
import os
import subprocess
import sys
import tempfile
import time

import h5py


def main(grokkit, pipeline):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "live.h5")
        proc = subprocess.Popen([grokkit, "run", pipeline, "--out", out, "--quiet",
                                 "--set", "train.steps=1500"],
                                stdout=subprocess.DEVNULL)
        f = None
        deadline = time.time() + 60
        while f is None and time.time() < deadline and proc.poll() is None:
            try:
                f = h5py.File(out, "r", libver="latest", swmr=True)
            except (OSError, FileNotFoundError):
                time.sleep(0.05)  # not created yet, or SWMR writing not started yet
        if f is None:
            print("FAIL: could not open the file while the run was writing")
            proc.kill()
            return 1
        seen = []
        step = f["metrics/step"]
        acc = f["metrics/test_accuracy"]
        while proc.poll() is None:
            step.refresh()
            acc.refresh()
            n = step.shape[0]
            if n and (not seen or n != seen[-1]):
                seen.append(n)
                last = int(step[n - 1])
                assert last == (n - 1) * 10, f"row {n - 1} has step {last}"
            time.sleep(0.05)
        f.close()
        if proc.returncode != 0:
            print(f"FAIL: grokkit exited with {proc.returncode}")
            return 1
        growth = len(seen)
        print(f"reader saw the metrics at {growth} different lengths while the run wrote: {seen[:8]}...")
        if growth < 3:
            print("FAIL: expected to see the metrics grow at least 3 times")
            return 1
        with h5py.File(out, "r") as done:
            n = done["metrics/step"].shape[0]
            assert n == 151, n
            assert done["run/status"][()].rstrip(b"\0") == b"complete", done["run/status"][()]
            assert done["checkpoints/step"][-1] == 1500
        print("PASS")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
