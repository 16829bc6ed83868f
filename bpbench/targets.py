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


def retarget(f, wrap, primitives, _memo=None):
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
            g[name] = retarget(value, wrap, primitives, memo)
    new = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
    memo[key] = out = wrap(new)
    return out


NUMPY_PRIMITIVES = {
    # c in x's floating type; c may be an array (Adam's step count) or a number.
    "const": lambda x, c: np.asarray(c, dtype=np.result_type(x)),
    "sqrt": np.sqrt,
    "larger": np.maximum,
    "select": np.where,
    "lanes": lambda lo, hi: (slice(lo, hi),),  # loops.py's lane loop: one pass over a slice
}
_numpy_memo = {}


def numpy_version(f):
    """f rebuilt to run on NumPy arrays (lane index l a slice)."""
    return retarget(f, lambda g: g, NUMPY_PRIMITIVES, _numpy_memo)


def _libm_exp():
    """e^x from the C library the compiled kernels call (Numba's exp is llvm.exp, which LLVM
    lowers to libm's exp and expf), in x's type; Python's math.exp where ctypes cannot find
    libm (it is libm's exp too, but raises on overflow)."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        exp, expf = libm.exp, libm.expf
    except (OSError, TypeError, AttributeError):
        def exp(x):
            try:
                return math.exp(x)
            except OverflowError:
                return math.inf
        expf = None
    else:
        exp.restype, exp.argtypes = ctypes.c_double, [ctypes.c_double]
        expf.restype, expf.argtypes = ctypes.c_float, [ctypes.c_float]

    def libm_exp(x):
        if type(x) is np.float32:
            return np.float32(expf(x) if expf else np.exp(x))
        return np.float64(exp(x))
    return libm_exp


PYTHON_PRIMITIVES = {
    "exp": _libm_exp(),
    "sqrt": np.sqrt,  # correctly rounded, as llvm.sqrt; keeps float32 a float32
    "isfinite": math.isfinite,
}


def python_version(f):
    """f rebuilt to run in the Python interpreter, its jitted callees too: on NumPy scalars
    (S[row, l] of a NumPy array), whose arithmetic is IEEE in the array's dtype, with libm's
    exp and pow as in compiled code, it gives a compiled exact kernel's numbers bit for bit.
    Run it under np.errstate(all="ignore"): an overflow is an answer here, not an error."""
    return retarget(f, lambda g: g, PYTHON_PRIMITIVES, {})
