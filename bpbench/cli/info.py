"""problems and bench: what bpbench knows, and how fast it runs here."""
import click

from . import main
from .formats import emit, format_option


@main.command()
def problems():
    """List the built-in problems, one line each.

    encoder-N-M stands for any N-M-N encoder (N, M up to 64), parity-N for N-bit parity (N up
    to 10: 2^N patterns through N-N-1). Your own problem is a TOML file
    with a [problem] table (layers, inputs, targets, bias, and weights/biases or init); see the
    README.
    """
    from ..problems import listing
    rows = listing()
    width = max(len(n) for n, _ in rows)
    for name, text in rows:
        click.echo(f"{name:<{width}}  {text}")


@main.command()
@click.option("--workload", default="W1,W2,W3", show_default=True,
              help="comma list of workloads: W1, W2, W3, R1, LARGE, E1, OPT")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Numba threads  [default: all cores]")
@click.option("--repeat", type=click.IntRange(1), default=3, show_default=True,
              help="timed runs per measurement (the median is shown)")
@format_option
def bench(workload, threads, repeat, fmt):
    """Measure config-steps per second per workload, backend, mode and dtype.

    W1: RMSprop lr x beta x eps (8,192 configurations), simultaneous order; W2: the same in
    inplace order; W3: gradient descent over 8,192 learning rates; R1: XOR restarts, momentum
    over 4 learning rates x 8,192 seeds; LARGE: 1,048,576 RMSprop configurations; E1: the
    10-5-10 encoder from 4,096 restarts (the looped kernels); OPT: every optimizer, 512
    learning rates each. Prints, per backend / mode / dtype: configurations,
    useful config-steps (forward passes run), wall seconds, config-steps/s, the ratio to the
    NumPy backend, compile seconds, and how many configurations differ from exact float64
    mode. The header names the CPU's SIMD extension (AVX2, AVX-512): compare figures only
    between machines that share it. --format csv, json or md prints one table of every
    measurement instead, with threads and ISA as columns.
    """
    from .. import bench as bench_
    names = [w.strip().upper() for w in workload.split(",") if w.strip()]
    unknown = [w for w in names if w not in bench_.WORKLOADS]
    if unknown or not names:
        raise click.BadParameter(f"unknown workload {unknown[0] if unknown else workload!r}; "
                                 f"choose from {', '.join(bench_.WORKLOADS)}",
                                 param_hint="--workload")
    rows = bench_.run(names, threads, repeat, echo=click.echo if fmt == "text" else None)
    if fmt != "text":
        import pandas as pd
        emit(pd.DataFrame(rows), fmt)

