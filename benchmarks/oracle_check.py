"""Exact mode against the plain-Python oracle (tests/oracle.py) on the whole of W1, W2, W3.

    python benchmarks/oracle_check.py [W1 W2 W3]

The oracle is slow (pure Python, about 10 minutes of CPU for the three workloads), so it runs
on every core. Prints, per workload, how many configurations differ in step count or status.
"""
import os
import sys
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import oracle  # noqa: E402

from bpbench.backends import cpu  # noqa: E402
from bpbench.bench import WORKLOADS  # noqa: E402
from bpbench.optimizers import OPTIMIZERS  # noqa: E402
from bpbench.training import STATUSES  # noqa: E402


def one(args):
    optimizer, order, max_steps, hyper = args
    steps, status, *_ = oracle.train(optimizer, order, max_steps=max_steps, **hyper)
    return steps, status


def main(names):
    for name in names:
        block, max_steps = WORKLOADS[name][1]()
        args = block.args("float64")
        H = args[3]
        passes, status, *_ = cpu.run(*args, 1e-7, max_steps)
        uses = OPTIMIZERS[block.optimizer].hyper
        # H's rows: the rule's hyperparameters in its own order (grid.Block.table)
        jobs = [(block.optimizer, block.order, max_steps,
                 {h: float(H[r, i]) for r, h in enumerate(uses)})
                for i in range(H.shape[1])]
        with Pool() as pool:
            want = pool.map(one, jobs, chunksize=64)
        differ = sum((int(p), STATUSES[s]) != w for p, s, w in zip(passes, status, want))
        print(f"{name}: {H.shape[1]:,} configurations, {int(np.sum(passes)):,} config-steps, "
              f"{differ} differ from the oracle (steps or status)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["W1", "W2", "W3"])
