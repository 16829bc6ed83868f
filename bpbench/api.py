"""The public Python API: sweep a grid into a table, or trace one configuration.

pandas is imported only where a table is built, so `bpbench reproduce` starts fast.
"""
import functools
import time

import numpy as np

from . import __version__, grid
from .backends import BACKENDS, backend_module
from .training import STATUSES


def run_attrs(conf, backend, fast, extra_attrs=None, blocks=()):
    attrs = {"tol": conf["tol"], "max_steps": conf["max_steps"], "backend": backend,
             "dtype": conf["dtype"], "fast": bool(fast), "version": __version__}
    margins = {grid.margin_for(conf, b.problem) for b in blocks}
    if margins - {0.0}:
        attrs["margin"] = margins.pop() if len(margins) == 1 else sorted(margins)
    attrs.update(extra_attrs or {})
    return attrs


def iter_chunks(blocks, conf, backend="cpu", fast=False, chunks=None, skip=(),
                extra_attrs=None, **backend_options):
    """Yield (chunk number, table, config-steps) for each chunk of dataset.plan(blocks) not in
    skip. Backends with a run_many (dask, cuda) keep several chunks in flight and yield them
    as they finish, so the order may differ from the plan's; the others go in order.
    backend_options go to the backend (the dask scheduler address)."""
    from . import dataset, results
    module = backend_module(backend)
    dtype = np.dtype(conf["dtype"])
    attrs = run_attrs(conf, backend, fast, extra_attrs, blocks)
    plan = chunks if chunks is not None else dataset.plan(blocks)

    def jobs():  # lazily: a chunk's arrays are built when the backend takes it
        for i, (b, lo, hi) in enumerate(plan):
            if i not in skip:
                block = blocks[b]
                yield i, (*block.args(dtype, lo, hi), conf["tol"], conf["max_steps"],
                          grid.margin_for(conf, block.problem))

    run_many = getattr(module, "run_many", None) or functools.partial(_in_order, module)
    for i, out in run_many(jobs(), fast, **backend_options):
        b, lo, _ = plan[i]
        yield i, results.frame(blocks[b], *out, attrs, lo=lo), int(out[0].sum())


def _in_order(module, jobs, fast, **options):
    for i, args in jobs:
        yield i, module.run(*args, fast=fast, **options)


def run_blocks(blocks, conf, backend="cpu", fast=False, extra_attrs=None, **backend_options):
    """Run validated blocks with validated settings; one table for all of them."""
    from . import results
    t0 = time.perf_counter()
    frames = [df for _, df, _ in sorted(iter_chunks(blocks, conf, backend, fast,
                                                    extra_attrs=extra_attrs,
                                                    **backend_options),
                                        key=lambda chunk: chunk[0])]
    attrs = run_attrs(conf, backend, fast, extra_attrs, blocks)
    attrs["wall_s"] = round(time.perf_counter() - t0, 6)
    return results.concat(frames, attrs)


def sweep(optimizer, *, order="simultaneous", problem=None, seed=None, tol=1e-7,
          max_steps=10000, margin=None, backend="cpu", dtype="float64", fast=False,
          scheduler=None, **hyper):
    """Train every configuration of a grid; one row per configuration.

    ``optimizer`` and ``order`` may be lists: one block per combination, in that order. Each
    hyperparameter (lr, beta, beta2, eps; only those the optimizers use) is a number, a
    sequence, or a range dict ``{start, stop, num, scale}``; the grid is their Cartesian
    product, lr varying slowest. Unset hyperparameters take torch.optim's defaults.
    ``problem`` is a built-in name (``bpbench problems`` lists them), a TOML file with a
    ``[problem]`` table or a dict of the same keys (default: the post's network). ``seed``
    (an integer, a sequence or ``{start, num}``) draws each restart's initial weights from the
    problem's init, and varies fastest. ``margin`` judges convergence by every output within
    margin of its target instead of ``loss < tol`` (default: the problem's own margin, as for
    xor and the encoders; 0 for the loss). ``scheduler`` is a Dask scheduler address
    for ``backend="dask"`` (default: a local cluster). ``order="seed"`` is an alias of
    ``"inplace"``.

    >>> bpbench.sweep("rmsprop", order="inplace", lr=0.1, beta=0.999, eps=0.01).steps[0]
    11
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise grid.GridError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise grid.GridError("scheduler= needs backend='dask'")
    blocks = grid.blocks(optimizer, order, problem, seed, **hyper)
    from .dataset import check_memory
    check_memory(sum(b.size for b in blocks))
    options = {"scheduler": scheduler} if scheduler else {}
    return run_blocks(blocks, grid.settings(tol, max_steps, dtype, margin), backend, fast,
                      **options)


def _one(optimizer, order, problem, seed, hyper):
    b = grid.block(optimizer, order, problem, seed, **hyper)
    if b.size != 1:
        raise grid.GridError("a trace takes one value per hyperparameter and one seed")
    return b


def trajectory(optimizer, *, order="simultaneous", problem=None, seed=None, tol=1e-7,
               max_steps=10000, margin=None, dtype="float64", **hyper):
    """NumPy arrays for one configuration: (outputs, losses, status name), one entry per
    forward pass; the output is the first output unit's on the first pattern. trace() wraps
    this in a table."""
    return _trajectory(_one(optimizer, order, problem, seed, hyper),
                       grid.settings(tol, max_steps, dtype, margin))


def _trajectory(b, conf):
    from .backends import serial
    dt = np.dtype(conf["dtype"])
    hist, status = serial.history(*b.args(dt), conf["tol"], conf["max_steps"],
                                  grid.margin_for(conf, b.problem))
    return hist[:, 1], hist[:, 0], STATUSES[status]


def trace(optimizer, *, order="simultaneous", problem=None, seed=None, tol=1e-7,
          max_steps=10000, margin=None, dtype="float64", weights=False, **hyper):
    """Every forward pass of one configuration, as a table.

    Parameters
    ----------
    optimizer : str
        One of ``bpbench.OPTIMIZERS``.
    order, problem, seed, tol, max_steps, margin, dtype, **hyper
        As for `sweep`, one value each.
    weights : bool, default False
        Also give, for every parameter p (named as in the post: ``w35`` joins unit 3 to unit
        5, ``b3`` is unit 3's bias), its value during forward pass n (``p``), its gradient
        dE/dp at that pass (``grad_p``) and the optimizer's state after the update that
        follows (``m_p``, ``v_p``, for the slots the rule keeps: see ``Optimizer.state``).

    Returns
    -------
    pandas.DataFrame
        Columns ``step``, ``output`` (the first output on the first pattern), ``loss`` (E
        summed over patterns and outputs) and, with ``weights``, the columns above. The
        status and settings are in ``df.attrs``.

    Examples
    --------
    >>> t = bpbench.trace("sgd", order="inplace", lr=1.0, weights=True)
    >>> len(t), t.attrs["status"]
    (111, 'converged')
    >>> float(t.w35[0]), bool(t.grad_w35[0] > 0)  # the post's first weight, and its slope
    (0.3, True)
    """
    import pandas as pd
    b = _one(optimizer, order, problem, seed, hyper)
    conf = grid.settings(tol, max_steps, dtype, margin)
    output, loss, status = _trajectory(b, conf)
    df = pd.DataFrame({"step": np.arange(1, len(loss) + 1),
                       "output": output.astype(np.float64), "loss": loss.astype(np.float64)})
    if weights:
        df = pd.concat([df, _weights(b, conf, len(df))], axis=1)
    df.attrs.update(conf, problem=b.problem.name,
                    optimizer=optimizer, order=b.order, status=status,
                    **{h: float(v[0]) for h, v in b.axes.items()})
    if b.seeds is not None:
        df.attrs["seed"] = int(b.seeds[0])
    return df


def _weights(b, conf, n):
    """The weight, gradient and optimizer-state columns of trace(weights=True)."""
    import pandas as pd
    from .backends import serial
    from .network import PARAMS
    from .optimizers import OPTIMIZERS
    dt = np.dtype(conf["dtype"])
    shape, _, _, H, W0, K = b.args(dt)
    S, _ = serial.states(shape, b.optimizer, b.order, H, W0, K, conf["tol"],
                         conf["max_steps"], grid.margin_for(conf, b.problem))
    assert len(S) == n  # the same deterministic run as the trajectory
    names, k = shape.names, len(shape.params)
    value = S[:, PARAMS:PARAMS + 3 * k].reshape(n, k, 3)
    before = np.vstack([W0[:, 0][None, :], value[:-1, :, 0]])  # weights during pass n
    cols = {}
    for j, p in enumerate(names):
        cols[p] = before[:, j]
        cols[f"grad_{p}"] = S[:, PARAMS + 3 * k + j]
        for slot in OPTIMIZERS[b.optimizer].state:
            cols[f"{slot}_{p}"] = value[:, j, "mv".index(slot) + 1]
    return pd.DataFrame({c: v.astype(np.float64) for c, v in cols.items()})
