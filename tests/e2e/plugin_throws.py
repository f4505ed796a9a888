#!/usr/bin/env python3
"""A plugin that throws mid-run (the fixture analysis `tiles`, at step 20 of 30): the run stops
with exit 1 and an error naming the analysis, its plugin and the step, whether the plugin threw
grokkit::error or a plain std::runtime_error; the file keeps every row committed before it
(metrics to step 20, checkpoints 0, 10, 20, the analysis's rows at 0 and 10); once the cause is
gone, --resume completes it, identical to a run that never failed.
usage: plugin_throws.py GROKKIT_BINARY FIXTURE_DIR COMPARE_RUNS"""
import os
import subprocess
import sys
import tempfile

import h5py

PIPELINE = """
[run]
name = "throws"
seed = 1

[dataset]
plugin = "modular_arithmetic"
modulus = 7

[model]
plugin = "linear"

[train]
steps = 30
checkpoint_every = 10
eval_every = 5

[[analysis]]
plugin = "tiles"
at = "checkpoints"
mode = "{mode}"
at_step = 20
unless_exists = "{release}"
"""


def run(grokkit, env, toml, out, *extra):
    return subprocess.run([grokkit, "run", toml, "--out", out, "--quiet", *extra],
                          capture_output=True, text=True, env=env)


def check_stopped(p, out, mode):
    assert p.returncode == 1, (mode, p.returncode, p.stderr)
    assert "analysis 'tiles' (plugin tiles) at step 20" in p.stderr, p.stderr
    assert "--resume" in p.stderr, p.stderr
    assert ("std::runtime_error" if mode == "throw" else "failing on purpose") in p.stderr
    with h5py.File(out, "r") as f:
        assert list(f["metrics/step"]) == [0, 5, 10, 15, 20], list(f["metrics/step"])
        assert list(f["checkpoints/step"]) == [0, 10, 20], list(f["checkpoints/step"])
        assert list(f["analyses/tiles/step"]) == [0, 10], list(f["analyses/tiles/step"])
        assert f["analyses/tiles/grid"].shape == (2, 4, 6)  # the failed row's tile rolled back


def main(grokkit, fixtures, compare_runs):
    env = dict(os.environ, GROKKIT_PLUGIN_PATH=fixtures)
    with tempfile.TemporaryDirectory() as tmp:
        release = os.path.join(tmp, "released")
        for mode in ("throw", "fail"):
            toml = os.path.join(tmp, mode + ".toml")
            open(toml, "w").write(PIPELINE.format(mode=mode, release=release))
            if os.path.exists(release):
                os.remove(release)
            out = os.path.join(tmp, mode + ".h5")
            check_stopped(run(grokkit, env, toml, out), out, mode)
            open(release, "w").close()
            p = run(grokkit, env, toml, out, "--resume")
            assert p.returncode == 0, p.stderr
            with h5py.File(out, "r") as f:
                assert f["run/status"][()].decode() == "complete"
                assert f.attrs["resume_count"] == 1
            reference = os.path.join(tmp, mode + "-reference.h5")
            p = run(grokkit, env, toml, reference)
            assert p.returncode == 0, p.stderr
            subprocess.run([sys.executable, compare_runs, out, reference], check=True)
            print(f"ok: {mode}: stopped at step 20 naming the plugin; resumed equal to a clean run")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
