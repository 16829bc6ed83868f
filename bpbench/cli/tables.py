"""show and plot: reading saved tables."""
import click

from ..optimizers import HYPERPARAMETERS
from . import echo_summary, load_table, main, order_option, partial_option

RESTART_ROWS = 30  # settings listed by show


@main.command()
@click.argument("table", type=click.Path(exists=True))
@click.option("--by", multiple=True, type=click.Choice(HYPERPARAMETERS),
              help="also split the summary by this hyperparameter (repeatable)")
@click.option("--pivot", nargs=2, metavar="X Y", default=None,
              type=click.Choice(HYPERPARAMETERS),
              help="median steps over two hyperparameters (columns X, rows Y)")
@click.option("--windows", is_flag=True,
              help="the convergent learning-rate window per setting of the others")
@partial_option
def show(table, by, pivot, windows, partial):
    """Summarise a saved table (a file or a dataset directory) per problem, optimizer and order.

    Configurations, the share converged / at max_steps / diverged, min, median and IQR of
    steps (non-converged counted as infinite), and the best configuration. A table with random
    restarts also gets one row per setting: restarts, success rate, and quantiles of steps.
    """
    from .. import analysis
    df = load_table(table, partial)
    echo_summary(df, by)
    settings = {k: df.attrs[k] for k in ("tol", "margin", "max_steps", "dtype", "backend",
                                         "chunks") if k in df.attrs}
    if settings:
        click.echo("  ".join(f"{k}={v}" for k, v in settings.items()))
    if analysis.has_restarts(df):
        r = analysis.restarts(df).sort_values(["success", "median"], ascending=[False, True])
        shown = r.head(RESTART_ROWS)
        click.echo("\nrandom restarts per setting (success = share converged; steps "
                   "quantiles with failures as infinite)"
                   + (f"; the best {RESTART_ROWS} of {len(r)}" if len(r) > RESTART_ROWS else "")
                   + ":")
        click.echo(shown.to_string(index=False, float_format="{:.4g}".format))
    if windows:
        click.echo("\nconvergent learning-rate windows:")
        click.echo(analysis.lr_window(df).to_string(index=False))
    if pivot:
        for (opt, order), g in df.groupby(["optimizer", "order"], observed=True):
            click.echo(f"\nmedian steps, {opt} {order} (rows {pivot[1]}, columns {pivot[0]}):")
            click.echo(analysis.pivot(g, *pivot).to_string(float_format="{:.0f}".format))


@main.command()
@click.argument("table", type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="image file to write (.png, .svg, .pdf)")
@click.option("--x", "x", default="lr", show_default=True, type=click.Choice(HYPERPARAMETERS),
              help="hyperparameter on the horizontal axis")
@click.option("--y", "y", default="beta", show_default=True, type=click.Choice(HYPERPARAMETERS),
              help="hyperparameter on the vertical axis")
@click.option("--facet", type=click.Choice(HYPERPARAMETERS), default=None,
              help="one panel per value of this hyperparameter")
@click.option("--optimizer", default=None, help="only this optimizer's rows")
@order_option(default=None, help="only this update order's rows")
@click.option("--kind", type=click.Choice(["heatmap", "ecdf"]), default="heatmap",
              show_default=True,
              help="heatmap over --x and --y, or ecdf: the fraction of restarts converged by "
                   "step t, one curve per setting")
@click.option("--value", type=click.Choice(["steps", "success"]), default="steps",
              show_default=True,
              help="heatmap colour: median steps, or the share of runs (restarts) converged")
@partial_option
def plot(table, output, x, y, facet, optimizer, order, kind, value, partial):
    """Heatmap over two hyperparameters, or restart ECDFs.

    Heatmap: log axes where the grid is log-spaced, a log colour scale for steps, and hatched
    grey cells for configurations that never converged. Other hyperparameters (and seeds) are
    reduced by the median, or by the share converged with --value success. ECDF: for each
    setting, the fraction of its restarts converged by each step. Needs matplotlib
    (pip install 'bpbench[plot]').
    """
    from .. import plots, results
    if kind == "heatmap" and x == y:
        raise click.UsageError(f"--x and --y are both {x}; a heatmap needs two hyperparameters")
    results.check_folder(output)
    df = load_table(table, partial)
    if optimizer:
        df = df[df.optimizer == optimizer]
    if order:
        df = df[df.order == order]
    if df.empty:
        raise ValueError(f"{table} has no rows for " + " and ".join(
            f"{k} {v}" for k, v in (("optimizer", optimizer), ("order", order)) if v))
    if kind == "ecdf":
        plots.save(plots.ecdf_curves(df), output)
        click.echo(f"wrote {output}")
        return
    if df.optimizer.nunique() != 1 or df.order.nunique() != 1:
        combos = df.groupby(["optimizer", "order"], observed=True).ngroups
        raise ValueError("plot one optimizer and order at a time: pick them with --optimizer "
                         f"and --order (table has {combos} combinations)")
    plots.save(plots.heatmap(df, x, y, facet, value), output)
    click.echo(f"wrote {output}")


