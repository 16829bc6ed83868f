"""Random and quasi-random search: n points drawn jointly over the ranges given without num.

scipy.stats.qmc's scrambled Sobol sequence, plain random points or a Latin hypercube,
uniform or log-uniform per range, reproducible by seed (with the same scipy).
"""
import numpy as np

from .axes import _check_range, _count, _number
from .errors import GridError

def parse_sample(text):
    """--sample N, N:METHOD or N:METHOD:SEED as a sample specification."""
    parts = text.split(":")
    try:
        spec = {"n": int(parts[0])}
        if len(parts) > 1:
            spec["method"] = parts[1]
        if len(parts) > 2:
            spec["seed"] = int(parts[2])
    except ValueError:
        raise GridError(f"--sample: write N, N:METHOD or N:METHOD:SEED (e.g. 4096:sobol:0), "
                        f"got {text!r}") from None
    if len(parts) > 3:
        raise GridError(f"--sample: write N, N:METHOD or N:METHOD:SEED, got {text!r}")
    return spec


METHODS = ("sobol", "random", "lhs")


def draw(sample, ranges):
    """n points over the ranges (each {start, stop, scale}: uniform, or log-uniform for
    scale = "log"), jointly: a scrambled Sobol sequence, plain random or a Latin hypercube
    from scipy.stats.qmc, reproducible by seed (with the same scipy). Returns ({name:
    values}, the validated sample specification)."""
    if not isinstance(sample, dict) or "n" not in sample or set(sample) - {"n", "method",
                                                                          "seed"}:
        raise GridError(f"sample takes n, method and seed, as sample = {{ n = 4096, method = "
                        f"'sobol', seed = 0 }}; got {sample!r}")
    n = _count("sample", sample["n"])
    method = sample.get("method", "sobol")
    if method not in METHODS:
        raise GridError(f"sample: method must be one of {', '.join(METHODS)}, got {method!r}")
    seed = sample.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GridError(f"sample: seed must be an integer >= 0, got {seed!r}")
    if not ranges:
        raise GridError("sample: no range to sample; give at least one hyperparameter as a "
                        "range without num, e.g. lr = { start = 1e-3, stop = 1, scale = 'log' }")
    bounds = {h: _sample_range(h, r) for h, r in ranges.items()}
    from scipy.stats import qmc
    rng = np.random.default_rng(seed)
    d = len(bounds)
    if method == "random":
        u = rng.random((n, d))
    elif method == "lhs":
        u = qmc.LatinHypercube(d, rng=rng).random(n)
    else:
        import warnings
        with warnings.catch_warnings():  # n not a power of two: fine, just less balanced
            warnings.simplefilter("ignore", UserWarning)
            u = qmc.Sobol(d, rng=rng).random(n)
    values = {}
    for k, (h, (start, stop, scale)) in enumerate(bounds.items()):
        if scale == "log":
            values[h] = np.exp(np.log(start) + u[:, k] * (np.log(stop) - np.log(start)))
        else:
            values[h] = start + u[:, k] * (stop - start)
        _check_range(h, values[h])
    spec = {"n": n, "method": method, "seed": int(seed),
            "ranges": {h: list(b) for h, b in bounds.items()}}
    return values, spec


def _sample_range(name, spec):
    """(start, stop, scale) of a range to sample, from a dict or "log:START:STOP"."""
    if isinstance(spec, str):
        kind, start, stop = spec.split(":")
        if kind not in ("lin", "log"):
            raise GridError(f"{name}: write a range to sample as lin:START:STOP or "
                            f"log:START:STOP, got {spec!r}")
        try:
            spec = {"start": float(start), "stop": float(stop),
                    "scale": "log" if kind == "log" else "linear"}
        except ValueError:
            raise GridError(f"{name}: cannot read range {spec!r}") from None
    if set(spec) - {"start", "stop", "scale"} or not {"start", "stop"} <= set(spec):
        raise GridError(f"{name}: a range to sample needs start and stop (and optionally "
                        f"scale), got {sorted(spec)}")
    start, stop = _number(name, spec["start"]), _number(name, spec["stop"])
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise GridError(f"{name}: scale must be 'linear' or 'log', got {scale!r}")
    if scale == "log" and (start <= 0 or stop <= 0):
        raise GridError(f"{name}: a log range needs positive start and stop")
    _check_range(name, np.array([start, stop]))
    return start, stop, scale
