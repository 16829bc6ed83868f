"""GPU benchmark: the cuda backend beside the cpu backend, in one process on one machine.

    python benchmarks/gpu.py [--workload W1,W3,R1,LARGE,OPT] [--repeat 3]

Needs an NVIDIA GPU and bpbench[cuda]. Prints, per workload and variant (cpu exact and fast
float64 on every core, cuda float64 and float32; OPT, every rule, only exact float64 and cuda
float64): config-steps/s, compile seconds (first call
on one configuration; for cuda: NVVM, PTX assembly and module load) and how many
configurations differ from cpu exact float64 (step count or status). Then, for LARGE:
- the kernel's registers and local memory per thread, and the blocks the driver keeps
  resident per multiprocessor (occupancy) against the lanes the backend launches;
- device-sized batching, side by side: 16 chunks of 65,536 configurations launched one by one
  (as `run` did before it joined chunks) against run_many's joined launch, alternating;
- W1 and LARGE on the persistent kernel against one configuration per thread (NAdam's).
"""
import argparse
import platform
import time

import numba
import numpy as np
from numba import cuda

from bpbench.backends import cuda as gpu
from bpbench.bench import WORKLOADS, isa, measure
from bpbench.optimizers import decays

VARIANTS = [("cpu", False, "float64"), ("cpu", True, "float64"),
            ("cuda", False, "float64"), ("cuda", False, "float32")]
# OPT (every optimizer, 512 learning rates each) checks every rule's GPU kernel against the
# CPU's; exact float64 against cuda float64 only, as each rule is another compile.
ONLY = {"OPT": [("cpu", False, "float64"), ("cuda", False, "float64")]}
CHUNK = 65_536


def describe():
    dev = cuda.get_current_device()
    name = getattr(dev, "name", "simulator")
    name = name.decode() if isinstance(name, bytes) else name
    sm = getattr(dev, "MULTIPROCESSOR_COUNT", "?")
    print(f"GPU: {name}, {sm} multiprocessors, compute capability {dev.compute_capability}")
    print(f"CPU: {platform.processor() or platform.machine()}, ISA {isa()}, "
          f"{numba.get_num_threads()} Numba threads; numba {numba.__version__}, "
          f"numpy {np.__version__}")
    per_block, lanes = gpu._lanes()
    print(f"backend lanes: {lanes:,} threads ({per_block} per block); device batch at least "
          f"{gpu.BATCH_PER_LANE * lanes:,} configurations")


def workloads(names, repeat):
    print(f"\n{'workload':<8} {'backend':<5} {'mode':<5} {'dtype':<8} {'configs':>10} "
          f"{'config-steps':>14} {'wall s':>8} {'steps/s':>9} {'compile s':>9} {'differ':>7}")
    for name in names:
        block, max_steps = WORKLOADS[name][1]()
        ref = None
        for backend, fast, dtype in ONLY.get(name, VARIANTS):
            (passes, status, *_), wall, comp = measure(block, max_steps, backend, fast, dtype,
                                                       repeat)
            if ref is None:
                ref = passes, status
            differ = int(np.sum((passes != ref[0]) | (status != ref[1])))
            mode = "-" if backend == "cuda" else "fast" if fast else "exact"
            print(f"{name:<8} {backend:<5} {mode:<5} {dtype:<8} "
                  f"{passes.size:>10,} {int(passes.sum()):>14,} {wall:>8.3f} "
                  f"{passes.sum() / wall:>9.3g} {comp:>9.2f} {differ:>7} "
                  f"({100 * differ / passes.size:.3f}%)", flush=True)
            if isinstance(block, list) and differ:  # which rules differ
                bad = (passes != ref[0]) | (status != ref[1])
                lo = 0
                for b in block:
                    n = b.size
                    if bad[lo:lo + n].any():
                        print(f"    {b.optimizer}: {int(bad[lo:lo + n].sum())} of {n} differ")
                    lo += n


def occupancy(block, dtype):
    shape, optimizer, order, H, *_ = block.args(dtype)
    train = gpu.kernel(shape, optimizer, order, bool(block.problem.margin), decays(optimizer, H))
    per_block, lanes = gpu._lanes()
    sm = getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", 0)
    if not train.overloads:
        print(f"LARGE kernel {dtype}: no compiled overload to inspect")
    for overload in train.overloads.values():
        line = (f"LARGE kernel {dtype}: {overload.regs_per_thread} registers, "
                f"{overload.local_mem_per_thread} B local memory per thread")
        try:  # numba-cuda internals: the compiled function's occupancy
            blocks = cuda.current_context().get_active_blocks_per_multiprocessor(
                overload._codelibrary.get_cufunc(), per_block, 0)
            line += (f"; {blocks} blocks of {per_block} resident per multiprocessor = "
                     f"{blocks * per_block * sm:,} threads (backend launches {lanes:,})")
        except Exception as e:
            line += f"; occupancy unavailable ({type(e).__name__})"
        print(line)


def batching(block, max_steps, dtype, repeat):
    """One launch per 65,536-configuration chunk against run_many's joined launches."""
    shape, optimizer, order, H, W0, K = block.args(dtype)
    settings = (1e-7, max_steps, block.problem.margin or 0.0)
    jobs = [(lo, (shape, optimizer, order, H[:, lo:lo + CHUNK], W0[:, lo:lo + CHUNK], K)
             + settings) for lo in range(0, H.shape[1], CHUNK)]
    gpu.run(*jobs[0][1][:6], 1e-7, 2, settings[2])  # compile

    def per_chunk():
        return [gpu.run(*args) for _, args in jobs]

    def joined():
        return [out for _, out in gpu.run_many(jobs)]

    walls = {"per chunk": [], "joined": []}
    results = {}
    for _ in range(repeat):
        for label, fn in (("per chunk", per_chunk), ("joined", joined)):
            before = gpu.launches
            t = time.perf_counter()
            results[label] = fn()
            walls[label].append(time.perf_counter() - t)
            results[label + " launches"] = gpu.launches - before
    same = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
               for a, b in zip(results["per chunk"], results["joined"]))
    steps = sum(int(out[0].sum()) for out in results["joined"])
    for label in ("per chunk", "joined"):
        w = walls[label]
        print(f"LARGE {dtype} {len(jobs)} chunks of {CHUNK:,}, {label:<9}: "
              f"{results[label + ' launches']:>2} launches, wall "
              f"{', '.join(f'{x:.3f}' for x in w)} s, {steps / np.median(w):.3g} config-steps/s")
    print(f"LARGE {dtype} per chunk / joined (medians): "
          f"{np.median(walls['per chunk']) / np.median(walls['joined']):.2f}x; "
          f"same step counts and status: {same}")


def persistence(name, dtype, repeat):
    """The persistent kernel against one configuration per thread (the kernel NAdam runs),
    on the same rule and grid, alternating."""
    block, max_steps = WORKLOADS[name][1]()
    args = block.args(dtype)
    real_kernel, real_persistent = gpu.kernel, gpu.persistent
    kernels = {}
    for label, flag in (("persistent", True), ("one per thread", False)):
        gpu.persistent = lambda optimizer, flag=flag: flag
        kernels[label] = real_kernel.__wrapped__(*args[:3], bool(block.problem.margin),
                                                 decays(args[1], args[3]))
    walls, outs = {label: [] for label in kernels}, {}
    try:
        for i in range(repeat + 1):  # the first runs compile
            for label, flag in (("persistent", True), ("one per thread", False)):
                gpu.persistent = lambda optimizer, flag=flag: flag
                gpu.kernel = lambda *a, label=label: kernels[label]
                t = time.perf_counter()
                outs[label] = gpu.run(*args, 1e-7, max_steps, block.problem.margin or 0.0)
                if i:
                    walls[label].append(time.perf_counter() - t)
    finally:
        gpu.kernel, gpu.persistent = real_kernel, real_persistent
    same = all(np.array_equal(a, b) for a, b in zip(outs["persistent"][:2],
                                                    outs["one per thread"][:2]))
    p, o = np.median(walls["persistent"]), np.median(walls["one per thread"])
    print(f"{name} {dtype}: persistent {', '.join(f'{x:.4f}' for x in walls['persistent'])} s, "
          f"one per thread {', '.join(f'{x:.4f}' for x in walls['one per thread'])} s; "
          f"one per thread / persistent (medians) {o / p:.2f}; same steps and status: {same}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="W1,W3,R1,LARGE,OPT")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    describe()
    names = [w.strip().upper() for w in a.workload.split(",") if w.strip()]
    workloads(names, a.repeat)
    block, max_steps = WORKLOADS["LARGE"][1]()
    print()
    for dtype in ("float64", "float32"):
        occupancy(block, dtype)
    for dtype in ("float64", "float32"):
        batching(block, max_steps, dtype, a.repeat)
    print()
    for name in ("W1", "LARGE"):
        for dtype in ("float64", "float32"):
            persistence(name, dtype, a.repeat)


if __name__ == "__main__":
    main()
