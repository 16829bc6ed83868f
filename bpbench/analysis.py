"""Summaries of result tables (pure pandas; the CLI's `show` prints these).

Medians and quartiles of steps count configurations that did not converge as infinitely slow,
as optimizer benchmarks do, so a grid where most runs fail has an infinite median rather than
a flattering one computed over its few successes.
"""
import numpy as np
import pandas as pd

from .axes import SCHEDULE_PARAMETERS
from .optimizers import HYPERPARAMETERS
from .errors import BpbenchError

GROUP = ["problem", "optimizer", "order"]


def steps_or_inf(df):
    """steps as float, with every non-converged configuration at +inf."""
    return df.steps.astype("Float64").fillna(np.inf).to_numpy(dtype=float)


# What else makes a setting, where a table has it: how the patterns are batched and ordered,
# and the learning-rate schedule (whose parameters are numbers like the hyperparameters, NaN
# where unused: axes.SCHEDULE_PARAMETERS).
OPTIONS = ("batch", "shuffle", "schedule")


def hyperparameters(df):
    """The hyperparameter columns (a schedule's too) that vary or are set (not all NaN)."""
    return [h for h in HYPERPARAMETERS + SCHEDULE_PARAMETERS if h in df and df[h].notna().any()]


def median_inf(s):
    """The median with failures as +inf (linear interpolation, numpy's default): the mean of
    the middle two of an even count, inf as soon as an infinite value takes part. The one
    median of bpbench: summary, pivot, restarts and plots all use it."""
    return float(quantiles_inf(s, [0.5])[0])


def summary(df, by=()):
    """One row per problem, optimizer and order (and per value of each column in `by`).

    Parameters
    ----------
    df : pandas.DataFrame
        A result table (`bpbench.sweep`, or a saved one read with pandas).
    by : sequence of str
        Hyperparameters to split each group by as well.

    Returns
    -------
    pandas.DataFrame
        configurations; the share ``converged`` / at ``max_steps`` / ``diverged``;
        ``min_steps``; ``median_steps`` and ``iqr_steps`` with failures as infinite (see
        median_inf); ``best``, the setting with the fewest steps (ties: the first in grid
        order), and ``robust_best``, the fewest steps among settings whose grid neighbours (one
        step up or down any hyperparameter axis) also converge, which an isolated lucky cell
        beside a region that fails cannot win. With random restarts, ``best`` is the setting
        with the highest success rate, then the lowest median steps: what `compare` calls
        best by default, so "best" means one thing everywhere; ``robust_best`` compares the
        settings' medians.

    Examples
    --------
    >>> df = bpbench.sweep("sgd", lr=[0.1, 1.0, 10.0, 100.0])
    >>> s = bpbench.summary(df)
    >>> s[["optimizer", "converged", "median_steps", "best"]]
      optimizer  converged  median_steps     best
    0       sgd        1.0          60.5  lr=10
    """
    keys = GROUP + list(by)
    rows = []
    # dropna=False: an optimizer without a `by` hyperparameter keeps its rows (as NaN)
    for key, g in df.groupby(keys, observed=True, sort=False, dropna=False):
        s = steps_or_inf(g)
        q1, med, q3 = quantiles_inf(s, [0.25, 0.5, 0.75])
        with np.errstate(invalid="ignore"):  # inf - inf: no spread to speak of, NaN
            iqr = q3 - q1
        share = g.status.value_counts(normalize=True)
        per = settings_median(g)
        shown = worth_naming(g)
        best = ("-" if not per.success.any()
                else describe(best_first(per).iloc[0], shown))
        robust = robust_settings(per)
        robust_best = ("-" if robust.empty
                       else describe(robust.loc[robust.median_steps.idxmin()], shown))
        conv = g.steps.dropna()
        rows.append(dict(zip(keys, key), configurations=len(g),
                         converged=share.get("converged", 0.0),
                         max_steps=share.get("max_steps", 0.0),
                         diverged=share.get("diverged", 0.0),
                         min_steps=pd.NA if conv.empty else int(conv.min()),
                         median_steps=med, iqr_steps=iqr, best=best,
                         robust_best=robust_best))
    out = pd.DataFrame(rows, columns=keys + ["configurations", "converged", "max_steps",
                                             "diverged", "min_steps", "median_steps",
                                             "iqr_steps", "best", "robust_best"])
    out["min_steps"] = out["min_steps"].astype("Int64")
    return out


def settings_median(df):
    """One row per setting (problem, optimizer, order, hyperparameters), in grid order, with
    its median steps over restarts (failures as inf; a single run's own steps)."""
    keys = settings_of(df)
    steps = steps_or_inf(df)
    d = df.assign(_steps=steps, _ok=np.isfinite(steps))
    # pandas' own median is median_inf here (steps are integers or inf: the mean of the middle
    # two is exact, and inf once either is), and thousands of times faster than calling it
    return (d.groupby(keys, observed=True, sort=False, dropna=False)
            .agg(median_steps=("_steps", "median"), success=("_ok", "mean")).reset_index())


# What "best" means, everywhere (summary, show, compare, plots): the rules by name, each a
# sort of the settings' success rate, median steps (failures infinite) and the lower Wilson
# bound of the success rate, best first; ties keep the grid's order.
SELECT = {
    "success": (["success", "median_steps"], [False, True],
                "highest success rate, then lowest median steps"),
    "median": (["median_steps", "success"], [True, False],
               "lowest median steps (failures infinite), then highest success rate"),
    "robust": (["success_low", "median_steps"], [False, True],
               "highest lower 95% Wilson bound of the success rate, then lowest median steps"),
}


def best_first(per, select="success"):
    """per (one row per setting) sorted best first by the rule `select` (see SELECT)."""
    by, ascending, _ = SELECT[select]
    return per.sort_values(by, ascending=ascending, kind="stable")


def at_best(df, select="success"):
    """The rows (every restart) of each problem, optimizer and order's best setting, by the
    rule `select` ("success" or "median"; see SELECT)."""
    keys = settings_of(df)
    per = settings_median(df)
    tops = pd.DataFrame([best_first(g, select).iloc[0]
                         for _, g in per.groupby(GROUP, observed=True, sort=False)])
    return rows_of(df, tops, keys)


def rows_of(df, settings, keys):
    """The rows of df whose values of keys are one of the rows of settings (in df's order;
    NaN matches NaN: sgd has no beta), with df's attrs."""
    out = df.merge(settings[keys], on=keys, how="inner")
    out.attrs = dict(df.attrs)
    return out


def robust_settings(per):
    """The settings of one group (settings_median rows) that converge and whose neighbours on
    the grid all converge too. A neighbour differs in one varying hyperparameter by one
    position among that hyperparameter's sorted values, the others equal."""
    axes = [h for h in HYPERPARAMETERS if h in per and per[h].nunique() > 1]
    finite = np.isfinite(per.median_steps.to_numpy())
    if not axes:
        return per[finite]
    index = np.stack([np.searchsorted(np.sort(per[h].unique()), per[h]) for h in axes], 1)
    where = {tuple(ix): i for i, ix in enumerate(index)}
    robust = finite.copy()
    for i, ix in enumerate(index):
        if not finite[i]:
            continue
        for a in range(len(axes)):
            for d in (-1, 1):
                nb = list(ix)
                nb[a] += d
                j = where.get(tuple(nb))
                if j is not None and not finite[j]:
                    robust[i] = False
    return per[robust]


def lr_window(df):
    """The convergent learning-rate windows for each setting of the other hyperparameters.

    A window is a run of consecutive grid learning rates that all converge (with restarts: whose
    median converges, i.e. at least half the restarts), so a failing lr in between splits it
    in two. One row per window: its smallest and largest lr, its width in decades, how many
    grid points it spans, and ``at_edge`` ("low", "high" or "both" when it reaches the end of
    the lr grid, so the real window may be wider; "" otherwise). A setting where no lr
    converges gets one row with NaN bounds and window 0."""
    rows = []
    for (prob, opt, order), g in df.groupby(GROUP, observed=True, sort=False):
        per = settings_median(g)
        others = [h for h in hyperparameters(g) if h != "lr"]
        groups = per.groupby(others, sort=True) if others else [((), per)]
        for key, sub in groups:
            key = key if isinstance(key, tuple) else (key,)
            sub = sub.sort_values("lr")
            ok = np.isfinite(sub.median_steps.to_numpy())
            lrs = sub.lr.to_numpy()
            base = dict(problem=prob, optimizer=opt, order=order, **dict(zip(others, key)))
            runs = _runs(ok)
            if not runs:
                rows.append(dict(base, window=0, lr_min=np.nan, lr_max=np.nan,
                                 decades=np.nan, points=0, at_edge=""))
            for w, (a, b) in enumerate(runs, 1):
                edge = {(True, True): "both", (True, False): "low", (False, True): "high",
                        (False, False): ""}[a == 0, b == len(lrs) - 1]
                rows.append(dict(base, window=w, lr_min=lrs[a], lr_max=lrs[b],
                                 decades=float(np.log10(lrs[b] / lrs[a])), points=b - a + 1,
                                 at_edge=edge))
    out = pd.DataFrame(rows)
    first = GROUP + [h for h in HYPERPARAMETERS if h != "lr" and h in out]
    return out[first + [c for c in out if c not in first]]


def _runs(ok):
    """(first, last) index of each run of True in a boolean array."""
    out, start = [], None
    for i, v in enumerate(ok):
        if v and start is None:
            start = i
        if not v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(ok) - 1))
    return out


REDUCTIONS = ("median", "best")


def reduce_to(df, keys, value="steps", reduce="median"):
    """One number per combination of the columns in keys, over every other hyperparameter and
    seed: a tidy table with the keys and `value`.

    value="steps" gives steps with failures as inf; value="success" the share of runs that
    converged. reduce="median" pools every row of a combination (median_inf, or the mean
    success); reduce="best" first takes each setting's median over its restarts (or success
    rate), then the best setting: fewest steps, highest success.
    """
    if value not in ("steps", "success"):
        raise BpbenchError(f"value must be steps or success, not {value!r}")
    if reduce not in REDUCTIONS:
        raise BpbenchError(f"reduce must be one of {', '.join(REDUCTIONS)}, not {reduce!r}")
    keys = list(keys)
    d = df.assign(_v=(df.status == "converged").astype(float) if value == "success"
                  else steps_or_inf(df))
    pool = "mean" if value == "success" else median_inf
    if reduce == "best":
        d = (d.groupby(settings_of(df), observed=True, sort=False, dropna=False)["_v"]
             .agg(pool).reset_index())
        pool = "max" if value == "success" else "min"
    out = d.groupby(keys, observed=True, sort=True, dropna=False)["_v"].agg(pool)
    return out.rename(value).reset_index()


def pivot(df, x, y, value="steps", reduce="median"):
    """Steps or success over two hyperparameters: rows y, columns x.

    Parameters
    ----------
    df : pandas.DataFrame
        A result table of one optimizer and order (or pooled over several).
    x, y : str
        Hyperparameters for the columns and rows.
    value : {"steps", "success"}
        Median steps (median_inf: non-converged as inf), or the share of runs (restarts)
        that converged.
    reduce : {"median", "best"}
        Every other hyperparameter and the seeds are pooled by the median, or the best of
        them taken (see reduce_to).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = bpbench.sweep("rmsprop", lr=[0.01, 0.1], beta=[0.9, 0.999], eps=0.01)
    >>> bpbench.pivot(df, "lr", "beta")
    lr      0.01  0.10
    beta
    0.900  181.0  20.0
    0.999  145.0  11.0
    """
    for c in (x, y):
        if c not in HYPERPARAMETERS or c not in df or df[c].isna().all():
            raise BpbenchError(f"{c!r} is not a hyperparameter of this table; choose from "
                             f"{', '.join(hyperparameters(df))}")
    return reduce_to(df, [y, x], value, reduce).pivot(index=y, columns=x, values=value)


def percentages(shares, decimals=1):
    """Shares (fractions summing to 1) as percentages rounded to `decimals` that still add up
    to 100: the largest-remainder method, so 1/3 1/3 1/3 shows as 33.4 33.3 33.3."""
    scale = 100 * 10 ** decimals
    raw = np.asarray(shares, dtype=float) * scale
    out = np.floor(raw + 1e-9)
    short = int(round(raw.sum() - out.sum()))
    for i in np.argsort(-(raw - out), kind="stable")[:max(short, 0)]:
        out[i] += 1
    return out / 10 ** decimals


def describe(row, names=HYPERPARAMETERS + SCHEDULE_PARAMETERS):
    """'lr=0.1 beta=0.999 eps=0.01' for the hyperparameters in names that the row has, after
    the run options it has where they are not the defaults ('batch=online schedule=step')."""
    options = [f"{c}={row[c]}" for c in OPTIONS if c in row and row[c] not in
               ("full", False, "constant")]
    return " ".join(options + [f"{h}={row[h]:.6g}" for h in names
                               if h in row and pd.notna(row[h])])


def worth_naming(df):
    """The hyperparameters that tell df's settings apart or differ from their optimizer's
    torch default (lr always): a best of "lr=0.1 beta=0.999 eps=0.01" does not need the
    weight_decay=0 every run of it had."""
    from .optimizers import OPTIMIZERS
    opts = [OPTIMIZERS[o] for o in df.optimizer.unique() if o in OPTIMIZERS]

    def plain(h):
        return (df[h].nunique() == 1 and
                all(o.defaults.get(h) == df[h].dropna().iloc[0] for o in opts))
    return [h for h in hyperparameters(df) if h == "lr" or not plain(h)]


def has_restarts(df):
    """True when some setting was run from more than one seed."""
    return "seed" in df and df.seed.notna().any() and bool(
        (df.groupby(settings_of(df), observed=True, dropna=False).size() > 1).any())


def settings_of(df):
    """The columns that make a setting: problem, optimizer, order, the run options a table
    has (batch, shuffle, schedule) and the hyperparameters."""
    return GROUP + [c for c in OPTIONS if c in df] + hyperparameters(df)


def quantiles_inf(s, qs):
    """Linearly interpolated quantiles (numpy's default) of values that may be +inf: any
    interpolation that gives an infinite neighbour some weight is inf, never NaN."""
    s = np.sort(np.asarray(s, dtype=float))
    pos = np.asarray(qs) * (len(s) - 1)
    lo, hi = np.floor(pos).astype(int), np.ceil(pos).astype(int)
    a, b, frac = s[lo], s[hi], pos - np.floor(pos)
    with np.errstate(invalid="ignore"):
        mid = a + (b - a) * frac
    return np.where(frac == 0, a, np.where(np.isinf(b), np.inf, mid))


def restarts(df, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)):
    """One row per setting over its random restarts.

    Parameters
    ----------
    df : pandas.DataFrame
        A result table with a seed axis.
    quantiles : sequence of float
        Which quantiles of steps to give (columns q10, q25, median, q75, q90).

    Returns
    -------
    pandas.DataFrame
        The setting's columns, ``restarts``, ``success`` (share converged), ``diverged``,
        and quantiles of steps with failures counted as infinitely slow, so a median is finite
        only when at least half of the restarts converge. Quantiles interpolate linearly
        (numpy's default), see quantiles_inf.

    Examples
    --------
    >>> df = bpbench.sweep("sgd", problem="xor", lr=2.0, seed={"start": 0, "num": 100})
    >>> r = bpbench.restarts(df)
    >>> int(r.restarts[0]), float(r.success[0])
    (100, 0.86)
    """
    keys = settings_of(df)
    rows = []
    for key, g in df.groupby(keys, observed=True, sort=False, dropna=False):
        q = quantiles_inf(steps_or_inf(g), quantiles)
        row = dict(zip(keys, key), restarts=len(g),
                   success=float((g.status == "converged").mean()),
                   diverged=float((g.status == "diverged").mean()))
        row.update({f"q{round(100 * p)}": v for p, v in zip(quantiles, q)})
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.rename(columns={"q50": "median"})


def ecdf(df, points=200):
    """The fraction of each setting's restarts converged by step t: a tidy table with the
    setting's columns, `step` (log-spaced from 1 to the largest step count) and `fraction`."""
    keys = settings_of(df)
    top = max(2, int(df.steps.max())) if df.steps.notna().any() else 2
    ts = np.unique(np.geomspace(1, top, points).round().astype(int))
    frames = []
    for key, g in df.groupby(keys, observed=True, sort=False, dropna=False):
        s = np.sort(steps_or_inf(g))
        frac = np.searchsorted(s, ts, side="right") / len(s)
        frames.append(pd.DataFrame(dict(zip(keys, key)), index=range(len(ts)))
                      .assign(step=ts, fraction=frac))
    return pd.concat(frames, ignore_index=True)


def label(row, keys):
    """'sgd inplace lr=0.5' for one setting: the columns in keys that are set."""
    parts = [str(row[k]) for k in ("optimizer", "order") if k in keys]
    parts += [f"{c}={row[c]}" for c in OPTIONS if c in keys]
    parts += [f"{h}={row[h]:.3g}" for h in HYPERPARAMETERS + SCHEDULE_PARAMETERS
              if h in keys and pd.notna(row[h])]
    return " ".join(parts)
