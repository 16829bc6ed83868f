"""show and plot: reading saved tables."""
import click

from ..optimizers import HYPERPARAMETERS
from . import echo_summary, load_tables, main, order_option, partial_option
from .formats import emit, format_option
from ..errors import BpbenchError

ROWS = 30  # rows of a long table that show prints as text
# plots.KINDS and analysis.REDUCTIONS, spelled out so that the CLI starts without pandas
KINDS = ("auto", "heatmap", "line", "scatter", "ecdf", "compare", "curves")
REDUCTIONS = ("median", "best")
OPTIONS = ("batch", "shuffle", "schedule", "step_size", "gamma", "decay")  # analysis's


def filter_rows(df, table, optimizer, order):
    """The rows of one optimizer (a comma list) and/or order, or a clear error if none."""
    if optimizer:
        names = [o.strip() for o in optimizer.split(",")]
        df = df[df.optimizer.isin(names)]
    if order:
        df = df[df.order == order]
    if df.empty:
        raise BpbenchError(f"{table} has no rows for " + " and ".join(
            f"{k} {v}" for k, v in (("optimizer", optimizer), ("order", order)) if v))
    for c in ("problem", "optimizer", "order"):
        if hasattr(df[c], "cat"):
            df = df.assign(**{c: df[c].cat.remove_unused_categories()})
    return df


def pivots(df, x, y):
    """(optimizer, order, pivot) for each group that has both axes; the names of those that
    do not (sgd has no beta) come back separately instead of aborting the others."""
    from .. import analysis
    done, skipped = [], []
    for (opt, order), g in df.groupby(["optimizer", "order"], observed=True):
        if all(c in g and g[c].notna().any() for c in (x, y)):
            done.append((opt, order, analysis.pivot(g, x, y)))
        else:
            skipped.append(f"{opt} {order}")
    return done, skipped


@main.command()
@click.argument("tables", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--by", multiple=True,
              type=click.Choice(HYPERPARAMETERS + OPTIONS),
              help="also split the summary by this hyperparameter or run option (batch, "
                   "shuffle, schedule; repeatable)")
@click.option("--pivot", nargs=2, metavar="X Y", default=None,
              type=click.Choice(HYPERPARAMETERS),
              help="median steps over two hyperparameters (columns X, rows Y)")
@click.option("--windows", is_flag=True,
              help="the convergent learning-rate windows per setting of the others")
@click.option("--restarts", "restarts_", is_flag=True,
              help="one row per setting over its random restarts (shown anyway when a "
                   "table has restarts)")
@click.option("--optimizer", metavar="NAMES", default=None,
              help="only these optimizers' rows (a comma list)")
@order_option(default=None, help="only this update order's rows")
@format_option
@partial_option
def show(tables, by, pivot, windows, restarts_, optimizer, order, fmt, partial):
    """Summarise saved tables (files or dataset directories) per problem, optimizer and order.

    Several TABLES are read as one when they were judged alike (the same tol, margin,
    max_steps and dtype), e.g. two sweeps of one study.

    Configurations, the share converged / at max_steps / diverged, min, median and IQR of
    steps, the best configuration (fewest steps) and the robust best (fewest steps among
    settings whose grid neighbours converge too). Medians count runs that did not converge
    as infinitely slow and interpolate (the mean of the middle two of an even count), the same
    in every table here and in the Python API. A table with random restarts also gets one row
    per setting: restarts, success rate, and quantiles of steps.

    --format csv, json or md prints one table: the summary, or the one --windows, --pivot or
    --restarts asks for (a pivot as a tidy table: one row per cell).
    """
    from .. import analysis
    table = ", ".join(tables)
    df = filter_rows(load_tables(tables, partial), table, optimizer, order)
    if fmt != "text":
        views = [v for v, on in (("--windows", windows), ("--pivot", pivot),
                                 ("--restarts", restarts_)) if on]
        if len(views) > 1:
            raise click.UsageError(f"--format {fmt} prints one table: choose one of "
                                   + ", ".join(views))
        if windows:
            out = analysis.lr_window(df)
        elif pivot:
            done, _ = pivots(df, *pivot)
            if not done:
                raise BpbenchError(f"no optimizer in {table} has both {pivot[0]} and {pivot[1]}")
            import pandas as pd
            out = pd.concat([p.stack().rename("median_steps").reset_index()
                             .assign(optimizer=opt, order=o) for opt, o, p in done])
            out = out[["optimizer", "order", pivot[1], pivot[0], "median_steps"]]
        elif restarts_:
            out = analysis.restarts(df)
        else:
            out = analysis.summary(df, by)
        emit(out, fmt)
        return
    echo_summary(df, by)
    settings = {k: df.attrs[k] for k in ("tol", "margin", "max_steps", "dtype", "backend",
                                         "chunks") if k in df.attrs}
    if settings:
        click.echo("  ".join(f"{k}={v}" for k, v in settings.items()))
    if restarts_ or analysis.has_restarts(df):
        r = analysis.restarts(df).sort_values(["success", "median"], ascending=[False, True])
        shown = r.head(ROWS)
        click.echo("\nrandom restarts per setting (success = share converged; steps "
                   "quantiles with failures as infinite)"
                   + (f"; the best {ROWS} of {len(r)}" if len(r) > ROWS else "") + ":")
        click.echo(shown.to_string(index=False, float_format="{:.4g}".format))
    if windows:
        w = analysis.lr_window(df)
        click.echo("\nconvergent learning-rate windows (runs of converging grid lrs; at_edge: "
                   "the window reaches the grid's end and may be wider)"
                   + (f"; the first {ROWS} of {len(w)}, all with --format csv" if len(w) > ROWS
                      else "") + ":")
        click.echo(w.head(ROWS).to_string(index=False, float_format="{:.4g}".format))
    if pivot:
        done, skipped = pivots(df, *pivot)
        for opt, order, p in done:
            click.echo(f"\nmedian steps, {opt} {order} (rows {pivot[1]}, columns {pivot[0]}):")
            click.echo(p.to_string(float_format="{:.0f}".format))
        if skipped:
            click.echo(f"\nno {pivot[0]} x {pivot[1]} pivot for " + ", ".join(skipped)
                       + " (they lack one of the two)")


def parse_mark(ctx, param, text):
    """--mark lr=0.1,beta=0.999 as {"lr": 0.1, "beta": 0.999}."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in HYPERPARAMETERS:
            raise click.BadParameter(f"{part!r} is not NAME=VALUE with NAME one of "
                                     f"{', '.join(HYPERPARAMETERS)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a number (in {part!r})") from None
    return out


@main.command()
@click.argument("tables", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="image file to write (.png, .svg, .pdf)")
@click.option("--kind", type=click.Choice(KINDS), default="auto", show_default=True,
              help="heatmap over --x and --y; line: --x against steps, a colour per --hue; "
                   "scatter: sampled (non-grid) sweeps; ecdf: the share of restarts "
                   "converged by step t, one curve per optimizer at its best setting; compare: "
                   "each optimizer's best success rate and median steps with 95% intervals; "
                   "curves: the loss's median and 10-90% band over 100 restarts against step, "
                   "each optimizer at its best setting (retrained). auto: ecdf for restarts, "
                   "scatter when not a grid, heatmap for one optimizer over --x and --y, else "
                   "line")
@click.option("--x", "x", default="lr", show_default=True, type=click.Choice(HYPERPARAMETERS),
              help="hyperparameter on the horizontal axis")
@click.option("--y", "y", default="beta", show_default=True, type=click.Choice(HYPERPARAMETERS),
              help="hyperparameter on the vertical axis (heatmap, scatter)")
@click.option("--hue", default="optimizer", show_default=True,
              type=click.Choice(["optimizer", "order", "problem", *HYPERPARAMETERS]),
              help="lines: one colour per value of this column")
@click.option("--facet", type=click.Choice(HYPERPARAMETERS), default=None,
              help="one panel per value of this hyperparameter (at most 24)")
@click.option("--optimizer", metavar="NAMES", default=None,
              help="only these optimizers' rows (a comma list)")
@order_option(default=None, help="only this update order's rows")
@click.option("--value", type=click.Choice(["steps", "success"]), default="steps",
              show_default=True,
              help="steps to convergence, or the share of runs (restarts) converged")
@click.option("--reduce", type=click.Choice(REDUCTIONS), default=None,
              help="the hyperparameters not drawn, and seeds: pooled by the median, or the "
                   "best setting  [default: median for heatmaps, best for lines]")
@click.option("--mark", metavar="NAME=V,...", callback=parse_mark, default=None,
              help="a reference point, e.g. lr=0.1,beta=0.999 (the post's RMSprop)")
@click.option("--cmap", default="viridis", show_default=True,
              help="matplotlib colour map (heatmap, scatter)")
@click.option("--vmin", type=float, default=None, help="lower end of the colour scale")
@click.option("--vmax", type=float, default=None, help="upper end of the colour scale")
@click.option("--logx/--no-logx", default=None,
              help="log horizontal axis on lines  [default: for geometric grids]")
@click.option("--logy/--no-logy", default=None,
              help="log steps on lines  [default: when steps span 10x or more]")
@partial_option
def plot(tables, output, kind, x, y, hue, facet, optimizer, order, value, reduce, mark, cmap,
         vmin, vmax, logx, logy, partial):
    """Draw saved tables: heatmap, lines, scatter, restart ECDFs or a comparison.

    Several TABLES are read as one when they were judged alike (see show).

    Titles say the problem, optimizers, order and convergence criterion; captions say what
    the colour or height is and how the hyperparameters not drawn (and the seeds) were
    reduced. Steps count runs that never converged as infinite: a grey hatched cell, a gap
    in a line, a grey cross. Log axes where a grid is geometric, equal cells for a few or
    uneven values. Lines mark each optimizer's convergent lr windows along the bottom, with an
    arrow where a window is cut off by the grid's edge. Needs matplotlib
    (pip install 'bpbench[plot]').

    Examples: bpbench plot optimizers.parquet -o lines.png;
    bpbench plot optimizers.parquet --optimizer rmsprop --kind heatmap --facet eps
    --mark lr=0.1,beta=0.999 -o heat.png
    """
    from .. import plots, results
    results.check_folder(output)
    df = filter_rows(load_tables(tables, partial), ", ".join(tables), optimizer, order)
    plots.plot(df, kind, output, x=x, y=y, hue=hue, facet=facet, value=value, reduce=reduce,
               cmap=cmap, vmin=vmin, vmax=vmax, mark=mark, logx=logx, logy=logy)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("tables", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--select", type=click.Choice(["success", "median", "robust"]), default="success",
              show_default=True,
              help="what 'best' means: success (highest success rate, then lowest median "
                   "steps), median (lowest median steps, then success) or robust (highest "
                   "lower 95% bound of the success rate, then median)")
@click.option("--holdout", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None,
              help="choose each best setting on the lowest (1 - F) share of the seeds and "
                   "report it on the rest (e.g. 0.5)")
@click.option("--pairs", is_flag=True,
              help="also test every two optimizers on their shared seeds: McNemar's exact test "
                   "on success, Wilcoxon signed-rank on steps, Holm-adjusted")
@click.option("--optimizer", metavar="NAMES", default=None,
              help="only these optimizers' rows (a comma list)")
@order_option(default=None, help="only this update order's rows")
@format_option
@partial_option
def compare(tables, select, holdout, pairs, optimizer, order, fmt, partial):
    """Each optimizer at its best setting, with 95% intervals, from tables with restarts.

    One row per problem, optimizer and order: the setting chosen by --select, its restarts,
    success rate with a Wilson interval, median steps (runs that never converged count as
    infinitely slow) with its order-statistic interval, and the 10% and 90% quantiles of
    steps (scipy.stats). Several TABLES (files or dataset directories) are read as one when
    they share tol, margin, max_steps and dtype. --format md prints both tables; csv and json
    print one, the pairwise table with --pairs.

    Example: bpbench run sweeps/xor_restarts.toml -o xor.parquet; bpbench compare xor.parquet
    --pairs --holdout 0.5
    """
    from ..studies import compare as compare_
    df = filter_rows(load_tables(tables, partial), ", ".join(tables), optimizer, order)
    out = compare_(df, select, holdout, pairs)
    best, tests = out if pairs else (out, None)
    if fmt == "md":  # a document: both tables
        emit(best, fmt, float_format="{:.4g}")
        if pairs:
            click.echo()
            emit(tests, fmt, float_format="{:.3g}")
        return
    if fmt != "text":
        emit(tests if pairs else best, fmt, float_format="{:.4g}")
        return
    click.echo(f"best setting per optimizer: {best.attrs['select']}; 95% intervals "
               f"(success: Wilson; median steps, failures infinite: order statistics)")
    cols = ["problem", "optimizer", "order", "setting", "restarts", "success", "success_low",
            "success_high", "median_steps", "median_low", "median_high", "q10", "q90"]
    click.echo(best[cols].to_string(index=False, float_format="{:.4g}".format))
    if pairs:
        click.echo("\npairs on shared seeds (a_only / b_only: runs only that one converged); "
                   "p-values Holm-adjusted over all pairs: p_success McNemar exact, p_steps "
                   "Wilcoxon signed-rank with failures ranked last")
        click.echo(tests.drop(columns=["p_success_raw", "p_steps_raw"])
                   .to_string(index=False, float_format="{:.3g}".format))
