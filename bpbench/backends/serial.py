"""The readable reference: one configuration at a time, one thread, the post's loop."""
import numpy as np
from numba import njit

from ..kernels import specialise
from ..network import LOSS, NROWS, OUT
from ..training import RUNNING, start, step, verdict

update = backprop = None  # bound per optimizer and order by kernels.specialise


@njit(inline="always")
def _train(update, backprop, S, K, tol, max_steps, history):
    """Train lane 0 of S until a verdict; row n-1 of history (if it has one) gets the loss
    and output of forward pass n. Returns (forward passes, status)."""
    n = 0
    while True:
        n += 1
        # step() applies update n right after forward pass n; when the verdict ends the run
        # that update is discarded, and S[LOSS] / S[OUT] still hold forward pass n.
        step(update, backprop, S, 0, K[0], K[1], K[2])
        if history.shape[0] >= n:
            history[n - 1, 0] = S[LOSS, 0]
            history[n - 1, 1] = S[OUT, 0]
        status = verdict(S, 0, tol, max_steps)
        if status != RUNNING:
            return n, status


def _run(H, K, tol, max_steps, passes, status, loss, output):
    S = np.empty((NROWS, 1), dtype=H.dtype)
    history = np.empty((0, 2), dtype=H.dtype)
    for i in range(H.shape[1]):
        start(S, 0, K, H, i)
        passes[i], status[i] = _train(update, backprop, S, K, tol, max_steps, history)
        loss[i], output[i] = S[LOSS, 0], S[OUT, 0]


def _history(H, K, tol, max_steps, history):
    S = np.empty((NROWS, 1), dtype=H.dtype)
    start(S, 0, K, H, 0)
    return _train(update, backprop, S, K, tol, max_steps, history)


def run(optimizer, order, H, K, tol, max_steps, fast=False):
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    specialise(_run, optimizer, order, fast)(
        H, K, H.dtype.type(tol), max_steps, passes, status, loss, output)
    return passes, status, loss, output


def history(optimizer, order, H, K, tol, max_steps):
    """(loss, output) of every forward pass of the first configuration of H, and its status."""
    hist = np.empty((max_steps, 2), dtype=H.dtype)
    n, status = specialise(_history, optimizer, order)(H, K, H.dtype.type(tol), max_steps, hist)
    return hist[:n], status
