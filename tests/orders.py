"""Which update orders the tests compile a rule's kernels in, so that tests share them: each
(rule, order) with or without weight decay, serial or cpu, is a kernel of its own, 1-4 s to
compile."""
from bpbench.optimizers import OPTIMIZERS


def decay_order(optimizer):
    """The order of a rule's weight-decay kernels: the decay term is the same in both."""
    return ("seed", "simultaneous")[list(OPTIMIZERS).index(optimizer) % 2]


# The cpu kernels: both orders for the post's two rules and Adam, the simultaneous order alone
# for the others. Every rule's serial kernel meets the oracle in both orders (test_oracle),
# and the cpu kernel's lane loop runs the same training.step, which is where the orders
# differ; what the cpu kernel adds (lanes refilled, state rows reset, the block shrinking)
# does not depend on the order.
BOTH_ORDERS = ("sgd", "rmsprop", "adam")


def cpu_orders(optimizer):
    return ["inplace", "simultaneous"] if optimizer in BOTH_ORDERS else ["simultaneous"]
