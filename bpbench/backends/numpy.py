"""Pure NumPy: every configuration of a chunk in lockstep, vectorised across configurations.

The same formulas as the Numba kernels (via targets.numpy_version), applied to whole rows of
S at once; finished configurations are dropped from the state as they finish. NumPy's own SIMD
exp rounds differently from libm's, so a few step counts may differ from the exact backends.
A third implementation and the benchmarks' baseline.
"""
import numpy as np

from ..layout import ERR, FINITE, LOSS, N, OUT
from ..network import net
from ..optimizers import OPTIMIZERS, decays, update as rule_update
from ..targets import numpy_version
from ..training import CONVERGED, DIVERGED, MAX_STEPS, RUNNING, criterion, start

CHUNK = 1 << 16  # configurations per pass: keeps the state in cache-sized pieces


def verdicts(S, tol, margin, max_steps):
    """training.verdict for every column of S at once."""
    loss = S[LOSS]
    v = np.full(loss.shape, RUNNING, np.int8)
    v[S[N] >= max_steps] = MAX_STEPS
    v[(S[ERR] < margin) if margin > 0 else (loss < tol)] = CONVERGED
    v[~(np.isfinite(loss) & (S[FINITE] != 0))] = DIVERGED
    return v


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False):
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    start_np = numpy_version(start)
    formulas = net(shape)
    # the looped formulas step lanes lo..hi-1 at once: here one slice of every configuration
    step_np = numpy_version(formulas.step_lanes if formulas.looped else formulas.step)
    rule = OPTIMIZERS[optimizer]
    update = numpy_version(rule_update(optimizer, decays(optimizer, H)))
    advance = numpy_version(rule.advance)
    forward = numpy_version(criterion(formulas, margin > 0)[0])
    backprop = numpy_version(formulas.backprop[order])
    D = numpy_version(formulas.pack)(K, min(n, CHUNK))
    tol, margin = H.dtype.type(tol), H.dtype.type(margin)
    with np.errstate(all="ignore"):  # overflow and 0/0 are how runs diverge
        for lo in range(0, n, CHUNK):
            idx = np.arange(lo, min(n, lo + CHUNK))
            S = np.empty((formulas.nrows, idx.size), H.dtype)
            start_np(S, slice(None), W0, H, idx)
            while idx.size:
                lanes = (0, idx.size) if formulas.looped else (slice(None),)
                step_np(update, advance, forward, backprop, S, *lanes, D)
                v = verdicts(S, tol, margin, max_steps)
                done = v != RUNNING
                if done.any():
                    i = idx[done]
                    passes[i], status[i] = S[N, done], v[done]
                    loss[i], output[i] = S[LOSS, done], S[OUT, done]
                    idx, S = idx[~done], S[:, ~done]
    return passes, status, loss, output
