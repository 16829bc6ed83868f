"""The post's printed numbers, bit for bit, and the `reproduce` command."""
import pytest
from click.testing import CliRunner

import bpbench
from bpbench.claim import LINE, POST, post_line
from bpbench.cli import main


@pytest.mark.parametrize("key", list(POST), ids=lambda k: k[0])
def test_trace_matches_every_printed_line(key):
    optimizer, hyper = key
    t = bpbench.trace(optimizer, order="seed", **dict(hyper))
    printed = [LINE.match(line) for line in POST[key].splitlines()]
    assert len(t) == int(printed[-1].group(1))  # 111 and 11
    assert t.attrs["status"] == "converged"
    for m in printed:
        s = int(m.group(1))
        assert t.output[s - 1] == float(m.group(2))  # exact float equality, not approx
        assert t.loss[s - 1] == float(m.group(3))
        assert post_line(s, t.output[s - 1], t.loss[s - 1]) == m.group(0)


def test_orders_differ_from_step_two_but_agree_on_counts():
    for optimizer, hyper in POST:
        seed = bpbench.trace(optimizer, order="seed", **dict(hyper))
        sim = bpbench.trace(optimizer, order="simultaneous", **dict(hyper))
        assert seed.loss[0] == sim.loss[0]
        assert seed.loss[1] != sim.loss[1]
        assert len(seed) == len(sim)


@pytest.mark.parametrize("order", ["inplace", "simultaneous"])
def test_float32_gives_the_claimed_counts(order):
    gd = bpbench.trace("sgd", order=order, lr=1.0, dtype="float32")
    rms = bpbench.trace("rmsprop", order=order, lr=0.1, beta=0.999, eps=0.01, dtype="float32")
    assert (len(gd), len(rms)) == (111, 11)


def test_reproduce_command_passes():
    r = CliRunner().invoke(main, ["reproduce"])
    assert r.exit_code == 0, r.output
    assert "step = 2: yp = 0.6820312027460466, Error = 0.016567679386586154" in r.output
    assert "MISMATCH" not in r.output


def test_reproduce_fails_when_a_number_differs(monkeypatch):
    key = next(iter(POST))
    monkeypatch.setitem(POST, key, POST[key].replace("0.6820312027460466", "0.6820312027460467"))
    r = CliRunner().invoke(main, ["reproduce"])
    assert r.exit_code == 1
    assert "MISMATCH" in r.output
