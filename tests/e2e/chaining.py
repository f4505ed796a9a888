#!/usr/bin/env python3
"""Chained analyses and typed outputs, through the real binary and h5py.

1. `grokkit run`: the producer's outputs of every dtype (float64, float32, int64, bool,
   strings, variable-length rows) hold, row by row, what it computed at that checkpoint's step,
   and the consumer received the producer's values of the same checkpoint.
2. `grokkit analyze` on the run without analyses writes the same groups, value for value.
3. A live SWMR reader follows the variable-length outputs (flat values plus offsets) while the
   run writes; the run is SIGKILLed on an event (committed rows), resumed, and every row of
   the closed file is correct, its flat values consistent with the offsets (the exact cut on
   resume is pinned by tests/core/test_run_store.cpp).
usage: chaining.py GROKKIT_BINARY PIPELINE FIXTURE_PLUGIN_DIR"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

N_ITEMS = 5


def index_set(step):  # chain_values.hpp
    return [i for i in range(N_ITEMS + step % 7) if (i + step) % 3 == 0]


def row(g, r, e=0):
    o = g["offsets"]
    return g["values"][o[r, e]:o[r, e + 1]]


def check_rows(f, upto=None):
    p, c = f["analyses/producer"], f["analyses/chain_consumer"]
    n = len(p["step"]) if upto is None else upto
    for r in range(n):
        s = int(p["step"][r])
        assert p["step_value"][r] == s and p["step_value"].dtype == np.float64
        assert list(row(p["index_set"], r)) == index_set(s), (s, row(p["index_set"], r))
        assert bytes(row(p["label"], r)).decode() == f"step {s}"
        assert p["flags"].dtype == np.bool_
        assert list(p["flags"][r]) == [i % 2 == s % 2 for i in range(N_ITEMS)]
        assert p["half"].dtype == np.float32
        assert list(p["half"][r]) == [i / 2 + s for i in range(N_ITEMS)]
        for i in range(N_ITEMS):
            assert list(row(p["lists"], r, i)) == [s] * i
            assert bytes(row(p["names"], r, i)).decode() == f"item{i}@{s}"
        if upto is None:  # the consumer's row r is committed after the producer's
            assert c["step"][r] == s and c["seen_step"][r] == s
            assert list(row(c["copy"], r)) == index_set(s)
            assert c["index_count"][r] == len(index_set(s))
            assert c["index_sum"][r] == sum(index_set(s))
    return n


def groups_equal(a, b):
    names = []
    a.visit(names.append)
    for name in names:
        if isinstance(a[name], h5py.Dataset):
            assert np.array_equal(a[name][()], b[name][()]), name
            assert dict(a[name].attrs) == dict(b[name].attrs), name
    return len(names)


def main(grokkit, pipeline, plugin_dir):
    env = dict(os.environ, GROKKIT_PLUGIN_PATH=plugin_dir)
    run = lambda *args, **kw: subprocess.run([grokkit, *args], env=env, check=True,
                                             stdout=subprocess.DEVNULL, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        live = os.path.join(tmp, "live.h5")
        run("run", pipeline, "--out", live)
        with h5py.File(live, "r") as f:
            n = check_rows(f)
        print(f"run: {n} checkpoints, every dtype and the consumer's inputs as computed")

        plain = os.path.join(tmp, "plain.toml")
        with open(pipeline) as src, open(plain, "w") as dst:
            dst.write(src.read().split("[[analysis]]")[0])
        post = os.path.join(tmp, "post.h5")
        run("run", plain, "--out", post)
        run("analyze", post, pipeline)
        with h5py.File(live, "r") as a, h5py.File(post, "r") as b:
            k = groups_equal(a["analyses"], b["analyses"])
            check_rows(b)
        print(f"analyze: the same {k} objects as the live run")
        bad = subprocess.run([grokkit, "analyze", post, pipeline, "--force", "--set",
                              "analysis.chain_consumer.indices=\"producer/label\""],
                             env=env, capture_output=True, text=True)
        want = ('error: --set analysis.chain_consumer.indices="producer/label": '
                'analysis.1.indices: "producer/label" is of dtype string; expected an output '
                'of dtype int64')
        assert bad.returncode == 2 and want in bad.stderr.splitlines(), (bad.returncode,
                                                                          bad.stderr)
        print("analyze: a chaining error is invalid input (exit 2), at its key")

        killed = os.path.join(tmp, "killed.h5")
        cmd = ["run", pipeline, "--out", killed, "--quiet", "--set", "train.steps=400000",
               "--set", "train.checkpoint_every=20"]
        proc = subprocess.Popen([grokkit, *cmd], env=env, stdout=subprocess.DEVNULL)
        deadline = time.time() + 300  # bounds a hang only
        f, seen = None, 0
        while seen < 8 and time.time() < deadline and proc.poll() is None:
            try:
                f = f or h5py.File(killed, "r", libver="latest", swmr=True)
                g = f["analyses/producer"]
                for d in ("step", "index_set/offsets", "index_set/values", "names/offsets",
                          "names/values", "label/offsets", "label/values", "flags", "half",
                          "lists/offsets", "lists/values", "step_value"):
                    g[d].refresh()
                seen = check_rows(f, upto=len(g["step"]))
            except (OSError, KeyError):
                pass  # not created yet, or SWMR writing not started yet
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if f:
            f.close()
        assert seen >= 8, f"the live reader saw only {seen} committed rows"
        print(f"live reader checked {seen} committed rows of variable-length outputs")
        # Running the resumed run to its end would take long and the pipeline must not change,
        # so it is stopped with SIGINT at its first progress line (training under way again).
        loud = [a for a in cmd if a != "--quiet"]
        proc = subprocess.Popen([grokkit, *loud, "--resume"], env=env, stdout=subprocess.PIPE)
        for line in proc.stdout:
            if line.startswith(b"step "):
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stdout.read()
        rc = proc.wait()
        assert rc == 130 and b"resumed from checkpoint" in rest, (rc, rest)
        with h5py.File(killed, "r") as f:
            n = check_rows(f)
            for name in ("index_set", "names", "label", "lists"):
                g = f["analyses/producer/" + name]
                assert len(g["values"]) == g["offsets"][-1, -1], name
            assert f.attrs["resume_count"] == 1
        print(f"killed and resumed: {n} rows, values consistent with the offsets")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
