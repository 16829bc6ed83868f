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


def timed(module, args, max_steps):
    t = time.perf_counter()
    passes, *_ = module.run(*args, 1e-7, max_steps)
    return time.perf_counter() - t, int(passes.sum())


def main():
    warm, _ = WORKLOADS["W1"][1]()
    dask.run(*warm.args("float64"), 1e-7, 10)  # start the cluster, compile on every worker
    for name in ("W1", "LARGE"):
        block, max_steps = WORKLOADS[name][1]()
        args = block.args("float64")
        H = args[3]
        walls = {}
        for label, module in (("cpu", cpu), ("dask", dask)):
            runs = [timed(module, args, max_steps) for _ in range(3)]
            walls[label] = float(np.median([w for w, _ in runs]))
            steps = runs[0][1]
        print(f"{name:<6} {H.shape[1]:>10,} configs  cpu {walls['cpu']:7.3f} s  "
              f"dask {walls['dask']:7.3f} s  dask/cpu {walls['dask'] / walls['cpu']:.2f}  "
              f"({steps / walls['dask']:.3g} config-steps/s on dask)")


if __name__ == "__main__":
    main()
