/* Parity-8 trained one network at a time, as a classic C library (FANN and the like) trains:
 * an 8-8-1 sigmoid network with trained biases, full-batch gradient descent on the 256
 * patterns' summed squared error, textbook (simultaneous) backprop, the weights of one network
 * in arrays, patterns in order. The comparison benchmarks/c_parity.py draws against bpbench.
 *
 *   c_parity SEEDS STEPS LR      prints: config-steps seconds checksum
 *
 * Each seed starts from its own uniform [-1, 1] weights and runs STEPS steps (a forward pass
 * with the loss, then one update), no early stop, so the work is SEEDS x STEPS config-steps.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N_IN = 8, N_HID = 8, P = 256 };

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (splitmix(s) >> 11) * 0x1.0p-53 * 2.0 - 1.0; }

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: c_parity SEEDS STEPS LR\n");
        return 2;
    }
    long seeds = atol(argv[1]), steps = atol(argv[2]);
    double lr = atof(argv[3]);
    static double x[P][N_IN], t[P], h[P][N_HID], y[P], dh[P][N_HID], dy[P];
    for (int p = 0; p < P; p++) {
        int ones = 0;
        for (int i = 0; i < N_IN; i++) {
            x[p][i] = (p >> i) & 1;
            ones += (p >> i) & 1;
        }
        t[p] = ones % 2;
    }
    double checksum = 0.0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long s = 0; s < seeds; s++) {
        double w1[N_HID][N_IN], b1[N_HID], w2[N_HID], b2;
        uint64_t state = (uint64_t)s;
        for (int j = 0; j < N_HID; j++)
            for (int i = 0; i < N_IN; i++) w1[j][i] = uniform(&state);
        for (int j = 0; j < N_HID; j++) b1[j] = uniform(&state);
        for (int j = 0; j < N_HID; j++) w2[j] = uniform(&state);
        b2 = uniform(&state);
        double E = 0.0;
        for (long n = 0; n < steps; n++) {
            E = 0.0;
            for (int p = 0; p < P; p++) { /* forward pass and loss */
                double z2 = b2;
                for (int j = 0; j < N_HID; j++) {
                    double z = b1[j];
                    for (int i = 0; i < N_IN; i++) z += w1[j][i] * x[p][i];
                    h[p][j] = 1.0 / (1.0 + exp(-z));
                    z2 += w2[j] * h[p][j];
                }
                y[p] = 1.0 / (1.0 + exp(-z2));
                double d = y[p] - t[p];
                E += 0.5 * d * d;
                dy[p] = d * y[p] * (1.0 - y[p]); /* deltas from the old weights */
                for (int j = 0; j < N_HID; j++)
                    dh[p][j] = dy[p] * w2[j] * h[p][j] * (1.0 - h[p][j]);
            }
            for (int j = 0; j < N_HID; j++) { /* gradients summed over patterns, update */
                double g2 = 0.0, gb = 0.0, g1[N_IN] = {0};
                for (int p = 0; p < P; p++) {
                    g2 += dy[p] * h[p][j];
                    gb += dh[p][j];
                    for (int i = 0; i < N_IN; i++) g1[i] += dh[p][j] * x[p][i];
                }
                w2[j] -= lr * g2;
                b1[j] -= lr * gb;
                for (int i = 0; i < N_IN; i++) w1[j][i] -= lr * g1[i];
            }
            double gb2 = 0.0;
            for (int p = 0; p < P; p++) gb2 += dy[p];
            b2 -= lr * gb2;
        }
        checksum += E;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("%ld %.6f %.17g\n", seeds * steps, seconds, checksum);
    return 0;
}
