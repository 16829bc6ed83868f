"""An independent plain-Python transcription of the post, generalised to every optimizer and
both update orders: dicts keyed by (i, j), Python floats, the post's loop. It shares no code
with bpbench. Its arithmetic keeps the post's order of operations (and bpbench's, where the
post has no code) so step counts must agree exactly; squares are x*x, as in PyTorch.
"""
from math import copysign, exp, inf, isfinite, nan, sqrt

ORDER = [(3, 5), (4, 5), (1, 3), (2, 3), (1, 4), (2, 4)]  # the post's back()


def f(x):
    try:
        return 1 / (1 + exp(-x))
    except OverflowError:  # exp(-x) past float range: IEEE gives 1 / inf = 0
        return 0.0


def div(a, b):
    """a / b with IEEE semantics where Python would raise."""
    if b == 0:
        return nan if a == 0 or a != a else copysign(inf, a) * copysign(1.0, b)
    return a / b


def step_size(optimizer, g, m, v, n, t, lr, beta, beta2, eps):
    """u for parameter n (w -= u), updating its state m[n], v[n]: torch.optim's formulas."""
    if optimizer == "sgd":
        return lr * g
    if optimizer in ("momentum", "nesterov"):
        m[n] = beta * m[n] + g
        return lr * m[n] if optimizer == "momentum" else lr * (g + beta * m[n])
    if optimizer == "rmsprop":
        v[n] = beta * v[n] + (1 - beta) * (g * g)
        return div(lr, sqrt(v[n]) + eps) * g
    if optimizer == "adam":
        m[n] = beta * m[n] + (1 - beta) * g
        v[n] = beta2 * v[n] + (1 - beta2) * (g * g)
        return div(lr, 1 - beta ** t) * div(m[n], div(sqrt(v[n]), sqrt(1 - beta2 ** t)) + eps)
    if optimizer == "adagrad":
        v[n] = v[n] + g * g
        return div(lr * g, sqrt(v[n]) + eps)
    raise ValueError(optimizer)


def train(optimizer, order="simultaneous", lr=None, beta=None, beta2=None, eps=None,
          tol=1e-7, max_steps=10000, trace=False):
    """(steps run, status, final loss, final output[, [(output, loss), ...]])."""
    ya = 0.5
    z = {1: 0.35, 2: 0.9}
    w = {(1, 3): 0.1, (2, 3): 0.8, (1, 4): 0.4, (2, 4): 0.6, (3, 5): 0.3, (4, 5): 0.9}
    m = {k: 0.0 for k in w}
    v = {k: 0.0 for k in w}
    y = {}

    def update(n, g, t):
        w[n] -= step_size(optimizer, g, m, v, n, t, lr, beta, beta2, eps)

    def forward():
        y[1], y[2] = z[1], z[2]
        y[3] = f(w[1, 3] * y[1] + w[2, 3] * y[2])
        y[4] = f(w[1, 4] * y[1] + w[2, 4] * y[2])
        y[5] = f(w[3, 5] * y[3] + w[4, 5] * y[4])
        return 1 / 2 * ((y[5] - ya) * (y[5] - ya))

    def grad(n):
        d5 = (y[5] - ya) * (y[5] * (1 - y[5]))
        if n[1] == 5:
            return d5 * y[n[0]]
        return d5 * w[n[1], 5] * (y[n[1]] * (1 - y[n[1]])) * y[n[0]]

    history = []
    step = 1
    while True:
        e = forward()
        history.append((y[5], e))
        if not (isfinite(e) and all(isfinite(x) for x in w.values())):
            status = "diverged"
            break
        if e < tol:
            status = "converged"
            break
        if step >= max_steps:
            status = "max_steps"
            break
        if order in ("inplace", "seed"):
            for n in ORDER:
                update(n, grad(n), step)
        else:
            for n, g in [(n, grad(n)) for n in ORDER]:
                update(n, g, step)
        step += 1
    out = (step, status, e, y[5])
    return out + (history,) if trace else out
