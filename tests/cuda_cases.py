"""The CUDA kernels compared with the exact CPU backends, on a real GPU or on Numba's simulator
(collected through test_cuda.py). The simulator runs every GPU thread as a Python thread, so
the grids are small; benchmarks/gpu.py compares millions of configurations on a real GPU.
"""
import numpy as np
import pandas as pd
import pytest

import bpbench
from bpbench.optimizers import OPTIMIZERS

from orders import exact_backends

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow is divergence


def same_table(optimizer, order, dtype="float64", against=None, **hyper):
    # against the serial or cpu backend (each equal to the oracle, test_oracle), whichever's
    # kernel the main test run compiled, which this run loads from the cache
    kw = dict(order=order, dtype=dtype, max_steps=150, **hyper)
    gpu = bpbench.sweep(optimizer, backend="cuda", **kw)
    cpu = bpbench.sweep(optimizer, backend=against or exact_backends(optimizer, order)[0], **kw)
    assert_same_up_to_exp(gpu, cpu)
    assert gpu.attrs["backend"] == "cuda"
    return gpu


def assert_same_up_to_exp(gpu, cpu):
    """The simulator computes with NumPy's exp (which differs between its AVX-512 and AVX2
    paths), a GPU with CUDA's, the CPU kernels with libm's: a last-bit difference in exp
    sends a chaotic run that never converges anywhere else. So every configuration's status
    must agree, and converged runs' steps and outputs; runs cut off at max_steps or diverged
    are compared by status alone."""
    pd.testing.assert_frame_equal(gpu.drop(columns=["steps", "final_loss", "final_output"]),
                                  cpu.drop(columns=["steps", "final_loss", "final_output"]),
                                  check_like=True)
    done = (cpu.status == "converged").to_numpy()
    assert list(gpu.steps[done]) == list(cpu.steps[done])
    np.testing.assert_allclose(gpu.final_output[done], cpu.final_output[done], rtol=1e-6)


FIRST = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]
# The simulator is slow: the first six rules in both orders, the later ones in one each.
CASES = ([(o, order) for o in FIRST for order in ("inplace", "simultaneous")]
         + [(o, ("inplace", "simultaneous")[i % 2])
            for i, o in enumerate(o for o in OPTIMIZERS if o not in FIRST)])


@pytest.mark.parametrize("optimizer, order", CASES)
def test_cuda_matches_cpu(optimizer, order):
    hyper = {"lr": [0.05, 0.5, 5.0] if optimizer in FIRST else [0.05, 5.0]}
    if "beta" in OPTIMIZERS[optimizer].hyper:
        hyper["beta"] = [0.9]
    same_table(optimizer, order, **hyper)


def test_cuda_float32_and_divergence():
    same_table("rmsprop", "simultaneous", dtype="float32", lr=[0.1, 0.3], beta=0.999,
               eps=0.01)
    df = same_table("adam", "simultaneous", lr=[0.05, 1e308])
    assert list(df.status) == ["converged", "diverged"]


@pytest.mark.parametrize("optimizer, n, top", [("sgd", 12, 20), ("nadam", 5, 5)])
def test_more_configurations_than_threads_are_all_run(monkeypatch, optimizer, n, top):
    # n configurations over 4 threads (2 blocks of 2, as the simulator runs by default, also on
    # a GPU): each persistent thread pulls several in turn; NAdam's kernel (one configuration
    # per thread) runs ceil(n / 4) launches.
    from bpbench.backends import cuda
    monkeypatch.setattr(cuda, "_lanes", lambda: (2, 4))
    before = cuda.launches
    same_table(optimizer, "inplace", lr=np.geomspace(0.5, top, n))
    assert cuda.launches - before == (1 if cuda.persistent(optimizer) else -(-n // 4))


def test_a_small_sweep_launches_without_warnings(monkeypatch):
    # numba-cuda warns at every launch of under 128 blocks (on a GPU; its message wrapped in
    # terminal colour codes, as below): a sweep smaller than the GPU is no mistake of the user's.
    import warnings

    from bpbench.backends import cuda
    real = cuda.kernel

    class Warns:  # the simulator's kernels do not warn: these do, as a GPU's would
        def __init__(self, kernel):
            self.kernel = kernel

        def __getitem__(self, config):
            def launch(*args):
                warnings.warn("\x1b[1mGrid size 1 will likely result in GPU under-utilization "
                              "due to low occupancy.\x1b[0m", RuntimeWarning)
                return self.kernel[config](*args)
            return launch

    monkeypatch.setattr(cuda, "kernel", lambda *a: Warns(real(*a)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bpbench.sweep("sgd", backend="cuda", lr=[0.5, 5.0], max_steps=50)
    assert not [w for w in caught if "under-utilization" in str(w.message)]


def test_cuda_restarts_and_margin_match_cpu():
    # XOR: biases, four patterns, seeded starts and the margin criterion on the GPU kernels.
    same_table("momentum", "simultaneous", problem="xor", seed=[0, 1, 2], lr=[0.5, 3.0],
               beta=0.9, against="cpu")


def test_chunks_are_joined_into_device_sized_launches(tmp_path):
    # 12 configurations in chunks of 4: one launch (the device batch is 16 configurations on
    # the simulator, about a million on a GPU), and the cpu backend's table, chunk by chunk.
    from click.testing import CliRunner

    from bpbench.backends import cuda
    from bpbench.cli import main
    sweep = tmp_path / "s.toml"
    sweep.write_text('max_steps = 60\n[[run]]\noptimizer = "sgd"\n'
                     'lr = { start = 0.5, stop = 20, num = 12, scale = "log" }\n')
    before = cuda.launches
    r = CliRunner().invoke(main, ["run", str(sweep), "-o", str(tmp_path / "g"), "--backend",
                                  "cuda", "--chunk-size", "4", "-q"])
    assert r.exit_code == 0, r.output
    assert cuda.launches - before == 1
    assert len(list((tmp_path / "g").glob("part-*.parquet"))) == 3
    gpu = pd.read_parquet(tmp_path / "g")
    cpu = bpbench.sweep("sgd", lr={"start": 0.5, "stop": 20, "num": 12, "scale": "log"},
                        max_steps=60)
    assert list(gpu.status) == list(cpu.status)
    done = (cpu.status == "converged").to_numpy()
    assert list(gpu.steps[done]) == list(cpu.steps[done])


@pytest.mark.parametrize("optimizer, order", [("sgd", "inplace"), ("nadam", "simultaneous")])
def test_looped_kernels_match_cpu(optimizer, order):
    # encoder-5-3 runs loops.py's kernels (the shape read from the data, scratch passed in):
    # the persistent kernel (sgd) and the one-configuration-per-thread one (NAdam's)
    from bpbench.problems import resolve
    assert resolve("encoder-5-3").shape.looped
    kw = dict(problem="encoder-5-3", seed=[0, 1, 2], lr=[0.5, 3.0], order=order,
              max_steps=40)
    gpu = bpbench.sweep(optimizer, backend="cuda", **kw)
    cpu = bpbench.sweep(optimizer, backend="cpu", **kw)
    assert_same_up_to_exp(gpu, cpu)
    np.testing.assert_allclose(gpu.final_loss, cpu.final_loss, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "nadam"])
def test_the_model_options_match_cpu(optimizer):
    # tanh, cross-entropy, the prime offset, mini-batches, shuffled epochs and a schedule in one
    # run: the looped kernel with every option as data, on a GPU thread per lane
    spec = {"name": "tanh-ce", "layers": [2, 3, 1], "bias": "trained",
            "inputs": [[0, 0], [0, 1], [1, 0], [1, 1]], "targets": [[0], [1], [1], [0]],
            "activation": ["tanh", "sigmoid"], "loss": "cross_entropy", "prime_offset": 0.1,
            "init": {"dist": "uniform", "low": -1.0, "high": 1.0}, "margin": 0.4}
    kw = dict(problem=spec, seed=[0, 1, 2], lr=[0.5, 2.0], batch=3, shuffle=True,
              schedule="step:5:0.9", max_steps=60)
    gpu = bpbench.sweep(optimizer, backend="cuda", **kw)
    cpu = bpbench.sweep(optimizer, backend="cpu", **kw)
    assert_same_up_to_exp(gpu, cpu)
    assert "converged" in set(cpu.status)
