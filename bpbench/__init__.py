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

from . import _cache  # noqa: F401  (must run before any kernel is defined)

__all__ = ["sweep", "trace", "trajectory", "run_blocks", "OPTIMIZERS", "GridError",
           "__version__"]


def __getattr__(name):
    # Lazy, so that `import bpbench` (and the CLI's start) does not pay for pandas up front.
    if name in ("sweep", "trace", "trajectory", "run_blocks"):
        from . import api
        return getattr(api, name)
    if name == "GridError":
        from .grid import GridError
        return GridError
    if name == "OPTIMIZERS":
        from .optimizers import OPTIMIZERS
        return OPTIMIZERS
    raise AttributeError(f"module 'bpbench' has no attribute {name!r}")
