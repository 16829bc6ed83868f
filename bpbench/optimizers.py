"""Update rules, one per optimizer, each matching a torch.optim class in float64.

optax-style, one weight at a time: the state of a weight is two numbers ``(m, v)`` that start
at 0, and every rule is

    rule(g, w, m, v, t, c, h0, h1, h2, h3, h4, h5) -> (w, m, v)

where g is the weight's gradient, t the 1-based update count, c the configuration's own state
(one number that starts at 1 and that ``Optimizer.advance`` moves once per update: NAdam's
running product of momentum coefficients) and h0..h5 the rule's hyperparameters in the order of
``Optimizer.defaults`` (unused slots are named _). One signature lets one kernel run every
rule. torch's L2 ``weight_decay`` is not written into the rules: ``with_weight_decay`` composes
it before one, ``g + weight_decay w``, as optax's ``add_decayed_weights`` is composed with a
transformation (AdamW's decoupled decay is its own rule's). Where the post writes a formula
(gradient descent, RMSprop) the arithmetic follows the post's order of operations; the rules
new since then follow torch.optim's single-tensor code line by line (its ``lerp``, ``addcmul``,
``addcdiv``), so they agree with torch to the last bits that its vectorised kernels leave alone
(float64 trajectories agree to ~1e-13).
"""
import functools
import linecache
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .primitives import const, select, sqrt


@njit(inline="always")
def decay(g, w, weight_decay):
    """torch's L2 weight decay, g + weight_decay w (skipped at 0, as torch does, so an
    infinite weight does not turn g into NaN)."""
    return select(weight_decay != 0, g + weight_decay * w, g)


@functools.cache
def with_weight_decay(name):
    """Optimizer `name`'s rule after torch's L2 weight decay, a step composed before it as
    optax's add_decayed_weights is: rule(decay(g, w, weight_decay), w, ...), weight_decay
    being the rule's own hyperparameter slot. What torch.optim computes for every rule but
    AdamW (which decays the weight itself, in its rule); a kernel whose configurations all
    have weight_decay 0 calls the rule alone, which gives the same numbers faster."""
    opt = OPTIMIZERS[name]
    hyper = ", ".join(f"h{r}" for r in range(SLOTS))
    source = (f"def {name}_with_weight_decay(g, w, m, v, t, c, {hyper}):\n"
              f"    return rule(decay(g, w, h{opt.decay_slot}), w, m, v, t, c, {hyper})\n")
    namespace = {"rule": opt.update, "decay": decay}
    filename = f"<bpbench {name} with weight decay>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    f = namespace[f"{name}_with_weight_decay"]
    f.__doc__ = f"{name} after torch's L2 weight decay (optimizers.with_weight_decay)."
    return njit(inline="always")(f)


def decays(optimizer, H):
    """Whether any configuration of H (a block's table) has torch's L2 weight decay."""
    names = OPTIMIZERS[optimizer].hyper
    return uses_decay(optimizer) and bool(np.any(H[names.index("weight_decay")] != 0))


def uses_decay(optimizer):
    """Whether the rule takes torch's L2 weight decay, composed before it (with_weight_decay):
    AdamW decays the weight itself, so one kernel serves every weight_decay."""
    return OPTIMIZERS[optimizer].decay_slot is not None


def update(optimizer, decay):
    """The update a kernel calls: the rule, after weight decay where decay is true and the
    rule takes it."""
    return with_weight_decay(optimizer) if decay and uses_decay(optimizer) else \
        OPTIMIZERS[optimizer].update


@njit(inline="always")
def lerp(a, b, weight):
    """torch.lerp(a, b, weight) as ATen computes one element: from the nearer end."""
    return select(abs(weight) < 0.5, a + weight * (b - a),
                  b - (b - a) * (const(a, 1.0) - weight))


@njit(inline="always")
def root(x, t):
    """x ** 0.5 as libm's pow computes it, which is what torch's Python floats get: pow(1 -
    2^-53, 0.5) is 1.0 there, the square root 1 - 2^-53. LLVM turns a pow by the constant 0.5
    into a square root, so the exponent is t * 0 + 0.5 (t, the step count, is finite), which
    it cannot fold to a constant."""
    return x ** (t * const(x, 0.0) + const(x, 0.5))


@njit(inline="always")
def keep(c, t, h0, h1, h2, h3, h4, h5):
    """Optimizer.advance of the rules without per-configuration state."""
    return c


@njit(inline="always")
def sgd(g, w, m, v, t, c, lr, weight_decay, _2, _3, _4, _5):
    """Gradient descent, torch.optim.SGD(lr, weight_decay): w -= lr g."""
    return w - lr * g, m, v


@njit(inline="always")
def momentum(g, w, m, v, t, c, lr, beta, weight_decay, _3, _4, _5):
    """Heavy ball, torch.optim.SGD(lr, momentum=beta, dampening=0, weight_decay):
    m = beta m + g;  w -= lr m.  (torch's first buffer is g itself, which beta*0 + g equals.)"""
    m = beta * m + g
    return w - lr * m, m, v


@njit(inline="always")
def nesterov(g, w, m, v, t, c, lr, beta, weight_decay, _3, _4, _5):
    """torch.optim.SGD(lr, momentum=beta, nesterov=True, weight_decay):
    m = beta m + g;  w -= lr (g + beta m)."""
    m = beta * m + g
    return w - lr * (g + beta * m), m, v


@njit(inline="always")
def rmsprop(g, w, m, v, t, c, lr, beta, eps, weight_decay, _4, _5):
    """torch.optim.RMSprop(lr, alpha=beta, eps, weight_decay), the post's "momentum" rule:
    v = beta v + (1 - beta) g^2;  w -= lr / (sqrt(v) + eps) g."""
    v = beta * v + (const(g, 1.0) - beta) * (g * g)
    return w - lr / (sqrt(v) + eps) * g, m, v


@njit(inline="always")
def adam(g, w, m, v, t, c, lr, beta, beta2, eps, weight_decay, _5):
    """torch.optim.Adam(lr, betas=(beta, beta2), eps, weight_decay):
    m = beta m + (1 - beta) g;  v = beta2 v + (1 - beta2) g^2;
    w -= lr / (1 - beta^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    one = const(g, 1.0)
    m = beta * m + (one - beta) * g
    v = beta2 * v + (one - beta2) * (g * g)
    tf = const(g, t)
    bias1 = one - beta ** tf
    bias2 = one - beta2 ** tf
    return w - lr / bias1 * (m / (sqrt(v) / sqrt(bias2) + eps)), m, v


@njit(inline="always")
def adagrad(g, w, m, v, t, c, lr, eps, weight_decay, _3, _4, _5):
    """torch.optim.Adagrad(lr, eps, weight_decay) with lr_decay 0 and initial accumulator 0:
    v = v + g^2;  w -= lr g / (sqrt(v) + eps)."""
    v = v + g * g
    return w - lr * g / (sqrt(v) + eps), m, v


@njit(inline="always")
def rprop(g, w, m, v, t, c, lr, eta_minus, eta_plus, step_min, step_max, _5):
    """torch.optim.Rprop(lr, etas=(eta_minus, eta_plus), step_sizes=(step_min, step_max)),
    Riedmiller and Braun (1993). m is the previous gradient, v the weight's step size (lr at
    the start). Where g keeps the sign of the previous gradient the step size grows by
    eta_plus, where it flips it shrinks by eta_minus and this gradient counts as 0 (no move,
    and no sign to compare next time); then w -= sign(g) step, the step clamped to
    [step_min, step_max]."""
    one = const(g, 1.0)
    same = g * m
    # torch's factor: eta_plus, eta_minus or 1 by the sign of g * prev; NaN stays NaN
    factor = select(same > 0, eta_plus, select(same < 0, eta_minus,
                                               select(same == same, one, same)))
    step = select(const(g, t) == one, lr, v) * factor  # in g's type: float32 stays float32
    step = select(step < step_min, step_min, step)
    step = select(step > step_max, step_max, step)
    g = select(same < 0, const(g, 0.0), g)
    sign = select(g > 0, one, select(g < 0, -one, g * const(g, 0.0)))  # 0, or NaN for NaN
    return w - sign * step, g, step


@njit(inline="always")
def adamax(g, w, m, v, t, c, lr, beta, beta2, eps, weight_decay, _5):
    """torch.optim.Adamax(lr, betas=(beta, beta2), eps, weight_decay), Adam in the infinity
    norm: m = lerp(m, g, 1 - beta);  v = max(beta2 v, |g| + eps);
    w += (-lr / (1 - beta^t)) m / v."""
    one = const(g, 1.0)
    m = lerp(m, g, one - beta)
    a, b = v * beta2, abs(g) + eps
    v = select((a > b) | (a != a), a, b)  # torch.maximum: NaN wins
    clr = lr / (one - beta ** const(g, t))
    return w + -clr * m / v, m, v


@njit(inline="always")
def _adam_moments(g, m, v, beta, beta2):
    """torch's Adam family: m = lerp(m, g, 1 - beta);  v = v beta2 + (1 - beta2) g g
    (addcmul's order: ((1 - beta2) g) g)."""
    one = const(g, 1.0)
    return lerp(m, g, one - beta), v * beta2 + (one - beta2) * g * g


@njit(inline="always")
def adamw(g, w, m, v, t, c, lr, beta, beta2, eps, weight_decay, _5):
    """torch.optim.AdamW(lr, betas=(beta, beta2), eps, weight_decay), Loshchilov and Hutter
    (2019): decay the weight itself, w *= 1 - lr weight_decay, then Adam's step
    w += (-lr / (1 - beta^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    one = const(g, 1.0)
    w = select(weight_decay != 0, w * (one - lr * weight_decay), w)
    m, v = _adam_moments(g, m, v, beta, beta2)
    tf = const(g, t)
    step = lr / (one - beta ** tf)
    bias2_sqrt = root(one - beta2 ** tf, tf)
    return w + -step * m / (sqrt(v) / bias2_sqrt + eps), m, v


@njit(inline="always")
def nadam_mu(t, beta, momentum_decay):
    """NAdam's momentum coefficient at step t: beta (1 - 0.5 * 0.96^(t momentum_decay))."""
    return beta * (const(beta, 1.0) - const(beta, 0.5) * (const(beta, 0.96)
                                                            ** (t * momentum_decay)))


@njit(inline="always")
def nadam_advance(c, t, lr, beta, beta2, eps, weight_decay, momentum_decay):
    """NAdam's running product of momentum coefficients, once per step: c *= mu_t."""
    return c * nadam_mu(const(c, t), beta, momentum_decay)


@njit(inline="always")
def nadam(g, w, m, v, t, c, lr, beta, beta2, eps, weight_decay, momentum_decay):
    """torch.optim.NAdam(lr, betas=(beta, beta2), eps, weight_decay, momentum_decay), Dozat
    (2016): Adam with Nesterov momentum whose coefficient mu_t warms up; c is the product
    mu_1 ... mu_t (per configuration: it is the same for every weight).
    w += -lr (1 - mu_t) / (1 - c) g / d  then  w += -lr mu_(t+1) / (1 - c mu_(t+1)) m / d,
    with d = sqrt(v / (1 - beta2^t)) + eps."""
    one = const(g, 1.0)
    tf = const(g, t)
    mu = nadam_mu(tf, beta, momentum_decay)
    mu_next = nadam_mu(tf + one, beta, momentum_decay)
    m, v = _adam_moments(g, m, v, beta, beta2)
    denom = sqrt(v / (one - beta2 ** tf)) + eps
    w = w + -lr * (one - mu) / (one - c) * g / denom
    return w + -lr * mu_next / (one - c * mu_next) * m / denom, m, v


@njit(inline="always")
def radam(g, w, m, v, t, c, lr, beta, beta2, eps, weight_decay, _5):
    """torch.optim.RAdam(lr, betas=(beta, beta2), eps, weight_decay), Liu et al. (2020):
    plain momentum SGD while the variance estimate is unreliable (rho_t <= 5), then Adam's
    step scaled by the rectification term r_t:
    rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t);
    w -= m / (1 - beta^t) lr [sqrt(1 - beta2^t) / (sqrt(v) + eps) r_t]."""
    one, two = const(g, 1.0), const(g, 2.0)
    m, v = _adam_moments(g, m, v, beta, beta2)
    tf = const(g, t)
    bias2 = one - beta2 ** tf
    corrected = m / (one - beta ** tf)
    rho_inf = two / (one - beta2) - one
    rho_t = rho_inf - two * tf * beta2 ** tf / bias2
    four = const(g, 4.0)
    rect = root((rho_t - four) * (rho_t - two) * rho_inf
                / ((rho_inf - four) * (rho_inf - two) * rho_t), tf)
    adaptive = root(bias2, tf) / (sqrt(v) + eps)
    return select(rho_t > 5, w - corrected * lr * adaptive * rect, w - corrected * lr), m, v


@njit(inline="always")
def adadelta(g, w, m, v, t, c, lr, beta, eps, weight_decay, _4, _5):
    """torch.optim.Adadelta(lr, rho=beta, eps, weight_decay), Zeiler (2012): v is the running
    average of g^2, m that of the squared updates;
    u = sqrt(m + eps) / sqrt(v + eps) g;  m = rho m + (1 - rho) u^2;  w -= lr u."""
    one = const(g, 1.0)
    v = v * beta + (one - beta) * g * g
    u = sqrt(m + eps) / sqrt(v + eps) * g
    m = m * beta + (one - beta) * u * u
    return w + -lr * u, m, v


@njit(inline="always")
def quickprop(g, w, m, v, t, c, lr, mu, _2, _3, _4, _5):
    """Quickprop, Fahlman (1988), "An empirical study of learning speed in back-propagation
    networks", CMU-CS-88-162, as bpbench defines it. With the downhill slope S = -g, the
    previous slope P (m) and the previous step D (v), both 0 at the start, and
    shrink = mu / (1 + mu):

        if D > 0:   step = (lr S if S > 0 else 0) + (mu D if S > shrink P else D S / (P - S))
        elif D < 0: step = (lr S if S < 0 else 0) + (mu D if S < shrink P else D S / (P - S))
        else:       step = lr S
        w += step;  P = S;  D = step

    The parabola's jump D S / (P - S) is capped at mu times the previous step (mu, Fahlman's
    maximum growth factor, 1.75 by default); a gradient term is added only while the slope
    keeps the previous step's direction. Where the slope repeats exactly (P = S: a stuck unit
    whose gradient is 0 twice, common in float32), the parabola has no minimum and the jump
    would be 0/0 or infinite: bpbench takes no jump there (0), which leaves the gradient term,
    so a stuck run stays stuck (max_steps) instead of turning NaN (diverged)."""
    s = -g
    zero = const(g, 0.0)
    shrink = mu / (const(g, 1.0) + mu)
    jump = select(m != s, v * s / (m - s), zero)
    up = select(s > 0, lr * s, zero) + select(s > shrink * m, mu * v, jump)
    down = select(s < 0, lr * s, zero) + select(s < shrink * m, mu * v, jump)
    step = select(v > 0, up, select(v < 0, down, lr * s))
    return w + step, s, step


HYPERPARAMETERS = ("lr", "beta", "beta2", "eps", "weight_decay", "momentum_decay",
                   "eta_minus", "eta_plus", "step_min", "step_max", "mu")
SLOTS = 6  # hyperparameters a rule takes (h0..h5); rows of H and of S
MEANING = {  # one line each, for --help
    "lr": "learning rate (Rprop: the initial step size; > 0)",
    "beta": "momentum / RMSprop alpha / Adam-family beta1 / Adadelta rho, in [0, 1)",
    "beta2": "Adam-family beta2, in [0, 1)",
    "eps": "epsilon in the denominator (>= 0)",
    "weight_decay": "L2 penalty added to the gradient (AdamW: decoupled decay; >= 0)",
    "momentum_decay": "NAdam's momentum warm-up rate (>= 0)",
    "eta_minus": "Rprop: step-size shrink factor on a sign change, in (0, 1)",
    "eta_plus": "Rprop: step-size growth factor, > 1",
    "step_min": "Rprop: smallest step size (>= 0)",
    "step_max": "Rprop: largest step size (> 0)",
    "mu": "Quickprop: maximum growth factor of a step (> 0)",
}


@dataclass(frozen=True)
class Optimizer:
    name: str
    update: object  # the @njit rule above
    defaults: dict  # torch.optim's defaults for the hyperparameters the rule uses, in slot order
    torch: str  # the torch.optim call it matches
    state: tuple = ()  # the slots (m, v) the rule keeps; its torch.optim state in comments
    # torch.optim's own argument names, accepted for ours: {"alpha": "beta"}; a tuple target
    # takes a pair, as torch's betas=(beta1, beta2)
    aliases: dict = field(default_factory=dict)
    advance: object = keep  # moves the per-configuration state c once per step
    decoupled: bool = False  # decays the weight itself (AdamW), not through the gradient

    @property
    def hyper(self):
        return tuple(self.defaults)

    @property
    def decay_slot(self):
        """The slot of weight_decay where torch's L2 decay goes before the rule
        (with_weight_decay); None for a rule without it or with its own (AdamW)."""
        if self.decoupled or "weight_decay" not in self.defaults:
            return None
        return self.hyper.index("weight_decay")


BETAS = {"betas": ("beta", "beta2")}
OPTIMIZERS = {o.name: o for o in (
    Optimizer("sgd", sgd, {"lr": 1e-3, "weight_decay": 0.0}, "SGD(lr, weight_decay)"),
    Optimizer("momentum", momentum, {"lr": 1e-3, "beta": 0.9, "weight_decay": 0.0},
              "SGD(lr, momentum=beta, weight_decay)", ("m",),
              {"momentum": "beta"}),  # momentum_buffer
    Optimizer("nesterov", nesterov, {"lr": 1e-3, "beta": 0.9, "weight_decay": 0.0},
              "SGD(lr, momentum=beta, nesterov=True, weight_decay)", ("m",),
              {"momentum": "beta"}),  # momentum_buffer
    Optimizer("rmsprop", rmsprop, {"lr": 1e-2, "beta": 0.99, "eps": 1e-8, "weight_decay": 0.0},
              "RMSprop(lr, alpha=beta, eps, weight_decay)", ("v",),
              {"alpha": "beta"}),  # square_avg
    Optimizer("adam", adam, {"lr": 1e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8,
                             "weight_decay": 0.0},
              "Adam(lr, betas=(beta, beta2), eps, weight_decay)", ("m", "v"),
              BETAS),  # exp_avg, exp_avg_sq
    Optimizer("adagrad", adagrad, {"lr": 1e-2, "eps": 1e-10, "weight_decay": 0.0},
              "Adagrad(lr, eps, weight_decay)", ("v",)),  # sum
    Optimizer("rprop", rprop, {"lr": 1e-2, "eta_minus": 0.5, "eta_plus": 1.2, "step_min": 1e-6,
                               "step_max": 50.0},
              "Rprop(lr, etas=(eta_minus, eta_plus), step_sizes=(step_min, step_max))",
              ("m", "v"), {"etas": ("eta_minus", "eta_plus"),
                           "step_sizes": ("step_min", "step_max")}),  # prev, step_size
    Optimizer("adamax", adamax, {"lr": 2e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8,
                                 "weight_decay": 0.0},
              "Adamax(lr, betas=(beta, beta2), eps, weight_decay)", ("m", "v"),
              BETAS),  # exp_avg, exp_inf
    Optimizer("adamw", adamw, {"lr": 1e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8,
                               "weight_decay": 1e-2},
              "AdamW(lr, betas=(beta, beta2), eps, weight_decay)", ("m", "v"),
              BETAS, decoupled=True),  # exp_avg, exp_avg_sq
    Optimizer("nadam", nadam, {"lr": 2e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8,
                               "weight_decay": 0.0, "momentum_decay": 4e-3},
              "NAdam(lr, betas=(beta, beta2), eps, weight_decay, momentum_decay)", ("m", "v"),
              BETAS, nadam_advance),  # exp_avg, exp_avg_sq; mu_product per configuration
    Optimizer("radam", radam, {"lr": 1e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8,
                               "weight_decay": 0.0},
              "RAdam(lr, betas=(beta, beta2), eps, weight_decay)", ("m", "v"),
              BETAS),  # exp_avg, exp_avg_sq
    Optimizer("adadelta", adadelta, {"lr": 1.0, "beta": 0.9, "eps": 1e-6, "weight_decay": 0.0},
              "Adadelta(lr, rho=beta, eps, weight_decay)", ("m", "v"),
              {"rho": "beta"}),  # acc_delta, square_avg
    Optimizer("quickprop", quickprop, {"lr": 0.1, "mu": 1.75}, "none: Fahlman (1988)",
              ("m", "v")),  # previous slope, previous step
)}
