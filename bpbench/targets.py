"""One formula source, several targets.

The formulas in network.py, optimizers.py and training.py are scalar ``@njit`` functions.
``retarget`` rebuilds a function from its Python source with every jitted function it calls
replaced, recursively, by that function's own retargeted version, and the few primitives that
differ between targets (``const``, ``sqrt``) swapped. ``numpy_version(f)`` runs the same
arithmetic on NumPy arrays of configurations; the CUDA backend wraps each function as a
device function instead.
"""
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
}
_numpy_memo = {}


def numpy_version(f):
    """f rebuilt to run on NumPy arrays (lane index l a slice)."""
    return retarget(f, lambda g: g, NUMPY_PRIMITIVES, _numpy_memo)
