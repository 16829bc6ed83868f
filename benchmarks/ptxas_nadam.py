"""Does ptxas still miscompile NAdam's persistent kernel? Run on a machine with an NVIDIA GPU:

    python benchmarks/ptxas_nadam.py [SASS_DIR]

bpbench/backends/cuda.py runs NAdam one configuration per thread because, on an H200 (CUDA 13,
driver 580.159.04, 2026-11-28), the persistent kernel (a loop that pulls configurations and
calls training.start for each) computed NAdam's per-configuration state c at another row of S:
after 2 steps c was 1.0 where the CPU has 0.2026, and the step counts differed. The PTX was
right; the machine code was not, and with ptxas optimisation off (debug=True, opt=False) it
was right again. This script builds NAdam's persistent kernel anyway, beside the kernel
bpbench runs, and prints c after 2 steps and the step counts at lr 0.05, 0.5, 5 for each
(the CPU: 0.20259919474573693 and 50, 22, 10). Where the persistent kernel is right on a new
driver, cuda.persistent can go back to every rule. With SASS_DIR, each kernel's SASS is
written there (for a bug report).
"""
import sys
from pathlib import Path

import numpy as np
from numba import cuda

from bpbench import grid
from bpbench.backends import cuda as backend
from bpbench.layout import C
from bpbench.network import net

EXPECTED_C, EXPECTED_STEPS = 0.20259919474573693, [50, 22, 10]


def build(persistent, **jit):
    real_persistent, real_cuda = backend.persistent, backend.cuda

    class Options:  # numba.cuda with extra jit options
        def __getattr__(self, name):
            return getattr(cuda, name)

        def jit(self, *a, **kw):
            return cuda.jit(*a, **{**jit, **kw})

    backend.persistent = lambda optimizer: persistent
    backend.cuda = Options() if jit else cuda
    try:
        shape = grid.block("nadam").problem.shape
        return backend.kernel.__wrapped__(shape, "nadam", "simultaneous", False, False)
    finally:
        backend.persistent, backend.cuda = real_persistent, real_cuda


def launch(train, block, max_steps):
    shape, _, _, H, W0, K = block.args("float64")
    n = H.shape[1]
    S = cuda.to_device(np.full((net(shape).nrows, n), -7.0))
    out = [cuda.device_array(n, d) for d in (np.int64, np.int8, np.float64, np.float64)]
    train[1, n](H, W0, K, 1e-7, max_steps, cuda.to_device(np.zeros(1, np.int64)), S, *out)
    return S.copy_to_host(), out[0].copy_to_host()


def main():
    sass = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    one = grid.block("nadam", "simultaneous", lr=[0.05])
    three = grid.block("nadam", "simultaneous", lr=[0.05, 0.5, 5.0])
    for label, name, train in (
            ("persistent", "persistent", build(True)),
            ("persistent, ptxas optimisation off", "persistent_O0", build(True, debug=True,
                                                                         opt=False)),
            ("one per thread (what bpbench runs)", "one_per_thread", build(False))):
        S, _ = launch(train, one, 2)
        _, steps = launch(train, three, 150)
        right = S[C, 0] == EXPECTED_C and list(steps) == EXPECTED_STEPS
        print(f"{label:<36} c after 2 steps {S[C, 0]!r}, steps {[int(x) for x in steps]}: "
              f"{'right' if right else 'WRONG'}")
        if sass and hasattr(train, "inspect_sass"):  # not on the simulator
            sass.mkdir(parents=True, exist_ok=True)
            code = train.inspect_sass()
            text = "\n".join(code.values()) if isinstance(code, dict) else code
            (sass / f"nadam_{name}.sass").write_text(text)

if __name__ == "__main__":
    main()
