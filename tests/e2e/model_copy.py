#!/usr/bin/env python3
"""An analysis that copies the checkpoint's model, perturbs it and retrains it on a subset
(tests/fixtures/analyses/model_copy) leaves the run's training bit-identical: every metric and
checkpoint equals a run without it. The copy starts equal to the trained model, a fresh model
from the run seed equals the step-0 checkpoint, and checkpoints() grows by one per checkpoint.
usage: model_copy.py GROKKIT_BINARY PIPELINE FIXTURE_PLUGIN_DIR"""
import os
import pty
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def main(grokkit, pipeline, plugin_dir):
    env = dict(os.environ, GROKKIT_PLUGIN_PATH=plugin_dir)
    with tempfile.TemporaryDirectory() as tmp:
        with open(pipeline) as src:
            plain_text = src.read().split("[[analysis]]")[0]
        plain = os.path.join(tmp, "plain.toml")
        with open(plain, "w") as dst:
            dst.write(plain_text)
        copying = os.path.join(tmp, "copying.toml")
        with open(copying, "w") as dst:
            dst.write(plain_text + '[[analysis]]\nplugin = "model_copy"\nat = "checkpoints"\n')
        for toml, out in ((plain, "a.h5"), (copying, "b.h5")):
            subprocess.run([grokkit, "run", toml, "--out", os.path.join(tmp, out), "--quiet"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        with h5py.File(os.path.join(tmp, "a.h5"), "r") as a, \
                h5py.File(os.path.join(tmp, "b.h5"), "r") as b:
            n = 0
            for group in ("metrics", "checkpoints"):
                names = []
                a[group].visit(names.append)
                for name in names:
                    if isinstance(a[group][name], h5py.Dataset):
                        x, y = a[group][name][()], b[group][name][()]
                        assert x.dtype == y.dtype and np.array_equal(x, y), (group, name)
                        n += 1
            g = b["analyses/model_copy"]
            rows = len(g["step"])
            assert rows == len(b["checkpoints/step"]) and rows >= 3, rows
            assert g["copy_equal"][:].all() and g["matches_checkpoint"][:].all()
            assert g["fresh_is_init"][:].all() and g["source_spec"][:].all()
            assert (g["threads"][:] == b.attrs["threads"]).all()
            assert list(g["n_checkpoints"][:]) == list(range(1, rows + 1))
            assert np.isfinite(g["retrained_loss"][:]).all()
            lr = dict(zip(b["metrics/step"][:], b["metrics/lr"][:]))
            assert all(lr[s] == r for s, r in zip(g["step"][:], g["learning_rate"][:]))
        print(f"{n} metric and checkpoint datasets identical with and without the copying "
              f"analysis; {rows} checkpoints of copies, fresh models and retraining checked")
        # On a terminal the bar names the analysis running (its retraining counts are drawn
        # only when a redraw is due, which a 5-step retraining does not reach).
        master, slave = pty.openpty()
        proc = subprocess.Popen([grokkit, "run", copying, "--out", os.path.join(tmp, "c.h5")],
                                env=env, stdout=slave, stderr=slave)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        assert proc.wait() == 0
        assert b"[analysis model_copy" in shown, shown[-400:]
        print("terminal: the bar names the analysis running")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
