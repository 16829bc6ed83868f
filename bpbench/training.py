"""What one configuration's training run means, shared by every backend.

The post's loop: step = 1; forward; stop if converged; otherwise back-propagate, update,
step += 1. Converged means E < tol, or, when a margin is set, every output of every pattern
within margin of its target. A run ends after forward pass n with one of these verdicts,
checked in this order so that a run with a non-finite loss or weight is never counted as
converged.
"""
from numba import njit

from .layout import (C, ERR, FINITE, GAMMA, HYPER, KIND, LOSS, LR0, N, PARAMS, SHUFFLE_KEY,
                     STEP_SIZE)
from .primitives import isfinite

CONVERGED, MAX_STEPS, DIVERGED = 0, 1, 2
RUNNING = -1
STATUSES = ("converged", "max_steps", "diverged")


@njit(inline="always")
def judge(S, l, converged, max_steps):
    """The status after the lane's last forward pass, or RUNNING."""
    finite = isfinite(S[LOSS, l]) & (S[FINITE, l] != 0)
    capped = S[N, l] >= max_steps
    return (DIVERGED if not finite else CONVERGED if converged else MAX_STEPS if capped
            else RUNNING)


@njit(inline="always")
def verdict(S, l, tol, max_steps):
    """judge with the loss criterion: converged when E < tol."""
    return judge(S, l, S[LOSS, l] < tol, max_steps)


@njit(inline="always")
def verdict_margin(S, l, margin, max_steps):
    """judge with the margin criterion: converged when every |y - t| < margin (needs
    forward_margin, which records the largest)."""
    return judge(S, l, S[ERR, l] < margin, max_steps)


def criterion(net, margin):
    """(forward, verdict) of a shape's formulas (network.net): the loss criterion, or the
    margin one when margin is true."""
    return (net.forward_margin, verdict_margin) if margin else (net.forward, verdict)


@njit(inline="always")
def start(S, l, W0, H, i):
    """Load configuration i into lane l: hyperparameters from column i of H (the rule's,
    then its lr schedule's: kind, step size, gamma or decay; then its shuffle key), initial
    parameters from column i of W0, optimizer state 0 per weight and 1 per configuration."""
    for r in range(HYPER):
        S[r, l] = H[r, i]
    S[C, l] = 1
    if H.shape[0] > HYPER:
        S[KIND, l], S[STEP_SIZE, l], S[GAMMA, l] = H[HYPER, i], H[HYPER + 1, i], H[HYPER + 2, i]
        S[SHUFFLE_KEY, l] = H[HYPER + 3, i]
    else:  # a table of the rule's hyperparameters alone: a constant lr
        S[KIND, l], S[STEP_SIZE, l], S[GAMMA, l], S[SHUFFLE_KEY, l] = 0, 1, 1, 0
    S[LR0, l] = H[0, i]
    for k in range(W0.shape[0]):
        S[PARAMS + 3 * k, l] = W0[k, i]
        S[PARAMS + 3 * k + 1, l] = 0
        S[PARAMS + 3 * k + 2, l] = 0
    S[N, l] = 0


@njit(inline="always")
def step(update, advance, forward, backprop, S, l, D):
    """Forward pass n of lane l (its loss and output go to S), then update number n: the
    configuration's own state first (advance, NAdam's product), then every weight."""
    n = S[N, l] + 1
    S[N, l] = n
    # forward() also records whether this pass's weights were finite: the update below is
    # discarded if the run ends here (at a perfect fit, RMSprop with eps = 0 computes 0/0 in it).
    Y = forward(S, l, D)
    S[C, l] = advance(S[C, l], n, S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l])
    backprop(update, S, l, n, D, Y)
