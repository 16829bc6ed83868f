"""The public Python API: sweep a grid into a table, or trace one configuration.

pandas is imported only where a table is built, so `bpbench reproduce` starts fast.
"""
import time

import numpy as np

from . import __version__, grid
from .backends import BACKENDS, backend_module
from .training import STATUSES, constants


def run_blocks(blocks, conf, backend="cpu", fast=False, extra_attrs=None):
    """Run validated blocks with validated settings; one table for all of them."""
    from . import results
    module = backend_module(backend)
    dtype = np.dtype(conf["dtype"])
    K = constants(dtype)
    attrs = {"tol": conf["tol"], "max_steps": conf["max_steps"], "backend": backend,
             "dtype": conf["dtype"], "fast": bool(fast), "version": __version__}
    attrs.update(extra_attrs or {})
    frames = []
    t0 = time.perf_counter()
    for b in blocks:
        H = b.table(dtype)
        out = module.run(b.optimizer, b.order, H, K, conf["tol"], conf["max_steps"], fast=fast)
        frames.append(results.frame(b, *out, attrs))
    attrs["wall_s"] = round(time.perf_counter() - t0, 6)
    return results.concat(frames, attrs)


def sweep(optimizer, *, order="simultaneous", tol=1e-7, max_steps=10000, backend="cpu",
          dtype="float64", fast=False, **hyper):
    """Train every configuration of a grid; one row per configuration.

    Each hyperparameter (lr, beta, beta2, eps; only those the optimizer uses) is a number, a
    sequence, or a range dict ``{start, stop, num, scale}``; the grid is their Cartesian
    product, lr varying slowest. Unset hyperparameters take torch.optim's defaults.

    >>> bpbench.sweep("rmsprop", order="seed", lr=0.1, beta=0.999, eps=0.01).steps[0]
    11
    """
    if backend not in BACKENDS:
        raise grid.GridError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    blocks = [grid.block(optimizer, order, **hyper)]
    return run_blocks(blocks, grid.settings(tol, max_steps, dtype), backend, fast)


def trajectory(optimizer, *, order="simultaneous", tol=1e-7, max_steps=10000,
               dtype="float64", **hyper):
    """NumPy arrays for one configuration: (outputs, losses, status name), one entry per
    forward pass. trace() wraps this in a table."""
    b = grid.block(optimizer, order, **hyper)
    if b.size != 1:
        raise grid.GridError("trace takes one value per hyperparameter")
    conf = grid.settings(tol, max_steps, dtype)
    from .backends import serial
    dt = np.dtype(conf["dtype"])
    hist, status = serial.history(optimizer, order, b.table(dt), constants(dt), conf["tol"],
                                  conf["max_steps"])
    return hist[:, 1], hist[:, 0], STATUSES[status]


def trace(optimizer, *, order="simultaneous", tol=1e-7, max_steps=10000, dtype="float64",
          **hyper):
    """Every forward pass of one configuration: columns step, output, loss.

    The run's status and settings are in ``df.attrs``.
    """
    import pandas as pd
    output, loss, status = trajectory(optimizer, order=order, tol=tol, max_steps=max_steps,
                                      dtype=dtype, **hyper)
    df = pd.DataFrame({"step": np.arange(1, len(loss) + 1),
                       "output": output.astype(np.float64), "loss": loss.astype(np.float64)})
    b = grid.block(optimizer, order, **hyper)
    df.attrs.update(grid.settings(tol, max_steps, dtype), optimizer=optimizer, order=order,
                    status=status, **{h: float(v[0]) for h, v in b.axes.items()})
    return df
