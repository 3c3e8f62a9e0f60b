/* benchmarks/kernels.c: the AVX2 kernels (src/mlp/_avx2.h) timed against the plain loops
 * they replace, in C, for one layer size: the single-sample pass (against
 * mlpk_generic_update_combine built for AVX2), and the small-batch forward product and
 * weight update (GFLOP/s; the BLAS they replace is timed by bench.py, through mlp). Each
 * figure is the best of 30 runs of `reps` calls. It also checks each kernel against a plain
 * sum first (the test suite does that thoroughly: tests/c/test_kernels.c).
 *
 *   gcc -O3 -Isrc/mlp benchmarks/kernels.c -o /tmp/kernels -lm
 *   /tmp/kernels N_IN N_OUT M REPS         e.g. 784 30 10 300 (problem A's first layer)
 *
 * Needs a CPU with AVX2 and FMA and a GCC build (where _avx2.h's kernels exist).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "_kernels.h"

#if !MLPK_HAVE_AVX2_KERNELS
int main(void)
{
    fprintf(stderr, "kernels: this build has no AVX2 kernels (GCC on x86-64 Linux only)\n");
    return 2;
}
#else

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double *filled(ptrdiff_t n)
{
    double *p = malloc(sizeof(double) * (size_t)n);
    if (!p) {
        perror("malloc");
        exit(1);
    }
    for (ptrdiff_t i = 0; i < n; ++i)
        p[i] = rand() / (double)RAND_MAX - 0.5;
    return p;
}

/* best seconds per call of `call` over 30 runs of reps calls */
#define BEST(reps, call) \
    ({ double best_ = 1e30; \
       for (int run_ = 0; run_ < 30; ++run_) { \
           const double t0_ = now(); \
           for (int k_ = 0; k_ < (reps); ++k_) { call; } \
           const double t_ = (now() - t0_) / (reps); \
           best_ = t_ < best_ ? t_ : best_; } \
       best_; })

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: kernels N_IN N_OUT M REPS\n");
        return 2;
    }
    const ptrdiff_t n_in = atol(argv[1]), n_out = atol(argv[2]), m = atol(argv[3]);
    const int reps = atoi(argv[4]);
    if (n_in < 2 || n_out < 1 || m < 1 || reps < 1 || mlpk_best_level() < MLPK_LEVEL_AVX2) {
        fprintf(stderr, "kernels: needs N_IN >= 2, N_OUT, M, REPS >= 1 and an AVX2 CPU\n");
        return 2;
    }
    mlpk_set_level(MLPK_LEVEL_AVX2);
    double *x = filled(m * n_in), *W = filled(n_in * n_out), *D = filled(m * n_out);
    double *z = filled(m * n_out), *a = filled(2 * n_in);

    double err = 0.0;   /* the forward product against a plain sum */
    mlpk_avx2_combine(x, m, n_in, W, n_out, z);
    for (ptrdiff_t r = 0; r < m; ++r)
        for (ptrdiff_t j = 0; j < n_out; ++j) {
            double s = 0.0;
            for (ptrdiff_t i = 0; i < n_in; ++i)
                s += x[r * n_in + i] * W[i * n_out + j];
            err = fmax(err, fabs(s - z[r * n_out + j]));
        }
    printf("%td x %td x %td: forward product agrees with a plain sum to %.1e\n", m, n_in,
           n_out, err);

    const double flops = 2.0 * (double)(m * n_in * n_out);
    /* eta tiny and keep 1: W barely moves over the repeats */
    const double t_pass = BEST(reps, mlpk_avx2_update_combine(W, n_in, n_out, D, a, 1e-12,
                                                              1.0, a + n_in, z));
    const double t_loop = BEST(reps, mlpk_generic_update_combine(W, n_in, n_out, D, a, 1e-12,
                                                                 1.0, a + n_in, z));
    double *a2 = filled(2 * n_in), *D2 = filled(n_out), *z2 = filled(n_out);
    const double t_pair = BEST(reps, mlpk_avx2_pair_update_combine(W, n_in, n_out, D, a, D2,
                                                                   a2, 1e-12, a + n_in,
                                                                   a2 + n_in, z, z2));
    free(a2); free(D2); free(z2);
    const double t_combine = BEST(reps, mlpk_avx2_combine(x, m, n_in, W, n_out, z));
    const double t_update = BEST(reps, mlpk_avx2_update(W, n_in, n_out, x, m, D, 1e-12, 1.0));
    printf("single-sample pass %td x %td: avx2 kernel %.2f us, plain loops %.2f us (%.2fx)\n",
           n_in, n_out, 1e6 * t_pass, 1e6 * t_loop, t_loop / t_pass);
    printf("two-sample pass %td x %td: %.2f us, %.2f us per sample (%.2fx the one-sample "
           "pass)\n", n_in, n_out, 1e6 * t_pair, 0.5e6 * t_pair, 2.0 * t_pass / t_pair);
    printf("forward product, %td rows: %.2f us, %.1f GFLOP/s\n", m, 1e6 * t_combine,
           flops / t_combine / 1e9);
    printf("weight update, %td rows: %.2f us, %.1f GFLOP/s\n", m, 1e6 * t_update,
           flops / t_update / 1e9);
    free(x); free(W); free(D); free(z); free(a);
    return 0;
}
#endif
