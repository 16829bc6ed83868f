"""The CUDA kernels on Numba's CUDA simulator, compared with the exact CPU backends.

Run as its own pytest invocation: NUMBA_ENABLE_CUDASIM=1 must be set before numba is imported
(.ci/run does this). The simulator runs every GPU thread as a Python thread, so grids are small.
"""
import os

import numpy as np
import pandas as pd
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported",
                allow_module_level=True)
pytest.importorskip("numba.cuda")

import bpbench  # noqa: E402
from bpbench.optimizers import OPTIMIZERS  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow is divergence


def same_table(optimizer, order, dtype="float64", against="serial", **hyper):
    # against: serial or cpu (equal, test_backends), whichever's kernel the main test run
    # compiled, which this run loads from the cache (every rule's serial kernel in both
    # orders, test_oracle; the cpu kernels of orders.cpu_orders)
    kw = dict(order=order, dtype=dtype, max_steps=150, **hyper)
    gpu = bpbench.sweep(optimizer, backend="cuda", **kw)
    cpu = bpbench.sweep(optimizer, backend=against, **kw)
    pd.testing.assert_frame_equal(gpu.drop(columns=["final_loss", "final_output"]),
                                  cpu.drop(columns=["final_loss", "final_output"]),
                                  check_like=True)
    # The simulator computes with NumPy's exp, the CPU kernels with libm's.
    np.testing.assert_allclose(gpu.final_output, cpu.final_output, rtol=1e-6)
    assert gpu.attrs["backend"] == "cuda"
    return gpu


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


def test_more_configurations_than_threads_are_all_run():
    # 40 configurations over 4 simulated threads: each thread pulls several in turn.
    same_table("sgd", "inplace", lr=np.geomspace(0.5, 20, 40))


def test_cuda_restarts_and_margin_match_cpu():
    # XOR: biases, four patterns, seeded starts and the margin criterion on the GPU kernels.
    same_table("momentum", "simultaneous", problem="xor", seed=[0, 1, 2, 3, 4], lr=[0.5, 3.0],
               beta=0.9, against="cpu")


def test_chunks_are_joined_into_device_sized_launches(tmp_path):
    # 12 configurations in chunks of 4: one launch (the simulator's device batch is 16),
    # and the same table as the cpu backend, chunk by chunk.
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
    assert list(gpu.steps) == list(cpu.steps) and list(gpu.status) == list(cpu.status)
