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
    job = (shape, optimizer, order, H, W0, K, tol, max_steps, margin)
    return next(run_many([(0, job)], fast, scheduler))[1]


IN_FLIGHT_PER_THREAD = 2  # tasks queued per worker thread: none idles between tasks


def run_many(jobs, fast=False, scheduler=None):
    """Yield (key, result arrays) for each (key, run() arguments) of jobs, as they finish.

    Each job (a chunk) is cut into pieces of PIECE configurations, and jobs are submitted
    ahead, so that IN_FLIGHT_PER_THREAD tasks per worker thread are always queued or running,
    whatever the chunk size: saving stays per chunk, parallelism spans chunks. Jobs are read
    lazily, so only the chunks in flight are held in memory. Unfinished tasks are cancelled
    when the caller stops early (Ctrl-C)."""
    from distributed import as_completed
    c = client(scheduler)
    window = IN_FLIGHT_PER_THREAD * max(1, sum(c.nthreads().values()))
    jobs = iter(jobs)
    done = as_completed()
    where, parts = {}, {}  # future key -> (job key, piece, future); job key -> piece results

    def feed():
        while len(where) < window:
            job = next(jobs, None)
            if job is None:
                return
            key, (shape, optimizer, order, H, W0, K, tol, max_steps, margin) = job
            los = range(0, H.shape[1], PIECE)
            parts[key] = [None] * len(los)
            for k, lo in enumerate(los):
                f = c.submit(_piece, shape, optimizer, order,
                             np.ascontiguousarray(H[:, lo:lo + PIECE]),
                             np.ascontiguousarray(W0[:, lo:lo + PIECE]), K, tol, max_steps,
                             margin, fast, pure=False)
                where[f.key] = (key, k, f)
                done.add(f)

    try:
        feed()
        for f in done:
            key, k, _ = where.pop(f.key)
            parts[key][k] = f.result()
            feed()
            if all(p is not None for p in parts[key]):
                pieces = parts.pop(key)
                yield key, tuple(np.concatenate([p[j] for p in pieces]) for j in range(4))
    finally:
        if where:
            c.cancel([f for _, _, f in where.values()])
