"""bpbench: how optimizers and their hyperparameters shape the convergence of a tiny network.

A Numba-accelerated harness around the backpropagation post in ``shared/seed``: the post's
2-2-1 sigmoid network, torch.optim-exact update rules, and sweeps over hyperparameter grids.

    >>> import bpbench
    >>> df = bpbench.sweep("rmsprop", order="seed", lr=0.1, beta=0.999, eps=0.01)
    >>> int(df.steps[0])
    11
"""
__version__ = "0.1.0"

from . import _cache  # noqa: F401  (must run before any kernel is defined)
from .api import run_blocks, sweep, trace  # noqa: E402
from .grid import GridError  # noqa: E402
from .optimizers import OPTIMIZERS  # noqa: E402

__all__ = ["sweep", "trace", "run_blocks", "OPTIMIZERS", "GridError", "__version__"]
