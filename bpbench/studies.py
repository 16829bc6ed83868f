"""Each optimizer at its best setting, with intervals, and paired tests over the same seeds.

A study's question is "which optimizer learns this problem most reliably, and how fast?".
``compare`` answers it from a table with random restarts: per (problem, optimizer, order) it
picks one setting of the hyperparameters by a stated rule and reports that setting's
restarts with 95% intervals; ``pairs`` tests every two optimizers against each other on the
seeds they share. The statistics are scipy.stats': Wilson intervals for success rates
(``binomtest(...).proportion_ci(method="wilson")``), the order-statistic interval for the
median (``quantile_test(...).confidence_interval()``, with failures as infinitely slow),
McNemar's exact test (``binomtest`` on the discordant pairs) and the Wilcoxon signed-rank test.
Only Holm's adjustment, three lines, is written here (scipy has none).
"""
import numpy as np
import pandas as pd

from .analysis import (GROUP, SELECT, best_first, hyperparameters, quantiles_inf, rows_of,
                       steps_or_inf)
from .errors import BpbenchError

CONFIDENCE = 0.95


def split(seeds, holdout):
    """(choosing, reporting) seed sets: the lowest (1 - holdout) share of the distinct seeds,
    by value, choose the setting; the rest report it. holdout None: all seeds do both."""
    distinct = np.unique(seeds)
    if holdout is None:
        return set(distinct), set(distinct)
    if not 0 < holdout < 1:
        raise BpbenchError(f"holdout must be a share in (0, 1), got {holdout!r}")
    k = int(round(len(distinct) * (1 - holdout)))
    if k < 1 or k >= len(distinct):
        raise BpbenchError(f"holdout {holdout:g} of {len(distinct)} seeds leaves no seed to "
                           f"choose or to report on")
    return set(distinct[:k]), set(distinct[k:])


def setting_stats(g):
    """One setting's restarts: counts, the success rate with its Wilson interval, and the median
    of steps (failures infinite) with its order-statistic interval."""
    from scipy import stats
    steps = steps_or_inf(g)
    n, k = len(steps), int(np.isfinite(steps).sum())
    ci = stats.binomtest(k, n).proportion_ci(CONFIDENCE, method="wilson")
    median = quantiles_inf(steps, [0.5])[0]
    if n > 1:
        mci = stats.quantile_test(steps, q=median if np.isfinite(median) else 0.0,
                                  p=0.5).confidence_interval(CONFIDENCE)
        median_low, median_high = float(mci.low), float(mci.high)
    else:
        median_low, median_high = np.nan, np.nan
    q10, q90 = quantiles_inf(steps, [0.1, 0.9])
    return {"restarts": n, "success": k / n, "success_low": float(ci.low),
            "success_high": float(ci.high), "median_steps": float(median),
            "median_low": median_low, "median_high": median_high, "q10": float(q10),
            "q90": float(q90)}


def _setting_label(row, hs):
    return " ".join(f"{h}={row[h]:.4g}" for h in hs if pd.notna(row[h])) or "-"


def compare(df, select="success", holdout=None, pairs=False):
    """Each (problem, optimizer, order) at its best setting, with 95% intervals.

    Parameters
    ----------
    df : pandas.DataFrame
        A result table with random restarts (a seed axis).
    select : {"success", "median", "robust"}, default "success"
        How "best" is chosen: highest success rate, then lowest median steps (success);
        lowest median steps, failures infinite, then highest success (median); highest lower
        Wilson bound of the success rate, then lowest median (robust).
    holdout : float, optional
        Choose the setting on the lowest (1 - holdout) share of the seeds (by value) and
        report it on the rest, so the figures are not biased by the choice. Default: all
        seeds do both.
    pairs : bool, default False
        Also return the pairwise tests (see `pairwise`): ``(best, tests)``.

    Returns
    -------
    pandas.DataFrame
        One row per (problem, optimizer, order): ``setting`` (the chosen hyperparameters, also
        as their own columns), ``restarts``, ``success`` with its 95% Wilson interval
        (``success_low``, ``success_high``), ``median_steps`` (failures counted as infinitely
        slow) with its 95% order-statistic interval (``median_low``, ``median_high``; inf
        where too few restarts converge to bound it), and the 10% and 90% quantiles of steps.
        ``attrs["select"]`` says the rule and the split.

    Examples
    --------
    >>> df = bpbench.sweep(["sgd", "momentum"], problem="xor", lr=[0.5, 2.0],
    ...                    seed={"start": 0, "num": 40}, max_steps=2000)
    >>> best = bpbench.compare(df)
    >>> best[["optimizer", "setting", "restarts"]]
      optimizer setting  restarts
    0       sgd    lr=2        40
    1  momentum  lr=0.5        40
    >>> bool((best.success_low <= best.success).all())
    True
    """
    if select not in SELECT:
        raise BpbenchError(f"select must be one of {', '.join(SELECT)}, not {select!r}")
    if "seed" not in df or df.seed.isna().all():
        raise BpbenchError("compare needs random restarts (a seed axis): every setting is "
                           "judged over its seeds")
    hs = hyperparameters(df)
    choose_on, report_on = split(df.seed.dropna().astype("int64").to_numpy(), holdout)
    rows, best_rows = [], {}
    for key, part in df.groupby(GROUP, observed=True, sort=False):
        per = []
        chosen = part[part.seed.isin(choose_on)]
        for setting, g in chosen.groupby(hs, dropna=False, sort=False):
            setting = setting if isinstance(setting, tuple) else (setting,)
            per.append(dict(zip(hs, setting), **setting_stats(g)))
        top = best_first(pd.DataFrame(per), select).iloc[0]
        named = [h for h in hs if part[h].nunique() > 1] or hs[:1]  # what the grid varied
        reported = rows_of(part[part.seed.isin(report_on)], pd.DataFrame([top[hs]]), hs)
        row = dict(zip(GROUP, key), setting=_setting_label(top, named),
                   **{h: top[h] for h in hs}, **setting_stats(reported))
        rows.append(row)
        best_rows[key] = reported
    out = pd.DataFrame(rows)
    for c in GROUP:
        out[c] = out[c].astype("category")
    out.attrs = dict(df.attrs, select=SELECT[select][2] + (
        f"; chosen on {1 - holdout:.0%} of the seeds (the lowest), reported on the rest"
        if holdout else "; chosen and reported on the same seeds"))
    if pairs:
        return out, pairwise(best_rows)
    return out


def holm(p):
    """Holm's step-down adjustment of the p-values p (family-wise error)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order]).clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def pairwise(best_rows):
    """Every two of {(problem, optimizer, order): rows at its best setting} within a problem,
    on the seeds both have: McNemar's exact test on success (a binomial test of the runs
    where exactly one converged) and the Wilcoxon signed-rank test on steps, failures ranked
    after every success (two failures tie), both two-sided; then Holm's adjustment over all
    pairs, per test. Columns: problem, a, b (``optimizer order``), seeds, a_only, b_only (runs
    only one converged), p_success, p_steps and their unadjusted values."""
    from scipy import stats
    keys = list(best_rows)
    rows = []
    for i, ka in enumerate(keys):
        for kb in keys[i + 1:]:
            if ka[0] != kb[0]:
                continue
            a = best_rows[ka].set_index("seed")
            b = best_rows[kb].set_index("seed")
            common = a.index.intersection(b.index)
            sa, sb = steps_or_inf(a.loc[common]), steps_or_inf(b.loc[common])
            ok_a, ok_b = np.isfinite(sa), np.isfinite(sb)
            a_only, b_only = int((ok_a & ~ok_b).sum()), int((~ok_a & ok_b).sum())
            p_success = (stats.binomtest(a_only, a_only + b_only).pvalue
                         if a_only + b_only else 1.0)
            top = max(np.max(sa[ok_a], initial=0), np.max(sb[ok_b], initial=0)) + 1
            ra, rb = np.where(ok_a, sa, top), np.where(ok_b, sb, top)
            p_steps = (stats.wilcoxon(ra, rb).pvalue if np.any(ra != rb) else 1.0)
            rows.append({"problem": ka[0], "a": f"{ka[1]} {ka[2]}", "b": f"{kb[1]} {kb[2]}",
                         "seeds": len(common), "a_only": a_only, "b_only": b_only,
                         "p_success_raw": float(p_success), "p_steps_raw": float(p_steps)})
    out = pd.DataFrame(rows, columns=["problem", "a", "b", "seeds", "a_only", "b_only",
                                      "p_success_raw", "p_steps_raw"])
    out["p_success"] = holm(out.p_success_raw) if len(out) else []
    out["p_steps"] = holm(out.p_steps_raw) if len(out) else []
    return out


CURVE_BYTES = 256 * 2 ** 20  # the loss histories curves() holds at once, float32: 67M numbers
QUANTILES = (0.1, 0.5, 0.9)


def curves(df, seeds=100, select="success", problem=None):
    """Learning curves over restarts: the loss against step, per (problem, optimizer, order) at
    its best setting, as the 10%, 50% and 90% quantiles over its seeds.

    Each of the first `seeds` seeds of the best setting is trained again, one at a time,
    keeping its loss at every forward pass in float32 (a run that ends early keeps its last
    loss: converged runs stay below tol, diverged ones at inf). Memory: at most seeds x
    max_steps x 4 bytes a curve, CURVE_BYTES (256 MiB); more is refused before any run.

    Parameters
    ----------
    df : pandas.DataFrame
        A result table with random restarts, as for `compare`.
    seeds : int, default 100
        Restarts per curve, the lowest seeds of the setting.
    select : {"success", "median"}
        How the best setting is chosen (see `compare`).
    problem : str, path or dict, optional
        The problem, where the table's is not a built-in (its name is all a table keeps).

    Returns
    -------
    pandas.DataFrame
        Tidy: problem, optimizer, order, setting, step, restarts, and the loss quantiles
        q10, q50 (the median) and q90 at that step.

    Examples
    --------
    >>> df = bpbench.sweep("sgd", problem="xor", lr=[1.0, 2.0], seed={"start": 0, "num": 20},
    ...                    max_steps=300)
    >>> c = bpbench.curves(df, seeds=10)
    >>> first = c.iloc[0]
    >>> first.setting, int(first.step), int(first.restarts)
    ('lr=2', 1, 10)
    >>> bool((c.q10 <= c.q50).all() and (c.q50 <= c.q90).all())
    True
    """
    from . import grid
    from .analysis import at_best
    from .api import _trajectory
    if select not in ("success", "median"):
        raise BpbenchError(f"select must be success or median for curves, not {select!r}")
    if "seed" not in df or df.seed.isna().all():
        raise BpbenchError("curves need random restarts (a seed axis)")
    conf = grid.settings(df.attrs.get("tol"), df.attrs.get("max_steps"),
                         df.attrs.get("dtype"), df.attrs.get("margin"))
    need = seeds * conf["max_steps"] * 4
    if need > CURVE_BYTES:
        raise BpbenchError(f"{seeds:,} seeds x {conf['max_steps']:,} steps of float32 loss is "
                           f"{need / 2**20:,.0f} MiB a curve, more than the "
                           f"{CURVE_BYTES / 2**20:.0f} MiB curves() holds; use fewer seeds")
    best = at_best(df, select)
    hs = hyperparameters(df)
    frames = []
    for key, g in best.groupby(GROUP, observed=True, sort=False):
        prob = grid.resolve_problem(problem if problem is not None else str(key[0]))
        if prob.name != key[0]:
            raise BpbenchError(f"the table's problem is {key[0]!r}, not {prob.name!r}")
        row = g.iloc[0]
        hyper = {h: float(row[h]) for h in hs if pd.notna(row[h])}
        chosen = np.sort(g.seed.dropna().astype("int64").unique())[:seeds]
        loss = np.empty((len(chosen), conf["max_steps"]), np.float32)
        for k, s in enumerate(chosen):
            block = grid.block(key[1], key[2], prob, int(s), **hyper)
            _, history, status = _trajectory(block, conf)
            loss[k, :len(history)] = history
            loss[k, len(history):] = np.inf if status == "diverged" else history[-1]
        q = np.quantile(loss, QUANTILES, axis=0)
        named = [h for h in hs if df[df.optimizer == key[1]][h].nunique() > 1] or hs[:1]
        frames.append(pd.DataFrame({
            "problem": key[0], "optimizer": key[1], "order": key[2],
            "setting": _setting_label(row, named), "step": np.arange(1, loss.shape[1] + 1),
            "restarts": len(chosen), "q10": q[0], "q50": q[1], "q90": q[2]}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs = dict(df.attrs)
    return out
