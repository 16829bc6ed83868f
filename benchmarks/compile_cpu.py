"""CPU seconds one process spends compiling eight kernels, for comparing two trees.

    python benchmarks/compile_cpu.py            (run it in each checkout, alternating)

Adam and NAdam, serial and cpu, on the post's network and XOR, each compiled by a first
sweep of one configuration from an empty kernel cache (a temporary folder). A first
kernel is compiled and not counted, so Numba's own start-up is left out. CPU time of this
process (time.process_time), which a busy shared machine disturbs less than wall time.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import time
import bpbench
bpbench.sweep("rmsprop", backend="serial", lr=0.1, max_steps=3)
total = 0.0
for problem in ("post", "xor"):
    for optimizer in ("adam", "nadam"):
        for backend in ("serial", "cpu"):
            t = time.process_time()
            bpbench.sweep(optimizer, problem=problem, backend=backend, lr=0.1, max_steps=3)
            total += time.process_time() - t
print(f"{total:.2f}")
"""


def main():
    isa = "AVX-512" if "avx512f" in open("/proc/cpuinfo").read() else "AVX2"
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        env.pop("NUMBA_CACHE_DIR", None)
        # cwd: `python -c` imports bpbench from there first, so the figure is this tree's
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
    print(f"ISA: {isa}; 8 kernels (adam, nadam x serial, cpu x post, xor): "
          f"{out.stdout.strip()} CPU s to compile")


if __name__ == "__main__":
    main()
