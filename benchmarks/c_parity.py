"""bpbench on parity-8 against a C program that trains one network at a time, on one core.

    python benchmarks/c_parity.py [--seeds 512] [--steps 200] [--repeat 3]

The kernels issue's yardstick for a classic benchmark beyond the post: parity-8 (8-8-1, trained
biases, the 256 patterns) from SEEDS random starts, gradient descent at lr 1, STEPS steps each
with no early stop (tol 1e-300, no margin), one thread. benchmarks/c_parity.c is built twice
with the system C compiler: strict (-O3 -march=native -ffp-contract=off, libm's exp) and fast
(-O3 -march=native -ffast-math -fno-finite-math-only). Prints config-steps per second, each
the best of --repeat runs, and the ratios bpbench/C, with the CPU's ISA.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba

import bpbench
from bpbench.bench import isa

HERE = Path(__file__).parent
FLAGS = {"strict": ["-O3", "-march=native", "-ffp-contract=off"],
         "fast": ["-O3", "-march=native", "-ffast-math", "-fno-finite-math-only"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=512)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("c_parity.py: no C compiler (cc or $CC) on PATH")
    numba.set_num_threads(1)
    kw = dict(problem="parity-8", seed={"start": 0, "num": a.seeds}, lr=1.0, margin=0.0,
              tol=1e-300, max_steps=a.steps)
    rates = {}
    for mode in ("exact", "fast"):
        bpbench.sweep("sgd", fast=mode == "fast", **dict(kw, seed=0, max_steps=1))  # compile
        best = 0.0
        for _ in range(a.repeat):
            t = time.perf_counter()
            df = bpbench.sweep("sgd", fast=mode == "fast", **kw)
            best = max(best, len(df) * a.steps / (time.perf_counter() - t))
            assert (df.status == "max_steps").all() or (df.status != "converged").all()
        rates[f"bpbench {mode}"] = best
    with tempfile.TemporaryDirectory() as folder:
        for mode, flags in FLAGS.items():
            binary = Path(folder) / f"c_parity_{mode}"
            subprocess.run([cc, *flags, str(HERE / "c_parity.c"), "-o", str(binary), "-lm"],
                           check=True)
            best = 0.0
            for _ in range(a.repeat):
                out = subprocess.run([str(binary), str(a.seeds), str(a.steps), "1.0"],
                                     capture_output=True, text=True, check=True).stdout.split()
                best = max(best, int(out[0]) / float(out[1]))
            rates[f"C {mode}"] = best
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    print(f"ISA: {isa()}   one thread   parity-8, sgd lr 1, {a.seeds} seeds x {a.steps} steps"
          f"   C: {version.splitlines()[0]}")
    for name, r in rates.items():
        print(f"{name:<16} {r:14,.0f} config-steps/s")
    print(f"bpbench exact / C strict: {rates['bpbench exact'] / rates['C strict']:.2f}x   "
          f"bpbench fast / C fast: {rates['bpbench fast'] / rates['C fast']:.2f}x   "
          f"bpbench fast / C strict: {rates['bpbench fast'] / rates['C strict']:.2f}x")


if __name__ == "__main__":
    main()
