"""Pictures of result tables: heatmaps, restart ECDFs and loss curves (matplotlib, headless)."""
import numpy as np

from .analysis import ecdf, label as setting_label, pivot


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install 'bpbench[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _log_spaced(values):
    v = np.sort(np.unique(values))
    return len(v) > 2 and v[0] > 0 and np.allclose(np.diff(np.log(v)), np.log(v[1] / v[0]),
                                                    rtol=1e-6)


MAX_PANELS = 24


def edges(values):
    """Cell edges around sorted axis values: geometric midpoints on a log-spaced axis (linear
    ones would push its smallest cell off a log axis), arithmetic ones otherwise, and a cell of
    its own width around a single value."""
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        half = 0.1 * abs(v[0]) or 0.5
        return np.array([v[0] - half, v[0] + half])
    if _log_spaced(v):
        mid = np.sqrt(v[:-1] * v[1:])
        return np.r_[v[0] ** 2 / mid[0], mid, v[-1] ** 2 / mid[-1]]
    mid = (v[:-1] + v[1:]) / 2
    return np.r_[2 * v[0] - mid[0], mid, 2 * v[-1] - mid[-1]]


def heatmap(df, x, y, facet=None, value="steps"):
    """Median steps over hyperparameters x and y (log colour scale), one panel per value of
    facet; cells that never converged are hatched grey. value="success" colours each cell by
    the share of its runs (restarts) that converged instead. Returns the Figure."""
    from matplotlib.colors import LogNorm, Normalize
    plt = _pyplot()
    if facet is not None and (facet not in df or df[facet].isna().all()):
        raise ValueError(f"these rows have no {facet} to facet by")
    panels = [(None, df)] if facet is None else list(df.groupby(facet, sort=True))
    if len(panels) > MAX_PANELS:
        raise ValueError(f"--facet {facet} would draw {len(panels)} panels; at most "
                         f"{MAX_PANELS} (pick a hyperparameter with fewer values)")
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False,
                             constrained_layout=True)
    finite = df.steps.dropna()
    if value == "success":
        norm = Normalize(0.0, 1.0)
    else:
        norm = (LogNorm(vmin=max(1, finite.min()), vmax=max(2, finite.max())) if len(finite)
                else None)
    mesh = None
    for ax, (panel, part) in zip(axes.flat, panels):
        p = pivot(part, x, y, value)
        grid = p.to_numpy()
        xs, ys = p.columns.to_numpy(), p.index.to_numpy()
        ax.set_facecolor("0.85")  # inf (never converged) is masked and shows this
        ax.patch.set_hatch("//")
        mesh = ax.pcolormesh(edges(xs), edges(ys),
                             np.ma.masked_invalid(np.where(np.isinf(grid), np.nan, grid)),
                             norm=norm, cmap="viridis", shading="flat")
        if _log_spaced(xs):
            ax.set_xscale("log")
        if _log_spaced(ys):
            ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if panel is not None:
            ax.set_title(f"{facet} = {panel:.3g}")
    for ax in list(axes.flat)[len(panels):]:
        ax.remove()
    if mesh is not None and norm is not None:
        fig.colorbar(mesh, ax=axes.ravel().tolist(),
                     label="share of runs converged" if value == "success"
                     else "median steps to convergence (grey: never)")
    return fig


def ecdf_curves(df):
    """For each setting, the fraction of its restarts converged by step t (log step axis):
    a curve that rises early and high is fast and reliable. Returns the Figure."""
    plt = _pyplot()
    e = ecdf(df)
    keys = [k for k in e.columns if k not in ("step", "fraction", "problem")]
    varying = [k for k in keys if e[k].nunique(dropna=False) > 1] or keys[:1]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    groups = list(e.groupby(keys, observed=True, sort=False, dropna=False))
    for _, g in groups:
        ax.step(g.step, g.fraction, where="post", label=setting_label(g.iloc[0], varying))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step (forward pass)")
    ax.set_ylabel("fraction of restarts converged")
    problems = ", ".join(map(str, df.problem.unique())) if "problem" in df else ""
    n = int(df.groupby(keys, observed=True, dropna=False).size().max())
    ax.set_title(f"{problems}: up to {n} restarts per setting")
    if len(groups) <= 12:
        ax.legend(fontsize="small")
    return fig


def loss_curves(traces, logx=False):
    """Loss (log scale) against step for several traces: a list of (label, trace DataFrame).
    logx puts the steps on a log axis too, for runs of very different lengths."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for label, t in traces:
        ax.semilogy(t.step, t.loss.clip(lower=1e-300), label=label)
    tol = traces[0][1].attrs.get("tol") if traces else None
    if tol:
        ax.axhline(tol, color="0.4", ls=":", lw=1, label=f"tol = {tol:g}")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("step (forward pass)")
    ax.set_ylabel("loss E = (y5 - ya)^2 / 2")
    ax.legend()
    return fig


def save(fig, path):
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
