#!/usr/bin/env python3
"""Convex-hull membership per query: grokkit's LP (hull_test, COIN-OR Clp, column generation)
against SciPy's linprog(method="highs") on the feasibility LP reproductions use, on the same
Gaussian points, in one command. Prints ms per query for both and the ratio; the verdicts of
the queries both solved must agree.

SciPy is timed on the first --scipy-queries queries of each cell, grokkit on all --queries,
one thread each; the ratio compares mean times per query. --full also times hull_test's
one-LP-over-every-point method on the first --full queries (the choice by measurement).

usage: bench/hull_vs_scipy.py [--build DIR] [--cells 16x1000,64x1000,64x10000,256x10000]
                              [--queries 1000] [--scipy-queries 20] [--full 0] [--seed 7]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.optimize import linprog


def scipy_inside(x, q):
    n, d = x.shape
    a_eq = np.vstack([x.T, np.ones((1, n))])
    b_eq = np.concatenate([q, [1.0]])
    r = linprog(np.zeros(n), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    # 0 feasible (inside), 2 infeasible (outside); anything else (4: HiGHS gave up on the
    # numerics) is no answer, counted and left out of the comparison.
    return {0: True, 2: False}.get(r.status)


def grokkit_answers(binary, path, method):
    out = subprocess.run([binary, path, "--method", method], check=True, capture_output=True,
                         text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def write_cell(path, x, q):
    with open(path, "wb") as f:
        np.array([x.shape[0], q.shape[0], x.shape[1]], dtype=np.int64).tofile(f)
        x.astype(np.float64).tofile(f)
        q.astype(np.float64).tofile(f)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--build", default=os.path.join(here, "..", "build"))
    p.add_argument("--cells", default="16x1000,64x1000,64x10000,256x10000")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--scipy-queries", type=int, default=20)
    p.add_argument("--full", type=int, default=0)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    binary = os.path.join(args.build, "bin", "grokkit-hull-lp")
    if not os.path.exists(binary):
        sys.exit(f"hull_vs_scipy: {binary} is missing; build the project first")
    print(f"{'d':>5} {'N':>7} {'inside':>7} {'grokkit ms/q':>13} {'scipy ms/q':>11} "
          f"{'ratio':>7} {'full ms/q':>10} {'rounds':>7} {'points':>7} {'scipy no answer':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for cell in args.cells.split(","):
            d, n = (int(v) for v in cell.split("x"))
            rng = np.random.default_rng(args.seed + 1000 * d + n)
            x = rng.standard_normal((n, d))
            q = rng.standard_normal((args.queries, d))
            path = os.path.join(tmp, f"{cell}.bin")
            write_cell(path, x, q)
            ours = grokkit_answers(binary, path, "generation")
            assert not any(a["verdict"] == "failed" for a in ours), "a failed answer"
            ours_ms = 1000 * np.mean([a["seconds"] for a in ours])
            k = min(args.scipy_queries, args.queries)
            t0 = time.perf_counter()
            theirs = [scipy_inside(x, q[i]) for i in range(k)]
            scipy_ms = 1000 * (time.perf_counter() - t0) / k
            for i in range(k):
                if theirs[i] is not None:
                    assert theirs[i] == (ours[i]["verdict"] == "inside"), f"query {i} disagrees"
            unanswered = sum(t is None for t in theirs)
            full_ms = float("nan")
            if args.full:
                write_cell(path, x, q[:args.full])
                full = grokkit_answers(binary, path, "full")
                assert [a["verdict"] for a in full] == [a["verdict"] for a in ours[:args.full]]
                full_ms = 1000 * np.mean([a["seconds"] for a in full])
            inside = sum(a["verdict"] == "inside" for a in ours) / len(ours)
            print(f"{d:>5} {n:>7} {inside:>7.3f} {ours_ms:>13.3f} {scipy_ms:>11.2f} "
                  f"{scipy_ms / ours_ms:>6.1f}x {full_ms:>10.1f} "
                  f"{np.mean([a['rounds'] for a in ours]):>7.1f} "
                  f"{np.mean([a['columns'] for a in ours]):>7.0f} {unanswered:>9}/{k}", flush=True)


if __name__ == "__main__":
    main()
