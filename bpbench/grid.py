"""Sweep specifications: run blocks, settings and sweep files, expanded to flat tables.

A run block is one problem, one optimizer, one update order, one axis per hyperparameter (and
per schedule parameter) and, for problems with a random init, an axis of integer seeds; its
grid is the Cartesian product of the axes (lr varies slowest, seed fastest), or sampled points
crossed with them. What an axis, a seed, an order or a schedule may be written as is axes.py's;
sampling is sampling.py's. Everything is checked before anything runs, and every problem
raises GridError with a one-line message.
"""
import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np

from . import problems
from .axes import SCHEDULES, _number, axis, canonical, order_name, parse_schedule, seed_axis
from .errors import GridError
from .optimizers import HYPERPARAMETERS, OPTIMIZERS, SLOTS
from .sampling import draw

DTYPES = ("float64", "float32")
MAX_CONFIGS = 10 ** 12  # configurations in one sweep: days of work on any machine
SETTINGS = {"tol": 1e-7, "max_steps": 10000, "dtype": "float64", "margin": None,
            "batch": "full", "shuffle": False}


@dataclass
class Block:
    optimizer: str
    order: str = "simultaneous"
    axes: dict = field(default_factory=dict)  # hyperparameter -> 1-D float64 array
    problem: problems.Problem = problems.POST
    seeds: np.ndarray = None  # int64 restart seeds; None for a problem with explicit weights
    # sampled hyperparameters: name -> n values (point k is every name's k-th value), crossed
    # with the axes; sample is the validated specification that drew them
    samples: dict = None
    sample: dict = None
    schedule: str = None  # a kind of SCHEDULES other than constant; its parameters in axes
    batch: object = None  # the block's own batch and shuffle settings; None: the sweep's
    shuffle: bool = None

    @property
    def restarts(self):
        return 1 if self.seeds is None else len(self.seeds)

    @property
    def points(self):
        """Sampled points (1 without sampling)."""
        return len(next(iter(self.samples.values()))) if self.samples else 1

    @property
    def size(self):
        return math.prod(len(a) for a in self.axes.values()) * self.points * self.restarts

    def _hi(self, hi):
        return self.size if hi is None else hi

    def table(self, dtype="float64", lo=0, hi=None):
        """H[SLOTS, n]: the rule's hyperparameters (in the order of its Optimizer.defaults,
        the slots h0.. its update takes; unused slots 0) of configurations lo..hi-1: sampled
        points slowest, then the axes in that order, each repeated for every seed. Only that
        slice is ever built, so a chunk of a huge grid costs memory for the chunk alone."""
        names = self.names
        hi = self._hi(hi)
        gridded = [h for h in names if h in self.axes]
        point, *index = np.unravel_index(np.arange(lo, hi) // self.restarts,
                                         [self.points] + [len(self.axes[h]) for h in gridded])
        value = {h: (self.samples[h][point] if h not in self.axes
                     else self.axes[h][index[gridded.index(h)]]) for h in names}
        rule = OPTIMIZERS[self.optimizer].hyper
        H = np.zeros((SLOTS + 4, hi - lo), dtype=dtype)
        for r, h in enumerate(rule):
            H[r] = value[h]
        # rows SLOTS.. : the schedule's kind, step size (1 where none), gamma or decay; and
        # the key of the seed's pattern shuffles (loops.shuffle)
        H[SLOTS + 1] = 1.0
        if self.schedule:
            from .loops import SCHEDULES as KINDS
            H[SLOTS] = KINDS.index(self.schedule)
            H[SLOTS + 1] = value.get("step_size", 1.0)
            H[SLOTS + 2] = value.get("gamma", value.get("decay"))
        seeds = self.seed_values(lo, hi)
        if seeds is not None:
            H[SLOTS + 3] = shuffle_key(seeds)
        return H

    @property
    def names(self):
        """The block's hyperparameters: its rule's, then its schedule's."""
        return OPTIMIZERS[self.optimizer].hyper + SCHEDULES[self.schedule or "constant"]

    def values(self, lo=0, hi=None):
        """{hyperparameter: float64 values} of configurations lo..hi-1, as the grid has them
        (a schedule's parameters too)."""
        H = self.table("float64", lo, hi)
        out = {h: H[r] for r, h in enumerate(OPTIMIZERS[self.optimizer].hyper)}
        if self.schedule:
            for h in SCHEDULES[self.schedule]:
                out[h] = H[SLOTS + 1] if h == "step_size" else H[SLOTS + 2]
        return out

    def seed_values(self, lo=0, hi=None):
        """The seed of each configuration lo..hi-1, or None without a seed axis."""
        if self.seeds is None:
            return None
        return self.seeds[np.arange(lo, self._hi(hi)) % self.restarts]

    def initial(self, dtype="float64", lo=0, hi=None):
        """W0[parameter, configuration]: initial parameters of configurations lo..hi-1."""
        hi = self._hi(hi)
        return self.problem.initial(self.seed_values(lo, hi), dtype, hi - lo)

    def args(self, dtype="float64", lo=0, hi=None, batch="full", shuffle=False):
        """(shape, optimizer, order, H, W0, K) for a backend's run(), configurations lo..hi-1,
        the run settings batch ("full", "online" or patterns per update) and shuffle in K's
        header."""
        shape = self.problem.shape
        size = None if batch == "full" else 1 if batch == "online" else int(batch)
        shuffle = bool(shuffle) and shape.patterns > 1
        if self.schedule or shuffle or (size is not None and size < shape.patterns):
            shape = dataclasses.replace(shape, model=True)  # only the looped kernels have them
        return (shape, self.optimizer, self.order, self.table(dtype, lo, hi),
                self.initial(dtype, lo, hi), self.problem.data(dtype, size, shape, shuffle))


def shuffle_key(seeds):
    """The key of each seed's pattern shuffles: the top 24 bits of a SplitMix64 hash of it,
    exact in any float dtype."""
    return (problems.splitmix(np.asarray(seeds, np.uint64)) >> np.uint64(40)).astype(np.float64)


def resolve_problem(spec):
    """A validated problems.Problem (None: the post)."""
    try:
        return problems.resolve(spec)
    except problems.ProblemError as e:
        raise GridError(str(e)) from None


def block(optimizer, order="simultaneous", problem=None, seed=None, sample=None,
          schedule=None, batch=None, shuffle=None, **hyper):
    """A validated Block; hyperparameters not given take torch.optim's defaults. problem is a
    Problem, a built-in name, a TOML file or a dict (default: the post); seed the restart
    seeds of a problem with a random init (default: seed 0); sample = {n, method, seed} draws
    n points jointly over every range given without num (see draw); schedule a learning-rate
    schedule (see parse_schedule), whose parameters may be axes; batch and shuffle the
    block's own, where they differ from the sweep's (settings)."""
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise GridError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    order = order_name(order)
    prob = resolve_problem(problem)
    opt = OPTIMIZERS[optimizer]
    hyper = canonical(opt, hyper)
    for h in hyper:
        if h not in opt.hyper:
            what = "hyperparameter" if h in HYPERPARAMETERS else "key"
            raise GridError(f"{optimizer} has no {what} {h!r}; it takes {', '.join(opt.hyper)}"
                            + _elsewhere(h))
    ranges = {h: v for h, v in hyper.items() if isinstance(v, dict) and "num" not in v
              or isinstance(v, str) and v.count(":") == 2}
    if sample is None and ranges:
        h = next(iter(ranges))
        raise GridError(f"{h}: a range without num is sampled: add sample = {{ n = 1024 }} "
                        f"(--sample 1024 on the command line), or give num for a grid")
    samples, sample = draw(sample, ranges) if sample is not None else (None, None)
    axes = {h: axis(h, hyper.get(h, default)) for h, default in opt.defaults.items()
            if h not in ranges}
    if "step_min" in axes and axes["step_min"].max() > axes["step_max"].min():
        raise GridError(f"step_min {axes['step_min'].max():g} > step_max "
                        f"{axes['step_max'].min():g} in some configuration: Rprop needs "
                        f"step_min <= step_max")
    if prob.random:
        seeds = seed_axis(0 if seed is None else seed)
    elif seed is not None:
        raise GridError(f"problem {prob.name!r} has explicit initial weights, so a seed axis "
                        f"means nothing; give it an init table to draw random starts")
    else:
        seeds = None
    kind, params = parse_schedule(schedule)
    axes.update({h: axis(h, v) for h, v in params.items()})
    steps = axes.get("step_size", np.ones(1))
    if np.any(steps != np.round(steps)):
        raise GridError(f"step_size must be a whole number of epochs, got "
                        f"{steps[steps != np.round(steps)][0]:g}")
    if shuffle is not None and not isinstance(shuffle, (bool, np.bool_)):
        raise GridError(f"shuffle must be true or false, got {shuffle!r}")
    b = Block(optimizer, order, axes, prob, seeds, samples, sample,
              None if kind == "constant" else kind, None if batch is None else _batch(batch),
              None if shuffle is None else bool(shuffle))
    check_size(b.size)
    return b


def _elsewhere(h):
    """Where a hyperparameter the optimizer lacks does belong: torch's SGD(momentum=m) is
    optimizer momentum (or nesterov) here."""
    owners = [o.name for o in OPTIMIZERS.values() if h in o.hyper or h in o.aliases]
    if not owners:
        return ""
    if h == "momentum":
        return ("; torch's SGD(momentum=m) is optimizer = \"momentum\" with beta = m "
                "(nesterov=True: \"nesterov\")")
    return f" ({h} belongs to {', '.join(owners)})"


def check_size(n):
    """Refuse, before anything is built, a sweep too large to finish."""
    if n > MAX_CONFIGS:
        raise GridError(f"{n:,} configurations is more than bpbench will run in one sweep "
                        f"({MAX_CONFIGS:,}); use fewer points per axis")


def _listed(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def blocks(optimizer, order="simultaneous", problem=None, seed=None, sample=None,
           schedule=None, batch=None, shuffle=None, **hyper):
    """One Block per optimizer and order, for a list of either (or both). A hyperparameter
    goes to every optimizer that uses it, and must be used by at least one."""
    optimizers, orders = _listed(optimizer), _listed(order)
    if not optimizers or not orders:
        raise GridError("optimizer and order need at least one value each")
    if len(optimizers) == 1:
        return [block(optimizers[0], o, problem, seed, sample, schedule, batch, shuffle,
                      **hyper) for o in orders]
    known = [OPTIMIZERS[o] for o in optimizers if isinstance(o, str) and o in OPTIMIZERS]
    for h in hyper:
        if not any(h in opt.hyper or h in opt.aliases for opt in known):
            raise GridError(f"none of {', '.join(map(str, optimizers))} has a hyperparameter "
                            f"{h!r}")
    out = []
    for opt in optimizers:
        mine = ({h: v for h, v in hyper.items()
                 if h in OPTIMIZERS[opt].hyper or h in OPTIMIZERS[opt].aliases}
                if isinstance(opt, str) and opt in OPTIMIZERS else hyper)
        out += [block(opt, o, problem, seed, sample, schedule, batch, shuffle, **mine)
                for o in orders]
    check_size(sum(b.size for b in out))
    return out


def settings(tol=None, max_steps=None, dtype=None, margin=None, batch=None, shuffle=None):
    """Validated run settings, defaults filled in. margin > 0 judges convergence by every
    output within margin of its target instead of loss < tol; 0 judges by the loss; None
    takes the problem's own margin, if it has one (see margin_for). batch: "full" (every
    pattern, then one update: a step), "online" (an update after each pattern) or k (after
    each k patterns, the last batch smaller). shuffle: each epoch's updates take the patterns
    in an order drawn from the configuration's seed and the epoch (loops.shuffle)."""
    s = {"tol": SETTINGS["tol"] if tol is None else tol,
         "max_steps": SETTINGS["max_steps"] if max_steps is None else max_steps,
         "dtype": SETTINGS["dtype"] if dtype is None else dtype}
    if margin is not None:
        mg = _number("margin", margin)
        if not (math.isfinite(mg) and mg >= 0):
            raise GridError(f"margin must be a finite number >= 0 (0: judge by tol), "
                            f"got {margin!r}")
        margin = mg
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
    if s["dtype"] == "float32":
        for what, v in (("tol", tol), ("margin", margin)):
            if v and np.float32(v) == 0:
                raise GridError(f"{what} = {v:g} rounds to 0 in float32, so nothing could "
                                f"converge; use a larger {what} or float64")
    if shuffle is not None and not isinstance(shuffle, (bool, np.bool_)):
        raise GridError(f"shuffle must be true or false, got {shuffle!r}")
    return {"tol": tol, "max_steps": int(m), "dtype": s["dtype"], "margin": margin,
            "batch": _batch(batch), "shuffle": bool(shuffle)}


def _batch(batch):
    """"full", "online" or a number of patterns >= 1 (a command line's "4" too)."""
    if batch is None or batch in ("full", "online"):
        return batch or "full"
    if isinstance(batch, str) and batch.isdigit():
        batch = int(batch)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise GridError(f"batch must be \"full\", \"online\" or a number of patterns >= 1, "
                        f"got {batch!r}")
    return int(batch)


def run_options(conf, block):
    """(batch, shuffle) a block runs with: its own, else the sweep's."""
    return (conf.get("batch", "full") if block.batch is None else block.batch,
            conf.get("shuffle", False) if block.shuffle is None else block.shuffle)


def margin_for(conf, problem):
    """The margin a run uses (0: judge by loss < tol): the sweep's, else the problem's."""
    if conf.get("margin") is not None:
        return conf["margin"]
    return problem.margin or 0.0


def _problems(spec, default_name, where, base=None):
    """The problems of a sweep file's `problem` (or a run block's): one name, file or table,
    or a list of them, each run by every block it applies to. A table without a name takes
    the sweep's; its data file is found from the folder base."""
    specs = spec if isinstance(spec, list) else [spec]
    if not specs:
        raise GridError(f"{where}: problem is an empty list")
    out = []
    for s in specs:
        if isinstance(s, dict):
            s = dict(s)
            s.setdefault("name", default_name)
        try:
            out.append(problems.resolve(s, base=base))
        except problems.ProblemError as e:
            raise GridError(f"{where}: {e}") from None
    names = [p.name for p in out]
    if len(set(names)) < len(names):
        twice = sorted(n for n in names if names.count(n) > 1)[0]
        raise GridError(f"{where}: two problems are called {twice!r}; give each a name of its "
                        f"own")
    return out


def load(path, overrides=None):
    """(blocks, settings) from a TOML sweep file; overrides (hyperparameter axes, order or
    settings, from the command line) replace the file's values."""
    doc = problems.read_toml(path, "sweep file", GridError)
    return parse(doc, overrides, where=str(path), base=os.path.dirname(str(path)))


def parse(doc, overrides=None, where="sweep", base=None):
    overrides = dict(overrides or {})
    unknown = set(doc) - set(SETTINGS) - {"run", "name", "description", "problem"}
    if unknown:
        raise GridError(f"{where}: unknown key {sorted(unknown)[0]!r}; top-level keys are "
                        f"name, description, problem, tol, max_steps, dtype, margin, batch, "
                        f"shuffle and [[run]] blocks")
    cli_problem = overrides.pop("problem", None)
    default = str(doc.get("name", "custom"))
    # a problem given on the command line is found from the working directory
    probs = (_problems(cli_problem, default, where) if cli_problem
             else _problems(doc.get("problem"), default, where, base))
    seed = overrides.pop("seed", None)
    schedule = overrides.pop("schedule", None)
    sample = overrides.pop("sample", None)
    runs = doc.get("run")
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise GridError(f"{where}: needs at least one [[run]] block")
    cli = {k: overrides.pop(k, None) for k in SETTINGS}
    conf = settings(**{k: doc.get(k) if cli[k] is None else cli[k] for k in SETTINGS})
    order = overrides.pop("order", None)
    hyper = {h: v for h, v in overrides.items() if v is not None}
    for i, r in enumerate(runs, 1):  # before the overrides, whose errors would hide this
        for o in _listed(r.get("optimizer")) if "optimizer" in r else ():
            if not isinstance(o, str) or o not in OPTIMIZERS:
                block_no = f"run block {i}: " if len(runs) > 1 or where != "command line" else ""
                raise GridError(f"{where}: {block_no}unknown optimizer {o!r}; choose from "
                                f"{', '.join(OPTIMIZERS)}")
    used = {h for r in runs for o in _listed(r.get("optimizer"))
            if isinstance(o, str) and o in OPTIMIZERS for h in OPTIMIZERS[o].hyper}
    for h in hyper:
        if h not in HYPERPARAMETERS:
            raise GridError(f"unknown override {h!r}")
        if h not in used:
            raise GridError(f"no run block in {where} has a hyperparameter {h!r}")
    out = []
    for i, r in enumerate(runs, 1):
        r = dict(r)
        if "optimizer" not in r:
            raise GridError(f"{where}: run block {i} has no optimizer")
        name = r.pop("optimizer")
        if order is not None:
            r["order"] = order
        if seed is not None:
            r["seed"] = seed
        if sample is not None:
            r["sample"] = sample
        if schedule is not None:
            r["schedule"] = schedule
        for opt in _listed(name):
            if isinstance(opt, str) and opt in OPTIMIZERS:
                mine = {h: v for h, v in hyper.items() if h in OPTIMIZERS[opt].hyper}
                # a command-line value replaces the file's under either name (beta or alpha)
                for alias, target in OPTIMIZERS[opt].aliases.items():
                    targets = target if isinstance(target, tuple) else (target,)
                    if alias in r and any(t in mine for t in targets):
                        pairs = canonical(OPTIMIZERS[opt], {alias: r.pop(alias)})
                        r.update({t: v for t, v in pairs.items() if t not in mine})
                r.update(mine)
        own = r.pop("problem", None)
        block_no = f"run block {i}: " if len(runs) > 1 or where != "command line" else ""
        mine = (probs if own is None or cli_problem  # --problem replaces every block's
                else _problems(own, default, f"{where}: {block_no}".rstrip(": "), base))
        try:
            for prob in mine:
                out += blocks(name, problem=prob, **r)
        except GridError as e:
            raise GridError(f"{where}: {block_no}{e}") from None
    check_size(sum(b.size for b in out))
    return out, conf
