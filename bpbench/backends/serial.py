"""The readable reference: one configuration at a time, one thread, the post's loop."""
import time

import numpy as np
from numba import njit

from ..dataset import too_big
from ..grid import GridError
from ..kernels import compiled, dispatcher, interpret, specialise
from ..optimizers import uses_decay
from ..layout import LOSS, OUT, rows
from ..network import net
from ..training import MAX_STEPS, RUNNING, STATUSES, start


@njit(inline="always")
def _loss_and_output(history, n, S):
    history[n - 1, 0] = S[LOSS, 0]
    history[n - 1, 1] = S[OUT, 0]


@njit(inline="always")
def _whole_lane(history, n, S):
    # element by element: a slice assignment would compile NumPy's shape check and its error
    # message formatting too, seconds more for the first trace of a session
    for r in range(S.shape[0]):
        history[n - 1, r] = S[r, 0]


@njit(inline="always")
def _train(update, advance, forward, backprop, verdict, step, S, D, threshold, max_steps,
           history, record):
    """Train lane 0 of S until a verdict; record(history, n, S) fills row n-1 of history (if
    it has one) from S after forward pass n. Returns (forward passes, status)."""
    n = 0
    status = RUNNING
    while status == RUNNING:
        n += 1
        # step() applies update n right after forward pass n; when the verdict ends the run
        # that update is discarded, and S[LOSS] / S[OUT] still hold forward pass n.
        step(update, advance, forward, backprop, S, 0, D)
        if history.shape[0] >= n:
            record(history, n, S)
        status = verdict(S, 0, threshold, max_steps)
    return n, status


@njit(inline="always")
def _run(update, advance, forward, backprop, verdict, pack, step, step_lanes, H, W0, K,
         threshold, max_steps, passes, status, loss, output):
    """The kernel: the formulas (kernels.FORMULAS) come first, bound by kernels.compose."""
    S = np.empty((rows(W0.shape[0]), 1), dtype=H.dtype)
    D = pack(K, 1)
    history = np.empty((0, 2), dtype=H.dtype)
    for i in range(H.shape[1]):
        start(S, 0, W0, H, i)
        passes[i], status[i] = _train(update, advance, forward, backprop, verdict, step, S, D,
                                      threshold, max_steps, history, _loss_and_output)
        loss[i], output[i] = S[LOSS, 0], S[OUT, 0]


@njit(inline="always")
def _history(update, advance, forward, backprop, verdict, pack, step, step_lanes, H, W0, K,
             threshold, max_steps, history):
    S = np.empty((rows(W0.shape[0]), 1), dtype=H.dtype)
    start(S, 0, W0, H, 0)
    return _train(update, advance, forward, backprop, verdict, step, S, pack(K, 1), threshold,
                  max_steps, history, _loss_and_output)


@njit(inline="always")
def _states(update, advance, forward, backprop, verdict, pack, step, step_lanes, H, W0, K,
            threshold, max_steps, history):
    nparams = W0.shape[0]
    S = np.zeros((rows(nparams) + nparams, 1), dtype=H.dtype)  # + gradients: Net.backprop_record
    start(S, 0, W0, H, 0)
    return _train(update, advance, forward, backprop, verdict, step, S, pack(K, 1), threshold,
                  max_steps, history, _whole_lane)


def template(shape):
    """The kernel template (one for every shape: the formulas bound to it say how to step)."""
    return _run


def decayed(optimizer, H):
    """Whether the kernel for H composes weight decay before the rule: always, where the rule
    takes it. The reference compiles one kernel per rule and order (the decay gives g itself
    at weight_decay 0: the same numbers); the cpu backend compiles the rule alone for tables
    without decay, which runs faster."""
    return uses_decay(optimizer)


def run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False):
    n = H.shape[1]
    passes, status = np.empty(n, np.int64), np.empty(n, np.int8)
    loss, output = np.empty(n, H.dtype), np.empty(n, H.dtype)
    threshold = H.dtype.type(margin if margin > 0 else tol)
    specialise(_run, shape, optimizer, order, fast, margin > 0, decay=decayed(optimizer, H))(
        H, W0, K, threshold, max_steps, passes, status, loss, output)
    return passes, status, loss, output


def history(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0):
    """(loss, output) of every forward pass of the first configuration of H, and its status."""
    return _recorded(_history, 2, False, shape, optimizer, order, H, W0, K, tol, max_steps,
                     margin)


def states(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0):
    """Lane 0's whole state after every step: one row per forward pass n holding S after
    update n (rows of network.py's layout), then the gradient of each parameter at pass n."""
    width = net(shape).nrows + W0.shape[0]
    return _recorded(_states, width, True, shape, optimizer, order, H, W0, K, tol, max_steps,
                     margin)


def _recorded(template, width, record, shape, optimizer, order, H, W0, K, tol, max_steps,
              margin):
    """template's record of one run, width numbers per forward pass, and its status.

    While the kernel is not compiled, the run is first interpreted (kernels.interpret, the
    same numbers): a short run is over in milliseconds, against seconds to compile. Only a
    run that would take longer than INTERPRET_S that way is compiled. The compiled record
    starts at HISTORY rows; a run that outlasts it is run again with a record of its now
    known length, so a large max_steps costs memory only if the run really is long."""
    threshold = H.dtype.type(margin if margin > 0 else tol)
    options = dict(margin=margin > 0, record=record, decay=decayed(optimizer, H))
    if not compiled(dispatcher(template, shape, optimizer, order, **options)):
        python = interpret(template, shape, optimizer, order, **options)
        cap = min(max_steps, 32)  # a probe, to time a step
        with np.errstate(all="ignore"):
            while True:
                t = time.perf_counter()
                hist = np.empty((cap, width), dtype=H.dtype)
                n, status = python(H, W0, K, threshold, cap, hist)
                if status != MAX_STEPS or cap == max_steps:  # a verdict, not the cap
                    return hist[:n], status
                more = min(max_steps, int(INTERPRET_S * cap / (time.perf_counter() - t)))
                if more <= cap:
                    break
                cap = more
    kernel = specialise(template, shape, optimizer, order, **options)
    length = min(max_steps, HISTORY)
    while True:
        hist = np.empty((length, width), dtype=H.dtype)
        n, status = kernel(H, W0, K, threshold, max_steps, hist)
        if n <= length:
            return hist[:n], status
        # a trace's table holds several copies of the record (8 bytes a number, as float64)
        said = too_big(4 * 8 * n * width)
        if said:
            raise GridError(f"this run took {n:,} forward passes ({STATUSES[status]}); their "
                            f"trace would take {said}: lower max_steps")
        length = n  # deterministic: the rerun takes the same path


HISTORY = 1 << 16
INTERPRET_S = 2.0  # longest interpreted run, in seconds: about what a compile takes
