#!/usr/bin/env python3
"""EK-FAC's factors and scores on the PAIR MLP and the Nanda transformer (bench/pair_mlp and
bench/nanda_transformer, 100 full-batch training steps), side by side with CG on exact
curvature products in the same run of this script: wall time of each part, the method's own
count of its working memory, and the peak resident memory of the whole `grokkit run` process
over a run without the analysis.

EK-FAC scores 100 test queries against every training example plus every self-influence;
CG solves 5 queries (no self-influence) at cg_max_iterations = 100, so its time is given per
query, and the ratio compares the cost of one query's scores.

usage: ekfac_bench.py [--grokkit build/bin/grokkit] [--cases pair_mlp,nanda_transformer]"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))

METHODS = {
    "ekfac": 'method = "ekfac"\ndamping = 0.1\nrelative_damping = true\nmax_queries = 100\n',
    "cg": ('method = "cg"\ncurvature = "gauss_newton"\ndamping = 0.1\nrelative_damping = true\n'
           "max_queries = 5\nself_influence = false\ncg_max_iterations = 100\n"),
}


def run(grokkit, pipeline_text, tmp, tag):
    """Runs a pipeline; returns (peak RSS MiB, run file path)."""
    toml = os.path.join(tmp, tag + ".toml")
    out = os.path.join(tmp, tag + ".h5")
    open(toml, "w").write(pipeline_text)
    p = subprocess.Popen([grokkit, "run", toml, "--out", out, "--quiet", "--force"],
                         stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ekfac_bench: {tag} failed")
    return usage.ru_maxrss / 1024.0, out


def scalar(f, name, output):
    return float(f[f"analyses/{name}/{output}"][-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grokkit", default=os.path.join(HERE, "..", "build", "bin", "grokkit"))
    ap.add_argument("--cases", default="pair_mlp,nanda_transformer")
    args = ap.parse_args()
    print("| case | P | n_train | method | queries | factors s | scores s | s per query "
          "| method MiB | peak RSS over baseline MiB |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            base = open(os.path.join(HERE, case, "grokkit.toml")).read()
            baseline_rss, _ = run(args.grokkit, base, tmp, case + "-baseline")
            per_query = {}
            for method, settings in METHODS.items():
                text = (base + '\n[[analysis]]\nplugin = "influence"\nname = "influence"\n'
                        'at = "end"\n' + settings)
                rss, out = run(args.grokkit, text, tmp, case + "-" + method)
                with h5py.File(out, "r") as f:
                    used = int(scalar(f, "influence", "n_used"))
                    n_train = f["analyses/influence/scores"].shape[2]
                    p = int(scalar(f, "influence", "n_parameters"))
                    factors = scalar(f, "influence", "seconds_curvature")
                    total = scalar(f, "influence", "seconds_total")
                    mib = scalar(f, "influence", "memory_mib")
                per_query[method] = (total - factors) / used
                print(f"| {case} | {p:,} | {n_train:,} | {method} | {used} | {factors:.2f} "
                      f"| {total - factors:.2f} | {per_query[method]:.3f} | {mib:.1f} "
                      f"| {rss - baseline_rss:.0f} |", flush=True)
            print(f"| {case} | | | cg / ekfac per query | | | | "
                  f"{per_query['cg'] / per_query['ekfac']:.0f}x | | |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
