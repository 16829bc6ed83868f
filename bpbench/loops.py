"""The network as loops over its shape: one compiled kernel per rule serves every shape.

network.py writes a shape's formulas out unit by unit, pattern by pattern: the fastest code for
the post's network, but source, compile time and recursion that grow with the network. Here the
same formulas are loops over layers, units, fan-in and patterns, and the shape is data: a
header of integers at the front of the data array K (``header``), read back by ``pack``. Every
sum is accumulated in the order network.py writes it (fan-in i in order, then the bias;
patterns in order; outputs within a pattern), so a looped kernel gives the unrolled one's
numbers bit for bit in exact mode.

Activations and deltas live in scratch arrays ``Y[p * U + unit, lane]`` and ``G[...]`` (U: the
non-input units of one pattern, numbered through the layers), allocated by ``pack`` for the
kernel's lanes; layer 0 is read from K. The functions have the signatures of network.Net's, so
every template and backend runs them unchanged.
"""
import numpy as np
from numba import njit

from .network import C, ERR, FINITE, LOSS, OUT, PARAMS, const, exp, isfinite, larger

HEAD = 4  # header: layers - 1, biases trained (0/1), patterns, parameters; then the arrays


def header(shape):
    """The integers a looped kernel reads the shape from, as float64: m (weight layers), whether
    biases are trained, patterns, parameters, then L[0..m] (layer sizes), uoff[0..m] (each
    layer's first unit in a pattern's scratch; layer 0 is the data), woff[0..m-1] and
    boff[0..m-1] (each layer's first weight and bias in update order; -1: no biases)."""
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
    return np.array([m, shape.bias == "trained", shape.patterns, k] + L + uoff + woff + boff,
                    dtype=np.float64)


@njit(inline="always")
def _ints(K, lo, n):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = int(K[lo + i])
    return out


@njit(inline="always")
def pack(K, lanes):
    """(K, L, uoff, woff, boff, trained, P, nparams, Y, G): the header decoded, and scratch for
    lanes lanes."""
    m = int(K[0])
    L = _ints(K, HEAD, m + 1)
    uoff = _ints(K, HEAD + m + 1, m + 1)
    woff = _ints(K, HEAD + 2 * m + 2, m)
    boff = _ints(K, HEAD + 3 * m + 2, m)
    P = int(K[2])
    units = uoff[m] + L[m]
    Y = np.empty((P * units, lanes), K.dtype)
    G = np.empty((P * units, lanes), K.dtype)
    return K, L, uoff, woff, boff, int(K[1]), P, int(K[3]), Y, G


@njit(inline="always")
def _data(K, L, p, i):
    """Pattern p's input i (i < L[0]) or target i - L[0]: the patterns follow the header."""
    m = L.shape[0] - 1
    return K[HEAD + 4 * m + 2 + p * (L[0] + L[m]) + i]


@njit(inline="always")
def _y(K, L, uoff, Y, p, a, i, l):
    """Unit i of layer a in pattern p: an input from K, else an activation from Y."""
    if a == 0:
        return _data(K, L, p, i)
    return Y[p * (uoff[L.shape[0] - 1] + L[L.shape[0] - 1]) + uoff[a] + i, l]


@njit(inline="always")
def _forward(S, l, D, margin):
    K, L, uoff, woff, boff, trained, P, nparams, Y, G = D
    one = const(S[0, l], 1.0)
    half = const(S[0, l], 0.5)
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    for p in range(P):
        for a in range(1, m + 1):
            for j in range(L[a]):
                row = PARAMS + 3 * (woff[a - 1] + j * L[a - 1])
                z = S[row, l] * _y(K, L, uoff, Y, p, a - 1, 0, l)
                for i in range(1, L[a - 1]):
                    z = z + S[row + 3 * i, l] * _y(K, L, uoff, Y, p, a - 1, i, l)
                if boff[a - 1] >= 0:
                    z = z + S[PARAMS + 3 * (boff[a - 1] + j), l]
                Y[p * U + uoff[a] + j, l] = one / (one + exp(-(z)))
    E = S[LOSS, l]
    err = S[ERR, l]
    for p in range(P):
        for j in range(L[m]):
            d = Y[p * U + uoff[m] + j, l] - _data(K, L, p, L[0] + j)
            if p == 0 and j == 0:
                E = half * (d * d)
                err = abs(d)
            else:
                E = E + half * (d * d)
                err = larger(err, abs(d))
    finite = isfinite(S[PARAMS, l])
    for k in range(1, nparams):
        finite = finite & isfinite(S[PARAMS + 3 * k, l])
    S[LOSS, l] = E
    S[OUT, l] = Y[uoff[m], l]
    if margin:
        S[ERR, l] = err
    S[FINITE, l] = finite
    return 0


@njit(inline="always")
def forward(S, l, D):
    """Forward pass of lane l over every pattern (network.Net.forward): activations to Y, the
    loss, first output and whether the weights are finite to S."""
    return _forward(S, l, D, False)


@njit(inline="always")
def forward_margin(S, l, D):
    """forward, also writing the largest |y - t| (for the margin criterion)."""
    return _forward(S, l, D, True)


@njit(inline="always")
def _deltas(S, l, D, a):
    """dE/dz of layer a's units, every pattern, into G, from layer a+1's deltas and the
    weights as they are now in S."""
    K, L, uoff, woff, boff, trained, P, nparams, Y, G = D
    one = const(S[0, l], 1.0)
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    for p in range(P):
        for j in range(L[a]):
            y = Y[p * U + uoff[a] + j, l]
            if a == m:
                G[p * U + uoff[a] + j, l] = (y - _data(K, L, p, L[0] + j)) * (y * (one - y))
            else:
                row = PARAMS + 3 * (woff[a] + j)  # w[a][k][j], k = 0: unit j to unit 0 above
                s = G[p * U + uoff[a + 1], l] * S[row, l]
                for k in range(1, L[a + 1]):
                    s = s + G[p * U + uoff[a + 1] + k, l] * S[row + 3 * k * L[a], l]
                G[p * U + uoff[a] + j, l] = s * (y * (one - y))


@njit(inline="always")
def _update_layer(update, S, l, t, D, a, record):
    """Layer a's parameters (weights into layer a+1, then its biases if trained) updated in
    update order, each with its gradient summed over the patterns in order."""
    K, L, uoff, woff, boff, trained, P, nparams, Y, G = D
    m = L.shape[0] - 1
    U = uoff[m] + L[m]
    c = S[C, l]
    h0, h1, h2, h3, h4, h5 = S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l]
    for j in range(L[a + 1]):
        for i in range(L[a]):
            g = G[uoff[a + 1] + j, l] * _y(K, L, uoff, Y, 0, a, i, l)
            for p in range(1, P):
                g = g + G[p * U + uoff[a + 1] + j, l] * _y(K, L, uoff, Y, p, a, i, l)
            k = woff[a] + j * L[a] + i
            r = PARAMS + 3 * k
            if record:
                S[PARAMS + 3 * nparams + k, l] = g
            S[r, l], S[r + 1, l], S[r + 2, l] = update(g, S[r, l], S[r + 1, l], S[r + 2, l], t,
                                                       c, h0, h1, h2, h3, h4, h5)
    if trained:
        for j in range(L[a + 1]):
            g = G[uoff[a + 1] + j, l]
            for p in range(1, P):
                g = g + G[p * U + uoff[a + 1] + j, l]
            k = boff[a] + j
            r = PARAMS + 3 * k
            if record:
                S[PARAMS + 3 * nparams + k, l] = g
            S[r, l], S[r + 1, l], S[r + 2, l] = update(g, S[r, l], S[r + 1, l], S[r + 2, l], t,
                                                       c, h0, h1, h2, h3, h4, h5)


@njit(inline="always")
def _backprop(update, S, l, t, D, inplace, record):
    m = D[1].shape[0] - 1
    if inplace:
        for a in range(m - 1, -1, -1):
            _deltas(S, l, D, a + 1)
            _update_layer(update, S, l, t, D, a, record)
    else:
        for a in range(m, 0, -1):
            _deltas(S, l, D, a)
        for a in range(m - 1, -1, -1):
            _update_layer(update, S, l, t, D, a, record)


@njit(inline="always")
def backprop_inplace(update, S, l, t, D, Y):
    """The post's in-place back(), generalised (network.Net.backprop["inplace"])."""
    _backprop(update, S, l, t, D, True, False)


@njit(inline="always")
def backprop_simultaneous(update, S, l, t, D, Y):
    """Textbook backpropagation: every delta from the old weights, then all updates."""
    _backprop(update, S, l, t, D, False, False)


@njit(inline="always")
def backprop_inplace_record(update, S, l, t, D, Y):
    """backprop_inplace, keeping each gradient in S after rows(n)."""
    _backprop(update, S, l, t, D, True, True)


@njit(inline="always")
def backprop_simultaneous_record(update, S, l, t, D, Y):
    """backprop_simultaneous, keeping each gradient in S after rows(n)."""
    _backprop(update, S, l, t, D, False, True)

