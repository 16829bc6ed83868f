"""loops.py: the network as loops over a shape given as data, one kernel per rule for every
shape. Forced onto small shapes (network.MAX_UNROLLED = 0), it must give the unrolled
kernels' and the transcription's numbers bit for bit; on large ones, the NumPy backend's."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpbench
from bpbench import kernels, network
from bpbench.backends import serial
from bpbench.network import Shape

from test_problems import oracle_row, random_spec


@pytest.fixture
def looped(monkeypatch):
    """Every shape runs the looped kernels."""
    monkeypatch.setattr(network, "MAX_UNROLLED", 0)
    network.net.cache_clear()
    yield
    network.net.cache_clear()


@st.composite
def random_problem(draw):
    """Any shape of 2 or 3 weight layers, up to 4 units a layer and 4 patterns."""
    return random_spec(draw, draw(st.lists(st.integers(1, 4), min_size=3, max_size=4)),
                       draw(st.sampled_from(["none", "fixed", "trained"])),
                       draw(st.integers(1, 4)))


# One looped kernel per rule, order and criterion serves every random shape below.
CASES = [("sgd", "inplace", 0.0), ("sgd", "simultaneous", 0.3),
         ("adam", "simultaneous", 0.0), ("nadam", "inplace", 0.3)]


@pytest.mark.parametrize("optimizer, order, margin", CASES)
def test_random_shapes_match_the_transcription(looped, optimizer, order, margin):
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
              max_examples=20, deadline=None)
    @given(spec=random_problem(), lr=st.floats(0.01, 5.0), max_steps=st.integers(1, 300))
    def inner(spec, lr, max_steps):
        assert bpbench.problems.resolve(spec).shape.looped
        want = oracle_row(spec, optimizer, order, {"lr": lr}, margin, max_steps)
        row = bpbench.sweep(optimizer, problem=spec, order=order, tol=1e-4, margin=margin,
                            max_steps=max_steps, backend="serial", lr=lr).iloc[0]
        assert row.status == want[1]
        assert (pd.isna(row.steps) if want[1] != "converged" else row.steps == want[0])
        if want[1] != "diverged":
            assert (row.final_loss, row.final_output) == (want[2], want[3])
    inner()


def test_looped_kernels_equal_the_unrolled_ones(monkeypatch):
    # xor restarts on the cpu backend (lanes refilled) and a trace with every gradient
    kw = dict(problem="xor", seed={"start": 0, "num": 150}, lr=[0.5, 4.0], max_steps=600)
    unrolled = bpbench.sweep("sgd", order="inplace", **kw)
    unrolled32 = bpbench.sweep("sgd", order="inplace", dtype="float32", **kw)  # header in f32
    trace = dict(problem="xor", lr=2.0, seed=3, max_steps=300, weights=True)
    unrolled_trace = bpbench.trace("adam", **trace)
    monkeypatch.setattr(network, "MAX_UNROLLED", 0)
    network.net.cache_clear()
    try:
        pd.testing.assert_frame_equal(bpbench.sweep("sgd", order="inplace", **kw), unrolled)
        pd.testing.assert_frame_equal(
            bpbench.sweep("sgd", order="inplace", dtype="float32", **kw), unrolled32)
        pd.testing.assert_frame_equal(bpbench.trace("adam", **trace), unrolled_trace)
        fast = bpbench.sweep("sgd", order="inplace", fast=True, **kw)
        assert (fast.status == unrolled.status).mean() > 0.95
    finally:
        network.net.cache_clear()


def test_one_kernel_per_rule_serves_every_looped_shape():
    a, b = Shape((20, 10, 20), "trained", 20), Shape((3, 300, 1), "none", 2)
    assert a.looped and b.looped and not Shape((2, 2, 1)).looped
    ka = kernels.dispatcher(serial._run, a, "sgd", "inplace", decay=True)
    assert ka is kernels.dispatcher(serial._run, b, "sgd", "inplace", decay=True)
    assert "looped" in ka.__qualname__


def big(layers, patterns, seed=0):
    rng = np.random.default_rng(seed)
    return {"name": f"big-{'-'.join(map(str, layers))}", "layers": layers, "bias": "trained",
            "inputs": rng.uniform(0, 1, (patterns, layers[0])).round(3).tolist(),
            "targets": rng.integers(0, 2, (patterns, layers[-1])).astype(float).tolist(),
            "init": {"dist": "uniform", "low": -0.3, "high": 0.3}}


@pytest.mark.parametrize("problem, steps", [("encoder-20-10", 300),
                                            (big([40, 60, 40], 4), 15)],
                         ids=["430-parameters", "4900-parameters"])
def test_large_networks_match_the_numpy_backend(problem, steps):
    kw = dict(problem=problem, seed={"start": 0, "num": 16}, lr=1.0, max_steps=steps)
    cpu = bpbench.sweep("sgd", **kw)
    numpy = bpbench.sweep("sgd", backend="numpy", **kw)
    assert list(cpu.status) == list(numpy.status)
    # NumPy's exp is not libm's: the same runs, to the last bits
    np.testing.assert_allclose(cpu.final_loss, numpy.final_loss, rtol=1e-9)


def test_parity_is_a_builtin_that_runs_looped():
    p = bpbench.problems.resolve("parity-4")
    assert p.shape.looped and len(p.inputs) == 16 and p.margin == 0.4
    assert [int(t) for t in p.targets.ravel()] == [bin(k).count("1") % 2 for k in range(16)]
    # momentum at lr 0.3: 7 of 24 starts converge within 10,000 steps, the first after 331
    kw = dict(problem="parity-4", seed={"start": 0, "num": 24}, lr=0.3, max_steps=2000)
    cpu = bpbench.sweep("momentum", **kw)
    serial = bpbench.sweep("momentum", backend="serial", **kw)
    pd.testing.assert_frame_equal(cpu, serial)
    assert {"converged", "max_steps"} <= set(cpu.status)
    with pytest.raises(ValueError, match="parity-N needs"):
        bpbench.problems.resolve("parity-11")


def test_a_plain_network_gets_a_kernel_without_the_models_code():
    # encoder-8-3 has none of the model's options (sigmoid, sse, patterns in order, constant
    # lr): its kernel leaves their code out, and gives the full kernel's numbers bit for bit
    import dataclasses

    from bpbench import grid
    from bpbench.backends import cpu
    from bpbench.training import CONVERGED, MAX_STEPS
    shape, *args = grid.block("sgd", "simultaneous", problem="encoder-8-3", lr=[1.0, 4.0],
                              seed={"start": 0, "num": 40}).args()
    assert shape.looped and not shape.model
    full = dataclasses.replace(shape, model=True)
    plain_run, full_run = (cpu.run(s, *args, 0.3, 400) for s in (shape, full))
    for a, b in zip(plain_run, full_run):
        np.testing.assert_array_equal(a, b)
    assert {CONVERGED, MAX_STEPS} <= set(plain_run[1])  # a mix, not all of one kind
    plain_src, full_src = (kernels.dispatcher(cpu._chunk_looped, s, "sgd", "simultaneous")
                           .py_func.__flat_source__ for s in (shape, full))
    assert "shuffle(" not in plain_src and "shuffle(" in full_src
