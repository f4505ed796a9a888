#!/usr/bin/python3
"""Side-by-side speed of grokkit and PyTorch (CPU, float32) on the same models; see bench/README.md.

For each case (a folder beside this file with grokkit.toml and torch_model.py):
  grokkit  `grokkit run <case>/grokkit.toml --set train.steps=N` for N = N1 and N2 = N1 + M,
           alternately, `repeats` times; ms/step = (min T(N2) - min T(N1)) / M, so start-up,
           dataset generation, the step-0 and final evaluation and file writing cancel.
           Peak RSS from os.wait4's rusage.
  PyTorch  torch_model.py's model on a random dataset of the same size, full-batch AdamW, in
           one subprocess per setting {torch.set_num_threads(1, 2)} x {OPENBLAS_NUM_THREADS=1, 2}
           x {glibc malloc as is, "+malloc": MALLOC_MMAP_THRESHOLD_=32 MiB and
           MALLOC_TRIM_THRESHOLD_=1 GiB, so freed tensors are reused instead of being unmapped
           and page-faulted in again every step}: `warmup` steps, then M steps timed in
           `repeats` blocks; ms/step = the fastest block's mean. Peak RSS from os.wait4.
  BLAS     numpy float32 matmul (numpy and PyTorch both use the system OpenBLAS) on the
           case's matrix-product shapes: the largest one is the "BLAS ceiling"; the sum over
           every product of a step (forward and backward) is the "GEMM-only" time.
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
ALL_CASES = ["pair_mlp", "mlp_p113", "nanda_transformer"]
# (torch threads, OPENBLAS_NUM_THREADS, glibc malloc tuned): the thread grid, then the same with
# malloc kept from returning big blocks to the kernel (glibc mmaps blocks >= 128 KiB by default
# and unmaps them on free, so every step page-faults its activations in again).
TORCH_SETTINGS = [(t, b, mt) for mt in (False, True) for t in (1, 2) for b in (1, 2)]
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
GROKKIT_THREADS = 2                                          # [run] threads in every grokkit.toml


def load_case(case):
    spec = importlib.util.spec_from_file_location(f"bench_{case}", os.path.join(BENCH, case, "torch_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- matrix-product bookkeeping ----------------------------------------------------------------

def expand(entry):
    """(label, M, K, N, input_needs_grad[, batch]) -> the products of one training step, each
    (label, M, K, N, trans_a, trans_b, batch): forward X W, dW = X^T dY, dX = dY W^T."""
    label, m, k, n, dx = entry[:5]
    batch = entry[5] if len(entry) > 5 else 1
    out = [(label, m, k, n, False, False, batch), (label + " dW", k, m, n, True, False, batch)]
    if dx:
        out.append((label + " dX", m, n, k, False, True, batch))
    return out


def step_flops(entries):
    return sum(2.0 * m * k * n * b for e in entries for (_, m, k, n, _, _, b) in expand(e))


def largest(entries):
    """The largest plain (unbatched) forward product of a case."""
    plain = [e for e in entries if (e[5] if len(e) > 5 else 1) == 1]
    return max(plain, key=lambda e: e[1] * e[2] * e[3])


# --- subprocess helpers ------------------------------------------------------------------------

QUIET = {"max_wait_s": 60.0, "busy_threshold": 0.15, "log": []}


def cpu_busy(interval=0.5):
    """Share of all CPUs busy over `interval` seconds (from /proc/stat), i.e. other processes'
    load while this script sleeps."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]          # total, idle + iowait
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet():
    """Waits (up to QUIET["max_wait_s"]) until other processes leave the CPUs nearly idle, so a
    measurement does not share them; logs the busy share it started with."""
    deadline = time.monotonic() + QUIET["max_wait_s"]
    busy = cpu_busy()
    while busy > QUIET["busy_threshold"] and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    QUIET["log"].append(busy)
    return busy


def run_measured(cmd, env=None, cwd=ROOT, quiet=True):
    """Runs cmd; returns (wall seconds, peak RSS MB, exit status, stdout, stderr, CPU seconds)."""
    if quiet and QUIET["max_wait_s"] > 0:
        wait_quiet()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return (wall, usage.ru_maxrss / 1024.0, proc.returncode, out.read().decode(), err.read().decode(),
                usage.ru_utime + usage.ru_stime)


def worker_env(openblas_threads, malloc_tuned=False):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(openblas_threads)
    for k in MALLOC_TUNED:
        env.pop(k, None)
    if malloc_tuned:
        env.update(MALLOC_TUNED)
    return env


def setting_name(t, b, malloc_tuned):
    return f"t{t}/ob{b}" + ("+malloc" if malloc_tuned else "")


def run_worker(args, openblas_threads, malloc_tuned=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + [str(a) for a in args]
    wall, rss, rc, out, err, _ = run_measured(cmd, env=worker_env(openblas_threads, malloc_tuned))
    if rc != 0:
        raise RuntimeError(f"worker {args} failed ({rc}):\n{err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = rss
    result["wall_s"] = wall
    return result


# --- workers (run in their own process so OPENBLAS_NUM_THREADS applies) ------------------------

def worker_torch(case, variant, torch_threads, steps, warmup, repeats):
    import torch
    torch.set_num_threads(int(torch_threads))
    m = load_case(case)
    torch.manual_seed(0)
    model, x, y = m.build(variant)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = m.loss_fn(model, x, y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(int(warmup)):
        step()
    steps, repeats = int(steps), int(repeats)
    block = max(1, -(-steps // repeats))
    blocks, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(block):
            loss = step()
        blocks.append((time.perf_counter() - t0) / block * 1e3)
        cpu.append((time.process_time() - c0) / block * 1e3)
    return {"ms_per_step": min(blocks), "blocks_ms": blocks, "steps_per_block": block,
            "cpu_ms_per_step": cpu[blocks.index(min(blocks))],
            "loss": float(loss), "torch_threads": torch.get_num_threads(),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}


def best_seconds(fn, min_time=0.05, rounds=5):
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if time.perf_counter() - t0 >= min_time / 4 or reps >= 1 << 16:
            break
        reps *= 2
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def worker_env_info(cases):
    """BLAS facts under this process's OPENBLAS_NUM_THREADS: torch and numpy 2048^2 matmul,
    numpy on every product shape of the cases, the BLAS library actually mapped."""
    import numpy as np
    import torch
    rng = np.random.default_rng(0)
    info = {"openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    c = torch.empty(2048, 2048)
    info["torch_matmul_2048_gflops"] = 2 * 2048**3 / best_seconds(lambda: torch.matmul(a, b, out=c), 0.3, 3) / 1e9
    an, bn = a.numpy(), b.numpy()
    cn = np.empty((2048, 2048), np.float32)
    info["numpy_matmul_2048_gflops"] = 2 * 2048**3 / best_seconds(lambda: np.matmul(an, bn, out=cn), 0.3, 3) / 1e9
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path or "lapack" in path:
                libs.add(path)
    info["blas_libraries"] = sorted(libs)
    shapes = {}
    for case in cases.split(","):
        m = load_case(case)
        for impl in ["grokkit"] + [f"torch:{v}" for v in m.VARIANTS]:
            for e in m.gemms(impl):
                for (_, mm, k, n, ta, tb, batch) in expand(e):
                    key = f"{mm}x{k}x{n}:{'t' if ta else 'n'}{'t' if tb else 'n'}"
                    if batch != 1 or key in shapes:
                        continue
                    x = rng.standard_normal((k, mm) if ta else (mm, k), dtype=np.float32)
                    w = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
                    xa, wb = (x.T if ta else x), (w.T if tb else w)
                    out = np.empty((mm, n), np.float32)
                    s = best_seconds(lambda: np.matmul(xa, wb, out=out), 0.02)
                    shapes[key] = {"seconds": s, "gflops": 2 * mm * k * n / s / 1e9}
    info["shapes"] = shapes
    info["torch_version"] = torch.__version__
    info["torch_config"] = torch.__config__.show()
    info["torch_parallel_info"] = torch.__config__.parallel_info()
    info["numpy_version"] = np.__version__
    return info


def worker_cases(cases):
    """What the parent needs from each torch_model.py, so that the parent never imports torch
    (see run_measured: a child's ru_maxrss starts from its launcher's)."""
    out = {}
    for case in cases.split(","):
        m = load_case(case)
        impls = ["grokkit"] + [f"torch:{v}" for v in m.VARIANTS]
        out[case] = {"steps": m.STEPS, "variants": m.VARIANTS, "target": m.TARGET,
                     "summary": " ".join((m.__doc__ or "").strip().split("\n\n")[0].split()).split(": ", 1)[-1],
                     "gemms": {impl: [list(e) for e in m.gemms(impl)] for impl in impls}}
    return out


def shape_key(m, k, n, ta, tb):
    return f"{m}x{k}x{n}:{'t' if ta else 'n'}{'t' if tb else 'n'}"


# --- the parent ----------------------------------------------------------------------------------

def grokkit_version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return "?"


def read_run_attrs(path):
    try:
        import h5py
        with h5py.File(path, "r") as f:
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()
                    if k in ("blas_kernel", "threads", "git_revision", "grokkit_version")}
    except Exception as exc:  # h5py missing or file unreadable: the report says so
        return {"error": str(exc)}


class GrokkitBench:
    """`grokkit run` at N1 and N2 = N1 + M steps; rounds can be spread over the case's PyTorch
    runs so both see the same machine. ms/step = (min T(N2) - min T(N1)) / M."""

    def __init__(self, binary, case, n1, m, tmp):
        self.binary, self.n1, self.m = binary, n1, m
        self.toml = os.path.join("bench", case, "grokkit.toml")
        self.out = os.path.join(tmp, f"{case}.h5")
        self.times = {n1: [], n1 + m: []}
        self.cpu = {n1: [], n1 + m: []}
        self.rss = 0.0

    def round(self):
        for n in (self.n1, self.n1 + self.m):
            cmd = [self.binary, "run", self.toml, "--out", self.out, "--force", "--quiet", "--set", f"train.steps={n}"]
            wall, peak, rc, stdout, stderr, cpu_s = run_measured(cmd)
            if rc != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({rc}):\n{stdout}{stderr}")
            self.times[n].append(wall)
            self.cpu[n].append(cpu_s)
            self.rss = max(self.rss, peak)

    def result(self):
        n1, n2, m = self.n1, self.n1 + self.m, self.m
        t = self.times
        return {"ms_per_step": (min(t[n2]) - min(t[n1])) / m * 1e3, "n1": n1, "n2": n2,
                "t_n1_s": t[n1], "t_n2_s": t[n2],
                "per_round_ms_per_step": [(b - a) / m * 1e3 for a, b in zip(t[n1], t[n2])],
                "cpu_ms_per_step": (min(self.cpu[n2]) - min(self.cpu[n1])) / m * 1e3,
                "peak_rss_mb": self.rss, "run_file": self.out}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated (default: all)")
    ap.add_argument("--steps", type=int, help="timed steps M per case (default: each case's STEPS)")
    ap.add_argument("--n1", type=int, default=10, help="grokkit's shorter run (default 10 steps)")
    ap.add_argument("--repeats", type=int, default=3, help="grokkit run pairs / PyTorch timed blocks (default 3)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed PyTorch steps (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="M/4, 1 repeat, 2 warm-up steps, reference PyTorch variants only")
    ap.add_argument("--no-variants", action="store_true", help="skip the algorithm-matched PyTorch variants")
    ap.add_argument("--quiet-wait", type=float, default=60.0, metavar="S",
                    help="before each measured process wait up to S s for the CPUs to be <15%% busy "
                         "with other work (default 60; 0: never wait)")
    ap.add_argument("--grokkit", default=os.path.join(ROOT, "build", "bin", "grokkit"))
    ap.add_argument("--json", help="results file (default bench/out/results-<date>.json)")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        kind, rest = args.worker[0], args.worker[1:]
        workers = {"torch": worker_torch, "env": worker_env_info, "cases": worker_cases}
        print(json.dumps(workers[kind](*rest)))
        return 0

    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if not os.path.isfile(os.path.join(BENCH, c, "torch_model.py")):
            ap.error(f"unknown case {c!r}; expected some of {','.join(ALL_CASES)}")
    if not os.access(args.grokkit, os.X_OK):
        ap.error(f"{args.grokkit} not found; build first: cmake --build build -j2")
    repeats, warmup = (1, 2) if args.quick else (args.repeats, args.warmup)
    variants_too = not (args.quick or args.no_variants)
    QUIET["max_wait_s"] = args.quiet_wait

    load_before = os.getloadavg()
    started = datetime.datetime.now()
    print(f"grokkit vs PyTorch, {started:%Y-%m-%d %H:%M}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; load average {load_before[0]:.2f}", flush=True)

    # The parent never imports torch, numpy or h5py while it launches measured processes: Linux
    # carries a launcher's RSS high-water mark into its child across exec, so a child's
    # ru_maxrss is at least the launcher's (the floor, measured by launching /bin/true).
    # Wall-clock time is what is compared; CPU time (user + system, all threads) is reported
    # beside it: on a busy machine it shows whether a slow figure is contention.
    floor_mb = run_measured(["/bin/true"], quiet=False)[1]
    meta = run_worker(["cases", ",".join(cases)], 1)
    env_info = {}
    for b in (1, 2):
        print(f"  BLAS: numpy/torch matmul with OPENBLAS_NUM_THREADS={b} ...", flush=True)
        env_info[b] = run_worker(["env", ",".join(cases)], b)
    config = env_info[2]["torch_config"]
    blas_line = next((s.strip() for s in config.replace(",", "\n").splitlines() if "BLAS_INFO" in s), "?")

    results = {}
    with tempfile.TemporaryDirectory(prefix="grokkit-bench-") as tmp:
        for case in cases:
            steps = args.steps or meta[case]["steps"]
            if args.quick:
                steps = max(4, steps // 4)
            gk = GrokkitBench(args.grokkit, case, args.n1, steps, tmp)
            print(f"{case}: grokkit steps {args.n1} and {args.n1 + steps}, round 1/{repeats} ...", flush=True)
            gk.round()
            r = {"summary": meta[case]["summary"], "target": meta[case]["target"], "steps": steps, "torch": {}}
            variants = meta[case]["variants"]
            for variant in (variants if variants_too else variants[:1]):
                runs = []
                for (t, b, mt) in TORCH_SETTINGS:
                    name = setting_name(t, b, mt)
                    print(f"{case}: torch {variant} {name} ...", flush=True)
                    w = run_worker(["torch", case, variant, t, steps, warmup, repeats], b, mt)
                    w["setting"] = name
                    runs.append(w)
                r["torch"][variant] = {"settings": runs}
            for i in range(1, repeats):
                print(f"{case}: grokkit steps {args.n1} and {args.n1 + steps}, round {i + 1}/{repeats} ...", flush=True)
                gk.round()
            r["grokkit"] = gk.result()
            results[case] = r
        load_after = os.getloadavg()
        for r in results.values():   # h5py only now: nothing is launched after this
            r["grokkit"]["run_attrs"] = read_run_attrs(r["grokkit"].pop("run_file"))

    # --- derived numbers ---
    ceil_info = env_info[GROKKIT_THREADS]["shapes"]
    for case, r in results.items():
        gemms = meta[case]["gemms"]
        r["flops"] = {"grokkit": step_flops(gemms["grokkit"])}
        for v in r["torch"]:
            r["flops"][f"torch:{v}"] = step_flops(gemms[f"torch:{v}"])
        big = largest(gemms["grokkit"])
        key = shape_key(big[1], big[2], big[3], False, False)
        r["ceiling"] = {"shape": f"({big[1]}x{big[2]})({big[2]}x{big[3]})", "label": big[0],
                        "gflops": ceil_info[key]["gflops"], "gflops_1thread": env_info[1]["shapes"][key]["gflops"]}

        def gemm_only_ms(impl):
            total = 0.0
            for e in gemms[impl]:
                for (_, mm, k, n, ta, tb, batch) in expand(e):
                    if batch == 1:
                        total += ceil_info[shape_key(mm, k, n, ta, tb)]["seconds"]
            return total * 1e3

        r["gemm_only_ms"] = {impl: gemm_only_ms(impl) for impl in r["flops"]}
        g = r["grokkit"]
        g["gflops"] = r["flops"]["grokkit"] / g["ms_per_step"] / 1e6
        g["pct_of_ceiling"] = 100.0 * g["gflops"] / r["ceiling"]["gflops"]
        for v, tv in r["torch"].items():
            tv["best"] = min(tv["settings"], key=lambda w: w["ms_per_step"])
            tv["best_default_malloc"] = min((w for w in tv["settings"] if "+malloc" not in w["setting"]),
                                            key=lambda w: w["ms_per_step"])
            for which in ("best", "best_default_malloc"):
                tv[which]["gflops"] = r["flops"][f"torch:{v}"] / tv[which]["ms_per_step"] / 1e6
            tv["ratio_torch_over_grokkit"] = tv["best"]["ms_per_step"] / g["ms_per_step"]
            tv["ratio_default_malloc"] = tv["best_default_malloc"]["ms_per_step"] / g["ms_per_step"]

    kernel = next((r["grokkit"]["run_attrs"].get("blas_kernel") for r in results.values()), "?")
    machine = {"nproc": os.cpu_count(), "cpu": cpu_model(), "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
               "grokkit_blas_kernel": kernel, "grokkit": grokkit_version(args.grokkit),
               "torch": env_info[2]["torch_version"], "numpy": env_info[2]["numpy_version"],
               "torch_blas_info": blas_line, "torch_parallel_info": env_info[2]["torch_parallel_info"],
               "blas_libraries": env_info[2]["blas_libraries"], "python": platform.python_version(),
               "rss_floor_mb": floor_mb, "cpu_busy_before_each_measurement": QUIET["log"],
               "load_average_before": load_before, "load_average_after": load_after}

    # --- report ---
    print()
    print(f"machine: {machine['nproc']} CPUs ({machine['cpu']}); OPENBLAS_CORETYPE={machine['openblas_coretype_env']}; "
          f"grokkit blas_kernel={kernel}; torch {machine['torch']}, numpy {machine['numpy']}")
    print(f"grokkit: {machine['grokkit'].splitlines()[0] if machine['grokkit'] else '?'}")
    print(f"PyTorch {blas_line}; BLAS libraries mapped in the PyTorch process: "
          f"{', '.join(machine['blas_libraries']) or '?'}")
    for b in (1, 2):
        e = env_info[b]
        print(f"2048x2048 float32 matmul, OPENBLAS_NUM_THREADS={b}: torch.matmul {e['torch_matmul_2048_gflops']:.1f} "
              f"GFLOP/s, numpy {e['numpy_matmul_2048_gflops']:.1f} GFLOP/s")
    busy = sorted(QUIET["log"])
    busy_text = (f"other work on the CPUs just before each of {len(busy)} measured processes: median "
                 f"{100 * busy[len(busy) // 2]:.0f}%, max {100 * busy[-1]:.0f}%" if busy else "not waiting for idle CPUs")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}; {busy_text}; "
          f"peak-RSS floor (/bin/true launched the same way) {floor_mb:.1f} MB")
    print()
    head = ("case", "grokkit ms/step", "torch best ms/step (setting)", "ratio torch/grokkit",
            "torch best, default malloc", "ratio", "grokkit peak MB", "torch peak MB")
    rows = []
    for case, r in results.items():
        ref = r["torch"][meta[case]["variants"][0]]
        bd = ref["best_default_malloc"]
        rows.append((case, f"{r['grokkit']['ms_per_step']:.2f}",
                     f"{ref['best']['ms_per_step']:.2f} ({ref['best']['setting']})",
                     f"{ref['ratio_torch_over_grokkit']:.2f}x", f"{bd['ms_per_step']:.2f} ({bd['setting']})",
                     f"{ref['ratio_default_malloc']:.2f}x", f"{r['grokkit']['peak_rss_mb']:.0f}",
                     f"{ref['best']['peak_rss_mb']:.0f}"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths)))
    print("torch setting tT/obB[+malloc] = torch.set_num_threads(T), OPENBLAS_NUM_THREADS=B[, glibc malloc tuned];\n"
          "torch peak MB is the best setting's process; grokkit: [run] threads = 2")

    for case, r in results.items():
        g = r["grokkit"]
        print(f"\n{case}: {r['summary']}")
        print(f"  M = {r['steps']} timed steps; grokkit T({g['n1']}) = {min(g['t_n1_s']):.2f} s, "
              f"T({g['n2']}) = {min(g['t_n2_s']):.2f} s (min of {len(g['t_n1_s'])}); rounds on their own "
              + ", ".join(f"{x:.2f}" for x in g["per_round_ms_per_step"])
              + f" ms/step; CPU {g['cpu_ms_per_step']:.2f} ms/step")
        c = r["ceiling"]
        print(f"  BLAS ceiling (numpy sgemm on grokkit's largest product, {c['label']} {c['shape']}): "
              f"{c['gflops']:.1f} GFLOP/s on {GROKKIT_THREADS} threads ({c['gflops_1thread']:.1f} on 1)")
        print(f"  {'implementation':<17} {'MFLOP/step':>10} {'ms/step':>8} {'GFLOP/s':>8} {'GEMM-only ms':>12}  notes")
        print(f"  {'grokkit':<17} {r['flops']['grokkit'] / 1e6:>10.1f} {g['ms_per_step']:>8.2f} {g['gflops']:>8.1f} "
              f"{r['gemm_only_ms']['grokkit']:>12.2f}  {g['pct_of_ceiling']:.0f}% of the BLAS ceiling")
        for v, tv in r["torch"].items():
            b = tv["best"]
            print(f"  {'torch ' + v:<17} {r['flops']['torch:' + v] / 1e6:>10.1f} {b['ms_per_step']:>8.2f} "
                  f"{b['gflops']:>8.1f} {r['gemm_only_ms']['torch:' + v]:>12.2f}  best {b['setting']}, "
                  f"{tv['ratio_torch_over_grokkit']:.2f}x grokkit; CPU {b['cpu_ms_per_step']:.2f} ms/step")
            print("      ms/step (peak MB) by setting: " + ", ".join(
                f"{w['setting']} {w['ms_per_step']:.2f} ({w['peak_rss_mb']:.0f})" for w in tv["settings"]))
    print("\nMFLOP/step: 2MKN over every forward and backward matrix product the implementation performs "
          "(elementwise work, gathers and AdamW not counted); GEMM-only ms: those products timed one by one "
          f"with numpy on {GROKKIT_THREADS} OpenBLAS threads, a floor for any implementation that does them.")

    for case, r in results.items():
        peak = max(e["numpy_matmul_2048_gflops"] for e in env_info.values())
        if r["grokkit"]["gflops"] > 1.05 * peak:
            print(f"\nwarning: {case}: grokkit's {r['grokkit']['gflops']:.0f} GFLOP/s is above the 2048x2048 "
                  f"sgemm rate ({peak:.0f}): the FLOP count in bench/{case}/torch_model.py (gemms(\"grokkit\")) "
                  "probably no longer matches what the plugin computes")

    print("\ntargets (issue): ratio against PyTorch's best setting; grokkit peak RSS <= PyTorch's. "
          "GEMM >= 90% of sgemm on the same shapes: the table after this one (bench/gemm_profile.py); "
          "the whole step's share of the BLAS ceiling is shown for information")
    for case, r in results.items():
        ref = r["torch"][meta[case]["variants"][0]]
        t, g = r["target"], r["grokkit"]
        ok = lambda cond: "met" if cond else "NOT met"
        checks = [f"ratio {ref['ratio_torch_over_grokkit']:.2f}x vs >= {t['ratio']:g}x: "
                  + ok(ref["ratio_torch_over_grokkit"] >= t["ratio"])]
        if "ms_per_step" in t:
            checks.append(f"{g['ms_per_step']:.1f} ms/step vs <= {t['ms_per_step']:g}: " + ok(g["ms_per_step"] <= t["ms_per_step"]))
        checks.append(f"RSS {g['peak_rss_mb']:.0f} vs {ref['best']['peak_rss_mb']:.0f} MB: "
                      + ok(g["peak_rss_mb"] <= ref["best"]["peak_rss_mb"]))
        checks.append(f"whole step at {g['pct_of_ceiling']:.0f}% of the BLAS ceiling")
        r["targets"] = checks
        print(f"  {case}: " + "; ".join(checks))

    path = args.json or os.path.join(BENCH, "out", f"results-{started:%Y-%m-%d}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"date": started.isoformat(timespec="seconds"), "machine": machine,
                   "options": {"cases": cases, "n1": args.n1, "repeats": repeats, "warmup": warmup,
                               "quick": args.quick, "variants": variants_too, "quiet_wait_s": args.quiet_wait,
                               "torch_settings": [setting_name(*x) for x in TORCH_SETTINGS],
                               "malloc_tuned_env": MALLOC_TUNED},
                   "blas": {str(k): v for k, v in env_info.items()}, "cases": results}, f, indent=1,
                  default=lambda o: o.item() if hasattr(o, "item") else str(o))
    print(f"\nresults: {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
