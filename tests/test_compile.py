"""What makes kernels compile faster changes no number: flat.flatten, _typing_memo."""
import ast
import operator

import numpy as np
import pytest
from numba import njit, types
from numba.core.errors import TypingError

from bpbench import flat, kernels
from bpbench.backends import cpu, serial
from bpbench.network import Shape

K = 3.0  # a global of the callees below; the root has a local of the same name


@njit(inline="always")
def _scale(x, k):
    k = k * K  # rebinds a parameter: it must not write the caller's variable
    return x * k


@njit(inline="always")
def _pair(a, b):
    s = a + b
    return s, _scale(s, 2.0)


@njit(inline="always")
def _early(x):
    if x > 0:
        return x
    return -x


@njit(inline="always")
def _by_lambda(x):
    double = lambda y: 2 * y  # noqa: E731  (a scope of its own: not written out)
    return double(x)


def _root(A, n):
    K = 0.0
    for i in range(n):
        s, t = _pair(A[i], _scale(A[i], A[i]))
        K = K + s + t
        A[i] = _early(t) if t > 100 else _scale(t, 0.5)
    inside = 0.0 < A[0] < _scale(A[0], 1.0)  # the last operand only if the first holds
    return K + _by_lambda(K) + inside, A[0]


def _calls(source):
    return {n.func.id for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def test_flat_function_equals_numbas_inlining():
    A = np.linspace(-3, 4, 7)
    want = njit(_root)(A.copy(), 7)
    f = flat.flatten(_root)
    assert njit(f)(A.copy(), 7) == want
    assert f(A.copy(), 7) == want  # and as plain Python
    calls = _calls(f.__flat_source__)
    # _early has a return before its end and sits in a conditional expression, as does the
    # _scale beside it, and _by_lambda defines a function: they stay calls for Numba's own
    # inliner; every other call is gone
    assert calls <= {"_early", "_scale", "_by_lambda", "range"} and "_pair" not in calls
    assert {"_early", "_by_lambda"} <= calls
    [chain] = [n for n in ast.walk(ast.parse(f.__flat_source__))
               if isinstance(n, ast.Compare) and len(n.ops) == 2]
    assert isinstance(chain.comparators[-1], ast.Call)  # still evaluated only if 0 < A[0]


def _tuples(A, x, y):
    x, y = y, x  # a swap
    A[0], A[1] = x, A[0]  # the second value reads the array the first is stored into
    p, q = x + 1.0, y * 2.0
    A[2], r = p, q
    A[3] = A[3]
    return x, y, p, q, r, A[0], A[1], A[2]


def test_tuple_assignments_split_only_where_that_is_the_same():
    f = flat.flatten(_tuples)
    A = np.arange(4.0)
    assert f(A.copy(), 1.0, 2.0) == _tuples(A.copy(), 1.0, 2.0)
    assert njit(f)(A.copy(), 1.0, 2.0) == _tuples(A.copy(), 1.0, 2.0)
    kept = [ast.unparse(n) for n in ast.walk(ast.parse(f.__flat_source__))
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple)]
    assert kept == ["x, y = (y, x)", "A[0], A[1] = (x, A[0])"]
    assert "A[3] = A[3]" not in f.__flat_source__ and "p = x + 1.0" in f.__flat_source__


def test_kernels_are_flat():
    shape = Shape((2, 2, 1))
    for template in (serial._run, cpu._chunk):
        for order in ("inplace", "simultaneous"):
            f = flat.flatten(kernels.compose(template, shape, "adam", order))
            left = {c for c in _calls(f.__flat_source__)
                    if flat.inlinable(f.__globals__.get(c))}
            assert left == set(), (template.__name__, order, left)


def test_operator_typing_is_memoised_only_while_bpbench_compiles():
    # A user's own Numba code is typed by Numba's own method, before and after bpbench
    # compiles; within a bpbench compile the answers are memoised, and failures still raise.
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    from bpbench import _typing_memo
    mul = cpu_target.typing_context.resolve_value_type(operator.mul)
    numbas = type(mul).get_call_type
    assert not getattr(numbas, "memoised", False)

    @njit
    def times(a, b):
        return a * b

    @njit
    def bad(a):
        return a * {1: 2}
    with global_compiler_lock, _typing_memo.installed():
        assert type(mul).get_call_type.memoised
        assert times(3.0, 0.5) == 1.5 and times(3, 2) == 6
        memo = mul.__dict__.get("_bpbench_memo", {})
        kinds = {key[-1] for key in memo}
        assert (types.float64, types.float64) in kinds and (types.int64, types.int64) in kinds
        for _ in range(2):  # not memoised as an answer: the second try fails the same way
            with pytest.raises(TypingError):
                bad(1.0)
    assert type(mul).get_call_type is numbas


FLAG = False


@njit(inline="always")
def _flagged(x):
    if FLAG and x > 0:  # decided by the flag alone: only the branch taken is written out
        x = x * 7.0
    if x > 1 or not FLAG:
        x = x + 1.0
    return x


def _flag_root(x):
    return _flagged(x) + _flagged(-x)


@pytest.mark.parametrize("flag", [False, True])
def test_branches_a_flag_decides_are_left_out(monkeypatch, flag):
    monkeypatch.setitem(globals(), "FLAG", flag)
    f = flat.flatten(_flag_root)
    assert "_flagged" not in f.__flat_source__
    assert ("7.0" in f.__flat_source__) == flag
    assert ("> 1" in f.__flat_source__) == flag  # `or not FLAG` decides it when False
    for x in (-2.0, 0.5, 3.0):
        expected = _flagged.py_func(x) + _flagged.py_func(-x)
        assert f(x) == njit(f)(x) == expected
