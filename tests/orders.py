"""Which update orders the tests compile a rule's kernels in, so that tests share them: each
(rule, order) on the serial backend, and with or without weight decay on the cpu backend, is a
kernel of its own, 1-4 s to compile."""

# Weight decay in the post's order: the serial backend compiles each rule whole, decay term
# included (serial.run), so that kernel serves every weight_decay; the term itself is the same
# in both orders.
DECAY_ORDER = "seed"


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
