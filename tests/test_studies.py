"""compare: each optimizer at its best setting, intervals from scipy.stats, paired tests."""
import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import bpbench
from bpbench.cli import main
from bpbench.studies import compare, holm, split


def table(runs):
    """A results table from {(optimizer, lr): [steps or None per seed 0..n-1]}."""
    rows = []
    for (optimizer, lr), steps in runs.items():
        for seed, s in enumerate(steps):
            rows.append({"problem": "p", "optimizer": optimizer, "order": "simultaneous",
                         "lr": lr, "seed": seed, "steps": s,
                         "status": "converged" if s is not None else "max_steps"})
    df = pd.DataFrame(rows)
    for c in ("problem", "optimizer", "order", "status"):
        df[c] = df[c].astype("category")
    df["steps"] = df.steps.astype("Int64")
    df["seed"] = df.seed.astype("Int64")
    return df


@pytest.fixture(scope="module")
def xor():
    return bpbench.sweep(["sgd", "momentum"], problem="xor", lr=[0.5, 2.0],
                         seed={"start": 0, "num": 60}, max_steps=2000)


def test_intervals_are_scipys(xor):
    best = compare(xor)
    for _, row in best.iterrows():
        runs = xor[(xor.optimizer == row.optimizer) & (xor.lr == row.lr)]
        steps = runs.steps.astype("Float64").fillna(np.inf).to_numpy(float)
        k, n = int(np.isfinite(steps).sum()), len(steps)
        wilson = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert (row.restarts, row.success) == (n, k / n)
        assert (row.success_low, row.success_high) == (wilson.low, wilson.high)
        ci = stats.quantile_test(steps, p=0.5).confidence_interval(0.95)
        assert (row.median_low, row.median_high) == (ci.low, ci.high)
        assert row.median_low <= row.median_steps <= row.median_high
        # the chosen setting has the highest success rate of its optimizer's
        rates = xor[xor.optimizer == row.optimizer].groupby("lr").status.apply(
            lambda s: (s == "converged").mean())
        assert row.success == rates.max()


def test_selection_rules_and_holdout():
    # lr 1: converges 9 of 10 but slowly; lr 2: 7 of 10, fast
    slow = [100] * 9 + [None]
    fast = [10] * 7 + [None] * 3
    df = table({("sgd", 1.0): slow, ("sgd", 2.0): fast})
    assert compare(df, "success").lr[0] == 1.0
    assert compare(df, "median").lr[0] == 2.0
    assert compare(df, "robust").lr[0] == 1.0
    # chosen on seeds 0..4 (both converge there, lr 2 faster), reported on 5..9
    held = compare(df, "success", holdout=0.5)
    assert held.lr[0] == 2.0 and held.restarts[0] == 5 and held.success[0] == 0.4
    assert split(np.arange(10), 0.3) == (set(range(7)), set(range(7, 10)))
    with pytest.raises(ValueError, match="no seed"):
        compare(df, holdout=0.01)


def test_pairs_where_the_answer_is_known():
    n = 40
    a = [10 + s % 3 for s in range(n)]  # always converges, fast
    b = [50 + s % 3 if s < 20 else None for s in range(n)]  # half fail, all slower
    same = list(a)  # a's twin
    df = table({("sgd", 1.0): a, ("momentum", 1.0): b, ("adam", 1.0): same})
    best, pairs = compare(df, pairs=True)
    ab = pairs[(pairs.a == "sgd simultaneous") & (pairs.b == "momentum simultaneous")].iloc[0]
    assert (ab.seeds, ab.a_only, ab.b_only) == (n, 20, 0)
    assert ab.p_success_raw == pytest.approx(2 * 0.5 ** 20)  # McNemar exact: 20 vs 0
    assert ab.p_steps_raw == stats.wilcoxon(np.array(a, float),
                                            np.array([s or 53 for s in b], float)).pvalue
    twins = pairs[(pairs.a == "sgd simultaneous") & (pairs.b == "adam simultaneous")].iloc[0]
    assert twins.p_success_raw == 1.0 and twins.p_steps_raw == 1.0
    assert list(pairs.p_success) == list(holm(pairs.p_success_raw))
    assert (pairs.p_steps >= pairs.p_steps_raw).all()


def test_holm():
    # Holm (1979): sorted p times m, m-1, ..., kept monotone, capped at 1
    assert list(holm([0.01, 0.04, 0.03])) == pytest.approx([0.03, 0.06, 0.06])
    assert list(holm([0.5, 0.9])) == [1.0, 1.0]


def test_compare_cli_formats_and_errors(xor, tmp_path):
    path = tmp_path / "x.parquet"
    xor.to_parquet(path)
    r = CliRunner().invoke(main, ["compare", str(path), "--pairs", "--format", "md"])
    assert r.exit_code == 0, r.output
    assert "success_low" in r.stdout and "p_success" in r.stdout
    r = CliRunner().invoke(main, ["compare", str(path), "--format", "csv"])
    back = pd.read_csv(io.StringIO(r.stdout))
    assert list(back.optimizer) == ["sgd", "momentum"]
    r = CliRunner().invoke(main, ["compare", str(path), "--pairs", "--holdout", "0.5"])
    assert r.exit_code == 0 and "chosen on 50% of the seeds" in r.stdout
    post = tmp_path / "post.parquet"
    bpbench.sweep("sgd", lr=[0.5, 1.0]).to_parquet(post)
    r = CliRunner().invoke(main, ["compare", str(post)])
    assert r.exit_code == 1 and "needs random restarts" in r.stderr
    other = tmp_path / "o.parquet"
    bpbench.sweep("sgd", problem="xor", lr=1.0, seed=[0, 1], max_steps=300).to_parquet(other)
    r = CliRunner().invoke(main, ["compare", str(path), str(other)])
    assert r.exit_code == 1 and "differ in max_steps" in r.stderr


def test_best_means_one_thing_in_summary_compare_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from bpbench import analysis, plots
    slow = [100] * 9 + [None]  # lr 1: 90% converge, slowly
    fast = [10] * 7 + [None] * 3  # lr 2: 70%, fast (the lower median)
    df = table({("sgd", 1.0): slow, ("sgd", 2.0): fast})
    assert analysis.summary(df).best[0] == "lr=1" and compare(df).lr[0] == 1.0
    ax = plots.ecdf_curves(df).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd simultaneous: lr=1"]
    fig = plots.compare_plot(df)
    assert "restarts converged" in fig.axes[0].get_xlabel()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["sgd (lr=1)"]


def test_ecdf_refuses_more_curves_than_a_reader_can_tell_apart():
    pytest.importorskip("matplotlib")
    from bpbench import plots
    df = table({(o, 1.0): [10, None] for o in bpbench.OPTIMIZERS})
    with pytest.raises(ValueError, match="more than the 12"):
        plots.ecdf_curves(df)


def counting(monkeypatch):
    """The configurations the cpu backend computes, counted (precompile, which runs one to
    compile, is left out)."""
    import functools

    from bpbench import precompile
    from bpbench.backends import cpu
    monkeypatch.setattr(precompile, "precompile", lambda *a, **k: 0)
    seen = []
    real = cpu.run

    @functools.wraps(real)
    def run(*args, **kw):
        seen.append(args[3].shape[1])
        return real(*args, **kw)
    monkeypatch.setattr(cpu, "run", run)
    return seen


STUDY = """
problem = ["xor", "encoder-4-2"]
max_steps = 300
[[run]]
optimizer = "sgd"
lr = [1.0, 4.0]
seed = {{ start = 0, num = {n} }}
[[run]]
optimizer = "momentum"
problem = "xor"
lr = 1.0
seed = {{ start = 0, num = {n} }}
"""


def test_a_study_of_two_problems_grows_seed_by_seed(tmp_path, monkeypatch):
    seen = counting(monkeypatch)
    f, out = tmp_path / "study.toml", tmp_path / "d"
    f.write_text(STUDY.format(n=10))
    r = CliRunner().invoke(main, ["run", str(f), "-o", f"{out}/", "--chunk-size", "8", "-q"])
    assert r.exit_code == 0, r.output
    first = sorted(p.name for p in out.glob("part-*"))
    before = {p: p.read_bytes() for p in out.glob("part-*")}
    df = pd.read_parquet(out)
    assert set(df.problem) == {"xor", "encoder-4-2"} and len(df) == 2 * 2 * 10 + 10
    assert sum(seen) == 50 and set(df[df.optimizer == "momentum"].problem) == {"xor"}
    seen.clear()
    f.write_text(STUDY.format(n=25))  # 15 more seeds everywhere
    r = CliRunner().invoke(main, ["run", str(f), "-o", f"{out}/", "--chunk-size", "8", "-q",
                                  "--resume"])
    assert r.exit_code == 0, r.output
    assert sum(seen) == 5 * 15  # only the new seeds were computed
    assert all(p.read_bytes() == b for p, b in before.items())  # the old parts untouched
    grown = bpbench.results.load_dataset(out)
    assert len(grown) == 5 * 25 and not grown.duplicated(["problem", "optimizer", "lr",
                                                          "seed"]).any()
    assert sorted(p.name for p in out.glob("part-*"))[:len(first)] == first
    seen.clear()  # the same sweep again: nothing to do
    r = CliRunner().invoke(main, ["run", str(f), "-o", f"{out}/", "--chunk-size", "8", "-q",
                                  "--resume"])
    assert r.exit_code == 0 and sum(seen) == 0
    # a sweep that leaves out a block the dataset holds is refused
    f.write_text(STUDY.format(n=25).split("[[run]]\noptimizer = \"momentum\"")[0])
    r = CliRunner().invoke(main, ["run", str(f), "-o", f"{out}/", "--chunk-size", "8", "-q",
                                  "--resume"])
    assert r.exit_code == 1 and "momentum simultaneous block is not in this one" in r.stderr


def test_the_api_writes_and_extends_a_dataset(tmp_path):
    out = tmp_path / "d"
    kw = dict(problem="xor", lr=2.0, max_steps=300, output=out, chunk_size=4)
    a = bpbench.sweep("sgd", seed={"start": 0, "num": 6}, **kw)
    assert len(a) == 6 and (out / "_manifest.json").exists()
    with pytest.raises(ValueError, match="already holds a sweep"):
        bpbench.sweep("sgd", seed={"start": 0, "num": 6}, **kw)
    b = bpbench.sweep("sgd", seed={"start": 0, "num": 9}, resume=True, **kw)
    alone = bpbench.sweep("sgd", problem="xor", lr=2.0, max_steps=300,
                          seed={"start": 0, "num": 9})
    key = ["seed"]
    assert (b.sort_values(key, ignore_index=True)[["seed", "steps", "status"]]
            .equals(alone[["seed", "steps", "status"]]))


def test_several_tables_read_as_one_when_judged_alike(tmp_path):
    a, b, c = (tmp_path / f"{n}.parquet" for n in "abc")
    bpbench.sweep("sgd", problem="xor", lr=2.0, seed=[0, 1, 2], max_steps=300).to_parquet(a)
    bpbench.sweep("momentum", problem="xor", lr=1.0, seed=[0, 1, 2],
                  max_steps=300).to_parquet(b)
    bpbench.sweep("sgd", problem="xor", lr=2.0, seed=[3], max_steps=200).to_parquet(c)
    for command in (["show"], ["compare"], ["plot", "-o", str(tmp_path / "p.png"),
                                             "--kind", "ecdf"]):
        r = CliRunner().invoke(main, [command[0], str(a), str(b), *command[1:]])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, [command[0], str(a), str(c), *command[1:]])
        assert r.exit_code == 1 and "differ in max_steps" in r.stderr
        r = CliRunner().invoke(main, [command[0], str(a), str(a), *command[1:]])
        assert r.exit_code == 1 and "share 3 configurations" in r.stderr
    r = CliRunner().invoke(main, ["compare", str(a), str(b), "--pairs"])
    assert "sgd simultaneous" in r.stdout and "momentum simultaneous" in r.stdout


def test_learning_curves_are_quantiles_of_the_restarts_trajectories(xor):
    from bpbench import studies
    c = bpbench.curves(xor, seeds=7)
    assert list(c.optimizer.unique()) == ["sgd", "momentum"] and (c.restarts == 7).all()
    sgd = c[c.optimizer == "sgd"]
    lr = compare(xor).lr[0]
    losses = []
    for s in range(7):
        _, loss, status = bpbench.trajectory("sgd", problem="xor", lr=lr, seed=s,
                                             max_steps=2000)
        full = np.full(2000, np.inf if status == "diverged" else loss[-1], np.float32)
        full[:len(loss)] = loss
        losses.append(full)
    want = np.quantile(np.array(losses), studies.QUANTILES, axis=0)
    assert np.array_equal(sgd[["q10", "q50", "q90"]].to_numpy().T, want)
    with pytest.raises(ValueError, match="more than the 256 MiB"):
        bpbench.curves(xor, seeds=10 ** 5)


def test_curves_plot(xor, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "x.parquet"
    xor.to_parquet(path)
    png = tmp_path / "c.png"
    r = CliRunner().invoke(main, ["plot", str(path), "--kind", "curves", "-o", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
