"""reproduce and trace: the post's claim, and one configuration step by step."""
import click

from ..network import ORDERS
from ..optimizers import OPTIMIZERS
from . import hyper_options, main, order_option, problem_option, setting_options
from .formats import emit, format_option


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
    from ..api import trajectory
    from ..claim import POST, post_line, printed_steps

    if plot_file:
        from ..results import check_folder
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
        from .. import plots
        from ..api import trace
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
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), required=True,
              help="update rule")
@order_option(default="simultaneous", show_default=True,
              help="inplace: the post's in-place back() (seed: its old name); simultaneous: "
                   "textbook")
@problem_option
@click.option("--seed", type=click.IntRange(0), default=None,
              help="restart seed, for a problem with a random init  [default: 0]")
@setting_options
@hyper_options(kind=float)
@click.option("--weights", is_flag=True,
              help="also every parameter's value, gradient and optimizer state per step, as "
                   "columns (w35 joins unit 3 to unit 5; grad_w35, m_w35, v_w35)")
@format_option
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              help="also draw the loss curve, in both update orders, to this image")
def trace(optimizer, order, problem, seed, tol, max_steps, dtype, margin, batch, shuffle,
          schedule, weights, fmt, plot_file, **hyper):
    """Print every forward pass of one configuration, in the post's format.

    Hyperparameters not given take torch.optim's defaults. yp is the first output on the
    first pattern; Error is the loss summed over patterns and outputs. With --weights or a
    --format other than text, one row per step instead: step, output, loss and (--weights)
    each parameter's value during that forward pass, its gradient there, and the optimizer's
    state after the update that follows.
    Example: bpbench trace --optimizer rmsprop --lr 0.1 --beta 0.999 --eps 0.01 --order inplace
    """
    from ..api import trace as trace_
    from ..claim import post_line

    hyper = {k: v for k, v in hyper.items() if v is not None}
    if plot_file:
        from ..results import check_folder
        check_folder(plot_file)
    settings = dict(problem=problem, seed=seed, tol=tol, max_steps=max_steps, dtype=dtype,
                    margin=margin, batch=batch or "full", shuffle=bool(shuffle),
                    schedule=schedule)
    t = trace_(optimizer, order=order, weights=weights, **settings, **hyper)
    if weights or fmt != "text":
        emit(t, fmt, float_format="{:.17g}")
    else:
        for s, y, e in zip(t.step, t.output, t.loss):
            click.echo(post_line(s, y, e))
    click.echo(f"{t.attrs['status']} after {len(t)} forward passes", err=True)
    if plot_file:
        from .. import plots
        curves = [(f"{optimizer} {o}", trace_(optimizer, order=o, **settings, **hyper))
                  for o in ORDERS]
        plots.save(plots.loss_curves(curves), plot_file)
        click.echo(f"wrote {plot_file}", err=True)


