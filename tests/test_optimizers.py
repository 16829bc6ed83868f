"""The rules added to the first six: Quickprop as defined, every rule on every backend,
hyperparameters by name, their validation, and tables saved before they existed."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench import grid, results
from bpbench.cli import main
from bpbench.optimizers import HYPERPARAMETERS, OPTIMIZERS

import oracle
from orders import DECAY_ORDER

NEW = ["rprop", "adamax", "adamw", "nadam", "radam", "adadelta", "quickprop"]
LRS = {"rprop": [0.01, 0.1], "adamax": [0.01, 0.1], "adamw": [0.01, 0.1], "nadam": [0.01, 0.1],
       "radam": [0.01, 0.1], "adadelta": [1.0, 5.0], "quickprop": [0.1, 0.5]}


def test_quickprop_trace_converges_and_equals_the_transcription():
    r = CliRunner().invoke(main, ["trace", "--optimizer", "quickprop", "--lr", "0.5",
                                  "--mu", "1.75", "--order", "inplace"])
    assert r.exit_code == 0, r.output
    assert r.stderr.strip().startswith("converged after")
    steps, status, _, _, history = oracle.train("quickprop", "inplace", lr=0.5, mu=1.75,
                                                trace=True)
    assert status == "converged"
    from bpbench.claim import post_line
    want = [post_line(s, y, e) for s, (y, e) in enumerate(history, 1)]
    assert r.stdout.splitlines() == want


def test_quickprop_rule_by_hand():
    # one weight, step by step against the definition in the issue
    from bpbench.optimizers import quickprop
    lr, mu = 0.5, 1.75
    w, m, v = 0.0, 0.0, 0.0
    w, m, v = quickprop.py_func(0.2, w, m, v, 1.0, 1.0, lr, mu, 0, 0, 0, 0)
    assert (w, m, v) == (-0.1, -0.2, -0.1)  # D = 0: step = lr S
    # D < 0 and S = -0.1 < 0 (same direction): lr S plus, as S > shrink P = -0.127, the jump
    # D S / (P - S) = -0.1 * -0.1 / (-0.2 + 0.1)
    w2, m2, v2 = quickprop.py_func(0.1, w, m, v, 2.0, 1.0, lr, mu, 0, 0, 0, 0)
    jump = -0.1 * -0.1 / (-0.2 - -0.1)
    assert v2 == 0.5 * -0.1 + jump and m2 == -0.1 and w2 == w + v2
    # slope as steep as before: the jump is capped at mu D
    _, _, v3 = quickprop.py_func(0.25, w, m, v, 2.0, 1.0, lr, mu, 0, 0, 0, 0)
    assert v3 == 0.5 * -0.25 + mu * -0.1


@pytest.mark.parametrize("optimizer", NEW)
def test_every_backend_runs_every_rule(optimizer):
    def oracle_rows(order):
        return [oracle.train(optimizer, order, max_steps=3000, lr=lr,
                             **{h: v for h, v in OPTIMIZERS[optimizer].defaults.items()
                                if h != "lr"}) for lr in LRS[optimizer]]

    # each exact backend in the order the other tests compile its kernel (orders.py)
    cpu = bpbench.sweep(optimizer, lr=LRS[optimizer], max_steps=3000)
    want = oracle_rows("simultaneous")
    assert [w[1] for w in want] == list(cpu.status)
    assert [w[2] for w in want] == list(cpu.final_loss)
    serial = bpbench.sweep(optimizer, lr=LRS[optimizer], max_steps=3000, order="seed",
                           backend="serial")
    want = oracle_rows("seed")
    assert [w[1] for w in want] == list(serial.status)
    assert [w[2] for w in want] == list(serial.final_loss)
    # NumPy's exp rounds differently: statuses agree, counts nearly
    other = bpbench.sweep(optimizer, lr=LRS[optimizer], max_steps=3000, backend="numpy")
    assert list(other.status) == list(cpu.status)
    assert np.allclose(other.steps.astype(float), cpu.steps.astype(float), rtol=0.02,
                       equal_nan=True)


def test_hyperparameters_by_name_in_tables_and_files(tmp_path):
    # serial, in DECAY_ORDER: kernels that other tests compile
    df = bpbench.sweep(["sgd", "rprop", "quickprop"], lr=0.1, eta_plus=[1.1, 1.3], mu=2.0,
                       weight_decay=0.01, max_steps=500, backend="serial",
                       order=DECAY_ORDER)
    assert list(df.columns[3:3 + len(HYPERPARAMETERS)]) == list(HYPERPARAMETERS)
    sgd, rprop, qp = (df[df.optimizer == o] for o in ("sgd", "rprop", "quickprop"))
    assert sgd.weight_decay.tolist() == [0.01] and sgd.eta_plus.isna().all()
    assert rprop.eta_plus.tolist() == [1.1, 1.3] and rprop.weight_decay.isna().all()
    assert (rprop.eta_minus == 0.5).all() and (rprop.step_max == 50).all()  # torch defaults
    assert qp.mu.tolist() == [2.0] and qp.beta.isna().all()
    sweep = tmp_path / "s.toml"
    sweep.write_text('[[run]]\noptimizer = "rprop"\nlr = 0.05\netas = [0.4, [1.1, 1.2]]\n'
                     '[[run]]\noptimizer = "adadelta"\nrho = 0.8\n')
    df = bpbench.sweep_file(sweep)
    assert df.eta_minus.tolist()[:2] == [0.4, 0.4] and df.eta_plus.tolist()[:2] == [1.1, 1.2]
    assert df.beta.tolist()[2] == 0.8
    r = CliRunner().invoke(main, ["run", "--optimizer", "rprop", "--eta-plus", "1.1,1.5",
                                  "--step-max", "1", "-o", str(tmp_path / "r.parquet")])
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(tmp_path / "r.parquet").eta_plus.tolist() == [1.1, 1.5]


@pytest.mark.parametrize("spec, message", [
    (dict(optimizer="rprop", eta_minus=1.5), "eta_minus must be in (0, 1), got 1.5"),
    (dict(optimizer="rprop", eta_plus=0.9), "eta_plus must be > 1, got 0.9"),
    (dict(optimizer="rprop", step_min=1.0, step_max=[0.5, 2]), "step_min 1 > step_max 0.5"),
    (dict(optimizer="quickprop", mu=0), "mu must be > 0, got 0"),
    (dict(optimizer="adamw", weight_decay=-1), "weight_decay must be >= 0, got -1"),
    (dict(optimizer="nadam", momentum_decay=-0.1), "momentum_decay must be >= 0"),
    (dict(optimizer="adadelta", beta=1.0), "beta must be in [0, 1), got 1"),
    (dict(optimizer="quickprop", beta=0.9), "quickprop has no hyperparameter 'beta'"),
    (dict(optimizer="rprop", etas=0.5), "etas takes a pair"),
])
def test_bad_hyperparameters_one_line(spec, message):
    with pytest.raises(grid.GridError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        grid.block(**spec)


def test_old_tables_read_with_the_new_columns(tmp_path):
    df = bpbench.sweep(["sgd", "rmsprop"], lr=0.1, max_steps=50)
    old = df.drop(columns=[h for h in HYPERPARAMETERS if h not in ("lr", "beta", "beta2",
                                                                    "eps")])
    old.to_parquet(tmp_path / "old.parquet")
    back = results.load(tmp_path / "old.parquet")
    assert list(back.columns) == list(results.COLUMNS)
    assert back.weight_decay.tolist() == [0.0, 0.0] and back.mu.isna().all()


@pytest.mark.parametrize("optimizer, order", [("rmsprop", "simultaneous"), ("adam", "inplace")])
def test_kernels_without_the_decay_term_give_the_same_numbers(optimizer, order):
    # weight_decay all 0 compiles the rule without its decay term on the cpu backend
    # (kernels.specialise); a block with some decay uses the whole rule, whose zero-decay rows
    # must agree bit for bit. The kernels test_backends.test_weight_decay_kernels_identical
    # compiles (the serial backend compiles whole rules only).
    kw = dict(lr=[0.05, 0.5], order=order, max_steps=2000)
    mixed = bpbench.sweep(optimizer, weight_decay=[0.0, 0.1], **kw)
    plain = bpbench.sweep(optimizer, **kw)
    zero = mixed[mixed.weight_decay == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(zero, plain, check_exact=True)
    assert not mixed[mixed.weight_decay > 0].final_loss.isin(plain.final_loss).all()
