"""Compile the kernels a sweep needs side by side, one process per core, before it runs.

Numba compiles one kernel at a time per process, seconds each, and a sweep over several
optimizers or orders needs one kernel per optimizer, order and decay mode. Each kernel is
compiled by running its backend on one configuration: the first in this process, the others
in fresh ones at the same time, which write them to the on-disk cache (kernels.specialise:
cache=True); the sweep then loads them from there in milliseconds. Only kernels that are not
compiled yet are sent, and only when there are at least two and at least two cores: a
process takes about half a second to start. The processes are plain `python -c`
subprocesses, not multiprocessing's spawn, which would run the caller's script again in each
of them.
"""
import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import grid, kernels
from .backends import backend_module
from .kernels import compiled, dispatcher
from .optimizers import OPTIMIZERS, uses_decay

TEMPLATED = ("cpu", "serial")  # the backends with kernels compiled here (module.template)


def jobs(blocks, conf, backend, fast):
    """One (backend, run() arguments) per distinct kernel the blocks need that is not
    compiled yet, each arguments a one-configuration grid that selects that kernel."""
    if backend not in TEMPLATED:
        return []
    module = backend_module(backend)
    dtype = np.dtype(conf["dtype"])
    out = {}
    for b in blocks:
        margin = grid.margin_for(conf, b.problem)
        for weight_decay in _decay_modes(b):
            shape, optimizer, order, H, W0, K = b.args(dtype, 0, 1, *grid.run_options(conf, b))
            if "weight_decay" in OPTIMIZERS[optimizer].hyper:
                H[OPTIMIZERS[optimizer].hyper.index("weight_decay")] = float(weight_decay)
            decay = module.decayed(optimizer, H)
            kernel = dispatcher(module.template(shape), shape, optimizer, order, fast=fast,
                                margin=margin > 0, decay=decay)  # one for every looped shape
            if kernel in out or compiled(kernel):
                continue
            out[kernel] = (backend, (shape, optimizer, order, H, W0, K, conf["tol"], 1, margin),
                        fast)
    return list(out.values())


def _decay_modes(block):
    """Whether the block's chunks decay their weights: False, True or both (optimizers.decays
    decides per chunk; the backend's decayed() which kernel that takes)."""
    if not uses_decay(block.optimizer):
        return [False]
    values = block.axes.get("weight_decay", (block.samples or {}).get("weight_decay", [0.0]))
    return sorted({bool(v != 0) for v in np.asarray(values)})


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def precompile(blocks, conf, backend, fast=False):
    """Compile the kernels the blocks need side by side, the first in this process and the
    others in new ones (see the module's doc); returns how many were compiled. Any failure
    leaves them to the sweep, which compiles what is missing as it always does."""
    todo = jobs(blocks, conf, backend, fast)
    workers = min(len(todo), cores())
    if workers < 2:
        return 0
    if sys.stderr.isatty():
        print(f"bpbench: compiling {len(todo)} kernels, {workers} at a time (once: they are "
              f"cached for next time)", file=sys.stderr, flush=True)
    first, *rest = todo
    try:
        with ThreadPoolExecutor(workers - 1) as pool:
            others = pool.map(_compile_elsewhere, rest)
            with kernels.quiet():  # said above
                _compile(*first)  # here, beside the others: a process fewer to start
            ok = all(others)
    except (OSError, pickle.PicklingError):
        ok = False
    if not ok:  # the sweep compiles whatever is still missing
        return 0
    return len(todo)


def _compile_elsewhere(job):
    """Run job in a new Python process; whether it succeeded. Its output is dropped: where it
    fails, the sweep compiles the kernel itself and reports any error as usual."""
    code = "from bpbench.precompile import _child; _child()"
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(job),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode == 0


def _compile(backend, args, fast):
    backend_module(backend).run(*args, fast=fast)


def _child():
    _compile(*pickle.load(sys.stdin.buffer))
