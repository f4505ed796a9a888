#!/usr/bin/env python3
"""chess_moves end to end, checked from the run file with h5py: Stockfish self-play generated
into a cache whose SHA-256 the file records; a user's PGN read with broken games skipped;
labels inside their legal-move masks; train and test games disjoint; the transformer on tokens
and the MLP on planes; the report's section gives the baselines h5py computes; bad sources refused with exit 2 and no file.
usage: chess_moves.py GROKKIT_BINARY SOURCE_DIR"""
import hashlib
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

grokkit, source = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="chess-moves-e2e-")


def pipeline(dataset, model):
    return f"""
[run]
name = "chess-moves-e2e"
seed = 4

[dataset]
plugin = "chess_moves"
{dataset}

[model]
{model}

[train]
steps = 30
lr = 1e-3
batch_size = 64
eval_every = 10
checkpoint_every = 30
"""


def run(name, text, expect=0):
    path = os.path.join(tmp, name + ".toml")
    out = os.path.join(tmp, name + ".h5")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([grokkit, "run", path, "--out", out, "--force", "--quiet"],
                       capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit(f"FAIL {name}: exit {p.returncode} (want {expect})\n{p.stdout}\n{p.stderr}")
    return out, p.stderr


def report_of(out):
    html = out + ".html"
    subprocess.run([grokkit, "report", out, "-o", html], check=True, capture_output=True)
    text = open(html).read()
    assert "Dataset chess_moves: held-out move accuracy" in text
    return text


def check_examples(f):
    d = f["dataset"]
    for part in ("train", "test"):
        off, cls, lab = (d[part + "/mask_offsets"][:], d[part + "/mask_classes"][:],
                         d[part + "/labels"][:])
        assert off.shape == (lab.size + 1,) and off[-1] == cls.size, part
        assert all(lab[i] in cls[off[i]:off[i + 1]] for i in range(lab.size)), part
        assert np.all(np.diff(off) >= 1), "every position has a legal move"
    assert not set(d["train_game"][:]) & set(d["test_game"][:]), "a game in both sets"
    assert d["move_vocabulary"].shape == (1968, 3)
    return d


# Stockfish self-play into a cache, the transformer on tokens.
cache = os.path.join(tmp, "cache")
out, _ = run("stockfish", pipeline(
    f'source = "stockfish"\nn_games = 8\nnodes = 100\nmax_plies = 40\ncache_dir = "{cache}"\n'
    'encoding = "tokens"\ntrain_fraction = 0.75',
    'plugin = "transformer"\nd_model = 32\nn_heads = 2\nd_mlp = 64'))
with h5py.File(out, "r") as f:
    d = check_examples(f)
    games = d.attrs["games_file"]
    assert games.startswith(cache), games
    with open(games, "rb") as g:
        assert d.attrs["games_sha256"] == hashlib.sha256(g.read()).hexdigest()
    assert d.attrs["n_games"] == 8 and d.attrs["n_train_games"] == 6
    assert d["train/tokens"].shape[1] == 67
    agrees = d["test_expert_agrees"][:]
    assert set(np.unique(agrees)) <= {-1, 0, 1} and (agrees >= 0).any()
    assert 0.0 <= f["metrics/test_accuracy"][-1] <= 1.0
    # The report's baselines, as h5py computes them from the file.
    uniform = np.mean(1.0 / np.diff(d["test/mask_offsets"][:]))
    known = agrees[agrees >= 0]
    text = report_of(out)
    row = "<td>uniform over the legal moves</td><td>%.4f</td>" % uniform
    assert row in text, row
    row = "<td>the expert asked again (its self-agreement)</td><td>%.4f</td><td>%d engine" % (
        known.mean(), known.size)
    assert row in text, row
    row = "step 30</td><td>%.4f</td>" % f["metrics/test_accuracy"][-1]
    assert row in text, row
# The same settings again: the cached games, the same SHA-256.
out2, _ = run("stockfish-again", pipeline(
    f'source = "stockfish"\nn_games = 8\nnodes = 100\nmax_plies = 40\ncache_dir = "{cache}"\n'
    'encoding = "planes"\ntrain_fraction = 0.75', 'plugin = "mlp"\nhidden = [32]'))
with h5py.File(out, "r") as a, h5py.File(out2, "r") as b:
    assert a["dataset"].attrs["games_sha256"] == b["dataset"].attrs["games_sha256"]
    assert b["dataset/train/features"].shape[1] == 781

# A user's PGN: broken games skipped and counted, the good ones used.
fixture = os.path.join(source, "datasets/chess/tests/data/mixed.pgn")
out, _ = run("pgn", pipeline(f'source = "pgn"\npgn = "{fixture}"\nencoding = "planes"\n'
                             'train_fraction = 0.5', 'plugin = "mlp"\nhidden = [16]'))
with h5py.File(out, "r") as f:
    d = check_examples(f)
    assert d.attrs["n_games"] == 4 and d.attrs["games_unreadable"] == 5
    assert (d["test_expert_agrees"][:] == -1).all()
    text = report_of(out)
    assert "No expert self-agreement" in text and "asked again" not in text

# Bad sources: exit 2, a clear message, no file.
for name, dataset, message in [
        ("no-file", 'source = "pgn"', 'source = "pgn" needs the file'),
        ("missing", f'source = "pgn"\npgn = "{tmp}/nothing.pgn"', "cannot open"),
        ("filtered", f'source = "pgn"\npgn = "{fixture}"\nmin_rating = 2000',
         "no game of"),
        ("elo", 'source = "stockfish"\nskill_levels = [21]', "skill_levels")]:
    out, err = run(name, pipeline(dataset, 'plugin = "mlp"\nhidden = [8]'), expect=2)
    assert message in err, (name, err)
    assert not os.path.exists(out), name
print("PASS: chess_moves end to end")
