"""nanda_transformer: Nanda et al. (2023), "Progress measures for grokking via mechanistic
interpretability" — the 1-layer transformer on a+b mod 113.

Inputs "a b =" (vocabulary 114), 30% train = 3,830 pairs, full batch. d_model 128, 4 heads of
32, MLP 128 -> 512 -> 128 with biases, ReLU, no LayerNorm, unembedding (128, 113) as in
grokkit (Nanda's code unembeds to all 114 tokens); float32 softmax cross-entropy at the last
position (Nanda computes it in float64); AdamW lr 1e-3, wd 1, betas (0.9, 0.98), no warm-up.
Same shapes as bench/nanda_transformer/grokkit.toml.

Two PyTorch variants:
  reference     Nanda's released code (transformers.py) without its identity HookPoints and
                with einops.rearrange spelled as permute/reshape: einsum products, parameter
                layouts as his, attention/MLP/unembedding computed at all 3 positions although
                the loss reads only the last.
  same_algebra  the algebra grokkit's transformer plugin uses (plugins/transformer,
                transformer_table.cpp and transformer_passes.cpp): block 0's input is one of
                114 x 3 rows E[token] + W_pos[t], so Q, K, V are products of that (342, 128)
                table, gathered per example; the query, attention output, MLP and unembedding
                only at the last position.
The main comparison is against `reference`; `same_algebra` separates algorithm from engine.
"""
import torch
import torch.nn.functional as F

P = 113
VOCAB = P + 1            # "=" is token 113
N_CTX = 3
D, N_HEADS, D_HEAD, D_MLP = 128, 4, 32, 512
N_TRAIN = 3830
STEPS = 60
TARGET = {"ratio": 3.0, "ms_per_step": 80.0}   # issue target: >= 3x PyTorch's best, <= 80 ms/step
VARIANTS = ["reference", "same_algebra"]


class Transformer(torch.nn.Module):
    def __init__(self, same_algebra: bool):
        super().__init__()
        r = torch.randn
        self.W_E = torch.nn.Parameter(r(D, VOCAB) / D**0.5)
        self.W_pos = torch.nn.Parameter(r(N_CTX, D) / D**0.5)
        self.W_K = torch.nn.Parameter(r(N_HEADS, D_HEAD, D) / D**0.5)
        self.W_Q = torch.nn.Parameter(r(N_HEADS, D_HEAD, D) / D**0.5)
        self.W_V = torch.nn.Parameter(r(N_HEADS, D_HEAD, D) / D**0.5)
        self.W_O = torch.nn.Parameter(r(D, D_HEAD * N_HEADS) / D**0.5)
        self.W_in = torch.nn.Parameter(r(D_MLP, D) / D**0.5)
        self.b_in = torch.nn.Parameter(torch.zeros(D_MLP))
        self.W_out = torch.nn.Parameter(r(D, D_MLP) / D**0.5)
        self.b_out = torch.nn.Parameter(torch.zeros(D))
        self.W_U = torch.nn.Parameter(r(D, P) / P**0.5)
        self.register_buffer("mask", torch.tril(torch.ones((N_CTX, N_CTX))))
        self.register_buffer("positions", torch.arange(N_CTX))
        self.same_algebra = same_algebra

    def attention(self, x):
        k = torch.einsum("ihd,bpd->biph", self.W_K, x)
        q = torch.einsum("ihd,bpd->biph", self.W_Q, x)
        v = torch.einsum("ihd,bpd->biph", self.W_V, x)
        pre = torch.einsum("biph,biqh->biqp", k, q)
        masked = torch.tril(pre) - 1e10 * (1 - self.mask[: x.shape[-2], : x.shape[-2]])
        attn = F.softmax(masked / D_HEAD**0.5, dim=-1)
        z = torch.einsum("biph,biqp->biqh", v, attn)
        z_flat = z.permute(0, 2, 1, 3).reshape(z.shape[0], z.shape[2], -1)   # b i q h -> b q (i h)
        return torch.einsum("df,bqf->bqd", self.W_O, z_flat)

    def mlp(self, x):
        h = F.relu(torch.einsum("md,bpd->bpm", self.W_in, x) + self.b_in)
        return torch.einsum("dm,bpm->bpd", self.W_out, h) + self.b_out

    def forward_same_algebra(self, tokens):
        n, hd = tokens.shape[0], N_HEADS * D_HEAD
        table = (self.W_E.T[:, None, :] + self.W_pos[None, :, :]).reshape(VOCAB * N_CTX, D)
        w_qkv = torch.cat([w.reshape(hd, D) for w in (self.W_Q, self.W_K, self.W_V)]).T   # (D, 3 hd)
        qkv = table @ w_qkv                                   # (342, 384)
        rows = tokens * N_CTX + self.positions                # (n, 3) table row per position
        last = rows[:, -1]
        q = qkv[last, :hd].reshape(n, N_HEADS, D_HEAD)
        kv = qkv[rows, hd:]                                   # (n, 3, 2 hd)
        k = kv[..., :hd].reshape(n, N_CTX, N_HEADS, D_HEAD)
        v = kv[..., hd:].reshape(n, N_CTX, N_HEADS, D_HEAD)
        attn = F.softmax(torch.einsum("bih,bpih->bip", q, k) / D_HEAD**0.5, dim=-1)  # last query sees all
        z = torch.einsum("bip,bpih->bih", attn, v).reshape(n, hd)
        x = table[last] + z @ self.W_O.T
        x = x + F.relu(x @ self.W_in.T + self.b_in) @ self.W_out.T + self.b_out
        return x @ self.W_U

    def forward(self, tokens):
        if self.same_algebra:
            return self.forward_same_algebra(tokens)
        x = torch.einsum("dbp -> bpd", self.W_E[:, tokens]) + self.W_pos[: tokens.shape[-1]]
        x = x + self.attention(x)
        x = x + self.mlp(x)
        return (x @ self.W_U)[:, -1]                 # all positions unembedded, last one used


def build(variant: str):
    ab = torch.randint(0, P, (N_TRAIN, 2))
    x = torch.cat([ab, torch.full((N_TRAIN, 1), P)], dim=1)
    y = torch.randint(0, P, (N_TRAIN,))
    return Transformer(variant == "same_algebra"), x, y


def loss_fn(model, x, y):
    return F.cross_entropy(model(x), y)


# (label, M, K, N, input_needs_grad[, batch]); see bench/pair_mlp/torch_model.py. Entries with
# batch > 1 are the per-(example, head) attention products: counted in the FLOPs, left out of
# the numpy GEMM-time sum (they are batched 3x32 products, not BLAS-sized GEMMs).
def gemms(impl: str):
    n, hd = N_TRAIN, N_HEADS * D_HEAD
    rows = n * N_CTX
    if impl == "torch:reference":
        return [
            ("x.W_Q", rows, D, hd, True), ("x.W_K", rows, D, hd, True), ("x.W_V", rows, D, hd, True),
            ("q.k^T", N_CTX, D_HEAD, N_CTX, True, n * N_HEADS),
            ("attn.v", N_CTX, N_CTX, D_HEAD, True, n * N_HEADS),
            ("z.W_O", rows, hd, D, True),
            ("x.W_in", rows, D, D_MLP, True), ("h.W_out", rows, D_MLP, D, True),
            ("x.W_U", rows, D, P, True),
        ]
    # grokkit, mirroring plugins/transformer (is_table_cheaper: vocab 114 < n examples, so block
    # 0's Q | K | V is one (342, 128) x (128, 384) product on the token table; last block at the
    # last position only), and same_algebra
    qkv = [("table.W_QKV", VOCAB * N_CTX, D, 3 * hd, True)] if VOCAB < n else [
        ("x.W_KV", rows, D, 2 * hd, True), ("x_last.W_Q", n, D, hd, True)]
    return qkv + [
        ("q.k^T", 1, D_HEAD, N_CTX, True, n * N_HEADS),
        ("attn.v", 1, N_CTX, D_HEAD, True, n * N_HEADS),
        ("z.W_O", n, hd, D, True),
        ("x.W_in", n, D, D_MLP, True), ("h.W_out", n, D_MLP, D, True),
        ("x.W_U", n, D, P, True),
    ]
