"""The post's 2-2-1 network: constants, forward pass and backpropagation.

Units 1, 2 are inputs, 3, 4 hidden, 5 the output; ``w_ij`` joins unit i to unit j. No biases,
sigmoid on every non-input unit, loss ``E = 1/2 (y5 - ya)^2``.

Every formula is a scalar ``@njit(inline='always')`` function that reads and writes one lane
``l`` of a state array ``S[row, lane]``. The serial backend runs one lane, the CPU backend runs
SIMD blocks of lanes, the NumPy backend passes ``l = slice(...)`` and the CUDA backend compiles
the same source as device functions (see ``bpbench/targets.py``). The arithmetic keeps the
post's order of operations so that float64 results match it bit for bit.
"""
import numpy as np
from numba import njit
from numba.extending import intrinsic

Y1, Y2 = 0.35, 0.9  # inputs
YA = 0.5  # target
# Weights in the order the post's back() updates them: (3,5), (4,5), (1,3), (2,3), (1,4), (2,4).
WEIGHT_NAMES = ("w35", "w45", "w13", "w23", "w14", "w24")
W_INIT = (0.3, 0.9, 0.1, 0.8, 0.4, 0.6)
W35, W45, W13, W23, W14, W24 = range(6)

# Rows of the per-configuration state S[row, lane]: weights, two optimizer slots per weight, the
# lane's hyperparameters, its last forward pass and its pass count. One array for everything a
# lane owns lets LLVM see that no two rows overlap, so the lane loop vectorises.
W, M, V = 0, 6, 12  # weights, first moment / momentum buffer, second moment / square average
LR, BETA, BETA2, EPS = 18, 19, 20, 21
# The last forward pass: its loss, its output, whether its weights were all finite (1 or 0),
# and how many forward passes the lane has run.
LOSS, OUT, FINITE, N = 22, 23, 24, 25
NROWS = 26
HYPER_ROWS = (LR, BETA, BETA2, EPS)


@njit(inline="always")
def const(x, c):
    """The number c in the floating type of x, so float32 arithmetic stays float32."""
    return type(x)(c)


@intrinsic
def _llvm_sqrt(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.call(builder.module.declare_intrinsic("llvm.sqrt", [args[0].type]), args)
    return x(x), codegen


@njit(inline="always")
def sqrt(x):
    """Correctly rounded square root as the llvm.sqrt intrinsic, which vectorises; Numba's
    math.sqrt and np.sqrt on a scalar are libm calls, which block SIMD."""
    return _llvm_sqrt(x)


@njit(inline="always")
def isfinite(x):
    """Neither NaN nor inf."""
    return np.isfinite(x)


@njit(inline="always")
def exp(x):
    """e^x, libm's (what Python's math.exp computes); fast kernels swap in fast_exp."""
    return np.exp(x)


@njit(inline="always")
def fast_exp(x):
    """e^x as (e^(x/4096))^4096, the inner exponential by its degree-10 Taylor polynomial:
    plain arithmetic that vectorises, relative error ~1e-12, and IEEE-like at the edges
    (overflow to inf, underflow to 0, NaN stays NaN) so divergence stays visible. Computed in
    float64 whatever x's type: the squarings would amplify float32 rounding 4096-fold."""
    xd = np.float64(x)
    xd = -746.0 if xd < -746.0 else xd  # e^-746 underflows to 0 anyway; NaN fails the test
    r = xd * (1.0 / 4096)
    p = 1.0 / 3628800
    for c in (1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6,
              0.5, 1.0, 1.0):
        p = p * r + c
    for _ in range(12):
        p = p * p
    return type(x)(p)


@njit(inline="always")
def sigmoid(x):
    """f(x) = 1 / (1 + e^-x)."""
    return const(x, 1.0) / (const(x, 1.0) + exp(-x))


@njit(inline="always")
def d_sigmoid(y):
    """f'(x) written with y = f(x): y (1 - y)."""
    return y * (const(y, 1.0) - y)


@njit(inline="always")
def forward(S, l, y1, y2, ya):
    """Forward pass of lane l; returns the hidden outputs, the output y5 and the loss."""
    y3 = sigmoid(S[W + W13, l] * y1 + S[W + W23, l] * y2)
    y4 = sigmoid(S[W + W14, l] * y1 + S[W + W24, l] * y2)
    y5 = sigmoid(S[W + W35, l] * y3 + S[W + W45, l] * y4)
    d = y5 - ya
    return y3, y4, y5, const(d, 0.5) * (d * d)


@njit(inline="always")
def weights_finite(S, l):
    """True where all six weights are finite (NaN and inf both fail)."""
    return (isfinite(S[W + 0, l]) & isfinite(S[W + 1, l]) & isfinite(S[W + 2, l])
            & isfinite(S[W + 3, l]) & isfinite(S[W + 4, l]) & isfinite(S[W + 5, l]))


@njit(inline="always")
def apply(update, S, l, k, g, t):
    """w_k -= u, where (u, state) = update(g, state, hyperparameters) is the optimizer's rule."""
    u, S[M + k, l], S[V + k, l] = update(g, S[M + k, l], S[V + k, l], t,
                                         S[LR, l], S[BETA, l], S[BETA2, l], S[EPS, l])
    S[W + k, l] = S[W + k, l] - u


@njit(inline="always")
def backprop_seed(update, S, l, t, y1, y2, ya, y3, y4, y5):
    """The post's back(): each weight is updated as soon as its gradient is known, so the
    first-layer gradients see the already-updated w35 and w45."""
    d5 = (y5 - ya) * d_sigmoid(y5)  # dE/dz5
    apply(update, S, l, W35, d5 * y3, t)
    apply(update, S, l, W45, d5 * y4, t)
    d3 = d5 * S[W + W35, l] * d_sigmoid(y3)  # dE/dz3, with the new w35
    apply(update, S, l, W13, d3 * y1, t)
    apply(update, S, l, W23, d3 * y2, t)
    d4 = d5 * S[W + W45, l] * d_sigmoid(y4)
    apply(update, S, l, W14, d4 * y1, t)
    apply(update, S, l, W24, d4 * y2, t)


@njit(inline="always")
def backprop_simultaneous(update, S, l, t, y1, y2, ya, y3, y4, y5):
    """Textbook backpropagation (what PyTorch computes): every gradient from the old weights,
    then all updates."""
    d5 = (y5 - ya) * d_sigmoid(y5)
    d3 = d5 * S[W + W35, l] * d_sigmoid(y3)
    d4 = d5 * S[W + W45, l] * d_sigmoid(y4)
    g35, g45 = d5 * y3, d5 * y4
    g13, g23, g14, g24 = d3 * y1, d3 * y2, d4 * y1, d4 * y2
    apply(update, S, l, W35, g35, t)
    apply(update, S, l, W45, g45, t)
    apply(update, S, l, W13, g13, t)
    apply(update, S, l, W23, g23, t)
    apply(update, S, l, W14, g14, t)
    apply(update, S, l, W24, g24, t)


ORDERS = {"seed": backprop_seed, "simultaneous": backprop_simultaneous}
