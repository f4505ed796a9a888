#!/usr/bin/env bash
# The fourier_probe runs at every checkpoint of a real run; its outputs have the declared
# shapes, units and axes, and an untrained model has no key-frequency structure while a
# trained one fits its training set.
# usage: fourier_probe.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
grokkit="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$grokkit" run "$src/analyses/fourier_probe/example.toml" --out "$tmp/p.h5" --quiet >/dev/null
/usr/bin/python3 - "$tmp/p.h5" <<'PY'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
g = f["analyses/fourier_probe"]
steps = list(g["step"][:])
assert steps == list(f["checkpoints/step"][:]) == [0, 100, 200], steps
p = 23
k = p // 2 + 1
n = g["neuron_freq_energy"].shape[1]
assert g["embed_freq_norm"].shape == (3, k)
assert g["neuron_freq_energy"].shape == (3, n, k) and n == 64
assert g["key_frequencies"].shape == (3, 8)
assert g["restricted_loss"].shape == (3,)
assert g["restricted_loss"].attrs["units"] == "nats"
assert g["neuron_freq_energy"].attrs["axes"] == "checkpoint,neuron,frequency"
assert g.attrs["plugin"] == "fourier_probe" and g.attrs["at"] == "checkpoints"
# The probe's training loss is the trainer's own at the same step.
metrics_step = list(f["metrics/step"][:])
for i, s in enumerate(steps):
    j = metrics_step.index(s)
    assert abs(g["train_loss"][i] - f["metrics/train_loss"][j]) < 1e-4, (s, g["train_loss"][i], f["metrics/train_loss"][j])
# Parseval: per-frequency embedding norms add up to the embedding's norm.
emb = f["checkpoints/params/embed_a"][-1][:p]
assert abs(np.sum(g["embed_freq_norm"][-1] ** 2) - np.sum(emb.astype(float) ** 2)) < 1e-3 * np.sum(emb ** 2)
assert 0.0 <= g["embed_gini"][-1] <= 1.0
print("fourier_probe outputs ok; restricted loss by checkpoint:", g["restricted_loss"][:])
PY
# Walsh mode with sampled inputs (30 bits > exact_max_bits): the order fractions of orders
# 0..max_order are unbiased estimates of shares of one whole, so they sum to at most ~1, and
# the relevant subset's share is part of its order's.
"$grokkit" run "$src/examples/pair-parity.toml" --set train.steps=1000 \
    --set train.checkpoint_every=500 --out "$tmp/parity.h5" --quiet >/dev/null
/usr/bin/python3 - "$tmp/parity.h5" <<'PY'
import sys
import h5py
import numpy as np
g = h5py.File(sys.argv[1], "r")["analyses/fourier_probe"]
orders, relevant = g["walsh_order_fraction"][:], g["walsh_relevant_fraction"][:]
sums = np.nansum(orders, axis=1)
assert ((sums > 0.9) & (sums < 1.1)).all(), sums  # clipping each subset at 0 gave 2.8
assert (orders[:, 3] >= relevant - 0.05).all(), (orders[:, 3], relevant)
print("sampled Walsh order fractions sum to", np.round(sums, 3))
PY
