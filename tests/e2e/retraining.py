#!/usr/bin/env python3
"""retraining end to end, from the run file with numpy: retraining on the whole set gives the
run's own model (one thread, so the same bits), under a cosine schedule too; the influence methods get their LDS and
leave-one-out Pearson (exact's high); noisy labels are memorised more than clean ones; the
retrainings are the same whether one or two run side by side; a run killed with SIGKILL in the
middle of the retrainings resumes from its committed items and ends with the same values.
usage: retraining.py GROKKIT_BINARY"""
import os
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PIPELINE = """
[run]
name = "retraining-e2e"
seed = 2
threads = 1

[dataset]
plugin = "gaussian_points"
dim = 4
n_points = 300
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
steps = 400
eval_every = 100
checkpoint_every = 200

[[analysis]]
plugin = "influence"
name = "exact"
at = "checkpoints"
method = "exact"
max_queries = 20

[[analysis]]
plugin = "influence"
name = "trak"
at = "checkpoints"
method = "trak"
max_queries = 20

[[analysis]]
plugin = "retraining"
name = "truth"
at = "checkpoints"
leave_one_out = 20
subsets = 60
max_queries = 20
influence = ["exact", "trak"]
"""

SAME = ("query", "full_query_loss", "loo_index", "loo_change", "loo_self_change",
        "subset_members", "subset_query_loss", "memorisation", "feldman_influence", "lds",
        "lds_query", "loo_pearson", "steps", "n_retrainings")


def run(grokkit, toml, out, *extra):
    subprocess.run([grokkit, "run", toml, "--out", out, "--quiet", "--force", *extra],
                   check=True, stdout=subprocess.DEVNULL)


def same_values(a, b, rows=None):
    for name in SAME:
        x, y = a["analyses/truth/" + name][:], b["analyses/truth/" + name][:]
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def main(grokkit):
    with tempfile.TemporaryDirectory() as tmp:
        toml = os.path.join(tmp, "p.toml")
        open(toml, "w").write(PIPELINE)
        first = os.path.join(tmp, "a.h5")
        run(grokkit, toml, first)
        with h5py.File(first, "r") as f:
            t, e = f["analyses/truth"], f["analyses/exact"]
            assert list(t["step"]) == [0, 200, 400]
            assert list(t["steps"]) == [0, 200, 400]
            assert (t["n_retrainings"][:] == 81).all() and (t["n_resumed"][:] == 0).all()
            # The whole-set retraining is the run's own model: the same queries, the same bits.
            assert np.array_equal(t["query"][:], e["query"][:])
            assert np.array_equal(t["full_query_loss"][:], e["query_loss"][:])
            offsets, chars = t["method/offsets"][0], t["method/values"][:]
            names = [bytes(chars[a:b]).decode() for a, b in zip(offsets[:-1], offsets[1:])]
            assert names == ["exact", "trak"], names
            lds, loo = t["lds"][2], t["loo_pearson"][2]
            assert lds[0] > 0.8 and loo[0] > 0.9, (lds, loo)
            assert lds[1] > 0.5, lds
            assert np.isnan(t["lds"][0]).all()  # no updates yet: every subset gives one model
            noisy = f["dataset/noisy_index"][:]
            mem = t["memorisation"][2]
            clean = np.delete(mem, noisy)
            assert np.nanmean(mem[noisy]) > np.nanmean(clean) + 0.03, (mem[noisy], clean)
            assert t["subset_members"][2].sum(axis=1).tolist() == [75] * 60
            items = t["items"]
            assert len(items["step"]) == 3 * 81
            assert list(items["index"][:81]) == list(range(81))
        # Under a cosine schedule too: retrainings follow the run's schedule and stop at the
        # checkpoint, so the mid-run whole-set model is still the run's.
        cosine = os.path.join(tmp, "cos.h5")
        run(grokkit, toml, cosine, "--set", 'train.schedule="cosine"')
        with h5py.File(cosine, "r") as f:
            assert np.array_equal(f["analyses/truth/full_query_loss"][:],
                                  f["analyses/exact/query_loss"][:])
        # Two side by side: the same retrainings.
        second = os.path.join(tmp, "b.h5")
        run(grokkit, toml, second, "--set", "analysis.2.workers=2")
        with h5py.File(first, "r") as a, h5py.File(second, "r") as b:
            assert b["analyses/truth/workers"][0] == 2
            same_values(a, b)
        # SIGKILL in the middle of the last checkpoint's retrainings, then --resume.
        killed = os.path.join(tmp, "c.h5")
        p = subprocess.Popen([grokkit, "run", toml, "--out", killed, "--progress-interval", "0"],
                             stdout=subprocess.PIPE, text=True)
        for line in p.stdout:
            if line.startswith("step     400") and "retrainings 30/81" in line:
                os.kill(p.pid, signal.SIGKILL)
                break
        p.wait()
        assert p.returncode == -signal.SIGKILL, p.returncode
        with h5py.File(killed, "r", swmr=True) as f:  # a killed SWMR writer's file
            assert list(f["analyses/truth/step"]) == [0, 200]
        subprocess.run([grokkit, "run", toml, "--out", killed, "--resume", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        with h5py.File(first, "r") as a, h5py.File(killed, "r") as c:
            assert c["analyses/truth/n_resumed"][2] >= 30
            assert list(c["analyses/truth/n_resumed"][:2]) == [0, 0]
            same_values(a, c)
        html = os.path.join(tmp, "r.html")
        subprocess.run([grokkit, "report", first, "-o", html], check=True,
                       stdout=subprocess.DEVNULL)
        text = open(html).read()
        assert "Retraining (truth)" in text and "LOO Pearson" in text
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
