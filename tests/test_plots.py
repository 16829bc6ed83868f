"""Image tests: each figure type's size, axes, scales and contents, read back from the
matplotlib objects (the drawings themselves were looked at by a person)."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench.cli import main

pytest.importorskip("matplotlib")
from bpbench import plots  # noqa: E402


@pytest.fixture(scope="module")
def optimizers():
    # sweeps/optimizers.toml in small: each optimizer over its own lr range
    frames = [bpbench.sweep("sgd", lr="log:1e-2:100:12", max_steps=2000),
              bpbench.sweep("momentum", lr="log:1e-3:10:12", beta=[0.5, 0.9, 0.99],
                            max_steps=2000),
              bpbench.sweep("rmsprop", lr="log:1e-3:1:12", beta=[0.9, 0.99, 0.999],
                            eps=[1e-8, 1e-2], max_steps=2000)]
    df = pd.concat(frames, ignore_index=True)
    df.attrs = frames[0].attrs
    return df


def inside(fig):
    """Every heatmap cell's corners lie within its axes' limits."""
    for ax in fig.axes:
        for mesh in (c for c in ax.collections if hasattr(c, "get_coordinates")):
            xy = mesh.get_coordinates()
            (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
            tol = 1e-9 * max(abs(x1), 1)
            if not (xy[..., 0].min() >= x0 - tol and xy[..., 0].max() <= x1 + tol
                    and xy[..., 1].min() >= y0 - 1e-9 and xy[..., 1].max() <= y1 + 1e-9):
                return False
    return True


def caption(fig):
    return " ".join(fig._supxlabel.get_text().split())


def pixels(fig):
    w, h = fig.get_size_inches() * fig.dpi
    return w, h


def test_auto_picks_the_figure(optimizers):
    assert plots.choose(optimizers) == "line"
    rms = optimizers[optimizers.optimizer == "rmsprop"]
    assert plots.choose(rms) == "heatmap"
    assert plots.choose(rms.sample(frac=0.5, random_state=0)) == "scatter"


def test_heatmap_axes_log_and_categorical_every_cell_inside(optimizers):
    rms = optimizers[optimizers.optimizer == "rmsprop"]
    fig = plots.heatmap(rms, "lr", "beta", facet="eps", mark={"lr": 0.1, "beta": 0.999})
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "lr"]
    assert len(panels) == 2 and inside(fig)
    ax = panels[0]
    # lr is geometric: log; beta 0.9, 0.99, 0.999 is uneven: three equal labelled cells
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] > 0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.9", "0.99", "0.999"]
    assert ax.get_ylim() == (-0.5, 2.5)
    assert "rmsprop, simultaneous order; loss < 1e-07, at most 2,000 steps" in \
        fig._suptitle.get_text()
    assert "median over" not in caption(fig)  # only lr, beta, eps: none reduced
    star = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert star and tuple(star[0].get_xydata()[0]) == (0.1, 2)  # beta 0.999 is category 2
    w, h = pixels(fig)
    assert w < 1500 and h < 900
    # eps over two values (1e-8 and 1e-2) as categories, not a linear axis reading "0.000"
    fig = plots.heatmap(rms, "lr", "eps")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["1e-08", "0.01"]
    assert "median over beta (3 values)" in caption(fig) and inside(fig)


def test_heatmap_colour_options(optimizers):
    rms = optimizers[optimizers.optimizer == "rmsprop"]
    fig = plots.heatmap(rms, "lr", "beta", cmap="magma", vmin=2, vmax=500)
    mesh = fig.axes[0].collections[0]
    assert mesh.get_cmap().name == "magma" and (mesh.norm.vmin, mesh.norm.vmax) == (2, 500)
    with pytest.raises(ValueError, match="unknown colour map"):
        plots.plot(rms, "heatmap", cmap="no-such-map")


def test_lines_one_per_optimizer_with_windows(optimizers):
    fig = plots.plot(optimizers, "line", mark={"lr": 0.1})
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 12]
    assert [line.get_label() for line in curves] == ["sgd", "momentum", "rmsprop"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # steps span > 10x
    # the window bars sit below every curve, inside the axes
    bars = [line for line in ax.get_lines() if line.get_linewidth() == 3]
    assert len(bars) >= 3
    low = min(np.nanmin(line.get_ydata()) for line in curves)
    assert ax.get_ylim()[0] < low
    assert any(line.get_marker() == ">" for line in ax.get_lines())  # sgd: cut off at lr 100
    assert "the best of beta (4 values), eps (2 values)" in caption(fig)
    assert any(line.get_linestyle() == ":" for line in ax.get_lines())  # the mark
    # momentum at its best beta, lr by lr: the line is the minimum over beta of the medians
    mom = optimizers[optimizers.optimizer == "momentum"]
    best = mom.groupby("lr").steps.min().astype(float).to_numpy()
    np.testing.assert_array_equal(curves[1].get_ydata(), best)
    fig = plots.line(optimizers, hue="order", logy=False)
    assert fig.axes[0].get_yscale() == "linear"


def test_lines_by_a_hyperparameter_and_facets(optimizers):
    rms = optimizers[optimizers.optimizer == "rmsprop"]
    fig = plots.line(rms, "lr", hue="beta", facet="eps", reduce="median")
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "lr"]
    assert [ax.get_title() for ax in panels] == ["eps = 1e-08", "eps = 0.01"]
    labels = [t.get_text() for t in panels[0].get_legend().get_texts()]
    assert labels == ["beta=0.9", "beta=0.99", "beta=0.999"]
    with pytest.raises(ValueError, match="at most 24"):
        plots.line(optimizers, facet="lr")


def test_scatter_for_sampled_points(optimizers):
    rms = optimizers[optimizers.optimizer == "rmsprop"].sample(frac=0.5, random_state=1)
    fig = plots.plot(rms)
    ax = fig.axes[0]
    n = sum(len(c.get_offsets()) for c in ax.collections)
    assert n == len(rms.drop_duplicates(["lr", "beta"])) and ax.get_xscale() == "log"
    assert "median over eps (2 values)" in caption(fig)


def test_loss_curves_log_steps_and_a_style_per_order():
    t = [(f"{o} {opt}", bpbench.trace(opt, order=o, **kw))
         for opt, kw in (("sgd", {"lr": 1.0}), ("rmsprop", {"lr": 0.1, "beta": 0.999,
                                                             "eps": 0.01}))
         for o in ("inplace", "simultaneous")]
    t.append(("slow", bpbench.trace("sgd", lr=0.01, max_steps=20000)))
    ax = plots.loss_curves(t).axes[0]
    assert ax.get_xscale() == "log"  # 11 steps beside thousands
    lines = ax.get_lines()
    assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--"
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()


def test_plot_cli_lines_and_errors(optimizers, tmp_path):
    path = tmp_path / "o.parquet"
    optimizers.to_parquet(path)
    png = tmp_path / "l.png"
    r = CliRunner().invoke(main, ["plot", str(path), "-o", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = CliRunner().invoke(main, ["plot", str(path), "-o", str(png), "--mark", "gamma=1"])
    assert r.exit_code == 2 and "NAME=VALUE" in r.stderr
    r = CliRunner().invoke(main, ["plot", str(path), "-o", str(png), "--facet", "lr"])
    assert r.exit_code == 1 and "already an axis" in r.stderr  # lr is the lines' x
    from bpbench import analysis
    from bpbench.cli import tables
    assert tables.KINDS == plots.KINDS and tables.REDUCTIONS == analysis.REDUCTIONS


def test_titles_state_the_criterion_or_nothing(optimizers):
    xor = bpbench.sweep("sgd", problem="xor", lr=[1.0, 2.0], seed={"start": 0, "num": 20},
                        max_steps=500)
    title = plots.ecdf_curves(xor).axes[0].get_title().replace("\n", " ")  # wrapped
    assert "every output within 0.4 of its target, at most 500 steps" in title
    lost = xor.copy()
    lost.attrs = {}  # as after some pandas operations: no criterion rather than a wrong one
    assert "loss <" not in plots.ecdf_curves(lost).axes[0].get_title()
