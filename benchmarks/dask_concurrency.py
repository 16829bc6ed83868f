"""How many dask tasks run at once: a 262,144-configuration sweep in 65,536-configuration
chunks on a local cluster of 8 single-threaded workers (threads of this process, so a
counter around each task sees them all).

    python benchmarks/dask_concurrency.py

Prints the peak number of tasks running at once, the wall time, and whether the table
equals the cpu backend's. Before the backend kept several chunks in flight the peak was 4
(one chunk's 16,384-configuration pieces at a time).
"""
import threading
import time

import pandas as pd

import bpbench
from bpbench.backends import dask
from bpbench.bench import isa

RUNNING = {"now": 0, "peak": 0, "lock": threading.Lock()}
_piece = dask._piece


def counted(*args):
    with RUNNING["lock"]:
        RUNNING["now"] += 1
        RUNNING["peak"] = max(RUNNING["peak"], RUNNING["now"])
    try:
        return _piece(*args)
    finally:
        with RUNNING["lock"]:
            RUNNING["now"] -= 1


def main():
    from distributed import Client, LocalCluster

    import dask_concurrency  # this file as a module: Dask pickles counted by reference then
    dask._piece = dask_concurrency.counted
    kw = dict(lr="log:0.5:2:262144", max_steps=400)
    with LocalCluster(n_workers=8, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster):
        t = time.perf_counter()
        df = bpbench.sweep("sgd", backend="dask", scheduler=cluster.scheduler_address, **kw)
        wall = time.perf_counter() - t
        dask.client(cluster.scheduler_address).close()
    try:
        pd.testing.assert_frame_equal(df, bpbench.sweep("sgd", **kw), check_like=True)
        same = True
    except AssertionError:
        same = False
    print(f"ISA: {isa()}   8 single-threaded workers, {len(df):,} configurations, chunks of "
          f"65,536, pieces of {dask.PIECE:,}")
    print(f"peak running tasks: {dask_concurrency.RUNNING['peak']}   wall {wall:.2f} s "
          f"(compile included)   table equals the cpu backend's: {same}")


if __name__ == "__main__":
    main()
