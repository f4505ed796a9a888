#!/usr/bin/env python3
"""hull_test end to end, checked from the run file alone with numpy (no LP solver): every
inside answer's weights rebuild its query, every outside answer's hyperplane separates it from
every reference point and bounds its L1 distance; untested positions are marked; out_of_hull
lists the outside ones and chains into a second entry; leave-one-out never uses the query's own
point; the verdicts do not depend on the thread count or on the screens.
usage: hull_test.py GROKKIT_BINARY"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PIPELINE = """
[run]
name = "hull-e2e"
seed = 3

[dataset]
plugin = "gaussian_points"
dim = 5
n_points = 1200
train_fraction = 0.5
labels = "halfspace"

[model]
plugin = "mlp"
hidden = [12]

[train]
steps = 100
lr = 3e-3
eval_every = 50
checkpoint_every = 50

[[analysis]]
plugin = "hull_test"
name = "inputs"
at = "checkpoints"
max_queries = 250
dimensions = [2, 5]
reference_sizes = [50, 600]
projection = "pca"
certificates = true

[[analysis]]
plugin = "hull_test"
name = "hidden_outside"
at = "checkpoints"
space = "hidden0"
query_index = "inputs/out_of_hull"
certificates = true
screens = false

[[analysis]]
plugin = "hull_test"
name = "loo"
at = "checkpoints"
queries = "train"
max_queries = 120
reference_sizes = [300, 600]
certificates = true

[[analysis]]
plugin = "hull_test"
name = "inputs_unscreened"
at = "checkpoints"
max_queries = 250
screens = false
"""


def ragged_row(g, name, row):
    """A single variable-length row (an index set) of run `row`."""
    a, b = g[name + "/offsets"][row]
    return g[name + "/values"][a:b]


def check_certificates(g, row, leave_one_out=False, tolerance=1e-7):
    x = g["points"][row]
    q = g["query_points"][row]
    status = g["status"][row]
    n_ref, d = x.shape
    scale = max(1.0, np.abs(x).max())
    starts = g["weight_index/offsets"][row]
    index = g["weight_index/values"]
    weight = g["weight/values"]
    plane_off = g["hyperplane/offsets"][row]
    plane = g["hyperplane/values"]
    tested = status >= 0
    assert np.all(np.isnan(g["distance"][row][~tested]))
    assert np.all(g["answered_by"][row][~tested] == -1)
    assert not np.any(status == 2), "no failed answers expected on Gaussian points"
    for i in np.nonzero(tested)[0]:
        idx = index[starts[i]:starts[i + 1]]
        lam = weight[starts[i]:starts[i + 1]]
        by = g["answered_by"][row][i]
        if status[i] == 1:
            assert len(idx) <= d + 1 and np.all(lam >= 0)
            assert abs(lam.sum() - 1) < 1e-9
            assert np.abs(lam @ x[idx] - q[i]).max() <= tolerance * scale * 1.01
            assert g["distance"][row][i] == 0
            continue
        wb = plane[plane_off[i]:plane_off[i + 1]]
        w, b = wb[:d], wb[d]
        assert abs(np.abs(w).max() - 1) < 1e-12
        others = np.delete(x, i, axis=0) if leave_one_out else x
        assert (others @ w).max() <= b + 1e-12 * (1 + abs(b)), "a reference point beyond it"
        margin = w @ q[i] - b
        assert margin > 0 and abs(margin - g["distance"][row][i]) < 1e-9
        if by == 0:  # the LP's weights: a point of the hull, no nearer in L1 than the bound
            reach = np.abs(lam @ x[idx] - q[i]).sum()
            assert reach >= margin - 1e-9 and reach - margin < 1e-6, (reach, margin)
    outside = np.nonzero(status == 0)[0]
    assert np.array_equal(ragged_row(g, "out_of_hull", row), outside)
    n_in, n_out = (status == 1).sum(), (status == 0).sum()
    assert g["n_inside"][row] == n_in and g["n_outside"][row] == n_out
    assert abs(g["inside_fraction"][row] - n_in / (n_in + n_out)) < 1e-12
    return status


def main(grokkit):
    with tempfile.TemporaryDirectory() as tmp:
        toml = os.path.join(tmp, "hull.toml")
        with open(toml, "w") as f:
            f.write(PIPELINE)
        files = {}
        for threads in (1, 2):
            out = os.path.join(tmp, f"t{threads}.h5")
            subprocess.run([grokkit, "run", toml, "--out", out, "--quiet", "--set",
                            f"run.threads={threads}"], check=True, stdout=subprocess.DEVNULL)
            files[threads] = out
        with h5py.File(files[1], "r") as f, h5py.File(files[2], "r") as f2:
            g = f["analyses/inputs"]
            rows = len(g["step"])
            assert rows == 3, rows
            for row in range(rows):
                status = check_certificates(g, row)
                assert (status >= 0).sum() == 250
                assert 0 < (status == 1).sum() < 250, "both verdicts exercised in R^5"
                # Input space: the same answers at every checkpoint.
                assert np.array_equal(status, g["status"][0])
                # The grid's (5, 600) cell is the per-query answer; fewer points, fewer inside.
                grid = g["grid_inside_fraction"][row]
                assert abs(grid[1, 1] - g["inside_fraction"][row]) < 1e-12
                for side in ("inside", "outside"):
                    assert abs(g[f"grid_accuracy_{side}"][row][1, 1] -
                               g[f"accuracy_{side}"][row]) < 1e-12
                assert grid[0, 0] < grid[0, 1] and grid[1, 0] < grid[1, 1]
                assert grid[1, 1] < grid[0, 1], "fewer dimensions, more inside"
                assert np.array_equal(f2["analyses/inputs/status"][row], status)
                assert np.array_equal(f2["analyses/inputs/grid_inside_fraction"][row], grid)
            h = f["analyses/hidden_outside"]
            for row in range(rows):
                status = check_certificates(h, row)
                chained = ragged_row(g, "out_of_hull", row)
                assert np.array_equal(np.nonzero(status >= 0)[0], chained)
                assert np.all(h["answered_by"][row][status >= 0] == 0), "screens = false"
                assert h["dim"][row] == 12
            u = f["analyses/inputs_unscreened"]
            for row in range(rows):
                # Screens change how an answer is found, never the verdict (on the queries both
                # samples hold: each entry draws its own, seeded by its name).
                both = (u["status"][row] >= 0) & (g["status"][row] >= 0)
                assert both.sum() > 50
                assert np.array_equal(u["status"][row][both], g["status"][row][both])
                assert np.all(u["answered_by"][row][u["status"][row] >= 0] == 0)
                assert g["n_screened"][row] > 0
            loo = f["analyses/loo"]
            for row in range(rows):
                grid = loo["grid_inside_fraction"][row]
                assert grid[0, 0] <= grid[0, 1] and grid[0, 1] == loo["inside_fraction"][row]
                status = check_certificates(loo, row, leave_one_out=True)
                starts = loo["weight_index/offsets"][row]
                for i in np.nonzero(status >= 0)[0]:
                    assert i not in loo["weight_index/values"][starts[i]:starts[i + 1]]
    print("hull_test: certificates, chaining, leave-one-out and threads checked")


if __name__ == "__main__":
    main(*sys.argv[1:])
