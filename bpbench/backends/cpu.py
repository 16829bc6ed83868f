"""All cores: SIMD blocks of configurations in lockstep, refilled as configurations finish.

Threads take chunks of the grid from a shared queue (so a thread that drew fast
configurations takes more chunks) and run LANES configurations of each side by side, one
forward pass + update per sweep over the lanes: the lane loop is straight-line code over
S[row, lane], which LLVM vectorises. The kernel is an ordinary nogil function called from a
Python thread pool: Numba's parfors would type and lower the whole kernel a second time, which
doubled its compile time for no speed. Step counts are heavy-tailed (W1: median ~50, max
5000), so a lane whose configuration finishes is refilled at once with the next pending one
instead of idling until the slowest finishes; once the chunk's queue is empty the block
shrinks by moving its last lane into the finished one. Chunks interleave (chunk c takes every
nchunks-th configuration), so every thread gets its share of the slow corners of an ordered
grid.

``fast=False`` compiles with IEEE semantics and gives the serial backend's results bit for bit;
``fast=True`` adds kernels.FAST_FLAGS, which change rounding and so, rarely, a step count.
"""
import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from ..kernels import specialise
from ..optimizers import decays
from ..network import LOSS, N as N_, OUT, rows
from ..training import RUNNING, start, step

# Bound per shape, optimizer, order and criterion by kernels.specialise:
update = advance = forward = backprop = pack = verdict = None

LANES = 128


@njit(inline="always")
def _block(update, advance, forward, backprop, verdict, D, H, W0, threshold, max_steps, first,
           stride, passes, status, loss, output, done):
    """Run configurations first, first + stride, ... of H to their verdicts, counting them in
    done[first] as they finish (read by a progress bar while the kernel runs)."""
    S = np.empty((rows(W0.shape[0]), LANES), dtype=H.dtype)
    cfg = np.empty(LANES, np.int64)  # configuration in each lane
    hi = H.shape[1]
    nl = 0  # active lanes are 0..nl-1
    pending = first + 0  # a new variable, not an alias of the argument
    while nl < LANES and pending < hi:
        start(S, nl, W0, H, pending)
        cfg[nl] = pending
        nl += 1
        pending += stride
    while nl > 0:
        finished = 0
        for l in range(nl):  # the SIMD loop
            step(update, advance, forward, backprop, S, l, D)
            finished += verdict(S, l, threshold, max_steps) != RUNNING
        if finished == 0:
            continue
        for l in range(nl - 1, -1, -1):  # descending: a lane moved into l is already judged
            v = verdict(S, l, threshold, max_steps)
            if v == RUNNING:
                continue
            i = cfg[l]
            passes[i], status[i], loss[i], output[i] = S[N_, l], v, S[LOSS, l], S[OUT, l]
            done[first] += 1
            if pending < hi:
                start(S, l, W0, H, pending)
                cfg[l] = pending
                pending += stride
            else:
                nl -= 1
                for r in range(S.shape[0]):  # not S[:, l] = S[:, nl]: its shape check
                    S[r, l] = S[r, nl]           # compiles an error message, 5 s cold
                cfg[l] = cfg[nl]


def _chunk(H, W0, K, threshold, max_steps, c, nchunks, passes, status, loss, output, done):
    # Chunk c takes every nchunks-th configuration: grids are ordered (lr slowest), and step
    # counts depend strongly on lr, so contiguous chunks would leave one thread all the slow
    # configurations.
    _block(update, advance, forward, backprop, verdict, pack(K), H, W0, threshold, max_steps, c,
           nchunks, passes, status, loss, output, done)


CHUNKS_PER_THREAD = 4  # queue depth: more balances better, fewer keeps SIMD blocks full


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False,
        progress=None):
    """progress: called from a helper thread with the number of configurations finished since
    its last call, a few times a second while the kernels run."""
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    threads = numba.get_num_threads()  # set_num_threads (the dask backend's 1) is respected
    nchunks = max(1, min(CHUNKS_PER_THREAD * threads, n // LANES))
    kernel = specialise(_chunk, shape, optimizer, order, fast, margin > 0,
                        decay=decays(optimizer, H))
    args = (H, W0, K, H.dtype.type(margin if margin > 0 else tol), max_steps)
    done = np.zeros(nchunks, np.int64)
    outs = (passes, status, loss, output, done)
    with _reporting(done, progress):
        if threads == 1 or nchunks == 1:
            for c in range(nchunks):
                kernel(*args, c, nchunks, *outs)
        else:
            pool = _pool(threads)
            for f in [pool.submit(kernel, *args, c, nchunks, *outs) for c in range(nchunks)]:
                f.result()
    return passes, status, loss, output


@contextlib.contextmanager
def _reporting(done, progress, every=0.2):
    """While the body runs, pass progress() the growth of done.sum() every `every` seconds
    (the kernels release the GIL, so this thread runs beside them), and the rest at the end."""
    if progress is None:
        yield
        return
    stop = threading.Event()
    told = [0]

    def tell():
        now = int(done.sum())
        if now > told[0]:
            progress(now - told[0])
            told[0] = now

    def poll():
        while not stop.wait(every):
            tell()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
    tell()


@functools.cache
def _pool(threads):
    """A thread pool kept for the process: starting threads costs milliseconds, a sweep's
    whole run can take tens."""
    return ThreadPoolExecutor(threads, thread_name_prefix="bpbench")
