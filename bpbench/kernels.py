"""Compile a kernel template for one optimizer rule and update order.

A template is a plain function whose body calls the global names ``update`` and ``backprop``.
``specialise`` rebinds those names to an optimizer's rule and an update order and jit-compiles
the result, so Numba inlines the formulas into the lane loop (a rule passed as an argument
would stay an opaque call and block SIMD). Each specialisation gets its own qualified name, so
Numba's on-disk cache keeps one file per (template, optimizer, order) instead of mixing them.
"""
import functools
import types

from numba import njit
from numba.core.registry import CPUDispatcher

from .network import ORDERS, fast_exp
from .optimizers import OPTIMIZERS
from .targets import retarget


# fastmath=True minus nnan and ninf, which would let LLVM drop the NaN checks that detect
# divergence; the rest (FMA contraction, reassociation) only changes rounding.
FAST_FLAGS = {"contract", "arcp", "nsz", "reassoc", "afn"}


@functools.cache
def specialise(template, optimizer, order, fast=False, parallel=False):
    """template compiled for one optimizer and order; fast=True adds FAST_FLAGS and computes
    e^x with network.fast_exp, which vectorises (libm's exp is a scalar call per lane)."""
    g = dict(template.__globals__,
             update=OPTIMIZERS[optimizer].update, backprop=ORDERS[order])
    if fast:
        inline = njit(inline="always")
        memo = {}
        for name in template.__code__.co_names:
            if isinstance(g.get(name), CPUDispatcher):
                g[name] = retarget(g[name], inline, {"exp": fast_exp}, memo)
    f = types.FunctionType(template.__code__, g, template.__name__, template.__defaults__)
    f.__qualname__ = f"{template.__qualname__}_{optimizer}_{order}" + ("_fast" if fast else "")
    f.__doc__ = template.__doc__
    # error_model="numpy": division by zero gives inf/NaN like IEEE instead of a zero check on
    # every division, which would block SIMD.
    return njit(cache=True, error_model="numpy", parallel=parallel,
                fastmath=FAST_FLAGS if fast else False)(f)
