"""primitives.table_exp against libm's exp, bit for bit, and how much faster it is.

    python benchmarks/exp_check.py [--n N] [--cpu NAME]

Draws N float64 inputs (default 10^9, in chunks of 10^7) spread over the ranges where exp's
algorithm takes different paths (|x| < 1, the usual range, 512 <= |x| < 1024 where the
scale overflows, the subnormal results below -708, over- and underflow), plus the special
values (0, -0, inf, -inf, NaN, the edges), and counts inputs where table_exp and libm's exp
(Numba's math.exp, a call into the C library) differ in any bit. --cpu: the CPU LLVM
compiles for (NUMBA_CPU_NAME: haswell for AVX2 code on an AVX-512 machine). Prints the ISA,
the mismatches per range (all must be 0) and the seconds each took.
"""
import argparse
import math
import os
import sys
import time

RANGES = [(-1.0, 1.0), (-40.0, 40.0), (-708.5, 709.8), (-745.2, -700.0), (700.0, 709.8),
          (-1024.0, -512.0), (512.0, 1024.0), (-1100.0, 1100.0), (-1e-15, 1e-15)]
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 709.78, 709.79, -745.13, -745.14,
           -708.4, 1e-300, -1e-300, 2.0 ** -54, -(2.0 ** -54), 512.0, -512.0, 1024.0,
           -1024.0, 5e-324, 2.0 ** -1074, 88.7, -87.3]


def check(n, chunk=10 ** 7, seed=0, out=print):
    """Mismatches of table_exp against libm over n inputs; prints a line per range."""
    import numpy as np
    from numba import njit

    from bpbench.primitives import table_exp

    @njit
    def ours(x, y):
        for i in range(x.shape[0]):
            y[i] = table_exp(x[i])

    @njit
    def libm(x, y):
        for i in range(x.shape[0]):
            y[i] = math.exp(x[i])

    rng = np.random.default_rng(seed)
    x = np.array(SPECIAL)
    a, b = np.empty_like(x), np.empty_like(x)
    ours(x, a), libm(x, b)
    bad = int((a.view(np.int64) != b.view(np.int64)).sum())
    out(f"{'special values':<22} {x.size:>13,} inputs  {bad} differ")
    per = max(1, n // len(RANGES))
    for lo, hi in RANGES:
        wrong, t_ours, t_libm, done = 0, 0.0, 0.0, 0
        while done < per:
            x = rng.uniform(lo, hi, min(chunk, per - done))
            a, b = np.empty_like(x), np.empty_like(x)
            t = time.perf_counter()
            ours(x, a)
            t_ours += time.perf_counter() - t
            t = time.perf_counter()
            libm(x, b)
            t_libm += time.perf_counter() - t
            wrong += int((a.view(np.int64) != b.view(np.int64)).sum())
            done += x.size
        bad += wrong
        out(f"[{lo:g}, {hi:g}]".ljust(22) + f" {done:>13,} inputs  {wrong} differ   "
            f"table_exp {t_ours:6.2f} s   libm {t_libm:6.2f} s")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=float, default=1e9)
    ap.add_argument("--cpu", default=None, help="NUMBA_CPU_NAME, e.g. haswell (AVX2)")
    args = ap.parse_args()
    if args.cpu and os.environ.get("NUMBA_CPU_NAME") != args.cpu:
        os.environ["NUMBA_CPU_NAME"] = args.cpu  # read when Numba starts: run again
        os.execv(sys.executable, [sys.executable] + sys.argv)
    from bpbench.bench import isa
    print(f"ISA: {isa()}   code for: {os.environ.get('NUMBA_CPU_NAME', 'this CPU')}")
    bad = check(int(args.n))
    print(f"{'all equal' if bad == 0 else f'{bad} inputs differ'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
