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


def backend_module(name):
    if name not in BACKENDS:
        from ..grid import GridError
        raise GridError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    module = importlib.import_module(f"{__name__}.{name}")
    if hasattr(module, "require"):  # fail before any work when the hardware is missing
        module.require()
    return module
