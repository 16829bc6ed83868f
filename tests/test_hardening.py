"""Bad input ends in one line, never a traceback; nothing computed is lost or silently dropped.

Each test here reproduces a reported failure (issue: hardening) and checks the fix.
"""
import json
import os
import pathlib
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench import analysis, dataset, grid, results
from bpbench.cli import main
from bpbench.grid import GridError

ROOT = pathlib.Path(__file__).parent.parent


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(r, code=1):
    assert r.exit_code == code, r.output
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.output


def test_huge_axis_is_refused_before_anything_is_built(tmp_path):
    huge = {"start": 1.0, "stop": 2.0, "num": 10 ** 12}
    with pytest.raises(GridError, match="more than the"):
        bpbench.sweep("sgd", lr=huge)
    f = tmp_path / "s.toml"
    f.write_text('[[run]]\noptimizer = "sgd"\nlr = { start = 1.0, stop = 2.0, '
                 'num = 1000000000000 }\n')
    r = invoke("run", f, "-o", tmp_path / "out/")
    one_line_error(r)
    assert not (tmp_path / "out").exists()
    with pytest.raises(GridError, match="configurations is more than"):
        bpbench.sweep("adam", lr={"start": 1e-3, "stop": 1, "num": 10 ** 5},
                      beta={"start": 0.1, "stop": 0.9, "num": 10 ** 5},
                      beta2={"start": 0.1, "stop": 0.9, "num": 10 ** 3})


def test_trace_with_a_huge_max_steps_allocates_as_it_goes():
    t = bpbench.trace("sgd", order="inplace", lr=1.0, max_steps=5_000_000_000)
    assert len(t) == 111 and t.attrs["status"] == "converged"
    long = bpbench.trajectory("sgd", lr=1e-4, max_steps=70_000)  # longer than the first buffer
    assert len(long[1]) == 70_000 and long[2] == "max_steps"


def test_lists_of_optimizers_and_orders(tmp_path):
    df = bpbench.sweep(["sgd", "adam"], order=["seed", "simultaneous"], lr=[0.1, 1.0],
                       beta=0.9, max_steps=50)
    assert list(dict.fromkeys(zip(df.optimizer, df.order))) == [
        ("sgd", "inplace"), ("sgd", "simultaneous"), ("adam", "inplace"),
        ("adam", "simultaneous")]
    assert df.beta[df.optimizer == "sgd"].isna().all()
    assert (df.beta[df.optimizer == "adam"] == 0.9).all()
    f = tmp_path / "s.toml"
    f.write_text('max_steps = 30\n[[run]]\noptimizer = ["sgd", "adam"]\n'
                 'order = ["seed", "simultaneous"]\nlr = 0.5\n')
    blocks, _ = grid.load(f)
    assert [(b.optimizer, b.order) for b in blocks] == [
        ("sgd", "inplace"), ("sgd", "simultaneous"), ("adam", "inplace"),
        ("adam", "simultaneous")]
    with pytest.raises(GridError, match="none of sgd, momentum has a hyperparameter 'eps'"):
        bpbench.sweep(["sgd", "momentum"], lr=1.0, eps=0.1)
    with pytest.raises(GridError, match="unknown optimizer"):
        bpbench.sweep([["sgd"]], lr=1.0)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("mixed") / "m.parquet"
    df = bpbench.sweep(["sgd", "rmsprop", "adam"], lr=[0.05, 0.5], max_steps=200)
    results.save(df, path)
    return path, df


def test_plot_facet_on_a_missing_hyperparameter_is_one_line(mixed, tmp_path):
    path, _ = mixed
    r = invoke("plot", path, "-o", tmp_path / "f.png", "--optimizer", "rmsprop",
               "--x", "lr", "--y", "beta", "--facet", "beta2")
    one_line_error(r)
    assert "no beta2" in r.stderr and not (tmp_path / "f.png").exists()


def test_show_by_keeps_optimizers_without_that_hyperparameter(mixed):
    path, df = mixed
    r = invoke("show", path, "--by", "beta2")
    assert r.exit_code == 0, r.output
    assert all(o in r.stdout for o in ("sgd", "rmsprop", "adam"))
    by = analysis.summary(df, by=["beta"])
    assert set(by.optimizer) == {"sgd", "rmsprop", "adam"}
    twice = pd.concat([df, df])  # duplicate index labels
    s = analysis.summary(twice)
    assert list(s.configurations) == [4, 4, 4]


def test_api_errors_are_grid_errors():
    with pytest.raises(GridError, match="needs backend='dask'"):
        bpbench.sweep("sgd", lr=1.0, scheduler="tcp://127.0.0.1:1")
    assert len(bpbench.sweep("sgd", lr=range(1, 3), max_steps=5)) == 2
    assert len(bpbench.sweep("sgd", lr={"start": 1, "stop": 2, "num": np.int64(3)},
                             max_steps=5)) == 3
    for bad in (dict(order={"x": 1}), dict(backend=["cpu"]), dict(optimizer={"a": 1})):
        kw = dict(dict(optimizer="sgd", lr=1.0), **bad)
        with pytest.raises(GridError):
            bpbench.sweep(kw.pop("optimizer"), **kw)


def test_dask_from_a_script_without_a_main_guard(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "s.py"
    script.write_text("import bpbench\n"
                      "print(bpbench.sweep('sgd', lr=[0.5, 1.0], backend='dask').steps.tolist())\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[223, 111]"


SLOW = """\
max_steps = 1000000
[[run]]
optimizer = "sgd"
lr = { start = 1e-5, stop = 2e-5, num = 8 }
"""


def test_ctrl_c_keeps_the_chunk_in_progress(tmp_path):
    # Two chunks of 4 configurations that each run the full 1,000,000 steps (~1 s a chunk on
    # the serial backend): the interrupt lands during the first, which must still be saved.
    sweep = tmp_path / "slow.toml"
    sweep.write_text(SLOW)
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "bpbench", "run", str(sweep), "-o", str(out), "--backend",
           "serial", "--chunk-size", "4", "-q"]
    # its kernel compiled first (here, into the cache the child reads): the child's first
    # chunk then starts at once
    bpbench.sweep_file(sweep, backend="serial", max_steps=2)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not (out / "_manifest.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    parts = sorted(out.glob("part-*.parquet"))
    assert [x.name for x in parts] == ["part-00000.parquet"]
    assert "1 of 2 chunks are saved" in err
    r = invoke("show", out)
    one_line_error(r)
    assert "1 of the sweep's 2 chunks" in r.stderr and "--partial" in r.stderr
    r = invoke("show", out, "--partial")
    assert r.exit_code == 0 and "chunks=1 of 2" in r.stdout


def test_numba_cache_dir_gets_a_source_keyed_folder(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    code = "import bpbench.kernels; print(bpbench.kernels._cache.lock_folder)"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=ROOT)
    folder = pathlib.Path(r.stdout.strip())
    assert folder.parent == tmp_path / "bpbench" and folder.name.startswith("numba-")


def test_float32_tol_that_rounds_to_zero_is_refused():
    with pytest.raises(GridError, match="rounds to 0 in float32"):
        bpbench.sweep("sgd", lr=1.0, dtype="float32", tol=1e-50)
    df = bpbench.sweep("sgd", lr=1.0, dtype="float32", tol=1e-40, max_steps=20)
    assert len(df) == 1  # subnormal in float32, but not zero


def test_files_get_the_umask_and_keep_their_mode(tmp_path):
    old = os.umask(0o022)
    try:
        df = bpbench.sweep("sgd", lr=1.0, max_steps=3)
        f = tmp_path / "t.parquet"
        results.save(df, f)
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
        f.chmod(0o640)
        results.save(df, f)  # --force's path: the existing file's mode is kept
        assert stat.S_IMODE(f.stat().st_mode) == 0o640
        ds = dataset.Dataset(tmp_path / "d", [grid.block("sgd", lr=1.0)],
                             grid.settings(), False)
        assert stat.S_IMODE((tmp_path / "d" / dataset.MANIFEST).stat().st_mode) == 0o644
        ds.write(0, df)
        assert stat.S_IMODE(pathlib.Path(ds.part(0)).stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_part_names_sort_past_100000_chunks_and_directories_are_locked(tmp_path):
    blocks = [grid.block("sgd", lr={"start": 1, "stop": 2, "num": 100_001})]
    ds = dataset.Dataset(tmp_path / "big", blocks, grid.settings(), False, size=1)
    assert os.path.basename(ds.part(7)) == "part-000007.parquet"
    names = [os.path.basename(ds.part(i)) for i in (99_999, 100_000)]
    assert sorted(names) == names
    small = dataset.Dataset(tmp_path / "small", [grid.block("sgd", lr=1.0)],
                            grid.settings(), False)
    assert os.path.basename(small.part(0)) == "part-00000.parquet"
    with pytest.raises(GridError, match="another bpbench run is writing"):
        dataset.Dataset(tmp_path / "big", blocks, grid.settings(), False, size=1, resume=True)
    del ds


def test_a_directory_holding_only_dotfiles_is_not_empty(tmp_path):
    d = tmp_path / "repo"
    d.mkdir()
    (d / ".git").mkdir()
    with pytest.raises(GridError, match="not empty"):
        dataset.Dataset(d, [grid.block("sgd", lr=1.0)], grid.settings(), False)
    assert not (d / dataset.MANIFEST).exists()


def test_the_project_stands_alone():
    hits = [str(p) for p in [ROOT / "README.md", *sorted((ROOT / "bpbench").rglob("*.py"))]
            if "shared/" in p.read_text()]
    assert hits == []
    assert "反向传播" in (ROOT / "README.md").read_text()


def test_manifest_records_the_chunk_count(tmp_path):
    ds = dataset.Dataset(tmp_path / "d", [grid.block("sgd", lr=[1.0, 2.0, 3.0])],
                         grid.settings(), False, size=2)
    m = json.loads((tmp_path / "d" / dataset.MANIFEST).read_text())
    assert m["chunks"] == len(ds.chunks) == 2
