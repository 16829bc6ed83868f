"""Random and quasi-random search: sample = {n, method, seed} over the ranges without num."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench import grid
from bpbench.cli import main

KW = dict(sample={"n": 1024, "method": "sobol", "seed": 7},
          lr={"start": 1e-3, "stop": 1.0, "scale": "log"}, beta={"start": 0.5, "stop": 0.999},
          eps=1e-2)


def test_sobol_sample_done_when():
    a = bpbench.sweep("rmsprop", **KW)
    assert len(a) == 1024 and (a.eps == 0.01).all()
    # log-uniform in lr: a Sobol sample puts 1024 / 3 points in each decade, within a few
    decades = np.histogram(np.log10(a.lr), bins=[-3, -2, -1, 0])[0]
    assert np.all(np.abs(decades - 1024 / 3) < 4), decades
    assert 0.5 <= a.beta.min() and a.beta.max() <= 0.999
    assert abs(np.mean(a.beta) - 0.7495) < 0.01  # uniform, not log, in beta
    pd.testing.assert_frame_equal(a, bpbench.sweep("rmsprop", **KW), check_exact=True)
    other = bpbench.sweep("rmsprop", **dict(KW, sample={"n": 1024, "seed": 8}))
    assert not np.array_equal(a.lr, other.lr)


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_other_methods_cross_with_list_axes(method):
    b = grid.block("adam", sample={"n": 10, "method": method, "seed": 1},
                   lr="log:1e-3:1", beta2=[0.99, 0.999])
    assert b.size == 20
    v = b.values()
    # each sampled point is crossed with both beta2 values
    assert np.array_equal(v["lr"][::2], v["lr"][1::2]) and set(v["beta2"]) == {0.99, 0.999}
    if method == "lhs":  # one point per tenth of the (log) range
        strata = np.floor(10 * np.log(v["lr"][::2] / 1e-3) / np.log(1e3)).astype(int)
        assert sorted(strata) == list(range(10))


@pytest.mark.parametrize("spec, message", [
    (dict(lr={"start": 1e-3, "stop": 1.0}), "a range without num is sampled"),
    (dict(sample={"n": 8}, lr=0.1), "no range to sample"),
    (dict(sample={"n": 8, "method": "halton"}, lr="log:1e-3:1"), "method must be one of"),
    (dict(sample={"n": 0}, lr="log:1e-3:1"), "num must be a positive integer"),
    (dict(sample={"n": 8, "seed": -1}, lr="log:1e-3:1"), "seed must be an integer >= 0"),
    (dict(sample={"n": 8, "size": 3}, lr="log:1e-3:1"), "sample takes n, method and seed"),
    (dict(sample={"n": 8}, lr="log:0:1"), "log range needs positive"),
])
def test_bad_samples_one_line(spec, message):
    with pytest.raises(grid.GridError, match=message):
        grid.block("rmsprop", **spec)


def test_sampled_sweeps_from_the_command_line_and_files(tmp_path):
    out = tmp_path / "s.parquet"
    r = CliRunner().invoke(main, ["run", "--optimizer", "rmsprop", "--lr", "log:1e-3:1",
                                  "--beta", "lin:0.5:0.999", "--sample", "64:lhs:3",
                                  "--max-steps", "2000", "-o", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert len(df) == 64 and df.lr.nunique() == 64
    api = bpbench.sweep("rmsprop", sample={"n": 64, "method": "lhs", "seed": 3},
                        lr="log:1e-3:1", beta="lin:0.5:0.999", max_steps=2000)
    assert np.array_equal(df.lr, api.lr) and np.array_equal(df.steps, api.steps)
    from bpbench import plots
    pytest.importorskip("matplotlib")
    assert plots.choose(df) == "scatter"
    # a dataset directory remembers the sample, so --resume refuses a different one
    ds = tmp_path / "ds"
    args = ["run", "--optimizer", "sgd", "--lr", "log:1e-2:10", "--sample", "40", "--max-steps",
            "500", "--chunk-size", "16", "-o", str(ds)]
    assert CliRunner().invoke(main, args).exit_code == 0
    r = CliRunner().invoke(main, args[:6] + ["41"] + args[7:] + ["--resume"])
    assert r.exit_code != 0
