"""bpbench: how optimizers and their hyperparameters shape the convergence of small networks.

A Numba-accelerated harness that began with a short post on backpropagation (a 2-2-1 sigmoid
network trained by hand-written backprop, gradient descent 111 steps against RMSprop's 11):
any small sigmoid network as data, torch.optim-exact update rules, random restarts, and
sweeps over hyperparameter grids.

    >>> import bpbench
    >>> df = bpbench.sweep("rmsprop", order="inplace", lr=0.1, beta=0.999, eps=0.01)
    >>> int(df.steps[0])
    11
"""
__version__ = "0.1.0"

__all__ = ["sweep", "sweep_file", "trace", "trajectory", "run_blocks", "summary", "restarts",
           "pivot", "lr_window", "plot", "compare", "curves", "OPTIMIZERS", "GridError",
           "__version__"]

# Lazy, so that `import bpbench` (and the CLI's start) does not pay for pandas up front.
_LAZY = {"sweep": "api", "sweep_file": "api", "trace": "api", "trajectory": "api",
         "run_blocks": "api", "summary": "analysis", "restarts": "analysis",
         "pivot": "analysis", "lr_window": "analysis", "plot": "plots",
         "compare": "studies", "curves": "studies",
         "GridError": "grid", "OPTIMIZERS": "optimizers"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'bpbench' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
