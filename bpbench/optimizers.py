"""Update rules, one per optimizer, each matching a torch.optim class in float64.

optax-style: the state of a weight is two numbers ``(m, v)`` that start at 0, and

    update(g, m, v, t, lr, beta, beta2, eps) -> (u, m, v),   then   w -= u

where g is the weight's gradient and t the 1-based update count. Every rule has this one
signature so that one kernel runs them all; ``Optimizer.hyper`` lists the hyperparameters a
rule really uses, and giving it any other is an error. Where the post writes a formula
(gradient descent, RMSprop) the arithmetic follows the post's order of operations.
"""
from dataclasses import dataclass, field

from numba import njit

from .network import const, sqrt


@njit(inline="always")
def sgd(g, m, v, t, lr, beta, beta2, eps):
    """Gradient descent, torch.optim.SGD(lr): u = lr g."""
    return lr * g, m, v


@njit(inline="always")
def momentum(g, m, v, t, lr, beta, beta2, eps):
    """Heavy ball, torch.optim.SGD(lr, momentum=beta, dampening=0):
    m = beta m + g;  u = lr m.  (torch's first buffer is g itself, which beta*0 + g equals.)"""
    m = beta * m + g
    return lr * m, m, v


@njit(inline="always")
def nesterov(g, m, v, t, lr, beta, beta2, eps):
    """torch.optim.SGD(lr, momentum=beta, nesterov=True): m = beta m + g;  u = lr (g + beta m)."""
    m = beta * m + g
    return lr * (g + beta * m), m, v


@njit(inline="always")
def rmsprop(g, m, v, t, lr, beta, beta2, eps):
    """torch.optim.RMSprop(lr, alpha=beta, eps), the post's "momentum" rule:
    v = beta v + (1 - beta) g^2;  u = lr / (sqrt(v) + eps) g."""
    v = beta * v + (const(g, 1.0) - beta) * (g * g)
    return lr / (sqrt(v) + eps) * g, m, v


@njit(inline="always")
def adam(g, m, v, t, lr, beta, beta2, eps):
    """torch.optim.Adam(lr, betas=(beta, beta2), eps):
    m = beta m + (1 - beta) g;  v = beta2 v + (1 - beta2) g^2;
    u = lr / (1 - beta^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    one = const(g, 1.0)
    m = beta * m + (one - beta) * g
    v = beta2 * v + (one - beta2) * (g * g)
    tf = const(g, t)
    bias1 = one - beta ** tf
    bias2 = one - beta2 ** tf
    return lr / bias1 * (m / (sqrt(v) / sqrt(bias2) + eps)), m, v


@njit(inline="always")
def adagrad(g, m, v, t, lr, beta, beta2, eps):
    """torch.optim.Adagrad(lr, eps) with lr_decay 0 and initial accumulator 0:
    v = v + g^2;  u = lr g / (sqrt(v) + eps)."""
    v = v + g * g
    return lr * g / (sqrt(v) + eps), m, v


HYPERPARAMETERS = ("lr", "beta", "beta2", "eps")


@dataclass(frozen=True)
class Optimizer:
    name: str
    update: object  # the @njit rule above
    defaults: dict  # torch.optim's defaults for the hyperparameters the rule uses
    torch: str  # the torch.optim call it matches
    state: tuple = ()  # the slots (m, v) the rule keeps; its torch.optim state in comments
    # torch.optim's own argument names, accepted for ours: {"alpha": "beta"}; a tuple target
    # takes a pair, as torch's betas=(beta1, beta2)
    aliases: dict = field(default_factory=dict)

    @property
    def hyper(self):
        return tuple(self.defaults)


OPTIMIZERS = {o.name: o for o in (
    Optimizer("sgd", sgd, {"lr": 1e-3}, "SGD(lr)"),
    Optimizer("momentum", momentum, {"lr": 1e-3, "beta": 0.9}, "SGD(lr, momentum=beta)",
              ("m",), {"momentum": "beta"}),  # momentum_buffer
    Optimizer("nesterov", nesterov, {"lr": 1e-3, "beta": 0.9},
              "SGD(lr, momentum=beta, nesterov=True)", ("m",),
              {"momentum": "beta"}),  # momentum_buffer
    Optimizer("rmsprop", rmsprop, {"lr": 1e-2, "beta": 0.99, "eps": 1e-8},
              "RMSprop(lr, alpha=beta, eps=eps)", ("v",), {"alpha": "beta"}),  # square_avg
    Optimizer("adam", adam, {"lr": 1e-3, "beta": 0.9, "beta2": 0.999, "eps": 1e-8},
              "Adam(lr, betas=(beta, beta2), eps=eps)", ("m", "v"),
              {"betas": ("beta", "beta2")}),  # exp_avg, exp_avg_sq
    Optimizer("adagrad", adagrad, {"lr": 1e-2, "eps": 1e-10}, "Adagrad(lr, eps=eps)",
              ("v",)),  # sum
)}
