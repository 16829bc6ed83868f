"""Numba types each ``a * b`` afresh: a kernel's thousand arithmetic operations each try the
candidate templates of their operator (number rules, NumPy rules, the overloads of lists,
sets, strings...) until one fits, once in type inference and again in lowering. That search
was about a fifth of the CPU time of compiling a kernel (benchmarks/RESULTS.md). Its answer
depends only on the operator, the argument types, the typing context and the target, so it is
kept here the first time it succeeds and reused after; failures are not kept, so they raise as
they always did.

Only operators are memoised (the ``operator`` module's functions, which is what Numba calls
for arithmetic, comparisons and indexing), nothing where a template could depend on more
than types. Where Numba's internals have moved, nothing is patched.

The memo is in place only while bpbench compiles one of its kernels (``installed``, entered
under Numba's compiler lock, so no other function of the process compiles meanwhile): a user's
own Numba code is typed by Numba's unpatched method.
"""
import contextlib
import operator

_OPERATORS = frozenset(f for f in vars(operator).values() if callable(f))


@contextlib.contextmanager
def installed():
    """Within it (hold numba's global_compiler_lock), operators' typing is memoised."""
    try:
        from numba.core.target_extension import get_local_target
        from numba.core.types.functions import BaseFunction
        original = BaseFunction.get_call_type
    except (ImportError, AttributeError):
        yield
        return
    if getattr(original, "memoised", False):  # re-entered: already in place
        yield
        return

    def get_call_type(self, context, args, kws):
        if kws or getattr(self, "typing_key", None) not in _OPERATORS:
            return original(self, context, args, kws)
        memo = self.__dict__.setdefault("_bpbench_memo", {})
        key = (context, get_local_target(context), tuple(args))
        sig = memo.get(key)
        if sig is None:
            sig = memo[key] = original(self, context, args, kws)  # raises where none fits
        return sig

    get_call_type.memoised = True
    BaseFunction.get_call_type = get_call_type
    try:
        yield
    finally:
        BaseFunction.get_call_type = original
