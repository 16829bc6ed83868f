"""The model's options (activations, cross-entropy, the prime offset, batches, learning-rate
schedules, data files) against the independent transcription in oracle_net.py, across
backends, and refused in one line where they cannot run."""
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpbench
from bpbench import grid, problems
from bpbench.cli import main
from bpbench.grid import GridError

import oracle_net

XOR = {"layers": [2, 2, 1], "inputs": [[0, 0], [0, 1], [1, 0], [1, 1]],
       "targets": [[0], [1], [1], [0]], "bias": "trained"}
WEIGHTS = {"weights": [[[-0.73, 0.69], [0.53, -0.49]], [[-0.01, -0.1]]],
           "biases": [[0.3, 0.58], [-0.81]]}
DONE_WHEN = dict(XOR, **WEIGHTS, name="tanh-ce", activation=["tanh", "sigmoid"],
                 loss="cross_entropy", prime_offset=0.1)


def oracle(spec, optimizer, order="simultaneous", batch=None, schedule=None, losses=None,
           tol=1e-7, margin=0.0, max_steps=10000, shuffle=False, seed=None, **hyper):
    full = dict(bpbench.OPTIMIZERS[optimizer].defaults, **hyper)
    L = spec["layers"]
    act = spec.get("activation", "sigmoid")
    return oracle_net.train(L, spec["inputs"], spec["targets"], spec["weights"],
                            spec.get("biases"), spec["bias"], optimizer, order, tol=tol,
                            margin=margin, max_steps=max_steps,
                            activations=[act] * (len(L) - 1) if isinstance(act, str) else act,
                            loss=spec.get("loss", "sse"),
                            prime_offset=spec.get("prime_offset", 0.0), batch=batch,
                            schedule=schedule, losses=losses, shuffle=shuffle, seed=seed,
                            **full)


@pytest.mark.parametrize("order", ["simultaneous", "inplace"])
def test_done_when_tanh_cross_entropy_offset_batch_2_matches_the_oracle(order):
    # (the cpu backend in the simultaneous order: its kernel for the inplace order and the
    # loss criterion would be one more to compile, and lanes do not depend on the order)
    losses = []
    want = oracle(DONE_WHEN, "sgd", order, batch=2, losses=losses, lr=1.0, tol=0.05)
    t = bpbench.trace("sgd", problem=DONE_WHEN, order=order, batch=2, lr=1.0, tol=0.05)
    assert want[1] == t.attrs["status"] == "converged" and len(t) == want[0] > 50
    assert t.loss.tolist() == losses  # step for step, bit for bit
    assert t.attrs["model"] == {"activation": ["tanh", "sigmoid"], "loss": "cross_entropy",
                                "prime_offset": 0.1}
    for backend in ("serial", "cpu", "numpy") if order == "simultaneous" else ("serial", "numpy"):
        row = bpbench.sweep("sgd", problem=DONE_WHEN, order=order, batch=2, lr=1.0, tol=0.05,
                            backend=backend).iloc[0]
        assert row.steps == want[0]
        if backend == "numpy":  # NumPy's own exp, tanh and log round differently from libm's
            assert row.final_output == pytest.approx(want[3], rel=1e-12)
        else:
            assert (row.final_loss, row.final_output) == (want[2], want[3])


LOOPED_KERNELS = [("sgd", "inplace", 0.0), ("sgd", "simultaneous", 0.3),
                  ("adam", "simultaneous", 0.0), ("nadam", "inplace", 0.3)]


@st.composite
def model_case(draw):
    depth = draw(st.integers(1, 2))
    layers = [draw(st.integers(1, 3)) for _ in range(depth + 2)]
    P = draw(st.integers(1, 4))
    unit = st.floats(-1.5, 1.5)
    acts = [draw(st.sampled_from(["sigmoid", "tanh", "linear", "relu"])) for _ in layers[1:]]
    loss = draw(st.sampled_from(["sse", "cross_entropy"]))
    if loss == "cross_entropy":
        acts[-1] = "sigmoid"
    bias = draw(st.sampled_from(["none", "fixed", "trained"]))
    spec = {"name": "random", "layers": layers, "bias": bias, "activation": acts, "loss": loss,
            "prime_offset": draw(st.sampled_from([0.0, 0.1, 0.25])),
            "inputs": [[draw(unit) for _ in range(layers[0])] for _ in range(P)],
            "targets": [[draw(st.floats(0.0, 1.0)) for _ in range(layers[-1])]
                        for _ in range(P)],
            "weights": [[[draw(unit) for _ in range(layers[a])] for _ in range(layers[a + 1])]
                        for a in range(len(layers) - 1)]}
    if bias != "none":
        spec["biases"] = [[draw(unit) for _ in range(n)] for n in layers[1:]]
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    schedule = draw(st.sampled_from([None, {"kind": "step", "step_size": 3.0, "gamma": 0.7},
                                     {"kind": "exponential", "gamma": 0.97},
                                     {"kind": "inverse_time", "decay": 0.05}]))
    # the looped kernels test_loops compiles (one per rule, order and criterion); nadam
    # advances its state once per update
    optimizer, order, margin = draw(st.sampled_from(LOOPED_KERNELS))
    hyper = {"lr": draw(st.floats(0.01, 2.0))}
    shuffle = draw(st.booleans())
    return spec, batch, schedule, optimizer, hyper, order, margin, shuffle


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=30, deadline=None)
@given(case=model_case(), max_steps=st.integers(1, 150))
def test_random_models_match_the_transcription_on_serial_and_cpu(case, max_steps):
    spec, batch, schedule, optimizer, hyper, order, margin, shuffle = case
    want = oracle(spec, optimizer, order, batch, schedule, tol=1e-4, margin=margin,
                  max_steps=max_steps, shuffle=shuffle, **hyper)
    # the cpu backend on one pairing of order and criterion: each pairing is a kernel to compile
    backends = ("serial", "cpu") if (order, margin) == ("simultaneous", 0.3) else ("serial",)
    for backend in backends:
        row = bpbench.sweep(optimizer, problem=spec, order=order, tol=1e-4, margin=margin,
                            max_steps=max_steps, batch=batch or "full", schedule=schedule,
                            shuffle=shuffle, backend=backend, **hyper).iloc[0]
        assert row.status == want[1]
        assert pd.isna(row.steps) if want[1] != "converged" else row.steps == want[0]
        if want[1] != "diverged":
            assert (row.final_loss, row.final_output) == (want[2], want[3])


def test_shuffles_follow_the_seed_on_every_backend():
    xor = problems.resolve("xor")
    kw = dict(problem="xor", seed={"start": 0, "num": 12}, lr=2.0, batch="online",
              shuffle=True, max_steps=400)
    tables = {b: bpbench.sweep("sgd", backend=b, **kw) for b in ("serial", "cpu", "numpy")}
    plain = bpbench.sweep("sgd", **dict(kw, shuffle=False))
    assert (tables["cpu"].steps.fillna(0) != plain.steps.fillna(0)).any()  # it does shuffle
    W0 = xor.initial(np.arange(12), "float64")
    for s in range(12):
        # update order (network.Shape.params): w[1][0][0], w[1][0][1], b[1][0], then layer 0
        spec = dict(XOR, weights=[[[W0[3 + 2 * j + i, s] for i in range(2)] for j in range(2)],
                                  [[W0[0, s], W0[1, s]]]],
                    biases=[[W0[7, s], W0[8, s]], [W0[2, s]]])
        want = oracle(spec, "sgd", "simultaneous", 1, shuffle=True, seed=s, lr=2.0,
                      margin=0.4, max_steps=400)
        for backend, df in tables.items():
            assert df.status[s] == want[1], backend
            assert pd.isna(df.steps[s]) or df.steps[s] == want[0], backend
    assert tables["cpu"].attrs["shuffle"] is True


def test_defaults_run_the_unrolled_kernels_and_options_the_looped_ones():
    post = grid.block("sgd")
    assert not post.args()[0].looped  # the post stays on its bit-exact unrolled path
    assert post.args(batch=1)[0].looped is False  # one pattern: online is full batch
    assert grid.block("sgd", problem="xor").args(batch="online")[0].looped
    assert grid.block("sgd", schedule="exponential:0.9").args()[0].looped
    assert grid.block("sgd", problem=DONE_WHEN).args()[0].looped
    # and the looped kernels give the unrolled ones' numbers where both can run
    a = bpbench.sweep("sgd", problem="xor", seed={"start": 0, "num": 64}, lr=2.0,
                      max_steps=300)
    b = bpbench.sweep("sgd", problem="xor", seed={"start": 0, "num": 64}, lr=2.0,
                      max_steps=300, schedule="exponential:1")
    pd.testing.assert_frame_equal(a, b.drop(columns=["schedule", "step_size", "gamma",
                                                     "decay"]), check_like=False)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


def torch_run(torch, spec, steps, lr, activation=None, loss="sse", batch=None,
              schedule=None):
    """Outputs on the first pattern and lrs of each epoch of a torch loop (sgd)."""
    W = [torch.tensor(w, requires_grad=True) for w in spec["weights"]]
    B = [torch.tensor(b, requires_grad=True) for b in spec["biases"]] if "biases" in spec \
        else [torch.zeros(len(w)) for w in spec["weights"]]  # none: zeros, not trained
    trained = B if "biases" in spec else []
    X, T = torch.tensor(spec["inputs"], dtype=torch.float64), torch.tensor(spec["targets"],
                                                                          dtype=torch.float64)
    opt = torch.optim.SGD(W + trained, lr=lr)
    sched = schedule(opt) if schedule else None
    acts = activation or ["sigmoid"] * len(W)

    def net(x):
        for w, b, f in zip(W, B, acts):
            x = getattr(torch, f)(x @ w.T + b)
        return x

    outputs, lrs = [], []
    P = len(X)
    size = batch or P
    for _ in range(steps):
        with torch.no_grad():
            outputs.append(net(X)[0, 0].item())
        lrs.append(opt.param_groups[0]["lr"])
        for s in range(0, P, size):
            opt.zero_grad()
            y = net(X[s:s + size])
            if loss == "cross_entropy":
                E = torch.nn.functional.binary_cross_entropy(y, T[s:s + size], reduction="sum")
            else:
                E = 0.5 * ((y - T[s:s + size]) ** 2).sum()
            E.backward()
            opt.step()
        if sched:
            sched.step()
    return np.array(outputs), lrs


TORCH_SPEC = dict(XOR, **WEIGHTS)


@pytest.mark.parametrize("case", ["tanh", "cross_entropy", "online", "batch-3"])
def test_trajectories_match_torch(torch, case):
    spec = dict(TORCH_SPEC)
    kw = {}
    if case == "tanh":
        spec["activation"] = kw["activation"] = ["tanh", "sigmoid"]
    elif case == "cross_entropy":
        spec["loss"] = kw["loss"] = "cross_entropy"
    else:
        kw["batch"] = 1 if case == "online" else 3
    ours = bpbench.trace("sgd", problem=spec, lr=0.5, max_steps=60, tol=1e-300,
                         batch=kw.get("batch", "full"))
    theirs, _ = torch_run(torch, spec, len(ours), 0.5, **kw)
    assert len(ours) == 60
    np.testing.assert_allclose(ours.output.to_numpy(), theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("text, make", [
    ("step:10:0.5", lambda t: lambda o: t.optim.lr_scheduler.StepLR(o, 10, 0.5)),
    ("step:7:0.9", lambda t: lambda o: t.optim.lr_scheduler.StepLR(o, 7, 0.9)),
    ("exponential:0.93", lambda t: lambda o: t.optim.lr_scheduler.ExponentialLR(o, 0.93))])
def test_schedules_equal_torch(torch, text, make):
    """The Done-when line: bpbench trace --optimizer sgd --lr 2 --schedule step:10:0.5 equals
    torch's StepLR trajectory for 60 steps (the post's network), and every lr bit for bit."""
    post = {"weights": [[[0.1, 0.8], [0.4, 0.6]], [[0.3, 0.9]]],
            "inputs": [[0.35, 0.9]], "targets": [[0.5]]}
    ours = bpbench.trace("sgd", lr=2.0, schedule=text, max_steps=60, tol=1e-300,
                         weights=True)
    theirs, lrs = torch_run(torch, post, 60, 2.0, schedule=make(torch))
    assert ours.lr.tolist() == lrs  # bit for bit
    np.testing.assert_allclose(ours.output.to_numpy(), theirs, rtol=1e-13, atol=0)
    result = CliRunner().invoke(main, ["trace", "--optimizer", "sgd", "--lr", "2", "--schedule",
                                       text, "--max-steps", "60", "--tol", "1e-300",
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(__import__("io").StringIO(result.stdout))
    np.testing.assert_array_equal(cli.output.to_numpy(), ours.output.to_numpy())


def test_inverse_time_and_schedule_axes():
    df = bpbench.sweep("sgd", lr=1.0, schedule={"kind": "inverse_time", "decay": [0.0, 0.01]})
    assert list(df.decay) == [0.0, 0.01] and list(df.schedule) == ["inverse_time"] * 2
    constant = bpbench.sweep("sgd", lr=1.0).steps[0]  # decay 0 is a constant lr
    assert df.steps[0] == constant and df.steps[1] > constant
    t = bpbench.trace("sgd", lr=1.0, schedule="inverse_time:0.01", weights=True, max_steps=5)
    assert t.lr.tolist() == [1.0 / (1 + 0.01 * k) for k in range(5)]
    # a table of blocks with and without a schedule keeps both, constant where none
    both = bpbench.sweep(["sgd", "momentum"], problem="xor", lr=1.0, schedule="exponential:0.99")
    assert list(both.schedule) == ["exponential"] * 2
    axes = bpbench.sweep("sgd", lr=1.0, schedule="step:5,10:0.5,0.9", max_steps=20)
    assert list(zip(axes.step_size, axes.gamma)) == [(5, 0.5), (5, 0.9), (10, 0.5), (10, 0.9)]
    mixed = bpbench.results.concat([bpbench.sweep("sgd", lr=1.0), df], {})
    assert list(mixed.schedule) == ["constant", "inverse_time", "inverse_time"]


XOR_CSV = "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
XOR_FANN = "4 2 1\n0 0\n0\n0 1\n1\n1 0\n1\n1 1\n0\n"


def test_fann_csv_and_npz_files_give_the_builtin_xor_table(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "xor.csv").write_text(XOR_CSV)
    (data / "xor.data").write_text(XOR_FANN)
    np.savez(data / "xor.npz", inputs=np.array(XOR["inputs"], float),
             targets=np.array(XOR["targets"], float))
    common = ('layers = [2, 2, 1]\nbias = "trained"\nmargin = 0.4\n'
              'init = { dist = "uniform", low = -1.0, high = 1.0 }\n')
    files = {"csv": 'data = "data/xor.csv"\ninputs = ["a", "b"]\ntargets = ["y"]\n',
             "fann": 'data = "data/xor.data"\n', "npz": 'data = "data/xor.npz"\n'}
    builtin = bpbench.sweep("sgd", problem="xor", seed={"start": 0, "num": 32}, lr=[1.0, 4.0],
                            max_steps=500)
    monkeypatch.chdir(data)  # paths are the sweep file's, not the working directory's
    for kind, text in files.items():
        sweep = tmp_path / f"{kind}.toml"
        sweep.write_text(f'max_steps = 500\n[problem]\nname = "xor"\n{common}{text}'
                         f'[[run]]\noptimizer = "sgd"\nlr = [1.0, 4.0]\n'
                         f'seed = {{ start = 0, num = 32 }}\n')
        df = bpbench.sweep_file(sweep)
        pd.testing.assert_frame_equal(df, builtin, check_exact=True)


def test_resume_refuses_changed_data(tmp_path):
    (tmp_path / "xor.data").write_text(XOR_FANN)
    sweep = tmp_path / "s.toml"
    sweep.write_text('[problem]\nlayers = [2, 2, 1]\nbias = "trained"\ndata = "xor.data"\n'
                     'init = { dist = "uniform", low = -1.0, high = 1.0 }\nmargin = 0.4\n'
                     '[[run]]\noptimizer = "sgd"\nlr = 2.0\nseed = { start = 0, num = 8 }\n')
    out = tmp_path / "out"
    bpbench.sweep_file(sweep, output=out)
    (tmp_path / "xor.data").write_text(XOR_FANN.replace("1 1\n0", "1 1\n1"))
    with pytest.raises(GridError, match="different|not in this one"):
        bpbench.sweep_file(sweep, output=out, resume=True)


@pytest.mark.parametrize("change, message", [
    ({"activation": "softsign"}, "unknown activation 'softsign'"),
    ({"activation": ["tanh"]}, "one per non-input layer"),
    ({"loss": "cross_entropy", "activation": "tanh"}, "cross_entropy needs sigmoid outputs"),
    ({"loss": "cross_entropy", "targets": [[0], [1], [2], [0]]}, "targets in [0, 1]"),
    ({"loss": "mse"}, "loss must be one of sse, cross_entropy"),
    ({"prime_offset": -0.1}, "prime_offset must be >= 0"),
    ({"data": "nowhere.csv", "inputs": ["a"], "targets": ["b"]}, "not found"),
])
def test_bad_model_options_are_refused_in_one_line(change, message):
    spec = dict(XOR, **WEIGHTS, **change)
    with pytest.raises(GridError) as e:
        bpbench.sweep("sgd", problem=spec)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("args, message", [
    (["--batch", "0"], "batch must be"),
    (["--batch", "half"], "batch must be"),
    (["--schedule", "step:10"], "schedule: write step:STEP_SIZE:GAMMA"),
    (["--schedule", "step:2.5:0.5"], "step_size must be a whole number"),
    (["--schedule", "exponential:0"], "gamma must be > 0"),
    (["--schedule", "cosine:3"], "schedule: write"),
])
def test_bad_batches_and_schedules_are_refused_in_one_line(args, message, tmp_path):
    r = CliRunner().invoke(main, ["run", "--optimizer", "sgd", "-o",
                                  str(tmp_path / "o.parquet"), *args])
    assert r.exit_code != 0 and message in r.output, r.output
    assert "Traceback" not in r.output


def test_bad_data_files_are_refused_in_one_line(tmp_path):
    (tmp_path / "short.data").write_text("4 2 1\n0 0\n0\n")
    (tmp_path / "x.csv").write_text(XOR_CSV)
    cases = [({"data": str(tmp_path / "short.data")}, "the header says 4 patterns"),
             ({"data": str(tmp_path / "x.csv"), "inputs": ["a", "c"], "targets": ["y"]},
              "has no column 'c'"),
             ({"data": str(tmp_path / "x.csv")}, "with a CSV, inputs lists its column names"),
             ({"data": str(tmp_path / "short.data"), "inputs": ["a"]}, "name a CSV's columns")]
    for change, message in cases:
        spec = {k: v for k, v in XOR.items() if k not in ("inputs", "targets")}
        spec.update(WEIGHTS, **change)
        with pytest.raises(GridError) as e:
            bpbench.sweep("sgd", problem=spec)
        assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_tables_record_the_model_and_batch(tmp_path):
    df = bpbench.sweep("sgd", problem=DONE_WHEN, batch="online", lr=0.5, max_steps=50,
                       schedule="step:10:0.5")
    assert df.attrs["batch"] == "online"
    assert df.attrs["model"]["tanh-ce"]["loss"] == "cross_entropy"
    assert (df.schedule == "step").all() and df.step_size[0] == 10 and df.gamma[0] == 0.5
    bpbench.results.save(df, tmp_path / "t.parquet")
    back = bpbench.results.load(tmp_path / "t.parquet")
    assert back.attrs["model"] == df.attrs["model"] and back.attrs["batch"] == "online"
    assert math.isnan(df.decay[0])
