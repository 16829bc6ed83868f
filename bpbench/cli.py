"""The bpbench command line (click)."""
import os
import sys

import click

from . import grid
from .backends import BACKENDS
from .network import ORDER_ALIASES, ORDERS
from .optimizers import HYPERPARAMETERS, OPTIMIZERS

# "seed" stays accepted for the order the post's in-place back() defines, now "inplace".
ORDER_CHOICE = click.Choice(list(ORDERS) + list(ORDER_ALIASES))


def order_option(**kw):
    return click.option("--order", type=ORDER_CHOICE,
                        callback=lambda ctx, param, v: ORDER_ALIASES.get(v, v), **kw)


def problem_option(f):
    return click.option("--problem", metavar="NAME|FILE", default=None,
                        help="a built-in problem (bpbench problems) or a TOML file with a "
                             "[problem] table  [default: the sweep file's, else post]")(f)


class Group(click.Group):
    """Every user error ends as one line on stderr and a non-zero exit, never a traceback."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"bpbench: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("bpbench: interrupted", err=True)
            sys.exit(130)
        except (grid.GridError, ValueError, OSError) as e:
            click.echo(f"bpbench: error: {e}", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
@click.version_option(package_name="bpbench")
def main():
    """Sweep optimizers, hyperparameters and random restarts over small sigmoid networks.

    Start with `bpbench reproduce`, which checks the backpropagation post's claim (gradient
    descent needs 111 steps to reach loss < 1e-7, RMSprop 11) number by number. `bpbench run
    sweeps/FILE.toml` runs a grid of configurations into a Parquet table; `bpbench show`
    summarises it; `bpbench problems` lists the built-in networks (post, xor, encoders).
    """


def hyper_options(f):
    helps = {"lr": "learning rate (> 0)",
             "beta": "momentum / RMSprop alpha / Adam beta1, in [0, 1)",
             "beta2": "Adam beta2, in [0, 1)", "eps": "epsilon added after the square root (>= 0)"}
    for h in reversed(HYPERPARAMETERS):
        f = click.option(f"--{h}", metavar="AXIS", help=helps[h])(f)
    return f


def setting_options(f):
    f = click.option("--margin", type=float, default=None,
                     help="converged when every output is within margin of its target, "
                          "instead of loss < tol (0: use tol)  [default: the problem's]")(f)
    f = click.option("--dtype", type=click.Choice(grid.DTYPES), default=None,
                     help="floating type of the run  [default: float64]")(f)
    f = click.option("--max-steps", type=int, default=None,
                     help="cap on forward passes per configuration  [default: 10000]")(f)
    f = click.option("--tol", type=float, default=None,
                     help="converged when the loss < tol  [default: 1e-7]")(f)
    return f


@main.command()
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              help="also draw both runs' loss curves, in both orders, to this image")
def reproduce(plot_file):
    """Reproduce the post's claim: 111 steps for gradient descent, 11 for RMSprop.

    Runs both of the post's configurations in its own in-place update order, prints
    the trace lines it printed in its own format and compares every number, then shows the
    textbook ("simultaneous") order that PyTorch computes, in float64 and float32. Exits with
    status 1 if any number differs from the post.
    """
    from .api import trajectory
    from .claim import POST, post_line, printed_steps

    if plot_file:
        from .results import check_folder
        check_folder(plot_file)

    def steps(opt, **kw):
        return len(trajectory(opt, **kw)[1])

    failures = 0
    rows = []
    for (opt, hyper), text in POST.items():
        hyper = dict(hyper)
        label = f"{opt} " + " ".join(f"{k}={v:g}" for k, v in hyper.items())
        output, loss, status = trajectory(opt, order="inplace", **hyper)
        printed = printed_steps(text)
        click.echo(f"{label}, inplace order:")
        for want, s in zip(text.splitlines(), printed):
            got = post_line(s, output[s - 1], loss[s - 1]) if s <= len(loss) else "(none)"
            ok = got == want
            failures += not ok
            click.echo(f"  {got}" + ("" if ok else f"   MISMATCH, post: {want}"))
        failures += not (len(loss) == printed[-1] and status == "converged")
        rows.append((label, opt, hyper, printed[-1], len(loss)))
    click.echo(f"\n  {'optimizer and hyperparameters':<36} {'post':>5} {'inplace':>8} "
               f"{'simultaneous':>13} {'float32':>8}")
    for label, opt, hyper, claimed, got in rows:
        sim = steps(opt, order="simultaneous", **hyper)
        f32 = steps(opt, order="simultaneous", dtype="float32", **hyper)
        failures += (sim, f32) != (claimed, claimed)  # the explanation below says they agree
        click.echo(f"  {label:<36} {claimed:>5} {got:>8} {sim:>13} {f32:>8}")
    rms = next(hyper for _, opt, hyper, *_ in rows if opt == "rmsprop")
    lr_eff = rms["lr"] / rms["eps"]
    gd = steps("sgd", order="inplace", lr=lr_eff)
    click.echo(
        "\nWhy the orders differ: the post's back() updates w35 and w45 first and uses their\n"
        "new values for the first-layer gradients (inplace); textbook backprop and PyTorch\n"
        "compute every gradient from the old weights (simultaneous). Trajectories part from\n"
        "step 2, yet both orders give 111 and 11, and so does float32, the dtype of the post's\n"
        "PyTorch script.\n"
        "\nWhy 11 beats 111: RMSprop moves each weight by lr / (sqrt(s) + eps) * g. Here the\n"
        "gradients are ~1e-2 and s starts near 0.001 g^2, so sqrt(s) ~ 1e-3 << eps = 0.01: the\n"
        "rule is nearly gradient descent with learning rate lr / eps = 10 instead of 1.\n"
        f"Gradient descent with lr = {lr_eff:g} needs {gd} steps (inplace order): a tenfold\n"
        "step size, a tenfold speed-up.")
    if plot_file:
        from . import plots
        from .api import trace
        curves = [(f"{opt} {o}", trace(opt, order=o, **hyper))
                  for _, opt, hyper, *_ in rows for o in ORDERS]
        plots.save(plots.loss_curves(curves), plot_file)
        click.echo(f"wrote {plot_file}")
    if failures:
        click.echo(f"\n{failures} number(s) differ from the post", err=True)
        return 1
    click.echo("\nevery number the post prints is reproduced")
    return 0


@main.command()
@click.argument("sweep_file", metavar="SWEEP.toml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(), default=None,
              help="a .parquet or .csv file, or a directory (DIR/ or a name without an "
                   "extension) for a chunked Parquet dataset  [default: ./SWEEP.parquet]")
@click.option("--force", is_flag=True, help="overwrite an existing output file")
@click.option("--resume", is_flag=True,
              help="finish an interrupted sweep in the output directory, skipping done chunks")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default="cpu", show_default=True,
              help="where the kernels run")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Dask scheduler (tcp://host:8786) for --backend dask  [default: a local "
                   "cluster]")
@click.option("--fast", is_flag=True,
              help="fast kernels: FMA contraction and reassociation; rarely a different count")
@order_option(default=None, help="override every block's update order (inplace: the post's "
                                  "back(); simultaneous: textbook; seed: old name of inplace)")
@problem_option
@click.option("--seed", metavar="SEEDS", default=None,
              help="restart seeds for a problem with a random init: N, a comma list or "
                   "START..STOP  [default: the file's, else 0]")
@click.option("--chunk-size", type=click.IntRange(1), default=None,
              help="configurations per chunk  [default: 65536]")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@setting_options
@hyper_options
def run(sweep_file, output, force, resume, backend, scheduler, fast, order, problem, seed,
        chunk_size, quiet, tol, max_steps, dtype, margin, **hyper):
    """Run the sweep in SWEEP.toml and save its table.

    Options override the file: an AXIS is a number, a comma list (0.01,0.1,1) or a range
    lin:START:STOP:NUM or log:START:STOP:NUM, and replaces that hyperparameter in every block
    that uses it. The table has one row per configuration; a summary per optimizer is printed.

    The sweep runs in chunks. With a directory as output each finished chunk is written at
    once (DIR/part-NNNNN.parquet, read whole with pandas.read_parquet(DIR)); after Ctrl-C or a
    crash, --resume finishes the sweep and keeps every chunk already done. A file output is
    written once, at the end, and must fit in memory.
    """
    import time

    from . import dataset, results
    from .api import iter_chunks
    from .backends import backend_module

    backend_module(backend)
    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    overrides = dict(hyper, order=order, tol=tol, max_steps=max_steps, dtype=dtype,
                     margin=margin, problem=problem, seed=seed)
    blocks, conf = grid.load(sweep_file, overrides)
    if output is None:
        output = os.path.splitext(os.path.basename(sweep_file))[0] + ".parquet"
    n = sum(b.size for b in blocks)
    size = chunk_size or dataset.CHUNK
    chunks = dataset.plan(blocks, size)
    as_dir = output.endswith(os.sep) or os.path.isdir(output) or not os.path.splitext(output)[1]
    if as_dir:
        ds = dataset.Dataset(output, blocks, conf, fast, size, resume)
        done = {i for i in range(len(chunks)) if ds.done(i)}
    else:
        if resume:
            raise click.UsageError("--resume needs a directory output (-o DIR/)")
        results.check_writable(output, force)
        dataset.check_memory(n)
        done = set()
    click.echo(f"{sweep_file}: {len(blocks)} block(s), {n:,} configurations, backend {backend}"
               + (f", {len(done)} of {len(chunks)} chunks already done" if done else ""),
               err=True)
    options = {"scheduler": scheduler} if scheduler else {}
    frames, steps, finished = [], 0, len(done)
    t0 = time.perf_counter()
    bar = progress(sum(hi - lo for i, (_, lo, hi) in enumerate(chunks) if i not in done), quiet)
    try:
        for i, df, cs in iter_chunks(blocks, conf, backend, fast, chunks, done,
                                     {"sweep": os.path.basename(sweep_file)}, **options):
            if as_dir:
                ds.write(i, df)
            else:
                frames.append(df)
            finished += 1
            steps += cs
            bar.update(len(df))
            bar.set_postfix_str(f"{steps / (time.perf_counter() - t0):.3g} config-steps/s")
    except KeyboardInterrupt:
        bar.close()
        kept = (f"{finished} of {len(chunks)} chunks are saved in {output}; rerun with --resume"
                if as_dir else "nothing was saved; use -o DIR/ to keep finished chunks")
        click.echo(f"bpbench: interrupted: {kept}", err=True)
        return 130
    bar.close()
    wall = time.perf_counter() - t0
    if as_dir:
        try:
            dataset.check_memory(n)
        except grid.GridError:
            click.echo(f"saved {n:,} rows in {len(chunks)} parts to {output} ({wall:.2f} s); "
                       f"too big to summarise in memory")
            return 0
        df = results.load_dataset(output)
    else:
        df = results.concat(frames, dict(frames[0].attrs, wall_s=round(wall, 6)))
        results.save(df, output)
    echo_summary(df)
    click.echo(f"saved {len(df):,} rows to {output} ({wall:.2f} s)")


def progress(total, quiet):
    """A tqdm bar on stderr for sweeps of more than about a second, when stderr is a terminal."""
    from tqdm import tqdm
    return tqdm(total=total, unit="config", unit_scale=True, file=sys.stderr, delay=1.0,
                disable=quiet or not sys.stderr.isatty(), leave=False)


@main.command()
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), required=True,
              help="update rule")
@order_option(default="simultaneous", show_default=True,
              help="inplace: the post's in-place back() (seed: its old name); simultaneous: "
                   "textbook")
@problem_option
@click.option("--seed", type=click.IntRange(0), default=None,
              help="restart seed, for a problem with a random init  [default: 0]")
@setting_options
@click.option("--lr", type=float, help="learning rate (> 0)")
@click.option("--beta", type=float, help="momentum / RMSprop alpha / Adam beta1")
@click.option("--beta2", type=float, help="Adam beta2")
@click.option("--eps", type=float, help="epsilon")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              help="also draw the loss curve, in both update orders, to this image")
def trace(optimizer, order, problem, seed, tol, max_steps, dtype, margin, plot_file, **hyper):
    """Print every forward pass of one configuration, in the post's format.

    Hyperparameters not given take torch.optim's defaults. yp is the first output on the
    first pattern; Error is the loss summed over patterns and outputs.
    Example: bpbench trace --optimizer rmsprop --lr 0.1 --beta 0.999 --eps 0.01 --order inplace
    """
    from .api import trace as trace_
    from .claim import post_line

    hyper = {k: v for k, v in hyper.items() if v is not None}
    if plot_file:
        from .results import check_folder
        check_folder(plot_file)
    settings = dict(problem=problem, seed=seed, tol=tol, max_steps=max_steps, dtype=dtype,
                    margin=margin)
    t = trace_(optimizer, order=order, **settings, **hyper)
    for s, y, e in zip(t.step, t.output, t.loss):
        click.echo(post_line(s, y, e))
    click.echo(f"{t.attrs['status']} after {len(t)} forward passes", err=True)
    if plot_file:
        from . import plots
        curves = [(f"{optimizer} {o}", trace_(optimizer, order=o, **settings, **hyper))
                  for o in ORDERS]
        plots.save(plots.loss_curves(curves), plot_file)
        click.echo(f"wrote {plot_file}", err=True)


RESTART_ROWS = 30  # settings listed by show


def echo_summary(df, by=()):
    from . import analysis
    s = analysis.summary(df, by)
    for col in ("converged", "max_steps", "diverged"):
        s[col] = (100 * s[col]).map("{:.1f}%".format)
    click.echo(s.to_string(index=False))


def load_table(path):
    from . import results
    try:
        df = results.load_dataset(path) if os.path.isdir(path) else results.load(path)
    except Exception as e:  # pyarrow/pandas raise many types for a file that is not a table
        raise ValueError(f"{path}: cannot read as a bpbench table ({type(e).__name__})")
    missing = set(results.COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not a bpbench table (missing {', '.join(sorted(missing))})")
    return df


@main.command()
@click.argument("table", type=click.Path(exists=True))
@click.option("--by", multiple=True, type=click.Choice(HYPERPARAMETERS),
              help="also split the summary by this hyperparameter (repeatable)")
@click.option("--pivot", nargs=2, metavar="X Y", default=None,
              type=click.Choice(HYPERPARAMETERS),
              help="median steps over two hyperparameters (columns X, rows Y)")
@click.option("--windows", is_flag=True,
              help="the convergent learning-rate window per setting of the others")
def show(table, by, pivot, windows):
    """Summarise a saved table (a file or a dataset directory) per problem, optimizer and order.

    Configurations, the share converged / at max_steps / diverged, min, median and IQR of
    steps (non-converged counted as infinite), and the best configuration. A table with random
    restarts also gets one row per setting: restarts, success rate, and quantiles of steps.
    """
    from . import analysis
    df = load_table(table)
    echo_summary(df, by)
    settings = {k: df.attrs[k] for k in ("tol", "margin", "max_steps", "dtype", "backend")
                if k in df.attrs}
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
def plot(table, output, x, y, facet, optimizer, order, kind, value):
    """Heatmap over two hyperparameters, or restart ECDFs.

    Heatmap: log axes where the grid is log-spaced, a log colour scale for steps, and hatched
    grey cells for configurations that never converged. Other hyperparameters (and seeds) are
    reduced by the median, or by the share converged with --value success. ECDF: for each
    setting, the fraction of its restarts converged by each step. Needs matplotlib
    (pip install 'bpbench[plot]').
    """
    from . import plots, results
    results.check_folder(output)
    df = load_table(table)
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


@main.command()
def problems():
    """List the built-in problems, one line each.

    encoder-N-M stands for any N-M-N encoder (N, M up to 64). Your own problem is a TOML file
    with a [problem] table (layers, inputs, targets, bias, and weights/biases or init); see the
    README.
    """
    from .problems import listing
    rows = listing()
    width = max(len(n) for n, _ in rows)
    for name, text in rows:
        click.echo(f"{name:<{width}}  {text}")


@main.command()
@click.option("--workload", default="W1,W2,W3", show_default=True,
              help="comma list of workloads: W1, W2, W3, R1, LARGE")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Numba threads  [default: all cores]")
@click.option("--repeat", type=click.IntRange(1), default=3, show_default=True,
              help="timed runs per measurement (the median is shown)")
def bench(workload, threads, repeat):
    """Measure config-steps per second per workload, backend, mode and dtype.

    W1: RMSprop lr x beta x eps (8,192 configurations), simultaneous order; W2: the same in
    inplace order; W3: gradient descent over 8,192 learning rates; R1: XOR restarts, momentum
    over 4 learning rates x 8,192 seeds; LARGE: 1,048,576 RMSprop configurations. Prints, per
    backend / mode / dtype: configurations, useful config-steps (forward passes run), wall
    seconds, config-steps/s, the ratio to the NumPy backend, compile seconds, and how many
    configurations differ from exact float64 mode.
    """
    from . import bench as bench_
    names = [w.strip().upper() for w in workload.split(",") if w.strip()]
    unknown = [w for w in names if w not in bench_.WORKLOADS]
    if unknown or not names:
        raise click.BadParameter(f"unknown workload {unknown[0] if unknown else workload!r}; "
                                 f"choose from {', '.join(bench_.WORKLOADS)}",
                                 param_hint="--workload")
    bench_.run(names, threads, repeat, echo=click.echo)
