"""Backends: the same grid in, the same result arrays out.

Each backend module has
``run(shape, optimizer, order, H, W0, K, tol, max_steps, margin=0.0, fast=False)``: the
network's shape (network.Shape), the optimizer and update order by name, the hyperparameter
table ``H[4, n]`` (lr, beta, beta2, eps), the initial parameters ``W0[params, n]`` and the
problem's data ``K`` (each pattern's inputs then targets), all in the run's dtype. It returns
``(passes, status, loss, output)`` per configuration: forward passes run, status code, and the
last forward pass's loss and first output.
"""
import importlib

BACKENDS = {
    "serial": "one thread, one configuration at a time: the readable reference",
    "cpu": "all cores, SIMD lanes refilled as configurations finish (the default)",
    "numpy": "pure NumPy, vectorised across configurations: the benchmarks' baseline",
    "cuda": "NVIDIA GPU via numba.cuda, one persistent thread per lane (bpbench[cuda])",
    "dask": "a Dask cluster (--scheduler ADDRESS, or a local one), cpu kernels on each worker",
}


# Backends with a fast mode (kernels.FAST_FLAGS): the numpy and cuda ones compute one way.
FAST = ("serial", "cpu", "dask")


def backend_module(name, fast=False):
    """The backend's module, after checking, before any work, that it can run: the flag fast
    and the hardware."""
    from ..grid import GridError
    if name not in BACKENDS:
        raise GridError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    if fast and name not in FAST:
        raise GridError(f"the {name} backend has no fast mode; drop --fast (fast=True), or "
                        f"use one of the {', '.join(FAST[:-1])} or {FAST[-1]} backends")
    module = importlib.import_module(f"{__name__}.{name}")
    if hasattr(module, "require"):  # fail before any work when the hardware is missing
        module.require()
    return module
