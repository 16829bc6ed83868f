"""Sweep specifications: validate, then expand to flat hyperparameter tables.

A run block is one optimizer, one update order and one axis per hyperparameter; its grid is
the Cartesian product of the axes (lr varies slowest). An axis is a number, a list, or a range
``{start, stop, num, scale = "linear" | "log"}``; on the command line the same range is written
``lin:START:STOP:NUM`` or ``log:START:STOP:NUM``, a list as ``a,b,c``. Everything is checked
before anything runs, and every problem raises GridError with a one-line message.
"""
import math
import tomllib
from dataclasses import dataclass, field

import numpy as np

from .network import ORDERS
from .optimizers import HYPERPARAMETERS, OPTIMIZERS

DTYPES = ("float64", "float32")
SETTINGS = {"tol": 1e-7, "max_steps": 10000, "dtype": "float64"}


class GridError(ValueError):
    """A sweep specification that cannot be run; the message is one line for the user."""


@dataclass
class Block:
    optimizer: str
    order: str = "simultaneous"
    axes: dict = field(default_factory=dict)  # hyperparameter -> 1-D float64 array

    @property
    def size(self):
        return math.prod(len(a) for a in self.axes.values())

    def table(self, dtype="float64", lo=0, hi=None):
        """H[4, n]: lr, beta, beta2, eps of configurations lo..hi-1 (0 where the rule has no
        such hyperparameter), lr varying slowest. Only that slice is ever built, so a chunk of
        a huge grid costs memory for the chunk alone."""
        names = OPTIMIZERS[self.optimizer].hyper
        hi = self.size if hi is None else hi
        index = np.unravel_index(np.arange(lo, hi), [len(self.axes[h]) for h in names])
        H = np.zeros((len(HYPERPARAMETERS), hi - lo), dtype=dtype)
        for h, i in zip(names, index):
            H[HYPERPARAMETERS.index(h)] = self.axes[h][i]
        return H


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
        num = spec["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise GridError(f"{name}: num must be a positive integer, got {num!r}")
        start, stop = _number(name, spec["start"]), _number(name, spec["stop"])
        if scale == "log":
            if start <= 0 or stop <= 0:
                raise GridError(f"{name}: a log range needs positive start and stop")
            values = np.geomspace(start, stop, num)
        elif scale == "linear":
            values = np.linspace(start, stop, num)
        else:
            raise GridError(f"{name}: scale must be 'linear' or 'log', got {scale!r}")
    elif isinstance(spec, (list, tuple, np.ndarray)):
        values = np.array([_number(name, v) for v in spec], dtype=np.float64)
    else:
        values = np.array([_number(name, spec)], dtype=np.float64)
    if values.size == 0:
        raise GridError(f"{name}: empty list, so the grid is empty")
    _check_range(name, values)
    return values


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
    if name == "lr" and np.any(values <= 0):
        raise GridError(f"lr must be > 0, got {values[values <= 0][0]:g}")
    if name in ("beta", "beta2") and np.any((values < 0) | (values >= 1)):
        bad = values[(values < 0) | (values >= 1)][0]
        raise GridError(f"{name} must be in [0, 1), got {bad:g}")
    if name == "eps" and np.any(values < 0):
        raise GridError(f"eps must be >= 0, got {values[values < 0][0]:g}")


def block(optimizer, order="simultaneous", **hyper):
    """A validated Block; hyperparameters not given take torch.optim's defaults."""
    if optimizer not in OPTIMIZERS:
        raise GridError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if order not in ORDERS:
        raise GridError(f"unknown order {order!r}; choose from {', '.join(ORDERS)}")
    opt = OPTIMIZERS[optimizer]
    for h in hyper:
        if h not in opt.hyper:
            what = "hyperparameter" if h in HYPERPARAMETERS else "key"
            raise GridError(f"{optimizer} has no {what} {h!r}; it takes {', '.join(opt.hyper)}")
    axes = {h: axis(h, hyper.get(h, default)) for h, default in opt.defaults.items()}
    return Block(optimizer, order, axes)


def settings(tol=None, max_steps=None, dtype=None):
    """Validated run settings, defaults filled in."""
    s = {"tol": SETTINGS["tol"] if tol is None else tol,
         "max_steps": SETTINGS["max_steps"] if max_steps is None else max_steps,
         "dtype": SETTINGS["dtype"] if dtype is None else dtype}
    tol = _number("tol", s["tol"])
    if not (math.isfinite(tol) and tol > 0):
        raise GridError(f"tol must be a finite number > 0, got {s['tol']!r}")
    m = s["max_steps"]
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise GridError(f"max_steps must be an integer >= 1, got {m!r}")
    if s["dtype"] not in DTYPES:
        raise GridError(f"dtype must be one of {', '.join(DTYPES)}, got {s['dtype']!r}")
    if s["dtype"] == "float32" and m > 2 ** 24:
        raise GridError("max_steps must be <= 2**24 in float32 (the step count is a float)")
    return {"tol": tol, "max_steps": int(m), "dtype": s["dtype"]}


def load(path, overrides=None):
    """(blocks, settings) from a TOML sweep file; overrides (hyperparameter axes, order or
    settings, from the command line) replace the file's values."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise GridError(f"{path}: no such sweep file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise GridError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise GridError(f"{path}: cannot read: {e.strerror}") from None
    return parse(doc, overrides, where=str(path))


def parse(doc, overrides=None, where="sweep"):
    overrides = dict(overrides or {})
    unknown = set(doc) - set(SETTINGS) - {"run", "name", "description"}
    if unknown:
        raise GridError(f"{where}: unknown key {sorted(unknown)[0]!r}; top-level keys are "
                        f"name, description, tol, max_steps, dtype and [[run]] blocks")
    runs = doc.get("run")
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise GridError(f"{where}: needs at least one [[run]] block")
    cli = {k: overrides.pop(k, None) for k in SETTINGS}
    conf = settings(**{k: doc.get(k) if cli[k] is None else cli[k] for k in SETTINGS})
    order = overrides.pop("order", None)
    hyper = {h: v for h, v in overrides.items() if v is not None}
    used = {h for r in runs if r.get("optimizer") in OPTIMIZERS
            for h in OPTIMIZERS[r["optimizer"]].hyper}
    for h in hyper:
        if h not in HYPERPARAMETERS:
            raise GridError(f"unknown override {h!r}")
        if h not in used:
            raise GridError(f"no run block in {where} has a hyperparameter {h!r}")
    blocks = []
    for i, r in enumerate(runs, 1):
        r = dict(r)
        if "optimizer" not in r:
            raise GridError(f"{where}: run block {i} has no optimizer")
        name = r.pop("optimizer")
        if order is not None:
            r["order"] = order
        if name in OPTIMIZERS:
            r.update({h: v for h, v in hyper.items() if h in OPTIMIZERS[name].hyper})
        try:
            blocks.append(block(name, **r))
        except GridError as e:
            raise GridError(f"{where}: run block {i}: {e}") from None
    return blocks, conf
