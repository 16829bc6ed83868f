"""All cores: SIMD blocks of configurations in lockstep, refilled as configurations finish.

Each thread runs up to LANES configurations side by side, one forward pass + update per sweep
over the lanes: the lane loop is straight-line code over S[row, lane], which LLVM vectorises.
Step counts are heavy-tailed (W1: median ~50, max 5000), so a lane whose configuration
finishes is refilled at once with the next one, taken from a counter that every thread
shares (an atomic add): no thread idles while another has work left, where fixed shares of
the grid, however interleaved, left W1 scaling 1.3x on two cores. Once the counter has
passed the last configuration a block shrinks by moving its last lane into the finished one.
The kernel is an ordinary nogil function called from a Python thread pool: Numba's parfors
would type and lower the whole kernel a second time, which doubled its compile time.

``fast=False`` compiles with IEEE semantics and gives the serial backend's results bit for bit;
``fast=True`` adds kernels.FAST_FLAGS, which change rounding and so, rarely, a step count.
"""
import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import binding as llvm, ir
from numba import njit, types
from numba.core.compiler_lock import global_compiler_lock
from numba.extending import intrinsic

from .._cache import compiling
from ..kernels import specialise
from ..optimizers import decays
from ..layout import LOSS, N as N_, OUT, rows
from ..training import RUNNING, start

# A kernel without the weight-decay term where no configuration decays: the same numbers,
# faster (kernels.specialise).
decayed = decays

LANES = 64
# A looped kernel's block: each of its loops runs over the block's lanes, so a wider block
# spreads the cost of starting a loop (its bounds, its overlap checks) over more work. 256
# lanes ran encoder-10-5 23% faster than 64 in fast mode, parity-8 15%, encoder-32-16 10%;
# 512 was slower for the two larger, and so was a block sized to fit a core's L2 (parity-8
# at half the speed): RESULTS.md, "Looped kernels".
LOOPED_LANES = 256
# In fast mode the SIMD loop is vectorised VECTOR_BYTES wide: 8 doubles or 16 floats per
# iteration, two AVX2 registers (one or two on AVX-512, whichever width LLVM prefers for the
# CPU; not measured there). LLVM's own choice on AVX2, one register, leaves the
# core waiting on each lane's chain of divisions and square roots; two independent chains per
# iteration, as gcc's loop has, ran the post's workloads up to 1.5x faster
# (benchmarks/RESULTS.md). Exact mode, whose time goes to libm's scalar exp, gained nothing and
# compiled 0.5 s slower, so LLVM chooses there. Either way the loop runs over whole vectors,
# the last one topped up with finished lanes, whose results nobody reads: LLVM runs a
# remainder one lane at a time, which as a block emptied took longer, with its scalar division
# and square root per weight, than a whole vector.
VECTOR_BYTES = 64


def vector(dtype):
    """Lanes per iteration of the SIMD loop."""
    return VECTOR_BYTES // np.dtype(dtype).itemsize


@intrinsic
def _take(typingctx, counter):
    """counter[0], incremented atomically: the next configuration for whichever thread asks."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.atomic_rmw("add", data, ir.Constant(ir.IntType(64), 1), "monotonic")
    return types.int64(counter), codegen


@njit(inline="always")
def _each_lane(update, advance, forward, backprop, verdict, step, S, D, nl, lanes, verdicts,
               threshold, max_steps):
    """One step of every active lane, lane by lane (the unrolled formulas, whose statements
    LLVM vectorises across this loop); returns how many lanes reached a verdict."""
    finished = 0
    for l in range(-(-nl // lanes) * lanes):  # the SIMD loop
        step(update, advance, forward, backprop, S, l, D)
        v = verdict(S, l, threshold, max_steps)
        verdicts[l] = v  # kept for the loop above, which judged every lane again
        finished += (v != RUNNING) & (l < nl)
    return finished


@njit(inline="always")
def _all_lanes(update, advance, forward, backprop, verdict, step_lanes, S, D, nl, lanes,
               verdicts, threshold, max_steps):
    """_each_lane for loops.py's formulas, whose every loop has the lanes innermost."""
    top = -(-nl // lanes) * lanes
    step_lanes(update, advance, forward, backprop, S, 0, top, D)
    finished = 0
    for l in range(top):
        v = verdict(S, l, threshold, max_steps)
        verdicts[l] = v
        finished += (v != RUNNING) & (l < nl)
    return finished


@njit(inline="always")
def _block(update, advance, forward, backprop, verdict, step, sweep, columns, D, H, W0,
           threshold, max_steps, counter, me, width, passes, status, loss, output, done):
    """Run the configurations of H that this thread takes from counter to their verdicts, at
    most width (<= columns: LANES, or width itself for the looped kernels) at a time,
    counting them in done[me] as they finish (read by a progress bar while the kernel runs)."""
    # np.empty alone, filled by loops: each other allocator (np.zeros, np.full) and each of
    # their signatures is one more function for Numba to compile with the kernel
    S = np.empty((rows(W0.shape[0]), columns), H.dtype)
    # Lanes start empty (cfg -1, verdict not RUNNING), and the refill loop fills them: a loop
    # of its own, which LLVM cannot vectorise, made it print a remark at the forced width.
    cfg = np.empty(columns, np.int64)  # configuration in each lane
    verdicts = np.empty(columns, np.int64)  # each lane's after its last sweep
    for l in range(columns):
        cfg[l], verdicts[l] = -1, 0
        for r in range(S.shape[0]):
            S[r, l] = 0  # not garbage: denormals are slow
    hi = H.shape[1]
    lanes = VECTOR_BYTES // H.itemsize  # vector(H.dtype)
    nl = width  # active lanes are 0..nl-1
    pending = _take(counter)
    finished = nl
    while nl > 0:
        if finished:
            for l in range(nl - 1, -1, -1):  # descending: a lane moved into l is still running
                v = verdicts[l]
                if v == RUNNING:
                    continue
                i = cfg[l]
                if i >= 0:
                    passes[i], status[i], loss[i], output[i] = S[N_, l], v, S[LOSS, l], S[OUT, l]
                    done[me] += 1
                if pending < hi:
                    start(S, l, W0, H, pending)
                    cfg[l] = pending
                    pending = _take(counter)
                else:
                    nl -= 1
                    for r in range(S.shape[0]):  # not S[:, l] = S[:, nl]: its shape check
                        S[r, l] = S[r, nl]           # compiles an error message, 2 s cold
                    cfg[l] = cfg[nl]
        finished = sweep(update, advance, forward, backprop, verdict, step, S, D, nl, lanes,
                         verdicts, threshold, max_steps)


@njit(inline="always")
def _chunk(update, advance, forward, backprop, verdict, pack, step, step_lanes, H, W0, K,
           threshold, max_steps, counter, me, width, passes, status, loss, output, done):
    """The kernel: the formulas (kernels.FORMULAS) come first, bound by kernels.compose."""
    _block(update, advance, forward, backprop, verdict, step, _each_lane, LANES, pack(K, width),
           H, W0, threshold, max_steps, counter, me, width, passes, status, loss, output, done)


@njit(inline="always")
def _chunk_looped(update, advance, forward, backprop, verdict, pack, step, step_lanes, H, W0,
                  K, threshold, max_steps, counter, me, width, passes, status, loss, output,
                  done):
    """_chunk for a looped shape (loops.py): every formula over all the lanes at once."""
    _block(update, advance, forward, backprop, verdict, step_lanes, _all_lanes, width,
           pack(K, width), H, W0, threshold, max_steps, counter, me, width, passes, status, loss,
           output, done)


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False,
        progress=None):
    """progress: called from a helper thread with the number of configurations finished since
    its last call, a few times a second while the kernels run."""
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    threads, width = shares(n, numba.get_num_threads(), vector(H.dtype),
                            LOOPED_LANES if shape.looped else LANES)
    kernel = specialise(template(shape), shape, optimizer, order, fast, margin > 0,
                        decay=decayed(optimizer, H))
    args = (H, W0, K, H.dtype.type(margin if margin > 0 else tol), max_steps,
            np.zeros(1, np.int64))
    done = np.zeros(threads, np.int64)
    outs = (passes, status, loss, output, done)
    # the looped kernels vectorise at LLVM's own width: their loops with a libm call (tanh, log)
    # cannot be vectorised, which LLVM remarks on at a forced width
    _compile(kernel, (*args, 0, width, *outs),
             vector(H.dtype) if fast and not shape.looped else 0)
    with _reporting(done, progress):
        if threads == 1:
            kernel(*args, 0, width, *outs)
        else:
            pool = _pool(threads)
            for f in [pool.submit(kernel, *args, me, width, *outs) for me in range(threads)]:
                f.result()
    return passes, status, loss, output


def template(shape):
    """The kernel template for shape: lane by lane, or all lanes at once for a looped one."""
    return _chunk_looped if shape.looped else _chunk


def shares(n, cores, vector=8, most=LANES):
    """(threads, lanes per thread) for n configurations on cores threads (set_num_threads: the
    dask backend's 1 is respected). A grid smaller than a block per thread is shared out in
    whole vectors of `vector` lanes, so that a few long runs use every core too."""
    threads = max(1, min(cores, -(-n // vector)))
    return threads, min(most, -(-n // (threads * vector)) * vector)


def _compile(kernel, args, width):
    """Compile kernel for args (or load it from the cache) with the SIMD loop `width` lanes
    wide (0: LLVM's choice). LLVM takes the width from a process-wide option, read as it
    optimises: set only while Numba's compiler lock is held, so that no other function
    compiles with it."""
    signature = tuple(kernel.typeof_pyval(a) for a in args)
    if signature in kernel.overloads:
        return
    # the file lock before Numba's, as kernel.compile takes them: one order, no deadlock
    with compiling(kernel.__qualname__), global_compiler_lock:
        llvm.set_option("", f"-force-vector-width={width}")
        try:
            kernel.compile(signature)
        finally:
            llvm.set_option("", "-force-vector-width=0")  # LLVM's default: its own choice


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
