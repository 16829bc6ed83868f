"""GPU benchmark: W1, XOR restarts (R1) and a 1,048,576-configuration RMSprop grid on the
cuda backend.

Run on a machine with an NVIDIA GPU and bpbench[cuda] installed:

    python benchmarks/gpu.py

Prints config-steps/s per workload and dtype, and how many configurations differ from the
CPU backend's exact float64 result (step count or status).
"""
import time

import numpy as np
from numba import cuda

from bpbench.backends import cpu
from bpbench.backends import cuda as gpu
from bpbench.bench import WORKLOADS


def main():
    dev = cuda.get_current_device()
    print(f"GPU: {dev.name.decode() if isinstance(dev.name, bytes) else dev.name}")
    for name in ("W1", "R1", "LARGE"):
        block, max_steps = WORKLOADS[name][1]()
        margin = block.problem.margin or 0.0
        ref = cpu.run(*block.args("float64"), 1e-7, max_steps, margin)
        for dtype in ("float64", "float32"):
            gpu.run(*block.args(dtype, 0, 256), 1e-7, 5, margin)  # compile
            t = time.perf_counter()
            passes, status, *_ = gpu.run(*block.args(dtype), 1e-7, max_steps, margin)
            wall = time.perf_counter() - t
            differ = int(np.sum((passes != ref[0]) | (status != ref[1])))
            print(f"{name:<6} {dtype:<8} configs {passes.size:>10,}  config-steps "
                  f"{passes.sum():>14,}  wall {wall:8.3f} s  {passes.sum() / wall:10.3g}/s  "
                  f"differ from CPU exact float64: {differ} ({100 * differ / passes.size:.3f}%)")


if __name__ == "__main__":
    main()
