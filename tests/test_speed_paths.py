"""The fast paths: fast mode's exp, its tolerance, float32, and the NumPy backend."""
import numpy as np
import pandas as pd
import pytest
from numba import njit

import bpbench
from bpbench.kernels import FAST_FLAGS
from bpbench.primitives import fast_exp

from orders import exact_backends


def _many(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = fast_exp(x[i])
    return out


_fast_exp_many = njit(_many)
_fast_exp_many_fast_math = njit(fastmath=FAST_FLAGS)(_many)  # as in fast kernels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_exp_accuracy_and_edges(dtype):
    x = np.linspace(*((-708, 709) if dtype == np.float64 else (-87, 88)), 100001).astype(dtype)
    for many in (_fast_exp_many, _fast_exp_many_fast_math):
        rel = np.abs(many(x) / np.exp(x.astype(np.float64)) - 1)
        assert rel.max() < (1e-13 if dtype == np.float64 else 1e-6)
    edges = _fast_exp_many(np.array([1e4, -1e4, np.nan, np.inf, -np.inf], dtype))
    assert edges[0] == np.inf and edges[1] == 0 and np.isnan(edges[2])
    assert edges[3] == np.inf and edges[4] == 0
    if dtype == np.float64:  # the float64 range's ends: finite up to e^709.78, then inf
        big = _fast_exp_many(np.array([709.7, 709.8, -708.39, -708.4]))
        assert np.isfinite(big[0]) and big[1] == np.inf and big[2] > 0 and big[3] == 0


@pytest.mark.parametrize("cpu", ["host", "haswell"])
def test_table_exp_is_libms_exp_bit_for_bit(cpu):
    # glibc's exp ported to vectorise (the exact looped kernels use it): 2 million inputs over
    # every path of its algorithm and the special values, compiled for this CPU and for AVX2;
    # benchmarks/exp_check.py checks 10^9
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = dict(os.environ)
    if cpu != "host":
        env["NUMBA_CPU_NAME"] = cpu
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import exp_check; "
            "sys.exit(min(exp_check.check(2_000_000, seed=7), 1))")
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "special values" in r.stdout and " 0 differ" in r.stdout


def _activations_source(shape):
    from bpbench import kernels
    from bpbench.backends import cpu
    step_lanes = kernels.compose(cpu._chunk_looped, shape, "sgd", "inplace").__globals__[
        "step_lanes"]
    return step_lanes.py_func.__globals__["_activations"].py_func.__flat_source__


def test_exact_kernels_call_libms_exp_where_the_c_library_is_not_glibcs(monkeypatch):
    from bpbench import kernels
    assert kernels.table_exp_is_libms()  # glibc's exp on these machines
    assert "_EXP_TABLE" in _activations_source(kernels.LOOPED)
    monkeypatch.setattr(kernels, "table_exp_is_libms", lambda: False)
    source = _activations_source(kernels.LOOPED)
    assert "_EXP_TABLE" not in source and "np.exp" in source


def mismatches(a, b):
    return int(((a.status != b.status) | (a.steps.fillna(-1) != b.steps.fillna(-1))).sum())


@pytest.mark.parametrize("order", ["inplace", "simultaneous"])
def test_fast_mode_within_stated_tolerance(order):
    kw = dict(order=order, lr="log:1e-3:1:24", beta="lin:0.5:0.999:24", eps="log:1e-8:1e-1:4",
              max_steps=3000)
    exact, fast = bpbench.sweep("rmsprop", **kw), bpbench.sweep("rmsprop", fast=True, **kw)
    assert mismatches(exact, fast) <= 0.001 * len(exact) + 1
    # fast is a different computation, not a relabelled exact one
    assert not np.array_equal(exact.final_loss, fast.final_loss)


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("backend", ["serial", "cpu", "numpy"])
def test_non_finite_weights_detected_under_any_flags(backend, fast):
    # A NaN or inf learning rate (which validation refuses, so straight to the backend) makes
    # the weights NaN / -inf after the first update; fastmath without nnan/ninf must see it.
    from bpbench.backends import backend_module
    from bpbench.grid import block
    from bpbench.training import CONVERGED, DIVERGED
    # RMSprop: its fast cpu kernel is test_fast_mode_within_stated_tolerance's
    shape, opt, order, H, W0, K = block("rmsprop", lr=[1, 1, 1]).args()
    H[0] = [np.nan, np.inf, 0.1]
    passes, status, loss, _ = backend_module(backend).run(shape, opt, order, H, W0, K, 1e-7,
                                                          500, fast=fast)
    assert list(status) == [DIVERGED, DIVERGED, CONVERGED]
    assert list(passes[:2]) == [2, 2]


def test_float32_runs_in_float32_on_every_backend():
    kw = dict(lr="log:1e-2:1:20", beta=[0.9, 0.999], eps=0.01, max_steps=2000, dtype="float32")
    tables = {b: bpbench.sweep("rmsprop", backend=b, **kw) for b in ("serial", "cpu", "numpy")}
    pd.testing.assert_frame_equal(tables["serial"], tables["cpu"], check_like=True,
                                  check_exact=True, obj="serial vs cpu")
    f64 = bpbench.sweep("rmsprop", **dict(kw, dtype="float64"))
    assert not np.array_equal(f64.final_loss, tables["cpu"].final_loss)
    assert tables["cpu"].attrs["dtype"] == "float32"


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adam",
                                       "adagrad"])
def test_numpy_backend_agrees_with_exact(optimizer):
    from bpbench.optimizers import OPTIMIZERS
    hyper = {"lr": "log:1e-2:10:40"}
    if "beta" in OPTIMIZERS[optimizer].hyper:
        hyper["beta"] = [0.5, 0.9]
    for order in ("inplace", "simultaneous"):
        # the exact kernel test_oracle compiles in this order (orders.exact_backends)
        a = bpbench.sweep(optimizer, order=order, max_steps=1000,
                          backend=exact_backends(optimizer, order)[0], **hyper)
        b = bpbench.sweep(optimizer, order=order, max_steps=1000, backend="numpy", **hyper)
        # NumPy's own SIMD exp may round differently from libm's: allow a rare flip.
        assert mismatches(a, b) <= 1
        both = (a.status == "converged") & (b.status == "converged")
        np.testing.assert_allclose(a.final_output[both], b.final_output[both], rtol=1e-6)
