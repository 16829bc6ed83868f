"""Summaries of result tables (pure pandas; the CLI's `show` prints these).

Medians and quartiles of steps count configurations that did not converge as infinitely slow,
as optimizer benchmarks do, so a grid where most runs fail has an infinite median rather than
a flattering one computed over its few successes.
"""
import numpy as np
import pandas as pd

from .optimizers import HYPERPARAMETERS

GROUP = ["problem", "optimizer", "order"]


def steps_or_inf(df):
    """steps as float, with every non-converged configuration at +inf."""
    return df.steps.astype("Float64").fillna(np.inf).to_numpy(dtype=float)


def hyperparameters(df):
    """The hyperparameter columns that vary or are set (not all NaN) in df."""
    return [h for h in HYPERPARAMETERS if h in df and df[h].notna().any()]


def summary(df, by=()):
    """One row per problem, optimizer and order (and per value of each column in `by`):
    configurations,
    the share converged / hitting max_steps / diverged, min, median and IQR of steps, and the
    best configuration (fewest steps; ties go to the first in grid order)."""
    keys = GROUP + list(by)
    rows = []
    # dropna=False: an optimizer without a `by` hyperparameter keeps its rows (as NaN)
    for key, g in df.groupby(keys, observed=True, sort=False, dropna=False):
        s = steps_or_inf(g)
        q1, med, q3 = np.quantile(s, [0.25, 0.5, 0.75], method="lower")
        with np.errstate(invalid="ignore"):  # inf - inf: no spread to speak of, NaN
            iqr = q3 - q1
        conv = g[g.status == "converged"]
        share = g.status.value_counts(normalize=True)
        rows.append(dict(zip(keys, key), configurations=len(g),
                         converged=share.get("converged", 0.0),
                         max_steps=share.get("max_steps", 0.0),
                         diverged=share.get("diverged", 0.0),
                         min_steps=pd.NA if conv.empty else int(conv.steps.min()),
                         median_steps=med, iqr_steps=iqr,
                         best="-" if conv.empty
                         else describe(conv.iloc[int(np.argmin(conv.steps.to_numpy()))])))
    out = pd.DataFrame(rows, columns=keys + ["configurations", "converged", "max_steps",
                                             "diverged", "min_steps", "median_steps",
                                             "iqr_steps", "best"])
    out["min_steps"] = out["min_steps"].astype("Int64")
    return out


def lr_window(df):
    """The convergent learning-rate window for each setting of the other hyperparameters:
    smallest and largest lr that converges, and the window's width in decades (NaN where no
    lr converges)."""
    rows = []
    for (prob, opt, order), g in df.groupby(GROUP, observed=True, sort=False):
        others = [h for h in hyperparameters(g) if h != "lr"]
        groups = g.groupby(others, sort=True) if others else [((), g)]
        for key, sub in groups:
            key = key if isinstance(key, tuple) else (key,)
            ok = sub.lr[sub.status == "converged"]
            lo, hi = (ok.min(), ok.max()) if len(ok) else (np.nan, np.nan)
            rows.append(dict(problem=prob, optimizer=opt, order=order,
                             **dict(zip(others, key)),
                             lr_min=lo, lr_max=hi,
                             decades=np.log10(hi / lo) if len(ok) else np.nan,
                             converged=len(ok), configurations=len(sub)))
    return pd.DataFrame(rows)


def pivot(df, x, y, value="steps"):
    """Median steps (non-converged as inf), or with value="success" the share of runs
    (restarts) that converged, over two hyperparameters: rows y, columns x."""
    for c in (x, y):
        if c not in HYPERPARAMETERS or c not in df or df[c].isna().all():
            raise ValueError(f"{c!r} is not a hyperparameter of this table; choose from "
                             f"{', '.join(hyperparameters(df))}")
    if value == "success":
        d = df.assign(success=(df.status == "converged").astype(float))
        return d.pivot_table(index=y, columns=x, values="success", aggfunc="mean")
    d = df.assign(steps_inf=steps_or_inf(df))
    return d.pivot_table(index=y, columns=x, values="steps_inf", aggfunc="median")


def describe(row):
    """'lr=0.1 beta=0.999 eps=0.01' for the hyperparameters a row's optimizer uses."""
    return " ".join(f"{h}={row[h]:.6g}" for h in HYPERPARAMETERS if pd.notna(row[h]))


def has_restarts(df):
    """True when some setting was run from more than one seed."""
    return "seed" in df and df.seed.notna().any() and bool(
        (df.groupby(settings_of(df), observed=True, dropna=False).size() > 1).any())


def settings_of(df):
    """The columns that make a setting: problem, optimizer, order and the hyperparameters."""
    return GROUP + hyperparameters(df)


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
    """One row per setting over its random restarts: how many, the share that converged
    ("success") and that diverged, and quantiles of steps with failures counted as infinitely
    slow (so a median is finite only when at least half of the restarts converge). Quantiles
    interpolate linearly (numpy's default), see quantiles_inf."""
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
    parts += [f"{h}={row[h]:.3g}" for h in HYPERPARAMETERS if h in keys and pd.notna(row[h])]
    return " ".join(parts)
