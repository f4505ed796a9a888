#!/usr/bin/env python3
"""The distribution over seeds of the grokking step of a sweep (`grokkit sweep ... --seeds`):
for each grid cell, the number of points done, how many reached the accuracy threshold on the
test split (the index's `generalisation_step`, at `--accuracy-threshold`, 0.99 by default),
and the quartiles of that step with the points that never reached it counted as later than
any (so a quartile is "never" when more than that share never grokked), as PAIR reports it.
Also writes one CSV line per point with --csv FILE.
usage: grokking_distribution.py SWEEP_DIR [--csv FILE]"""
import os
import sys

import h5py
import numpy as np


def quartiles(steps, n_never):
    """Quartiles of steps with n_never points at +infinity (nearest rank, no interpolation)."""
    values = np.sort(np.concatenate([steps, np.full(n_never, np.inf)]))
    return [values[min(len(values) - 1, int(np.ceil(q * len(values))) - 1)]
            for q in (0.25, 0.5, 0.75)]


def main(argv):
    sweep = argv[1]
    csv = argv[argv.index("--csv") + 1] if "--csv" in argv else None
    with h5py.File(os.path.join(sweep, "index.h5"), "r") as f:
        p = f["points"]
        overrides = p["overrides"].asstr()[:]
        status = p["status"].asstr()[:]
        g = p["generalisation_step"][:]
        wall = p["wall_seconds"][:]
        seeds = p["seed"][:] if "seed" in p else np.arange(len(g))
        steps_total = f.attrs.get("n_points", len(g))
        threshold = f.attrs["accuracy_threshold"]
    cells = {}
    for o, s, gs, w, seed in zip(overrides, status, g, wall, seeds):
        cell = " ".join(x for x in o.split() if not x.startswith(("run.seed=", "run.threads=")))
        cells.setdefault(cell or "(one cell)", []).append((s, gs, w, seed, o))
    print(f"{sweep}: {steps_total} points; test accuracy threshold {threshold}")
    print("\n| cell | done | grokked | never | 25% | median | 75% | wall hours |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cell, pts in cells.items():
        done = [(gs, w) for s, gs, w, _, _ in pts if s == "done"]
        grokked = np.array([gs for gs, _ in done if gs >= 0], dtype=float)
        never = sum(1 for gs, _ in done if gs < 0)
        q = quartiles(grokked, never) if done else [np.inf] * 3
        shown = ["never" if not np.isfinite(v) else f"{int(v):,}" for v in q]
        hours = sum(w for _, w in done) / 3600
        print(f"| {cell} | {len(done)} | {len(grokked)} | {never} | " + " | ".join(shown) +
              f" | {hours:.2f} |")
    if csv:
        with open(csv, "w") as out:
            out.write("overrides,status,generalisation_step,wall_seconds\n")
            for pts in cells.values():
                for s, gs, w, _, o in pts:
                    out.write(f"\"{o}\",{s},{gs},{w:.1f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
