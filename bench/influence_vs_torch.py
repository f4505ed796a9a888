#!/usr/bin/env python3
"""Per-example gradients and Hessian-vector products, grokkit against PyTorch on the CPU, in
one command: the same models, sizes, loss and precision (float32); prints ms for each, the
best setting of each side, and the ratio PyTorch / grokkit.

Cases:
  pair_mlp  the PAIR explorable's MLP, 911 pairs over 67 tokens, E (67, 500) shared and tied,
            W_h (500, 24), W_out (24, 500), no biases, ReLU, loss averaged over examples and
            classes: 57,500 parameters
  softmax   softmax regression, 2,000 points in R^256, 10 classes, with a bias: 2,570 parameters

PyTorch (Debian's 1.13, OpenBLAS), each variant with torch.set_num_threads(1) and (2), the best
taken:
  per-example gradients  a loop of one-example backward passes, and functorch.vmap(grad(...))
  HVP  double backward: `fresh` builds the gradient's graph for every product (forward, backward
       with create_graph, backward of g.v); `retained` builds it once and reuses it
       (autograd.grad(g, params, v, retain_graph=True)) as CG at fixed parameters can
grokkit (build/bin/grokkit-curvature-bench, 1 and 2 threads, the best taken):
  per-example gradients  grokkit::example_gradients: one forward and one batched backward
  HVP  curvature_product::apply (Hessian; forward cached, like `retained`), and a new
       curvature_product plus one apply (like `fresh`)
Rows: "HVP in a solve" is the issue's comparison, PyTorch's double backward against the product
CG makes with grokkit; "both reuse" gives PyTorch the same reuse of the forward pass, "both
rebuild" takes it from grokkit. The issue's target is >= 3x.

usage: bench/influence_vs_torch.py [--build DIR] [--cases pair_mlp,softmax] [--repeats 5]
                                   [--hvps 50] [--json FILE]"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import functorch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pair_mlp"))
from torch_model import PairMLP  # noqa: E402  the pair_mlp training bench's model


def pair_case():
    torch.manual_seed(0)
    model = PairMLP(same_algebra=False)
    x = torch.randint(0, 67, (911, 2))
    y = (x[:, 0] + x[:, 1]) % 67
    # PAIR's loss: the mean over examples and classes.
    return model, x, y, lambda logits, t: torch.nn.functional.cross_entropy(logits, t) / 67


def softmax_case():
    torch.manual_seed(0)
    model = torch.nn.Linear(256, 10)
    x = torch.randn(2000, 256)
    y = torch.randint(0, 10, (2000,))
    return model, x, y, torch.nn.functional.cross_entropy


CASES = {"pair_mlp": pair_case, "softmax": softmax_case}


def best_ms(f, repeats, inner=1):
    f()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        best = min(best, (time.perf_counter() - t0) * 1e3 / inner)
    return best


def torch_times(case, threads, repeats, hvps):
    torch.set_num_threads(threads)
    model, x, y, loss_fn = CASES[case]()
    params = list(model.parameters())
    n = x.shape[0]

    def loop():
        rows = []
        for i in range(n):
            g = torch.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), params)
            rows.append(torch.cat([t.reshape(-1) for t in g]))
        return torch.stack(rows)

    fmodel, fparams = functorch.make_functional(model)

    def one_loss(p, xi, yi):
        return loss_fn(fmodel(p, xi.unsqueeze(0)), yi.unsqueeze(0))

    per_example = functorch.vmap(functorch.grad(one_loss), in_dims=(None, 0, 0))

    def vmapped():
        return per_example(fparams, x, y)

    v = [torch.randn_like(p) for p in params]

    def fresh():
        g = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)
        return torch.autograd.grad(sum((a * b).sum() for a, b in zip(g, v)), params)

    graph = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)

    def retained():
        return torch.autograd.grad(graph, params, grad_outputs=v, retain_graph=True)

    return {"loop": best_ms(loop, max(1, repeats // 2)),
            "vmap": best_ms(vmapped, repeats),
            "hvp_fresh": best_ms(fresh, repeats, hvps),
            "hvp_retained": best_ms(retained, repeats, hvps)}


def grokkit_times(binary, case, threads, repeats, hvps):
    out = subprocess.run([binary, case, "--threads", str(threads), "--repeats", str(repeats),
                          "--hvps", str(hvps)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--cases", default="pair_mlp,softmax")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hvps", type=int, default=50)
    ap.add_argument("--json")
    a = ap.parse_args()
    binary = os.path.join(a.build, "bin", "grokkit-curvature-bench")
    results = []
    print(f"{'case':10} {'what':22} {'PyTorch ms':>11} {'(best of)':>22} {'grokkit ms':>11} "
          f"{'ratio':>7}")
    cases = a.cases.split(",")
    # grokkit first: PyTorch's OpenMP threads keep spinning for a while after its work, which
    # would take a core from a grokkit process timed after them.
    grokkit_all = {c: {th: grokkit_times(binary, c, th, a.repeats, a.hvps) for th in (1, 2)}
                   for c in cases}
    for case in cases:
        t = {th: torch_times(case, th, a.repeats, a.hvps) for th in (1, 2)}
        g = grokkit_all[case]

        def best_torch(keys):
            return min((t[th][k], f"{k}, {th} thread{'s' * (th > 1)}")
                       for th in (1, 2) for k in keys)

        def best_grokkit(key):
            return min((g[th][key], th) for th in (1, 2))

        rows = [("per-example gradients", best_torch(["loop", "vmap"]),
                 best_grokkit("example_gradients_ms")),
                ("HVP in a solve", best_torch(["hvp_fresh"]), best_grokkit("hvp_ms")),
                ("HVP, both reuse", best_torch(["hvp_retained"]), best_grokkit("hvp_ms")),
                ("HVP, both rebuild", best_torch(["hvp_fresh"]),
                 best_grokkit("hvp_with_forward_ms"))]
        for what, (tm, tsetting), (gm, gth) in rows:
            print(f"{case:10} {what:22} {tm:11.3f} {tsetting:>22} {gm:11.3f} {tm / gm:6.1f}x")
            results.append({"case": case, "what": what, "torch_ms": tm, "torch_setting": tsetting,
                            "grokkit_ms": gm, "grokkit_threads": gth, "ratio": tm / gm})
        results.append({"case": case, "torch": t, "grokkit": g})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
