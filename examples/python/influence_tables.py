#!/usr/bin/python3
"""The tables of examples/README.md for influence-memorisation.toml, from its run file alone:
per checkpoint the test accuracy, each influence method's self-influence precision at
k = the number of replaced labels (/dataset/noisy_index), Feldman & Zhang's memorisation's
precision, and each method's LDS, leave-one-out Pearson and seconds from `retraining`.

usage: influence_tables.py RUN.h5 [--retraining NAME]"""
import argparse
import sys

import h5py
import numpy as np


def precision_at_k(values, positives):
    """The fraction of the k = len(positives) largest values that are positives (NaN never
    ranks, ties to the lower index: grokkit::precision_at_k)."""
    v = np.where(np.isnan(values), -np.inf, values)
    top = np.argsort(-v, kind="stable")[: len(positives)]
    return len(set(top.tolist()) & set(positives.tolist())) / len(positives)


def texts(group, name, row):
    offsets, chars = group[name + "/offsets"][row], group[name + "/values"][:]
    return [bytes(chars[a:b]).decode() for a, b in zip(offsets[:-1], offsets[1:])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--retraining", default="retraining")
    args = ap.parse_args()
    with h5py.File(args.run, "r") as f:
        noisy = f["dataset/noisy_index"][:]
        g = f["analyses/" + args.retraining]
        steps = g["step"][:]
        methods = texts(g, "method", 0)
        metric_steps = list(f["metrics/step"][:])
        test_acc = f["metrics/test_accuracy"][:]
        with_self = [m for m in methods if "self_influence" in f["analyses/" + m]]
        print(f"k = {len(noisy)} replaced labels of {g['memorisation'].shape[1]} training "
              "examples\n")
        print("| step | test acc | " + " | ".join(f"{m} P@k" for m in with_self) +
              " | Feldman P@k |")
        print("|---:|---:|" + "---:|" * (len(with_self) + 1))
        for r, s in enumerate(steps):
            acc = test_acc[metric_steps.index(s)] if s in metric_steps else float("nan")
            cells = [precision_at_k(f["analyses/" + m + "/self_influence"][r], noisy)
                     for m in with_self]
            cells.append(precision_at_k(g["memorisation"][r], noisy))
            print(f"| {s} | {acc:.2f} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
        print("\n| step | " + " | ".join(f"{m} LDS | {m} LOO r | {m} s" for m in methods) +
              " | retraining s |")
        print("|---:|" + "---:|" * (3 * len(methods) + 1))
        for r, s in enumerate(steps):
            cells = []
            for j, m in enumerate(methods):
                cells += [f"{g['lds'][r][j]:.3f}", f"{g['loo_pearson'][r][j]:.2f}",
                          f"{f['analyses/' + m + '/seconds_total'][r]:.1f}"]
            print(f"| {s} | " + " | ".join(cells) + f" | {g['seconds_retraining'][r]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
