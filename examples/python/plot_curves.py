#!/usr/bin/python3
"""Plots a run's training and test loss and accuracy against step, from the run file alone.
SPDX-License-Identifier: Apache-2.0

usage: examples/python/plot_curves.py RUN.h5 [-o OUT.png] [--threshold 0.99]

The step axis is symlog: linear from 0 to the first evaluation after step 0, logarithmic
above, so step 0 (the initial model) is drawn rather than clipped. Dashed vertical lines mark
the first step train accuracy reaches the threshold ("memorised") and the first step test
accuracy does ("generalised"), when they happen. Reads committed rows only, so it works on a
live run (SWMR). Writes RUN.curves.png beside the run unless -o is given, and prints the path.
Headless: MPLBACKEND=Agg.
"""
import argparse
import pathlib
import sys

try:
    import h5py
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError:
    sys.exit("error: needs h5py, numpy and matplotlib (Debian: python3-h5py python3-matplotlib);"
             " run with /usr/bin/python3")


def resolved_value(f, key):
    """`section.key` from /pipeline_resolved (TOML text written by grokkit), or "?"."""
    section, name = key.split(".", 1)
    current = None
    for line in f["pipeline_resolved"].asstr()[()].splitlines():
        line = line.strip()
        if line.startswith("["):
            current = line.strip("[]").strip()
        elif current == section and line.split("=", 1)[0].strip() == name:
            return line.split("=", 1)[1].strip().strip('"')
    return "?"


def run_title(f):
    """Run name, seed, threads and BLAS kernel: what a run's steps depend on."""
    status = f["run/status"][()].decode()
    title = (f"{resolved_value(f, 'run.name')}: seed {f.attrs['seed']}, "
             f"{f.attrs['threads']} threads, BLAS kernel {f.attrs['blas_kernel']}")
    return title if status == "complete" else f"{title} ({status})"


def first_step(steps, values, threshold):
    hit = np.nonzero(values >= threshold)[0]
    return int(steps[hit[0]]) if hit.size else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run file written by grokkit run")
    ap.add_argument("-o", "--out", help="PNG to write (default: RUN.curves.png)")
    ap.add_argument("--threshold", type=float, default=0.99,
                    help="accuracy that counts as memorised/generalised (default 0.99)")
    args = ap.parse_args()
    out = args.out or str(pathlib.Path(args.run).with_suffix(".curves.png"))
    try:
        f = h5py.File(args.run, "r", libver="latest", swmr=True)
    except OSError as e:
        print(f"error: {args.run}: cannot open as a run file: {e}", file=sys.stderr)
        return 2
    with f:
        if "metrics/step" not in f:
            print(f"error: {args.run}: no /metrics/step (not a grokkit run file?)", file=sys.stderr)
            return 2
        n = len(f["metrics/step"])  # rows below len(step) are committed
        if n == 0:
            print(f"error: {args.run}: no committed metrics row yet", file=sys.stderr)
            return 2
        steps = f["metrics/step"][:n]
        m = {k: f["metrics/" + k][:n] for k in
             ("train_loss", "test_loss", "train_accuracy", "test_accuracy")}
        title = run_title(f)
        has_test = f["dataset"].attrs.get("n_test", 1) > 0

    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, sharex=True, figsize=(9, 7), layout="constrained")
    splits = ("train", "test") if has_test else ("train",)
    for split, colour in zip(splits, ("tab:blue", "tab:orange")):
        loss = m[f"{split}_loss"]
        ax_loss.plot(steps, np.where(loss > 0, loss, np.nan), color=colour, label=f"{split} loss")
        ax_acc.plot(steps, m[f"{split}_accuracy"], color=colour, label=f"{split} accuracy")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("loss (as trained: train.loss, train.class_mean)")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(-0.02, 1.02)
    positive = steps[steps > 0]
    ax_acc.set_xscale("symlog", linthresh=int(positive.min()) if positive.size else 1,
                      linscale=0.5)
    ax_acc.set_xlabel("step (symlog: linear up to the first evaluation, log above)")
    ax_acc.set_xlim(left=0, right=max(int(steps[-1]), 1))

    marks = [("memorised", "train", "tab:blue"), ("generalised", "test", "tab:orange")]
    for label, split, colour in marks[:len(splits)]:
        s = first_step(steps, m[f"{split}_accuracy"], args.threshold)
        if s is None:
            continue
        for ax in (ax_loss, ax_acc):
            ax.axvline(s, color=colour, linestyle="--", linewidth=1)
        ax_acc.annotate(f"{label}\n{s:,}", (s, 0.5), xytext=(4, 0), textcoords="offset points",
                        color=colour, fontsize=9, va="center")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    fig.suptitle(title + f"\nmarkers: first step with accuracy ≥ {args.threshold}", fontsize=10)
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
