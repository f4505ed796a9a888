#!/usr/bin/env python3
"""Tiled outputs end to end, with the fixture analysis `tiles`: the blocks land where they were
written; an analysis that fails after writing a tile leaves no trace of it (the file holds the
committed rows only); tiles that leave a gap, or a tile written to an untiled output, are errors
naming the analysis and the output.
usage: tiles.py GROKKIT_BINARY FIXTURE_DIR"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PIPELINE = """
[run]
name = "tiles"
seed = 1

[dataset]
plugin = "modular_arithmetic"
modulus = 7

[model]
plugin = "linear"

[train]
steps = 20
checkpoint_every = 10
eval_every = 10

[[analysis]]
plugin = "tiles"
at = "checkpoints"
"""


def run(grokkit, tmp, extra, env):
    toml = os.path.join(tmp, "p.toml")
    open(toml, "w").write(PIPELINE + extra)
    out = os.path.join(tmp, "t.h5")
    p = subprocess.run([grokkit, "run", toml, "--out", out, "--quiet", "--force"],
                       capture_output=True, text=True, env=env)
    return p, out


def main(grokkit, fixtures):
    env = dict(os.environ, GROKKIT_PLUGIN_PATH=fixtures)
    with tempfile.TemporaryDirectory() as tmp:
        p, out = run(grokkit, tmp, "", env)
        assert p.returncode == 0, p.stderr
        with h5py.File(out, "r") as f:
            g = f["analyses/tiles/grid"]
            assert g.shape == (3, 4, 6)
            for row, step in enumerate([0, 10, 20]):
                want = step * 100 + np.arange(4)[:, None] * 10 + np.arange(6)[None, :]
                assert np.array_equal(g[row], want), (row, g[row])
        # Failing after one tile at step 10: the tile is rolled back with the row.
        p, out = run(grokkit, tmp, 'mode = "fail"\nat_step = 10\n', env)
        assert p.returncode != 0 and "failing on purpose" in p.stderr, p.stderr
        with h5py.File(out, "r") as f:
            a = f["analyses/tiles"]
            assert list(a["step"]) == [0]
            assert a["grid"].shape == (1, 4, 6) and a["plain"].shape == (1,)
        p, out = run(grokkit, tmp, 'mode = "gap"\nat_step = 0\n', env)
        assert p.returncode != 0, p.stderr
        assert "tiles.run" in p.stderr and "cover 16 elements" in p.stderr, p.stderr
        p, out = run(grokkit, tmp, 'mode = "untiled"\nat_step = 0\n', env)
        assert p.returncode != 0 and "not declared tiled" in p.stderr, p.stderr
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
