"""One configuration's trace runs its kernel interpreted (kernels.interpret) until compiling
pays: the same formulas in the Python interpreter on NumPy scalars, bit for bit the compiled
exact kernel and the oracle."""
import os
import subprocess
import sys

import numpy as np
import pytest

from bpbench import grid
from bpbench.backends import serial
from bpbench.kernels import compiled, dispatcher, interpret
from bpbench.optimizers import OPTIMIZERS, uses_decay
from bpbench.problems import resolve

import oracle

# lr large enough that most rules converge or stall within 300 steps; weight decay where the
# rule has it, so its term is interpreted too
SETTINGS = {name: dict(opt.defaults, lr=0.5, **({"weight_decay": 0.01}
                                                 if "weight_decay" in opt.hyper else {}))
            for name, opt in OPTIMIZERS.items()}


def interpreted(template, optimizer, order, width, max_steps, dtype="float64", problem=None,
                record=False, **hyper):
    b = grid.block(optimizer, order, problem=problem, **hyper)
    shape, _, _, H, W0, K = b.args(np.dtype(dtype))
    margin = b.problem.margin or 0.0
    run = interpret(template, shape, optimizer, b.order, margin=margin > 0, record=record,
                    decay=uses_decay(optimizer))
    hist = np.empty((max_steps, width), dtype=H.dtype)
    with np.errstate(all="ignore"):
        n, status = run(H, W0, K, H.dtype.type(margin or 1e-7), max_steps, hist)
    return hist[:n], status, (shape, b.order, H, W0, K, margin)


@pytest.mark.parametrize("order", ["seed", "simultaneous"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_interpreted_trace_is_the_oracles(optimizer, order):
    hyper = SETTINGS[optimizer]
    hist, status, _ = interpreted(serial._history, optimizer, order, 2, 300, **hyper)
    steps, want_status, loss, output, want = oracle.train(optimizer, order, max_steps=300,
                                                          trace=True, **hyper)
    assert (len(hist), ("converged", "max_steps", "diverged")[status]) == (steps, want_status)
    assert [tuple(row) for row in hist[:, ::-1]] == want  # (output, loss) of every pass


@pytest.mark.parametrize("template, width, optimizer, dtype, problem, record", [
    (serial._history, 2, "rmsprop", "float32", None, False),
    (serial._states, None, "adam", "float64", "xor", True),  # margin criterion, biases
    (serial._history, 2, "nadam", "float32", "xor", False),
])
def test_interpreted_equals_compiled(template, width, optimizer, dtype, problem, record):
    hyper = dict(SETTINGS[optimizer], seed=3) if problem else SETTINGS[optimizer]
    shape = resolve(problem).shape
    width = width or serial.rows(len(shape.params)) + len(shape.params)
    hist, status, (shape, order, H, W0, K, margin) = interpreted(
        template, optimizer, "inplace", width, 400, dtype, problem, record, **hyper)
    kernel = dispatcher(template, shape, optimizer, order, margin=margin > 0, record=record,
                        decay=uses_decay(optimizer))
    want = np.empty((400, width), dtype=H.dtype)
    n, want_status = kernel(H, W0, K, H.dtype.type(margin or 1e-7), 400, want)
    assert (len(hist), status) == (n, want_status)
    np.testing.assert_array_equal(hist, want[:n])  # NaNs equal, every bit of the rest


def test_a_run_too_long_to_interpret_is_compiled(monkeypatch):
    args = grid.block("momentum", "simultaneous", lr=0.01).args(np.dtype("float64"))
    quick = serial.history(*args, 1e-7, 3000)
    monkeypatch.setattr(serial, "INTERPRET_S", 0.0)
    compiled_run = serial.history(*args, 1e-7, 3000)
    assert compiled(dispatcher(serial._history, *args[:3], decay=True))  # whole rules
    assert quick[1] == compiled_run[1] == 0 and len(quick[0]) > 1000  # converged, long
    np.testing.assert_array_equal(quick[0], compiled_run[0])


def test_the_posts_trace_compiles_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = """
from numba.core import event
compiled = []
class Count(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Count())
import bpbench
print(len(bpbench.trajectory('sgd', order='seed', lr=1.0)[1]),
      len(bpbench.trace('rmsprop', lr=0.1, beta=0.999, eps=0.01, weights=True)), compiled)
"""
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["111", "11", "[]"]  # not even a helper was compiled
    assert not list(tmp_path.rglob("*.nbi"))  # no kernel was compiled, so none was cached
