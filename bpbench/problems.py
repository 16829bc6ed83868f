"""Problems: a network's shape, its patterns and targets, and its initial weights, as data.

A problem is a ``[problem]`` TOML table, a dict with the same keys, or a built-in name:

    name = "two-outputs"              # the table's `problem` column
    layers = [2, 2, 2]                # inputs, hidden layer(s), outputs
    inputs  = [[0.05, 0.10]]          # one row per pattern
    targets = [[0.01, 0.99]]
    bias = "fixed"                    # "none", "trained", or "fixed" (kept at its initial value)
    weights = [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]]  # [layer][to][from]
    biases  = [[0.35, 0.35], [0.60, 0.60]]                                  # [layer][to]
    # or, drawn per configuration from its seed:
    # init = { dist = "uniform", low = -1.0, high = 1.0 }   or   { dist = "normal", std = 0.5 }
    # margin = 0.4                    # optional: converged when every output is within margin
    #                                 # of its target (a sweep's own margin or tol overrides it)
    activation = "sigmoid"            # or tanh, linear, relu; or one per non-input layer
    loss = "sse"                      # sum of 1/2 (y - t)^2, or "cross_entropy" (sigmoid outputs)
    prime_offset = 0.0                # added to every f'(z) in backprop (Fahlman's flat-spot fix)
    # like = "encoder-8-3"            # a built-in problem, with this table's keys in place of
    #                                 # its own (e.g. name and prime_offset only)
    # data = "xor.csv"                # instead of inputs/targets: a CSV (inputs and targets
    #                                 # then name its columns), an .npz (arrays inputs, targets)
    #                                 # or a FANN training file; relative to the TOML file

Random initial parameters depend on the seed alone: draw k of seed s is a SplitMix64 hash of
(s, k) turned into a double with integer arithmetic and one multiplication (uniform), then
scipy.special.ndtri (normal), so every backend, chunk size and machine gets the same weights.
Draws go in the table's order: every weight, layer by layer, to-unit then from-unit, then every
bias, layer by layer.
"""
import math
import os
import re
import tomllib
from dataclasses import dataclass, field

import numpy as np

from .errors import BpbenchError
from .network import BIASES, Shape

KEYS = {"name", "description", "layers", "inputs", "targets", "bias", "weights", "biases",
        "init", "margin", "activation", "loss", "prime_offset", "data", "like"}
# What a problem may hold: loops.py's kernels read any shape as data, and keep every pattern's
# activations and deltas for each of their up to 64 lanes (2 x 8 bytes x MAX_ACTIVATIONS x 64
# = 256 MiB a thread at the most).
MAX_PARAMS = 10_000
MAX_PATTERNS = 1024
MAX_ACTIVATIONS = 1 << 18  # patterns x non-input units


class ProblemError(BpbenchError):
    """A problem specification that cannot be run; the message is one line for the user."""


@dataclass(frozen=True, eq=False)
class Problem:
    name: str
    layers: tuple
    inputs: np.ndarray  # [patterns, layers[0]]
    targets: np.ndarray  # [patterns, layers[-1]]
    bias: str = "none"
    weights: list = None  # weights[layer][to][from], or None with init
    biases: list = None  # biases[layer][to]
    init: dict = None  # {"dist": "uniform", "low", "high"} or {"dist": "normal", "std", "mean"}
    description: str = ""
    margin: float = None  # the problem's usual convergence criterion, if not the loss
    spec: dict = field(default=None, repr=False)  # canonical dict form, for manifests
    activations: tuple = None  # one of loops.ACTIVATIONS per non-input layer; None: sigmoid
    loss: str = "sse"
    prime_offset: float = 0.0

    @property
    def model(self):
        """Whether the problem needs the looped kernels' model options (network.Shape)."""
        return (self.activations is not None or self.loss != "sse"
                or self.prime_offset != 0.0)

    @property
    def shape(self):
        return Shape(tuple(self.layers), self.bias, len(self.inputs), self.model)

    @property
    def random(self):
        return self.init is not None

    def data(self, dtype, batch=None, shape=None, shuffle=False):
        """The kernels' data array: each pattern's inputs, then its targets; for a looped
        shape (this problem's, or the one given) after a header that describes it and the
        model (loops.header), with batch patterns per update (None: all), shuffled or not."""
        patterns = np.concatenate([self.inputs, self.targets], axis=1).ravel()
        shape = shape or self.shape
        if shape.looped:
            from .loops import header
            patterns = np.concatenate([header(shape, self.activations, self.loss,
                                              self.prime_offset, batch, shuffle), patterns])
        return patterns.astype(dtype)

    def _table_order(self):
        """Parameters in the table's order (as written in weights / biases)."""
        L = self.layers
        ws = [("w", a, j, i) for a in range(len(L) - 1) for j in range(L[a + 1])
              for i in range(L[a])]
        bs = ([("b", a, j) for a in range(len(L) - 1) for j in range(L[a + 1])]
              if self.bias != "none" else [])
        return ws + bs

    def initial(self, seeds, dtype, n=None):
        """W0[parameter, configuration]: initial parameters in the kernels' update order, one
        column per seed (or n copies of the explicit weights when seeds is None)."""
        params = self.shape.params
        if self.init is None:
            value = {p: (self.weights[p[1]][p[2]][p[3]] if p[0] == "w"
                         else self.biases[p[1]][p[2]]) for p in params}
            col = np.array([value[p] for p in params], dtype=np.float64)
            return np.repeat(col[:, None], n, axis=1).astype(dtype)
        order = self._table_order()
        draws = draw(np.asarray(seeds, dtype=np.uint64), len(order), self.init)
        pos = {p: k for k, p in enumerate(order)}
        return np.ascontiguousarray(draws[[pos[p] for p in params]]).astype(dtype)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix(x):
    """SplitMix64's output function (Steele, Lea & Flood 2014), elementwise on uint64."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(seeds, k):
    """U[k, len(seeds)] in (0, 1): draw j of seed s from splitmix(splitmix(s) + j)."""
    with np.errstate(over="ignore"):
        base = splitmix(seeds)
        bits = splitmix(base[None, :] + np.arange(k, dtype=np.uint64)[:, None])
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53


def draw(seeds, k, init):
    """k initial parameters per seed from the init distribution: [k, len(seeds)]."""
    u = uniforms(seeds, k)
    if init["dist"] == "uniform":
        return init["low"] + (init["high"] - init["low"]) * u
    from scipy.special import ndtri
    return init.get("mean", 0.0) + init["std"] * ndtri(u)


def _encoder(n, m):
    eye = np.eye(n).tolist()
    return {"name": f"encoder-{n}-{m}", "layers": [n, m, n], "inputs": eye, "targets": eye,
            "bias": "trained", "init": {"dist": "uniform", "low": -1.0, "high": 1.0},
            "margin": 0.4,
            "description": f"{n}-{m}-{n} auto-encoder: the {n} one-hot patterns through "
                           f"{m} hidden units, trained biases, uniform [-1, 1] starts"}


BUILTIN = {
    "post": {"name": "post", "layers": [2, 2, 1], "inputs": [[0.35, 0.9]], "targets": [[0.5]],
             "bias": "none", "weights": [[[0.1, 0.8], [0.4, 0.6]], [[0.3, 0.9]]],
             "description": "the post's 2-2-1 network: inputs 0.35, 0.9, target 0.5, no biases, "
                            "its fixed initial weights"},
    "xor": {"name": "xor", "layers": [2, 2, 1], "inputs": [[0, 0], [0, 1], [1, 0], [1, 1]],
            "targets": [[0], [1], [1], [0]], "bias": "trained",
            "init": {"dist": "uniform", "low": -1.0, "high": 1.0}, "margin": 0.4,
            "description": "XOR: 2-2-1, trained biases, the four patterns with 0/1 targets, "
                           "uniform [-1, 1] starts"},
}
ENCODER = re.compile(r"encoder-(\d+)-(\d+)$")
PARITY = re.compile(r"parity-(\d+)$")
EXAMPLES = ("encoder-4-2", "encoder-8-3", "parity-4")  # listed by `bpbench problems`


def _parity(n):
    bits = [[float((p >> i) & 1) for i in range(n)] for p in range(2 ** n)]
    return {"name": f"parity-{n}", "layers": [n, n, 1], "inputs": bits,
            "targets": [[float(sum(row) % 2)] for row in bits], "bias": "trained",
            "init": {"dist": "uniform", "low": -1.0, "high": 1.0}, "margin": 0.4,
            "description": f"{n}-bit parity: the {2 ** n} patterns of {n} bits, target 1 for "
                           f"an odd count, {n}-{n}-1 with trained biases, uniform [-1, 1] "
                           f"starts"}


def builtin(name):
    """The spec dict of a built-in problem, or None."""
    if name in BUILTIN:
        return dict(BUILTIN[name])
    m = ENCODER.match(name)
    if m:
        n, h = int(m.group(1)), int(m.group(2))
        if not (1 <= n <= 64 and 1 <= h <= 64):
            raise ProblemError(f"{name}: an encoder-N-M needs 1 <= N, M <= 64")
        return _encoder(n, h)
    m = PARITY.match(name)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 10:
            raise ProblemError(f"{name}: a parity-N needs 1 <= N <= 10 (2^N patterns)")
        return _parity(n)
    return None


def listing():
    """(name, one line) for every built-in problem (encoders as examples)."""
    return [(n, builtin(n)["description"]) for n in list(BUILTIN) + list(EXAMPLES)]


def resolve(spec, _reading=(), base=None):
    """A Problem from None (the post), a built-in name, a TOML file's path or a dict (whose
    data file, if any, is found relative to the folder base). _reading: the files whose
    `problem = "..."` led here, to refuse a cycle."""
    if spec is None:
        spec = "post"
    if isinstance(spec, Problem):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        found = builtin(text)
        if found is not None:
            return parse(found)
        if text.endswith(".toml") or os.path.sep in text or os.path.exists(text):
            return load(text, _reading)
        names = ", ".join(list(BUILTIN) + ["encoder-N-M", "parity-N"])
        raise ProblemError(f"unknown problem {text!r}; choose from {names}, or give a TOML "
                           f"file with a [problem] table")
    if isinstance(spec, dict):
        return parse(spec, base=base)
    raise ProblemError(f"problem must be a name, a TOML file or a dict, got {type(spec).__name__}")


def read_toml(path, kind, error):
    """A TOML document, or error (an exception class) with one line saying why not."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise error(f"{path}: no such {kind}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror}") from None


def load(path, _reading=()):
    """The [problem] table of a TOML file, or the problem it names (`problem = "NAME"`: a
    built-in or another file)."""
    here = os.path.realpath(path)
    if here in _reading:
        chain = " -> ".join(map(os.path.basename, _reading + (here,)))
        raise ProblemError(f"problem = \"FILE\" goes round in a circle: {chain}")
    doc = read_toml(path, "problem file", ProblemError)
    p = doc.get("problem")
    if p is None:
        raise ProblemError(f"{path}: has no [problem] table")
    if isinstance(p, str):
        return resolve(p, _reading + (here,))
    spec = dict(p)
    spec.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    return parse(spec, where=f"{path}: [problem]", base=os.path.dirname(path))


def _int(where, key, v, low=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ProblemError(f"{where}: {key} must be integers >= {low}, got {v!r}")
    return int(v)


def _numbers(where, key, v, shape):
    """v as a float array of the given shape (None: any length) with finite entries."""
    def walk(x, dims, path):
        if not dims:
            if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
                raise ProblemError(f"{where}: {key}{path} must be a number, got {x!r}")
            if not math.isfinite(x):
                raise ProblemError(f"{where}: {key}{path} must be finite, got {x!r}")
            return float(x)
        if not isinstance(x, (list, tuple)):
            raise ProblemError(f"{where}: {key}{path} must be a list, got {x!r}")
        want = dims[0]
        if want is not None and len(x) != want:
            raise ProblemError(f"{where}: {key}{path} has {len(x)} entries, the layers need "
                               f"{want}")
        if not x:
            raise ProblemError(f"{where}: {key}{path} is empty")
        return [walk(e, dims[1:], f"{path}[{n}]") for n, e in enumerate(x)]
    return walk(v, shape, "")


def _layers(where, key, v, n):
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise ProblemError(f"{where}: {key} needs one entry per layer of weights ({n}), "
                           f"got {v!r:.60}")
    return v


def parse(spec, where="problem", base=None):
    """A validated Problem from a spec dict; every mistake raises ProblemError, one line. A
    data file is found relative to the folder base (default: the working directory)."""
    if not isinstance(spec, dict):
        raise ProblemError(f"{where} must be a table")
    unknown = set(spec) - KEYS
    if unknown:
        raise ProblemError(f"{where}: unknown key {sorted(unknown)[0]!r}; a problem has "
                           f"{', '.join(sorted(KEYS))}")
    if "like" in spec:  # a built-in, with the keys given here in place of its own
        base = builtin(spec["like"]) if isinstance(spec["like"], str) else None
        if base is None:
            raise ProblemError(f"{where}: like names a built-in problem (bpbench problems), "
                               f"got {spec['like']!r}")
        spec = dict(base, **{k: v for k, v in spec.items() if k != "like"})
    data = None
    if "data" in spec:
        from .datafiles import read
        spec = dict(spec)
        data = read(where, spec.pop("data"), spec.pop("inputs", None),
                    spec.pop("targets", None), base, ProblemError)
        spec["inputs"], spec["targets"] = data.inputs, data.targets
    for key in ("layers", "inputs", "targets"):
        if key not in spec:
            raise ProblemError(f"{where}: needs {key}")
    name = spec.get("name", "custom")
    if not isinstance(name, str) or not name.strip():
        raise ProblemError(f"{where}: name must be a non-empty string")
    layers = spec["layers"]
    if not isinstance(layers, (list, tuple)) or len(layers) < 3:
        raise ProblemError(f"{where}: layers must list inputs, one or more hidden layers and "
                           f"outputs, e.g. [2, 2, 1]; got {layers!r}")
    L = tuple(_int(where, "layers", n) for n in layers)
    bias = spec.get("bias", "none")
    if bias not in BIASES:
        raise ProblemError(f"{where}: bias must be one of {', '.join(BIASES)}, got {bias!r}")
    inputs = np.array(_numbers(where, "inputs", spec["inputs"], [None, L[0]]))
    targets = np.array(_numbers(where, "targets", spec["targets"], [None, L[-1]]))
    if len(inputs) != len(targets):
        raise ProblemError(f"{where}: {len(inputs)} input patterns but {len(targets)} targets")
    nw = sum(L[a] * L[a + 1] for a in range(len(L) - 1))
    nparams = nw + (sum(L[1:]) if bias != "none" else 0)
    if nparams > MAX_PARAMS:
        raise ProblemError(f"{where}: {nparams:,} parameters; bpbench runs networks of up to "
                           f"{MAX_PARAMS:,}")
    if len(inputs) > MAX_PATTERNS:
        raise ProblemError(f"{where}: {len(inputs):,} patterns; bpbench runs up to "
                           f"{MAX_PATTERNS:,}")
    if len(inputs) * sum(L[1:]) > MAX_ACTIVATIONS:
        raise ProblemError(f"{where}: {len(inputs):,} patterns x {sum(L[1:]):,} units is more "
                           f"activations than bpbench keeps ({MAX_ACTIVATIONS:,})")
    init, weights, biases = spec.get("init"), spec.get("weights"), spec.get("biases")
    if (init is None) == (weights is None):
        raise ProblemError(f"{where}: give either weights (explicit initial weights) or init "
                           f"(a random draw per seed), not " + ("both" if init else "neither"))
    if init is not None:
        if biases is not None:
            raise ProblemError(f"{where}: biases are drawn from init; drop biases or init")
        init = _init(where, init)
    else:
        weights = [_numbers(where, f"weights[{a}]", w, [L[a + 1], L[a]])
                   for a, w in enumerate(_layers(where, "weights", weights, len(L) - 1))]
        if bias == "none":
            if biases is not None:
                raise ProblemError(f"{where}: biases given with bias = 'none'")
        else:
            if biases is None:
                raise ProblemError(f"{where}: bias = {bias!r} needs biases (or init)")
            biases = [_numbers(where, f"biases[{a}]", b, [L[a + 1]])
                      for a, b in enumerate(_layers(where, "biases", biases, len(L) - 1))]
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ProblemError(f"{where}: description must be a string")
    margin = spec.get("margin")
    if margin is not None:
        margin = _numbers(where, "margin", margin, [])
        if not margin > 0:
            raise ProblemError(f"{where}: margin must be > 0, got {margin:g}")
    activations, loss, offset = _model(where, spec, L, targets)
    canonical = {"name": name, "layers": list(L), "inputs": inputs.tolist(),
                 "targets": targets.tolist(), "bias": bias}
    canonical.update({k: v for k, v in (("weights", weights), ("biases", biases),
                                        ("init", init), ("margin", margin)) if v is not None})
    # the model's keys only where they differ from the sigmoid and sse: the specs, and so the
    # manifests, of problems written before them stay as they were
    if activations is not None:
        canonical["activation"] = list(activations)
    if loss != "sse":
        canonical["loss"] = loss
    if offset:
        canonical["prime_offset"] = offset
    if data is not None:
        canonical["data"] = {"file": data.file, "sha256": data.sha256}
    return Problem(name, L, inputs, targets, bias, weights, biases, init, description, margin,
                   canonical, activations, loss, offset)


def _model(where, spec, L, targets):
    """(activations or None for all-sigmoid, loss, prime_offset), validated."""
    from .loops import ACTIVATIONS, LOSSES
    act = spec.get("activation", "sigmoid")
    n = len(L) - 1
    names = [act] * n if isinstance(act, str) else act
    if not isinstance(names, (list, tuple)) or len(names) != n:
        raise ProblemError(f"{where}: activation is one name, or a list of {n} (one per "
                           f"non-input layer); got {act!r}")
    for f in names:
        if f not in ACTIVATIONS:
            raise ProblemError(f"{where}: unknown activation {f!r}; choose from "
                               f"{', '.join(ACTIVATIONS)}")
    activations = None if all(f == "sigmoid" for f in names) else tuple(names)
    loss = spec.get("loss", "sse")
    if loss not in LOSSES:
        raise ProblemError(f"{where}: loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if loss == "cross_entropy":
        if names[-1] != "sigmoid":
            raise ProblemError(f"{where}: cross_entropy needs sigmoid outputs (its logs take "
                               f"y and 1 - y), not {names[-1]}")
        if not ((targets >= 0) & (targets <= 1)).all():
            raise ProblemError(f"{where}: cross_entropy needs targets in [0, 1], got "
                               f"{targets[(targets < 0) | (targets > 1)][0]:g}")
    offset = _numbers(where, "prime_offset", spec.get("prime_offset", 0.0), [])
    if offset < 0:
        raise ProblemError(f"{where}: prime_offset must be >= 0, got {offset:g}")
    return activations, loss, offset


def _init(where, init):
    if not isinstance(init, dict):
        raise ProblemError(f"{where}: init must be a table such as "
                           f"{{ dist = \"uniform\", low = -1.0, high = 1.0 }}")
    dist = init.get("dist")
    allowed = {"uniform": {"dist", "low", "high"}, "normal": {"dist", "std", "mean"}}
    if dist not in allowed:
        raise ProblemError(f"{where}: init.dist must be 'uniform' or 'normal', got {dist!r}")
    unknown = set(init) - allowed[dist]
    if unknown:
        raise ProblemError(f"{where}: init has no key {sorted(unknown)[0]!r} for dist {dist!r}")
    out = {"dist": dist}
    for k in allowed[dist] - {"dist"}:
        if k in init:
            out[k] = _numbers(where, f"init.{k}", init[k], [])
    if dist == "uniform":
        if "low" not in out or "high" not in out:
            raise ProblemError(f"{where}: a uniform init needs low and high")
        if not out["low"] < out["high"]:
            raise ProblemError(f"{where}: init needs low < high, got {out['low']:g} and "
                               f"{out['high']:g}")
    else:
        if "std" not in out or not out["std"] > 0:
            raise ProblemError(f"{where}: a normal init needs std > 0")
        out.setdefault("mean", 0.0)
    return out


POST = resolve("post")
