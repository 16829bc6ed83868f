"""Compiled kernels go to a user cache folder keyed by bpbench's sources, not beside the
package, so a read-only install still caches and an upgrade never loads stale kernels."""
import json
import os
import subprocess
import sys


def test_cache_folders_of_other_sources_unused_for_a_month_are_removed(tmp_path):
    from bpbench._cache import STALE_DAYS, prune
    folders = {name: tmp_path / name for name in ("numba-now", "numba-old", "numba-recent")}
    for f in folders.values():
        (f / "sub").mkdir(parents=True)
        (f / "sub" / "k.nbi").write_bytes(b"x")
    day = 86400
    long_ago = os.stat(tmp_path).st_mtime - (STALE_DAYS + 1) * day
    os.utime(folders["numba-now"], (long_ago, long_ago))  # this version's, last used long ago
    os.utime(folders["numba-old"], (long_ago, long_ago))
    os.utime(folders["numba-recent"], (long_ago + 2 * day, long_ago + 2 * day))
    (tmp_path / "notes").mkdir()
    os.utime(tmp_path / "notes", (long_ago, long_ago))  # not a kernel folder: kept
    prune(folders["numba-now"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "numba-now", "numba-recent"]


def test_first_compile_is_announced_on_a_terminal(tmp_path, monkeypatch, capsys):
    from bpbench.backends import serial
    from bpbench.kernels import _announce, _dispatcher
    from bpbench.problems import resolve
    from bpbench import _cache
    monkeypatch.setattr(_cache, "lock_folder", str(tmp_path))  # an empty cache
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    shape = resolve("xor").shape
    _announce(_dispatcher.__wrapped__(serial._run, shape, "adam", "inplace", False, False,
                                      False, False), "adam/inplace", shape)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "compiling adam/inplace kernels for the 2-2-1 network" in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    _announce(_dispatcher.__wrapped__(serial._run, shape, "adam", "inplace", False, False,
                                      False, False), "adam/inplace", shape)
    assert capsys.readouterr().err == ""


def test_a_sweeps_kernels_compile_side_by_side_in_other_processes_into_the_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = """
import json
import bpbench
from bpbench.backends import serial
from bpbench.kernels import dispatcher
from bpbench.precompile import cores
df = bpbench.sweep(["sgd", "momentum"], lr=1.0, backend="serial")
shape = bpbench.problems.POST.shape
stats = [dispatcher(serial._run, shape, o, "simultaneous", decay=True).stats
         for o in ("sgd", "momentum")]
print(json.dumps([cores(), [int(s) for s in df.steps],
                  [sum(s.cache_misses.values()) for s in stats],
                  [sum(s.cache_hits.values()) for s in stats]]))
"""
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    cores, steps, compiled_here, loaded = json.loads(run.stdout)
    assert steps[0] == 111 and steps[1] > 0
    if cores >= 2:  # sgd's compiled here, momentum's in another process at the same time
        assert compiled_here == [1, 0] and loaded == [0, 1]
    # in the user cache folder, not beside the package
    [folder] = (tmp_path / "bpbench").iterdir()
    assert folder.name.startswith("numba-")
    assert len(list(folder.rglob("*.nbi"))) == 2 and list(folder.rglob("*.nbc"))


NEEDS_A_KERNEL = """
import json, sys
import bpbench
from bpbench.backends import cpu
from bpbench.kernels import dispatcher
from bpbench.problems import POST
print("ready", flush=True)
sys.stdin.readline()  # both processes start compiling together
df = bpbench.sweep("sgd", lr=1.0, backend="cpu", fast=True, max_steps=10)
stats = dispatcher(cpu._chunk, POST.shape, "sgd", "simultaneous", fast=True).stats
print(json.dumps([sum(stats.cache_misses.values()), sum(stats.cache_hits.values())]))
"""


def test_two_processes_that_need_a_kernel_compile_it_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", NEEDS_A_KERNEL], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline() == "ready\n"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    # (compiled, loaded from the cache): one compiled it, the other waited and loaded it
    assert sorted(json.loads(out) for out, _ in outs) == [[0, 1], [1, 0]]
    # The fast cpu kernel compiles at a forced SIMD width (cpu._compile), at which LLVM
    # prints "remark: loop not vectorized" for any loop it cannot vectorise: it has none.
    assert not any(err.strip() for _, err in outs), outs


def test_precompile_says_so_and_leaves_failures_to_the_sweep(monkeypatch, capsys):
    from bpbench import precompile
    monkeypatch.setattr(precompile, "jobs", lambda *a: [("cpu", (), False)] * 3)
    monkeypatch.setattr(precompile, "cores", lambda: 2)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    ran, here = [], []
    monkeypatch.setattr(precompile, "_compile_elsewhere", lambda job: ran.append(job) or True)
    monkeypatch.setattr(precompile, "_compile", lambda *job: here.append(job))
    assert precompile.precompile([], {}, "cpu") == 3 and (len(here), len(ran)) == (1, 2)
    assert "compiling 3 kernels, 2 at a time" in capsys.readouterr().err
    monkeypatch.setattr(precompile, "_compile_elsewhere", lambda job: False)  # a child failed
    assert precompile.precompile([], {}, "cpu") == 0
    monkeypatch.setattr(precompile, "cores", lambda: 1)  # one core: nothing to gain
    assert precompile.precompile([], {}, "cpu") == 0


def test_precompile_sends_one_job_per_kernel_the_sweep_needs(monkeypatch):
    from bpbench import grid, precompile
    from bpbench.optimizers import OPTIMIZERS
    monkeypatch.setattr(precompile, "compiled", lambda kernel: False)  # as on a cold cache
    conf = grid.settings(1e-7, 100, "float64", None)
    blocks = grid.blocks(["adamw", "sgd"], ["inplace", "simultaneous"], None, None, None,
                         lr=[0.1, 1.0], weight_decay=[0.0, 0.01])
    jobs = precompile.jobs(blocks, conf, "cpu", False)
    decayed = sorted((opt, order, bool(H[OPTIMIZERS[opt].hyper.index("weight_decay"), 0]))
                     for _, (_, opt, order, H, *_), _ in jobs)
    # sgd's kernels with and without the decay term, in both orders; adamw's one kernel
    # (it decays the weight itself, not through decay()) per order
    assert decayed == sorted([("sgd", r, d) for r in ("inplace", "simultaneous")
                              for d in (False, True)]
                             + [("adamw", r, False) for r in ("inplace", "simultaneous")])
    # the serial backend compiles each rule whole, one kernel for every weight_decay
    serial = sorted((opt, order) for _, (_, opt, order, *_), _ in
                    precompile.jobs(blocks, conf, "serial", False))
    assert serial == sorted((o, r) for o in ("sgd", "adamw") for r in ("inplace", "simultaneous"))
    assert precompile.jobs(blocks, conf, "numpy", False) == []  # nothing to compile there


_RUN = """
import json, sys
import bpbench
MODEL = {"name": "tanh-ce", "layers": [2, 3, 1], "bias": "trained",
         "inputs": [[0, 0], [0, 1], [1, 0], [1, 1]], "targets": [[0], [1], [1], [0]],
         "activation": ["tanh", "sigmoid"], "loss": "cross_entropy",
         "init": {"dist": "uniform", "low": -1.0, "high": 1.0}, "margin": 0.4}
out = {}
for name in sys.argv[1:]:
    df = bpbench.sweep("sgd", problem=MODEL if name == "model" else "encoder-5-3",
                       seed={"start": 0, "num": 8}, lr=[0.5, 2.0], max_steps=150)
    out[name] = [df.status.tolist(), df.final_loss.tolist()]
print(json.dumps(out))
"""


def test_kernels_compiled_in_two_processes_run_right_in_a_third(tmp_path):
    # a plain network's looped kernel and a model's, each compiled in a process of its own,
    # then both loaded from the cache by one process: each must still run its own stages
    def run(*names):
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
        r = subprocess.run([sys.executable, "-c", _RUN, *names], env=env, capture_output=True,
                           text=True, check=True)
        return json.loads(r.stdout.splitlines()[-1])
    plain, model = run("plain")["plain"], run("model")["model"]
    both = run("plain", "model")
    assert both == {"plain": plain, "model": model}
    assert "converged" in model[0] and len(set(model[0])) > 1  # a mix: the check can tell
