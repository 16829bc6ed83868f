/* The C limit: the post's 2-2-1 network trained by gradient descent or RMSprop, written
 * by hand in C, for benchmarks/c_limit.py to time beside bpbench's cpu backend.
 *
 * Same algorithm as bpbench/backends/cpu.py: LANES configurations run side by side, one
 * forward pass + update per sweep over the lanes (a loop gcc vectorises), a lane whose
 * configuration finishes is refilled at once. Threads take configurations from one shared
 * counter, which balances better than any fixed split. Same arithmetic as the post and
 * bpbench (bpbench/network.py, optimizers.py), so the strict build (no fast-math, no FMA
 * contraction, libm's exp) gives bpbench's exact step counts bit for bit, which c_limit.py
 * checks. The fast build (-ffast-math -fno-finite-math-only) vectorises exp through glibc's
 * libmvec and keeps the NaN/inf checks that detect divergence, as bpbench's fast mode does.
 *
 *   c_limit OPTIMIZER ORDER DIR MAX_STEPS TOL THREADS REPEAT
 *
 * OPTIMIZER is sgd (H: lr) or rmsprop (H: lr, beta, eps); ORDER inplace or simultaneous.
 * DIR holds H.bin (hyperparameter rows, n doubles each), W0.bin (6 rows of n doubles, rows
 * in bpbench's parameter order w35 w45 w13 w23 w14 w24), K.bin (x0, x1, target); passes.bin
 * (n int64) and status.bin (n int8) are written there. Prints the median wall seconds of
 * REPEAT runs.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VECTOR_EXP
/* glibc declares libmvec's exp only under __FAST_MATH__, which -fno-finite-math-only
 * undefines: declare it here, or the lane loop would call the scalar exp and not vectorise. */
__attribute__((__simd__("notinbranch"))) double exp(double);
#endif

#define LANES 64
#define P 6
enum { CONVERGED = 0, MAX_STEPS = 1, DIVERGED = 2, RUNNING = -1 };

static int rms, inplace;  /* which rule and order: sweep() is compiled for each */
static long n, max_steps;
static double tol, x0, x1, target;
static double *H, *W0;  /* H[row * n + i], W0[k * n + i] */
static int64_t *passes;
static int8_t *status;
static long next_config;  /* shared: the next configuration to start */

typedef struct {
    double w[P][LANES], v[P][LANES], lr[LANES], beta[LANES], eps[LANES];
    double loss[LANES], out[LANES];
    int64_t steps[LANES];
    long cfg[LANES];
    int verdict[LANES];
} Block;

static inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static inline double d_sigmoid(double y) { return y * (1.0 - y); }

#define UPDATE(k, g)                                                               \
    do {                                                                           \
        if (rms) {                                                                 \
            b->v[k][l] = beta * b->v[k][l] + (1.0 - beta) * ((g) * (g));           \
            b->w[k][l] = b->w[k][l] - lr / (sqrt(b->v[k][l]) + eps) * (g);         \
        } else {                                                                   \
            b->w[k][l] = b->w[k][l] - lr * (g);                                    \
        }                                                                          \
    } while (0)

/* One forward pass + update of every active lane; its verdict in b->verdict. Inlined with
 * constant rms and inplace: with both as run-time branches gcc does not vectorise the loop. */
static inline __attribute__((always_inline)) void sweep_(Block *restrict b, int nl,
                                                        const int rms, const int inplace) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
        double lr = b->lr[l], beta = b->beta[l], eps = b->eps[l];
        int64_t t = b->steps[l] + 1;
        b->steps[l] = t;
        /* rows: 0 w35, 1 w45, 2 w13, 3 w23, 4 w14, 5 w24 (bpbench rows 12, 15, ..., 27) */
        double y1a = sigmoid(b->w[2][l] * x0 + b->w[3][l] * x1);
        double y1b = sigmoid(b->w[4][l] * x0 + b->w[5][l] * x1);
        double y2 = sigmoid(b->w[0][l] * y1a + b->w[1][l] * y1b);
        double d = y2 - target;
        double E = 0.5 * (d * d);
        int finite = isfinite(b->w[0][l]) & isfinite(b->w[1][l]) & isfinite(b->w[2][l]) &
                     isfinite(b->w[3][l]) & isfinite(b->w[4][l]) & isfinite(b->w[5][l]);
        b->loss[l] = E;
        b->out[l] = y2;
        double d2 = (y2 - target) * d_sigmoid(y2);
        double g0 = d2 * y1a, g1 = d2 * y1b;
        if (inplace) {
            UPDATE(0, g0);
            UPDATE(1, g1);
        }
        double d1a = d2 * b->w[0][l] * d_sigmoid(y1a);
        double d1b = d2 * b->w[1][l] * d_sigmoid(y1b);
        if (!inplace) {
            UPDATE(0, g0);
            UPDATE(1, g1);
        }
        double g2 = d1a * x0, g3 = d1a * x1, g4 = d1b * x0, g5 = d1b * x1;
        UPDATE(2, g2);
        UPDATE(3, g3);
        UPDATE(4, g4);
        UPDATE(5, g5);
        b->verdict[l] = !(isfinite(E) && finite) ? DIVERGED
                        : E < tol                ? CONVERGED
                        : t >= max_steps         ? MAX_STEPS
                                                 : RUNNING;
    }
}

static void sweep(Block *restrict b, int nl) {
    if (rms && inplace) sweep_(b, nl, 1, 1);
    else if (rms) sweep_(b, nl, 1, 0);
    else if (inplace) sweep_(b, nl, 0, 1);
    else sweep_(b, nl, 0, 0);
}

static void start(Block *b, int l, long i) {
    b->cfg[l] = i;
    b->lr[l] = H[i];
    b->beta[l] = rms ? H[n + i] : 0.0;
    b->eps[l] = rms ? H[2 * n + i] : 0.0;
    for (int k = 0; k < P; k++) {
        b->w[k][l] = W0[k * n + i];
        b->v[k][l] = 0.0;
    }
    b->steps[l] = 0;
}

static void move(Block *b, int to, int from) {
    b->cfg[to] = b->cfg[from];
    b->lr[to] = b->lr[from];
    b->beta[to] = b->beta[from];
    b->eps[to] = b->eps[from];
    for (int k = 0; k < P; k++) {
        b->w[k][to] = b->w[k][from];
        b->v[k][to] = b->v[k][from];
    }
    b->steps[to] = b->steps[from];
}

static void worker(void) {
    Block *b = aligned_alloc(64, (sizeof(Block) + 63) / 64 * 64);
    int nl = 0;
    long i;
    while (nl < LANES && (i = __atomic_fetch_add(&next_config, 1, __ATOMIC_RELAXED)) < n)
        start(b, nl++, i);
    while (nl > 0) {
        sweep(b, nl);
        for (int l = nl - 1; l >= 0; l--) {
            if (b->verdict[l] == RUNNING) continue;
            long c = b->cfg[l];
            passes[c] = b->steps[l];
            status[c] = (int8_t)b->verdict[l];
            if ((i = __atomic_fetch_add(&next_config, 1, __ATOMIC_RELAXED)) < n) {
                start(b, l, i);
            } else {
                nl--;
                move(b, l, nl);
            }
        }
    }
    free(b);
}

static void *slurp(const char *dir, const char *name, long *bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *bytes = ftell(f);
    rewind(f);
    void *data = malloc(*bytes);
    if (fread(data, 1, *bytes, f) != (size_t)*bytes) { perror(path); exit(2); }
    fclose(f);
    return data;
}

static void spill(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) { perror(path); exit(2); }
    fclose(f);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: c_limit OPTIMIZER ORDER DIR MAX_STEPS TOL THREADS REPEAT\n");
        return 2;
    }
    rms = strcmp(argv[1], "rmsprop") == 0;
    inplace = strcmp(argv[2], "inplace") == 0;
    const char *dir = argv[3];
    max_steps = atol(argv[4]);
    tol = atof(argv[5]);
    int threads = atoi(argv[6]), repeat = atoi(argv[7]);
    long bytes;
    W0 = slurp(dir, "W0.bin", &bytes);
    n = bytes / (P * sizeof(double));
    H = slurp(dir, "H.bin", &bytes);
    double *K = slurp(dir, "K.bin", &bytes);
    x0 = K[0], x1 = K[1], target = K[2];
    passes = malloc(n * sizeof *passes);
    status = malloc(n);
    double *walls = malloc(repeat * sizeof *walls);
    omp_set_num_threads(threads);
    for (int r = 0; r < repeat; r++) {
        double t = omp_get_wtime();
        next_config = 0;
#pragma omp parallel
        worker();
        walls[r] = omp_get_wtime() - t;
    }
    qsort(walls, repeat, sizeof *walls, cmp);
    spill(dir, "passes.bin", passes, n * sizeof *passes);
    spill(dir, "status.bin", status, n);
    printf("%.9f\n", walls[repeat / 2]);
    return 0;
}
