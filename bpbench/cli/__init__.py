"""The bpbench command line (click): the group, its error handling and the shared options.

Commands live by family: claim.py (reproduce, trace), sweep.py (run), tables.py (show, plot),
info.py (problems, bench)."""
import os
import sys

import click

from .. import grid
from ..errors import BpbenchError
from ..network import ORDER_ALIASES, ORDERS
from ..optimizers import HYPERPARAMETERS, MEANING

# "seed" stays accepted for the order the post's in-place back() defines, now "inplace".
ORDER_CHOICE = click.Choice(list(ORDERS) + list(ORDER_ALIASES))


def partial_option(f):
    return click.option("--partial", is_flag=True,
                        help="read an unfinished dataset directory as far as it goes "
                             "(otherwise refused)")(f)


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
        except (BpbenchError, OSError) as e:  # anything else is a bug: its traceback shows
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


def hyper_options(f=None, *, kind=None):
    """--lr, --beta, ... one option per hyperparameter of any optimizer: an AXIS (a number,
    list or range) for run, or kind=float (one value) for trace."""
    def add(f):
        for h in reversed(HYPERPARAMETERS):
            f = click.option(f"--{h.replace('_', '-')}", h, type=kind,
                             metavar="AXIS" if kind is None else "X", help=MEANING[h])(f)
        return f
    return add(f) if f is not None else add


def setting_options(f):
    f = click.option("--schedule", metavar="KIND:...", default=None,
                     help="learning-rate schedule, stepped once an epoch: step:STEP_SIZE:GAMMA "
                          "(torch's StepLR), exponential:GAMMA (ExponentialLR) or "
                          "inverse_time:DECAY (lr / (1 + DECAY k)); a parameter may be a comma "
                          "list (run)  [default: constant]")(f)
    f = click.option("--shuffle/--no-shuffle", default=None,
                     help="take each epoch's patterns in an order drawn from the seed and the "
                          "epoch  [default: the data's order]")(f)
    f = click.option("--batch", metavar="full|online|K", default=None,
                     help="patterns per update: all of them (a step is one update), online "
                          "(one update per pattern) or K  [default: full]")(f)
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



def echo_summary(df, by=()):
    click.echo(readable_summary(df, by).to_string(index=False))


def readable_summary(df, by=()):
    """analysis.summary with its shares as percentages that add up to 100.0%."""
    from .. import analysis
    s = analysis.summary(df, by)
    cols = ["converged", "max_steps", "diverged"]
    pct = [analysis.percentages(r) for r in s[cols].to_numpy()]
    for k, col in enumerate(cols):
        s[col] = [f"{p[k]:.1f}%" for p in pct]
    return s


def load_table(path, partial=False):
    from .. import results
    try:
        df = results.load_dataset(path, partial) if os.path.isdir(path) else results.load(path)
    except results.IncompleteDataset:
        raise
    except Exception as e:  # pyarrow/pandas raise many types for a file that is not a table
        raise BpbenchError(f"{path}: cannot read as a bpbench table ({type(e).__name__})")
    missing = set(results.COLUMNS) - set(df.columns)
    if missing:
        raise BpbenchError(f"{path}: not a bpbench table (missing {', '.join(sorted(missing))})")
    return df


JUDGED_BY = ("tol", "margin", "max_steps", "dtype")  # settings tables must share to be read as one


def load_tables(paths, partial=False):
    """Several tables (files or dataset directories) as one, when they were judged alike:
    the same tol, margin, max_steps and dtype (refused in one line where they differ)."""
    from .. import results
    from ..analysis import settings_of
    frames = [load_table(p, partial) for p in paths]
    if len(frames) == 1:
        return frames[0]
    for k in JUDGED_BY:
        values = {repr(f.attrs.get(k)) for f in frames}
        if len(values) > 1:
            raise BpbenchError(f"the tables differ in {k} ({', '.join(sorted(values))}); "
                               f"compare tables run with the same settings")
    for c in ("optimizer", "order"):  # union the categories, as concat does for problem
        names = list(dict.fromkeys(x for f in frames for x in f[c].cat.categories))
        frames = [f.assign(**{c: f[c].cat.set_categories(names)}) for f in frames]
    # every setting the tables agree on (backend, chunks... where they differ, none is told)
    attrs = {k: v for k, v in frames[0].attrs.items() if all(f.attrs.get(k) == v for f in frames)}
    df = results.concat(frames, attrs)
    twice = int(df.duplicated(settings_of(df) + ["seed"]).sum())
    if twice:
        raise BpbenchError(f"the tables share {twice:,} configurations (the same setting and "
                           f"seed), which would count twice; read them one at a time")
    return df


from . import claim, info, sweep, tables  # noqa: E402,F401  (registers the commands)
