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
call of the optimizer's rule. They call only the small primitives of primitives.py, so the serial
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
from numba import njit

from .layout import C, ERR, FINITE, HYPER, LOSS, OUT, PARAMS, rows
from .primitives import const, exp, isfinite, larger


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

# Exact kernels compute e^x with primitives.table_exp (libm's number bit for bit, in a form that
# vectorises) where that pays: the looped kernels, which call it from one place, and unrolled
# ones with at most TABLE_EXP_SITES sigmoids written out (the post's 3: W1 ran 1.45x and W3
# 1.6x faster, compiling in 1.1 s instead of 1.0 s). Each written-out call costs LLVM time:
# XOR's 12 compiled in 4.0 s instead of 1.2 s, encoder-4-2's 24 in 11.8 s instead of 2.1 s.
TABLE_EXP_SITES = 4


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
    def sigmoids(self):
        """Non-input units times patterns: the sigmoids an unrolled kernel writes out."""
        return sum(self.layers[1:]) * self.patterns

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
