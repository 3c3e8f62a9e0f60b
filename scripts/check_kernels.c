/* scripts/check_kernels.c: mlp's C kernels at one kernel level, against plain reference
 * loops, without Python: `check_kernels LEVEL` sets the level as mlp._core's import does,
 * runs the loops (and whatever the chooser picks at that level) on pseudo-random data, and
 * prints each check's largest relative error. Exit status 0: every check within 1e-12 (the
 * math tests' tolerance); 1: a check failed; 2: bad usage. A level this CPU or build cannot
 * run is reported and exits 0. Built and run by scripts/check_c.sh with each compiler. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_activations.h"
#include "_kernels.h"
#include "_lock.h"

#define N_IN 37
#define N_OUT 30
#define ROWS 4

static int failures = 0;

/* Uniform in [lo, hi), from a fixed linear congruential sequence. */
static double uniform(double lo, double hi)
{
    static unsigned long long s = 12345u;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(s >> 11) / 9007199254740992.0;
}

static void fill(double *x, ptrdiff_t n, double lo, double hi)
{
    for (ptrdiff_t k = 0; k < n; ++k)
        x[k] = uniform(lo, hi);
}

/* Report the largest relative error of got against want over n values. */
static void check(const char *what, const double *got, const double *want, ptrdiff_t n)
{
    double worst = 0.0;
    for (ptrdiff_t k = 0; k < n; ++k) {
        const double scale = fabs(want[k]) > 1.0 ? fabs(want[k]) : 1.0;
        const double err = fabs(got[k] - want[k]) / scale;
        worst = err > worst || err != err ? err : worst;
    }
    const int ok = worst <= 1e-12;
    failures += !ok;
    printf("  %-34s max rel. error %.2e  %s\n", what, worst, ok ? "ok" : "FAILED");
}

/* The single-sample path: the row sum, the backward pass, the fused update. */
static void check_rows(void)
{
    double a[N_IN], a_next[N_IN], delta[N_OUT], W[N_IN * N_OUT], W2[N_IN * N_OUT];
    double z[N_OUT], want[N_OUT], back[N_IN], back_want[N_IN];
    fill(a, N_IN, 0.0, 1.0);
    fill(a_next, N_IN, 0.0, 1.0);
    fill(delta, N_OUT, -1.0, 1.0);
    fill(W, N_IN * N_OUT, -1.0, 1.0);
    a[5] = a_next[9] = 0.0;                     /* the skipped rows */
    mlpk_run_combine(mlpk_choose_combine(1, N_OUT), a, 1, N_IN, W, N_OUT, z);
    for (int j = 0; j < N_OUT; ++j) {
        want[j] = 0.0;
        for (int i = 0; i < N_IN; ++i)
            want[j] += a[i] * W[i * N_OUT + j];
    }
    check("combine, one row (chooser)", z, want, N_OUT);
    mlpk_safe_combine_row(a, N_IN, W, N_OUT, z);
    check("safe_combine_row", z, want, N_OUT);
    memcpy(W2, W, sizeof W);
    mlpk_rows_backprop(W2, N_IN, N_OUT, delta, a, 0.1, 0.99, back);
    for (int i = 0; i < N_IN; ++i) {
        back_want[i] = 0.0;
        for (int j = 0; j < N_OUT; ++j)
            back_want[i] += W[i * N_OUT + j] * delta[j];
    }
    check("rows_backprop: back", back, back_want, N_IN);
    mlpk_run_update_combine(mlpk_choose_update_combine(N_OUT), W, N_IN, N_OUT, delta, a, 0.1,
                            0.99, a_next, z);
    for (int j = 0; j < N_OUT; ++j) {
        want[j] = 0.0;
        for (int i = 0; i < N_IN; ++i)
            want[j] += a_next[i] * W2[i * N_OUT + j];
    }
    check("update_combine vs rows_backprop", W, W2, N_IN * N_OUT);
    check("update_combine: next sums", z, want, N_OUT);
}

/* A small mini-batch's product and update, where the chooser does not send them to BLAS
 * (which this program does not link). */
static void check_batch(void)
{
    double x[ROWS * N_IN], D[ROWS * N_OUT], W[N_IN * N_OUT], z[ROWS * N_OUT];
    double want[N_IN * N_OUT];
    fill(x, ROWS * N_IN, 0.0, 1.0);
    fill(D, ROWS * N_OUT, -1.0, 1.0);
    fill(W, N_IN * N_OUT, -1.0, 1.0);
    mlpk_combine_kernel c = mlpk_choose_combine(ROWS, N_OUT);
    if (c != MLPK_COMBINE_BLAS) {
        mlpk_run_combine(c, x, ROWS, N_IN, W, N_OUT, z);
        for (int r = 0; r < ROWS; ++r)
            for (int j = 0; j < N_OUT; ++j) {
                want[r * N_OUT + j] = 0.0;
                for (int i = 0; i < N_IN; ++i)
                    want[r * N_OUT + j] += x[r * N_IN + i] * W[i * N_OUT + j];
            }
        check("combine, 4 rows (chooser)", z, want, ROWS * N_OUT);
    }
    mlpk_update_kernel u = mlpk_choose_update(ROWS, N_OUT);
    if (u != MLPK_UPDATE_BLAS) {
        for (int i = 0; i < N_IN; ++i)
            for (int j = 0; j < N_OUT; ++j) {
                double s = 0.9 * W[i * N_OUT + j];
                for (int r = 0; r < ROWS; ++r)
                    s += -0.05 * x[r * N_IN + i] * D[r * N_OUT + j];
                want[i * N_OUT + j] = s;
            }
        mlpk_run_update(u, W, N_IN, N_OUT, x, ROWS, D, -0.05, 0.9);
        check("update, 4 rows (chooser)", W, want, N_IN * N_OUT);
    }
}

/* The optimizers' steps and the sum of squares. */
static void check_steps(void)
{
    double p[N_OUT], v[N_OUT], m[N_OUT], g[N_OUT], want_p[N_OUT], want_v[N_OUT];
    fill(p, N_OUT, -1.0, 1.0);
    fill(v, N_OUT, -0.1, 0.1);
    fill(g, N_OUT, -1.0, 1.0);
    double s = 0.0, got = mlpk_sum_squares(p, N_OUT);
    for (int k = 0; k < N_OUT; ++k) {
        s += p[k] * p[k];
        const double gk = g[k] + 1e-4 * p[k];
        want_v[k] = 0.9 * v[k] - 0.1 * gk;
        want_p[k] = p[k] + 0.9 * want_v[k] - 0.1 * gk;
    }
    check("sum_squares", &got, &s, 1);
    mlpk_momentum_step(p, v, g, N_OUT, 0.9, 0.1, 1e-4, 1);
    check("momentum_step (Nesterov): p", p, want_p, N_OUT);
    fill(m, N_OUT, -0.1, 0.1);
    fill(v, N_OUT, 0.0, 0.1);
    for (int k = 0; k < N_OUT; ++k) {
        const double mk = 0.9 * m[k] + 0.1 * g[k], vk = 0.999 * v[k] + 0.001 * g[k] * g[k];
        want_p[k] = p[k] - 0.01 * mk / (sqrt(vk) + 1e-8);
    }
    mlpk_adam_step(p, m, v, g, N_OUT, 0.9, 0.999, 0.01, 1e-8, 0.0);
    check("adam_step: p", p, want_p, N_OUT);
}

/* What a unit computes from its input s, by libm. */
static double unit(int activation, double s)
{
    switch (activation) {
    case MLPK_SIGMOID: return 1.0 / (1.0 + exp(-s));
    case MLPK_TANH: return tanh(s);
    case MLPK_RELU: return s > 0.0 ? s : 0.0;
    case MLPK_EXP: return exp(s);
    default: return s;
    }
}

/* Bias and activation for every unit, the softmax included. */
static void check_units(void)
{
    static const char *const names[] = {"sigmoid", "tanh", "relu", "identity", "softmax",
                                        "exp"};
    double b[N_OUT], z[ROWS * N_OUT], s[ROWS * N_OUT], want[ROWS * N_OUT];
    char what[64];
    fill(b, N_OUT, -1.0, 1.0);
    fill(s, ROWS * N_OUT, -30.0, 30.0);
    for (int act = MLPK_SIGMOID; act <= MLPK_EXP; ++act) {
        double total[ROWS] = {0.0};
        for (int k = 0; k < ROWS * N_OUT; ++k) {
            z[k] = s[k] * (act == MLPK_EXP ? 0.2 : 1.0);
            want[k] = unit(act == MLPK_SOFTMAX ? MLPK_EXP : act, b[k % N_OUT] + z[k]);
            total[k / N_OUT] += want[k];
        }
        for (int k = 0; act == MLPK_SOFTMAX && k < ROWS * N_OUT; ++k)
            want[k] /= total[k / N_OUT];
        mlpk_bias_activate(b, z, ROWS, N_OUT, act);
        snprintf(what, sizeof what, "bias_activate: %s", names[act]);
        check(what, z, want, ROWS * N_OUT);
    }
}

/* The sigmoid in place, the derivative factor, the finite check. */
static void check_elementwise(void)
{
    double z[ROWS * N_OUT], s[ROWS * N_OUT], want[ROWS * N_OUT], d[N_OUT];
    fill(s, ROWS * N_OUT, -30.0, 30.0);
    memcpy(z, s, sizeof z);
    for (int k = 0; k < ROWS * N_OUT; ++k)
        want[k] = unit(MLPK_SIGMOID, s[k]);
    mlpk_sigmoid_inplace(z, ROWS * N_OUT);
    check("sigmoid_inplace", z, want, ROWS * N_OUT);
    fill(d, N_OUT, -1.0, 1.0);
    for (int k = 0; k < N_OUT; ++k)
        want[k] = d[k] * z[k] * (1.0 - z[k]);
    mlpk_times_derivative(d, z, N_OUT, MLPK_SIGMOID);
    check("times_derivative: sigmoid", d, want, N_OUT);
    double flags[2] = {mlpk_all_finite(s, ROWS * N_OUT), 1.0}, expect[2] = {1.0, 1.0};
    s[77] = NAN;
    flags[1] = mlpk_all_finite(s, ROWS * N_OUT) == 0;
    check("all_finite (finite, then a NaN)", flags, expect, 2);
}

int main(int argc, char **argv)
{
    int level = 0;
    if (argc != 2)
        return fprintf(stderr, "usage: %s generic|avx2|avx512\n", argv[0]), 2;
    while (mlpk_level_name(level) != NULL && strcmp(mlpk_level_name(level), argv[1]) != 0)
        ++level;
    if (mlpk_level_name(level) == NULL)
        return fprintf(stderr, "%s: no level %s\n", argv[0], argv[1]), 2;
    if (mlpk_set_level(level) != 0) {
        printf("level %s: not on this CPU or build (best: %s)\n", argv[1],
               mlpk_level_name(mlpk_best_level()));
        return 0;
    }
    printf("level %s (best here: %s)\n", mlpk_level_name(mlpk_current_level()),
           mlpk_level_name(mlpk_best_level()));
    check_rows();
    check_batch();
    check_steps();
    check_units();
    check_elementwise();
    printf("level %s: %s\n", argv[1], failures ? "FAILED" : "all checks passed");
    return failures != 0;
}
