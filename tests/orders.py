"""Which update order the tests run a rule's weight-decay kernels in, so that they share them:
each (rule, order) with decay on is a kernel of its own to compile, and the decay term is the
same in both orders."""
from bpbench.optimizers import OPTIMIZERS


def decay_order(optimizer):
    return ("seed", "simultaneous")[list(OPTIMIZERS).index(optimizer) % 2]
