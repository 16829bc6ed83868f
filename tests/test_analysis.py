"""Summaries against hand-computed tables; plots as figure objects; missing matplotlib."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpbench import analysis, results
from bpbench.cli import main


def table():
    # rmsprop over lr x beta; hand-made steps: NA = did not converge.
    rows = [(0.01, 0.9, 40, "converged"), (0.01, 0.99, 30, "converged"),
            (0.1, 0.9, 10, "converged"), (0.1, 0.99, pd.NA, "max_steps"),
            (1.0, 0.9, pd.NA, "diverged"), (1.0, 0.99, 5, "converged")]
    df = pd.DataFrame(rows, columns=["lr", "beta", "steps", "status"])
    df["optimizer"] = pd.Categorical(["rmsprop"] * 6, dtype=results.OPTIMIZER_T)
    df["order"] = pd.Categorical(["inplace"] * 6, dtype=results.ORDER_T)
    df["status"] = df.status.astype(results.STATUS_T)
    df["steps"] = df.steps.astype("Int64")
    df["beta2"], df["eps"] = np.nan, 0.01
    df["final_loss"] = df["final_output"] = 0.0
    df["problem"] = pd.Categorical(["post"] * 6)
    df["seed"] = pd.array([pd.NA] * 6, dtype="Int64")
    return df.reindex(columns=list(results.COLUMNS))  # hyperparameters not set: NaN


def test_summary_by_hand():
    s = analysis.summary(table()).iloc[0]
    assert s.configurations == 6
    assert (s.converged, s.max_steps, s.diverged) == (4 / 6, 1 / 6, 1 / 6)
    assert s.min_steps == 5
    # with failures at inf: 5, 10, 30, 40, inf, inf; the true median is (30 + 40) / 2, the
    # upper quartile interpolates towards inf, so the IQR is infinite
    assert (s.median_steps, s.iqr_steps) == (35, np.inf)
    assert s.best == "lr=1 beta=0.99 eps=0.01"
    # lr=1 beta=0.99 sits beside lr=0.1 beta=0.99 (max_steps); lr=0.1 beta=0.9 beside lr=1
    # beta=0.9 (diverged); lr=0.01 beta=0.99 beside lr=0.1 beta=0.99. Only lr=0.01 beta=0.9
    # (40 steps) has converging neighbours alone.
    assert s.robust_best == "lr=0.01 beta=0.9 eps=0.01"
    by = analysis.summary(table(), by=["beta"])
    assert list(by.beta) == [0.9, 0.99] and list(by.min_steps) == [10, 5]


def test_median_counts_failures_as_infinite():
    df = table()
    df.loc[:, "status"] = "max_steps"
    df.loc[0, "status"] = "converged"
    df["steps"] = pd.array([40] + [pd.NA] * 5, dtype="Int64")
    assert analysis.summary(df).median_steps[0] == np.inf


def test_median_is_the_same_everywhere():
    # sgd steps 1123, 241, 51, 10: the median is (51 + 241) / 2 = 146 in show, pivot and
    # restarts alike (the lower median would say 51)
    df = table().iloc[:4].copy()
    df["steps"] = pd.array([1123, 241, 51, 10], dtype="Int64")
    df["status"] = pd.Categorical(["converged"] * 4, dtype=results.STATUS_T)
    df["beta"], df["lr"] = 0.9, 0.1
    assert analysis.summary(df).median_steps[0] == 146
    assert analysis.pivot(df, "lr", "beta").iloc[0, 0] == 146
    df["seed"] = pd.array([0, 1, 2, 3], dtype="Int64")
    assert analysis.restarts(df)["median"][0] == 146


def test_shares_add_up_to_100():
    assert list(analysis.percentages([1 / 3, 1 / 3, 1 / 3])) == [33.4, 33.3, 33.3]
    assert analysis.percentages([2 / 3, 1 / 6, 1 / 6]).sum() == pytest.approx(100.0)
    assert list(analysis.percentages([1.0, 0.0, 0.0])) == [100.0, 0.0, 0.0]


def test_lr_window_by_hand():
    w = analysis.lr_window(table()).set_index("beta")
    assert (w.loc[0.9, "lr_min"], w.loc[0.9, "lr_max"]) == (0.01, 0.1)
    assert w.loc[0.9, "decades"] == pytest.approx(1.0)
    assert w.loc[0.9, "at_edge"] == "low"
    # beta 0.99: lr 0.01 and 1 converge, 0.1 does not: two windows, one at each edge
    two = w.loc[[0.99]]
    assert list(two.window) == [1, 2] and list(two.lr_min) == [0.01, 1.0]
    assert list(two.at_edge) == ["low", "high"] and list(two.points) == [1, 1]


def test_lr_window_without_convergence_and_across_the_grid():
    df = table()
    df["status"] = pd.Categorical(["converged"] * 6, dtype=results.STATUS_T)
    df["steps"] = pd.array([9] * 6, dtype="Int64")
    w = analysis.lr_window(df)
    assert list(w.at_edge) == ["both", "both"] and list(w.decades) == [2.0, 2.0]
    df["status"] = pd.Categorical(["max_steps"] * 6, dtype=results.STATUS_T)
    df["steps"] = pd.array([pd.NA] * 6, dtype="Int64")
    w = analysis.lr_window(df)
    assert list(w.window) == [0, 0] and w.lr_min.isna().all()


def test_pivot_and_bad_axis():
    p = analysis.pivot(table(), "lr", "beta")
    assert p.loc[0.99, 0.1] == np.inf and p.loc[0.9, 0.1] == 10
    with pytest.raises(ValueError, match="not a hyperparameter"):
        analysis.pivot(table(), "lr", "beta2")


def test_heatmap_and_curves_figures():
    pytest.importorskip("matplotlib")
    import bpbench
    from bpbench import plots
    df = bpbench.sweep("rmsprop", lr="log:1e-2:1:6", beta=[0.9, 0.99], eps=[1e-8, 1e-2],
                       max_steps=500)
    fig = plots.heatmap(df, "lr", "beta", facet="eps")
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "lr"]
    assert len(panels) == 2 and all(ax.get_ylabel() == "beta" for ax in panels)
    assert panels[0].get_xscale() == "log" and panels[0].get_yscale() == "linear"
    assert panels[0].get_title() == "eps = 1e-08"
    t = [(o, bpbench.trace("sgd", order=o, lr=1.0)) for o in ("inplace", "simultaneous")]
    fig = plots.loss_curves(t)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3  # two curves and tol
    assert len(ax.lines[0].get_xdata()) == 111 and ax.get_xscale() == "linear"
    assert plots.loss_curves(t, logx=True).axes[0].get_xscale() == "log"


def test_plot_commands_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "t.parquet"
    import os
    claim = os.path.join(os.path.dirname(__file__), "..", "sweeps", "claim.toml")
    r = CliRunner().invoke(main, ["run", claim, "-o", str(out), "--order",
                                  "simultaneous", "--lr", "log:0.01:1:4", "--beta", "0.9,0.99"])
    assert r.exit_code == 0, r.output
    png = tmp_path / "h.png"
    r = CliRunner().invoke(main, ["plot", str(out), "-o", str(png), "--optimizer", "rmsprop"])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = CliRunner().invoke(main, ["plot", str(out), "-o", str(png), "--kind", "heatmap"])
    assert r.exit_code == 1 and "one optimizer and order" in r.stderr
    r = CliRunner().invoke(main, ["plot", str(out), "-o", str(png), "--optimizer", "adam"])
    assert r.exit_code == 1 and "no rows for optimizer adam" in r.stderr
    r = CliRunner().invoke(main, ["plot", str(out), "-o", str(tmp_path / "no" / "h.png"),
                                  "--optimizer", "rmsprop"])
    assert r.exit_code == 1 and "does not exist" in r.stderr
    r = CliRunner().invoke(main, ["show", str(out), "--pivot", "lr", "gamma"])
    assert r.exit_code == 2 and r.stdout == "" and "gamma" in r.stderr
    curves = tmp_path / "c.png"
    r = CliRunner().invoke(main, ["trace", "--optimizer", "sgd", "--lr", "1", "--plot",
                                  str(curves)])
    assert r.exit_code == 0 and curves.read_bytes()[:4] == b"\x89PNG"


def test_without_matplotlib_one_clear_line(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    r = CliRunner().invoke(main, ["trace", "--optimizer", "sgd", "--lr", "1", "--plot",
                                  str(tmp_path / "c.png")])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == ("bpbench: error: plotting needs matplotlib: "
                                                 "pip install 'bpbench[plot]'")


def restart_table():
    # Two settings of 4 restarts each; NA = did not converge.
    steps = [10, 20, 30, pd.NA, 5, pd.NA, pd.NA, pd.NA]
    df = pd.DataFrame({"lr": [0.1] * 4 + [1.0] * 4, "steps": steps,
                       "status": ["converged"] * 3 + ["max_steps", "converged", "max_steps",
                                                      "diverged", "max_steps"]})
    df["optimizer"] = pd.Categorical(["sgd"] * 8, dtype=results.OPTIMIZER_T)
    df["order"] = pd.Categorical(["simultaneous"] * 8, dtype=results.ORDER_T)
    df["status"] = df.status.astype(results.STATUS_T)
    df["steps"] = df.steps.astype("Int64")
    df["beta"] = df["beta2"] = df["eps"] = np.nan
    df["final_loss"] = df["final_output"] = 0.0
    df["problem"] = pd.Categorical(["xor"] * 8)
    df["seed"] = pd.array([0, 1, 2, 3] * 2, dtype="Int64")
    return df.reindex(columns=list(results.COLUMNS))  # hyperparameters not set: NaN


def test_restart_summary_by_hand():
    df = restart_table()
    assert analysis.has_restarts(df) and not analysis.has_restarts(table())
    r = analysis.restarts(df).set_index("lr")
    assert list(r.restarts) == [4, 4]
    assert (r.loc[0.1, "success"], r.loc[1.0, "success"]) == (0.75, 0.25)
    assert (r.loc[0.1, "diverged"], r.loc[1.0, "diverged"]) == (0.0, 0.25)
    # 10, 20, 30, inf: linear quantiles 25% -> 17.5, median -> 25, 75% -> inf (not NaN)
    assert (r.loc[0.1, "q25"], r.loc[0.1, "median"]) == (17.5, 25.0)
    assert r.loc[0.1, "q75"] == np.inf and r.loc[1.0, "median"] == np.inf
    e = analysis.ecdf(df)
    at = e[e.lr == 0.1].set_index("step").fraction
    assert at[10] == 0.25 and at[20] == 0.5 and at[at.index.max()] == 0.75


def test_ecdf_and_success_heatmap_figures(tmp_path):
    pytest.importorskip("matplotlib")
    from bpbench import plots
    df = restart_table()
    fig = plots.ecdf_curves(df)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim() == (0, 1.02)
    # one curve per optimizer, at its best setting (lr 0.1: 3 of 4 converge, lr 1: 1 of 4)
    assert len(ax.get_lines()) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd simultaneous: lr=0.1"]
    assert max(ax.get_lines()[0].get_ydata()) == 0.75
    assert ax.get_ylabel() == "share of 4 restarts converged by step t"
    pooled = plots.ecdf_curves(df, reduce="median").axes[0]  # both settings' 8 restarts
    assert len(pooled.get_lines()) == 1 and max(pooled.get_lines()[0].get_ydata()) == 0.5
    two = pd.concat([df, df.assign(eps=0.1)], ignore_index=True)
    fig = plots.heatmap(two.assign(eps=two.eps.fillna(0.01)), "lr", "eps", value="success")
    bar = fig.axes[-1]
    assert bar.get_ylabel() == "share of runs converged" and bar.get_ylim() == (0.0, 1.0)
    out = tmp_path / "h.png"
    results.save(df, tmp_path / "r.parquet")
    r = CliRunner().invoke(main, ["plot", str(tmp_path / "r.parquet"), "-o", str(out),
                                  "--kind", "ecdf"])
    assert r.exit_code == 0 and out.stat().st_size > 0


def test_heatmap_cells_stay_inside_log_axes():
    # lr = 1e-3 .. 1: with linear midpoints the 1e-3 column's left edge would be negative and
    # fall off a log axis; geometric ones keep every cell on the plot.
    pytest.importorskip("matplotlib")
    from bpbench import plots
    e = plots.edges([1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(e, [10 ** -3.5, 10 ** -2.5, 10 ** -1.5, 10 ** -0.5, 10 ** 0.5])
    assert list(plots.edges([0.9])) == [0.81, 0.99]
    df = table()
    df["lr"] = df.lr.map({0.01: 1e-3, 0.1: 1e-2, 1.0: 1e-1})
    fig = plots.heatmap(df, "lr", "beta")
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    assert ax.get_xscale() == "log" and x0 <= 10 ** -3.5 * 1.001 and x1 >= 10 ** -0.5 * 0.999
