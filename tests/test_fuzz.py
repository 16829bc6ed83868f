"""Fuzzing what users type: sweep files and command-line axes built from the real keys with
wrong types, sizes and values. Every input either runs, or ends with exactly one line on
stderr, exit status 1 or 2, no traceback and no output left behind.

Runs go to the numpy backend with a handful of steps: the point is the checking, not the
kernels (and the NumPy backend compiles nothing, whatever the problem's shape).
"""
import json
import math
import pathlib

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpbench.cli import main

CLAIM = pathlib.Path(__file__).parent.parent / "sweeps" / "claim.toml"

number = st.one_of(st.sampled_from([0, 1, -1, 0.5, 1e-3, 0.999, 2, 1e308, 10 ** 13]),
                   st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5))
junk = st.one_of(st.text(max_size=6), st.booleans(), number, st.lists(number, max_size=2),
                 st.fixed_dictionaries({"start": number, "num": number}))
OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]
HYPER = {"sgd": ["lr"], "momentum": ["lr", "beta"], "nesterov": ["lr", "beta"],
         "rmsprop": ["lr", "beta", "eps"], "adam": ["lr", "beta", "beta2", "eps"],
         "adagrad": ["lr", "eps"]}
VALID = {"lr": st.one_of(st.floats(1e-3, 10), st.lists(st.floats(1e-3, 10), min_size=1,
                                                      max_size=3),
                         st.fixed_dictionaries({"start": st.just(0.01), "stop": st.just(1.0),
                                                "num": st.integers(1, 3),
                                                "scale": st.sampled_from(["log", "linear"])})),
         "beta": st.floats(0, 0.99), "beta2": st.floats(0.5, 0.999),
         "eps": st.one_of(st.just(0.0), st.floats(1e-8, 0.1))}


@st.composite
def problem_table(draw):
    layers = draw(st.lists(st.integers(1, 3), min_size=3, max_size=4))
    p = draw(st.integers(1, 3))
    row = lambda n: draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))  # noqa: E731
    return {"name": "fuzzed", "layers": layers, "inputs": [row(layers[0]) for _ in range(p)],
            "targets": [row(layers[-1]) for _ in range(p)],
            "bias": draw(st.sampled_from(["none", "fixed", "trained"])),
            "init": {"dist": "uniform", "low": -1.0, "high": 1.0}}


@st.composite
def document(draw):
    """A valid sweep document, then up to three mutations that may break it."""
    problem = draw(st.one_of(st.sampled_from([None, "post", "xor", "encoder-3-2"]),
                             problem_table()))
    runs = []
    for _ in range(draw(st.integers(1, 2))):
        opt = draw(st.sampled_from(OPTIMIZERS))
        block = {"optimizer": opt, "order": draw(st.sampled_from(["inplace", "seed",
                                                                  "simultaneous"]))}
        for h in draw(st.lists(st.sampled_from(HYPER[opt]), unique=True)):
            block[h] = draw(VALID[h])
        if problem not in (None, "post") and draw(st.booleans()):
            block["seed"] = draw(st.one_of(st.integers(0, 9), st.fixed_dictionaries(
                {"start": st.integers(0, 9), "num": st.integers(1, 3)})))
        runs.append(block)
    doc = {"run": runs, "max_steps": draw(st.integers(1, 20))}
    if problem is not None:
        doc["problem"] = problem
    if draw(st.booleans()):
        doc["dtype"] = draw(st.sampled_from(["float64", "float32"]))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["top", "run", "problem"]))
        key = draw(st.sampled_from(["tol", "max_steps", "dtype", "margin", "name", "wibble",
                                    "optimizer", "order", "lr", "beta", "eps", "seed",
                                    "layers", "inputs", "targets", "bias", "init", "weights",
                                    "run"]))
        value = draw(junk)
        if where == "top":
            doc[key] = value
        elif where == "run":
            draw(st.sampled_from(runs))[key] = value
        elif isinstance(doc.get("problem"), dict):
            doc["problem"][key] = value
    return doc


def toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"


def document_text(doc):
    lines = [f"{k} = {toml(v)}" for k, v in doc.items() if k not in ("run", "problem")]
    if isinstance(doc.get("problem"), dict):
        lines += ["[problem]"] + [f"{k} = {toml(v)}" for k, v in doc["problem"].items()]
    elif "problem" in doc:
        lines.insert(0, f"problem = {toml(doc['problem'])}")
    if isinstance(doc["run"], list) and all(isinstance(b, dict) for b in doc["run"]):
        for block in doc["run"]:
            lines += ["[[run]]"] + [f"{k} = {toml(v)}" for k, v in block.items()]
    else:
        lines.insert(0, f"run = {toml(doc['run'])}")
    return "\n".join(lines) + "\n"


def check(r, out):
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if r.exit_code == 0:
        assert out.exists()
        return
    assert r.exit_code in (1, 2), r.output
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.output
    assert not out.exists()


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=document())
def test_sweep_files_run_or_fail_in_one_line(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp("fuzz")
    f, out = folder / "s.toml", folder / "out.csv"
    f.write_text(document_text(doc))
    r = CliRunner().invoke(main, ["run", str(f), "-o", str(out), "--backend", "numpy", "-q",
                                  "--max-steps", "5"])
    check(r, out)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(option=st.sampled_from(["--lr", "--beta", "--eps", "--tol", "--seed", "--margin",
                               "--problem", "--order", "--chunk-size", "--max-steps"]),
       text=st.one_of(st.text(max_size=12),
                      st.from_regex(r"(lin|log):[-0-9.e]{0,5}:[-0-9.e]{0,5}:[-0-9]{0,3}",
                                    fullmatch=True),
                      st.from_regex(r"[-0-9.,e]{1,12}", fullmatch=True),
                      st.from_regex(r"[0-9]{1,3}\.\.[-0-9]{1,3}", fullmatch=True)))
def test_command_line_axes_run_or_fail_in_one_line(tmp_path_factory, option, text):
    out = tmp_path_factory.mktemp("cli") / "out.csv"
    args = ["run", str(CLAIM), "-o", str(out), "--backend", "numpy", "-q", option, text]
    if option != "--max-steps":
        args += ["--max-steps", "5"]
    check(CliRunner().invoke(main, args), out)
