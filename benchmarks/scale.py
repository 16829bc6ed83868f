"""How bpbench scales with the network: compile time, and speed against NumPy and torch.

    python benchmarks/scale.py [--seeds N] [--steps N] [--only NAME,...] [--no-torch]
    python benchmarks/scale.py --forms [--only ...]    unrolled against looped, per problem

For each problem (the post, xor, encoders, the built-in parity-4 and parity-8, a two-hidden-layer
net):
whether it runs the unrolled or the looped kernels (network.MAX_UNROLLED), the first use of
its sgd kernel, exact and fast (a fresh process, an empty kernel cache: the first sweep's wall
time less a warm rerun's, which includes the imports and Numba's start) and its compile time
(that first sweep less a fresh process's first sweep with the kernel in the cache), then
config-steps per second over N seeds x a fixed number of steps for
bpbench cpu exact and fast (every core), the numpy backend (on a few seeds: it is slow), and a
plain torch loop that trains every restart at once (weights [restarts, out, in], torch.bmm,
autograd, float64, every core), side by side in one run, with the ratios. Every run does the
same work: gradient descent at lr 1 for exactly --steps steps (max_steps = steps, a tol no run
reaches, no margin), so config-steps = seeds x steps (the post, whose start is fixed: as many
learning rates; torch is not run there). Prints the ISA first.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from bpbench.bench import isa


def two_hidden():
    """8-6-6-8 encoder-like net: two hidden layers, 8 one-hot patterns."""
    eye = np.eye(8).tolist()
    return {"name": "two-hidden-8-6-6-8", "layers": [8, 6, 6, 8], "bias": "trained",
            "inputs": eye, "targets": eye, "init": {"dist": "uniform", "low": -1.0, "high": 1.0}}


PROBLEMS = {"post": "post", "xor": "xor", "encoder-4-2": "encoder-4-2",
            "encoder-8-3": "encoder-8-3", "encoder-10-5": "encoder-10-5",
            "encoder-16-8": "encoder-16-8", "encoder-32-16": "encoder-32-16",
            "parity-4": "parity-4", "parity-8": "parity-8", "two-hidden": two_hidden()}

COLD = """
import json, sys, time
import bpbench
problem = json.loads(sys.argv[1])
kw = dict(problem=problem, lr=1.0, max_steps=2, tol=1e-300, margin=0.0,
          fast=sys.argv[2] == "1")
if problem != "post":
    kw["seed"] = [0]
t = time.perf_counter(); bpbench.sweep("sgd", **kw); first = time.perf_counter() - t
t = time.perf_counter(); bpbench.sweep("sgd", **kw); warm = time.perf_counter() - t
print(json.dumps([first, warm]))
"""


def cold_compile(problem, fast):
    """(first use, compile) seconds of the problem's sgd kernel, each from a new process: the
    first sweep's wall time with an empty kernel cache less a warm rerun's, and less instead
    the first sweep's once that cache holds the kernel (which still pays for the imports and
    Numba's start, but compiles nothing): the time spent compiling."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [subprocess.run([sys.executable, "-c", COLD, json.dumps(problem),
                                str(int(fast))], env=env, capture_output=True, text=True)
                for _ in range(2)]
    if any(r.returncode for r in runs):
        return float("nan"), float("nan")
    (first, warm), (cached, _) = (json.loads(r.stdout) for r in runs)
    return first - warm, first - cached


def bpbench_rate(problem, seeds, steps, backend="cpu", fast=False):
    import bpbench
    kw = dict(problem=problem, lr=1.0, max_steps=steps, tol=1e-300, margin=0.0,
              backend=backend, fast=fast)
    if problem != "post":
        kw["seed"] = {"start": 0, "num": seeds}
    else:  # fixed weights: as many learning rates instead
        kw["lr"] = {"start": 0.5, "stop": 2.0, "num": seeds}
    bpbench.sweep("sgd", **dict(kw, max_steps=2, lr=1.0))  # compiled (or loaded) first
    t = time.perf_counter()
    df = bpbench.sweep("sgd", **kw)
    wall = time.perf_counter() - t
    done = (df.steps.fillna(steps).astype(float)).sum()
    return done / wall


def torch_rate(problem, seeds, steps):
    """A plain batched torch loop: every restart's weights in one tensor, float64."""
    import torch

    from bpbench import problems
    torch.set_num_threads(os.cpu_count() or 1)
    p = problems.resolve(problem)
    x = torch.tensor(p.inputs, dtype=torch.float64)
    t = torch.tensor(p.targets, dtype=torch.float64)
    L = p.layers
    gen = torch.Generator().manual_seed(0)
    Ws = [(torch.rand(seeds, L[a + 1], L[a], generator=gen, dtype=torch.float64) * 2 - 1)
          .requires_grad_() for a in range(len(L) - 1)]
    bs = [torch.zeros(seeds, L[a + 1], 1, dtype=torch.float64, requires_grad=True)
          for a in range(len(L) - 1)] if p.bias != "none" else []
    X = x.T.expand(seeds, -1, -1)  # [seeds, in, patterns]

    def step():
        y = X
        for a, W in enumerate(Ws):
            z = torch.bmm(W, y)
            y = torch.sigmoid(z + bs[a] if bs else z)
        loss = 0.5 * ((y - t.T) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            for w in Ws + bs:
                w -= w.grad
                w.grad = None
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return seeds * steps / (time.perf_counter() - start)


FORMS = ("xor", "encoder-4-2", "encoder-5-3", "encoder-6-3", "encoder-8-3")


def forms(names, seeds, steps):
    """Where network.MAX_UNROLLED should sit: each problem run both ways (forced by setting
    the threshold), exact and fast, config-steps/s (best of 3) and the first call's seconds
    (the looped kernels' usually cached by then: they serve every shape)."""
    import bpbench
    from bpbench import network
    print(f"{'problem':<14}{'params x pat':>13}{'form':>10}{'mode':>7}{'first s':>9}"
          f"{'config-steps/s':>16}")
    for name in names:
        shape = bpbench.problems.resolve(PROBLEMS.get(name, name)).shape
        for looped in (False, True):
            network.MAX_UNROLLED = 0 if looped else 10 ** 9
            network.net.cache_clear()
            for fast in (False, True):
                kw = dict(problem=PROBLEMS.get(name, name), seed={"start": 0, "num": seeds},
                          lr=1.0, max_steps=steps, tol=1e-300, margin=0.0, fast=fast)
                t = time.perf_counter()
                bpbench.sweep("sgd", **dict(kw, seed=[0], max_steps=2))
                first = time.perf_counter() - t
                best = 0.0
                for _ in range(3):
                    t = time.perf_counter()
                    df = bpbench.sweep("sgd", **kw)
                    best = max(best, df.steps.fillna(steps).sum() / (time.perf_counter() - t))
                print(f"{name:<14}{len(shape.params) * shape.patterns:>13}"
                      f"{'looped' if looped else 'unrolled':>10}{'fast' if fast else 'exact':>7}"
                      f"{first:>9.1f}{best:>16,.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--numpy-seeds", type=int, default=64)
    ap.add_argument("--only", default=None)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-compile", action="store_true", help="skip the cold compile runs")
    ap.add_argument("--forms", action="store_true",
                    help="unrolled against looped kernels on small problems instead")
    ap.add_argument("--lanes", type=int, default=None,
                    help="the looped kernels' lanes per thread (cpu.LOOPED_LANES, 256)")
    args = ap.parse_args()
    if args.lanes:
        from bpbench.backends import cpu
        cpu.LOOPED_LANES = args.lanes
    if args.forms:
        print(f"ISA: {isa()}   cores: {os.cpu_count()}   seeds: {args.seeds}   steps: "
              f"{min(args.steps, 100)}")
        forms(args.only.split(",") if args.only else FORMS, args.seeds, min(args.steps, 100))
        return
    from bpbench import problems
    names = args.only.split(",") if args.only else list(PROBLEMS)
    print(f"ISA: {isa()}   cores: {os.cpu_count()}   seeds: {args.seeds}   steps: {args.steps}"
          f"   (numpy backend: {args.numpy_seeds} seeds)")
    print(f"{'problem':<20}{'params':>7}{'pat':>5}{'kernel':>9}{'first s':>8}{'fast':>6}"
          f"{'compile s':>10}{'fast':>6}"
          f"{'exact/s':>12}{'fast/s':>12}{'numpy/s':>11}{'torch/s':>12}"
          f"{'ex/torch':>9}{'fast/torch':>11}{'ex/numpy':>9}")
    for name in names:
        problem = PROBLEMS[name]
        shape = problems.resolve(problem).shape
        (first, cold), (fast_first, fast_cold) = ((float("nan"),) * 2,) * 2
        if not args.no_compile:
            (first, cold), (fast_first, fast_cold) = (cold_compile(problem, False),
                                                      cold_compile(problem, True))
        exact = bpbench_rate(problem, args.seeds, args.steps)
        fast = bpbench_rate(problem, args.seeds, args.steps, fast=True)
        numpy = bpbench_rate(problem, args.numpy_seeds, min(args.steps, 50), "numpy")
        torch_ = float("nan")
        if not args.no_torch and name != "post":
            try:
                torch_ = torch_rate(problem, args.seeds, args.steps)
            except ImportError:
                pass
        print(f"{name:<20}{len(shape.params):>7}{shape.patterns:>5}"
              f"{'looped' if shape.looped else 'unrolled':>9}{first:>8.1f}{fast_first:>6.1f}"
              f"{cold:>10.1f}{fast_cold:>6.1f}"
              f"{exact:>12,.0f}{fast:>12,.0f}{numpy:>11,.0f}{torch_:>12,.0f}"
              f"{exact / torch_:>9.2f}{fast / torch_:>11.2f}{exact / numpy:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
