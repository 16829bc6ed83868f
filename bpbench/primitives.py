"""The numeric primitives every formula is written with, one lane at a time.

They are the only functions whose body differs by target: targets.py swaps them for NumPy's
array versions (np.where for select, np.maximum for larger) or CUDA's, and kernels.py swaps
exp for fast_exp in fast mode and for table_exp (libm's number, vectorised) in exact mode.
Everything above them (network.py, loops.py, optimizers.py, training.py) is written once.
"""
import math
import struct
from decimal import Decimal, localcontext

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

@njit(inline="always")
def const(x, c):
    """The number c in the floating type of x, so float32 arithmetic stays float32."""
    return type(x)(c)


@intrinsic
def _llvm_sqrt(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.call(builder.module.declare_intrinsic("llvm.sqrt", [args[0].type]), args)
    return x(x), codegen


@njit(inline="always")
def sqrt(x):
    """Correctly rounded square root as the llvm.sqrt intrinsic, which vectorises; Numba's
    math.sqrt and np.sqrt on a scalar are libm calls, which block SIMD."""
    return _llvm_sqrt(x)


@njit(inline="always")
def isfinite(x):
    """Neither NaN nor inf."""
    return np.isfinite(x)


@njit(inline="always")
def larger(a, b):
    """max(a, b) for the margin criterion (NumPy's target swaps in np.maximum)."""
    return a if a > b else b


@njit(inline="always")
def select(condition, a, b):
    """a where condition holds, else b: a branch that vectorises (both sides are computed),
    and that the NumPy target, whose lanes are arrays, runs as np.where."""
    return a if condition else b


@njit(inline="always")
def exp(x):
    """e^x, libm's (what Python's math.exp computes); kernels.compose swaps in fast_exp
    (fast mode) or table_exp (libm's number, vectorised)."""
    return np.exp(x)


@njit(inline="always")
def tanh(x):
    """tanh x, libm's."""
    return np.tanh(x)


@njit(inline="always")
def log(x):
    """ln x, libm's."""
    return np.log(x)


@njit(inline="always")
def log1p(x):
    """ln(1 + x), libm's: what torch's binary cross-entropy takes of -y."""
    return np.log1p(x)


@intrinsic
def _llvm_rint(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.call(builder.module.declare_intrinsic("llvm.rint", [args[0].type]), args)
    return x(x), codegen


@intrinsic
def _times_two_to(typingctx, p, k):
    """p * 2^k for a float64 p and an integral float64 k in [-1022, 1023], by writing k + 1023
    into a float's exponent field: k + 1.5 * 2^52 holds k in its low mantissa bits. Integer
    arithmetic on the bits, because AVX2 has no vector conversion from double to int64; and
    an addition without fast-math flags, which could cancel the 1.5 * 2^52."""
    def codegen(context, builder, signature, args):
        p, k = args
        i64 = ir.IntType(64)
        t = builder.bitcast(builder.fadd(k, ir.Constant(k.type, 6755399441055744.0)), i64)
        e = builder.shl(builder.add(t, ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.fmul(p, builder.bitcast(e, p.type))
    return p(p, k), codegen


LN2_HI, LN2_LO = 0.6931471803691238, 1.9082149292705877e-10  # ln 2 = LN2_HI + LN2_LO
# e^f for |f| <= ln(2) / 2 as a degree-9 polynomial, 1 + f q(f) with q a least-squares fit of
# (e^f - 1) / f at 400 Chebyshev nodes (close to the minimax one): relative error 4e-14, where
# the degree-12 Taylor polynomial it replaced needed three more terms for 3e-16.
_E = (1.0, 1.0000000000000016, 0.49999999999797606, 0.16666666666614618, 0.04166666689105913,
      0.008333333367431764, 0.001388882166378451, 0.0001984119046415206,
      2.4876168871006077e-05, 2.763269410050469e-06)


@njit(inline="always")
def fast_exp(x):
    """e^x as 2^k e^f, with k = round(x / ln 2) and |f| <= ln(2) / 2, e^f by a degree-9
    polynomial in Estrin's form (a short chain of dependent operations, which is what
    limits a vectorised lane loop): plain arithmetic that vectorises, relative error under
    1e-13 (6e-14 measured under fast-math, which folds the two-part ln 2 into one), and
    IEEE-like at the edges (overflow to inf, NaN stays NaN, and results below 2^-1022, x <
    -708.4, flush to 0) so divergence stays visible. Computed in float64 whatever x's type."""
    xd = np.float64(x)
    xc = select(xd < -709.0, -709.0, select(xd > 710.0, 710.0, xd))  # NaN passes through
    k = _llvm_rint(xc * 1.4426950408889634)  # 1 / ln 2
    k = select(k > 1023.0, 1023.0, k)  # e^x overflows to inf in the last multiplication
    f = (xc - k * LN2_HI) - k * LN2_LO
    f2 = f * f
    f4 = f2 * f2
    p = (((_E[0] + _E[1] * f) + (_E[2] + _E[3] * f) * f2)
         + ((_E[4] + _E[5] * f) + (_E[6] + _E[7] * f) * f2) * f4
         + (_E[8] + _E[9] * f) * (f4 * f4))
    return type(x)(select(xd < -708.3964185322641, 0.0, _times_two_to(p, k)))


# libm's e^x, written so that it vectorises: glibc's table-driven exp (since glibc 2.28, Arm's
# optimized-routines algorithm; x86-64 runs its FMA build) step by step, each FMA where that
# build has one, so it gives libm's number bit for bit (benchmarks/exp_check.py compares them).
# e^x = 2^(k/N) e^r, x = k ln2/N + r, |r| <= ln2/2N; 2^(k/N) from a table of N = 128 entries,
# e^r - 1 from a degree-5 polynomial.
_N = 128
_INVLN2N = float.fromhex("0x1.71547652b82fep0") * _N
_SHIFT = float.fromhex("0x1.8p52")  # x + SHIFT rounds x to an integer in the low bits
_NEGLN2HIN = float.fromhex("-0x1.62e42fefa0000p-8")  # -ln2/N in two parts
_NEGLN2LON = float.fromhex("-0x1.cf79abc9e3b3ap-47")
_C2, _C3, _C4, _C5 = (float.fromhex(c) for c in (
    "0x1.ffffffffffdbdp-2", "0x1.555555555543cp-3", "0x1.55555cf172b91p-5",
    "0x1.1111167a4d017p-7"))


def _exp_table():
    """2^(k/N) = H (1 + T), H and T doubles: [bits of T, bits of H less k 2^52 / N, ...]
    for k in 0..N-1, H and T rounded from 60 digits."""
    def bits(f):
        return struct.unpack("<q", struct.pack("<d", f))[0]
    out = []
    with localcontext() as ctx:
        ctx.prec = 60
        ln2 = Decimal(2).ln()
        for k in range(_N):
            v = (ln2 * k / _N).exp()
            h = float(v)  # correctly rounded
            out += [bits(float((v - Decimal(h)) / Decimal(h))), bits(h) - (k << 45)]
    return np.array(out, np.int64)


_EXP_TABLE = _exp_table()


@intrinsic
def _fma(typingctx, a, b, c):
    """a b + c rounded once (llvm.fma: one instruction that vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return a(a, b, c), codegen


@intrinsic
def _bits(typingctx, x):
    """The float64 x's bits as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(x), codegen


@intrinsic
def _double(typingctx, i):
    """The int64 i's bits as a float64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(i), codegen


@njit(inline="always")
def _table_exp64(x):
    kd = _fma(_INVLN2N, x, _SHIFT)
    ki = _bits(kd)  # k in the low bits
    kd = kd - _SHIFT
    r = _fma(kd, _NEGLN2LON, _fma(kd, _NEGLN2HIN, x))
    i = 2 * (ki & (_N - 1))
    tail = _double(_EXP_TABLE[i])
    sbits = _EXP_TABLE[i + 1] + (ki << 45)
    r2 = r * r
    tmp = _fma(r2 * r2, _fma(r, _C5, _C4), _fma(r2, _fma(r, _C3, _C2), tail + r))
    scale = _double(sbits)
    y = _fma(scale, tmp, scale)
    # 512 <= |x| < 1024, where scale's exponent may overflow: glibc's specialcase, both of its
    # branches computed and one selected, so that the loop stays a vector loop
    up = _double(sbits - (1009 << 52))
    large = 2.0 ** 1009 * _fma(up, tmp, up)
    down = _double(sbits + (1022 << 52))
    s = down + down * tmp
    lo = down - s + down * tmp
    hi = 1.0 + s
    lo = 1.0 - hi + s + lo
    sub = (hi + lo) - 1.0  # a subnormal result rounded once
    small = 2.0 ** -1022 * select(s < 1.0, select(sub == 0.0, 0.0, sub), s)
    top = (ki & 0x80000000) == 0  # k > 0
    big = select(top, large, small)
    abstop = (_bits(x) >> 52) & 0x7FF  # |x|'s exponent
    y = select(abstop >= 0x408, big, y)  # |x| >= 512
    y = select(abstop >= 0x409, select(x < 0.0, 0.0, math.inf), y)  # over- and underflow
    y = select(abstop >= 0x7FF, 1.0 + x, y)  # inf and NaN
    y = select(x == -math.inf, 0.0, y)
    return select(abstop < 0x3C9, 1.0 + x, y)  # |x| < 2^-54


# libm's e^x at inputs where glibc's FMA build of its exp rounds away from the correct result,
# or differently from a build without FMA (12 each, found by search): where the C library gives
# these, table_exp gives its numbers (kernels.compose checks; exp_check.py compares 10^9 more).
GLIBC_EXP = [
    ("-0x1.3263a2084970cp+4", "0x1.4b9d637c45b82p-28"),
    ("-0x1.5857f64155020p+0", "0x1.0ac49ff3b15d3p-2"),
    ("-0x1.2dc75f36ec468p+1", "0x1.83a8084101a64p-4"),
    ("0x1.a9fd11c072b08p+1", "0x1.be22ddfa2cb28p+4"),
    ("-0x1.f9e502543ed23p+3", "0x1.2477f79a0e125p-23"),
    ("-0x1.ab02b469c0c61p+3", "0x1.ae1c2611d0862p-20"),
    ("0x1.f2c9c3e26f028p+2", "0x1.2f1e4a46ed747p+11"),
    ("-0x1.36908b4486c8ep+4", "0x1.fee42471f7bdep-29"),
    ("0x1.dd5a5e80b7034p+3", "0x1.6f5e94e5bbc73p+21"),
    ("-0x1.0493327f29500p-3", "0x1.c2d4872619dc4p-1"),
    ("-0x1.6eec0161c8300p+3", "0x1.5f8e72b641058p-17"),
    ("0x1.9ec384f267a80p-1", "0x1.1fc1be313a65dp+1"),
    ("0x1.cdd0fc51ef1bcp+3", "0x1.c4242d3154607p+20"),
    ("0x1.b3ba543b65400p+3", "0x1.902a2af29e421p+19"),
    ("0x1.8bb2f06ce6b54p+2", "0x1.e45835e433c0fp+8"),
    ("-0x1.c2ccd3a69dbe7p+3", "0x1.9905373e8df23p-21"),
    ("-0x1.0895e1936aaa2p+4", "0x1.1a9fc4246b573p-24"),
    ("-0x1.38c8e528a9262p+2", "0x1.ee468c9bb032dp-8"),
    ("0x1.8530faed6c2c0p-1", "0x1.11bccc15826e7p+1"),
    ("-0x1.4031d779c53a0p-1", "0x1.11f31cd941847p-1"),
    ("0x1.1a997bd04a9a2p+4", "0x1.6570d2e165099p+25"),
    ("0x1.f33c0abb55498p+1", "0x1.8b53852e33bfbp+5"),
    ("-0x1.000f6815b04d6p+3", "0x1.5f18dde283dbbp-12"),
    ("-0x1.d9552609aa22ep+3", "0x1.948c61ccc43bdp-22")
]


@intrinsic
def _is64(typingctx, x):
    """Whether x is a float64: a constant, so LLVM keeps only the branch it takes."""
    def codegen(context, builder, signature, args):
        return ir.Constant(ir.IntType(1), signature.args[0] == types.float64)
    return types.boolean(x), codegen


@njit(inline="always")
def table_exp(x):
    """e^x bit for bit as libm computes it, in a form that vectorises (float64; float32 takes
    libm's expf). Exact kernels use it where it pays (kernels.compose, TABLE_EXP_SITES)."""
    if _is64(x):
        y = _table_exp64(np.float64(x))
    else:
        y = np.float64(np.exp(x))
    return type(x)(y)
