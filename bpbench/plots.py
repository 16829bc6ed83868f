"""Pictures of result tables (matplotlib, headless), in seaborn's vocabulary without seaborn:

- ``heatmap``: one optimizer's steps (or success) over two hyperparameters;
- ``line``: steps (or success) against one hyperparameter, a colour per ``hue`` (optimizer,
  order, or a hyperparameter), each line's convergent window shaded;
- ``scatter``: configurations that are not a grid (sampled sweeps) as points;
- ``ecdf``: the fraction of each setting's restarts converged by step t;
- ``loss_curves``: traces' loss against step.

Every figure says in its title what it shows and in its caption how the rest was reduced.
``plot(df, kind)`` picks among them.
"""
import textwrap

import numpy as np
import pandas as pd

from . import analysis
from .analysis import GROUP, ecdf, hyperparameters, label as setting_label, reduce_to
from .errors import BpbenchError

MAX_PANELS = 24
CATEGORICAL = 2  # axes with at most this many values, or unevenly spaced ones, are categories
KINDS = ("auto", "heatmap", "line", "scatter", "ecdf", "compare", "curves")


class _Figures:
    """The two pyplot calls used here, without pyplot: figures outside its global state and
    no backend chosen for the user's process (Figure.savefig picks a canvas by file type)."""

    @staticmethod
    def subplots(nrows=1, ncols=1, figsize=None, constrained_layout=False, **kw):
        from matplotlib.figure import Figure
        fig = Figure(figsize=figsize, layout="constrained" if constrained_layout else None)
        return fig, fig.subplots(nrows, ncols, **kw)

    @staticmethod
    def get_cmap(name):
        import matplotlib
        return matplotlib.colormaps[name]


def _figures():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BpbenchError("plotting needs matplotlib: pip install 'bpbench[plot]'") from None
    return _Figures


def _log_spaced(values):
    v = np.sort(np.unique(values))
    return len(v) > 2 and v[0] > 0 and np.allclose(np.diff(np.log(v)), np.log(v[1] / v[0]),
                                                    rtol=1e-6)


def _lin_spaced(values):
    v = np.sort(np.unique(values))
    return len(v) > 2 and np.allclose(np.diff(v), v[1] - v[0], rtol=1e-6)


def scale(values):
    """How an axis shows these values: "log" (a geometric grid), "linear" (an even grid), or
    "category" (a handful of values, or uneven ones such as beta 0.9, 0.99, 0.999): equal
    cells labelled with the values, so that none is a sliver and 1e-8 is not "0.000"."""
    v = np.unique(np.asarray(values, dtype=float))
    if len(v) > CATEGORICAL and _log_spaced(v):
        return "log"
    if len(v) > CATEGORICAL and _lin_spaced(v):
        return "linear"
    return "category"


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


def _cells(ax, which, values):
    """Cell edges for one heatmap axis, setting its scale and, for categories, its ticks."""
    kind = scale(values)
    if kind != "category":
        getattr(ax, f"set_{which}scale")(kind)
        return edges(values)
    getattr(ax, f"set_{which}ticks")(range(len(values)), [f"{v:.3g}" for v in values])
    return np.arange(len(values) + 1) - 0.5


def _position(values, v):
    """Where value v sits on an axis drawn by _cells (a category's index, else v)."""
    if scale(values) != "category":
        return v
    return int(np.argmin(np.abs(np.log(np.asarray(values, float)) - np.log(v)))
               if v > 0 and min(values) > 0 else np.argmin(np.abs(np.asarray(values) - v)))


def _panels(df, facet):
    if facet is None:
        return [(None, df)]
    if facet not in df or df[facet].isna().all():
        raise BpbenchError(f"these rows have no {facet} to facet by")
    # dropna=False: an optimizer without the facet's hyperparameter gets a panel of its own
    panels = list(df.groupby(facet, sort=True, observed=True, dropna=False))
    if len(panels) > MAX_PANELS:
        raise BpbenchError(f"--facet {facet} would draw {len(panels)} panels; at most "
                         f"{MAX_PANELS} (pick a hyperparameter with fewer values, or filter "
                         f"the table first)")
    return panels


def _grid(plt, n, width=4.2, height=3.6):
    width = max(width, 5.6) if n == 1 else width  # room for the title over a single panel
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.4),
                             squeeze=False, constrained_layout=True)
    for ax in list(axes.flat)[n:]:
        ax.remove()
    return fig, list(axes.flat)[:n]


def _panel_title(facet, panel):
    if panel is None:
        return None
    if isinstance(panel, float) and np.isnan(panel):
        return f"no {facet}"
    return f"{facet} = {panel:.3g}" if isinstance(panel, (float, np.floating)) else f"{panel}"


def _titles(fig, df, caption):
    fig.suptitle(_title(df, 90), fontsize="medium")
    fig.supxlabel(textwrap.fill(caption, 110), fontsize="small")


def _title(df, width, what=None):
    """The figure's title, wrapped to width characters rather than clipped at the edges."""
    return textwrap.fill(f"{what or _what(df)}{_criterion(df)}", width)


def _steps_label(df, reduce):
    """What a steps axis shows: a median over restarts, over the other settings, or one run."""
    restarts = analysis.has_restarts(df)
    if reduce == "median":
        return "median steps, over " + ("restarts and " if restarts else "") + "other settings"
    return ("median steps over restarts, best other setting" if restarts
            else "steps, best other setting")


def _what(df):
    """'post: rmsprop simultaneous' for the problems, optimizers and orders of df."""
    parts = []
    for c in GROUP:
        vals = [str(v) for v in df[c].unique()] if c in df else []
        parts.append(", ".join(vals) if len(vals) <= 3 else f"{len(vals)} {c}s")
    return f"{parts[0]}: {parts[1]}, {parts[2]} order"


def _criterion(df):
    """'; loss < 1e-07, at most 10,000 steps' from the table's settings, or nothing where they
    were lost (pandas drops attrs in a merge): better no criterion than a wrong one."""
    a = df.attrs
    if "tol" not in a and "margin" not in a:
        return ""
    crit = (f"every output within {a['margin']} of its target" if a.get("margin")
            else f"loss < {a['tol']:g}")
    return "; " + (f"{crit}, at most {a['max_steps']:,} steps" if "max_steps" in a else crit)


def _caption(df, shown, value, reduce, never="grey"):
    """What the colour or height is, and how the columns not drawn were reduced."""
    what = ("share of runs converged" if value == "success"
            else f"steps to convergence, failures as infinite (never converged: {never})")
    others = [f"{h} ({df[h].nunique()} values)" for h in hyperparameters(df)
              if h not in shown and df[h].nunique() > 1]
    seeds = df.seed.nunique() if "seed" in df else 0
    pool = "median" if value == "steps" else "mean"
    if reduce == "best" and others:
        what += "; the best of " + ", ".join(others)
        return what + (f", each by its {pool} over {seeds:,} seeds" if seeds > 1 else "")
    over = others + ([f"{seeds:,} seeds"] if seeds > 1 else [])
    return what + (f"; {pool} over " + ", ".join(over) if over else "")


def _mark(ax, mark, x, y=None, xs=None, ys=None):
    if not mark or x not in mark:
        return
    mx = _position(xs, mark[x]) if xs is not None else mark[x]
    text = "mark " + ", ".join(f"{k}={v:g}" for k, v in mark.items())
    if y is None:
        ax.axvline(mx, color="k", ls=":", lw=1.2, label=text)
        return
    if y in mark:
        my = _position(ys, mark[y]) if ys is not None else mark[y]
        ax.plot([mx], [my], marker="*", ms=14, mfc="white", mec="black", ls="none",
                label=text, zorder=5)


def heatmap(df, x, y, facet=None, value="steps", reduce="median", cmap="viridis", vmin=None,
            vmax=None, mark=None):
    """Steps (log colour scale) or success over hyperparameters x and y for one optimizer and
    order, one panel per value of facet; cells that never converged are hatched grey.

    Axes: log where the grid is geometric, linear where it is even, categories otherwise
    (see scale). mark: {hyperparameter: value} for a reference point (a star). Returns the
    Figure."""
    from matplotlib.colors import LogNorm, Normalize
    plt = _figures()
    if x == y:
        raise BpbenchError(f"x and y are both {x}; a heatmap needs two hyperparameters")
    panels = _panels(df, facet)
    fig, axes = _grid(plt, len(panels))
    grids = [(panel, analysis.pivot(part, x, y, value, reduce)) for panel, part in panels]
    finite = np.concatenate([p.to_numpy().ravel() for _, p in grids])
    finite = finite[np.isfinite(finite)]
    if value == "success":
        norm = Normalize(0.0 if vmin is None else vmin, 1.0 if vmax is None else vmax)
    elif len(finite):
        lo = vmin if vmin is not None else max(1, finite.min())
        norm = LogNorm(vmin=lo, vmax=vmax if vmax is not None else max(lo * 2, finite.max()))
    else:
        norm = None
    mesh = None
    for ax, (panel, p) in zip(axes, grids):
        grid = p.to_numpy()
        xs, ys = p.columns.to_numpy(), p.index.to_numpy()
        ax.set_facecolor("0.85")  # inf (never converged) is masked and shows this
        ax.patch.set_hatch("//")
        mesh = ax.pcolormesh(_cells(ax, "x", xs), _cells(ax, "y", ys),
                             np.ma.masked_invalid(np.where(np.isinf(grid), np.nan, grid)),
                             norm=norm, cmap=cmap, shading="flat")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(_panel_title(facet, panel))
        _mark(ax, mark, x, y, xs, ys)
    if mark:
        axes[0].legend(fontsize="small", loc="lower left")
    if mesh is not None and norm is not None:
        fig.colorbar(mesh, ax=axes, label="share of runs converged" if value == "success"
                     else _steps_label(df, reduce))
    _titles(fig, df, _caption(df, (x, y, facet), value, reduce))
    return fig


def _windows(ax, xs, vals, color, row, gap=0.03):
    """Each run of consecutive converging x as a bar in a strip along the bottom of the axes,
    one row per line; a bar that reaches the grid's end gets an arrow there, pointing out:
    the window may go on beyond what was swept."""
    ok = np.isfinite(vals) & (vals > 0)
    height = 0.03 + gap * row
    to_axes = ax.get_xaxis_transform()
    for a, b in analysis._runs(ok):
        ax.plot([xs[a], xs[b]], [height, height], color=color, lw=3, alpha=0.6,
                solid_capstyle="butt", transform=to_axes)
        for end, at, marker in ((a == 0, xs[a], "<"), (b == len(xs) - 1, xs[b], ">")):
            if end:
                ax.plot([at], [height], marker=marker, color=color, ms=6, ls="none",
                        transform=to_axes, clip_on=False)


def line(df, x="lr", hue="optimizer", facet=None, value="steps", reduce="best", logx=None,
         logy=None, mark=None):
    """Steps (or success) against hyperparameter x: one colour per value of hue (optimizer,
    order, problem or a hyperparameter), one line style per other problem / optimizer / order
    that varies, one panel per facet value. Failures leave gaps; each line's convergent
    windows are shaded, with an arrow where a window reaches the edge of the grid.

    logx / logy: None picks log for a geometric x grid, and log steps when they span 10x or
    more. Returns the Figure."""
    plt = _figures()
    if x not in hyperparameters(df):
        raise BpbenchError(f"{x!r} is not a hyperparameter of this table; choose from "
                         f"{', '.join(hyperparameters(df))}")
    if hue not in df or df[hue].isna().all():
        raise BpbenchError(f"these rows have no {hue} to colour by")
    for other, what in ((x, "the horizontal axis"), (facet, "the panels")):
        if hue == other:
            raise BpbenchError(f"--hue {hue} is already {what}; colour by another column")
    styles = [c for c in GROUP if c != hue and df[c].nunique() > 1]
    keys = list(dict.fromkeys([hue] + styles))
    panels = _panels(df, facet)
    fig, axes = _grid(plt, len(panels), 7.5 if len(panels) == 1 else 5.2, 4.4)
    values = (list(df[hue].cat.remove_unused_categories().cat.categories)
              if hasattr(df[hue], "cat") else sorted(df[hue].dropna().unique(), key=_sort_key))
    colours = {v: f"C{i}" if len(values) <= 10 else plt.get_cmap("tab20")(i % 20)
               for i, v in enumerate(values)}
    dashes = ["-", "--", ":", "-."]
    n_lines = df.groupby(keys, observed=True).ngroups
    gap = min(0.03, 0.24 / max(1, n_lines))  # the window bars take at most a quarter
    style_of = {}
    top = []
    for ax, (panel, part) in zip(axes, panels):
        part = part[part[x].notna()]
        lines = 0
        t = reduce_to(part, keys + [x], value, reduce)
        for key, g in t.groupby(keys, observed=True, sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            g = g.sort_values(x)
            xs, vals = g[x].to_numpy(float), g[value].to_numpy(float)
            c = colours[key[0]]
            ls = dashes[style_of.setdefault(key[1:], len(style_of)) % len(dashes)]
            name = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else str(v)
                            for k, v in zip(keys, key) if k in (hue,) + tuple(styles))
            y = np.where(np.isfinite(vals), vals, np.nan)
            ax.plot(xs, y, color=c, ls=ls, marker="." if len(xs) <= 16 else None, label=name)
            _windows(ax, xs, y if value == "steps" else vals, c, lines, gap)
            lines += 1
            top.append(np.nanmax(y) / np.nanmin(y) if np.isfinite(y).any() and
                       np.nanmin(y) > 0 else 1)
        ax.set_xlabel(x)
        ax.set_ylabel("share of runs converged" if value == "success" else
                      _steps_label(df, reduce))
        ax.set_title(_panel_title(facet, panel))
        if logx or (logx is None and _wide(part[x].dropna())):
            ax.set_xscale("log")
        _mark(ax, mark, x)
    spread = max(top) if top else 1
    for ax in axes:
        if value == "steps" and (logy or (logy is None and spread >= 10)):
            ax.set_yscale("log")
        if value == "success":
            ax.set_ylim(0, 1.02)
        _room_below(ax, 0.05 + gap * lines)
    if len(colours) * max(1, len(style_of)) <= 16:
        if len(colours) * max(1, len(style_of)) > 6:  # beside the axes, off the lines
            axes[-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
        else:
            axes[0].legend(fontsize="small")
    _titles(fig, df, _caption(df, (x, facet, hue), value, reduce, "a gap")
            + ". Bars along the bottom: each line's convergent windows (an arrow: cut off by "
              "the grid's edge)")
    return fig


def _room_below(ax, share):
    """Lower the y axis so that its bottom `share` is free for the window bars."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        a, b = np.log10(lo), np.log10(hi)
        ax.set_ylim(10 ** ((a - share * b) / (1 - share)), hi)
    else:
        ax.set_ylim((lo - share * hi) / (1 - share), hi)


def _wide(values):
    """A log axis for these x: geometric, or positive and spanning 100x or more (optimizers
    swept over different lr ranges)."""
    v = np.asarray(values, dtype=float)
    return _log_spaced(v) or (len(v) > 0 and v.min() > 0 and v.max() >= 100 * v.min())


def _sort_key(v):
    return (0, v, "") if isinstance(v, (int, float, np.number)) else (1, 0, str(v))


def scatter(df, x, y, value="steps", cmap="viridis", vmin=None, vmax=None, mark=None):
    """Every (x, y) as a point (the other hyperparameters and seeds pooled by the median),
    coloured by steps (log scale) or success; points that never converge are grey crosses.
    For sampled sweeps, where the points are not a grid. Returns the Figure."""
    from matplotlib.colors import LogNorm, Normalize
    plt = _figures()
    for c in (x, y):
        if c not in hyperparameters(df):
            raise BpbenchError(f"{c!r} is not a hyperparameter of this table; choose from "
                             f"{', '.join(hyperparameters(df))}")
    if x == y:
        raise BpbenchError(f"x and y are both {x}; a scatter plot needs two hyperparameters")
    t = reduce_to(df, [c for c in GROUP if c in df] + [x, y], value, "median")
    v = t[value].to_numpy(float)
    ok = np.isfinite(v) if value == "steps" else v > 0
    fig, ax = plt.subplots(figsize=(6.4, 4.8), constrained_layout=True)
    if value == "success":
        norm = Normalize(0 if vmin is None else vmin, 1 if vmax is None else vmax)
    else:
        lo = vmin if vmin is not None else max(1, v[ok].min()) if ok.any() else 1
        norm = LogNorm(lo, vmax if vmax is not None else max(2 * lo, v[ok].max() if ok.any()
                                                            else 2))
    ax.scatter(t[x][~ok], t[y][~ok], marker="x", c="0.6", s=12, label="never converged")
    pts = ax.scatter(t[x][ok], t[y][ok], c=v[ok], cmap=cmap, norm=norm, s=14)
    fig.colorbar(pts, ax=ax, label="share converged" if value == "success"
                 else _steps_label(df, "median"))
    for which, c in (("x", x), ("y", y)):
        vals = t[c].to_numpy(float)
        if vals.min() > 0 and vals.max() / vals.min() >= 100:
            getattr(ax, f"set_{which}scale")("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    _mark(ax, mark, x, y)
    ax.legend(fontsize="small", loc="best")
    _titles(fig, df, _caption(df, (x, y), value, "median", "grey crosses"))
    return fig


MAX_CURVES = 12  # more than a reader can tell apart in one plot


def ecdf_curves(df, reduce="best"):
    """The share of restarts converged by step t (log step axis), one curve per problem,
    optimizer and order: at its best setting (reduce="best": the highest success rate, then
    the lowest median steps, as `compare` chooses), or over all its settings' restarts pooled
    (reduce="median"). A curve that rises early and high is fast and reliable. Returns the
    Figure."""
    if reduce not in analysis.REDUCTIONS:
        raise BpbenchError(f"reduce must be one of {', '.join(analysis.REDUCTIONS)}, not "
                           f"{reduce!r}")
    plt = _figures()
    d = analysis.at_best(df) if reduce == "best" else df
    hs = hyperparameters(d) if reduce == "best" else []  # the chosen setting, in the labels
    groups = list(d.groupby(GROUP, observed=True, sort=False))
    if len(groups) > MAX_CURVES:
        raise BpbenchError(f"{len(groups)} optimizers, orders and problems would draw "
                           f"{len(groups)} curves, more than the {MAX_CURVES} a reader can tell "
                           f"apart; pick some with --optimizer or --order")
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    many_problems = d.problem.nunique() > 1
    sizes = []
    for i, (key, g) in enumerate(groups):
        e = ecdf(g.assign(**{h: np.nan for h in hyperparameters(g)}))  # one curve
        row = g.iloc[0]
        name = " ".join(str(k) for k in (key if many_problems else key[1:]))
        setting = " ".join(f"{h}={row[h]:.3g}" for h in hs
                           if pd.notna(row[h]) and df[df.optimizer == row.optimizer][h]
                           .nunique() > 1)
        colour = f"C{i}" if len(groups) <= 10 else plt.get_cmap("tab20")(i % 20)
        ax.step(e.step, e.fraction, where="post", color=colour,
                label=f"{name}: {setting}" if setting else name)
        sizes.append(len(g))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step (forward pass)")
    n = f"{min(sizes):,}" if min(sizes) == max(sizes) else f"{min(sizes):,} to {max(sizes):,}"
    ax.set_ylabel(f"share of {n} restarts converged by step t")
    one_each = len(analysis.settings_median(df)) == len(groups)  # nothing was chosen
    how = ("" if one_each else " (each at its best setting: " + analysis.SELECT["success"][2]
           + ")" if reduce == "best" else " (every setting's restarts pooled)")
    ax.set_title(_title(d, 80, f"{_what(d)}{how}"), fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # off the data
    return fig


def compare_plot(df, select="success", holdout=None):
    """Each problem, optimizer and order at its best setting (`bpbench.compare`): the success
    rate and the median steps, each a point with its 95% interval (a median whose upper bound
    is infinite, too few restarts converging to bound it, runs to the right edge with an
    arrow). Returns the Figure."""
    from .studies import compare
    plt = _figures()
    best = compare(df, select, holdout)
    names = [" ".join(str(r[c]) for c in GROUP if best[c].nunique() > 1 or c == "optimizer")
             + f" ({r.setting})" for _, r in best.iterrows()]
    y = np.arange(len(best))[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 1.2 + 0.45 * len(best)),
                                      constrained_layout=True, sharey=True)
    left.errorbar(best.success, y, xerr=[best.success - best.success_low,
                                         best.success_high - best.success],
                  fmt="o", color="C0", capsize=3)
    left.set_xlim(-0.02, 1.02)
    left.set_xlabel(f"share of {int(best.restarts.max()):,} restarts converged (95% Wilson)")
    left.set_yticks(y, names)
    finite = np.isfinite(best.median_steps)
    top = np.nanmax(np.where(np.isfinite(best.median_high), best.median_high,
                             best.median_steps.where(finite)).astype(float))
    edge = (top if np.isfinite(top) else 10.0) * 1.5
    for yi, (_, r) in zip(y, best.iterrows()):
        if not np.isfinite(r.median_steps):
            right.annotate("median: never", (edge, yi), ha="right", va="center",
                           fontsize="small", color="0.4")
            continue
        hi = r.median_high if np.isfinite(r.median_high) else edge
        right.plot([r.median_low, hi], [yi, yi], color="C1")
        right.plot(r.median_steps, yi, "o", color="C1")
        if not np.isfinite(r.median_high):
            right.annotate("", (edge, yi), (edge / 1.15, yi),
                           arrowprops=dict(arrowstyle="->", color="C1"))
    right.set_xscale("log")
    right.set_xlim(right=edge * 1.05)
    right.set_xlabel("median steps, failures infinite (95% order-statistic interval)")
    fig.suptitle(_title(df, 90, f"{_what(df)}: each at its best setting"),
                 fontsize="medium")
    fig.supxlabel(textwrap.fill("Best: " + best.attrs["select"], 110), fontsize="small")
    return fig


def curves_plot(df, seeds=100):
    """Learning curves over restarts (`bpbench.curves`): per optimizer at its best setting,
    the median loss against step and a band from the 10% to the 90% quantile over its first
    `seeds` restarts. Returns the Figure."""
    from .studies import curves
    plt = _figures()
    c = curves(df, seeds)
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    many = c.problem.nunique() > 1
    for i, (key, g) in enumerate(c.groupby(GROUP, observed=True, sort=False)):
        colour = f"C{i % 10}"
        name = " ".join(str(k) for k in (key if many else key[1:]))
        low, high = (g[q].clip(lower=1e-300).to_numpy(float) for q in ("q10", "q90"))
        ax.fill_between(g.step, low, high, color=colour, alpha=0.2, lw=0)
        ax.plot(g.step, g.q50.clip(lower=1e-300), color=colour,
                label=f"{name}: {g.setting.iloc[0]}")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("step (forward pass)")
    n = c.restarts.max()
    ax.set_ylabel(f"loss E: median and 10-90% band over {n:,} restarts")
    ax.set_title(_title(df, 80, f"{_what(df)} (each at its best setting)"), fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def loss_curves(traces, logx=None):
    """Loss (log scale) against step for several traces: a list of (label, trace DataFrame).
    A colour per optimizer, a line style per update order. logx None puts the steps on a log
    axis when the runs' lengths differ tenfold or more (an 11-step run beside a 10,000-step
    one would be invisible on a linear axis)."""
    plt = _figures()
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    colours, styles = {}, {"inplace": "-", "simultaneous": "--"}
    for label, t in traces:
        c = colours.setdefault(t.attrs.get("optimizer", label), f"C{len(colours) % 10}")
        ax.semilogy(t.step, t.loss.clip(lower=1e-300), label=label, color=c,
                    ls=styles.get(t.attrs.get("order"), "-"))
    attrs = traces[0][1].attrs if traces else {}
    if attrs.get("margin"):  # judged by the outputs, not the loss: no loss line to reach
        ax.set_title(f"converged: every output within {attrs['margin']:g} of its target",
                     fontsize="small")
    elif attrs.get("tol"):
        ax.axhline(attrs["tol"], color="0.4", ls=":", lw=1, label=f"tol = {attrs['tol']:g}")
    lengths = [len(t) for _, t in traces]
    if logx or (logx is None and lengths and max(lengths) >= 10 * max(1, min(lengths))):
        ax.set_xscale("log")
    ax.set_xlabel("step (forward pass)")
    ax.set_ylabel("loss E = sum of (y - t)^2 / 2")
    ax.legend()
    return fig


def is_grid(df):
    """True when the configurations of each optimizer and order form a full grid of their
    hyperparameters' values (a sampled sweep does not)."""
    for _, g in df.groupby(GROUP, observed=True):
        hs = hyperparameters(g)
        per = g.drop_duplicates(hs)
        if len(per) != np.prod([g[h].nunique() for h in hs]):
            return False
    return True


def choose(df, x="lr", y="beta"):
    """The kind plot(kind="auto") draws: ecdf for random restarts, scatter for points that are
    not a grid, a heatmap for one optimizer and order with x and y both varying, else lines."""
    if analysis.has_restarts(df) and df.groupby(analysis.settings_of(df), observed=True,
                                                dropna=False).ngroups <= 12:
        return "ecdf"
    if not is_grid(df):
        return "scatter"
    one = df.groupby(["problem", "optimizer", "order"], observed=True).ngroups == 1
    varies = [h for h in hyperparameters(df) if df[h].nunique() > 1]
    return "heatmap" if one and x in varies and y in varies else "line"


def plot(df, kind="auto", output=None, *, x="lr", y="beta", hue="optimizer", facet=None,
         value="steps", reduce=None, cmap="viridis", vmin=None, vmax=None, mark=None,
         logx=None, logy=None):
    """Draw a result table; save it to output (png, svg, pdf) if given.

    Parameters
    ----------
    df : pandas.DataFrame
        A table from `bpbench.sweep` or `pandas.read_parquet` of a saved one.
    kind : {"auto", "heatmap", "line", "scatter", "ecdf"}
        "auto" chooses (see choose): restarts as ECDFs, sampled sweeps as a scatter, one
        optimizer over x and y as a heatmap, otherwise lines against x.
    x, y : str
        Hyperparameters on the axes (y: heatmap and scatter only).
    hue : str
        Lines: the column that gets a colour per value.
    facet : str, optional
        One panel per value of this hyperparameter (at most 24).
    value : {"steps", "success"}
        Steps to convergence (failures as infinite) or the share of runs converged.
    reduce : {"median", "best"}, optional
        How the hyperparameters not drawn (and the seeds) are reduced: pooled by the median,
        or the best setting taken. Default: median for heatmaps, best for lines.
    cmap, vmin, vmax
        Colour map and range (heatmap, scatter).
    mark : dict, optional
        A reference point, e.g. ``{"lr": 0.1, "beta": 0.999}``.
    logx, logy : bool, optional
        Force log axes on lines (default: chosen from the data).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> df = bpbench.sweep(["sgd", "rmsprop"], lr="log:0.01:1:8", max_steps=1000)
    >>> fig = bpbench.plot(df)  # two optimizers: steps against lr, a line each
    >>> [ax.get_xscale() for ax in fig.axes]
    ['log']
    """
    if kind not in KINDS:
        raise BpbenchError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if df.empty:
        raise BpbenchError("nothing to plot: the table has no rows")
    _check_cmap(cmap)
    if kind == "auto":
        kind = choose(df, x, y)
    drawn = {"heatmap": (x, y), "line": (x,)}.get(kind, ())
    if facet is not None and facet in drawn:
        raise BpbenchError(f"--facet {facet} is already an axis of the {kind} plot; facet by "
                           f"another hyperparameter")
    if kind == "heatmap":
        combos = df.groupby(["problem", "optimizer", "order"], observed=True).ngroups
        if combos != 1:
            raise BpbenchError("a heatmap shows one optimizer and order: pick them with "
                             f"--optimizer and --order (this table has {combos}), or draw "
                             "--kind line")
        fig = heatmap(df, x, y, facet, value, reduce or "median", cmap, vmin, vmax, mark)
    elif kind == "line":
        fig = line(df, x, hue, facet, value, reduce or "best", logx, logy, mark)
    elif kind == "scatter":
        fig = scatter(df, x, y, value, cmap, vmin, vmax, mark)
    elif kind == "compare":
        fig = compare_plot(df)
    elif kind == "curves":
        fig = curves_plot(df)
    else:
        fig = ecdf_curves(df, reduce or "best")
    if output:
        save(fig, output)
    return fig


def _check_cmap(name):
    import matplotlib
    _figures()
    if name not in matplotlib.colormaps:
        raise BpbenchError(f"unknown colour map {name!r}; try viridis, magma, cividis or any "
                         "name in matplotlib.colormaps")


def save(fig, path):
    fig.savefig(path, dpi=110)
