"""Dask: pieces of the grid on the workers of a Dask cluster, each run by the cpu kernels.

Without a scheduler address, a distributed.LocalCluster with one single-threaded worker per
core, as threads of this process: the kernels release the GIL, so threads use every core, and
no worker process has to re-import the caller's script (which, without an
``if __name__ == "__main__":`` guard, would start a cluster of its own). Every task runs the
cpu backend with one Numba thread per Dask thread, so workers x Numba threads never exceed the
cores. Results come back in grid order, so the table
equals the cpu backend's. Install with ``pip install 'bpbench[dask]'``.
"""
import atexit
import functools
import logging
import os

import numpy as np

from ..grid import GridError

PIECE = 16384  # configurations per task: at least ~0.1 s of work on one core


def require():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise GridError("the dask backend needs dask.distributed: "
                        "pip install 'bpbench[dask]'") from None


@functools.cache
def client(scheduler=None):
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise GridError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=False,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    c = Client(cluster)
    atexit.register(cluster.close)
    atexit.register(c.close)
    return c


def _piece(shape, optimizer, order, H, W0, K, tol, max_steps, margin, fast):
    import numba

    from bpbench.backends import cpu
    numba.set_num_threads(1)  # one Numba thread per Dask thread
    return cpu.run(shape, optimizer, order, H, W0, K, tol, max_steps, margin, fast=fast)


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False,
        scheduler=None):
    c = client(scheduler)
    n = H.shape[1]
    # Scattered first, so the arrays travel to the workers once and not inside the task graph.
    los = range(0, n, PIECE)
    pieces = c.scatter([np.ascontiguousarray(H[:, lo:lo + PIECE]) for lo in los])
    starts = c.scatter([np.ascontiguousarray(W0[:, lo:lo + PIECE]) for lo in los])
    k = len(pieces)
    futures = c.map(_piece, [shape] * k, [optimizer] * k, [order] * k, pieces, starts,
                    [K] * k, [tol] * k, [max_steps] * k, [margin] * k, [fast] * k, pure=False)
    parts = c.gather(futures)
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))
