#!/usr/bin/env python3
"""low_temperature on noisy_experts, checked from the run file alone: the experts' rewards are
their accuracies in /dataset; the exact mixture's closed form equals a majority vote computed
here; the trained model follows the empirical mixture within its intervals and transcends with
independent errors, not with shared ones; playing episodes agrees with the oracle; a SIGKILL
in the middle of the episodes resumes to the same values.
usage: low_temperature.py GROKKIT_BINARY SOURCE_DIR"""
import os
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def run(grokkit, toml, out, *sets):
    args = [grokkit, "run", toml, "--out", out, "--quiet"]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def texts(group, row=-1):
    """The strings of a variable-length output at one row (run file: values + offsets)."""
    off, values = group["offsets"][row], group["values"]
    return [bytes(values[off[i]:off[i + 1]]).decode() for i in range(len(off) - 1)]


def tempered_correct(mix, correct, t):
    """Expected reward over the states of sampling at temperature t from rows `mix`."""
    top = mix.max(axis=1, keepdims=True)
    if t == 0:
        w = (mix >= top * (1 - 1e-12)) & (mix > 0)  # ties up to rounding split evenly
    else:
        w = np.where(mix > 0, (mix / top) ** (1 / t), 0.0)
    w = w / w.sum(axis=1, keepdims=True)
    return w[np.arange(len(correct)), correct].mean()


def check_file(path, weights, transcends):
    with h5py.File(path, "r") as f:
        correct = f["dataset/correct_action"][:]
        choice = f["dataset/expert_action"][:]
        n_states, n_actions = len(correct), int(f["dataset"].attrs["n_actions"])
        o, e = f["analyses/oracle"], f["analyses/episodes"]
        t = o["temperature"][-1]
        assert texts(o["mode"]) == ["oracle"] and texts(e["mode"]) == ["episodes"]
        # Experts: their measured reward is their accuracy over the states, exactly.
        accuracy = (choice == correct).mean(axis=1)
        assert np.allclose(o["expert_reward"][-1], accuracy, rtol=0, atol=1e-12), accuracy
        # The exact mixture's closed form, recomputed: a weighted vote at T -> 0.
        w = np.asarray(weights, float) / np.sum(weights)
        mix = np.zeros((n_states, n_actions))
        for k in range(len(w)):
            mix[np.arange(n_states), choice[k]] += w[k]
        names = texts(o["reference"])
        assert names == ["exact mixture", "empirical mixture"], names
        ref = o["reference_reward"][-1]
        for i, ti in enumerate(t):
            assert abs(ref[0, i] - tempered_correct(mix, correct, ti)) < 1e-12, (ti, ref[0, i])
        assert abs(ref[0, list(t).index(1.0)] - accuracy @ w) < 1e-12
        # The trained model follows the empirical mixture within its intervals.
        r, lo, hi = o["reward"][-1], o["reward_lower"][-1], o["reward_upper"][-1]
        assert ((ref[1] >= lo) & (ref[1] <= hi)).all(), (r, ref[1])
        # Episodes measure the same expectation as the oracle.
        er, elo, ehi = e["reward"][-1], e["reward_lower"][-1], e["reward_upper"][-1]
        assert (abs(er - r) <= (hi - lo) / 2 + (ehi - elo) / 2).all(), (er, r)
        assert (e["scored"][-1] == 100).all() and (e["aborted"][-1] == 0).all()
        # Each episode's record, "state:action" per step with * where right, gives its reward.
        records = texts(e["episode_record"])
        n_players = len(t) + len(accuracy)
        assert len(records) == n_players * 100, len(records)
        for p in range(n_players):
            steps = [rec.split() for rec in records[p * 100:(p + 1) * 100]]
            share = np.mean([sum(x.endswith("*") for x in st) / len(st) for st in steps])
            mean = er[p] if p < len(t) else e["expert_reward"][-1][p - len(t)]
            assert abs(share - mean) < 1e-12, (p, share, mean)
        assert "rating" not in e and "opponent" not in e  # no rated opponents here
        for g in (o, e):
            assert bool(g["transcends"][-1]) == transcends, (path, g["margin"][-1])
            assert (g["margin"][-1] > 0) == transcends
        best = int(np.argmax(r))
        assert o["best_temperature"][-1] == t[best] and o["best_reward"][-1] == r[best]
        return r[0], accuracy.max()


def main(grokkit, source):
    toml = os.path.join(source, "examples", "transcendence-toy.toml")
    small = ["dataset.n_states=600", "dataset.episodes=100", "train.steps=600"]
    weights = [1, 1, 1, 1, 1]
    with tempfile.TemporaryDirectory() as tmp:
        independent = os.path.join(tmp, "independent.h5")
        run(grokkit, toml, independent, *small)
        cold, best = check_file(independent, weights, True)
        print(f"independent errors: {cold:.3f} at T = 0 against the best expert's {best:.3f}")
        shared = os.path.join(tmp, "shared.h5")
        run(grokkit, toml, shared, *small, "dataset.error_correlation=1.0")
        cold, best = check_file(shared, weights, False)
        print(f"shared errors: {cold:.3f} at T = 0 against the best expert's {best:.3f}")
        # Episodes side by side give the same values as one at a time.
        one = os.path.join(tmp, "one.h5")
        run(grokkit, toml, one, *small, "analysis.1.workers=1")
        two = os.path.join(tmp, "two.h5")
        run(grokkit, toml, two, *small, "analysis.1.workers=2")
        with h5py.File(one, "r") as a, h5py.File(two, "r") as b:
            for name in ("reward", "reward_lower", "expert_reward", "margin"):
                assert np.array_equal(a["analyses/episodes"][name][:],
                                      b["analyses/episodes"][name][:]), name
        print("episodes: 1 and 2 workers give the same values")
        # SIGKILL while the episodes are played (longer episodes), then --resume.
        slow = small + ["dataset.episode_length=400"]
        whole = os.path.join(tmp, "whole.h5")
        run(grokkit, toml, whole, *slow)
        killed = os.path.join(tmp, "killed.h5")
        args = [grokkit, "run", toml, "--out", killed, "--progress-interval", "0"]
        for s in slow:
            args += ["--set", s]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        for line in p.stdout:
            if "episodes 300/1400" in line:
                os.kill(p.pid, signal.SIGKILL)
                break
        p.wait()
        assert p.returncode == -signal.SIGKILL, p.returncode
        with h5py.File(killed, "r", swmr=True) as f:  # a killed SWMR writer's file
            assert len(f["analyses/episodes/step"]) == 0
            committed = len(f["analyses/episodes/items/index"])
            assert 300 <= committed < 1400, committed
        subprocess.run(args[:5] + ["--resume", "--quiet"] + args[7:], check=True,
                       stdout=subprocess.DEVNULL)
        with h5py.File(whole, "r") as a, h5py.File(killed, "r") as b:
            def same(x, y):
                if isinstance(x, h5py.Group):
                    for name in x:
                        if name != "items":
                            same(x[name], y[name])
                else:
                    assert np.array_equal(x[:], y[:], equal_nan=x.dtype.kind == "f"), x.name
            same(a["analyses/episodes"], b["analyses/episodes"])
        print(f"killed after {committed} of 1400 episodes, resumed to the same values")
        html = os.path.join(tmp, "r.html")
        subprocess.run([grokkit, "report", independent, "-o", html], check=True,
                       stdout=subprocess.DEVNULL)
        text = open(html).read()
        assert "Low-temperature sampling (oracle)" in text and "Transcends:" in text
        assert "Low-temperature sampling (episodes)" in text
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
