"""Backends give the same table; diverged runs are never converged."""
import numpy as np
import pandas as pd
import pytest

import bpbench
from bpbench.optimizers import OPTIMIZERS

from orders import BOTH_ORDERS


def grid(optimizer):
    # More configurations than one SIMD block, so lanes are refilled and the block shrinks.
    hyper = {"lr": np.geomspace(1e-2, 50, 300)}
    if "beta" in OPTIMIZERS[optimizer].hyper:
        hyper["beta"] = [0.0, 0.9]
    return hyper


@pytest.mark.parametrize("optimizer, order", [(o, order) for o in BOTH_ORDERS
                                              for order in ("inplace", "simultaneous")])
def test_serial_and_cpu_tables_identical(optimizer, order):
    a = bpbench.sweep(optimizer, order=order, backend="serial", max_steps=700, **grid(optimizer))
    b = bpbench.sweep(optimizer, order=order, backend="cpu", max_steps=700, **grid(optimizer))
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["backend"] == "serial" and b.attrs["backend"] == "cpu"


@pytest.mark.parametrize("optimizer", [o for o in OPTIMIZERS if o not in BOTH_ORDERS])
def test_cpu_rows_do_not_depend_on_lanes(optimizer):
    # The other rules' cpu kernels (each meets the oracle one configuration at a time in
    # test_oracle, their serial twins in the other order) on a grid, forwards and backwards:
    # each configuration starts in another lane, beside other neighbours, refilled at other
    # times, and must end the same, as must each one run on its own.
    a = bpbench.sweep(optimizer, max_steps=700, **grid(optimizer))
    rev = {k: v[::-1] for k, v in grid(optimizer).items()}
    b = bpbench.sweep(optimizer, max_steps=700, **rev)
    key = list(grid(optimizer))
    b = b.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a.sort_values(key, kind="stable").reset_index(drop=True), b)
    picks = a.iloc[[0, 77, 151, len(a) - 1]]
    for r in picks.itertuples():
        one = bpbench.sweep(optimizer, max_steps=700, **{k: getattr(r, k) for k in key})
        pd.testing.assert_frame_equal(one.reset_index(drop=True),
                                      a.loc[[r.Index]].reset_index(drop=True),
                                      check_dtype=False)
    assert a.steps.nunique() >= 10  # runs end at many steps: lanes refill at many times


@pytest.mark.parametrize("optimizer, order", [("rmsprop", "simultaneous"), ("adam", "inplace")])
def test_weight_decay_kernels_identical(optimizer, order):
    # kernels.specialise compiles the rule with decay() where some weight_decay is not 0.
    # The serial backend compiles whole rules, the kernels of the plain grids above.
    hyper = {"lr": np.geomspace(1e-2, 50, 150), "weight_decay": [0.0, 1e-3, 0.1]}
    a = bpbench.sweep(optimizer, order=order, backend="serial", max_steps=700, **hyper)
    b = bpbench.sweep(optimizer, order=order, backend="cpu", max_steps=700, **hyper)
    pd.testing.assert_frame_equal(a, b)
    loss = {wd: a.final_loss[a.weight_decay == wd].to_numpy() for wd in (0.0, 0.1)}
    assert not np.array_equal(loss[0.0], loss[0.1])  # the decay kernel does decay


def test_small_grids_are_shared_out_between_threads():
    from bpbench.backends import cpu
    assert cpu.shares(32, 2) == (2, 16)  # a few long runs: both cores, two vectors each
    assert cpu.shares(3, 2) == (1, 8)
    assert cpu.shares(100_000, 2) == (2, cpu.LANES)
    assert cpu.shares(100, 1) == (1, cpu.LANES)
    # and the tables do not change: 20 configurations on two threads of 16 lanes
    kw = dict(lr=np.geomspace(1e-2, 50, 20), max_steps=700)
    pd.testing.assert_frame_equal(bpbench.sweep("adam", backend="serial", **kw),
                                  bpbench.sweep("adam", backend="cpu", **kw))


def test_simd_loop_width_is_set_for_the_kernel_alone():
    from numba import njit
    from bpbench.backends import cpu
    from bpbench.kernels import dispatcher
    from bpbench.problems import POST

    def divide(a, b, out):
        for i in range(out.shape[0]):
            out[i] = a[i] / b[i]
    args = (np.ones(64), np.ones(64), np.empty(64))
    forced, plain = (njit(error_model="numpy")(divide) for _ in range(2))
    cpu._compile(forced, args, 16)  # wider than LLVM would choose on any x86 ISA
    plain(*args)  # compiled after: LLVM's own choice again
    assert "<16 x double>" in forced.inspect_llvm(forced.signatures[0])
    assert "<16 x double>" not in plain.inspect_llvm(plain.signatures[0])
    # the kernel cpu.run calls is the one it compiled, not a second one typed differently
    bpbench.sweep("adam", lr=[0.1, 1.0], backend="cpu", max_steps=50)
    kernel = dispatcher(cpu._chunk, POST.shape, "adam", "simultaneous")
    assert [str(s[0].dtype) for s in kernel.signatures].count("float64") == 1


def test_divergence_is_detected_not_counted():
    # A sigmoid network rarely overflows: gradient descent at lr 1e6 just saturates the units
    # and lands on 0.5. Adam's momentum keeps moving saturated weights, so at lr ~ 1e308 they
    # overflow.
    df = bpbench.sweep("adam", lr=[1e308, 1.5e308], backend="cpu")
    assert (df.status == "diverged").all()
    assert df.steps.isna().all()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_weight_beats_a_small_loss(bad):
    # A weight can blow up while the sigmoid keeps the loss finite; divergence is checked first.
    from bpbench.layout import FINITE, LOSS, N, PARAMS, rows
    from bpbench.network import net
    from bpbench.problems import POST
    from bpbench.training import CONVERGED, DIVERGED, verdict
    S = np.zeros((rows(6), 1))
    S[PARAMS::3, 0] = 0.5
    net(POST.shape).forward.py_func(S, 0, tuple(POST.data("float64")))
    S[LOSS, 0], S[N, 0] = 1e-9, 1
    assert S[FINITE, 0] == 1
    assert verdict.py_func(S, 0, 1e-7, 10) == CONVERGED
    S[PARAMS + 3 * 2, 0] = bad
    net(POST.shape).forward.py_func(S, 0, tuple(POST.data("float64")))
    S[LOSS, 0] = 1e-9
    assert S[FINITE, 0] == 0
    assert verdict.py_func(S, 0, 1e-7, 10) == DIVERGED


def test_progress_counts_every_configuration():
    from bpbench import grid
    from bpbench.api import iter_chunks
    b = grid.block("rmsprop", lr="log:1e-3:1:40", beta=[0.9, 0.99], eps=0.01)
    conf = grid.settings(max_steps=2000)
    for backend in ("cpu", "serial"):
        heard = []
        chunks = [(0, 0, 50), (0, 50, 80)]
        tables = list(iter_chunks([b], conf, backend, chunks=chunks, progress=heard.append))
        assert sum(heard) == 80 and len(tables) == 2
