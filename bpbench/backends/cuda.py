"""NVIDIA GPUs (numba.cuda): one persistent GPU thread per lane.

Each thread pulls the next pending configuration from an atomic counter as soon as its
current one finishes, so heavy-tailed step counts leave no thread idle. Rules with a
per-configuration state c (NAdam) run one configuration per thread instead: on an H200
(CUDA 13, driver 580.159.04) ptxas compiled their persistent loop to read and write c at
another parameter's row, so NAdam's step counts were wrong; the one-per-thread kernel was
right (benchmarks/ptxas_nadam.py tells whether a driver still does this). The formulas are the
CPU kernels' own (targets.retarget compiles them as device functions); only the primitives
differ (CUDA's exp and sqrt). Chunks of a sweep are joined into device-sized launches
(run_many), and very large grids go through the device in batches.

GPU exp rounds differently from glibc's, so a configuration that sits on a limit cycle or
right at the tol boundary can get a different step count than the exact CPU backends.

A looped shape (loops.py) runs the same looped formulas, each thread over its own lane; the
shape's header goes in as integers and the activation scratch as device arrays, one column per
thread, and a launch keeps S and the scratch within MEMORY. Checked on the simulator and as PTX
for sm_90; not yet on a GPU.
"""
import contextlib
import functools
import math
import warnings

import numpy as np

from ..grid import GridError
from ..layout import LOSS, N, OUT
from ..network import net
from ..optimizers import OPTIMIZERS, decays, keep, update
from ..targets import retarget
from ..kernels import LOOPED
from ..loops import HEAD, scratch_rows
from ..training import RUNNING, criterion, start

try:  # a module global, so the CUDA simulator can swap in its own cuda.grid
    from numba import cuda
except Exception:  # numba-cuda missing or broken
    cuda = None


@contextlib.contextmanager
def _row_stack():
    """numba-cuda 0.30.4 types np.row_stack, which NumPy 2.5 removed: without the alias every
    kernel compile fails (seen with NumPy 2.5.2). It is there only while bpbench's kernels
    compile and run, so the user's NumPy is left as it was."""
    if hasattr(np, "row_stack"):
        yield
        return
    np.row_stack = np.vstack
    try:
        yield
    finally:
        del np.row_stack

THREADS_PER_BLOCK = 128
BATCH = 1 << 22  # configurations per trip to the device


def require():
    """Raise GridError unless a CUDA GPU (or the simulator) is there."""
    try:
        available = cuda is not None and cuda.is_available()
    except Exception:  # no driver: also "no GPU here"
        available = False
    if not available:
        raise GridError("no CUDA GPU found; install bpbench[cuda] and run on a machine with "
                        "an NVIDIA GPU (NUMBA_ENABLE_CUDASIM=1 simulates one, slowly)")


def _primitives():
    from numba import config
    sim = config.ENABLE_CUDASIM

    def const(x, c):
        return type(x)(c)

    # The simulator runs Python, where math.exp raises on overflow; NumPy's gives inf as on
    # the GPU.
    def exp(x):
        return np.exp(x) if sim else math.exp(x)

    def sqrt(x):
        return np.sqrt(x) if sim else math.sqrt(x)

    def isfinite(x):
        return np.isfinite(x) if sim else math.isfinite(x)

    def larger(a, b):
        return a if a > b else b

    def tanh(x):
        return np.tanh(x) if sim else math.tanh(x)

    def log(x):
        return np.log(x) if sim else math.log(x)

    def log1p(x):
        return np.log1p(x) if sim else math.log1p(x)

    dev = cuda.jit(device=True)
    return {"const": dev(const), "exp": dev(exp), "sqrt": dev(sqrt), "isfinite": dev(isfinite),
            "larger": dev(larger), "tanh": dev(tanh), "log": dev(log), "log1p": dev(log1p)}


def kernel(shape, optimizer, order, margin=False, decay=True):
    """The kernel for shape (one for every looped shape: loops.py reads the shape from K's
    header, here from Ih, the header as integers, with the scratch Y and G passed in, since a
    GPU thread cannot allocate them)."""
    return _kernel(LOOPED if shape.looped else shape, optimizer, order, margin, decay)


@functools.cache
def _kernel(shape, optimizer, order, margin, decay):
    require()
    dev, prims, memo = cuda.jit(device=True), _primitives(), {}
    formulas = net(shape)
    forward, verdict = criterion(formulas, margin)
    start_d, step_d, verdict_d = (retarget(f, dev, prims, memo)
                                  for f in (start, formulas.step, verdict))
    rule = OPTIMIZERS[optimizer]
    # as kernels.specialise: the rule alone where every configuration has weight_decay 0
    update_d, advance_d = (retarget(f, dev, prims, memo)
                           for f in (update(optimizer, decay), rule.advance))
    forward_d, backprop_d, pack_d = (retarget(f, dev, prims, memo) for f in (
        forward, formulas.backprop[order], formulas.pack))
    data = _looped_data if formulas.looped else dev(lambda K, Ih, Y, G: pack_d(K, 1))

    if not persistent(optimizer):
        @cuda.jit
        def train_each(H, W0, K, Ih, threshold, max_steps, counter, S, Y, G, passes, status,
                       loss, output):
            i = cuda.grid(1)  # configuration i in lane i
            if i >= H.shape[1]:
                return
            D = data(K, Ih, Y, G)
            start_d(S, i, W0, H, i)
            v = RUNNING
            while v == RUNNING:
                step_d(update_d, advance_d, forward_d, backprop_d, S, i, D)
                v = verdict_d(S, i, threshold, max_steps)
            passes[i], status[i], loss[i], output[i] = S[N, i], v, S[LOSS, i], S[OUT, i]

        return train_each

    @cuda.jit
    def train(H, W0, K, Ih, threshold, max_steps, counter, S, Y, G, passes, status, loss,
              output):
        t = cuda.grid(1)
        if t >= S.shape[1]:
            return
        D = data(K, Ih, Y, G)
        i = cuda.atomic.add(counter, 0, 1)
        while i < H.shape[1]:
            start_d(S, t, W0, H, i)
            v = RUNNING
            while v == RUNNING:
                step_d(update_d, advance_d, forward_d, backprop_d, S, t, D)
                v = verdict_d(S, t, threshold, max_steps)
            passes[i], status[i], loss[i], output[i] = S[N, t], v, S[LOSS, t], S[OUT, t]
            i = cuda.atomic.add(counter, 0, 1)

    return train


def _looped_data(K, Ih, Y, G):
    """loops.pack's tuple on a GPU: the header's arrays as views of Ih, and the scratch."""
    m = Ih[0]
    h = HEAD
    return (K, Ih[h:h + m + 1], Ih[h + m + 1:h + 2 * m + 2], Ih[h + 2 * m + 2:h + 3 * m + 2],
            Ih[h + 3 * m + 2:h + 4 * m + 2], Ih[h + 4 * m + 2:h + 5 * m + 2], Ih[1], Ih[2],
            Ih[3], Ih[4], K[5], Ih[6], Ih[7], Y, G)  # K[5]: the prime offset, a float


if cuda is not None:
    _looped_data = cuda.jit(device=True)(_looped_data)

MEMORY = 4 << 30  # bytes of S and scratch one launch may take on the device


def persistent(optimizer):
    """Whether the optimizer's kernel is the persistent one (see the module's doc): rules
    without per-configuration state."""
    return OPTIMIZERS[optimizer].advance is keep


def _lanes():
    """(threads per block, resident threads): enough to fill every multiprocessor. The
    simulator runs each thread of a block as a Python thread and every device-function call
    takes a lock, so its threads mostly wait on each other (8 per block ran XOR 30 times slower
    than 2): two per block still race for configurations, as on a GPU."""
    from numba import config
    if config.ENABLE_CUDASIM:
        return 2, 4
    sm = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", 0)
    return THREADS_PER_BLOCK, sm * 16 * THREADS_PER_BLOCK


BATCH_PER_LANE = 4  # configurations per resident thread in one launch, at least
launches = 0  # kernel launches so far (the tests count them)


def run_many(jobs, fast=False):
    """Yield (key, result arrays) for each (key, run() arguments) of jobs, in order.

    Consecutive jobs (chunks) of the same kernel and settings are joined into one launch of
    at least BATCH_PER_LANE configurations per resident GPU thread, whatever the chunk size,
    then split back into chunks."""
    batch, size = [], 0
    minimum = BATCH_PER_LANE * _lanes()[1]
    for key, args in jobs:
        if batch and not _same_kernel(batch[0][1], args):
            yield from _launch(batch, fast)
            batch, size = [], 0
        batch.append((key, args))
        size += args[3].shape[1]
        if size >= minimum:
            yield from _launch(batch, fast)
            batch, size = [], 0
    if batch:
        yield from _launch(batch, fast)


def _same_kernel(a, b):
    """Whether two jobs' chunks can share a launch: same kernel, data and settings."""
    return (a[:3] == b[:3] and a[3].dtype == b[3].dtype and np.array_equal(a[5], b[5])
            and a[6:] == b[6:])


def _scratch_rows(shape, K):
    """Rows of a looped kernel's scratch Y and G (loops.scratch_rows); (0, 0) for an unrolled
    shape, whose activations stay in registers."""
    return scratch_rows(K) if shape.looped else (0, 0)


def _launch(batch, fast):
    shape, optimizer, order, _, _, K, *settings = batch[0][1]
    H = np.concatenate([args[3] for _, args in batch], axis=1)
    W0 = np.concatenate([args[4] for _, args in batch], axis=1)
    out = run(shape, optimizer, order, H, W0, K, *settings, fast=fast)
    lo = 0
    for key, args in batch:
        hi = lo + args[3].shape[1]
        yield key, tuple(a[lo:hi] for a in out)
        lo = hi


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False):
    with _row_stack():
        return _run(shape, optimizer, order, H, W0, K, tol, max_steps, margin)


def _run(shape, optimizer, order, H, W0, K, tol, max_steps, margin):
    global launches
    train = kernel(shape, optimizer, order, margin > 0, decays(optimizer, H))
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    per_block, max_lanes = _lanes()
    nrows, (ys, gs) = net(shape).nrows, _scratch_rows(shape, K)
    lane_bytes = H.itemsize * (nrows + ys + gs)
    max_lanes = max(per_block, min(max_lanes, MEMORY // lane_bytes // per_block * per_block))
    # one configuration per thread: a launch per max_lanes of them, so S stays that size
    batch = BATCH if persistent(optimizer) else max_lanes
    K_d = cuda.to_device(K)
    Ih = cuda.to_device(K[:HEAD + 5 * int(K[0]) + 2].astype(np.int64) if shape.looped
                        else np.zeros(1, np.int64))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # the simulator computes in NumPy (overflow is divergence); a sweep smaller than the
        # GPU launches few blocks, which numba-cuda would warn about at every launch
        warnings.filterwarnings("ignore", message=r".*Grid size \d+ will likely result in GPU")
        for lo in range(0, n, batch):
            hi = min(n, lo + batch)
            blocks = math.ceil(min(hi - lo, max_lanes) / per_block)
            width = blocks * per_block
            S = cuda.device_array((nrows, width), H.dtype)
            Y = cuda.device_array((max(ys, 1), width), H.dtype)
            G = cuda.device_array((max(gs, 1), width), H.dtype)
            out = [cuda.device_array(hi - lo, a.dtype) for a in (passes, status, loss, output)]
            launches += 1
            train[blocks, per_block](cuda.to_device(np.ascontiguousarray(H[:, lo:hi])),
                                     cuda.to_device(np.ascontiguousarray(W0[:, lo:hi])),
                                     K_d, Ih, H.dtype.type(margin if margin > 0 else tol),
                                     max_steps, cuda.to_device(np.zeros(1, np.int64)), S, Y, G,
                                     *out)
            for host, dev in zip((passes, status, loss, output), out):
                dev.copy_to_host(host[lo:hi])
    return passes, status, loss, output
