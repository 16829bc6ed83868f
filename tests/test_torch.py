"""Trajectories against torch.optim in float64 (skipped when torch is not installed).

bpbench's `simultaneous` order is what torch's autograd computes. The six first rules keep
their own (or the post's) rounding order, and autograd rounds some gradients differently, so
outputs agree to ~1e-13, not always bit for bit (the newer rules, which follow torch's code
line by line, mostly do).
"""
import numpy as np
import pytest

import bpbench

torch = None  # imported by the first test here (2-3 s): a test worker that runs none skips it

CASES = [
    ("sgd", dict(lr=1.0), lambda p, h: torch.optim.SGD(p, lr=h["lr"])),
    ("momentum", dict(lr=0.5, beta=0.9),
     lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["beta"])),
    ("nesterov", dict(lr=0.5, beta=0.9),
     lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["beta"], nesterov=True)),
    ("rmsprop", dict(lr=0.1, beta=0.999, eps=0.01),
     lambda p, h: torch.optim.RMSprop(p, lr=h["lr"], alpha=h["beta"], eps=h["eps"])),
    ("adam", dict(lr=0.05, beta=0.9, beta2=0.999, eps=1e-8),
     lambda p, h: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta"], h["beta2"]), eps=h["eps"])),
    ("adagrad", dict(lr=0.5, eps=1e-10),
     lambda p, h: torch.optim.Adagrad(p, lr=h["lr"], eps=h["eps"])),
    # torch's L2 weight decay on the six above
    ("sgd-wd", dict(lr=1.0, weight_decay=0.1),
     lambda p, h: torch.optim.SGD(p, lr=h["lr"], weight_decay=h["weight_decay"])),
    ("nesterov-wd", dict(lr=0.5, beta=0.9, weight_decay=0.05),
     lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["beta"], nesterov=True,
                                  weight_decay=h["weight_decay"])),
    ("rmsprop-wd", dict(lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.1),
     lambda p, h: torch.optim.RMSprop(p, lr=h["lr"], alpha=h["beta"], eps=h["eps"],
                                      weight_decay=h["weight_decay"])),
    ("adam-wd", dict(lr=0.05, weight_decay=0.1),
     lambda p, h: torch.optim.Adam(p, lr=h["lr"], weight_decay=h["weight_decay"])),
    ("adagrad-wd", dict(lr=0.5, weight_decay=0.1),
     lambda p, h: torch.optim.Adagrad(p, lr=h["lr"], weight_decay=h["weight_decay"])),
    # the rules added with weight decay
    ("rprop", dict(lr=0.05, eta_minus=0.3, eta_plus=1.5, step_min=1e-3, step_max=0.2),
     lambda p, h: torch.optim.Rprop(p, lr=h["lr"], etas=(h["eta_minus"], h["eta_plus"]),
                                    step_sizes=(h["step_min"], h["step_max"]))),
    ("rprop-defaults", dict(lr=0.05), lambda p, h: torch.optim.Rprop(p, lr=h["lr"])),
    ("adamax", dict(lr=0.05, beta=0.3, beta2=0.9, eps=1e-3, weight_decay=0.1),
     lambda p, h: torch.optim.Adamax(p, lr=h["lr"], betas=(h["beta"], h["beta2"]),
                                     eps=h["eps"], weight_decay=h["weight_decay"])),
    ("adamw", dict(lr=0.05, beta=0.9, beta2=0.999, weight_decay=0.1),
     lambda p, h: torch.optim.AdamW(p, lr=h["lr"], betas=(h["beta"], h["beta2"]),
                                    weight_decay=h["weight_decay"])),
    ("nadam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01),
     lambda p, h: torch.optim.NAdam(p, lr=h["lr"], weight_decay=h["weight_decay"],
                                    momentum_decay=h["momentum_decay"])),
    ("radam", dict(lr=0.05, beta2=0.9, weight_decay=0.1),
     lambda p, h: torch.optim.RAdam(p, lr=h["lr"], betas=(0.9, h["beta2"]),
                                    weight_decay=h["weight_decay"])),
    ("adadelta", dict(lr=2.0, beta=0.5, weight_decay=0.1),
     lambda p, h: torch.optim.Adadelta(p, lr=h["lr"], rho=h["beta"],
                                       weight_decay=h["weight_decay"])),
]


@pytest.fixture(autouse=True)
def float64_scalars():
    global torch
    torch = pytest.importorskip("torch")
    # torch keeps optimizer scalars (NAdam's mu_product, the step) in the default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def torch_outputs(make_opt, hyper, steps):
    hidden = torch.tensor([[0.1, 0.8], [0.4, 0.6]], dtype=torch.float64, requires_grad=True)
    output = torch.tensor([0.3, 0.9], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([0.35, 0.9], dtype=torch.float64)
    opt = make_opt([hidden, output], hyper)
    outputs = []
    for _ in range(steps):
        opt.zero_grad()
        pred = torch.sigmoid(output @ torch.sigmoid(hidden @ x))
        loss = 0.5 * (pred - 0.5) ** 2
        loss.backward()
        opt.step()
        outputs.append(pred.item())
    return np.array(outputs)


@pytest.mark.parametrize("name, hyper, make_opt", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch_optim(name, hyper, make_opt):
    # Outputs, not losses: near the target the loss (y5 - 0.5)^2 turns a one-ulp difference in
    # y5 into a large relative one.
    ours = bpbench.trace(name.split("-")[0], order="simultaneous", max_steps=60, tol=1e-300,
                         **hyper)
    theirs = torch_outputs(make_opt, hyper, len(ours))
    np.testing.assert_allclose(ours.output.to_numpy(), theirs, rtol=1e-13, atol=0)


def test_torch_float64_step_counts_match_the_claim():
    for name, hyper, make_opt in (CASES[0], CASES[3]):
        outputs = torch_outputs(make_opt, hyper, 200)
        torch_steps = 1 + int(np.argmax(0.5 * (outputs - 0.5) ** 2 < 1e-7))
        assert torch_steps == int(bpbench.sweep(name, **hyper).steps[0])
