"""Build docs/walkthrough.md and its figures from scratch: every number and picture in the
walkthrough is computed here.

    python docs/make_walkthrough.py        (needs bpbench[plot]; about half a minute)
"""
import os

import numpy as np

import bpbench
from bpbench import analysis, grid, plots
from bpbench.api import run_blocks

HERE = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(HERE, "img")
CLAIM = dict(lr=0.1, beta=0.999, eps=0.01)


def save(fig, name):
    plots.save(fig, os.path.join(IMG, name))
    return f"img/{name}"


def weights_history(order, steps, **hyper):
    """Weights (w35, w45, w13, w23, w14, w24: the post's update order) during every forward
    pass, from bpbench.trace(weights=True), and the hidden outputs y3, y4 they give."""
    t = bpbench.trace("rmsprop", order=order, max_steps=steps, weights=True, **hyper)
    ws = t[["w35", "w45", "w13", "w23", "w14", "w24"]].to_numpy()
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    y3 = sig(ws[:, 2] * 0.35 + ws[:, 3] * 0.9)
    y4 = sig(ws[:, 4] * 0.35 + ws[:, 5] * 0.9)
    return ws, y3, y4


def period(x, tail=200, rtol=1e-3):
    """Smallest p with which the last `tail` values of x repeat (to rtol), or None."""
    x = x[-tail:]
    for p in range(1, tail // 4):
        if np.allclose(x[p:], x[:-p], rtol=rtol, atol=0):
            return p
    return None


def main():
    os.makedirs(IMG, exist_ok=True)
    out = {}

    # 1. The claim.
    curves = [(f"{o} {order}", bpbench.trace(o, order=order, **h))
              for o, h in (("sgd", {"lr": 1.0}), ("rmsprop", CLAIM))
              for order in ("inplace", "simultaneous")]
    out["claim_png"] = save(plots.loss_curves(curves), "claim_curves.png")
    out["gd_steps"] = len(curves[0][1])
    out["rms_steps"] = len(curves[2][1])
    out["gd10_steps"] = len(bpbench.trace("sgd", order="inplace", lr=CLAIM["lr"] / CLAIM["eps"]))

    # 2. RMSprop around the claim, both orders (sweeps/rmsprop_around_claim.toml).
    blocks, conf = grid.load(os.path.join(HERE, "..", "sweeps", "rmsprop_around_claim.toml"))
    df = run_blocks(blocks, conf)
    s = analysis.summary(df).set_index("order")
    out["n_grid"] = len(df) // 2
    out["conv_seed"] = 100 * s.loc["inplace", "converged"]
    out["conv_sim"] = 100 * s.loc["simultaneous", "converged"]
    out["med_seed"], out["med_sim"] = s.loc["inplace", "median_steps"], s.loc["simultaneous",
                                                                           "median_steps"]
    out["best_seed"], out["best_sim"] = s.loc["inplace", "best"], s.loc["simultaneous", "best"]
    out["min_seed"] = s.loc["inplace", "min_steps"]
    seed = df[df.order == "inplace"]
    conv = seed[seed.status == "converged"]
    out["share_faster"] = 100 * (conv.steps < 11).sum() / len(seed)
    out["share_le"] = 100 * (conv.steps <= 11).sum() / len(seed)
    near = seed[np.isclose(seed.eps, 1e-2, rtol=0.5)]
    out["eps_near"] = near.eps.iloc[0]
    fig = plots.heatmap(near, "lr", "beta", mark={"lr": CLAIM["lr"], "beta": CLAIM["beta"]})
    out["heat_png"] = save(fig, "rmsprop_inplace_heatmap.png")
    out["facet_png"] = save(plots.heatmap(seed, "lr", "beta", facet="eps"),
                            "rmsprop_inplace_by_eps.png")
    by_eps = analysis.summary(df, by=["eps"])
    out["eps_summary"] = "\n".join(
        f"| {r.eps:.3g} | {100 * r.converged:.1f}% | {r.median_steps:.0f} |"
        for r in by_eps[by_eps.order == "inplace"].itertuples())

    # 3. Robustness of the claim to eps.
    eps = np.geomspace(1e-8, 1, 33)
    e = {o: bpbench.sweep("rmsprop", order=o, lr=0.1, beta=0.999, eps=eps)
         for o in ("inplace", "simultaneous")}

    def cell(r):
        return str(int(r.steps)) if r.status == "converged" else str(r.status)
    out["eps_table"] = "\n".join(
        f"| {a.eps:.3g} | {cell(a)} | {cell(b)} |"
        for a, b in list(zip(e["inplace"].itertuples(), e["simultaneous"].itertuples()))[::4])
    ok = e["inplace"][e["inplace"].steps <= 15]
    out["eps_lo"], out["eps_hi"] = ok.eps.min(), ok.eps.max()
    fails = e["inplace"][e["inplace"].status != "converged"]
    out["eps_fail_max"] = fails.eps[fails.eps < CLAIM["eps"]].max()
    sim_ok = e["simultaneous"].status == "converged"
    out["sim_all"] = "every" if sim_ok.all() else f"{sim_ok.sum()} of {len(eps)}"

    # 4. Gradient descent's 111 against every optimizer at its best.
    blocks, conf = grid.load(os.path.join(HERE, "..", "sweeps", "optimizers.toml"))
    opt = run_blocks(blocks, conf)
    best = analysis.summary(opt)
    shares = [analysis.percentages(r) for r in
              best[["converged", "max_steps", "diverged"]].to_numpy()]
    out["opt_table"] = "\n".join(
        f"| {r.optimizer} | {p[0]:.1f}% | {r.min_steps} | {r.best} | {r.robust_best} |"
        for r, p in zip(best.itertuples(), shares))
    out["opt_lines_png"] = save(plots.line(opt), "optimizers_lines.png")
    w = analysis.lr_window(opt)
    widest = w.sort_values("decades", ascending=False).groupby("optimizer", observed=True).head(1)
    out["window_table"] = "\n".join(
        f"| {r.optimizer} | {r.lr_min:.3g} | {r.lr_max:.3g} | {r.decades:.2f} | "
        f"{_edge(r.at_edge)} |" for r in widest.itertuples())

    # 5. Why inplace order fails more often.
    both = df.pivot_table(index=["lr", "beta", "eps"], columns="order", values="status",
                          aggfunc="first", observed=True)
    flips = both[(both["inplace"] == "max_steps") & (both["simultaneous"] == "converged")]
    out["n_flips"] = len(flips)
    out["n_other"] = int(((both["inplace"] == "converged")
                          & (both["simultaneous"] != "converged")).sum())
    lr, beta, eps_ = flips.index[len(flips) // 2]
    h = dict(lr=lr, beta=beta, eps=eps_)
    out["cyc_cfg"] = f"lr = {lr:.4g}, beta = {beta:.4g}, eps = {eps_:.3g}"
    t_seed = bpbench.trace("rmsprop", order="inplace", max_steps=5000, **h)
    t_sim = bpbench.trace("rmsprop", order="simultaneous", max_steps=5000, **h)
    out["cyc_sim_steps"] = len(t_sim)
    out["cyc_loss"] = t_seed.loss.iloc[-1]
    out["cyc_out_period"] = period(t_seed.output.to_numpy())
    tail = t_seed.output.to_numpy()[-200:]
    out["cyc_out_lo"], out["cyc_out_hi"] = tail.min(), tail.max()
    ws, y3, y4 = weights_history("inplace", 5000, **h)
    out["w35_0"], out["w35_1"] = ws[0, 0], ws[1, 0]
    out["w13_1_seed"] = ws[1, 2]
    ws_sim, *_ = weights_history("simultaneous", 2, **h)
    out["w13_1_sim"] = ws_sim[1, 2]
    out["y_end"] = min(y3[-1], y4[-1])
    out["w_first_end"] = ", ".join(f"{w:.2f}" for w in ws[-1, 2:])
    out["cycle_png"] = save(plots.loss_curves([("inplace", t_seed), ("simultaneous", t_sim)],
                                              logx=True), "stall.png")
    sample = flips.index[:: max(1, len(flips) // 40)]
    crossed = saturated = cycling = 0
    for lr_, b_, e_ in sample:
        w_, a3, a4 = weights_history("inplace", 3000, lr=lr_, beta=b_, eps=e_)
        crossed += bool(np.any(np.sign(w_[1, :2]) != np.sign(w_[0, :2])))
        saturated += max(a3[-1], a4[-1]) > 0.99
        cycling += period(bpbench.trace("rmsprop", order="inplace", lr=lr_, beta=b_, eps=e_,
                                        max_steps=3000).output.to_numpy()) is not None
    out.update(n_sampled=len(sample), n_crossed=crossed, n_saturated=saturated,
               n_cycling=cycling)

    out.update(restart_findings())
    out.update(model_findings())
    with open(os.path.join(HERE, "walkthrough.md"), "w") as f:
        f.write(TEMPLATE.format(**out))
    print("wrote docs/walkthrough.md and", len(os.listdir(IMG)), "figures")


def _edge(at_edge):
    return {"low": "smallest lr swept", "high": "largest lr swept", "both": "both ends",
            "": "no"}[at_edge]


def sweep_file(name):
    blocks, conf = grid.load(os.path.join(HERE, "..", "sweeps", name))
    return run_blocks(blocks, conf)


HOLDOUT = 0.5  # the best setting is chosen on the lower half of the seeds, reported on the rest


def at_best(df):
    """bpbench.compare with a holdout: each optimizer's best setting chosen on half the seeds,
    its figures (with 95% intervals) from the other half; and the pairwise tests."""
    return bpbench.compare(df, holdout=HOLDOUT, pairs=True)


def interval(low, high, digits=0, percent=False):
    f = (lambda v: f"{100 * v:.1f}") if percent else (
        lambda v: "inf" if not np.isfinite(v) else f"{v:.{digits}f}")
    return f"[{f(low)}, {f(high)}]"


def best_table(best):
    return "\n".join(
        f"| {r.optimizer} | {r.lr:.3g} | {100 * r.success:.1f}% "
        f"{interval(r.success_low, r.success_high, percent=True)} | {r.median_steps:.0f} "
        f"{interval(r.median_low, r.median_high)} | {r.q90:.0f} |" for r in best.itertuples())


def pairs_table(pairs):
    return "\n".join(
        f"| {r.a.split()[0]} | {r.b.split()[0]} | {r.a_only} | {r.b_only} | {r.p_success:.2g} | "
        f"{r.p_steps:.2g} |" for r in pairs.itertuples())


def restart_findings():
    out = {}
    # 6. The post's network from random starts (sweeps/post_restarts.toml).
    df = sweep_file("post_restarts.toml")
    rows = []
    for order in ("inplace", "simultaneous"):
        d = df[df.order == order]
        gd = d[d.optimizer == "sgd"].set_index("seed")
        rms = d[d.optimizer == "rmsprop"].set_index("seed")
        g, r = analysis.steps_or_inf(gd), analysis.steps_or_inf(rms)
        both = np.isfinite(g) & np.isfinite(r)
        ratio = g[both] / r[both]
        q10, med, q90 = np.quantile(ratio, [0.1, 0.5, 0.9])
        rows.append(f"| {order} | {len(gd)} | {100 * np.mean(np.isfinite(g)):.1f}% | "
                    f"{100 * np.mean(np.isfinite(r)):.1f}% | {100 * np.mean(r < g):.1f}% | "
                    f"{med:.1f} ({q10:.1f} to {q90:.1f}) | {np.median(g[np.isfinite(g)]):.0f} | "
                    f"{np.median(r[np.isfinite(r)]):.0f} |")
        if order == "inplace":
            out["post_rms_wins"] = 100 * np.mean(r < g)
            out["post_ratio_med"] = med
    out["post_restart_table"] = "\n".join(rows)
    out["post_ecdf_png"] = save(plots.ecdf_curves(df), "post_restarts_ecdf.png")

    # 7. XOR (sweeps/xor_restarts.toml): each optimizer at its best learning rate.
    xor = sweep_file("xor_restarts.toml")
    best, pairs = at_best(xor)
    out["xor_n"] = xor.seed.nunique()
    out["xor_reported"] = int(best.restarts.iloc[0])
    out["xor_table"] = best_table(best)
    out["xor_pairs"] = pairs_table(pairs)
    out["xor_ecdf_png"] = save(plots.ecdf_curves(xor), "xor_best_ecdf.png")
    out["xor_fail_min"] = 100 * (1 - best.success).min()
    out["xor_fail_max"] = 100 * (1 - best.success).max()
    same = pairs[pairs.p_success >= 0.05]
    out["xor_alike"] = ", ".join(f"{r.a.split()[0]} and {r.b.split()[0]}"
                                 for r in same.itertuples()) or "none"

    # 8. The 4-2-4 encoder (sweeps/encoder_restarts.toml).
    enc = sweep_file("encoder_restarts.toml")
    best, pairs = at_best(enc)
    out["enc_table"] = best_table(best)
    out["enc_pairs"] = pairs_table(pairs)
    out["enc_n"] = enc.seed.nunique()
    out["enc_reported"] = int(best.restarts.iloc[0])
    return out


def paired(a, b):
    """(share of seeds where b converged in fewer steps than a, median of a's steps over b's
    on the seeds both converged) for two tables of the same seeds."""
    a, b = a.set_index("seed").sort_index(), b.set_index("seed").sort_index()
    sa, sb = analysis.steps_or_inf(a), analysis.steps_or_inf(b)
    both = np.isfinite(sa) & np.isfinite(sb)
    return 100 * np.mean(sb < sa), float(np.median(sa[both] / sb[both]))


def model_findings():
    out = {}
    # 9a. Fahlman's offset on the 8-3-8 encoder (sweeps/encoder_offset.toml).
    enc = sweep_file("encoder_offset.toml")
    best, _ = at_best(enc)
    rows = []
    for opt in ("quickprop", "sgd"):
        plain, offset = (best[(best.optimizer == opt) & (best.problem == p)].iloc[0]
                         for p in ("encoder-8-3", "encoder-8-3+offset"))
        for name, r in (("0", plain), ("0.1", offset)):
            rows.append(f"| {opt} | {name} | {r.lr:.3g} | {100 * r.success:.1f}% "
                        f"{interval(r.success_low, r.success_high, percent=True)} | "
                        f"{r.median_steps:.1f} {interval(r.median_low, r.median_high)} |")
        # on every seed, each at the learning rate chosen for it
        a = enc[(enc.optimizer == opt) & (enc.problem == "encoder-8-3") & (enc.lr == plain.lr)]
        b = enc[(enc.optimizer == opt) & (enc.problem == "encoder-8-3+offset")
                & (enc.lr == offset.lr)]
        out[f"off_{opt}_wins"], out[f"off_{opt}_ratio"] = paired(a, b)
    out["offset_table"] = "\n".join(rows)
    out["offset_n"] = enc.seed.nunique()
    out["offset_reported"] = int(best.restarts.iloc[0])

    # 9b. Online against full-batch updates on XOR (sweeps/xor_online.toml).
    xo = sweep_file("xor_online.toml")
    rows = []
    modes = (("full", False, "full batch"), ("online", False, "online, in order"),
             ("online", True, "online, shuffled"))
    chosen = {}
    for batch, shuffle, name in modes:
        part = xo[(xo.batch == batch) & (xo.shuffle == shuffle)]
        r = at_best(part)[0].iloc[0]
        chosen[name] = part[part.lr == r.lr]
        rows.append(f"| {name} | {r.lr:.3g} | {100 * r.success:.1f}% "
                    f"{interval(r.success_low, r.success_high, percent=True)} | "
                    f"{r.median_steps:.1f} {interval(r.median_low, r.median_high)} |")
    out["online_table"] = "\n".join(rows)
    out["online_n"] = xo.seed.nunique()
    out["online_wins"], out["online_ratio"] = paired(chosen["full batch"],
                                                     chosen["online, in order"])
    same = xo[xo.lr == 1.0]
    by = {name: same[(same.batch == b) & (same.shuffle == s)] for b, s, name in modes}
    out["same_lr_wins"], out["same_lr_ratio"] = paired(by["full batch"], by["online, in order"])
    rows = []
    for lr, g in xo.groupby("lr"):  # every seed: success and median epochs per rate and mode
        cells = []
        for b, s, _ in modes:
            part = g[(g.batch == b) & (g.shuffle == s)]
            cells.append(f"{100 * (part.status == 'converged').mean():.1f}% / "
                         f"{analysis.median_inf(part.steps.astype('Float64').fillna(np.inf)):.0f}")
        rows.append(f"| {lr:g} | " + " | ".join(cells) + " |")
    out["online_by_lr"] = "\n".join(rows)
    return out


TEMPLATE = """\
# Walkthrough: what the 111-vs-11 claim really says

Every number and figure here is produced by `python docs/make_walkthrough.py`.

## 1. The claim reproduces

`bpbench reproduce` recomputes the post's trace bit for bit. Gradient descent (lr 1) reaches
loss < 1e-7 at step {gd_steps}, RMSprop (lr 0.1, beta 0.999, eps 0.01) at step {rms_steps},
in the post's in-place update order ("inplace") and in textbook order ("simultaneous") alike.

![loss curves]({claim_png})

The speed-up is a learning-rate effect. RMSprop's step is `lr / (sqrt(s) + eps) * g`; with
gradients around 1e-2 and `s` still tiny, eps = 0.01 dominates the denominator, so the rule is
close to gradient descent with lr / eps = 10. Gradient descent with lr 10 needs
{gd10_steps} steps.

## 2. Where 11 steps sits in RMSprop's landscape

A sweep of lr x beta x eps ({n_grid:,} configurations per order,
`sweeps/rmsprop_around_claim.toml`):

| order | converged | median steps (failures = inf) | fewest steps |
|---|---|---|---|
| inplace | {conv_seed:.1f}% | {med_seed:.0f} | {min_seed}: {best_seed} |
| simultaneous | {conv_sim:.1f}% | {med_sim:.0f} | {best_sim} |

In inplace order, {share_faster:.1f}% of the grid converges in fewer than 11 steps and
{share_le:.1f}% in 11 or fewer: the post's configuration is good, not special. The heatmap
(eps = {eps_near:.3g}, the post's point starred) shows steps falling as lr grows, until an
abrupt edge beyond which runs never converge (hatched grey):

![RMSprop inplace order, steps over lr and beta]({heat_png})

One panel per eps; the share of the inplace-order grid that converges, and its median steps,
at each eps:

![by eps]({facet_png})

| eps | converged | median steps |
|---|---|---|
{eps_summary}

## 3. How robust is 11 to eps?

RMSprop with the post's lr 0.1 and beta 0.999, over eps:

| eps | inplace order | simultaneous order |
|---|---|---|
{eps_table}

In inplace order the post's 11 steps is fragile: 15 steps or fewer only for eps from
{eps_lo:.3g} to {eps_hi:.3g}, and with eps at or below {eps_fail_max:.3g} the same lr and
beta never converge. In simultaneous order {sim_all} eps of the range converges. The next
section shows why.

## 4. Gradient descent's 111 against the others at their best

`sweeps/optimizers.toml`, simultaneous order, each optimizer over a learning-rate range:

| optimizer | converged | fewest steps | at | robust best (its grid neighbours converge too) |
|---|---|---|---|---|
{opt_table}

Steps against the learning rate, each optimizer at its best other hyperparameters for each
lr (`bpbench plot optimizers.parquet`); the bars along the bottom are the convergent
windows, with an arrow where a window runs into the end of the swept range:

![optimizers: steps against lr]({opt_lines_png})

Widest convergent learning-rate window per optimizer (a run of consecutive converging grid
learning rates, at the setting of its other hyperparameters with the widest window).
"Cut off" says whether the window reaches the end of the swept range, where it may go on:

| optimizer | smallest lr | largest lr | decades | cut off |
|---|---|---|---|---|
{window_table}

## 5. Why inplace order fails so much more often

{n_flips} configurations of the grid converge in simultaneous order but not in inplace order;
{n_other} do the reverse. Take one ({cyc_cfg}). In simultaneous order it converges in
{cyc_sim_steps} steps. In inplace order its loss stalls at {cyc_loss:.3g}, and its output ends
up alternating with period {cyc_out_period} between {cyc_out_lo:.4f} and {cyc_out_hi:.4f}:

![inplace order stalls]({cycle_png})

The weights show why. RMSprop's first step moves every weight by about lr / sqrt(1 - beta)
in the direction of its gradient, regardless of the gradient's size, and w35 goes from
{w35_0:.2f} to {w35_1:.2f}, through zero. The post's back() then computes the first-layer
gradients with this *new*, negative w35, so their sign flips: w13 goes to {w13_1_seed:.2f} in
inplace order but to {w13_1_sim:.2f} in simultaneous order. From then on the first-layer weights
keep climbing (after 5000 steps: {w_first_end}), the hidden units saturate
(y3, y4 >= {y_end:.4f}), their gradients y (1 - y) vanish, and the output weights alone
bounce back and forth without reaching the target.

Across {n_sampled} such configurations sampled evenly from the grid: in {n_crossed} an output
weight changes sign in the first update; after 3000 steps a hidden unit is saturated
(y > 0.99) in {n_saturated}; and the output has settled into an exact cycle in {n_cycling}.
Simultaneous order is immune to this particular trap because it computes every gradient
before moving any weight.

## 6. Does 111 vs 11 hold away from the post's starting point?

Everything above starts from the post's one set of weights. `sweeps/post_restarts.toml`
trains the same network on the same pattern from 1,000 random starts (every weight uniform in
[0, 1], a box that holds the post's own weights), with the post's gradient descent (lr 1) and
its RMSprop (lr 0.1, beta 0.999, eps 0.01), per start:

| order | starts | gd converges | RMSprop converges | RMSprop fewer steps | steps ratio gd / RMSprop, median (10% to 90%) | gd median steps | RMSprop median steps |
|---|---|---|---|---|---|---|---|
{post_restart_table}

In the post's in-place order RMSprop needs fewer steps than gradient descent from
{post_rms_wins:.1f}% of the starts, and the median speed-up over starts where both converge is
{post_ratio_med:.1f}x, against 111 / 11 = 10.1x at the post's own start. The fraction of
starts converged by each step:

![post restarts]({post_ecdf_png})

## 7. How often does XOR stall?

`sweeps/xor_restarts.toml`: XOR (2-2-1 with trained biases, the four patterns), every
optimizer over a learning-rate range, {xor_n} random starts (weights and biases uniform in
[-1, 1]) per setting. A run converges when every output is within 0.4 of its 0/1 target
within 5,000 steps. Each optimizer at its best learning rate (`bpbench compare --holdout 0.5`:
the highest success rate, then the lowest median steps, chosen on the lower half of the seeds
and reported on the other {xor_reported}, so the choice does not flatter the figures), with
95% intervals (Wilson for the share converged, order statistics for the median, failures
counted as infinitely slow):

| optimizer | best lr | converged [95% CI] | median steps [95% CI] | 90th percentile |
|---|---|---|---|---|
{xor_table}

Even at its best learning rate every optimizer leaves {xor_fail_min:.1f}% to
{xor_fail_max:.1f}% of XOR's random starts unconverged: the local minima and flat regions that
made XOR the classic test of backprop. Every pair on the same {xor_reported} seeds
(`bpbench compare --pairs`): runs only one of the two converged, McNemar's exact test on
success and the Wilcoxon signed-rank test on steps (failures ranked last), both
Holm-adjusted over all pairs:

| a | b | only a converged | only b converged | p (success) | p (steps) |
|---|---|---|---|---|---|
{xor_pairs}

Pairs whose success rates do not differ at the 5% level: {xor_alike}. The share of starts
converged by each step, per optimizer at its best learning rate (on all seeds):

![XOR at best lr]({xor_ecdf_png})

## 8. The 4-2-4 encoder

`sweeps/encoder_restarts.toml`: four one-hot patterns through two hidden units, {enc_n}
random starts per setting, each optimizer at its best learning rate, chosen on half the seeds
and reported on the other {enc_reported}, as for XOR:

| optimizer | best lr | converged [95% CI] | median steps [95% CI] | 90th percentile |
|---|---|---|---|---|
{enc_table}

Pairs on the same seeds, Holm-adjusted:

| a | b | only a converged | only b converged | p (success) | p (steps) |
|---|---|---|---|---|---|
{enc_pairs}

## 9. The model: Fahlman's offset, and online updates

**The flat-spot offset.** A sigmoid unit near 0 or 1 has a derivative near 0, so its error
barely moves it: Fahlman (1988) added 0.1 to the derivative in backprop, and his Quickprop
encoder results rely on it. `sweeps/encoder_offset.toml` runs the 8-3-8 encoder with and
without it (`prime_offset = 0.1`, the same {offset_n} random starts), each optimizer at its
best learning rate, chosen on half the seeds and reported on the other {offset_reported}:

| optimizer | offset | best lr | converged [95% CI] | median steps [95% CI] |
|---|---|---|---|---|
{offset_table}

On the same seeds, each at its chosen learning rate, the offset made Quickprop faster on
{off_quickprop_wins:.0f}% of them (median ratio of steps without to with:
{off_quickprop_ratio:.2f}) and gradient descent faster on {off_sgd_wins:.0f}%
({off_sgd_ratio:.2f}): the offset matters far more to plain gradient descent, whose step is
proportional to the vanishing derivative, than to Quickprop, whose secant step already
rescales it.

**Online against full batch.** The original backprop updated the weights after every
pattern. `sweeps/xor_online.toml` trains XOR from {online_n} random starts three ways: full
batch (one update per epoch, the gradient summed over the four patterns), online in the data's
order (four updates per epoch) and online with each epoch's order shuffled from the seed. Each
at its best learning rate (chosen on half the seeds, reported on the rest):

| updates | best lr | converged [95% CI] | median epochs [95% CI] |
|---|---|---|---|
{online_table}

Every learning rate on all {online_n} seeds (converged / median epochs, failures counted as
infinitely slow):

| lr | full batch | online, in order | online, shuffled |
|---|---|---|---|
{online_by_lr}

At the same learning rate (1.0) online updates converged in fewer epochs than full batch on
{same_lr_wins:.0f}% of the seeds (median ratio full/online {same_lr_ratio:.2f}); each at its
best learning rate, on {online_wins:.0f}% ({online_ratio:.2f}). An epoch of online updates
makes four steps, each along one pattern's gradient, which at one learning rate goes about
as far as one full-batch step along their sum; what separates the two is how large a rate
each tolerates before starts begin to fail, which the table shows row by row.
"""

if __name__ == "__main__":
    main()
