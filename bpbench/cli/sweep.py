"""run: a sweep file (or options) through a backend into a table or a dataset."""
import contextlib
import os
import signal
import sys
import threading

import click

from .. import grid
from ..backends import BACKENDS
from ..optimizers import OPTIMIZERS
from ..sampling import parse_sample
from . import echo_summary, hyper_options, main, problem_option, setting_options


@main.command()
@click.argument("sweep_file", metavar="[SWEEP.toml]", type=click.Path(dir_okay=False),
                required=False)
@click.option("--optimizer", metavar="NAMES", default=None,
              help="without a sweep file: the optimizers to sweep, a comma list of "
                   + ", ".join(OPTIMIZERS))
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
@click.option("--order", metavar="ORDERS", default=None,
              help="update order(s) for every block, a comma list: inplace (the post's back(); "
                   "seed is its old name) or simultaneous (textbook)")
@problem_option
@click.option("--seed", metavar="SEEDS", default=None,
              help="restart seeds for a problem with a random init: N, a comma list or "
                   "START..STOP  [default: the file's, else 0]")
@click.option("--sample", metavar="N[:METHOD[:SEED]]", default=None,
              help="draw N points over every range given without NUM (--lr log:1e-3:1): "
                   "METHOD sobol (default), random or lhs, by scipy.stats.qmc; SEED default 0")
@click.option("--chunk-size", type=click.IntRange(1), default=None,
              help="configurations per chunk  [default: 65536]")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@setting_options
@hyper_options
def run(sweep_file, optimizer, output, force, resume, backend, scheduler, fast, order, problem,
        seed, sample, chunk_size, quiet, tol, max_steps, dtype, margin, batch, shuffle,
        schedule, **hyper):
    """Run the sweep in SWEEP.toml, or one given by options alone, and save its table.

    Options override the file: an AXIS is a number, a comma list (0.01,0.1,1) or a range
    lin:START:STOP:NUM or log:START:STOP:NUM, and replaces that hyperparameter in every block
    that uses it. A range without NUM (log:1e-3:1) is sampled instead, jointly with the other
    such ranges: --sample 4096:sobol draws 4,096 points. Without a file, --optimizer names the
    optimizers and the options are the whole sweep, e.g. bpbench run --optimizer rmsprop,adam
    --order inplace,simultaneous --lr log:1e-3:1:64 -o out.parquet. The table has one row per
    configuration; a summary per optimizer is printed.

    The sweep runs in chunks. With a directory as output each finished chunk is written at
    once (DIR/part-NNNNN.parquet, read whole with pandas.read_parquet(DIR)); Ctrl-C lets the
    chunk in progress finish and be saved (press it twice to stop at once), and after Ctrl-C
    or a crash --resume finishes the sweep and keeps every chunk already done. A file output is
    written once, at the end, and must fit in memory.
    """
    import time

    from .. import dataset, results
    from ..api import fill, iter_chunks
    from ..backends import backend_module

    backend_module(backend, fast)  # before anything is read or written
    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    orders = None if order is None else [o.strip() for o in order.split(",")]
    overrides = dict(hyper, order=orders, tol=tol, max_steps=max_steps, dtype=dtype,
                     margin=margin, batch=batch, shuffle=shuffle, schedule=schedule,
                     problem=problem, seed=seed,
                     sample=None if sample is None else parse_sample(sample))
    if sweep_file is None:
        if not optimizer:
            raise click.UsageError("give a sweep file, or --optimizer (and the axes) to sweep "
                                   "without one")
        if output is None:
            raise click.UsageError("without a sweep file, name the output with -o")
        doc = {"run": [{"optimizer": [o.strip() for o in optimizer.split(",")]}]}
        blocks, conf = grid.parse(doc, overrides, where="command line")
        label = "command line"
    else:
        if optimizer:
            raise click.UsageError("--optimizer is for sweeps without a file; the file's "
                                   "[[run]] blocks name their optimizers")
        blocks, conf = grid.load(sweep_file, overrides)
        label = sweep_file
    if output is None:
        output = os.path.splitext(os.path.basename(sweep_file))[0] + ".parquet"
    size = chunk_size or dataset.CHUNK
    chunks = dataset.plan(blocks, size)
    as_dir = output.endswith(os.sep) or os.path.isdir(output) or not os.path.splitext(output)[1]
    if as_dir:
        ds = dataset.Dataset(output, blocks, conf, fast, size, resume)
        blocks, chunks = ds.blocks, ds.chunks  # with any part it holds or extends
        done = {i for i in range(len(chunks)) if ds.done(i)}
    else:
        if resume:
            raise click.UsageError("--resume needs a directory output (-o DIR/)")
        results.check_writable(output, force)
        dataset.check_memory(sum(b.size for b in blocks))
        done = set()
    n = sum(b.size for b in blocks)
    click.echo(f"{label}: {len(blocks)} block(s), {n:,} configurations, backend {backend}"
               + (f", {len(done)} of {len(chunks)} chunks already done" if done else ""),
               err=True)
    options = {"scheduler": scheduler} if scheduler else {}
    frames, steps, finished = [], 0, len(done)
    t0 = time.perf_counter()
    bar = progress(sum(hi - lo for i, (_, lo, hi) in enumerate(chunks) if i not in done), quiet)
    attrs = {"sweep": os.path.basename(label)}

    def computed():  # (chunk, config-steps) as each chunk is saved or kept
        if as_dir:
            yield from fill(ds, conf, backend, fast, attrs, bar.update, **options)
            return
        for i, df, cs in iter_chunks(blocks, conf, backend, fast, chunks, done, attrs,
                                     bar.update, **options):
            frames.append((i, df))
            yield i, cs

    try:
        with deferred_interrupt() as stop:
            for i, cs in computed():
                finished += 1
                steps += cs
                bar.set_postfix_str(f"{steps / (time.perf_counter() - t0):.3g} config-steps/s")
                if stop.requested and finished < len(chunks):
                    raise KeyboardInterrupt
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
        frames = [df for _, df in sorted(frames, key=lambda chunk: chunk[0])]
        df = results.concat(frames, dict(frames[0].attrs, wall_s=round(wall, 6)))
        results.save(df, output)
    echo_summary(df)
    click.echo(f"saved {len(df):,} rows to {output} ({wall:.2f} s)")
    nothing_converged(df)


def nothing_converged(df):
    """A note where no configuration converged: with torch's default learning rates (1e-3 for
    sgd) a run of the default length rarely does, and a table of 0% says nothing about why."""
    if (df.status == "converged").any():
        return
    counts = df.status.value_counts()
    why = ", ".join(f"{counts[s]:,} {s}" for s in ("max_steps", "diverged") if counts.get(s))
    click.echo(f"note: no configuration converged ({why}); try other learning rates (--lr "
               f"0.1,1,10: an lr not given is torch.optim's default, 1e-3 for sgd) or a larger "
               f"--max-steps", err=True)


class _Stop:
    requested = False


@contextlib.contextmanager
def deferred_interrupt():
    """Ctrl-C lets the chunk being computed finish (and be saved) before the run stops; a
    second Ctrl-C stops at once."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old)


def progress(total, quiet):
    """A tqdm bar on stderr for sweeps of more than about a second, when stderr is a terminal:
    the cpu backend reports configurations as they finish, so one chunk gets a bar too."""
    from tqdm import tqdm
    return tqdm(total=total, unit="config", unit_scale=True, file=sys.stderr, delay=1.0,
                disable=quiet or not sys.stderr.isatty(), leave=False)
