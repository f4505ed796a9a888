#!/usr/bin/python3
"""The progress bar's cost: ms/step of bench/pair_mlp (1 BLAS thread, the steadier setting) with the bar drawn on a pseudo-terminal
against --quiet, side by side in one run, interleaved. Each ms/step is the difference of two
step counts (so start-up and the fixed evaluations cancel), median of --repeats.

usage: bench/progress_overhead.py [--grokkit build/bin/grokkit] [--repeats 5]
Target (issue 20): the bar within 1% of --quiet.
"""
# SPDX-License-Identifier: Apache-2.0
import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "bench", "pair_mlp", "grokkit.toml")
SHORT, LONG = 1000, 6000


def seconds(grokkit, steps, mode, out):
    cmd = [grokkit, "run", PIPELINE, "--out", out, "--force", "--set", f"train.steps={steps}",
           "--set", "train.eval_every=500", "--set", "run.threads=1"]  # 1 thread: steadier
    start = time.perf_counter()
    if mode == "quiet":
        subprocess.run(cmd + ["--quiet"], check=True, stdout=subprocess.DEVNULL)
    else:  # the bar: stdout on a pseudo-terminal, read as a terminal would
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdout=slave, stderr=slave)
        os.close(slave)
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)
        assert proc.wait() == 0
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grokkit", default=os.path.join(ROOT, "build", "bin", "grokkit"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    per_step = {"quiet": [], "bar": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.h5")
        for _ in range(args.repeats):
            for mode in ("quiet", "bar"):  # interleaved, so drifts of the machine hit both
                t = seconds(args.grokkit, LONG, mode, out) - seconds(args.grokkit, SHORT, mode, out)
                per_step[mode].append(1000 * t / (LONG - SHORT))
    q, b = (statistics.median(per_step[m]) for m in ("quiet", "bar"))
    print(f"pair_mlp ms/step, median of {args.repeats} ({LONG} - {SHORT} steps):")
    print(f"  --quiet  {q:.4f}   (runs: {', '.join(f'{x:.4f}' for x in per_step['quiet'])})")
    print(f"  bar      {b:.4f}   (runs: {', '.join(f'{x:.4f}' for x in per_step['bar'])})")
    print(f"  bar / quiet = {b / q:.4f}  (target <= 1.01: {'met' if b / q <= 1.01 else 'NOT met'};"
          " the runs' own spread is wider than 1%)")
    # The direct measure: what one step's report costs, against the step it follows.
    tick = os.path.join(os.path.dirname(args.grokkit), "grokkit-progress-tick")
    line = subprocess.run([tick], check=True, capture_output=True, text=True).stdout.strip()
    ns = float(line.split()[0])
    print(f"  {line}: {ns / (1e6 * q) * 100:.4f}% of a --quiet step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
