"""Cold compile time of the serial and cpu kernels, per problem shape.

    python benchmarks/compile_times.py [--fast] [post xor encoder-4-2 ...]

Each measurement runs in a fresh process with an empty kernel cache (a temporary
XDG_CACHE_HOME), and times the first sweep of one configuration for 3 steps: import excluded,
compile (and the tiny run) included. --fast: the fast-mode kernels.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
import bpbench
t = time.perf_counter()
bpbench.sweep("rmsprop", problem=sys.argv[1], backend=sys.argv[2], lr=0.1, max_steps=3,
              fast=sys.argv[3] == "fast")
print(f"{time.perf_counter() - t:.2f}")
"""


def main(problems, mode):
    isa = "AVX-512" if "avx512f" in open("/proc/cpuinfo").read() else "AVX2"
    print(f"ISA: {isa}, {os.cpu_count()} cores; rmsprop, simultaneous, float64, {mode}")
    for problem in problems:
        for backend in ("serial", "cpu"):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, XDG_CACHE_HOME=cache)
                env.pop("NUMBA_CACHE_DIR", None)
                # cwd: `python -c` imports bpbench from there first, so the figures are
                # this tree's, whatever the caller's working directory
                out = subprocess.run([sys.executable, "-c", CHILD, problem, backend, mode], env=env,
                                     cwd=ROOT, capture_output=True, text=True, check=True)
            print(f"{problem:<12} {backend:<7} {out.stdout.strip():>7} s cold")


if __name__ == "__main__":
    args = sys.argv[1:]
    mode = "fast" if "--fast" in args else "exact"
    main([a for a in args if a != "--fast"] or ["post", "xor", "encoder-4-2"], mode)
