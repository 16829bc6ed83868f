"""The network as loops over its shape: one compiled kernel per rule serves every shape.

network.py writes a shape's formulas out unit by unit, pattern by pattern: the fastest code for
the post's network, but source, compile time and recursion that grow with the network. Here the
same formulas are loops over layers, units, fan-in and patterns, and the shape is data: a
header of integers at the front of the data array K (``header``), read back by ``pack``. Every
sum is accumulated in the order network.py writes it (fan-in i in order, then the bias;
patterns in order; outputs within a pattern), so a looped kernel gives the unrolled one's
numbers bit for bit in exact mode.

The lanes (configurations) are the innermost loop of every formula, ``for l in lanes(lo,
hi)``: rows of S and of the scratch arrays are contiguous in l, so LLVM vectorises each
statement across lanes, while the weights of a unit are read once per lane block, not once per
configuration and pattern. Activations and deltas live in scratch arrays ``Y[p * U + unit,
lane]`` and ``G[...]`` (U: the non-input units of one pattern, numbered through the layers),
allocated by ``pack``; layer 0 is read from K. ``lanes`` is the one primitive that differs by
target: a range of lane indices for Numba and CUDA (one thread: its own lane), one slice for
NumPy, so the same source runs one lane (serial), a SIMD block (cpu), a thread (cuda) or every
configuration at once (numpy).

The step's stages that do not depend on the rule (``stage``: activations, loss, deltas,
gradients, shuffle) are compiled once and called by every rule's kernel; only the rule's
update of each parameter, GRADIENTS gradients at a time, is written into the kernel itself.

The model is data too, in the header: each layer's activation, the loss, the sigmoid-prime
offset and the batch size (per-pattern and mini-batch updates). A lane's learning-rate
schedule is in its rows of S (``schedule``).
"""
import numpy as np
from numba import njit

from .layout import (C, ERR, FINITE, GAMMA, KIND, LOSS, LR0, N, OUT, PARAMS, SHUFFLE_KEY,
                     STEP_SIZE)
from .primitives import const, exp, isfinite, larger, log, log1p, select, tanh

# header: layers - 1, biases trained (0/1), patterns, parameters, loss, the sigmoid-prime
# offset, the batch size, shuffled (0/1); then the arrays
HEAD = 8
ACTIVATIONS = ("sigmoid", "tanh", "linear", "relu")  # codes 0..3 in the header
SIGMOID, TANH, LINEAR, RELU = range(4)
LOSSES = ("sse", "cross_entropy")
SSE, CROSS_ENTROPY = range(2)
SCHEDULES = ("constant", "step", "exponential", "inverse_time")  # row KIND of S
CONSTANT, STEP, EXPONENTIAL, INVERSE_TIME = range(4)
# Whether the sums (a unit's fan-in, a delta over the units above, a gradient over patterns)
# add four terms a pass over a row of lanes, (((acc + a) + b) + c) + d, the same order and so
# the same numbers: the CPU kernels swap in True (kernels.compose). Fast mode ran encoder-10-5
# 1.4x and parity-8 1.6x faster that way; exact mode gained nothing while libm's scalar exp
# bound it, and 1.4x on encoder-10-5 once e^x vectorised (primitives.table_exp; RESULTS.md,
# tenth and eleventh sessions).
BLOCKED = False
# False in the kernels of a plain network (network.Shape.model false: sigmoid units, the sse
# loss, patterns in order, a constant lr), which then leave out every other option's code
# (kernels.compose swaps it in): a smaller kernel that compiles faster, the same numbers.
MODEL = True
# Gradients summed before their updates are applied: G's rows for them.
GRADIENTS = 16

# A stage of the step that every rule's kernel calls rather than inlines: compiled once and
# shared by them all (fast mode's with its flags, kernels.compose). The kernel's compile time
# grows with its source, and these are most of it. Options as kernels.dispatcher's.
STAGE = {"error_model": "numpy", "nogil": True, "no_cpython_wrapper": True,
         "no_cfunc_wrapper": True}
stage = njit(**STAGE)


def header(shape, activations=None, loss="sse", prime_offset=0.0, batch=None, shuffle=False):
    """The numbers a looped kernel reads the shape and model from, as float64: m (weight
    layers), whether biases are trained, patterns, parameters, the loss's code, the prime
    offset, patterns per update (batch: None for all of them), whether each epoch shuffles
    them; then L[0..m] (layer sizes), uoff[0..m] (each layer's first unit in a pattern's
    scratch; layer 0 is the data), woff[0..m-1] and boff[0..m-1] (each layer's first weight
    and bias in update order; -1: no biases), and the activation code of layers 1..m
    (default: sigmoid)."""
    L = list(shape.layers)
    m = len(L) - 1
    uoff = [0, 0]
    for a in range(1, m):
        uoff.append(uoff[-1] + L[a])
    with_bias = shape.bias != "none"
    woff, boff, k = [0] * m, [-1] * m, 0
    for a in reversed(range(m)):  # update order: the output layer first (Shape.params)
        woff[a] = k
        k += L[a + 1] * L[a]
        if with_bias:
            boff[a] = k
            k += L[a + 1]
    acts = [ACTIVATIONS.index(f) for f in (activations or ["sigmoid"] * m)]
    B = shape.patterns if batch is None else min(batch, shape.patterns)
    return np.array([m, shape.bias == "trained", shape.patterns, k, LOSSES.index(loss),
                     prime_offset, B, bool(shuffle)] + L + uoff + woff + boff + acts,
                    dtype=np.float64)


@njit(inline="always")
def lanes(lo, hi):
    """The lanes a formula runs over: lo..hi-1 (NumPy's target: the slice lo:hi)."""
    return range(lo, hi)


@njit(inline="always")
def _ints(K, lo, n):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = int(K[lo + i])
    return out


def scratch_rows(K):
    """Rows of the scratch Y and G of a looped kernel's data K: every pattern's non-input
    units in Y; in G their deltas, a gradient being summed and, when shuffled, each lane's
    epoch order of the patterns and the patterns in that order."""
    m = int(K[0])
    L = K[HEAD:HEAD + m + 1].astype(int)
    P = int(K[2])
    Y = P * int(L[1:].sum())
    return Y, Y + GRADIENTS + (P + P * int(L[0] + L[m]) if K[7] else 0)


@njit(inline="always")
def pack(K, width):
    """(K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G): the
    header decoded, and scratch for `width` lanes (scratch_rows)."""
    m = int(K[0])
    L = _ints(K, HEAD, m + 1)
    uoff = _ints(K, HEAD + m + 1, m + 1)
    woff = _ints(K, HEAD + 2 * m + 2, m)
    boff = _ints(K, HEAD + 3 * m + 2, m)
    act = _ints(K, HEAD + 4 * m + 2, m)
    P = int(K[2])
    units = uoff[m] + L[m]
    shuffled = int(K[7])
    Y = np.empty((P * units, width), K.dtype)
    G = np.empty((P * units + GRADIENTS + shuffled * P * (1 + L[0] + L[m]), width), K.dtype)
    return (K, L, uoff, woff, boff, act, int(K[1]), P, int(K[3]), int(K[4]), K[5], int(K[6]),
            shuffled, Y, G)


@njit(inline="always")
def _data(K, L, p, i):
    """Pattern p's input i (i < L[0]) or target i - L[0]: the patterns follow the header."""
    m = L.shape[0] - 1
    return K[HEAD + 5 * m + 2 + p * (L[0] + L[m]) + i]


@njit(inline="always")
def _activate(Y, y, lo, hi, code):
    """Unit y's net input z, in Y[y], becomes its output f(z)."""
    one = const(Y[0, 0], 1.0)
    if code == SIGMOID or not MODEL:
        for l in lanes(lo, hi):
            Y[y, l] = one / (one + exp(-(Y[y, l])))
    elif code == TANH:
        for l in lanes(lo, hi):
            Y[y, l] = tanh(Y[y, l])
    elif code == RELU:
        for l in lanes(lo, hi):
            Y[y, l] = select(Y[y, l] < one - one, one - one, Y[y, l])  # NaN stays NaN
    # LINEAR: f(z) = z


@njit(inline="always")
def _slope(G, Y, y, lo, hi, code, offset):
    """G[y] times f'(z) + offset, the derivative written with the unit's output y = f(z):
    y (1 - y), 1 - y^2, 1, or 1 where y > 0 (relu)."""
    one = const(Y[0, 0], 1.0)
    if code == SIGMOID or not MODEL:
        for l in lanes(lo, hi):
            G[y, l] = G[y, l] * (Y[y, l] * (one - Y[y, l]) + offset)
    elif code == TANH:
        for l in lanes(lo, hi):
            G[y, l] = G[y, l] * ((one - Y[y, l] * Y[y, l]) + offset)
    elif code == RELU:
        for l in lanes(lo, hi):
            G[y, l] = G[y, l] * (select(Y[y, l] > one - one, one, one - one) + offset)
    else:
        for l in lanes(lo, hi):
            G[y, l] = G[y, l] * (one + offset)


@stage
def _activations(S, lo, hi, D, p0, p1, ordered):
    """Every non-input unit's output for patterns p0..p1-1 (ordered: for positions p0..p1-1
    of each lane's epoch order, read from G's rows X), into Y."""
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    X = P * U + GRADIENTS + P  # G's row of the first ordered pattern
    n = L[0] + L[m]
    for p in range(p0, p1):
        for a in range(1, m + 1):
            below = p * U + uoff[a - 1]  # layer a-1's first unit (a > 1)
            for j in range(L[a]):
                y = p * U + uoff[a] + j
                w = PARAMS + 3 * (woff[a - 1] + j * L[a - 1])
                # z = sum_i w_i y_i (+ b), accumulated in Y[y] in i order
                if MODEL and a == 1 and ordered:
                    for l in lanes(lo, hi):
                        Y[y, l] = S[w, l] * G[X + p * n, l]
                    for i in range(1, L[0]):
                        for l in lanes(lo, hi):
                            Y[y, l] = Y[y, l] + S[w + 3 * i, l] * G[X + p * n + i, l]
                elif a == 1:
                    x = _data(K, L, p, 0)
                    for l in lanes(lo, hi):
                        Y[y, l] = S[w, l] * x
                    i = 1
                    # fast mode: four terms a pass over the row, added in order, the same sum
                    # with a quarter of the loops and of the row's loads and stores
                    if BLOCKED:
                        while i + 4 <= L[0]:
                            x0, x1 = _data(K, L, p, i), _data(K, L, p, i + 1)
                            x2, x3 = _data(K, L, p, i + 2), _data(K, L, p, i + 3)
                            v = w + 3 * i
                            for l in lanes(lo, hi):
                                Y[y, l] = (((Y[y, l] + S[v, l] * x0) + S[v + 3, l] * x1)
                                           + S[v + 6, l] * x2) + S[v + 9, l] * x3
                            i += 4
                    for r in range(i, L[0]):
                        x = _data(K, L, p, r)
                        for l in lanes(lo, hi):
                            Y[y, l] = Y[y, l] + S[w + 3 * r, l] * x
                else:
                    for l in lanes(lo, hi):
                        Y[y, l] = S[w, l] * Y[below, l]
                    i = 1
                    if BLOCKED:  # four terms a pass, as above
                        while i + 4 <= L[a - 1]:
                            v, u = w + 3 * i, below + i
                            for l in lanes(lo, hi):
                                Y[y, l] = (((Y[y, l] + S[v, l] * Y[u, l])
                                            + S[v + 3, l] * Y[u + 1, l])
                                           + S[v + 6, l] * Y[u + 2, l]) + S[v + 9, l] * Y[u + 3, l]
                            i += 4
                    for r in range(i, L[a - 1]):
                        for l in lanes(lo, hi):
                            Y[y, l] = Y[y, l] + S[w + 3 * r, l] * Y[below + r, l]
                if boff[a - 1] >= 0:
                    b = PARAMS + 3 * (boff[a - 1] + j)
                    for l in lanes(lo, hi):
                        Y[y, l] = Y[y, l] + S[b, l]
                _activate(Y, y, lo, hi, act[a - 1])


@stage
def _forward(S, lo, hi, D, margin):
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    one = const(S[0, 0], 1.0)
    half = const(S[0, 0], 0.5)
    floor = const(S[0, 0], -100.0)
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    for p in range(P):  # E summed over patterns, then outputs
        for j in range(L[m]):
            y = p * U + uoff[m] + j
            t = _data(K, L, p, L[0] + j)
            first = p == 0 and j == 0
            if MODEL and loss == CROSS_ENTROPY:
                # torch's binary_cross_entropy, logs clamped at -100:
                # (t - 1) max(ln(1 - y), -100) - t max(ln y, -100)
                for l in lanes(lo, hi):
                    a = log1p(-(Y[y, l]))
                    b = log(Y[y, l])
                    e = ((t - one) * select(a < floor, floor, a)
                         - t * select(b < floor, floor, b))
                    S[LOSS, l] = e if first else S[LOSS, l] + e
            else:  # sse: 1/2 (y - t)^2
                for l in lanes(lo, hi):
                    d = Y[y, l] - t
                    if first:
                        S[LOSS, l] = half * (d * d)
                    else:
                        S[LOSS, l] = S[LOSS, l] + half * (d * d)
            if margin:
                for l in lanes(lo, hi):
                    d = Y[y, l] - t
                    S[ERR, l] = abs(d) if first else larger(S[ERR, l], abs(d))
    for l in lanes(lo, hi):
        S[FINITE, l] = one
        S[OUT, l] = Y[uoff[m], l]
    for k in range(nparams):
        for l in lanes(lo, hi):
            S[FINITE, l] = select(isfinite(S[PARAMS + 3 * k, l]), S[FINITE, l], one - one)


@njit(inline="always")
def forward(S, lo, hi, D):
    """The rest of the forward pass of lanes lo..hi-1 over every pattern (network.Net.forward)
    once step_lanes has put its activations in Y: the loss, first output and whether the
    weights are finite, to S."""
    _forward(S, lo, hi, D, False)


@njit(inline="always")
def forward_margin(S, lo, hi, D):
    """forward, also writing the largest |y - t| (for the margin criterion)."""
    _forward(S, lo, hi, D, True)


@stage
def _deltas(S, lo, hi, D, a, p0, p1):
    """dE/dz of layer a's units, patterns p0..p1-1, into G, from layer a+1's deltas and the
    weights as they are now in S. The output delta is (y - t) (f'(z) + offset) for sse, and
    y - t for cross-entropy, whose derivative cancels the sigmoid's."""
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    X = P * U + GRADIENTS + P  # G's row of the first ordered pattern (when shuffled)
    n = L[0] + L[m]
    for p in range(p0, p1):
        above = p * U + uoff[a + 1] if a < m else 0
        for j in range(L[a]):
            y = p * U + uoff[a] + j
            if a == m:
                if MODEL and shuffled:  # the target at position p of the lane's order
                    for l in lanes(lo, hi):
                        G[y, l] = Y[y, l] - G[X + p * n + L[0] + j, l]
                else:
                    t = _data(K, L, p, L[0] + j)
                    for l in lanes(lo, hi):
                        G[y, l] = Y[y, l] - t
                if MODEL and loss == CROSS_ENTROPY:
                    continue
            else:
                w = PARAMS + 3 * (woff[a] + j)  # w[a][k][j]: unit j to unit k above
                for l in lanes(lo, hi):
                    G[y, l] = G[above, l] * S[w, l]
                k = 1
                if BLOCKED:  # four terms a pass, added in order
                    c = 3 * L[a]  # from unit k's weight to unit k + 1's
                    while k + 4 <= L[a + 1]:
                        e, v = above + k, w + k * c
                        for l in lanes(lo, hi):
                            G[y, l] = (((G[y, l] + G[e, l] * S[v, l])
                                        + G[e + 1, l] * S[v + c, l])
                                       + G[e + 2, l] * S[v + 2 * c, l]) \
                                + G[e + 3, l] * S[v + 3 * c, l]
                        k += 4
                for r in range(k, L[a + 1]):
                    for l in lanes(lo, hi):
                        G[y, l] = G[y, l] + G[above + r, l] * S[w + 3 * r * L[a], l]
            _slope(G, Y, y, lo, hi, act[a - 1], offset)


@njit(inline="always")
def _apply(update, S, lo, hi, G, g, r, record, rec, b, nb):
    """One parameter's update (its gradient summed in G[g]) for every lane, as update t =
    (n - 1) nb + b + 1 (nb updates a step); record also keeps the gradient in row rec of S."""
    one = const(S[0, 0], 1.0)
    batches, number = const(S[0, 0], nb), const(S[0, 0], b + 1)
    for l in lanes(lo, hi):
        if record:
            S[rec, l] = G[g, l]
        S[r, l], S[r + 1, l], S[r + 2, l] = update(
            G[g, l], S[r, l], S[r + 1, l], S[r + 2, l], (S[N, l] - one) * batches + number,
            S[C, l], S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l])


@stage
def _gradients(S, lo, hi, D, a, k0, k1, p0, p1):
    """The gradients of layer a's parameters k0..k1-1 (its weights to-unit by to-unit, then
    its biases if trained), each summed over patterns p0..p1-1 in order, into G's gradient
    rows, the first for k0."""
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    X = P * U + GRADIENTS + P  # G's row of the first ordered pattern (when shuffled)
    n = L[0] + L[m]
    weights = L[a + 1] * L[a]
    for k in range(k0, k1):
        g = P * U + k - k0  # the gradient's row in G
        j, i = (k // L[a], k % L[a]) if k < weights else (k - weights, -1)
        d = uoff[a + 1] + j  # unit j's delta in pattern 0
        if i < 0:  # unit j's bias
            for l in lanes(lo, hi):
                G[g, l] = G[p0 * U + d, l]
            p = p0 + 1
            if BLOCKED:  # four patterns a pass, added in order
                while p + 4 <= p1:
                    e = p * U + d
                    for l in lanes(lo, hi):
                        G[g, l] = (((G[g, l] + G[e, l]) + G[e + U, l]) + G[e + 2 * U, l]) \
                            + G[e + 3 * U, l]
                    p += 4
            for q in range(p, p1):
                for l in lanes(lo, hi):
                    G[g, l] = G[g, l] + G[q * U + d, l]
        elif MODEL and a == 0 and shuffled:
            for l in lanes(lo, hi):
                G[g, l] = G[p0 * U + d, l] * G[X + p0 * n + i, l]
            for p in range(p0 + 1, p1):
                for l in lanes(lo, hi):
                    G[g, l] = G[g, l] + G[p * U + d, l] * G[X + p * n + i, l]
        elif a == 0:
            x = _data(K, L, p0, i)
            for l in lanes(lo, hi):
                G[g, l] = G[p0 * U + d, l] * x
            p = p0 + 1
            if BLOCKED:  # four patterns a pass, added in order
                while p + 4 <= p1:
                    x0, x1 = _data(K, L, p, i), _data(K, L, p + 1, i)
                    x2, x3 = _data(K, L, p + 2, i), _data(K, L, p + 3, i)
                    e = p * U + d
                    for l in lanes(lo, hi):
                        G[g, l] = (((G[g, l] + G[e, l] * x0) + G[e + U, l] * x1)
                                   + G[e + 2 * U, l] * x2) + G[e + 3 * U, l] * x3
                    p += 4
            for q in range(p, p1):
                x = _data(K, L, q, i)
                for l in lanes(lo, hi):
                    G[g, l] = G[g, l] + G[q * U + d, l] * x
        else:
            y = uoff[a] + i
            for l in lanes(lo, hi):
                G[g, l] = G[p0 * U + d, l] * Y[p0 * U + y, l]
            p = p0 + 1
            if BLOCKED:  # four patterns a pass, added in order
                while p + 4 <= p1:
                    e, f = p * U + d, p * U + y
                    for l in lanes(lo, hi):
                        G[g, l] = ((((G[g, l] + G[e, l] * Y[f, l]) + G[e + U, l] * Y[f + U, l])
                                    + G[e + 2 * U, l] * Y[f + 2 * U, l])
                                   + G[e + 3 * U, l] * Y[f + 3 * U, l])
                    p += 4
            for q in range(p, p1):
                for l in lanes(lo, hi):
                    G[g, l] = G[g, l] + G[q * U + d, l] * Y[q * U + y, l]


@njit(inline="always")
def _update_layer(update, S, lo, hi, D, a, record, p0, p1, b, nb):
    """Layer a's parameters (weights into layer a+1, then its biases if trained) updated in
    update order, each with its gradient summed over patterns p0..p1-1 in order: GRADIENTS
    gradients at a time, then their updates (one call of the rule, inlined once)."""
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    m = L.shape[0] - 1
    g = P * (uoff[m] + L[m])  # the first gradient row in G
    rec = PARAMS + 3 * nparams  # the first gradient row of a recording S
    weights = L[a + 1] * L[a]
    total = weights + (L[a + 1] if trained else 0)
    for k0 in range(0, total, GRADIENTS):
        k1 = min(total, k0 + GRADIENTS)
        _gradients(S, lo, hi, D, a, k0, k1, p0, p1)
        for k in range(k0, k1):
            r = woff[a] + k if k < weights else boff[a] + k - weights
            _apply(update, S, lo, hi, G, g + k - k0, PARAMS + 3 * r, record, rec + r, b, nb)


@njit(inline="always")
def _backprop(update, S, lo, hi, D, p0, p1, b, nb, inplace, record):
    m = D[1].shape[0] - 1
    if inplace:
        for a in range(m - 1, -1, -1):
            _deltas(S, lo, hi, D, a + 1, p0, p1)
            _update_layer(update, S, lo, hi, D, a, record, p0, p1, b, nb)
    else:
        for a in range(m, 0, -1):
            _deltas(S, lo, hi, D, a, p0, p1)
        for a in range(m - 1, -1, -1):
            _update_layer(update, S, lo, hi, D, a, record, p0, p1, b, nb)


@njit(inline="always")
def backprop_inplace(update, S, lo, hi, D, p0, p1, b, nb):
    """The post's in-place back(), generalised (network.Net.backprop["inplace"]), over
    patterns p0..p1-1: update b + 1 of the step's nb."""
    _backprop(update, S, lo, hi, D, p0, p1, b, nb, True, False)


@njit(inline="always")
def backprop_simultaneous(update, S, lo, hi, D, p0, p1, b, nb):
    """Textbook backpropagation: every delta from the old weights, then all updates."""
    _backprop(update, S, lo, hi, D, p0, p1, b, nb, False, False)


@njit(inline="always")
def backprop_inplace_record(update, S, lo, hi, D, p0, p1, b, nb):
    """backprop_inplace, keeping each gradient in S after rows(n)."""
    _backprop(update, S, lo, hi, D, p0, p1, b, nb, True, True)


@njit(inline="always")
def backprop_simultaneous_record(update, S, lo, hi, D, p0, p1, b, nb):
    """backprop_simultaneous, keeping each gradient in S after rows(n)."""
    _backprop(update, S, lo, hi, D, p0, p1, b, nb, False, True)


@njit(inline="always")
def schedule(S, lo, hi):
    """The learning rate h0 of epoch n (step n), as torch's schedulers give it stepping once
    an epoch: StepLR multiplies it by gamma every step_size epochs, ExponentialLR every epoch
    (torch multiplies the lr it has, so do we, bit for bit); inverse_time gives
    lr0 / (1 + decay k) after k epochs. A constant lr is left as it is."""
    one = const(S[0, 0], 1.0)
    for l in lanes(lo, hi):
        k = S[N, l] - one  # epochs before this one
        kind = S[KIND, l]
        due = (k > one - one) & select(kind == STEP, k % S[STEP_SIZE, l] == one - one,
                                       kind == EXPONENTIAL)
        lr = select(due, S[0, l] * S[GAMMA, l], S[0, l])
        S[0, l] = select(kind == INVERSE_TIME, S[LR0, l] / (one + S[GAMMA, l] * k), lr)


@njit(inline="always")
def index(x):
    """x, a whole number, as an integer to index with (NumPy's target: an integer array)."""
    return int(x)


@njit(inline="always")
def swap(A, r, s, l):
    """A[r, l] and A[s, l] exchanged; s may differ by lane (NumPy's target: an array)."""
    t = A[r, l]
    A[r, l] = A[s, l]
    A[s, l] = t


@njit(inline="always")
def _below(key, epoch, i):
    """A number in 0..i drawn from (key, epoch, i): SplitMix64's output function of the three
    packed into 64 bits (key < 2^24, epoch < 2^28, i < 2^12), reduced mod i + 1."""
    z = ((np.uint64(key) << np.uint64(40)) ^ (np.uint64(epoch) << np.uint64(12))
         ^ np.uint64(i)) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64((z >> np.uint64(11)) % np.uint64(i + 1))


@stage
def shuffle(S, lo, hi, D):
    """Each lane's order of the patterns for epoch n: a Fisher-Yates shuffle of 0..P-1 whose
    draws come from the lane's key (a hash of its seed), n and the position alone, so every
    backend, block and chunk draws the same; into G's rows after the gradient, followed by
    the patterns (inputs, targets) in that order, which the epoch's updates read."""
    K, L, uoff, woff, boff, act, trained, P, nparams, loss, offset, B, shuffled, Y, G = D
    m = L.shape[0] - 1
    order = P * (uoff[m] + L[m]) + GRADIENTS
    n = L[0] + L[m]
    first = HEAD + 5 * m + 2  # the first pattern's row of K
    for q in range(P):
        for l in lanes(lo, hi):
            G[order + q, l] = q
    for i in range(P - 1, 0, -1):
        for l in lanes(lo, hi):
            swap(G, order + i, order + _below(S[SHUFFLE_KEY, l], S[N, l], i), l)
    for q in range(P):
        for c in range(n):
            for l in lanes(lo, hi):
                G[order + P + q * n + c, l] = K[first + index(G[order + q, l]) * n + c]


@njit(inline="always")
def step_lanes(update, advance, forward, backprop, S, lo, hi, D):
    """training.step for lanes lo..hi-1 at once: forward pass n of each over every pattern
    (the loss and verdict), then the step's updates, one per batch of B patterns (one in
    all for full batch): each advances the configuration's own state, then updates every
    weight with the gradient summed over its batch, from activations computed with the
    weights as they are then."""
    P, B, shuffled = D[7], D[11], D[12]
    one = const(S[0, 0], 1.0)
    for l in lanes(lo, hi):
        S[N, l] = S[N, l] + 1
    if MODEL:
        schedule(S, lo, hi)
    nb = -(-P // B)
    for b in range(-1, nb):  # -1: the epoch's forward pass over every pattern in order
        p0 = max(b, 0) * B
        p1 = P if b < 0 else min(P, p0 + B)
        ordered = shuffled if b >= 0 else 0
        # one call for every pass (each call is compiled anew); a batch's activations are
        # the forward pass's where no update came between, in the same order
        if b != 0 or shuffled:
            _activations(S, lo, hi, D, p0, p1, ordered)
        if b < 0:
            forward(S, lo, hi, D)
            if MODEL and shuffled:
                shuffle(S, lo, hi, D)
            continue
        batches, number = const(S[0, 0], nb), const(S[0, 0], b + 1)
        for l in lanes(lo, hi):
            S[C, l] = advance(S[C, l], (S[N, l] - one) * batches + number, S[0, l], S[1, l],
                              S[2, l], S[3, l], S[4, l], S[5, l])
        backprop(update, S, lo, hi, D, p0, p1, b, nb)


@njit(inline="always")
def step(update, advance, forward, backprop, S, l, D):
    """training.step's signature, for the templates that run one lane at a time (serial,
    cuda): step_lanes over lane l alone."""
    step_lanes(update, advance, forward, backprop, S, l, l + 1, D)
