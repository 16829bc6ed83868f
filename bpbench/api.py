"""The public Python API: sweep a grid into a table, or trace one configuration.

pandas is imported only where a table is built, so `bpbench reproduce` starts fast.
"""
import functools
import inspect
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
    if conf.get("batch", "full") != "full":
        attrs["batch"] = conf["batch"]
    if conf.get("shuffle"):
        attrs["shuffle"] = True
    models = {b.problem.name: model(b.problem) for b in blocks if b.problem.model}
    if models:
        attrs["model"] = models
    attrs.update(extra_attrs or {})
    return attrs


def model(problem):
    """A problem's activations (one per non-input layer), loss and prime offset, for attrs."""
    n = len(problem.layers) - 1
    return {"activation": list(problem.activations or ["sigmoid"] * n), "loss": problem.loss,
            "prime_offset": problem.prime_offset}


def iter_chunks(blocks, conf, backend="cpu", fast=False, chunks=None, skip=(),
                extra_attrs=None, progress=None, **backend_options):
    """Yield (chunk number, table, config-steps) for each chunk of dataset.plan(blocks) not in
    skip. Backends with a run_many (dask, cuda) keep several chunks in flight and yield them
    as they finish, so the order may differ from the plan's; the others go in order.
    progress(n) hears of every n configurations finished: within a chunk where the backend
    can tell (cpu), else chunk by chunk. backend_options go to the backend (the dask
    scheduler address)."""
    from . import dataset, results
    module = backend_module(backend, fast)
    dtype = np.dtype(conf["dtype"])
    attrs = run_attrs(conf, backend, fast, extra_attrs, blocks)
    plan = chunks if chunks is not None else dataset.plan(blocks)

    def jobs():  # lazily: a chunk's arrays are built when the backend takes it
        for i, (b, lo, hi) in enumerate(plan):
            if i not in skip:
                block = blocks[b]
                yield i, (*block.args(dtype, lo, hi, *grid.run_options(conf, block)), conf["tol"],
                          conf["max_steps"],
                          grid.margin_for(conf, block.problem))

    from .precompile import precompile
    todo = sorted({b for i, (b, _, _) in enumerate(plan) if i not in skip})
    precompile([blocks[b] for b in todo], conf, backend, fast)  # its kernels, side by side
    live = progress is not None and "progress" in inspect.signature(module.run).parameters
    if live:
        backend_options = dict(backend_options, progress=progress)
    run_many = getattr(module, "run_many", None) or functools.partial(_in_order, module)
    for i, out in run_many(jobs(), fast, **backend_options):
        b, lo, hi = plan[i]
        if progress is not None and not live:
            progress(hi - lo)
        df = results.frame(blocks[b], *out, attrs, lo=lo,
                           options=grid.run_options(conf, blocks[b]))
        yield i, df, int(out[0].sum())


def fill(ds, conf, backend="cpu", fast=False, extra_attrs=None, progress=None,
         **backend_options):
    """Run the chunks of a dataset.Dataset that have no part file yet, saving each chunk's
    part as it finishes; yield (chunk number, config-steps) after each. The one runner of
    `bpbench run -o DIR/` and `sweep(..., output=DIR)`."""
    done = {i for i in range(len(ds.chunks)) if ds.done(i)}
    for i, df, steps in iter_chunks(ds.blocks, conf, backend, fast, ds.chunks, done,
                                    extra_attrs, progress, **backend_options):
        ds.write(i, df)
        yield i, steps


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
          scheduler=None, sample=None, output=None, resume=False, chunk_size=None,
          batch="full", shuffle=False, schedule=None, **hyper):
    """Train every configuration of a grid; one row per configuration.

    Parameters
    ----------
    optimizer : str or list of str
        Update rule(s), see ``bpbench.OPTIMIZERS``: sgd, momentum, nesterov, rmsprop, adam,
        adagrad, rprop, adamax, adamw, nadam, radam, adadelta, quickprop. A list gives one
        block per optimizer (and order), in that order.
    order : {"simultaneous", "inplace"} or list, default "simultaneous"
        ``simultaneous``: textbook backprop, every gradient from the old weights (what
        PyTorch computes). ``inplace``: the post's back(), whose lower layers see the upper
        layer's new weights. ``"seed"`` is an old alias of ``"inplace"``.
    problem : str, path or dict, optional
        A built-in name (``bpbench problems``: post, xor, encoder-N-M), a TOML file with a
        ``[problem]`` table or a dict of the same keys. Default: the post's network.
    seed : int, sequence or dict, optional
        Restart seeds for a problem with a random init: an integer, a sequence or
        ``{"start": 0, "num": 1000}``. Varies fastest.
    tol : float, default 1e-7
        Converged when the loss E = sum of (y - t)^2 / 2 falls below tol.
    max_steps : int, default 10000
        Forward passes before a run is called ``max_steps``.
    margin : float, optional
        Converged when every output is within margin of its target instead (default: the
        problem's own margin, as for xor and the encoders; 0 for the loss).
    backend : {"cpu", "serial", "numpy", "dask", "cuda"}, default "cpu"
        Where the kernels run; every backend gives the same table.
    dtype : {"float64", "float32"}, default "float64"
    fast : bool, default False
        FMA contraction, reassociation and a vectorised exp: faster, and a different step
        count for a few configurations in a thousand.
    batch : "full", "online" or int, default "full"
        Patterns per update. A step is always one epoch: a forward pass over every pattern
        (its loss decides convergence), then one update per batch, each from the gradient
        summed over its patterns in order; the optimizer's t counts updates.
    shuffle : bool, default False
        Take each epoch's patterns in an order drawn from the configuration's seed and the
        epoch (the same on every backend) rather than in the data's order.
    schedule : str or dict, optional
        A learning-rate schedule stepped once an epoch: ``{"kind": "step", "step_size": 10,
        "gamma": 0.5}`` (torch's StepLR), ``{"kind": "exponential", "gamma": g}``
        (ExponentialLR), ``{"kind": "inverse_time", "decay": d}`` (lr / (1 + d k) after k
        epochs), or the strings ``"step:10:0.5"``, ``"exponential:0.9"``,
        ``"inverse_time:0.01"``. Its parameters may be axes, and are table columns.
    scheduler : str, optional
        A Dask scheduler address for ``backend="dask"`` (default: a local cluster).
    sample : dict, optional
        ``{"n": 4096, "method": "sobol" | "random" | "lhs", "seed": 0}``: draw n points
        jointly over every range given without ``num`` (log-uniform where ``scale="log"``),
        by scipy.stats.qmc, crossed with the other axes.
    output : str or path, optional
        A dataset directory to write, chunk by chunk, as ``bpbench run -o DIR/`` does; the
        table returned is read back from it. With ``resume=True`` an existing one is
        finished, or extended by the configurations it lacks (more seeds, more blocks),
        keeping every part it holds. chunk_size: configurations per part file (65,536).
    **hyper
        Each hyperparameter (lr, beta, beta2, eps, weight_decay, momentum_decay, eta_minus,
        eta_plus, step_min, step_max, mu; only those the optimizers use) as a number, a
        sequence, a range dict ``{"start", "stop", "num", "scale": "log"}`` or a string
        ``"log:1e-3:1:64"``. The grid is their Cartesian product, lr varying slowest. Unset
        ones take torch.optim's defaults. torch's names are accepted where unambiguous:
        ``alpha``, ``momentum``, ``rho`` and the pairs ``betas``, ``etas``, ``step_sizes``.

    Returns
    -------
    pandas.DataFrame
        One row per configuration: problem, optimizer, order, every hyperparameter (NaN
        where the optimizer has no such hyperparameter), seed, steps (forward passes to
        convergence, NA unless converged), status (converged, max_steps, diverged),
        final_loss, final_output. The settings are in ``df.attrs``.

    See Also
    --------
    sweep_file : the same from a TOML sweep file.
    summary, pivot, plot : reading the table.

    Examples
    --------
    The post's claim: RMSprop (its "momentum" rule) in 11 steps, gradient descent in 111.

    >>> int(bpbench.sweep("rmsprop", order="inplace", lr=0.1, beta=0.999, eps=0.01).steps[0])
    11
    >>> df = bpbench.sweep(["sgd", "rmsprop"], lr=[0.1, 1.0], alpha=0.999, eps=0.01)
    >>> df[["optimizer", "lr", "steps"]]
      optimizer   lr  steps
    0       sgd  0.1   1123
    1       sgd  1.0    111
    2   rmsprop  0.1     11
    3   rmsprop  1.0      8
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise grid.GridError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise grid.GridError("scheduler= needs backend='dask'")
    blocks = grid.blocks(optimizer, order, problem, seed, sample, schedule, **hyper)
    return _run_checked(blocks, grid.settings(tol, max_steps, dtype, margin, batch, shuffle),
                        backend,
                        fast,
                        scheduler, output=output, resume=resume, chunk_size=chunk_size)


def _run_checked(blocks, conf, backend, fast, scheduler, extra_attrs=None, output=None,
                 resume=False, chunk_size=None):
    from . import dataset, results
    options = {"scheduler": scheduler} if scheduler else {}
    if output is None:
        dataset.check_memory(sum(b.size for b in blocks))
        return run_blocks(blocks, conf, backend, fast, extra_attrs, **options)
    backend_module(backend, fast)  # before any file
    ds = dataset.Dataset(output, blocks, conf, fast, chunk_size or dataset.CHUNK, resume)
    for _ in fill(ds, conf, backend, fast, extra_attrs, **options):
        pass
    dataset.check_memory(sum(b.size for b in ds.blocks))
    return results.load_dataset(output)


def sweep_file(path, *, backend="cpu", fast=False, scheduler=None, output=None, resume=False,
               chunk_size=None, **overrides):
    """Run a TOML sweep file (as ``bpbench run FILE``) into one table.

    Parameters
    ----------
    path : str or path
        A sweep file: top-level settings (tol, max_steps, dtype, margin, problem) and
        ``[[run]]`` blocks, each an optimizer (or list) with its hyperparameter axes.
    backend, fast, scheduler, output, resume, chunk_size
        As for `sweep`.
    **overrides
        Replace the file's values: a hyperparameter axis (in every block that uses it),
        ``order``, ``problem``, ``seed``, ``tol``, ``max_steps``, ``dtype``, ``margin``.

    Returns
    -------
    pandas.DataFrame
        As from `sweep`, with the file's name in ``df.attrs["sweep"]``.

    Examples
    --------
    >>> df = bpbench.sweep_file("sweeps/claim.toml")  # the post's two runs
    >>> df[["optimizer", "order", "steps"]]
      optimizer    order  steps
    0       sgd  inplace    111
    1   rmsprop  inplace     11
    """
    import os
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise grid.GridError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise grid.GridError("scheduler= needs backend='dask'")
    blocks, conf = grid.load(path, overrides)
    return _run_checked(blocks, conf, backend, fast, scheduler,
                        {"sweep": os.path.basename(str(path))}, output, resume, chunk_size)


def _one(optimizer, order, problem, seed, hyper, schedule=None):
    b = grid.block(optimizer, order, problem, seed, schedule=schedule, **hyper)
    if b.size != 1:
        raise grid.GridError("a trace takes one value per hyperparameter and one seed")
    return b


def trajectory(optimizer, *, order="simultaneous", problem=None, seed=None, tol=1e-7,
               max_steps=10000, margin=None, dtype="float64", batch="full", shuffle=False,
               schedule=None, **hyper):
    """One configuration's run as NumPy arrays, without pandas.

    Parameters
    ----------
    optimizer, order, problem, seed, tol, max_steps, margin, dtype, batch, shuffle, schedule,
    **hyper
        As for `sweep`, one value each.

    Returns
    -------
    outputs, losses : numpy.ndarray
        One entry per forward pass: the first output on the first pattern, and the loss.
    status : str
        converged, max_steps or diverged.

    Examples
    --------
    >>> out, loss, status = bpbench.trajectory("sgd", order="inplace", lr=1.0)
    >>> len(loss), status, bool(loss[-1] < 1e-7)
    (111, 'converged', True)
    """
    return _trajectory(_one(optimizer, order, problem, seed, hyper, schedule),
                       grid.settings(tol, max_steps, dtype, margin, batch, shuffle))


def _trajectory(b, conf):
    from .backends import serial
    dt = np.dtype(conf["dtype"])
    hist, status = serial.history(*b.args(dt, 0, None, *grid.run_options(conf, b)),
                                  conf["tol"],
                                  conf["max_steps"],
                                  grid.margin_for(conf, b.problem))
    return hist[:, 1], hist[:, 0], STATUSES[status]


def trace(optimizer, *, order="simultaneous", problem=None, seed=None, tol=1e-7,
          max_steps=10000, margin=None, dtype="float64", weights=False, batch="full",
          shuffle=False, schedule=None, **hyper):
    """Every forward pass of one configuration, as a table.

    Parameters
    ----------
    optimizer : str
        One of ``bpbench.OPTIMIZERS``.
    order, problem, seed, tol, max_steps, margin, dtype, batch, shuffle, schedule, **hyper
        As for `sweep`, one value each.
    weights : bool, default False
        Also give, for every parameter p (named as in the post: ``w35`` joins unit 3 to unit
        5, ``b3`` is unit 3's bias), its value during forward pass n (``p``), its gradient
        dE/dp at that pass (``grad_p``) and the optimizer's state after the update that
        follows (``m_p``, ``v_p``, for the slots the rule keeps: see ``Optimizer.state``).
        With a schedule, ``lr`` is each step's learning rate; with batches, ``grad_p`` is
        the gradient of the step's last update.
        A fixed bias (``bias = "fixed"``) is not trained: its gradient is NaN (not computed)
        and it has no state columns.

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
    b = _one(optimizer, order, problem, seed, hyper, schedule)
    conf = grid.settings(tol, max_steps, dtype, margin, batch, shuffle)
    output, loss, status = _trajectory(b, conf)
    df = pd.DataFrame({"step": np.arange(1, len(loss) + 1),
                       "output": output.astype(np.float64), "loss": loss.astype(np.float64)})
    if weights:
        df = pd.concat([df, _weights(b, conf, len(df))], axis=1)
    if b.schedule:
        df.attrs["schedule"] = b.schedule
    if b.problem.model:
        df.attrs["model"] = model(b.problem)
    df.attrs.update(conf, margin=grid.margin_for(conf, b.problem) or None,
                    problem=b.problem.name,
                    optimizer=optimizer, order=b.order, status=status,
                    **{h: float(v[0]) for h, v in b.axes.items()})
    if b.seeds is not None:
        df.attrs["seed"] = int(b.seeds[0])
    return df


def _weights(b, conf, n):
    """The weight, gradient and optimizer-state columns of trace(weights=True)."""
    import pandas as pd
    from .backends import serial
    from .layout import PARAMS
    from .optimizers import OPTIMIZERS
    dt = np.dtype(conf["dtype"])
    shape, _, _, H, W0, K = b.args(dt, 0, None, *grid.run_options(conf, b))
    S, _ = serial.states(shape, b.optimizer, b.order, H, W0, K, conf["tol"],
                         conf["max_steps"], grid.margin_for(conf, b.problem))
    assert len(S) == n  # the same deterministic run as the trajectory
    names, k = shape.names, len(shape.params)
    value = S[:, PARAMS:PARAMS + 3 * k].reshape(n, k, 3)
    before = np.vstack([W0[:, 0][None, :], value[:-1, :, 0]])  # weights during pass n
    cols = {}
    if b.schedule:  # the learning rate of each epoch, as the kernel set it
        cols["lr"] = S[:, 0]
    for j, (p, param) in enumerate(zip(names, shape.params)):
        cols[p] = before[:, j]
        if param[0] == "b" and shape.bias == "fixed":
            # not trained: the kernel computes no gradient for it (NaN, not a false 0) and
            # the optimizer keeps no state
            cols[f"grad_{p}"] = np.full(n, np.nan)
            continue
        cols[f"grad_{p}"] = S[:, PARAMS + 3 * k + j]
        for slot in OPTIMIZERS[b.optimizer].state:
            cols[f"{slot}_{p}"] = value[:, j, "mv".index(slot) + 1]
    return pd.DataFrame({c: v.astype(np.float64) for c, v in cols.items()})
