"""The CUDA kernels compiled for a real GPU target (PTX for sm_90), without a GPU.

The simulator runs the kernels as Python, so it cannot show that they type-check and lower
for the CUDA target (device functions passed as arguments, typed constants, atomics). NVVM and
NVRTC compile them here; the test is skipped where those libraries are missing.
"""
import re
import types as pytypes

import pytest

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


def ptx_of(py_func, signature, device):
    try:
        return cuda.compile_ptx(py_func, signature, device=device, cc=(9, 0))[0]
    except Exception as e:  # no NVVM / NVRTC on this machine
        if "NVVM" in str(e) or "nvrtc" in str(e) or "libnvvm" in str(e):
            pytest.skip(f"CUDA compiler libraries missing: {str(e).splitlines()[0]}")
        raise


def f64_math(ptx):
    return re.findall(r"\b(?:add|sub|mul|div|fma|sqrt|rcp|ex2)\.[a-z.]*f64", ptx)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_rule_lowers_for_the_gpu(no_gpu_compile, optimizer, dtype):
    # Each rule's update and advance as the device functions the kernels call, in both dtypes
    # (seconds less than a whole kernel each): a float32 rule does float32 arithmetic.
    from numba import types

    from bpbench.targets import retarget
    dt, rule = getattr(types, dtype), OPTIMIZERS[optimizer]
    dev, prims = cuda.jit(device=True), no_gpu_compile._primitives()
    ptx = "".join(ptx_of(retarget(f, dev, prims, {}).py_func, (dt,) * n, device=True)
                  for f, n in ((rule.update, 12), (rule.advance, 8)))
    assert ".func" in ptx
    assert bool(f64_math(ptx)) is (dtype == "float64")


# The kernels around the rules: persistent (float64 and float32), one configuration per
# thread (NAdam's), and XOR's biases and margin criterion.
CASES = [(POST, "sgd", "inplace", "float64", False), (POST, "rmsprop", "simultaneous",
                                                       "float32", False),
         (POST, "nadam", "simultaneous", "float64", False),
         (resolve("xor"), "momentum", "inplace", "float32", True),
         (resolve("encoder-8-3"), "adam", "simultaneous", "float64", True),  # looped
         (resolve("encoder-8-3"), "sgd", "inplace", "float32", False)]


@pytest.mark.parametrize("problem, optimizer, order, dtype, margin", CASES)
def test_kernel_compiles_to_ptx(no_gpu_compile, problem, optimizer, order, dtype, margin):
    from numba import types
    dt = getattr(types, dtype)
    sig = (dt[:, ::1], dt[:, ::1], dt[::1], types.int64[::1], dt, types.int64,
           types.int64[::1], dt[:, ::1], dt[:, ::1], dt[:, ::1], types.int64[::1],
           types.int8[::1], dt[::1], dt[::1])
    # uncached: a fresh compile
    kernel = no_gpu_compile._kernel.__wrapped__(
        no_gpu_compile.LOOPED if problem.shape.looped else problem.shape, optimizer, order,
        margin, True)
    ptx = ptx_of(kernel.py_func, sig, device=False)
    # the persistent kernel pulls configurations from an atomic counter; NAdam's runs one per
    # thread (bpbench/backends/cuda.py says why)
    assert ".entry" in ptx
    assert ("atom.global.add" in ptx) is no_gpu_compile.persistent(optimizer)
    # float32 kernels do float32 arithmetic (only the step-count comparison with the integer
    # max_steps is widened, which is exact).
    assert bool(f64_math(ptx)) is (dtype == "float64")
