"""What one configuration's training run means, shared by every backend.

The post's loop: step = 1; forward; stop if E < tol; otherwise back-propagate, update,
step += 1. A run ends after forward pass n with one of these verdicts, checked in this order so
that a run with a non-finite loss or weight is never counted as converged.
"""
import numpy as np
from numba import njit

from .network import (FINITE, HYPER_ROWS, LOSS, M, N, OUT, V, W, W_INIT, Y1, Y2, YA, forward,
                      isfinite, weights_finite)

CONVERGED, MAX_STEPS, DIVERGED = 0, 1, 2
RUNNING = -1
STATUSES = ("converged", "max_steps", "diverged")


def constants(dtype):
    """y1, y2, ya and the initial weights, in the run's dtype."""
    return np.array((Y1, Y2, YA) + W_INIT, dtype=dtype)


@njit(inline="always")
def verdict(S, l, tol, max_steps):
    """The status after the lane's last forward pass, or RUNNING."""
    loss = S[LOSS, l]
    if not (isfinite(loss) & (S[FINITE, l] != 0)):
        return DIVERGED
    if loss < tol:
        return CONVERGED
    if S[N, l] >= max_steps:
        return MAX_STEPS
    return RUNNING


@njit(inline="always")
def start(S, l, K, H, i):
    """Load configuration i (column i of the hyperparameter table H) into lane l."""
    for k in range(6):
        S[W + k, l] = K[3 + k]
        S[M + k, l] = 0
        S[V + k, l] = 0
    for r in range(4):
        S[HYPER_ROWS[r], l] = H[r, i]
    S[N, l] = 0


@njit(inline="always")
def step(update, backprop, S, l, y1, y2, ya):
    """Forward pass n of lane l (its loss and output go to S), then update number n."""
    n = S[N, l] + 1
    S[N, l] = n
    y3, y4, y5, loss = forward(S, l, y1, y2, ya)
    S[LOSS, l] = loss
    S[OUT, l] = y5
    # Judged on the weights of this forward pass: the update below is discarded if the run
    # ends here (at a perfect fit, RMSprop with eps = 0 computes 0/0 in it).
    S[FINITE, l] = weights_finite(S, l)
    backprop(update, S, l, n, y1, y2, ya, y3, y4, y5)
