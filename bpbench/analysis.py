"""Summaries of result tables (pure pandas)."""
import numpy as np
import pandas as pd

from .optimizers import HYPERPARAMETERS

GROUP = ["optimizer", "order"]


def summary(df):
    """Per optimizer and order: configurations, converged share, min / median steps, and the
    best configuration (fewest steps; ties go to the first in grid order)."""
    rows = []
    for key, g in df.groupby(GROUP, observed=True, sort=False):
        conv = g[g.status == "converged"]
        # Median over all configurations with non-converged ones counted as infinite steps.
        steps_inf = g.steps.astype("Float64").fillna(np.inf).to_numpy(dtype=float)
        median = float(np.median(steps_inf))
        row = dict(zip(GROUP, key), configurations=len(g),
                   converged=len(conv) / len(g),
                   min_steps=pd.NA if conv.empty else int(conv.steps.min()),
                   median_steps=median)
        best = conv.loc[conv.steps.idxmin()] if not conv.empty else None
        row["best"] = "-" if best is None else describe(best)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["min_steps"] = out["min_steps"].astype("Int64")
    return out


def describe(row):
    """'lr=0.1 beta=0.999 eps=0.01' for the hyperparameters a row's optimizer uses."""
    return " ".join(f"{h}={row[h]:.6g}" for h in HYPERPARAMETERS if pd.notna(row[h]))
