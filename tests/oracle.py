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


def jump(d, s, p):
    """Quickprop's parabola jump D S / (P - S); none where the slope repeats (P = S)."""
    return 0.0 if p == s else div(d * s, p - s)


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


def new_weight(optimizer, w, g, m, v, n, t, c, lr=None, beta=None, beta2=None, eps=None,
               weight_decay=0.0, momentum_decay=None, eta_minus=None, eta_plus=None,
               step_min=None, step_max=None, mu=None):
    """Parameter n's new value from its value w and gradient g, updating its state m[n], v[n]:
    torch.optim's single-tensor code (Quickprop: bpbench's definition), one element at a
    time. t is the 1-based step, c NAdam's product of momentum coefficients up to step t."""
    if optimizer in ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"):
        if weight_decay:
            g = g + weight_decay * w
        return w - step_size(optimizer, g, m, v, n, t, lr, beta, beta2, eps)
    if optimizer == "rprop":
        size = lr if t == 1 else v[n]
        p = g * m[n]
        factor = eta_plus if p > 0 else eta_minus if p < 0 else 1.0 if p == 0 else nan
        size = min(max(size * factor, step_min), step_max) if p == p else nan
        if p < 0:
            g = 0.0
        m[n], v[n] = g, size
        sign = 1.0 if g > 0 else -1.0 if g < 0 else 0.0 if g == 0 else nan
        return w + -1.0 * sign * size
    if optimizer == "quickprop":
        s, p, d = -g, m[n], v[n]
        shrink = mu / (1 + mu)
        if d > 0:
            step = (lr * s if s > 0 else 0.0) + (mu * d if s > shrink * p else jump(d, s, p))
        elif d < 0:
            step = (lr * s if s < 0 else 0.0) + (mu * d if s < shrink * p else jump(d, s, p))
        else:
            step = lr * s
        m[n], v[n] = s, step
        return w + step
    if optimizer == "adamw":
        if weight_decay:
            w = w * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * w
    if optimizer == "adadelta":
        v[n] = v[n] * beta + (1 - beta) * g * g
        u = div(sqrt(m[n] + eps), sqrt(v[n] + eps)) * g
        m[n] = m[n] * beta + (1 - beta) * u * u
        return w + -lr * u
    m[n] = torch_lerp(m[n], g, 1 - beta)
    if optimizer == "adamax":
        a, b = v[n] * beta2, abs(g) + eps
        v[n] = a if a > b or a != a else b
        return w + div(-div(lr, 1 - beta ** t) * m[n], v[n])
    v[n] = v[n] * beta2 + (1 - beta2) * g * g
    bias2 = 1 - beta2 ** t
    if optimizer == "adamw":
        denom = div(sqrt(v[n]), bias2 ** 0.5) + eps
        return w + div(-div(lr, 1 - beta ** t) * m[n], denom)
    if optimizer == "nadam":
        mu_t = beta * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))
        mu_next = beta * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))
        denom = sqrt(div(v[n], bias2)) + eps
        w = w + div(div(-lr * (1.0 - mu_t), 1.0 - c) * g, denom)
        return w + div(div(-lr * mu_next, 1.0 - c * mu_next) * m[n], denom)
    if optimizer == "radam":
        corrected = div(m[n], 1 - beta ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - div(2 * t * (beta2 ** t), bias2)
        if rho_t > 5.0:
            rect = div((rho_t - 4) * (rho_t - 2) * rho_inf,
                       (rho_inf - 4) * (rho_inf - 2) * rho_t) ** 0.5
            adaptive = div(bias2 ** 0.5, sqrt(v[n]) + eps)
            return w - corrected * lr * adaptive * rect
        return w - corrected * lr
    raise ValueError(optimizer)


def torch_lerp(a, b, weight):
    """ATen's lerp of one element."""
    return a + weight * (b - a) if abs(weight) < 0.5 else b - (b - a) * (1 - weight)


def mu_product(c, t, beta, momentum_decay):
    """NAdam's product of momentum coefficients after step t."""
    return c * (beta * (1.0 - 0.5 * (0.96 ** (t * momentum_decay))))


def train(optimizer, order="simultaneous", tol=1e-7, max_steps=10000, trace=False, **hyper):
    """(steps run, status, final loss, final output[, [(output, loss), ...]]); hyper: the
    optimizer's hyperparameters by name."""
    ya = 0.5
    z = {1: 0.35, 2: 0.9}
    w = {(1, 3): 0.1, (2, 3): 0.8, (1, 4): 0.4, (2, 4): 0.6, (3, 5): 0.3, (4, 5): 0.9}
    m = {k: 0.0 for k in w}
    v = {k: 0.0 for k in w}
    y = {}

    c = [1.0]  # NAdam's product of momentum coefficients

    def update(n, g, t):
        w[n] = new_weight(optimizer, w[n], g, m, v, n, t, c[0], **hyper)

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
        if optimizer == "nadam":
            c[0] = mu_product(c[0], step, hyper["beta"], hyper["momentum_decay"])
        if order in ("inplace", "seed"):
            for n in ORDER:
                update(n, grad(n), step)
        else:
            for n, g in [(n, grad(n)) for n in ORDER]:
                update(n, g, step)
        step += 1
    out = (step, status, e, y[5])
    return out + (history,) if trace else out
