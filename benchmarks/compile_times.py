"""Cold compile time of the serial and cpu kernels, per problem shape.

    python benchmarks/compile_times.py [--fast] [--without flat|memo] [post xor encoder-4-2 ...]
    python benchmarks/compile_times.py --again [--fast]

Each measurement runs in a fresh process with an empty kernel cache (a temporary
XDG_CACHE_HOME), and times the first sweep of one configuration for 3 steps: import excluded,
compile (and the tiny run) included. --fast: the fast-mode kernels. --without flat: Numba
compiles the kernel's entry point as it is, without flat.flatten writing the formulas into
it; --without memo: without _typing_memo's memo of operator typing (what each tool saves).
--again: in one fresh process, the looped kernels' first sweep for sgd on encoder-10-5, then
for two more rules (which reuse the stages the first compiled, loops.stage), then sgd on two
more shapes (which compile nothing).
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import contextlib, sys, time, types
import bpbench
from bpbench import kernels
if sys.argv[4] == "flat":  # each function as it is (a kernel's entry point under the
    kernels.flatten = lambda f, filename=None: types.FunctionType(  # template's file name)
        f.__code__.replace(co_filename=filename or f.__code__.co_filename), f.__globals__,
        f.__name__)
if sys.argv[4] == "memo":
    kernels._typing_memo.installed = contextlib.nullcontext
t = time.perf_counter()
bpbench.sweep("rmsprop", problem=sys.argv[1], backend=sys.argv[2], lr=0.1, max_steps=3,
              fast=sys.argv[3] == "fast")
print(f"{time.perf_counter() - t:.2f}")
"""


AGAIN = """
import sys, time
import bpbench
for optimizer, problem in [("sgd", "encoder-10-5"), ("adam", "encoder-10-5"),
                           ("rmsprop", "encoder-10-5"), ("sgd", "parity-8"),
                           ("sgd", "encoder-32-16")]:
    t = time.perf_counter()
    bpbench.sweep(optimizer, problem=problem, seed=[0], lr=0.1, max_steps=3,
                  fast=sys.argv[1] == "fast")
    print(f"{optimizer:<8} {problem:<13} {time.perf_counter() - t:5.2f} s", flush=True)
"""


def again(mode):
    """AGAIN in a fresh process with an empty kernel cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        env.pop("NUMBA_CACHE_DIR", None)
        subprocess.run([sys.executable, "-c", AGAIN, mode], env=env, cwd=ROOT, check=True)


def main(problems, mode, without):
    isa = "AVX-512" if "avx512f" in open("/proc/cpuinfo").read() else "AVX2"
    print(f"ISA: {isa}, {os.cpu_count()} cores; rmsprop, simultaneous, float64, {mode}"
          + (f", without {without}" if without != "-" else ""))
    for problem in problems:
        for backend in ("serial", "cpu"):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, XDG_CACHE_HOME=cache)
                env.pop("NUMBA_CACHE_DIR", None)
                # cwd: `python -c` imports bpbench from there first, so the figures are
                # this tree's, whatever the caller's working directory
                out = subprocess.run([sys.executable, "-c", CHILD, problem, backend, mode,
                                      without], env=env, cwd=ROOT, capture_output=True,
                                     text=True, check=True)
            print(f"{problem:<12} {backend:<7} {out.stdout.strip():>7} s cold")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "-h" in args or "--help" in args:
        sys.exit(__doc__)
    mode = "fast" if "--fast" in args else "exact"
    if "--again" in args:
        print(f"ISA: {'AVX-512' if 'avx512f' in open('/proc/cpuinfo').read() else 'AVX2'}, "
              f"{os.cpu_count()} cores; {mode}; one process, first sweep of each, seconds")
        sys.exit(again(mode))
    without = "-"
    if "--without" in args:
        at = args.index("--without")
        without = args[at + 1] if at + 1 < len(args) else ""
        if without not in ("flat", "memo"):
            sys.exit("compile_times.py: --without takes flat or memo")
        del args[at:at + 2]
    main([a for a in args if a != "--fast"] or ["post", "xor", "encoder-4-2"], mode, without)
