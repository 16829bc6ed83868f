"""Chunked datasets, resume after SIGKILL / SIGINT, manifests, memory, and the dask backend."""
import functools
import json
import os
import threading
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

import bpbench
from bpbench.cli import main

# 32 configurations that all run to max_steps: 8 chunks of ~0.15 s each on the serial backend
# (a signal sent once two chunks are saved lands mid-sweep however fast the machine).
SWEEP = """\
max_steps = 250000
[[run]]
optimizer = "sgd"
order = "seed"
lr = { start = 1e-5, stop = 2e-5, num = 32 }
"""
ARGS = ["--chunk-size", "4", "--backend", "serial", "-q"]


@pytest.fixture
def sweep_file(tmp_path):
    f = tmp_path / "slow.toml"
    f.write_text(SWEEP)
    return f


@functools.cache  # 8 million steps: run once per test process
def _expected():
    return bpbench.sweep("sgd", order="inplace", lr="lin:1e-5:2e-5:32", max_steps=250000)


def expected():
    return _expected().copy()


def same_rows(a, b):
    cols = [c for c in a.columns]
    return all(a[c].reset_index(drop=True).equals(b[c].reset_index(drop=True)) for c in cols)


@pytest.mark.parametrize("sig, backend", [(signal.SIGKILL, "serial"), (signal.SIGINT, "serial"),
                                          (signal.SIGINT, "dask")],
                         ids=["SIGKILL-serial", "SIGINT-serial", "SIGINT-dask"])
def test_interrupted_sweep_resumes_to_the_same_dataset(sweep_file, tmp_path, sig, backend):
    # dask: several chunks in flight on two worker threads, saved in the order they finish
    if backend == "dask":
        pytest.importorskip("distributed")
    out = tmp_path / "ds"
    args = [a if a != "serial" else backend for a in ARGS]
    cmd = [sys.executable, "-m", "bpbench", "run", str(sweep_file), "-o", f"{out}/", *args]
    # A job started in the background by a non-interactive shell (as CI may be) inherits
    # SIGINT ignored, and Python then never raises KeyboardInterrupt: restore the default.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while (len(list(out.glob("part-*.parquet"))) < 2 and time.time() < deadline
           and p.poll() is None):
        time.sleep(0.01)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    parts = sorted(out.glob("part-*.parquet"))
    assert 2 <= len(parts) < 8, "the signal must land mid-sweep"
    if sig == signal.SIGINT:
        assert p.returncode == 130
        assert "chunks are saved" in err and "--resume" in err and "Traceback" not in err
    before = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in parts}

    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{len(parts)} of 8 chunks already done" in r.stderr
    for f in parts:  # finished chunks are neither rewritten nor lost
        assert (f.stat().st_mtime_ns, f.read_bytes()) == before[f.name]
    assert not list(out.glob(".bpbench-*"))
    assert same_rows(pd.read_parquet(out), expected())


def test_dataset_equals_single_file_and_refuses_reuse(sweep_file, tmp_path):
    out = tmp_path / "ds"
    r = CliRunner().invoke(main, ["run", str(sweep_file), "-o", f"{out}/", *ARGS])
    assert r.exit_code == 0, r.output
    assert len(list(out.glob("part-*.parquet"))) == 8
    assert same_rows(pd.read_parquet(out), expected())
    r = CliRunner().invoke(main, ["show", str(out)])
    assert r.exit_code == 0 and "sgd" in r.output and "max_steps=250000" in r.output
    r = CliRunner().invoke(main, ["run", str(sweep_file), "-o", f"{out}/", *ARGS])
    assert r.exit_code == 1 and "already holds a sweep" in r.stderr
    r = CliRunner().invoke(main, ["run", str(sweep_file), "-o", f"{out}/", "--resume",
                                  "--max-steps", "1000", *ARGS])
    assert r.exit_code == 1 and "holds a different sweep" in r.stderr


@pytest.mark.parametrize("manifest", ["{not json", json.dumps({"format": "other"}),
                                      json.dumps({"format": "bpbench-dataset-1", "spec": {},
                                                  "spec_sha256": "0" * 64})])
def test_corrupt_or_foreign_manifest_refused(sweep_file, tmp_path, manifest):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "_manifest.json").write_text(manifest)
    (out / "part-00000.parquet").write_bytes(b"precious")
    r = CliRunner().invoke(main, ["run", str(sweep_file), "-o", f"{out}/", "--resume", *ARGS])
    assert r.exit_code == 1 and "corrupt or not a bpbench manifest" in r.stderr
    assert (out / "part-00000.parquet").read_bytes() == b"precious"


def test_non_empty_foreign_directory_refused(sweep_file, tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "notes.txt").write_text("mine")
    r = CliRunner().invoke(main, ["run", str(sweep_file), "-o", f"{tmp_path / 'ds'}/", *ARGS])
    assert r.exit_code == 1 and "not empty" in r.stderr


def test_table_too_big_for_memory_refused_up_front(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text('[[run]]\noptimizer = "adam"\nlr = {start = 1e-3, stop = 1, num = 2000, '
                   'scale = "log"}\nbeta = {start = 0, stop = 0.99, num = 2000}\n'
                   'beta2 = {start = 0.9, stop = 0.999, num = 1000}\n')
    r = CliRunner().invoke(main, ["run", str(big), "-o", str(tmp_path / "x.parquet")])
    assert r.exit_code == 1
    assert "4,000,000,000 configurations" in r.stderr and "-o DIR/" in r.stderr
    assert list(tmp_path.iterdir()) == [big]


def test_dask_backend_equals_cpu():
    pytest.importorskip("distributed")
    kw = dict(lr="log:1e-3:1:24", beta="lin:0.5:0.999:20", eps=[1e-8, 1e-2], max_steps=2000)
    a = bpbench.sweep("rmsprop", **kw)
    b = bpbench.sweep("rmsprop", backend="dask", **kw)
    assert same_rows(a, b) and b.attrs["backend"] == "dask"
    from bpbench.backends import dask
    workers = dask.client().scheduler_info()["workers"].values()
    assert len(workers) == (os.cpu_count() or 1)
    assert all(w["nthreads"] == 1 for w in workers)


def test_scheduler_needs_dask_backend(sweep_file):
    r = CliRunner().invoke(main, ["run", str(sweep_file), "--scheduler", "tcp://x:1"])
    assert r.exit_code == 2 and "--scheduler needs --backend dask" in r.stderr


def test_progress_bar_on_a_terminal(sweep_file, tmp_path):
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, where tqdm draws nothing; a real one is not.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    # 24 million steps: seconds, past the 1 s the bar waits before it draws.
    cmd = [sys.executable, "-m", "bpbench", "run", str(sweep_file), "-o",
           str(tmp_path / "x.parquet"), "--chunk-size", "4", "--backend", "serial",
           "--max-steps", "750000"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert p.wait(timeout=120) == 0
    os.close(master)
    assert b"config-steps/s" in seen


def test_no_progress_bar_when_quiet_or_not_on_a_terminal(monkeypatch):
    from bpbench.cli.sweep import progress
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not progress(10, quiet=False).disable
    assert progress(10, quiet=True).disable
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert progress(10, quiet=False).disable


_PIECES = {"lock": threading.Lock(), "running": 0, "peak": 0}


def _counted_piece(*args):
    """dask._piece, counting how many run at once (a module function: Dask pickles it)."""
    from bpbench.backends import dask
    with _PIECES["lock"]:
        _PIECES["running"] += 1
        _PIECES["peak"] = max(_PIECES["peak"], _PIECES["running"])
    try:
        return dask._piece.__wrapped_original__(*args)
    finally:
        with _PIECES["lock"]:
            _PIECES["running"] -= 1


def test_dask_keeps_every_worker_busy_across_chunks(monkeypatch):
    # 8 single-threaded workers, a 262,144-configuration sweep in 65,536-configuration chunks:
    # pieces of several chunks must run at once (chunk by chunk, at most 4 could).
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from bpbench.backends import dask
    monkeypatch.setattr(_counted_piece, "__wrapped_original__", dask._piece, raising=False)
    monkeypatch.setattr(dask, "_piece", _counted_piece)  # workers are threads of this process
    kw = dict(lr="log:0.5:2:262144", max_steps=400)
    with LocalCluster(n_workers=8, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster):
        df = bpbench.sweep("sgd", backend="dask", scheduler=cluster.scheduler_address, **kw)
        dask.client(cluster.scheduler_address).close()  # before its cluster goes
        dask.client.cache_clear()
    assert _PIECES["peak"] >= 8
    cpu = bpbench.sweep("sgd", **kw)
    # DataFrame.equals: exact, dtypes included; assert_frame_equal would box the 262,144
    # categorical labels one by one (15 s), so it only explains a difference.
    if not df[cpu.columns].equals(cpu):
        pd.testing.assert_frame_equal(df, cpu, check_like=True, check_exact=True)
        pytest.fail("the dask table differs from the cpu backend's")
