"""Machine-readable output (--format) and trace(weights=True): they load straight into pandas,
and the weights, gradients and optimizer state are the run's own."""
import io
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench.cli import main

POST_W = {"w13": 0.1, "w23": 0.8, "w14": 0.4, "w24": 0.6, "w35": 0.3, "w45": 0.9}


def loss_at(w):
    """The post's loss at weights w, written out independently."""
    f = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    y3 = f(w["w13"] * 0.35 + w["w23"] * 0.9)
    y4 = f(w["w14"] * 0.35 + w["w24"] * 0.9)
    y5 = f(w["w35"] * y3 + w["w45"] * y4)
    return 0.5 * (y5 - 0.5) ** 2


def test_trace_weights_are_the_runs_own():
    t = bpbench.trace("sgd", lr=1.0, weights=True)
    assert len(t) == 111 and list(t.columns[:5]) == ["step", "output", "loss", "w35",
                                                     "grad_w35"]
    for p, w0 in POST_W.items():
        assert t[p][0] == w0
        # the gradient at the start against a central difference of the loss
        h = 1e-6
        up, down = dict(POST_W, **{p: w0 + h}), dict(POST_W, **{p: w0 - h})
        assert t[f"grad_{p}"][0] == pytest.approx((loss_at(up) - loss_at(down)) / (2 * h),
                                                  rel=1e-6)
        # gradient descent: the next pass's weight is this one's minus lr times the gradient
        assert np.array_equal(t[p][1:].to_numpy(),
                              (t[p] - 1.0 * t[f"grad_{p}"])[:-1].to_numpy())
    assert loss_at({p: t[p].iloc[-1] for p in POST_W}) == t.loss.iloc[-1]


def test_trace_weights_state_columns():
    t = bpbench.trace("adam", lr=0.1, weights=True)
    assert {"m_w35", "v_w35", "m_b3"} & set(t.columns) == {"m_w35", "v_w35"}
    g = t.grad_w35.to_numpy()
    assert t.m_w35[0] == pytest.approx(0.1 * g[0]) and t.v_w35[0] == pytest.approx(
        0.001 * g[0] ** 2)
    assert t.m_w35[1] == pytest.approx(0.9 * t.m_w35[0] + 0.1 * g[1])
    assert "m_w35" not in bpbench.trace("rmsprop", lr=0.1, weights=True)


def test_trace_weights_names_a_bigger_network():
    t = bpbench.trace("sgd", problem="xor", lr=2.0, max_steps=5, weights=True)
    # xor: inputs 1, 2; hidden 3, 4; output 5; trained biases
    assert {"w13", "w24", "w45", "b3", "b5", "grad_b5"} <= set(t.columns)
    from bpbench.problems import resolve
    names = resolve("encoder-8-3").shape.names  # two-digit unit numbers: w1_9, not w19
    assert {"w1_9", "w11_19", "b19"} <= set(names) and len(names) == len(set(names))


def test_trace_csv_and_json_load_into_pandas():
    r = CliRunner().invoke(main, ["trace", "--optimizer", "sgd", "--lr", "1", "--order",
                                  "inplace", "--format", "csv", "--weights"])
    assert r.exit_code == 0, r.output
    d = pd.read_csv(io.StringIO(r.stdout))
    api = bpbench.trace("sgd", order="inplace", lr=1.0, weights=True)
    pd.testing.assert_frame_equal(d, api, check_exact=True)
    r = CliRunner().invoke(main, ["trace", "--optimizer", "rmsprop", "--lr", "0.1", "--beta",
                                  "0.999", "--eps", "0.01", "--format", "json"])
    d = pd.read_json(io.StringIO(r.stdout), precise_float=True)
    assert len(d) == 11 and d.loss.iloc[-1] == bpbench.trace(
        "rmsprop", lr=0.1, beta=0.999, eps=0.01).loss.iloc[-1]


def test_show_formats_and_filters(tmp_path):
    path = tmp_path / "t.parquet"
    df = bpbench.sweep(["sgd", "rmsprop"], lr=[0.1, 1.0], max_steps=300)
    df.to_parquet(path)
    run = lambda *a: CliRunner().invoke(main, ["show", str(path), *a])  # noqa: E731
    r = run("--format", "json")
    s = pd.read_json(io.StringIO(r.stdout))
    assert list(s.optimizer) == ["sgd", "rmsprop"] and "robust_best" in s
    r = run("--format", "csv", "--optimizer", "rmsprop")
    s = pd.read_csv(io.StringIO(r.stdout))
    assert list(s.optimizer) == ["rmsprop"] and s.configurations[0] == 2
    r = run("--format", "md")
    assert r.stdout.startswith("| problem") and "|:--" in r.stdout
    r = run("--format", "csv", "--pivot", "lr", "beta")  # sgd has no beta: skipped
    s = pd.read_csv(io.StringIO(r.stdout))
    assert set(s.optimizer) == {"rmsprop"} and len(s) == 2
    r = run("--pivot", "lr", "beta")
    assert r.exit_code == 0 and "no lr x beta pivot for sgd simultaneous" in r.stdout
    r = run("--format", "json", "--windows", "--restarts")
    assert r.exit_code != 0 and "prints one table" in r.output
    r = run("--optimizer", "adam")
    assert r.exit_code == 1 and "no rows for optimizer adam" in r.output
