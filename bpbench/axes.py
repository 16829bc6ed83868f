"""The sweep spec language: what a hyperparameter, seed, order or schedule may be written as.

A hyperparameter axis is a number, a list, or a range ``{start, stop, num, scale = "linear" |
"log"}``; on the command line the same range is written ``lin:START:STOP:NUM`` or
``log:START:STOP:NUM``, a list as ``a,b,c``. A seed axis is an integer, a list, or ``{start,
num}`` (``START..STOP`` on the command line). A learning-rate schedule is a table ``{ kind =
"step", step_size = 10, gamma = 0.5 }`` (``step:10:0.5``). Each is checked here, and every
mistake raises GridError with a one-line message.
"""
import numpy as np

from .errors import GridError
from .network import ORDER_ALIASES, ORDERS

MAX_AXIS = 10 ** 7  # values on one axis (80 MB); more is a sampling job, not a grid


# A learning-rate schedule (loops.schedule): its kind and the parameters each kind takes,
# which are axes like the rule's hyperparameters (and columns of the table).
SCHEDULES = {"constant": (), "step": ("step_size", "gamma"), "exponential": ("gamma",),
             "inverse_time": ("decay",)}


SCHEDULE_PARAMETERS = ("step_size", "gamma", "decay")


def axis(name, spec):
    """A hyperparameter axis from a number, list, range table or command-line string."""
    if isinstance(spec, str):
        spec = _parse_axis(name, spec)
    if isinstance(spec, dict):
        unknown = set(spec) - {"start", "stop", "num", "scale"}
        if unknown or not {"start", "stop", "num"} <= set(spec):
            raise GridError(f"{name}: a range needs start, stop and num "
                            f"(and optionally scale = 'linear' or 'log'), got {sorted(spec)}")
        scale = spec.get("scale", "linear")
        num = _count(name, spec["num"])
        start, stop = _number(name, spec["start"]), _number(name, spec["stop"])
        if scale == "log":
            if start <= 0 or stop <= 0:
                raise GridError(f"{name}: a log range needs positive start and stop")
            values = np.geomspace(start, stop, num)
        elif scale == "linear":
            values = np.linspace(start, stop, num)
        else:
            raise GridError(f"{name}: scale must be 'linear' or 'log', got {scale!r}")
    elif isinstance(spec, (list, tuple, range, np.ndarray)):
        if len(spec) > MAX_AXIS:
            raise GridError(f"{name}: {len(spec):,} values, more than the {MAX_AXIS:,} an axis "
                            f"can hold")
        values = np.array([_number(name, v) for v in spec], dtype=np.float64)
    else:
        values = np.array([_number(name, spec)], dtype=np.float64)
    if values.size == 0:
        raise GridError(f"{name}: empty list, so the grid is empty")
    _check_range(name, values)
    return values


def _count(name, num):
    """A range's num: a positive integer small enough to build (checked before building)."""
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
        raise GridError(f"{name}: num must be a positive integer, got {num!r}")
    if num > MAX_AXIS:
        raise GridError(f"{name}: num = {num:,} is more than the {MAX_AXIS:,} values an axis "
                        f"can hold; use fewer points")
    return int(num)


def _parse_axis(name, text):
    parts = text.split(":")
    if parts[0] in ("lin", "log"):
        if len(parts) != 4:
            raise GridError(f"{name}: write a range as {parts[0]}:START:STOP:NUM, got {text!r}")
        try:
            start, stop, num = float(parts[1]), float(parts[2]), int(parts[3])
        except ValueError:
            raise GridError(f"{name}: cannot read range {text!r}") from None
        return {"start": start, "stop": stop, "num": num,
                "scale": "log" if parts[0] == "log" else "linear"}
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise GridError(f"{name}: {text!r} is not a number, a comma list or a "
                        f"lin:/log:START:STOP:NUM range") from None


def _number(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise GridError(f"{name}: {v!r} is not a number")
    return float(v)


def _check_range(name, values):
    if not np.all(np.isfinite(values)):
        raise GridError(f"{name}: values must be finite numbers (got NaN or inf)")
    rule = RANGES.get(name)
    if rule is not None:
        test, text = rule
        bad = values[~test(values)]
        if bad.size:
            raise GridError(f"{name} must be {text}, got {bad[0]:g}")


# Valid values of each hyperparameter (torch.optim's own checks where it has them).
RANGES = {
    "lr": (lambda v: v > 0, "> 0"),
    "beta": (lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
    "beta2": (lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
    "eps": (lambda v: v >= 0, ">= 0"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "momentum_decay": (lambda v: v >= 0, ">= 0"),
    "eta_minus": (lambda v: (v > 0) & (v < 1), "in (0, 1)"),
    "eta_plus": (lambda v: v > 1, "> 1"),
    "step_min": (lambda v: v >= 0, ">= 0"),
    "step_max": (lambda v: v > 0, "> 0"),
    "mu": (lambda v: v > 0, "> 0"),
    "step_size": (lambda v: v >= 1, ">= 1"),
    "gamma": (lambda v: v > 0, "> 0"),
    "decay": (lambda v: v >= 0, ">= 0"),
}


def seed_axis(spec):
    """Restart seeds from an integer, a list, {start, num} or a command-line string."""
    if isinstance(spec, str):
        spec = _parse_seeds(spec)
    if isinstance(spec, dict):
        if set(spec) != {"start", "num"}:
            raise GridError(f"seed: a range is {{start, num}}, got {sorted(spec)}")
        start, num = _seed(spec["start"]), _count("seed", spec["num"])
        if start + num > 2 ** 63:
            raise GridError("seed: seeds must stay below 2**63")
        return np.arange(start, start + int(num), dtype=np.int64)
    if isinstance(spec, (list, tuple, range, np.ndarray)):
        if len(spec) > MAX_AXIS:
            raise GridError(f"seed: {len(spec):,} seeds, more than the {MAX_AXIS:,} an axis "
                            f"can hold")
        values = np.array([_seed(v) for v in spec], dtype=np.int64)
        if values.size == 0:
            raise GridError("seed: empty list, so the grid is empty")
        return values
    return np.array([_seed(spec)], dtype=np.int64)


def _seed(v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < 2 ** 63:
        raise GridError(f"seed: seeds are integers in [0, 2**63), got {v!r}")
    return int(v)


def _parse_seeds(text):
    try:
        if ".." in text:
            a, b = (int(x) for x in text.split(".."))
        else:
            return [int(v) for v in text.split(",")]
    except ValueError:
        raise GridError(f"seed: {text!r} is not an integer, a comma list or START..STOP") \
            from None
    if b < a:
        raise GridError(f"seed: {text!r} runs backwards; write START..STOP with START <= STOP")
    return {"start": a, "num": b - a + 1}


def order_name(order):
    """The canonical update order ("seed" is the old name of "inplace")."""
    if isinstance(order, str):
        order = ORDER_ALIASES.get(order, order)
    if not isinstance(order, str) or order not in ORDERS:
        raise GridError(f"unknown order {order!r}; choose from {', '.join(ORDERS)} "
                        f"(seed is an alias of inplace)")
    return order


def parse_schedule(spec):
    """(kind, {parameter: axis spec}) from None, a table such as { kind = "step", step_size =
    10, gamma = 0.5 } (a parameter may be a list or range) or the command line's
    step:STEP_SIZE:GAMMA, exponential:GAMMA, inverse_time:DECAY or constant (a parameter may
    be a comma list: exponential:0.9,0.99)."""
    if spec is None:
        return "constant", {}
    if isinstance(spec, str):
        kind, *values = spec.split(":")
        if kind not in SCHEDULES or len(values) != len(SCHEDULES[kind]):
            raise GridError(f"schedule: write step:STEP_SIZE:GAMMA, exponential:GAMMA, "
                            f"inverse_time:DECAY or constant; got {spec!r}")
        try:  # a parameter may be a comma list, an axis like --lr's
            spec = {"kind": kind, **{h: [float(x) for x in v.split(",")] if "," in v
                                     else float(v) for h, v in zip(SCHEDULES[kind], values)}}
        except ValueError:
            raise GridError(f"schedule: {spec!r} has a value that is not a number") from None
    if not isinstance(spec, dict) or spec.get("kind") not in SCHEDULES:
        raise GridError(f"schedule needs a kind, one of {', '.join(SCHEDULES)}, as in "
                        f"schedule = {{ kind = \"step\", step_size = 10, gamma = 0.5 }}; "
                        f"got {spec!r}")
    kind = spec["kind"]
    params = {h: v for h, v in spec.items() if h != "kind"}
    wanted = set(SCHEDULES[kind])
    if set(params) != wanted:
        what = (f"takes {', '.join(SCHEDULES[kind])}" if wanted else "takes no parameters")
        raise GridError(f"schedule: {kind} {what}; got {', '.join(sorted(params)) or 'none'}")
    return kind, params


def canonical(opt, hyper):
    """hyper with torch.optim's names for opt (alpha, momentum, betas) turned into ours."""
    out = {h: v for h, v in hyper.items() if h not in opt.aliases}
    for alias, target in opt.aliases.items():
        if alias not in hyper:
            continue
        value = hyper[alias]
        if isinstance(target, tuple):
            if not isinstance(value, (list, tuple)) or len(value) != len(target):
                raise GridError(f"{alias} takes a pair ({', '.join(target)}), as in torch.optim; "
                                f"got {value!r}")
            pairs = dict(zip(target, value))
        else:
            pairs = {target: value}
        for h, v in pairs.items():
            if h in out:
                raise GridError(f"{opt.name}: give {h} or {alias}, not both ({alias} is "
                                f"torch.optim's name for it)")
            out[h] = v
    return out
