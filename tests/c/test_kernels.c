/* tests/c/test_kernels.c: every kernel of the headers in src/mlp against a plain
 * reference, at one kernel level, in plain C99 (no Python), so that the kernels can be
 * checked with any compiler and C library, and on other CPUs under emulation
 * (scripts/c-kernel-tests.sh).
 *
 *   test_kernels --levels     the levels this build and CPU can run, lowest first
 *   test_kernels LEVEL        check every kernel at LEVEL (a name from --levels)
 *
 * One level per process: mlpk_set_level accepts one write (_kernels.h), so the caller runs
 * the program once per level. At that level, each operation that has a chooser (combine,
 * update, update_combine) runs the kernel the chooser picks, for many sizes; BLAS choices
 * are skipped (dgemm is called by _core.pyx, not by the headers). The loops every level
 * uses (the generic row loops, rows_backprop, the activations, their derivatives and the
 * optimizer steps) run too. Outputs start as NaN, so an entry a kernel does not write shows
 * up, and every buffer is fenced by guard entries that must stay untouched.
 *
 * Agreement: |kernel - reference| <= 1e-12 (sum of |terms|) for sums and products, where
 * the two differ only in the order of additions; 1e-12 |reference| for the elementwise
 * functions. Exit status 0: all agreed; 1: a mismatch (each printed, with its case); 2: a
 * usage error.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "_activations.h"
#include "_kernels.h"
#include "check.h"

static const ptrdiff_t widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 23, 24, 30, 31,
                                   32, 33, 40, 63, 64, 65, 100, 127, 128, 129, 130};
static const ptrdiff_t n_widths = sizeof widths / sizeof widths[0];
static const ptrdiff_t depths[] = {1, 3, 4, 7, 9, 30, 129};
static const ptrdiff_t n_depths = sizeof depths / sizeof depths[0];

/* --- combine: z := x @ W -------------------------------------------------------------- */

/* z (m, n_out) against x (m, n_in) @ W (n_in, n_out) */
static void expect_product(buffer z, buffer x, ptrdiff_t m, ptrdiff_t n_in, buffer W,
                           ptrdiff_t n_out)
{
    for (ptrdiff_t r = 0; r < m; ++r)
        for (ptrdiff_t j = 0; j < n_out; ++j) {
            double s = 0.0, scale = 0.0;
            for (ptrdiff_t i = 0; i < n_in; ++i) {
                s += x.p[r * n_in + i] * W.p[i * n_out + j];
                scale += fabs(x.p[r * n_in + i] * W.p[i * n_out + j]);
            }
            expect("z", r * n_out + j, z.p[r * n_out + j], s, scale);
        }
}

/* One size: the chosen kernel (unless BLAS: returns 0), and the generic row loop, which
 * every level also runs, row by row. Returns 1 if the chosen kernel ran. */
static int combine_case(ptrdiff_t m, ptrdiff_t n_in, ptrdiff_t n_out, int offset,
                        mlpk_combine_kernel kernel)
{
    buffer x = make(m * n_in, offset), W = make(n_in * n_out, offset);
    buffer z = make(m * n_out, offset);
    const int chosen = kernel != MLPK_COMBINE_BLAS;
    randomize(x, 1);
    randomize(W, 0);
    if (chosen) {
        snprintf(case_name, sizeof case_name, "combine (kernel %d), m = %td, n_in = %td, "
                 "n_out = %td, offset %d", (int)kernel, m, n_in, n_out, offset);
        fill(z, NAN);
        mlpk_run_combine(kernel, x.p, m, n_in, W.p, n_out, z.p);
        expect_product(z, x, m, n_in, W, n_out);
    }
    snprintf(case_name, sizeof case_name, "mlpk_generic_combine_row, %td rows, n_in = %td, "
             "n_out = %td, offset %d", m, n_in, n_out, offset);
    fill(z, NAN);
    for (ptrdiff_t r = 0; r < m; ++r)
        mlpk_generic_combine_row(x.p + r * n_in, n_in, W.p, n_out, z.p + r * n_out);
    expect_product(z, x, m, n_in, W, n_out);
    release(x, "x");
    release(W, "W");
    release(z, "z");
    return chosen;
}

static void test_combine(void)
{
    long counts[N_KERNEL_IDS] = {0}, blas = 0;
    for (ptrdiff_t m = 1; m <= 16; ++m)
        for (ptrdiff_t d = 0; d < n_depths; ++d)
            for (ptrdiff_t w = 0; w < n_widths; ++w)
                for (int offset = 0; offset < 2; ++offset) {
                    const mlpk_combine_kernel kernel = mlpk_choose_combine(m, widths[w]);
                    if (combine_case(m, depths[d], widths[w], offset, kernel))
                        tally(counts, (int)kernel);
                    else
                        ++blas;
                }
    print_tally("combine", counts, blas);
}

/* mlpk_safe_combine_row: the same sums for a row whose plain sum overflows */
static void test_safe_combine(void)
{
    const ptrdiff_t n_in = 9, n_out = 5;
    buffer x = make(n_in, 0), W = make(n_in * n_out, 1), z = make(n_out, 0);
    randomize(x, 1);
    randomize(W, 0);
    snprintf(case_name, sizeof case_name, "mlpk_safe_combine_row, ordinary sizes");
    fill(z, NAN);
    mlpk_safe_combine_row(x.p, n_in, W.p, n_out, z.p);
    expect_product(z, x, 1, n_in, W, n_out);
    /* 1e300 x 1e10 overflows: column 0's terms are +-1e310 and 3, whose sum is 3 (the
     * plain loop: inf - inf, NaN); column 1's are 1e310 twice, +inf; column 2's all 0 */
    snprintf(case_name, sizeof case_name, "mlpk_safe_combine_row, overflowing terms");
    fill(x, 0.0);
    fill(W, 0.0);
    x.p[0] = 1e300;
    x.p[1] = -1e300;
    x.p[2] = 1.0;
    W.p[0 * n_out + 0] = 1e10;
    W.p[1 * n_out + 0] = 1e10;
    W.p[2 * n_out + 0] = 3.0;
    W.p[0 * n_out + 1] = 1e10;
    W.p[1 * n_out + 1] = -1e10;
    fill(z, NAN);
    mlpk_safe_combine_row(x.p, n_in, W.p, n_out, z.p);
    expect("z", 0, z.p[0], 3.0, 3.0);
    expect("z", 1, z.p[1], INFINITY, 1.0);
    expect("z", 2, z.p[2], 0.0, 0.0);
    release(x, "x");
    release(W, "W");
    release(z, "z");
}

/* --- update: W := beta W + alpha A.T @ D ---------------------------------------------- */

static void update_case(ptrdiff_t m, ptrdiff_t n_in, ptrdiff_t n_out, double beta,
                        mlpk_update_kernel kernel)
{
    const double alpha = -0.37;
    const int offset = (int)(m % 2);
    buffer A = make(m * n_in, offset), D = make(m * n_out, offset);
    buffer W = make(n_in * n_out, offset), W0 = make(n_in * n_out, 0);
    randomize(A, 1);
    randomize(D, 0);
    randomize(W0, 0);
    snprintf(case_name, sizeof case_name, "update (kernel %d), m = %td, n_in = %td, "
             "n_out = %td, beta = %g", (int)kernel, m, n_in, n_out, beta);
    /* beta = 0: W is not read, so NaN in it must not come through */
    if (beta != 0.0)
        memcpy(W.p, W0.p, (size_t)(n_in * n_out) * sizeof(double));
    else
        fill(W, NAN);
    mlpk_run_update(kernel, W.p, n_in, n_out, A.p, m, D.p, alpha, beta);
    for (ptrdiff_t i = 0; i < n_in; ++i)
        for (ptrdiff_t j = 0; j < n_out; ++j) {
            double s = beta != 0.0 ? beta * W0.p[i * n_out + j] : 0.0, scale = fabs(s);
            for (ptrdiff_t b = 0; b < m; ++b) {
                const double t = alpha * A.p[b * n_in + i] * D.p[b * n_out + j];
                s += t;
                scale += fabs(t);
            }
            expect("W", i * n_out + j, W.p[i * n_out + j], s, scale);
        }
    release(A, "A");
    release(D, "D");
    release(W, "W");
    release(W0, "W0");
}

static void test_update(void)
{
    long counts[N_KERNEL_IDS] = {0}, blas = 0;
    for (ptrdiff_t m = 1; m <= 16; ++m)
        for (ptrdiff_t d = 0; d < n_depths; ++d)
            for (ptrdiff_t w = 0; w < n_widths; ++w)
                for (int beta = 0; beta <= 1; ++beta) {
                    const mlpk_update_kernel kernel = mlpk_choose_update(m, widths[w]);
                    if (kernel == MLPK_UPDATE_BLAS) {
                        ++blas;
                        continue;
                    }
                    update_case(m, depths[d], widths[w], beta, kernel);
                    tally(counts, (int)kernel);
                }
    print_tally("update", counts, blas);
}

/* --- the single-sample step: update_combine and rows_backprop ----------------------- */

typedef struct {
    ptrdiff_t n_in, n_out;
    double eta, keep;
    buffer W0, delta, a, a_next;   /* the inputs */
    buffer W, z, back;             /* the outputs */
} sample;

/* A sample's buffers; pattern 0: random inputs with zeros, 1: the first 8 rows' a and
 * a_next all 0 (a block the kernels may skip whole), 2: no zeros at all. */
static sample make_sample(ptrdiff_t n_in, ptrdiff_t n_out, int pattern, double keep)
{
    sample s;
    s.n_in = n_in;
    s.n_out = n_out;
    s.eta = 0.3;
    s.keep = keep;
    s.W0 = make(n_in * n_out, 0);
    s.delta = make(n_out, 1);
    s.a = make(n_in, 0);
    s.a_next = make(n_in, 1);
    s.W = make(n_in * n_out, 0);
    s.z = make(n_out, 0);
    s.back = make(n_in, 1);
    randomize(s.W0, 0);
    randomize(s.delta, 0);
    randomize(s.a, pattern != 2);
    randomize(s.a_next, pattern != 2);
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        if (pattern == 1 && i < 8)
            s.a.p[i] = s.a_next.p[i] = 0.0;
        if (pattern == 2 && s.a.p[i] == 0.0)
            s.a.p[i] = 0.5;
        if (pattern == 2 && s.a_next.p[i] == 0.0)
            s.a_next.p[i] = 0.25;
    }
    return s;
}

static void release_sample(sample s)
{
    release(s.W0, "W0");
    release(s.delta, "delta");
    release(s.a, "a");
    release(s.a_next, "a_next");
    release(s.W, "W");
    release(s.z, "z");
    release(s.back, "back");
}

/* W against keep W0 - (eta a[i]) delta, row by row; then, if next, z against a_next @ W
 * (the updated W) */
static void expect_step(sample s, int next)
{
    for (ptrdiff_t i = 0; i < s.n_in; ++i)
        for (ptrdiff_t j = 0; j < s.n_out; ++j) {
            const ptrdiff_t k = i * s.n_out + j;
            const double u = s.keep * s.W0.p[k], v = s.eta * s.a.p[i] * s.delta.p[j];
            expect("W", k, s.W.p[k], u - v, fabs(u) + fabs(v));
        }
    if (next)
        expect_product(s.z, s.a_next, 1, s.n_in, s.W, s.n_out);
}

/* the update and the next sample's sums by mlpk_run_update_combine(kernel) and by the
 * generic loop; the update alone by mlpk_rows_backprop, with and without the old rows'
 * back-propagated sums */
static void step_case(sample s, mlpk_update_combine_kernel kernel, const char *inputs)
{
    const size_t bytes = (size_t)(s.n_in * s.n_out) * sizeof(double);
    snprintf(case_name, sizeof case_name, "update_combine (kernel %d), n_in = %td, "
             "n_out = %td, %s, keep = %g", (int)kernel, s.n_in, s.n_out, inputs, s.keep);
    memcpy(s.W.p, s.W0.p, bytes);
    fill(s.z, NAN);
    mlpk_run_update_combine(kernel, s.W.p, s.n_in, s.n_out, s.delta.p, s.a.p, s.eta,
                            s.keep, s.a_next.p, s.z.p);
    expect_step(s, 1);

    snprintf(case_name, sizeof case_name, "mlpk_generic_update_combine, n_in = %td, "
             "n_out = %td, %s, keep = %g", s.n_in, s.n_out, inputs, s.keep);
    memcpy(s.W.p, s.W0.p, bytes);
    fill(s.z, NAN);
    mlpk_generic_update_combine(s.W.p, s.n_in, s.n_out, s.delta.p, s.a.p, s.eta, s.keep,
                                s.a_next.p, s.z.p);
    expect_step(s, 1);

    for (int with_back = 0; with_back <= 1; ++with_back) {
        snprintf(case_name, sizeof case_name, "mlpk_rows_backprop, back %s, n_in = %td, "
                 "n_out = %td, %s, keep = %g", with_back ? "wanted" : "NULL", s.n_in,
                 s.n_out, inputs, s.keep);
        memcpy(s.W.p, s.W0.p, bytes);
        fill(s.back, NAN);
        mlpk_rows_backprop(s.W.p, s.n_in, s.n_out, s.delta.p, s.a.p, s.eta, s.keep,
                           with_back ? s.back.p : NULL);
        expect_step(s, 0);
        for (ptrdiff_t i = 0; i < s.n_in; ++i) {
            double sum = 0.0, scale = 0.0;
            for (ptrdiff_t j = 0; j < s.n_out; ++j) {   /* the old row */
                sum += s.W0.p[i * s.n_out + j] * s.delta.p[j];
                scale += fabs(s.W0.p[i * s.n_out + j] * s.delta.p[j]);
            }
            if (with_back)
                expect("back", i, s.back.p[i], sum, scale);
            else
                expect("back (not to be written)", i, s.back.p[i], NAN, 0.0);
        }
    }
}

static void test_single_sample_step(void)
{
    static const ptrdiff_t rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 30, 33, 100};
    static const char *const inputs[] = {"inputs with zeros", "8 zero rows first",
                                         "no zero inputs"};
    long counts[N_KERNEL_IDS] = {0};
    for (ptrdiff_t r = 0; r < (ptrdiff_t)(sizeof rows / sizeof rows[0]); ++r)
        for (ptrdiff_t n_out = 1; n_out <= 140; n_out += n_out < 40 ? 1 : 11)
            for (int pattern = 0; pattern < 3; ++pattern)
                for (int decay = 0; decay <= 1; ++decay) {
                    sample s = make_sample(rows[r], n_out, pattern, decay ? 0.999 : 1.0);
                    const mlpk_update_combine_kernel kernel =
                        mlpk_choose_update_combine(n_out);
                    step_case(s, kernel, inputs[pattern]);
                    tally(counts, (int)kernel);
                    release_sample(s);
                }
    print_tally("update_combine", counts, -1);
}

/* the two-sample pass by mlpk_run_pair(kernel): s's and then t's update of s.W0 (no decay),
 * then s.a_next and (with two) t.a_next through the updated W, into s.z and t.z */
static void pair_case(sample s, sample t, mlpk_pair_kernel kernel, int two, const char *inputs)
{
    snprintf(case_name, sizeof case_name, "pair (kernel %d), n_in = %td, n_out = %td, %s, "
             "%s", (int)kernel, s.n_in, s.n_out, inputs, two ? "two sums" : "one sum");
    memcpy(s.W.p, s.W0.p, (size_t)(s.n_in * s.n_out) * sizeof(double));
    fill(s.z, NAN);
    fill(t.z, NAN);
    mlpk_run_pair(kernel, s.W.p, s.n_in, s.n_out, s.delta.p, s.a.p, t.delta.p, t.a.p, s.eta,
                  s.a_next.p, two ? t.a_next.p : NULL, s.z.p, two ? t.z.p : NULL);
    for (ptrdiff_t i = 0; i < s.n_in; ++i)
        for (ptrdiff_t j = 0; j < s.n_out; ++j) {
            const ptrdiff_t k = i * s.n_out + j;
            const double u = s.eta * s.a.p[i] * s.delta.p[j];
            const double v = s.eta * t.a.p[i] * t.delta.p[j];
            expect("W", k, s.W.p[k], (s.W0.p[k] - u) - v, fabs(s.W0.p[k]) + fabs(u) + fabs(v));
        }
    expect_product(s.z, s.a_next, 1, s.n_in, s.W, s.n_out);
    if (two)
        expect_product(t.z, t.a_next, 1, s.n_in, s.W, s.n_out);
    else
        for (ptrdiff_t j = 0; j < s.n_out; ++j)
            expect("z2 (not to be written)", j, t.z.p[j], NAN, 0.0);
}

static void test_pair(void)
{
    static const ptrdiff_t rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 30, 33, 100, 700};
    static const char *const inputs[] = {"inputs with zeros", "8 zero rows first",
                                         "no zero inputs"};
    long counts[N_KERNEL_IDS] = {0};
    const mlpk_pair_kernel kernel = mlpk_choose_pair();
    for (ptrdiff_t r = 0; r < (ptrdiff_t)(sizeof rows / sizeof rows[0]); ++r)
        for (ptrdiff_t n_out = 1; n_out <= 140; n_out += n_out < 40 ? 1 : 11)
            for (int pattern = 0; pattern < 3; ++pattern) {
                sample s = make_sample(rows[r], n_out, pattern, 1.0);
                sample t = make_sample(rows[r], n_out, pattern, 1.0);
                for (int two = 0; two <= 1; ++two) {
                    pair_case(s, t, kernel, two, inputs[pattern]);
                    tally(counts, (int)kernel);
                }
                release_sample(s);
                release_sample(t);
            }
    print_tally("pair", counts, -1);
}

/* --- activations and their derivatives ----------------------------------------------- */

static const char *const unit_names[] = {"sigmoid", "tanh", "relu", "identity", "softmax",
                                         "exp"};

static double reference_unit(int unit, double s)
{
    switch (unit) {
    case MLPK_SIGMOID: return s >= 0.0 ? 1.0 / (1.0 + exp(-s)) : exp(s) / (1.0 + exp(s));
    case MLPK_TANH: return tanh(s);
    case MLPK_RELU: return s > 0.0 ? s : 0.0;
    case MLPK_EXP: return exp(s);
    default: return s;  /* identity; softmax is done by rows */
    }
}

/* row i of z (n entries) against f(b + z0's row i) */
static void expect_units(int unit, buffer b, buffer z0, buffer z, ptrdiff_t i, ptrdiff_t n)
{
    const double *s0 = z0.p + i * n;
    double top = -INFINITY, total = 0.0;
    for (ptrdiff_t j = 0; unit == MLPK_SOFTMAX && j < n; ++j)
        top = fmax(top, b.p[j] + s0[j]);
    if (unit == MLPK_SOFTMAX && !isfinite(top))
        return;     /* a row with +inf in it: a NaN row, which the caller never makes */
    for (ptrdiff_t j = 0; unit == MLPK_SOFTMAX && j < n; ++j)
        total += exp(b.p[j] + s0[j] - top);
    for (ptrdiff_t j = 0; j < n; ++j) {
        const double sum = b.p[j] + s0[j];
        const double want = unit == MLPK_SOFTMAX ? exp(sum - top) / total
                                                 : reference_unit(unit, sum);
        expect("z", i * n + j, z.p[i * n + j], want, fabs(want));
    }
}

/* 5 rows of n sums b + z: random in [-spread, spread], the first row's first entries the
 * special values (zeros, tiny, where the exp's reduction and tanh's cut-off turn, under-
 * and overflow, infinities) */
static void units_case(int unit, ptrdiff_t n, double spread)
{
    static const double special[] = {0.0, -0.0, 1e-300, -1e-300, 1e-10, -1e-10, 0.5,
                                     -0.5, 19.0, -19.0, 36.0, -36.0, 700.0, -700.0,
                                     -740.0, 745.0, 800.0, -800.0, INFINITY, -INFINITY};
    const ptrdiff_t m = 5, n_special = sizeof special / sizeof special[0];
    buffer b = make(n, 1), z = make(m * n, 0), z0 = make(m * n, 0);
    for (ptrdiff_t j = 0; j < n; ++j)
        b.p[j] = spread * uniform() / 4.0;
    for (ptrdiff_t k = 0; k < m * n; ++k)
        z0.p[k] = spread * uniform();
    for (ptrdiff_t j = 0; j < n && j < n_special; ++j) {
        z0.p[j] = special[j];
        b.p[j] = 0.0;
    }
    snprintf(case_name, sizeof case_name, "mlpk_bias_activate (%s), m = %td, n = %td, "
             "inputs up to %g", unit_names[unit], m, n, spread);
    memcpy(z.p, z0.p, (size_t)(m * n) * sizeof(double));
    mlpk_bias_activate(b.p, z.p, m, n, unit);
    for (ptrdiff_t i = 0; i < m; ++i)
        expect_units(unit, b, z0, z, i, n);
    if (unit == MLPK_SIGMOID) {
        snprintf(case_name, sizeof case_name, "mlpk_sigmoid_inplace, n = %td, inputs up "
                 "to %g", m * n, spread);
        memcpy(z.p, z0.p, (size_t)(m * n) * sizeof(double));
        mlpk_sigmoid_inplace(z.p, m * n);
        for (ptrdiff_t k = 0; k < m * n; ++k) {
            const double want = reference_unit(MLPK_SIGMOID, z0.p[k]);
            expect("x", k, z.p[k], want, fabs(want));
        }
    }
    release(b, "b");
    release(z, "z");
    release(z0, "z0");
}

static void test_activations(void)
{
    static const ptrdiff_t sizes[] = {1, 2, 3, 7, 8, 9, 20, 33};
    static const double spreads[] = {1.0, 30.0, 1000.0};
    for (int unit = MLPK_SIGMOID; unit <= MLPK_EXP; ++unit)
        for (ptrdiff_t s = 0; s < (ptrdiff_t)(sizeof sizes / sizeof sizes[0]); ++s)
            for (int sp = 0; sp < 3; ++sp)
                units_case(unit, sizes[s], spreads[sp]);
}

static void test_derivatives(void)
{
    for (int unit = MLPK_SIGMOID; unit <= MLPK_IDENTITY; ++unit)
        for (ptrdiff_t n = 1; n <= 40; n += 3) {
            buffer d = make(n, 1), d0 = make(n, 0), a = make(n, 0);
            randomize(d0, 0);
            randomize(a, 1);   /* zeros, and values on either side of them */
            memcpy(d.p, d0.p, (size_t)n * sizeof(double));
            snprintf(case_name, sizeof case_name, "mlpk_times_derivative (%s), n = %td",
                     unit_names[unit], n);
            mlpk_times_derivative(d.p, a.p, n, unit);
            for (ptrdiff_t k = 0; k < n; ++k) {
                const double x = a.p[k];
                const double f = unit == MLPK_SIGMOID ? x * (1.0 - x)
                               : unit == MLPK_TANH ? 1.0 - x * x
                               : unit == MLPK_RELU ? (x > 0.0 ? 1.0 : 0.0) : 1.0;
                expect("d", k, d.p[k], d0.p[k] * f, fabs(d0.p[k] * f));
            }
            release(d, "d");
            release(d0, "d0");
            release(a, "a");
        }
}

/* --- the optimizer steps and the reductions ------------------------------------------ */

static void momentum_case(buffer p0, buffer v0, buffer g, int nesterov)
{
    const double mu = 0.9, eta = 0.1, decay = 0.01;
    const ptrdiff_t n = p0.n;
    buffer p = make(n, 1), v = make(n, 0);
    snprintf(case_name, sizeof case_name, "mlpk_momentum_step, n = %td, nesterov = %d", n,
             nesterov);
    memcpy(p.p, p0.p, (size_t)n * sizeof(double));
    memcpy(v.p, v0.p, (size_t)n * sizeof(double));
    mlpk_momentum_step(p.p, v.p, g.p, n, mu, eta, decay, nesterov);
    for (ptrdiff_t k = 0; k < n; ++k) {
        const double gk = g.p[k] + decay * p0.p[k], vk = mu * v0.p[k] - eta * gk;
        const double step = nesterov ? mu * vk - eta * gk : vk;
        const double terms =
            fabs(mu * v0.p[k]) + eta * (fabs(g.p[k]) + fabs(decay * p0.p[k]));
        expect("v", k, v.p[k], vk, terms);
        expect("p", k, p.p[k], p0.p[k] + step, fabs(p0.p[k]) + (1.0 + mu) * terms);
    }
    release(p, "p");
    release(v, "v");
}

static void adam_case(buffer p0, buffer m0, buffer v0, buffer g)
{
    const double b1 = 0.9, b2 = 0.999, alpha = 0.01, eps = 1e-8, decay = 0.001;
    const ptrdiff_t n = p0.n;
    buffer p = make(n, 1), m = make(n, 0), v = make(n, 1);
    snprintf(case_name, sizeof case_name, "mlpk_adam_step, n = %td", n);
    memcpy(p.p, p0.p, (size_t)n * sizeof(double));
    memcpy(m.p, m0.p, (size_t)n * sizeof(double));
    for (ptrdiff_t k = 0; k < n; ++k)
        v.p[k] = fabs(v0.p[k]);
    mlpk_adam_step(p.p, m.p, v.p, g.p, n, b1, b2, alpha, eps, decay);
    for (ptrdiff_t k = 0; k < n; ++k) {
        const double gk = g.p[k] + decay * p0.p[k];
        const double mk = b1 * m0.p[k] + (1.0 - b1) * gk;
        const double vk = b2 * fabs(v0.p[k]) + (1.0 - b2) * gk * gk;
        const double step = alpha * mk / (sqrt(vk) + eps);
        expect("m", k, m.p[k], mk, fabs(b1 * m0.p[k]) + fabs((1.0 - b1) * gk));
        expect("v", k, v.p[k], vk, vk);
        expect("p", k, p.p[k], p0.p[k] - step, fabs(p0.p[k]) + fabs(step));
    }
    release(p, "p");
    release(m, "m");
    release(v, "v");
}

/* mlpk_dot (as the sum of squares too), and mlpk_all_finite with each entry in turn made NaN or infinite */
static void reductions_case(buffer g)
{
    const ptrdiff_t n = g.n;
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    double s = 0.0;
    snprintf(case_name, sizeof case_name, "mlpk_dot(x, x), n = %td", n);
    for (ptrdiff_t k = 0; k < n; ++k)
        s += g.p[k] * g.p[k];
    expect("sum", 0, mlpk_dot(g.p, g.p, n), s, s);
    snprintf(case_name, sizeof case_name, "mlpk_dot, n = %td", n);
    double d = 0.0, scale = 0.0;
    for (ptrdiff_t k = 0; k < n; ++k) {
        d += g.p[k] * (double)(k % 7 - 3);
        scale += fabs(g.p[k] * (double)(k % 7 - 3));
    }
    buffer h = make(n, 0);
    for (ptrdiff_t k = 0; k < n; ++k)
        h.p[k] = (double)(k % 7 - 3);
    expect("dot", 0, mlpk_dot(g.p, h.p, n), d, scale);
    release(h, "h");
    snprintf(case_name, sizeof case_name, "mlpk_all_finite, n = %td", n);
    ++n_checks;
    if (mlpk_all_finite(g.p, n) != 1)
        fail("all_finite's result (all finite)", 0, mlpk_all_finite(g.p, n), 1.0, 0.0);
    for (ptrdiff_t k = 0; k < n; ++k)
        for (int t = 0; t < 3; ++t) {
            const double keep = g.p[k];
            g.p[k] = bad[t];
            ++n_checks;
            if (mlpk_all_finite(g.p, n) != 0)
                fail("all_finite's result (entry k is not finite)", k,
                     mlpk_all_finite(g.p, n), 0.0, 0.0);
            g.p[k] = keep;
        }
}

static void test_steps(void)
{
    for (ptrdiff_t n = 1; n <= 70; n += 3) {
        buffer p0 = make(n, 0), m0 = make(n, 1), v0 = make(n, 0), g = make(n, 1);
        randomize(p0, 0);
        randomize(m0, 0);
        randomize(v0, 0);
        randomize(g, 0);
        momentum_case(p0, v0, g, 0);
        momentum_case(p0, v0, g, 1);
        adam_case(p0, m0, v0, g);
        reductions_case(g);
        release(p0, "p0");
        release(m0, "m0");
        release(v0, "v0");
        release(g, "g");
    }
}

/* --- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const int best = mlpk_best_level();
    if (argc == 2 && strcmp(argv[1], "--levels") == 0) {
        for (int level = 0; level < MLPK_N_LEVELS && level <= best; ++level)
            printf("%s\n", mlpk_level_name(level));
        return 0;
    }
    int level = -1;
    for (int k = 0; argc == 2 && k < MLPK_N_LEVELS; ++k)
        if (strcmp(argv[1], mlpk_level_name(k)) == 0)
            level = k;
    if (level < 0) {
        fprintf(stderr, "usage: %s --levels | LEVEL (one of the names --levels prints)\n",
                argv[0]);
        return 2;
    }
    if (level > best || mlpk_set_level(level) != 0 || mlpk_current_level() != level) {
        fprintf(stderr, "test_kernels: this build and CPU cannot run the %s level (the "
                "best is %s)\n", argv[1], mlpk_level_name(best));
        return 2;
    }
    level_name = mlpk_level_name(level);
    printf("test_kernels at level %s (the best here: %s)\n", level_name,
           mlpk_level_name(best));
    test_combine();
    test_safe_combine();
    test_update();
    test_single_sample_step();
    test_pair();
    test_activations();
    test_derivatives();
    test_steps();
    if (n_failures > 0) {
        fprintf(stderr, "FAIL [%s]: %ld of %ld checks disagree with the reference%s\n",
                level_name, n_failures, n_checks,
                n_failures > MAX_REPORTS ? " (the first ones printed above)" : "");
        return 1;
    }
    printf("ok [%s]: %ld checks agree with the reference\n", level_name, n_checks);
    return 0;
}
