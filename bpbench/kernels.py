"""Build the kernel for one network shape, optimizer rule, update order and criterion.

A kernel is a loop kernel that receives its formulas: each backend's template (cpu._chunk,
serial._run...) is an ordinary function whose first parameters are the formulas, FORMULAS:
the optimizer's rule (after weight decay, where the run has it), its per-update advance, the
shape's forward pass, backprop for the order, verdict for the criterion, data packer and
step. ``compose`` writes the kernel's entry point out, ``def NAME(args): return
template(update, advance, ..., args)``, with those formulas as the names it sees (fast mode:
with e^x as primitives.fast_exp); flat.flatten writes every formula into its body and Numba
compiles that one flat function, so the formulas sit in the lane loop, where LLVM vectorises
them (a rule called through a function pointer would stay an opaque call and block SIMD).
Each kernel gets its own qualified name, so Numba's on-disk cache keeps one file per
(template, shape, optimizer, order, criterion, mode).

The looped kernels' stages (loops.stage: activations, loss, deltas, gradients, shuffle) are
the exception: they do not depend on the rule, so each is its own flat function, compiled once
per variant (_stage) and called by every rule's kernel, which then compiles in a fraction of
the time.
"""
import collections
import contextlib
import functools
import inspect
import linecache
import os
import sys
import threading

from numba import njit
from numba.core.compiler_lock import global_compiler_lock

from . import _cache, _typing_memo
from .flat import flatten, inlinable
from .loops import STAGE
from .network import TABLE_EXP_SITES, Shape, net
from .primitives import GLIBC_EXP, fast_exp, table_exp
from .optimizers import OPTIMIZERS, update
from .targets import _libm, python_version, retarget
from .training import criterion


# Stand for every looped shape (keys, never run): looped whatever MAX_UNROLLED is set to; with
# the model's options (Shape.model) and without
LOOPED = Shape((1, 1 << 40, 1))
LOOPED_MODEL = Shape((1, 1 << 40, 1), model=True)

# fastmath=True minus nnan and ninf, which would let LLVM drop the NaN checks that detect
# divergence; the rest (FMA contraction, reassociation) only changes rounding.
FAST_FLAGS = {"contract", "arcp", "nsz", "reassoc", "afn"}


# loops.py's stages by variant (exact/fast, plain/model, e^x), each compiled once for every
# rule's kernel
_stages = collections.defaultdict(dict)


@functools.cache
def table_exp_is_libms():
    """Whether the C library's exp is glibc's (FMA build), which table_exp reproduces: it
    gives GLIBC_EXP's numbers. Elsewhere exact kernels call the library's own exp."""
    exp = _libm("exp")
    return all(exp(float.fromhex(x)) == float.fromhex(y) for x, y in GLIBC_EXP)


def _stage(fast, variant, f):
    """A stage of loops.py (loops.stage) as one flat function, compiled on its own, its name
    telling its variant apart: a kernel links in its stages' machine code under names that
    Numba numbers per process, so two variants compiled in two processes could share a name,
    and a process that loads both kernels from the cache would run one variant's stage in
    the other's kernel."""
    g = flatten(f)
    g.__qualname__ = f"{g.__qualname__}_{variant}"
    return njit(**STAGE, fastmath=FAST_FLAGS if fast else False)(g)


# The formulas a template takes first, in this order (cpu._chunk, serial._run...).
FORMULAS = ("update", "advance", "forward", "backprop", "verdict", "pack", "step", "step_lanes")


def formulas(shape, optimizer, order, margin=False, record=False, decay=False):
    """{name in FORMULAS: function} for one shape, rule, order and criterion: the rule (after
    torch's weight decay where decay is true: optimizers.update), the shape's formulas
    (network.net) and the verdict for the criterion (training.criterion)."""
    net_ = net(shape)
    forward, verdict = criterion(net_, margin)
    return {"update": update(optimizer, decay), "advance": OPTIMIZERS[optimizer].advance,
            "forward": forward, "backprop": (net_.backprop_record if record
                                             else net_.backprop)[order],
            "verdict": verdict, "pack": net_.pack, "step": net_.step,
            "step_lanes": net_.step_lanes or net_.step}


def compose(template, shape, optimizer, order, margin=False, record=False, decay=False,
            fast=False, stages=True):
    """The kernel's entry point, a plain function written out for one shape, rule, order and
    criterion: ``def NAME(args): return template(update, advance, ..., args)``, the formulas
    (e^x as fast_exp in fast mode, as table_exp in exact mode where that is libm's) the names
    of its namespace, its name unique to them. stages: loops.py's stages as flat functions
    compiled on their own (``_stage``), else the formulas as they are (for the interpreter)."""
    parts = formulas(shape, optimizer, order, margin, record, decay)
    if stages:
        # loops.py's sums four terms a pass (the same order), its model's code only where
        # the shape has the options; e^x in a form that vectorises: fast_exp, or libm's
        # number bit for bit (table_exp)
        prims = {"BLOCKED": True, "MODEL": shape.model}
        if fast:
            prims["exp"] = fast_exp
        elif (shape.looped or shape.sigmoids <= TABLE_EXP_SITES) and table_exp_is_libms():
            prims["exp"] = table_exp
        variant = "_".join([("exact", "fast")[fast], ("plain", "model")[shape.model],
                            getattr(prims.get("exp"), "__name__", "libm")])
        memo = dict(_stages[variant])
        parts = {k: retarget(f, njit(inline="always"), prims, memo, functools.partial(
            _stage, fast, variant)) for k, f in parts.items()}
        _stages[variant].update((k, f) for k, f in memo.items() if not inlinable(f))
    py = template.py_func
    args = ", ".join(list(inspect.signature(py).parameters)[len(FORMULAS):])
    name = (f"{py.__name__}_{net(shape).key}_{optimizer}_{order}"
            + ("_model" if shape.model else "") + ("_margin" if margin else "")
            + ("_record" if record else "") + ("_decay" if decay else "")
            + ("_fast" if fast else ""))
    source = (f"def {name}({args}):\n"
              f"    return {py.__name__}({', '.join(FORMULAS)}, {args})\n")
    filename = f"<bpbench kernel {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": py.__module__, py.__name__: template, **parts}
    exec(compile(source, filename, "exec"), namespace)
    f = namespace[name]
    f.__doc__ = py.__doc__
    return f


def specialise(template, shape, optimizer, order, fast=False, margin=False, record=False,
               decay=False):
    """template compiled for one network shape, optimizer and order; margin=True judges by
    the largest |y - t| (the threshold argument is then the margin, else tol); fast=True adds
    FAST_FLAGS and computes e^x with primitives.fast_exp, which vectorises (libm's exp is a scalar
    call per lane); record=True keeps every gradient in S (Net.backprop_record), for traces;
    decay=True composes torch's weight decay before the rule (optimizers.with_weight_decay);
    without it (every configuration has weight_decay 0, optimizers.decays) the rule alone
    gives the same numbers faster."""
    kernel = dispatcher(template, shape, optimizer, order, fast, margin, record, decay)
    _announce(kernel, f"{optimizer}/{order}" + ("/fast" if fast else ""), shape)
    return kernel


# One thread at a time builds a kernel: the dask backend's worker threads ask for the same one
# at once, functools.cache would let each build its own, and ast.parse in two threads at once
# fails in CPython 3.11 ("AST constructor recursion depth mismatch").
_building = threading.RLock()


def dispatcher(template, shape, optimizer, order, fast=False, margin=False, record=False,
               decay=False):
    """specialise without saying that it will compile: its Numba dispatcher, one per kernel
    however the arguments are passed."""
    with _building:
        return _dispatcher(template, _kernel_shape(shape), optimizer, order, bool(fast),
                           bool(margin), bool(record), bool(decay))


def _kernel_shape(shape):
    """The shape a kernel is built for: every looped shape shares one (loops.py reads the
    shape from the data), so its kernels compile once per rule."""
    return (LOOPED_MODEL if shape.model else LOOPED) if shape.looped else shape


@functools.cache
def _dispatcher(template, shape, optimizer, order, fast, margin, record, decay):
    f = compose(template, shape, optimizer, order, margin, record, decay, fast)
    # error_model="numpy": division by zero gives inf/NaN like IEEE instead of a zero check on
    # every division, which would block SIMD. nogil: the cpu backend calls it from threads.
    # The template's file: Numba's on-disk cache places and validates its files by a real one.
    kernel = _cache.cached(njit(error_model="numpy", nogil=True,
                                fastmath=FAST_FLAGS if fast else False)(
        flatten(f, template.py_func.__code__.co_filename)))
    # Numba's dispatcher calls self.compile for a new signature (or to load it from the cache)
    kernel.compile = functools.partial(_compile_alone, kernel.compile, kernel.__qualname__)
    return kernel


def _compile_alone(compile, name, signature):
    # the file lock before Numba's, as the cpu backend takes them: one order, no deadlock
    with _cache.compiling(name), global_compiler_lock, _typing_memo.installed():
        return compile(signature)


def interpret(template, shape, optimizer, order, margin=False, record=False, decay=False):
    """specialise's exact kernel as plain Python over NumPy scalars (targets.python_version):
    the same numbers bit for bit and no compile, but some 400 times slower per step (the
    post's network: 25 us against 60 ns on the AVX2 development machine). Worth it for one
    short run while the kernel is not compiled yet: the post's 111 steps take 3 ms, its
    kernel seconds to compile."""
    with _building:
        return _interpret(template, _kernel_shape(shape), optimizer, order, margin, record,
                          decay)


@functools.cache
def _interpret(template, shape, optimizer, order, margin, record, decay):
    return python_version(compose(template, shape, optimizer, order, margin, record, decay,
                                  stages=False))


def compiled(kernel, unknown=False):
    """Whether kernel has been compiled in this process or has a file in the on-disk cache;
    unknown where Numba's internals moved."""
    try:
        return bool(kernel.signatures) or os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:
        return unknown


_QUIET = []


@contextlib.contextmanager
def quiet():
    """Within it, _announce says nothing (the caller has said what it compiles)."""
    _QUIET.append(True)
    try:
        yield
    finally:
        _QUIET.pop()


def _announce(kernel, what, shape):
    """Say on a terminal that a kernel is about to compile for the first time: seconds to a
    minute and more for a large network, which would otherwise look like a hang."""
    if not _QUIET and not compiled(kernel, unknown=True) and sys.stderr.isatty():
        which = ("looped kernels (for every large network)" if shape.looped else
                 f"kernels for the {'-'.join(map(str, shape.layers))} network")
        print(f"bpbench: compiling {what} {which} (once: they are cached for next time)",
              file=sys.stderr, flush=True)
