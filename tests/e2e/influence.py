#!/usr/bin/env python3
"""influence end to end, checked from the run file with numpy: exact and cg agree row for row;
proponents and opponents are the extreme scores of their rows; a tenth of the memory gives the
same bits in tiles; lissa, ekfac and trak rank as exact does; a diverging lissa stops at its key with
nothing non-finite written; queries chained from
hull_test's out_of_hull are those positions, padded; a training example's score on itself as a
query equals its self-influence; TracIn sums the checkpoints so far and gives the same scores
under `analyze`; the report has the section; exact refuses a model above 10,000 parameters at
the key, before any file exists.
usage: influence.py GROKKIT_BINARY"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PIPELINE = """
[run]
name = "influence-e2e"
seed = 1

[dataset]
plugin = "gaussian_points"
dim = 4
n_points = 400
train_fraction = 0.5
labels = "halfspace"
label_noise = 0.1

[model]
plugin = "linear"

[train]
optimizer = "sgd"
weight_decay = 0.0
l2 = 1e-2
lr = 1.0
steps = 200
eval_every = 50
checkpoint_every = 100

[[analysis]]
plugin = "hull_test"
name = "hull"
at = "checkpoints"
max_queries = 200

[[analysis]]
plugin = "influence"
name = "exact"
at = "checkpoints"
method = "exact"
max_queries = 30
top_k = 5

[[analysis]]
plugin = "influence"
name = "cg"
at = "checkpoints"
method = "cg"
max_queries = 30
top_k = 5
cg_tolerance = 1e-8

[[analysis]]
plugin = "influence"
name = "outside"
at = "checkpoints"
query_index = "hull/out_of_hull"
max_queries = 200
self_influence = false
top_k = 3

[[analysis]]
plugin = "influence"
name = "tracin"
at = "checkpoints"
method = "tracin"
max_queries = 30
top_k = 5

[[analysis]]
plugin = "influence"
name = "exact_tiled"
at = "checkpoints"
method = "exact"
max_queries = 30
top_k = 5
max_memory = 0.0046

[[analysis]]
plugin = "influence"
name = "lissa"
at = "checkpoints"
method = "lissa"
max_queries = 30
top_k = 5
lissa_depth = 1000
lissa_batch_size = 50
self_influence = false

[[analysis]]
plugin = "influence"
name = "ekfac"
at = "checkpoints"
method = "ekfac"
max_queries = 30
top_k = 5

[[analysis]]
plugin = "influence"
name = "trak"
at = "checkpoints"
method = "trak"
max_queries = 30
top_k = 5

[[analysis]]
plugin = "influence"
name = "on_train"
at = "end"
method = "exact"
curvature = "gauss_newton"
queries = "train"
query_positions = [0, 5, 7]
"""


def ragged_row(g, name, row):
    a, b = g[name + "/offsets"][row]
    return g[name + "/values"][a:b]


def check_ranking(g, row):
    scores = g["scores"][row]
    for q in range(scores.shape[0]):
        if g["query"][row][q] < 0:
            assert (g["proponents"][row][q] == -1).all()
            continue
        s = scores[q]
        for name, sign in (("proponents", 1), ("opponents", -1)):
            idx = g[name][row][q]
            top = g[name.rstrip("s") + "_scores"][row][q]
            assert np.array_equal(top, s[idx]), name
            assert (np.diff(sign * top) <= 0).all(), f"{name} not in order"
            rest = np.delete(sign * s, idx)
            assert (sign * top).min() >= rest.max(), f"{name} are not the extreme scores"


def main(grokkit):
    with tempfile.TemporaryDirectory() as tmp:
        toml = os.path.join(tmp, "p.toml")
        open(toml, "w").write(PIPELINE)
        out = os.path.join(tmp, "r.h5")
        subprocess.run([grokkit, "run", toml, "--out", out, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        with h5py.File(out, "r") as f:
            e, c = f["analyses/exact"], f["analyses/cg"]
            assert len(e["step"]) == 3 and list(e["step"]) == list(c["step"])
            for row in range(3):
                assert np.array_equal(e["query"][row], c["query"][row])
                se, sc = e["scores"][row], c["scores"][row]
                assert se.shape == (30, 200)
                assert np.abs(se - sc).max() <= 1e-4 * np.abs(se).max()
                si_e, si_c = e["self_influence"][row], c["self_influence"][row]
                assert (si_e >= 0).all()
                assert np.abs(si_e - si_c).max() <= 1e-4 * si_e.max()
                assert (c["query_residual"][row] < 1e-5).all()
                assert (c["query_iterations"][row] > 0).all()
                assert np.isnan(e["query_residual"][row]).all()
                check_ranking(e, row)
                check_ranking(c, row)
            assert e["damping"][0] == 1e-3 and e["regulariser"][0] == 1e-2
            assert e["n_parameters"][0] == 10  # (4 + 1) x 2
            # A tenth of the matrix's memory: the same bits, in tens of tiles; chunks by block.
            t = f["analyses/exact_tiled"]
            assert np.array_equal(t["scores"][:], e["scores"][:])
            assert np.array_equal(t["self_influence"][:], e["self_influence"][:])
            assert np.array_equal(t["proponents"][:], e["proponents"][:])
            assert (t["n_tiles"][:] >= 10).all() and (e["n_tiles"][:] == 1).all()
            assert (t["memory_mib"][:] <= 0.0046).all()
            assert e["scores"].chunks == (1, 30, 200)  # 6,000 values: one chunk per checkpoint
            # lissa and trak rank as the exact solve does.
            for name, least in (("lissa", 0.95), ("ekfac", 0.8), ("trak", 0.8)):
                a = f["analyses/" + name]
                for row in (1, 2):
                    used = int(a["n_used"][row])
                    x, y = a["scores"][row][:used].ravel(), e["scores"][row][:used].ravel()
                    assert np.isfinite(x).all(), name
                    rho = np.corrcoef(x, y)[0, 1]
                    assert rho >= least, (name, row, rho)
                check_ranking(a, 2)
            assert (f["analyses/lissa/lissa_scale"][:] > 0).all()
            assert (f["analyses/lissa/query_iterations"][0] == 1000).all()
            assert np.isnan(f["analyses/trak/lissa_scale"][:]).all()
            # Chained: the positions hull_test found outside, in order, then padding.
            o, h = f["analyses/outside"], f["analyses/hull"]
            assert "self_influence" not in o
            for row in range(3):
                outside = ragged_row(h, "out_of_hull", row)
                n = len(outside)
                assert o["n_used"][row] == n
                assert np.array_equal(o["query"][row][:n], np.sort(outside))
                assert (o["query"][row][n:] == -1).all()
                assert np.isnan(o["scores"][row][n:]).all()
                assert not np.isnan(o["scores"][row][:n]).any()
            # A training example as a query: its score on itself is its self-influence.
            t = f["analyses/on_train"]
            q = t["query"][0]
            assert list(q) == [0, 5, 7]
            for k, i in enumerate(q):
                si = t["self_influence"][0][i]
                assert abs(t["scores"][0][k, i] - si) <= 1e-6 * si, (k, i)
            # TracIn sums the checkpoints before this one: none at step 0, where all is 0.
            tr = f["analyses/tracin"]
            assert list(tr["n_checkpoints"][:]) == [0, 1, 2]
            assert (tr["scores"][0][:30] == 0).all() and (tr["self_influence"][0] == 0).all()
            assert (tr["self_influence"][2] > 0).all()
            assert np.array_equal(tr["query"][:], e["query"][:])
            assert (tr["self_influence"][:] >= 0).all()
            assert np.isnan(tr["damping"][:]).all()
            check_ranking(tr, 2)
            run_tracin = tr["scores"][:]
        # The same TracIn under `analyze` reads the same checkpoints: the same scores.
        posthoc = os.path.join(tmp, "posthoc.toml")
        head = PIPELINE[:PIPELINE.index("[[analysis]]")]
        open(posthoc, "w").write(head + '[[analysis]]\nplugin = "influence"\nname = "tracin_posthoc"\n'
                                 'at = "checkpoints"\nmethod = "tracin"\nmax_queries = 30\n'
                                 'top_k = 5\n')
        subprocess.run([grokkit, "analyze", out, posthoc], check=True, stdout=subprocess.DEVNULL)
        with h5py.File(out, "r") as f:
            assert np.array_equal(f["analyses/tracin_posthoc/scores"][:], run_tracin)
        html = os.path.join(tmp, "r.html")
        subprocess.run([grokkit, "report", out, "-o", html], check=True)
        text = open(html).read()
        for name in ("exact", "cg", "outside", "tracin", "on_train", "lissa", "ekfac", "trak"):
            assert f"Influence ({name}," in text, name
        # A lissa scale far too small: the run stops at the key, the analysis writes nothing,
        # and what the file holds is finite.
        diverging = head + ('[[analysis]]\nplugin = "influence"\nname = "lissa"\n'
                            'at = "checkpoints"\nmethod = "lissa"\nmax_queries = 30\n'
                            'lissa_scale = 1e-4\nlissa_depth = 100\n')
        open(toml, "w").write(diverging)
        lost = os.path.join(tmp, "diverged.h5")
        p = subprocess.run([grokkit, "run", toml, "--out", lost, "--quiet"],
                           capture_output=True, text=True)
        assert p.returncode != 0, p.stderr
        assert "lissa_scale" in p.stderr and "diverged" in p.stderr, p.stderr
        with h5py.File(lost, "r") as f:
            g = f["analyses/lissa"]
            assert len(g["step"]) == 0
            for name in g:
                if isinstance(g[name], h5py.Dataset) and g[name].dtype.kind == "f":
                    assert np.isfinite(g[name][:]).all(), name
        # exact on an MLP of 28,674 parameters: refused at file:line of the key, no file written.
        big = PIPELINE.replace('plugin = "linear"', 'plugin = "mlp"\nhidden = [4096]')
        open(toml, "w").write(big)
        bad = os.path.join(tmp, "bad.h5")
        p = subprocess.run([grokkit, "run", toml, "--out", bad, "--quiet"],
                           capture_output=True, text=True)
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert "analysis.1.method" in p.stderr and 'or method = "cg"' in p.stderr, p.stderr
        assert "at most 10000 parameters" in p.stderr, p.stderr
        assert not os.path.exists(bad)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
