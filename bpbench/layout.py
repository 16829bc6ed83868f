"""The state of a configuration: the rows of S[row, lane] that every kernel reads and writes.

One array for everything a lane owns lets LLVM see that no two rows overlap, so the lane loop
vectorises. network.py's unrolled formulas, loops.py's looped ones, training.py's start and
verdict and the backends all index S through these names.
"""
from numba import njit

# The lane's hyperparameters (its rule's own, in the order of Optimizer.defaults), the rule's
# per-configuration state C, its last forward pass (loss, first output, largest |y - t|,
# whether its weights were all finite), its pass count, its learning-rate schedule
# (loops.schedule: kind, step size, gamma or decay, and the initial lr, since a schedule
# rewrites h0), the key of its pattern shuffles, then three rows per parameter: the value and
# two optimizer slots.
HYPER = 6  # rows 0..5: hyperparameter slots h0..h5 (optimizers.SLOTS); h0 is every rule's lr
C = 6
LOSS, OUT, ERR, FINITE, N = 7, 8, 9, 10, 11
KIND, STEP_SIZE, GAMMA, LR0 = 12, 13, 14, 15  # rows HYPER..HYPER+2 of H, then H's lr
SHUFFLE_KEY = 16  # row HYPER+3 of H: 24 bits of a hash of the seed (loops.shuffle)
# Rows 17..19 are unused: where the parameters start decides which rows of a lane block share
# the L1 cache's sets. On the post's W1-W3 (benchmarks/vs_commit.sh, AVX-512) 20 ran as fast
# as the 12 before the schedule's rows, 17 and 18 up to 15% slower in fast mode, 24 20% slower
# on W1.
PARAMS = 20  # parameter k: value at PARAMS + 3k, optimizer state m, v just after it


@njit(inline="always")
def rows(nparams):
    """Rows of S for a network with nparams parameters."""
    return PARAMS + 3 * nparams
