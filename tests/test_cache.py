"""Compiled kernels go to a user cache folder keyed by bpbench's sources, not beside the
package, so a read-only install still caches and an upgrade never loads stale kernels."""
import os
import subprocess
import sys


def test_kernels_cached_in_user_cache_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = "import bpbench; print(bpbench.sweep('sgd', order='seed', lr=1.0).steps[0])"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "111"
    [folder] = (tmp_path / "bpbench").iterdir()
    assert folder.name.startswith("numba-")
    assert list(folder.rglob("*.nbi")) and list(folder.rglob("*.nbc"))


def test_first_compile_is_announced_on_a_terminal(tmp_path, monkeypatch, capsys):
    import numba

    from bpbench.backends import serial
    from bpbench.kernels import _announce, dispatcher
    from bpbench.problems import resolve
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    shape = resolve("xor").shape
    _announce(dispatcher.__wrapped__(serial._run, shape, "adam", "inplace"), "adam/inplace", shape)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "compiling adam/inplace kernels for the 2-2-1 network" in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    _announce(dispatcher.__wrapped__(serial._run, shape, "adam", "inplace"), "adam/inplace", shape)
    assert capsys.readouterr().err == ""
