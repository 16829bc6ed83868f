"""Any small fully connected sigmoid network: forward pass and both backprop orders.

Units are grouped in layers ``layers = (inputs, hidden..., outputs)``; ``w[a][j][i]`` joins
unit i of layer a to unit j of layer a+1, and ``b[a][j]`` is unit j's bias. For every pattern
and every non-input unit, ``z_j = sum_i w[j][i] y_i + b_j`` (summed in i order) and
``y_j = sigmoid(z_j)``; the loss is ``E = sum over patterns and outputs of 1/2 (y - t)^2``. One
step is a full-batch forward pass plus one update with every gradient summed over patterns.

The shape is compiled in: ``net(shape)`` writes the forward pass and both backprop orders as
straight-line source for that one shape (every unit, pattern and parameter unrolled, rows of S
as literal numbers) and compiles each as a scalar ``@njit(inline='always')`` function of one
lane ``l`` of a state array ``S[row, lane]``, with the sigmoid written out and every update a
call of the optimizer's rule. They call only the small primitives below, so the serial
backend runs one lane, the CPU backend SIMD blocks of lanes, the NumPy backend a slice
and the CUDA backend device functions, all from this one source (see ``targets.py``). The
arithmetic keeps the post's order of operations, so the post's network gives its numbers bit
for bit. Past MAX_UNROLLED parameters x patterns, net(shape) hands out loops.py's formulas
instead: the same arithmetic as loops over a shape read from the data.
"""
import functools
import linecache
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

# Rows of the per-configuration state S[row, lane]: the lane's hyperparameters (its rule's
# own, in the order of Optimizer.defaults), the rule's per-configuration state C, its last
# forward pass (loss, first output, largest |y - t|, whether its weights were all finite), its
# pass count, its learning-rate schedule (loops.schedule: kind, step size, gamma or decay, and
# the initial lr, since a schedule rewrites h0), the key of its pattern shuffles, then three
# rows per parameter: the value and
# two optimizer slots. One array for everything a lane owns lets LLVM see that no two rows
# overlap, so the lane loop vectorises.
HYPER = 6  # rows 0..5: hyperparameter slots h0..h5 (optimizers.SLOTS); h0 is every rule's lr
C = 6
LOSS, OUT, ERR, FINITE, N = 7, 8, 9, 10, 11
KIND, STEP_SIZE, GAMMA, LR0 = 12, 13, 14, 15  # rows HYPER..HYPER+2 of H, then H's lr
SHUFFLE_KEY = 16  # row HYPER+3 of H: 24 bits of a hash of the seed (loops.shuffle)
# Rows 17..19 are unused: where the parameters start decides which rows of a lane block share
# the L1 cache's sets. On the post's W1-W3 (benchmarks/vs_commit.sh, AVX-512) 20 ran as fast
# as the 12 before the schedule's rows, 17 and 18 up to 15% slower in fast mode, 24 20% slower
# on W1.
PARAMS = 20  # parameter k: value at PARAMS + 3k, optimizer state m, v just after it


@njit(inline="always")
def rows(nparams):
    """Rows of S for a network with nparams parameters."""
    return PARAMS + 3 * nparams


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
def larger(a, b):
    """max(a, b) for the margin criterion (NumPy's target swaps in np.maximum)."""
    return a if a > b else b


@njit(inline="always")
def select(condition, a, b):
    """a where condition holds, else b: a branch that vectorises (both sides are computed),
    and that the NumPy target, whose lanes are arrays, runs as np.where."""
    return a if condition else b


@njit(inline="always")
def exp(x):
    """e^x, libm's (what Python's math.exp computes); fast kernels swap in fast_exp."""
    return np.exp(x)


@njit(inline="always")
def tanh(x):
    """tanh x, libm's."""
    return np.tanh(x)


@njit(inline="always")
def log(x):
    """ln x, libm's."""
    return np.log(x)


@njit(inline="always")
def log1p(x):
    """ln(1 + x), libm's: what torch's binary cross-entropy takes of -y."""
    return np.log1p(x)


@intrinsic
def _llvm_rint(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.call(builder.module.declare_intrinsic("llvm.rint", [args[0].type]), args)
    return x(x), codegen


@intrinsic
def _times_two_to(typingctx, p, k):
    """p * 2^k for a float64 p and an integral float64 k in [-1022, 1023], by writing k + 1023
    into a float's exponent field: k + 1.5 * 2^52 holds k in its low mantissa bits. Integer
    arithmetic on the bits, because AVX2 has no vector conversion from double to int64; and
    an addition without fast-math flags, which could cancel the 1.5 * 2^52."""
    def codegen(context, builder, signature, args):
        p, k = args
        i64 = ir.IntType(64)
        t = builder.bitcast(builder.fadd(k, ir.Constant(k.type, 6755399441055744.0)), i64)
        e = builder.shl(builder.add(t, ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.fmul(p, builder.bitcast(e, p.type))
    return p(p, k), codegen


LN2_HI, LN2_LO = 0.6931471803691238, 1.9082149292705877e-10  # ln 2 = LN2_HI + LN2_LO
# e^f for |f| <= ln(2) / 2 as a degree-9 polynomial, 1 + f q(f) with q a least-squares fit of
# (e^f - 1) / f at 400 Chebyshev nodes (close to the minimax one): relative error 4e-14, where
# the degree-12 Taylor polynomial it replaced needed three more terms for 3e-16.
_E = (1.0, 1.0000000000000016, 0.49999999999797606, 0.16666666666614618, 0.04166666689105913,
      0.008333333367431764, 0.001388882166378451, 0.0001984119046415206,
      2.4876168871006077e-05, 2.763269410050469e-06)


@njit(inline="always")
def fast_exp(x):
    """e^x as 2^k e^f, with k = round(x / ln 2) and |f| <= ln(2) / 2, e^f by a degree-9
    polynomial in Estrin's form (a short chain of dependent operations, which is what
    limits a vectorised lane loop): plain arithmetic that vectorises, relative error under
    1e-13 (6e-14 measured under fast-math, which folds the two-part ln 2 into one), and
    IEEE-like at the edges (overflow to inf, NaN stays NaN, and results below 2^-1022, x <
    -708.4, flush to 0) so divergence stays visible. Computed in float64 whatever x's type."""
    xd = np.float64(x)
    xc = select(xd < -709.0, -709.0, select(xd > 710.0, 710.0, xd))  # NaN passes through
    k = _llvm_rint(xc * 1.4426950408889634)  # 1 / ln 2
    k = select(k > 1023.0, 1023.0, k)  # e^x overflows to inf in the last multiplication
    f = (xc - k * LN2_HI) - k * LN2_LO
    f2 = f * f
    f4 = f2 * f2
    p = (((_E[0] + _E[1] * f) + (_E[2] + _E[3] * f) * f2)
         + ((_E[4] + _E[5] * f) + (_E[6] + _E[7] * f) * f2) * f4
         + (_E[8] + _E[9] * f) * (f4 * f4))
    return type(x)(select(xd < -708.3964185322641, 0.0, _times_two_to(p, k)))


# The three formulas of the network, written out by the generator wherever they occur rather
# than called: every call Numba inlines costs it milliseconds of compiling, and an encoder's
# backprop has hundreds. one and half are 1 and 0.5 in S's dtype, so float32 stays float32.
ONE, HALF = "one = const(S[0, l], 1.0)", "half = const(S[0, l], 0.5)"
SIGMOID = "one / (one + exp(-({})))"  # f(x) = 1 / (1 + e^-x)
D_SIGMOID = "({0} * (one - {0}))"  # f'(x) written with y = f(x): y (1 - y)
HALF_SQUARE = "half * (d * d)"  # 1/2 d^2, the loss of one output
_HYPER = ", ".join(f"h{r}" for r in range(HYPER))  # the rule's hyperparameters, as locals


BIASES = ("none", "fixed", "trained")

# Where the unrolled source stops paying (`python benchmarks/scale.py --forms`, RESULTS.md
# "Looped kernels": sgd, 4,096 seeds, the cpu backend, AVX-512): it runs xor 1.6x (exact) and
# 2.2x (fast) faster than the looped kernels of loops.py, and encoder-4-2 (88 parameters x
# patterns) 1.4x and 2.0x; at encoder-5-3 (190) it is 1.09x in exact mode and 0.60x in fast,
# and from there on at most as fast, while its compile time grows (3.5 to 63 s a shape) and
# its source, past a few thousand, overflows Python's recursion (encoder-20-10). Shapes past
# MAX_UNROLLED parameters x patterns run the looped kernels, which read the shape as data and
# compile once per rule.
MAX_UNROLLED = 128


@dataclass(frozen=True)
class Shape:
    """What a kernel is compiled for: layer sizes, bias mode and the number of patterns;
    model: whether the run uses what only loops.py's kernels have (activations other than
    the sigmoid, cross-entropy, a prime offset, batches, a learning-rate schedule)."""
    layers: tuple
    bias: str = "none"
    patterns: int = 1
    model: bool = False

    @property
    def key(self):
        """An identifier naming this shape, for kernel names and cache files."""
        return f"n{'_'.join(map(str, self.layers))}_b{self.bias}_p{self.patterns}"

    @property
    def params(self):
        """Parameters in update order, each ("w", a, j, i) or ("b", a, j): the output layer
        first, then down; within a layer its weights to-unit by to-unit, then its biases.
        For the post: w35, w45, w13, w23, w14, w24, the order of its back()."""
        out = []
        for a in reversed(range(len(self.layers) - 1)):
            out += [("w", a, j, i) for j in range(self.layers[a + 1])
                    for i in range(self.layers[a])]
            if self.bias != "none":
                out += [("b", a, j) for j in range(self.layers[a + 1])]
        return out

    @property
    def names(self):
        """The parameters' names in update order, units numbered through the layers from 1:
        w35 joins unit 3 to unit 5 (w3_5 once a unit number has two digits), b3 is unit 3's
        bias. For the post: w35, w45, w13, w23, w14, w24."""
        first = np.cumsum((1,) + self.layers[:-1])  # number of each layer's first unit
        sep = "_" if sum(self.layers) > 9 else ""
        return [f"w{first[p[1]] + p[3]}{sep}{first[p[1] + 1] + p[2]}" if p[0] == "w"
                else f"b{first[p[1] + 1] + p[2]}" for p in self.params]

    @property
    def looped(self):
        """Whether this shape runs loops.py's kernels (shape as data) rather than the
        unrolled ones: past MAX_UNROLLED parameters x patterns, or for the model's options."""
        return self.model or self.nparams * self.patterns > MAX_UNROLLED

    @property
    def nparams(self):
        """len(self.params), without listing them."""
        L = self.layers
        return (sum(a * b for a, b in zip(L, L[1:]))
                + (sum(L[1:]) if self.bias != "none" else 0))

    @property
    def data_size(self):
        return self.patterns * (self.layers[0] + self.layers[-1])


class _Source:
    """Names and rows the generated code uses: unit j of layer a in pattern p is y{a}_{j}_{p}
    (layer 0 read from the data tuple D), its delta d{a}_{j}_{p}."""

    def __init__(self, shape):
        self.s = shape
        self.row = {p: PARAMS + 3 * k for k, p in enumerate(shape.params)}

    def x(self, p, i):  # input i of pattern p
        return f"D[{p * (self.s.layers[0] + self.s.layers[-1]) + i}]"

    def t(self, p, j):  # target of output j in pattern p
        return f"D[{p * (self.s.layers[0] + self.s.layers[-1]) + self.s.layers[0] + j}]"

    def y(self, a, j, p):
        return self.x(p, j) if a == 0 else f"y{a}_{j}_{p}"

    def w(self, a, j, i):
        return f"S[{self.row['w', a, j, i]}, l]"

    def local(self, param):
        """The name forward() reads a parameter into, once for every pattern: w{a}_{j}_{i}
        or b{a}_{j}."""
        return param[0] + "_".join(map(str, param[1:]))

    def activations(self):
        L = self.s.layers
        return [f"y{a}_{j}_{p}" for p in range(self.s.patterns)
                for a in range(1, len(L)) for j in range(L[a])]

    def forward(self, margin=False):
        L, last = self.s.layers, len(self.s.layers) - 1
        # every parameter read from S once, not once per pattern: the same numbers, and
        # fewer array reads for Numba to compile
        lines = [f"{self.local(q)} = S[{r}, l]" for q, r in self.row.items()]
        for p in range(self.s.patterns):
            for a in range(1, len(L)):
                for j in range(L[a]):
                    z = " + ".join(f"{self.local(('w', a - 1, j, i))} * {self.y(a - 1, i, p)}"
                                   for i in range(L[a - 1]))
                    if self.s.bias != "none":
                        z += f" + {self.local(('b', a - 1, j))}"
                    lines.append(f"y{a}_{j}_{p} = {SIGMOID.format(z)}")
        first = True
        for p in range(self.s.patterns):
            for j in range(L[-1]):
                lines.append(f"d = {self.y(last, j, p)} - {self.t(p, j)}")
                lines.append(f"E = {HALF_SQUARE}" if first else f"E = E + {HALF_SQUARE}")
                if margin:
                    lines.append("err = abs(d)" if first else "err = larger(err, abs(d))")
                first = False
        finite = " & ".join(f"isfinite({self.local(q)})" for q in self.row)
        lines += ["S[LOSS, l] = E", f"S[OUT, l] = {self.y(last, 0, 0)}"]
        lines += ["S[ERR, l] = err"] if margin else []
        lines += [f"S[FINITE, l] = {finite}", f"return ({', '.join(self.activations())},)"]
        name = "forward_margin" if margin else "forward"
        return f"def {name}(S, l, D):\n" + "".join(f"    {s}\n" for s in [ONE, HALF] + lines)

    def deltas(self, a):
        """Lines computing the deltas dE/dz of layer a's units, from layer a+1's deltas and the
        weights as they are now in S."""
        L, last = self.s.layers, len(self.s.layers) - 1
        out = []
        for p in range(self.s.patterns):
            for j in range(L[a]):
                y = self.y(a, j, p)
                if a == last:
                    out.append(f"d{a}_{j}_{p} = ({y} - {self.t(p, j)}) * {D_SIGMOID.format(y)}")
                    continue
                terms = [f"d{a + 1}_{k}_{p} * {self.w(a, k, j)}" for k in range(L[a + 1])]
                s = terms[0] if len(terms) == 1 else f"({' + '.join(terms)})"
                out.append(f"d{a}_{j}_{p} = {s} * {D_SIGMOID.format(y)}")
        return out

    def gradient(self, param):
        """dE/dparam summed over patterns, in pattern order."""
        P = range(self.s.patterns)
        if param[0] == "w":
            _, a, j, i = param
            return " + ".join(f"d{a + 1}_{j}_{p} * {self.y(a, i, p)}" for p in P)
        _, a, j = param
        return " + ".join(f"d{a + 1}_{j}_{p}" for p in P)

    def updates(self, layer=None, record=False):
        """g = ...; then each trained parameter's (w, m, v) = update(g, w, m, v, t, c, h0..h5),
        its rule on its rows of S (of one layer, or all). record also keeps g in S, in the
        parameter's row after rows(n), for traces."""
        ps = [p for p in self.s.params if (layer is None or p[1] == layer)
              and not (p[0] == "b" and self.s.bias == "fixed")]
        lines = [f"g{k} = {self.gradient(p)}" for k, p in enumerate(ps)]
        for k, p in enumerate(ps):
            r = self.row[p]
            if record:
                lines.append(f"S[{rows.py_func(len(self.s.params)) + (r - PARAMS) // 3}, l] = g{k}")
            state = f"S[{r}, l], S[{r + 1}, l], S[{r + 2}, l]"
            lines.append(f"{state} = update(g{k}, {state}, t, c, {_HYPER})")
        return lines

    def backprop(self, order, record=False):
        last = len(self.s.layers) - 1
        # the configuration's hyperparameters and state c, read once for every update
        lines = [ONE, f"({', '.join(self.activations())},) = Y",
                 f"c, {_HYPER} = S[C, l], {', '.join(f'S[{r}, l]' for r in range(HYPER))}"]
        if order == "inplace":
            for a in reversed(range(last)):
                lines += self.deltas(a + 1) + self.updates(a, record)
        else:
            for a in reversed(range(1, last + 1)):
                lines += self.deltas(a)
            lines += self.updates(record=record)
        name = f"backprop_{order}" + ("_record" if record else "")
        return f"def {name}(update, S, l, t, D, Y):\n" + "".join(f"    {s}\n" for s in lines)

    def pack(self):
        n = self.s.data_size
        return f"def pack(K, lanes):\n    return ({', '.join(f'K[{i}]' for i in range(n))},)\n"


_DOCS = {
    "forward": "Forward pass of lane l over every pattern in D (inputs then targets, pattern by "
               "pattern). Writes the loss, the first output and whether the weights of this "
               "pass are all finite to S; returns every activation.",
    "forward_margin": "forward, also writing the largest |y - t| (for the margin criterion).",
    "backprop_inplace": "The post's in-place back(), generalised: from the output layer down, a "
                        "layer's gradients are computed, the layer is updated, and the deltas "
                        "passed to the layer below use its updated weights.",
    "backprop_simultaneous": "Textbook backpropagation (what PyTorch computes): every gradient "
                             "from the old weights, then all updates.",
    "pack": "The data array K as a tuple: loaded once, kept in registers, never aliasing S "
            "(lanes, the kernel's width, is for loops.pack's scratch).",
}


@dataclass(frozen=True)
class Net:
    """The compiled formulas of one shape."""
    shape: Shape
    forward: object
    forward_margin: object
    backprop: dict  # order -> function
    backprop_record: dict  # order -> function that also keeps the gradients in S
    pack: object
    source: str  # None: loops.py's formulas
    step: object = None  # training.step, or loops.step (one lane of step_lanes)
    step_lanes: object = None  # loops.step_lanes: every lane lo..hi-1 at once (looped only)

    @property
    def looped(self):
        return self.source is None

    @property
    def nrows(self):
        return rows.py_func(self.shape.nparams)

    @property
    def key(self):
        """Names the kernels built from these formulas: the shape's, or "looped" for the
        looped formulas that every looped shape shares."""
        return "looped" if self.looped else self.shape.key


@functools.cache
def net(shape):
    """The forward pass, both backprop orders (each also recording gradients, for traces)
    and the data packer for one Shape: written out for it, or loops.py's for a looped shape."""
    if shape.looped:
        from . import loops
        return Net(shape, loops.forward, loops.forward_margin,
                   {"inplace": loops.backprop_inplace,
                    "simultaneous": loops.backprop_simultaneous},
                   {"inplace": loops.backprop_inplace_record,
                    "simultaneous": loops.backprop_simultaneous_record}, loops.pack, None,
                   loops.step, loops.step_lanes)
    gen = _Source(shape)
    source = "\n".join([gen.forward(), gen.forward(margin=True)]
                       + [gen.backprop(o, r) for o in ORDERS for r in (False, True)]
                       + [gen.pack()])
    namespace = {"__name__": __name__, "const": const, "exp": exp, "larger": larger,
                 "isfinite": isfinite, "C": C, "LOSS": LOSS, "OUT": OUT, "ERR": ERR,
                 "FINITE": FINITE}
    filename = f"<bpbench network {shape.key}>"
    # in linecache, so that flat.flatten and tracebacks can read the source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    fns = {}
    for name, doc in _DOCS.items():
        for suffix in ("", "_record") if name.startswith("backprop") else ("",):
            f = namespace[name + suffix]
            f.__qualname__ = f"{name}{suffix}_{shape.key}"  # unique: targets.retarget memoises
            f.__doc__ = doc + (" Also keeps each gradient in S, after rows(n)." if suffix
                               else "")
            fns[name + suffix] = njit(inline="always")(f)
    from .training import step
    return Net(shape, fns["forward"], fns["forward_margin"],
               {o: fns[f"backprop_{o}"] for o in ORDERS},
               {o: fns[f"backprop_{o}_record"] for o in ORDERS}, fns["pack"], source, step)


ORDERS = ("inplace", "simultaneous")
ORDER_ALIASES = {"seed": "inplace"}  # the post's back() was first called the "seed" order
