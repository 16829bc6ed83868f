"""Sweep specifications: axes, defaults, TOML files, and their errors."""
import numpy as np
import pytest

from bpbench import grid
from bpbench.grid import GridError


def test_axis_forms():
    assert list(grid.axis("lr", 0.1)) == [0.1]
    assert list(grid.axis("lr", [1, 2])) == [1.0, 2.0]
    np.testing.assert_allclose(grid.axis("lr", {"start": 1e-3, "stop": 1, "num": 4,
                                                "scale": "log"}), [1e-3, 1e-2, 1e-1, 1])
    np.testing.assert_allclose(grid.axis("beta", "lin:0:0.5:3"), [0, 0.25, 0.5])
    np.testing.assert_allclose(grid.axis("lr", "log:0.01:1:3"), [0.01, 0.1, 1])
    assert list(grid.axis("eps", "0,0.5")) == [0.0, 0.5]


def test_block_cartesian_product_lr_slowest_and_defaults():
    b = grid.block("adam", lr=[0.1, 0.2], beta=[0.8, 0.9, 0.95])
    H = b.table()
    # one row per slot (adam's lr, beta, beta2, eps, weight_decay, unused), then the schedule's
    # kind, step size, gamma and the shuffle key: a constant lr, and no seed
    assert H.shape == (10, 6) and list(H[6:, 0]) == [0, 1, 0, 0]
    assert list(H[0]) == [0.1] * 3 + [0.2] * 3
    assert list(H[1]) == [0.8, 0.9, 0.95] * 2
    assert (H[2] == 0.999).all() and (H[3] == 1e-8).all()  # torch defaults
    assert (H[4] == 0).all() and (H[5] == 0).all()  # no weight decay; slot 5 unused


@pytest.mark.parametrize("kw, message", [
    (dict(optimizer="lbfgs"), "unknown optimizer"),
    (dict(optimizer="sgd", beta=0.9), "sgd has no hyperparameter 'beta'"),
    (dict(optimizer="sgd", gamma=0.9), "sgd has no key 'gamma'"),
    (dict(optimizer="sgd", lr=0), "lr must be > 0"),
    (dict(optimizer="sgd", lr=-1), "lr must be > 0"),
    (dict(optimizer="rmsprop", beta=1.0), "beta must be in [0, 1)"),
    (dict(optimizer="adam", beta2=-0.1), "beta2 must be in [0, 1)"),
    (dict(optimizer="rmsprop", eps=-1e-8), "eps must be >= 0"),
    (dict(optimizer="sgd", lr=float("nan")), "finite"),
    (dict(optimizer="sgd", lr=[]), "empty"),
    (dict(optimizer="sgd", lr="log:0:1:3"), "positive"),
    (dict(optimizer="sgd", lr="lin:1"), "lin:START:STOP:NUM"),
    (dict(optimizer="sgd", lr="lin:1:2"), "a range without num is sampled"),
    (dict(optimizer="sgd", lr="abc"), "not a number"),
    (dict(optimizer="sgd", lr={"start": 1, "stop": 2, "num": 0}), "num must be"),
    (dict(optimizer="sgd", order="backwards"), "unknown order"),
])
def test_block_errors(kw, message):
    with pytest.raises(GridError, match=None) as e:
        grid.block(**kw)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kw, message", [
    (dict(tol=0), "tol must be"), (dict(tol=float("nan")), "tol must be"),
    (dict(max_steps=0), "max_steps must be"), (dict(max_steps=2.5), "max_steps must be"),
    (dict(dtype="float16"), "dtype must be"),
])
def test_settings_errors(kw, message):
    with pytest.raises(GridError) as e:
        grid.settings(**kw)
    assert message in str(e.value)


def test_shipped_sweep_files_load():
    import pathlib
    files = sorted(pathlib.Path(__file__).parent.parent.glob("sweeps/*.toml"))
    assert any(f.name == "claim.toml" for f in files)
    for f in files:
        blocks, conf = grid.load(f)
        assert blocks and all(b.size >= 1 for b in blocks)
    blocks, conf = grid.load(files[0].parent / "claim.toml")
    assert [(b.optimizer, b.order, b.size) for b in blocks] == [("sgd", "inplace", 1),
                                                                ("rmsprop", "inplace", 1)]


def test_toml_errors_and_overrides(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('tol = 1e-6\n[[run]]\noptimizer = "rmsprop"\nlr = {start = 0.01, stop = 1, '
                 'num = 5, scale = "log"}\n[[run]]\noptimizer = "sgd"\nlr = 1\n')
    blocks, conf = grid.load(f, {"beta": "0.5,0.9", "tol": None, "max_steps": 50})
    assert conf == {"tol": 1e-6, "max_steps": 50, "dtype": "float64", "margin": None,
                    "batch": "full", "shuffle": False}
    assert list(blocks[0].axes["beta"]) == [0.5, 0.9] and blocks[0].size == 10
    assert "beta" not in blocks[1].axes
    with pytest.raises(GridError, match="no run block"):
        grid.load(f, {"beta2": "0.9"})
    for text, message in [("[[run]\n", "not valid TOML"), ("x = 1\n", "unknown key 'x'"),
                          ("tol = 1\n", "at least one [[run]]"),
                          ('[[run]]\nlr = 1\n', "has no optimizer"),
                          ('[[run]]\noptimizer = "sgd"\nlr = -1\n', "run block 1: lr must")]:
        f.write_text(text)
        with pytest.raises(GridError) as e:
            grid.load(f)
        assert message in str(e.value), text
    with pytest.raises(GridError, match="no such sweep file"):
        grid.load(tmp_path / "missing.toml")


def test_torch_names_are_aliases():
    from bpbench import grid
    assert grid.block("rmsprop", alpha=0.9).axes["beta"].tolist() == [0.9]
    assert grid.block("nesterov", momentum=[0.5, 0.9]).axes["beta"].tolist() == [0.5, 0.9]
    b = grid.block("adam", betas=([0.5, 0.9], 0.99))
    assert b.axes["beta"].tolist() == [0.5, 0.9] and b.axes["beta2"].tolist() == [0.99]
    # several optimizers: each alias goes to the one that has it
    bs = grid.blocks(["momentum", "rmsprop"], momentum=0.5, alpha=0.99)
    assert [b.axes["beta"].tolist() for b in bs] == [[0.5], [0.99]]
    doc = {"run": [{"optimizer": "rmsprop", "alpha": 0.999, "lr": 0.1, "eps": 0.01}]}
    assert grid.parse(doc)[0][0].axes["beta"].tolist() == [0.999]
    for bad, message in (({"alpha": 0.9, "beta": 0.9}, "not both"),
                         ({"betas": 0.9}, "takes a pair")):
        with pytest.raises(grid.GridError, match=message):
            grid.block("adam" if "betas" in bad else "rmsprop", **bad)
    with pytest.raises(grid.GridError, match="sgd has no key 'alpha'"):
        grid.block("sgd", alpha=0.9)
