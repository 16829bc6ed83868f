"""Which update orders the tests compile a rule's kernels in, so that tests share them: each
(rule, order) with or without weight decay, serial or cpu, is a kernel of its own, 1-4 s to
compile."""
from bpbench.optimizers import OPTIMIZERS


def decay_order(optimizer):
    """The order of a rule's weight-decay kernels: the decay term is the same in both."""
    return ("seed", "simultaneous")[list(OPTIMIZERS).index(optimizer) % 2]


# Both orders on both backends for the post's two rules and Adam; for every other rule, the
# post's order on the serial backend and the simultaneous order on the cpu backend. Each of
# those kernels meets the oracle (test_oracle), and the serial and cpu kernels of the three
# meet each other on grids (test_backends): what the cpu kernel adds (lanes refilled, state
# rows reset, the block shrinking) does not depend on the rule or the order, and the orders
# differ only in training.step, which both backends run.
BOTH_ORDERS = ("sgd", "rmsprop", "adam")


def cpu_orders(optimizer):
    return ["inplace", "simultaneous"] if optimizer in BOTH_ORDERS else ["simultaneous"]


def serial_orders(optimizer):
    return ["inplace", "simultaneous"] if optimizer in BOTH_ORDERS else ["inplace"]


def exact_backends(optimizer, order):
    """The exact backends whose kernels for (optimizer, order) without weight decay the tests
    compile: serial, cpu or both."""
    order = order.replace("seed", "inplace")
    return [b for b, orders in (("serial", serial_orders), ("cpu", cpu_orders))
            if order in orders(optimizer)]
