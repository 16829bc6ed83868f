"""The CUDA kernels compiled for a real GPU target (PTX for sm_90), without a GPU.

The simulator runs the kernels as Python, so it cannot show that they type-check and lower
for the CUDA target (device functions passed as arguments, typed constants, atomics). NVVM and
NVRTC compile them here; the test is skipped where those libraries are missing.
"""
import re
import types as pytypes

import pytest

from bpbench.network import ORDERS
from bpbench.optimizers import OPTIMIZERS
from bpbench.problems import POST, resolve

cuda = pytest.importorskip("numba.cuda")


@pytest.fixture
def no_gpu_compile(monkeypatch):
    import numba.cuda.dispatcher as dispatcher

    from bpbench.backends import cuda as backend
    # Device functions compile lazily for the current GPU; stand in an H100's capability.
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: pytypes.SimpleNamespace(compute_capability=(9, 0)))
    monkeypatch.setattr(backend, "require", lambda: None)
    return backend


CASES = [(POST, opt, ORDERS[i % 2], ("float64", "float32")[i // 2 % 2], False)
         for i, opt in enumerate(OPTIMIZERS)] + [(resolve("xor"), "momentum", "inplace",
                                                  "float32", True)]


@pytest.mark.parametrize("problem, optimizer, order, dtype, margin", CASES)
def test_kernel_compiles_to_ptx(no_gpu_compile, problem, optimizer, order, dtype, margin):
    from numba import types
    dt = getattr(types, dtype)
    sig = (dt[:, ::1], dt[:, ::1], dt[::1], dt, types.int64, types.int64[::1], dt[:, ::1],
           types.int64[::1], types.int8[::1], dt[::1], dt[::1])
    # uncached: a fresh compile
    kernel = no_gpu_compile.kernel.__wrapped__(problem.shape, optimizer, order, margin)
    try:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, device=False, cc=(9, 0))
    except Exception as e:  # no NVVM / NVRTC on this machine
        if "NVVM" in str(e) or "nvrtc" in str(e) or "libnvvm" in str(e):
            pytest.skip(f"CUDA compiler libraries missing: {str(e).splitlines()[0]}")
        raise
    # the persistent kernel pulls configurations from an atomic counter; NAdam's runs one per
    # thread (bpbench/backends/cuda.py says why)
    assert ".entry" in ptx
    assert ("atom.global.add" in ptx) is no_gpu_compile.persistent(optimizer)
    # float32 kernels do float32 arithmetic (only the step-count comparison with the integer
    # max_steps is widened, which is exact).
    f64_math = re.findall(r"\b(?:add|sub|mul|div|fma|sqrt|rcp|ex2)\.[a-z.]*f64", ptx)
    assert bool(f64_math) is (dtype == "float64")
