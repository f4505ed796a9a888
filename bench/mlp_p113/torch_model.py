"""mlp_p113: Nanda-style embedding MLP on a+b mod 113.

30% train = 3,830 pairs, full batch. Separate embeddings for a and b, (113, 128) each,
concatenated -> Linear(256, 512) + bias -> ReLU -> Linear(512, 113) + bias; float32 softmax
cross-entropy; AdamW lr 1e-3, wd 1, betas (0.9, 0.98). Same shapes as
bench/mlp_p113/grokkit.toml.

Two PyTorch variants:
  reference     nn.Embedding, torch.cat, nn.Linear: (3830x256)(256x512), (3830x512)(512x113).
  same_algebra  the algebra grokkit's mlp plugin chooses for these shapes (plugins/mlp/mlp.cpp,
                is_table_cheaper): tables P_a = E_a W_1[:128] and P_b = E_b W_1[128:]
                (113x512 each), hidden = ReLU(P_a[a] + P_b[b] + b_1). The same function with
                ~3x fewer FLOPs.
The main comparison is against `reference`; `same_algebra` separates algorithm from engine.
"""
import torch

P, D, H = 113, 128, 512
N_TRAIN = 3830           # floor(0.3 * 113^2)
STEPS = 100
TARGET = {"ratio": 2.0}  # issue target: >= 2x PyTorch's best
VARIANTS = ["reference", "same_algebra"]


class EmbedMLP(torch.nn.Module):
    def __init__(self, same_algebra: bool):
        super().__init__()
        self.embed_a = torch.nn.Embedding(P, D)
        self.embed_b = torch.nn.Embedding(P, D)
        self.hidden = torch.nn.Linear(2 * D, H)
        self.out = torch.nn.Linear(H, P)
        self.same_algebra = same_algebra

    def forward(self, x):
        if self.same_algebra:
            w = self.hidden.weight                       # (H, 2D), nn.Linear's layout
            table_a = self.embed_a.weight @ w[:, :D].T   # (P, H)
            table_b = self.embed_b.weight @ w[:, D:].T
            h = torch.relu(table_a[x[:, 0]] + table_b[x[:, 1]] + self.hidden.bias)
            return self.out(h)
        e = torch.cat([self.embed_a(x[:, 0]), self.embed_b(x[:, 1])], dim=1)
        return self.out(torch.relu(self.hidden(e)))


def build(variant: str):
    x = torch.randint(0, P, (N_TRAIN, 2))
    y = torch.randint(0, P, (N_TRAIN,))
    return EmbedMLP(variant == "same_algebra"), x, y


def loss_fn(model, x, y):
    return torch.nn.functional.cross_entropy(model(x), y)


# (label, M, K, N, input_needs_grad); see bench/pair_mlp/torch_model.py.
def gemms(impl: str):
    n = N_TRAIN
    out = [("h.W2", n, H, P, True)]
    if impl == "torch:reference":
        return [("x.W1", n, 2 * D, H, True)] + out
    # grokkit, mirroring plugins/mlp/mlp.cpp (is_table_cheaper: 2 tables x 113 x 128 < 3830 x 256),
    # and same_algebra
    if 2 * P * D < n * 2 * D:
        return [("E_a.W1a (table)", P, D, H, True), ("E_b.W1b (table)", P, D, H, True)] + out
    return [("x.W1", n, 2 * D, H, True)] + out
