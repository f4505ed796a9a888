#!/usr/bin/python3
"""GEMM efficiency inside a training step: grokkit's matrix products timed where they run (a
`grokkit run` of each bench case with GROKKIT_GEMM_PROFILE set) against the same sgemm calls
made alone (build/bin/grokkit-sgemm-alone, same OpenBLAS, same thread count), back to back with
the operands in cache ("warm") and after evicting the caches ("cold", as in a step where other
work ran in between).

Per case, the products that take most of a step's GEMM time, each with its calls, GFLOP/s in
the step and alone, and their ratio; then the step's whole GEMM time against the sum of the
same calls made alone. The issue's target is >= 90% on the largest products.

usage: bench/gemm_profile.py [--cases pair_mlp,mlp_p113,nanda_transformer] [--steps N]
"""
import argparse
import os
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
# Long enough that the first step (buffers allocated and first touched) weighs little.
STEPS = {"pair_mlp": 2000, "mlp_p113": 300, "nanda_transformer": 150}
THREADS = 2  # [run] threads in every bench grokkit.toml


def profile(grokkit, case, steps, tmp):
    tsv = os.path.join(tmp, f"{case}.tsv")
    env = dict(os.environ, GROKKIT_GEMM_PROFILE=tsv)
    subprocess.run([grokkit, "run", os.path.join(BENCH, case, "grokkit.toml"), "--out",
                    os.path.join(tmp, f"{case}.h5"), "--force", "--quiet", "--set",
                    f"train.steps={steps}"], env=env, check=True, stdout=subprocess.DEVNULL)
    rows = []
    with open(tsv) as f:
        next(f)
        for line in f:
            ta, tb, m, n, k, lda, ldb, ldc, calls, seconds, fastest = line.split()
            rows.append({"ta": int(ta), "tb": int(tb), "m": int(m), "n": int(n), "k": int(k),
                         "ld": f"{lda} {ldb} {ldc}", "calls": int(calls),
                         "seconds": float(seconds), "fastest": float(fastest)})
    return rows


def alone(tool, rows):
    shapes = "".join(f"{r['ta']} {r['tb']} {r['m']} {r['n']} {r['k']} {r['ld']}\n" for r in rows)
    out = subprocess.run([tool, str(THREADS)], input=shapes, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    for r, line in zip(rows, out):
        warm, cold = line.split()
        r["alone"], r["cold"] = float(warm), float(cold)


def shape_text(r):
    a = f"({r['k']}×{r['m']})ᵀ" if r["ta"] else f"({r['m']}×{r['k']})"
    b = f"({r['n']}×{r['k']})ᵀ" if r["tb"] else f"({r['k']}×{r['n']})"
    return a + b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(STEPS))
    ap.add_argument("--steps", type=int, help="training steps per case (default per case)")
    ap.add_argument("--top", type=int, default=6, help="products listed per case (default 6)")
    ap.add_argument("--grokkit", default=os.path.join(ROOT, "build", "bin", "grokkit"))
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in STEPS:
            ap.error(f"unknown case {c!r}; expected some of {','.join(STEPS)}")
    tool = os.path.join(os.path.dirname(args.grokkit), "grokkit-sgemm-alone")
    for exe in (args.grokkit, tool):
        if not os.access(exe, os.X_OK):
            sys.exit(f"error: {exe} not found; build first: cmake --build build -j2")
    print(f"\nGEMM inside the step against the same sgemm calls alone ({THREADS} OpenBLAS threads)")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            steps = args.steps or STEPS[case]
            rows = profile(args.grokkit, case, steps, tmp)
            alone(tool, rows)
            rows.sort(key=lambda r: -r["seconds"])
            total_in = sum(r["seconds"] for r in rows)
            total_alone = sum(r["calls"] * r["alone"] for r in rows)
            print(f"\n{case} ({steps} steps; every product of the run, evaluations included)")
            print(f"  {'product':<28} {'calls':>6} {'share':>6} {'GFLOP/s in step':>16} "
                  f"{'best call':>10} {'alone':>8} {'in step / alone':>16} {'alone, cold':>12} "
                  f"{'in step / cold':>15}")
            for r in rows[:args.top]:
                flop = 2.0 * r["m"] * r["n"] * r["k"]
                in_step = flop * r["calls"] / r["seconds"] / 1e9
                by_itself = flop / r["alone"] / 1e9
                cold = flop / r["cold"] / 1e9
                best = flop / r["fastest"] / 1e9
                print(f"  {shape_text(r):<28} {r['calls']:>6} {r['seconds'] / total_in:>6.0%} "
                      f"{in_step:>16.1f} {best:>10.1f} {by_itself:>8.1f} {in_step / by_itself:>16.0%} "
                      f"{cold:>12.1f} {in_step / cold:>15.0%}")
            total_cold = sum(r["calls"] * r["cold"] for r in rows)
            print(f"  all products: {total_in * 1e3 / steps:.2f} ms/step in the step; alone "
                  f"{total_alone * 1e3 / steps:.2f} warm ({total_alone / total_in:.0%}), "
                  f"{total_cold * 1e3 / steps:.2f} cold ({total_cold / total_in:.0%})")


if __name__ == "__main__":
    main()
