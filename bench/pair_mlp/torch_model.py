"""pair_mlp: the PAIR explorable's MLP ("Do machine learning models memorize or generalize?").

a+b mod 67 over pairs a <= b, 40% train = 911 pairs, full batch.
logits = ReLU((E[a] + E[b]) W_h) W_out E^T, E (67, 500) shared by both operands and tied to the
unembedding, W_h (500, 24), W_out (24, 500), no biases; float32 softmax cross-entropy; AdamW
lr 1e-3, wd 1, betas (0.9, 0.98). Same shapes as bench/pair_mlp/grokkit.toml.

Two PyTorch variants:
  reference     the formula as written, left to right: (E[a] + E[b]) W_h is (911x500)(500x24),
                then ((h W_out) E^T) is (911x24)(24x500) and (911x500)(500x67).
  same_algebra  the algebra grokkit's mlp plugin chooses for these shapes (plugins/mlp/mlp.cpp,
                is_table_cheaper and is_tied_product_cheaper): a table P = E W_h (67x24) read
                as P[a] + P[b], and h (W_out E^T) with W_out E^T (24x67) formed once. The same
                function with ~25x fewer FLOPs.
The main comparison is against `reference`; `same_algebra` separates algorithm from engine.
"""
import torch

P, D, H = 67, 500, 24
N_TRAIN = 911            # floor(0.4 * 67*68/2)
STEPS = 400              # default timed steps (M)
TARGET = {"ratio": 3.0}  # issue target: >= 3x PyTorch's best
VARIANTS = ["reference", "same_algebra"]


class PairMLP(torch.nn.Module):
    def __init__(self, same_algebra: bool):
        super().__init__()
        self.E = torch.nn.Parameter(torch.randn(P, D))
        self.W_h = torch.nn.Parameter(torch.randn(D, H) / D**0.5)
        self.W_out = torch.nn.Parameter(torch.randn(H, D) / H**0.5)
        self.same_algebra = same_algebra

    def forward(self, x):
        if self.same_algebra:
            table = self.E @ self.W_h
            h = torch.relu(table[x[:, 0]] + table[x[:, 1]])
            return h @ (self.W_out @ self.E.T)
        h = torch.relu((self.E[x[:, 0]] + self.E[x[:, 1]]) @ self.W_h)
        return (h @ self.W_out) @ self.E.T


def build(variant: str):
    """Returns (model, inputs, targets): a random dataset of the benchmark's size."""
    x = torch.randint(0, P, (N_TRAIN, 2))
    y = torch.randint(0, P, (N_TRAIN,))
    return PairMLP(variant == "same_algebra"), x, y


def loss_fn(model, x, y):
    return torch.nn.functional.cross_entropy(model(x), y)


# Matrix products per training step, as linear layers (label, M, K, N, input_needs_grad): a
# forward product (MxK)(KxN) plus its backward products, dW = X^T dY and, if the input needs a
# gradient, dX = dY W^T; each costs 2MKN FLOPs. Gathers, elementwise ops and AdamW are not
# counted (they are O(parameters + activations), not O(MKN)).
def gemms(impl: str):
    n = N_TRAIN
    if impl == "torch:reference":
        return [("x.W_h", n, D, H, True), ("h.W_out", n, H, D, True), ("u.E^T", n, D, P, True)]
    # grokkit, mirroring plugins/mlp/mlp.cpp (both choices hold at n = 911), and same_algebra
    table = 1 * P * D < n * D                               # is_table_cheaper: one shared table
    product_first = H * D * P + n * H * P < n * H * D + n * D * P   # is_tied_product_cheaper
    out = [("E.W_h (table)", P, D, H, True)] if table else [("x.W_h", n, D, H, True)]
    if product_first:
        return out + [("W_out.E^T", H, D, P, True), ("h.(W_out E^T)", n, H, P, True)]
    return out + [("h.W_out", n, H, D, True), ("u.E^T", n, D, P, True)]
