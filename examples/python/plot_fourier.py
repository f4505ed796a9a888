#!/usr/bin/python3
"""Plots the fourier_probe analysis of a run (Fourier or Walsh spectrum over checkpoints).
SPDX-License-Identifier: Apache-2.0

usage: examples/python/plot_fourier.py RUN.h5 [--analysis fourier_probe] [-o OUT.png]

Modular arithmetic (Fourier mode): a heatmap of embed_freq_norm over (checkpoint step,
frequency) with the last checkpoint's key frequencies marked on its right edge; below it the
probe's restricted, excluded and train loss (log) and embed_gini against step.
Sparse parity (Walsh mode): a heatmap of walsh_order_fraction over (checkpoint step, order),
the dataset's parity order k marked; below it walsh_relevant_fraction (± its standard error)
and input_weight_relevant_fraction. The step axis is linear (checkpoints are evenly spaced).
Reads committed rows only, so it works on a live run (SWMR). Writes RUN.fourier.png beside the
run unless -o is given, and prints the path. Exits 2 when the analysis is missing.
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


def run_name(f):
    """`name` of the [run] section of /pipeline_resolved (TOML text written by grokkit)."""
    section = None
    for line in f["pipeline_resolved"].asstr()[()].splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif section == "run" and line.split("=", 1)[0].strip() == "name":
            return line.split("=", 1)[1].strip().strip('"')
    return "?"


def edges(steps):
    """Cell edges around each checkpoint step for pcolormesh (steps need not be even)."""
    s = steps.astype(float)
    if s.size == 1:
        return np.array([s[0] - 0.5, s[0] + 0.5])
    mid = (s[1:] + s[:-1]) / 2
    return np.concatenate([[2 * s[0] - mid[0]], mid, [2 * s[-1] - mid[-1]]])


def heatmap(fig, ax, steps, z, ylabel, cbar_label):
    """z has shape (checkpoint, bin); the bins are drawn as rows 0, 1, ..."""
    x, y = edges(steps), np.arange(z.shape[1] + 1) - 0.5
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(z.T), cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label=cbar_label, pad=0.01)
    ax.set_ylabel(ylabel)
    ax.set_xlim(x[0], x[-1])


def fourier(fig, top, bottom, g, n):
    steps = g["step"][:n]
    heatmap(fig, top, steps, g["embed_freq_norm"][:n], "frequency k", "embedding norm")
    key = g["key_frequencies"][n - 1]
    key = key[key >= 0]
    top.plot(np.full(key.size, top.get_xlim()[1]), key, "<", color="red", markersize=8,
             clip_on=False, label="key frequencies (last checkpoint)")
    top.set_title(f"embed_freq_norm; key frequencies at step {int(steps[-1]):,}: "
                  + (", ".join(map(str, key)) or "none"), fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    for name, colour in (("restricted_loss", "tab:green"), ("excluded_loss", "tab:red"),
                         ("train_loss", "tab:blue")):
        v = g[name][:n]
        bottom.plot(steps, np.where(v > 0, v, np.nan), "o-", color=colour, markersize=3,
                    label=name.replace("_", " "))
    bottom.set_yscale("log")
    bottom.set_ylabel("probe cross-entropy (nats)")
    twin = bottom.twinx()
    twin.plot(steps, g["embed_gini"][:n], "s--", color="black", markersize=3, label="embed Gini")
    twin.set_ylabel("embed Gini")
    twin.set_ylim(0, 1)
    return [bottom, twin]


def walsh(fig, top, bottom, g, n, k):
    steps = g["step"][:n]
    z = g["walsh_order_fraction"][:n]
    orders = int(np.max(np.nonzero(np.isfinite(z).any(axis=0))[0], initial=0)) + 1
    heatmap(fig, top, steps, z[:, :orders], "Walsh order |S|", "share of E[f²]")
    if k is not None:
        top.axhline(int(k), color="red", linestyle=":", label=f"parity order k = {k}")
        top.legend(loc="upper left", fontsize=8)
    top.set_title("walsh_order_fraction (blank: not estimated)", fontsize=10)
    rel, err = g["walsh_relevant_fraction"][:n], g["walsh_relevant_stderr"][:n]
    bottom.plot(steps, rel, "o-", color="tab:red", markersize=3, label="walsh relevant fraction")
    bottom.fill_between(steps, rel - err, rel + err, color="tab:red", alpha=0.2)
    if "input_weight_relevant_fraction" in g:
        bottom.plot(steps, g["input_weight_relevant_fraction"][:n], "s--", color="tab:purple",
                    markersize=3, label="input weight relevant fraction")
    bottom.set_ylabel("fraction")
    bottom.set_ylim(-0.02, 1.02)
    return [bottom]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run file written by grokkit run (or grokkit analyze)")
    ap.add_argument("--analysis", default="fourier_probe",
                    help="name of the fourier_probe analysis group (default fourier_probe)")
    ap.add_argument("-o", "--out", help="PNG to write (default: RUN.fourier.png)")
    args = ap.parse_args()
    out = args.out or str(pathlib.Path(args.run).with_suffix(".fourier.png"))

    def fail(what):
        print(f"error: {args.run}: {what}", file=sys.stderr)
        return 2

    try:
        f = h5py.File(args.run, "r", libver="latest", swmr=True)
    except OSError as e:
        return fail(f"cannot open as a run file: {e}")
    with f:
        path = f"analyses/{args.analysis}"
        if path not in f:
            have = ", ".join(f["analyses"]) if "analyses" in f else ""
            return fail(f"no /{path} group (analyses in the file: {have or 'none'}); add "
                        f"[[analysis]] plugin = \"fourier_probe\" to the pipeline, or run "
                        f"grokkit analyze on this file")
        g = f[path]
        n = len(g["step"]) if "step" in g else 0
        if n == 0:
            return fail(f"/{path} has no committed row yet (no checkpoint analysed)")
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 7.5),
                                          layout="constrained")
        if "embed_freq_norm" in g:
            axes = fourier(fig, top, bottom, g, n)
        elif "walsh_order_fraction" in g:
            axes = walsh(fig, top, bottom, g, n, f["dataset"].attrs.get("k"))
        else:
            return fail(f"/{path} has neither embed_freq_norm (modular arithmetic) nor "
                        f"walsh_order_fraction (sparse parity)")
        status = f["run/status"][()].decode()
        fig.suptitle(f"{run_name(f)} — /{path}, {n} checkpoints, seed {f.attrs['seed']}"
                     + ("" if status == "complete" else f" ({status})"), fontsize=11)
    handles, labels = zip(*[hl for ax in axes for hl in zip(*ax.get_legend_handles_labels())])
    bottom.legend(handles, labels, loc="best", fontsize=8)
    bottom.grid(True, alpha=0.3)
    bottom.set_xlabel("checkpoint step")
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
