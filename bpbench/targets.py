"""One formula source, several targets.

The formulas in network.py, optimizers.py and training.py are scalar ``@njit`` functions.
``retarget`` rebuilds a function from its Python source with every jitted function it calls
replaced, recursively, by that function's own retargeted version, and the few primitives that
differ between targets (``const``, ``sqrt``) swapped. ``numpy_version(f)`` runs the same
arithmetic on NumPy arrays of configurations; ``python_version(f)`` runs it in the Python
interpreter on NumPy scalars; the CUDA backend wraps each function as a device function.
"""
import ctypes
import ctypes.util
import math
import types

import numpy as np
from numba.core.registry import CPUDispatcher


def retarget(f, wrap, primitives, _memo=None, separate=None):
    """f rebuilt for a target: wrap(rebuilt function), its jitted callees retargeted too and
    the names in primitives swapped; separate, where given, wraps instead the functions
    compiled on their own rather than inlined (loops.stage) for a target that keeps them
    apart."""
    memo = {} if _memo is None else _memo
    py = getattr(f, "py_func", f)
    key = py.__module__, py.__qualname__
    if key in memo:
        return memo[key]
    g = dict(py.__globals__)
    for name in py.__code__.co_names:
        value = g.get(name)
        if name in primitives:
            g[name] = primitives[name]
        elif isinstance(value, CPUDispatcher) and value.py_func is not py:  # not np.exp in exp
            g[name] = retarget(value, wrap, primitives, memo, separate)
    new = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
    own = isinstance(f, CPUDispatcher) and f.targetoptions.get("inline") != "always"
    memo[key] = out = (separate if separate and own else wrap)(new)
    return out


NUMPY_PRIMITIVES = {
    # c in x's floating type; c may be an array (Adam's step count) or a number.
    "const": lambda x, c: np.asarray(c, dtype=np.result_type(x)),
    "sqrt": np.sqrt,
    "larger": np.maximum,
    "select": np.where,
    "lanes": lambda lo, hi: (slice(lo, hi),),  # loops.py's lane loop: one pass over a slice
    "index": lambda x: np.asarray(x).astype(np.int64),
    "swap": lambda A, r, s, l: _swap(A, r, s, np.arange(A.shape[1])[l]),
}


def _swap(A, r, s, cols):
    """loops.swap on NumPy: row r and rows s (one per column) exchanged in those columns."""
    t = A[r, cols].copy()
    A[r, cols] = A[s, cols]
    A[s, cols] = t
_numpy_memo = {}


def numpy_version(f):
    """f rebuilt to run on NumPy arrays (lane index l a slice)."""
    return retarget(f, lambda g: g, NUMPY_PRIMITIVES, _numpy_memo)


def _libm(name):
    """name (exp, tanh, log, log1p) from the C library the compiled kernels call (Numba
    lowers them to libm's double and float functions), in x's type: NumPy's own SIMD versions
    round differently. Python's math function where ctypes cannot find libm (libm's too, but
    it raises where libm returns inf or NaN)."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        double, single = getattr(libm, name), getattr(libm, name + "f")
    except (OSError, TypeError, AttributeError):
        fallback = getattr(math, name)

        def double(x):
            try:
                return fallback(x)
            except OverflowError:
                return math.inf
            except ValueError:  # log of 0 or less
                return -math.inf if x == 0 else math.nan
        single = None
    else:
        double.restype, double.argtypes = ctypes.c_double, [ctypes.c_double]
        single.restype, single.argtypes = ctypes.c_float, [ctypes.c_float]
    fallback32 = getattr(np, name)

    def libm_function(x):
        if type(x) is np.float32:
            return np.float32(single(x) if single else fallback32(x))
        return np.float64(double(x))
    libm_function.__name__ = name
    return libm_function


PYTHON_PRIMITIVES = {
    "exp": _libm("exp"),
    "tanh": _libm("tanh"),
    "log": _libm("log"),
    "log1p": _libm("log1p"),
    "sqrt": np.sqrt,  # correctly rounded, as llvm.sqrt; keeps float32 a float32
    "isfinite": math.isfinite,
}


def python_version(f):
    """f rebuilt to run in the Python interpreter, its jitted callees too: on NumPy scalars
    (S[row, l] of a NumPy array), whose arithmetic is IEEE in the array's dtype, with libm's
    exp and pow as in compiled code, it gives a compiled exact kernel's numbers bit for bit.
    Run it under np.errstate(all="ignore"): an overflow is an answer here, not an error."""
    return retarget(f, lambda g: g, PYTHON_PRIMITIVES, {})
