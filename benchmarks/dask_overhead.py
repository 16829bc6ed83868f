"""The dask backend's overhead against the cpu backend on one machine.

    python benchmarks/dask_overhead.py

Runs W1 and LARGE (bpbench/bench.py) on both backends (a LocalCluster with one
single-threaded worker per core) and prints wall seconds and the ratio. The cluster is
started, and every worker has loaded its kernels, before anything is timed.
"""
import time

import numpy as np

from bpbench.backends import cpu, dask
from bpbench.bench import WORKLOADS
from bpbench.training import constants


def timed(module, block, H, K, max_steps):
    t = time.perf_counter()
    passes, *_ = module.run(block.optimizer, block.order, H, K, 1e-7, max_steps)
    return time.perf_counter() - t, int(passes.sum())


def main():
    K = constants("float64")
    warm, _ = WORKLOADS["W1"][1]()
    dask.run(warm.optimizer, warm.order, warm.table("float64"), K, 1e-7, 10)  # start, compile
    for name in ("W1", "LARGE"):
        block, max_steps = WORKLOADS[name][1]()
        H = block.table("float64")
        walls = {}
        for label, module in (("cpu", cpu), ("dask", dask)):
            runs = [timed(module, block, H, K, max_steps) for _ in range(3)]
            walls[label] = float(np.median([w for w, _ in runs]))
            steps = runs[0][1]
        print(f"{name:<6} {H.shape[1]:>10,} configs  cpu {walls['cpu']:7.3f} s  "
              f"dask {walls['dask']:7.3f} s  dask/cpu {walls['dask'] / walls['cpu']:.2f}  "
              f"({steps / walls['dask']:.3g} config-steps/s on dask)")


if __name__ == "__main__":
    main()
