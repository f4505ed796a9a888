#!/usr/bin/env python3
"""Prints hull_test's results as Markdown tables: for each run, the grid (share of queries
inside the hull per dimension and reference size) of a single-checkpoint run, or, per
checkpoint and layer (in name order), the share inside and the accuracy inside versus
outside, with test accuracy and the wall time of the run.
usage: hull_tables.py RUN.h5..."""
import sys

import h5py
import numpy as np


def fmt(v, digits=3):
    return "–" if not np.isfinite(v) else f"{v:.{digits}f}"


def grid_table(name, g, r):
    dims, sizes = g["grid_dimensions"][r], g["grid_sizes"][r]
    frac = g["grid_inside_fraction"][r]
    print(f"\n{name}: share of {g['n_tested'][r]} queries inside the hull\n")
    print("| d | " + " | ".join(f"N = {n:,}" for n in sizes) + " |")
    print("|---:|" + "---:|" * len(sizes))
    for a, d in enumerate(dims):
        print(f"| {d} | " + " | ".join(fmt(v) for v in frac[a]) + " |")
    ms = 1000 * g["grid_seconds_per_query"][r]
    print("\nms per query (one thread): " +
          ", ".join(f"d={d}: " + "/".join(f"{v:.2f}" for v in ms[a]) for a, d in enumerate(dims)))


def layer_table(f, name):
    """Per checkpoint: test accuracy, the share inside in the full space and the accuracy on
    either side, then the same in each lower dimension of the grid (its first reference size)."""
    g = f["analyses"][name]
    steps, test_acc = f["metrics/step"][:], f["metrics/test_accuracy"][:]
    dims = [d for d in g["grid_dimensions"][0] if d != g["dim"][0]]
    print(f"\n{name}: {g['n_tested'][0]} test queries, d = {g['dim'][0]}, "
          f"N = {g['n_reference'][0]:,}\n")
    print("| step | test acc | inside | acc inside / outside |" +
          "".join(f" k={d}: inside | k={d}: acc in / out |" for d in dims))
    print("|---:|---:|---:|---|" + "---:|---|" * len(dims))
    for r, step in enumerate(g["step"][:]):
        acc = test_acc[np.searchsorted(steps, step)]
        cells = [fmt(g["inside_fraction"][r]),
                 f"{fmt(g['accuracy_inside'][r])} / {fmt(g['accuracy_outside'][r])}"]
        for a, d in enumerate(g["grid_dimensions"][r]):
            if d == g["dim"][r]:
                continue
            cells.append(fmt(g["grid_inside_fraction"][r][a, 0]))
            cells.append(f"{fmt(g['grid_accuracy_inside'][r][a, 0])} / "
                         f"{fmt(g['grid_accuracy_outside'][r][a, 0])}")
        print(f"| {step:,} | {acc:.3f} | " + " | ".join(cells) + " |")


def main(paths):
    for path in paths:
        with h5py.File(path, "r") as f:
            names = [n for n in f["analyses"] if f["analyses"][n].attrs["plugin"] == "hull_test"]
            print(f"\n## {path}: {float(f['run/wall_seconds'][()]):.0f} s of wall time, "
                  f"BLAS kernel {f.attrs['blas_kernel']}, {f.attrs['threads']} threads")
            if len(f["analyses"][names[0]]["step"]) == 1:
                for n in names:
                    grid_table(n, f["analyses"][n], 0)
            else:
                for n in names:
                    layer_table(f, n)


if __name__ == "__main__":
    main(sys.argv[1:])
