"""The command line through click's runner: results, and one-line errors for bad input."""
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from bpbench.cli import main

CLAIM = os.path.join(os.path.dirname(__file__), "..", "sweeps", "claim.toml")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_saves_the_documented_schema(tmp_path):
    out = tmp_path / "c.parquet"
    r = invoke("run", CLAIM, "-o", out)
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert list(df.columns) == ["problem", "optimizer", "order", "lr", "beta", "beta2", "eps",
                                "weight_decay", "momentum_decay", "eta_minus", "eta_plus",
                                "step_min", "step_max", "mu", "seed", "steps", "status",
                                "final_loss", "final_output"]
    assert df.weight_decay.tolist() == [0.0, 0.0] and df.mu.isna().all()
    assert str(df.steps.dtype) == "Int64" and str(df.seed.dtype) == "Int64"
    assert df.seed.isna().all() and list(df.problem) == ["post", "post"]
    assert list(df.order) == ["inplace", "inplace"]
    assert all(isinstance(df[c].dtype, pd.CategoricalDtype) for c in ("problem", "optimizer",
                                                                       "order", "status"))
    assert list(df.steps) == [111, 11]
    assert df.beta.isna().tolist() == [True, False] and df.beta2.isna().all()
    assert df.attrs["tol"] == 1e-7 and df.attrs["max_steps"] == 10000
    assert {"backend", "dtype", "version"} <= set(df.attrs)
    r = invoke("show", out)
    assert r.exit_code == 0 and "rmsprop" in r.output and "100.0%" in r.output


def test_run_csv_overrides_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "c.csv"
    r = invoke("run", CLAIM, "-o", out, "--order", "simultaneous", "--lr", "0.1,1",
               "--backend", "serial")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) == 4 and set(df.order) == {"simultaneous"}
    before = out.read_bytes()
    r = invoke("run", CLAIM, "-o", out)
    assert r.exit_code != 0 and "--force" in r.output
    assert out.read_bytes() == before
    assert invoke("run", CLAIM, "-o", out, "--force").exit_code == 0


def test_trace_prints_the_posts_format():
    r = invoke("trace", "--optimizer", "rmsprop", "--lr", "0.1", "--beta", "0.999",
               "--eps", "0.01", "--order", "seed")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert len(lines) == 11
    assert lines[-1] == "step = 11: yp = 0.5002367820786155, Error = 2.803287637675012e-08"


@pytest.mark.parametrize("args, message", [
    (["run", "missing.toml"], "no such sweep file"),
    (["run", CLAIM, "--lr", "-1"], "lr must be > 0"),
    (["run", CLAIM, "--lr", "nan"], "finite"),
    (["run", CLAIM, "--beta", "1.5"], "beta must be in [0, 1)"),
    (["run", CLAIM, "--eps", "-1"], "eps must be >= 0"),
    (["run", CLAIM, "--tol", "0"], "tol must be"),
    (["run", CLAIM, "--max-steps", "0"], "max_steps must be"),
    (["run", CLAIM, "--beta2", "0.9"], "no run block"),
    (["run", CLAIM, "-o", "/nonexistent/dir/x.parquet"], "does not exist"),
    (["run", CLAIM, "-o", "out.txt"], ".parquet or .csv"),
    (["run", CLAIM, "--backend", "gpu"], "Invalid value"),
    (["trace", "--optimizer", "sgd", "--beta", "0.9"], "sgd has no hyperparameter 'beta'"),
    (["trace", "--optimizer", "lbfgs"], "Invalid value"),
    (["trace", "--optimizer", "sgd", "--lr", "x"], "not a valid float"),
])
def test_bad_input_one_line_error(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    assert r.exit_code != 0
    err = r.stderr.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no partial output


def test_malformed_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[run]\noptimizer = 'sgd'")
    r = invoke("run", bad, "-o", tmp_path / "x.parquet")
    assert r.exit_code != 0 and "not valid TOML" in r.stderr
    assert not (tmp_path / "x.parquet").exists()
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    r = invoke("show", junk)
    assert r.exit_code != 0 and "cannot read" in r.stderr and "Traceback" not in r.stderr


def test_help_reads_like_a_man_page():
    for cmd in ([], ["run"], ["trace"], ["show"], ["reproduce"]):
        r = invoke(*cmd, "--help")
        assert r.exit_code == 0 and "Usage:" in r.output


def test_cuda_backend_without_gpu_is_one_clear_line(tmp_path):
    from bpbench.backends import cuda
    try:
        has_gpu = cuda.cuda is not None and cuda.cuda.is_available()
    except Exception:
        has_gpu = False
    if has_gpu:
        pytest.skip("a CUDA GPU (or the simulator) is present")
    r = invoke("run", CLAIM, "--backend", "cuda", "-o", tmp_path / "x.parquet")
    assert r.exit_code == 1
    assert r.stderr.strip().startswith("bpbench: error: no CUDA GPU found; install bpbench[cuda]")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.parquet").exists()


def test_run_without_a_sweep_file(tmp_path):
    out = tmp_path / "x.parquet"
    r = invoke("run", "--optimizer", "sgd,adam", "--order", "seed,simultaneous",
               "--lr", "log:0.1:10:4", "--max-steps", "300", "-o", out, "-q")
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert len(df) == 16 and df.attrs["sweep"] == "command line"
    assert list(dict.fromkeys(zip(df.optimizer, df.order))) == [
        ("sgd", "inplace"), ("sgd", "simultaneous"), ("adam", "inplace"),
        ("adam", "simultaneous")]
    for args, message in ((["--lr", "1"], "give a sweep file, or --optimizer"),
                          (["--optimizer", "sgd"], "name the output with -o"),
                          ([CLAIM, "--optimizer", "sgd", "-o", tmp_path / "y.csv"],
                           "--optimizer is for sweeps without a file"),
                          (["--optimizer", "sgd", "--order", "up", "-o", tmp_path / "y.csv"],
                           "command line: unknown order 'up'")):
        r = invoke("run", *args)
        assert r.exit_code in (1, 2) and message in r.stderr, r.stderr
