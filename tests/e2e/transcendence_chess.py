#!/usr/bin/env python3
"""low_temperature on chess_moves against the real Stockfish, checked from the run file alone:
every game is stored as PGN that chess-pgn reads back with none skipped; the scores follow from
the games' results and colours; the Elo performance ratings solve their equation against the
opponents' ratings; the report offers the games as a PGN file identical to the run file's.
Invariants only, never game outcomes.
usage: transcendence_chess.py GROKKIT_BINARY CHESS_PGN_BINARY"""
import base64
import math
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PIPELINE = """
[run]
name = "transcendence-chess-test"
seed = 0
threads = 2

[dataset]
plugin = "chess_moves"
source = "stockfish"
n_games = 8
nodes = 50
skill_levels = [0, 1]
encoding = "planes"
cache_dir = "{cache}"
opponents = [1, 3]
opponent_ratings = [1554, 1867]
eval_games = 2
eval_nodes = 50
eval_max_plies = 60

[model]
plugin = "mlp"
hidden = [64]

[train]
steps = 40
lr = 1e-3
eval_every = 20
checkpoint_every = 40

[[analysis]]
plugin = "low_temperature"
at = "end"
temperatures = [0.0, 1.0]
records_file = "{tmp}/games-{{step}}.pgn"
"""


def texts(group, row=-1):
    off, values = group["offsets"][row], group["values"]
    return [bytes(values[off[i]:off[i + 1]]).decode() for i in range(len(off) - 1)]


def tag(pgn, name):
    return re.search(r'\[%s "([^"]*)"\]' % name, pgn).group(1)


def elo_performance(opponents, total):
    """The rating whose expected score against `opponents` is `total` (bisection)."""
    if total <= 0:
        return -math.inf
    if total >= len(opponents):
        return math.inf
    lo, hi = -10000.0, 10000.0
    for _ in range(200):
        mid = (lo + hi) / 2
        expected = sum(1 / (1 + 10 ** ((r - mid) / 400)) for r in opponents)
        lo, hi = (mid, hi) if expected < total else (lo, mid)
    return (lo + hi) / 2


def main(grokkit, chess_pgn):
    with tempfile.TemporaryDirectory() as tmp:
        toml = os.path.join(tmp, "chess.toml")
        open(toml, "w").write(PIPELINE.format(cache=os.path.join(tmp, "cache"), tmp=tmp))
        out = os.path.join(tmp, "chess.h5")
        subprocess.run([grokkit, "run", toml, "--out", out, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        with h5py.File(out, "r") as f:
            g = f["analyses/low_temperature"]
            records = texts(g["episode_record"])
            n_t, n_e = len(g["temperature"][-1]), len(texts(g["expert"]))
            n_episodes = 4  # 2 opponents x 2 games
            assert len(records) == (n_t + n_e) * n_episodes, len(records)
            assert ((g["scored"][-1] + g["aborted"][-1]) == n_episodes).all()
            assert texts(g["opponent"]) == ["Stockfish skill 1, 50 nodes",
                                            "Stockfish skill 3, 50 nodes"]
            ratings = list(g["opponent_rating"][-1])
            pgn = os.path.join(tmp, "games.pgn")
            open(pgn, "w").write("".join(records))
            # The same games in the records_file, "{step}" replaced by the checkpoint's step.
            assert open(os.path.join(tmp, "games-40.pgn")).read() == "".join(records)
            listing = subprocess.run([chess_pgn, pgn], check=True, capture_output=True,
                                     text=True).stdout
            assert f"loaded {len(records)} games, skipped 0" in listing, listing[-300:]
            for p in range(n_t + n_e):
                games = records[p * n_episodes:(p + 1) * n_episodes]
                scores, opponents = [], []
                for e, game in enumerate(games):
                    white = e % 2 == 0  # the player is White in even games
                    player = tag(game, "White" if white else "Black")
                    assert player.startswith("model, T = ") == (p < n_t), player
                    result = tag(game, "Result")
                    if result == "*":
                        continue  # aborted: recorded, never scored
                    scores.append({"1-0": 1.0 if white else 0.0, "0-1": 0.0 if white else 1.0,
                                   "1/2-1/2": 0.5}[result])
                    opponents.append(ratings[e // 2])
                reward = g["reward"][-1][p] if p < n_t else g["expert_reward"][-1][p - n_t]
                assert abs(np.mean(scores) - reward) < 1e-12, (p, scores, reward)
                elo = g["elo"][-1][p] if p < n_t else g["expert_elo"][-1][p - n_t]
                want = elo_performance(opponents, sum(scores))
                assert (math.isinf(want) and want == elo) or abs(elo - want) < 1e-6, (elo, want)
                rd = g["rating_deviation"][-1][p] if p < n_t else \
                    g["expert_rating_deviation"][-1][p - n_t]
                assert 0 < rd < 350
        html = os.path.join(tmp, "r.html")
        subprocess.run([grokkit, "report", out, "-o", html], check=True,
                       stdout=subprocess.DEVNULL)
        page = open(html).read()
        assert "Rating against temperature" in page
        link = re.search(r'href="data:application/x-chess-pgn;base64,([^"]*)"', page)
        assert link and base64.b64decode(link.group(1)).decode() == "".join(records)
    print(f"{len(records)} games stored as PGN, read back, scored and rated consistently")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
