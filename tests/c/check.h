/* tests/c/check.h: what tests/c/test_kernels.c checks with: buffers fenced by guard
 * entries, the comparison against a reference with its tolerance, the messages on a
 * mismatch, a fixed pseudo-random sequence, and tallies of the kernels the choosers picked.
 */
#ifndef MLP_TEST_CHECK_H
#define MLP_TEST_CHECK_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-12
#define GUARD 16          /* guard entries on either side of every buffer */
#define MAX_REPORTS 20    /* mismatches printed in full; all are counted */
#define N_KERNEL_IDS 64   /* tallies of chooser results, by enum value */

static const char *level_name = "";   /* for the messages */
static char case_name[200];            /* the case being checked, likewise */
static long n_checks = 0, n_failures = 0;

/* --- buffers: 64-byte aligned plus an offset in doubles, fenced by guards ------------- */

typedef struct {
    void *block;
    double *p;
    ptrdiff_t n;
} buffer;

static const double guard_value = -12345.678;

static buffer make(ptrdiff_t n, int offset)
{
    buffer b;
    b.block = malloc((size_t)(n + 2 * GUARD + offset) * sizeof(double) + 64);
    if (b.block == NULL) {
        fprintf(stderr, "test_kernels: out of memory\n");
        exit(2);
    }
    uintptr_t start = ((uintptr_t)b.block + 63) & ~(uintptr_t)63;
    b.p = (double *)start + GUARD + offset;
    b.n = n;
    for (ptrdiff_t k = -GUARD; k < 0; ++k)
        b.p[k] = guard_value;
    for (ptrdiff_t k = n; k < n + GUARD; ++k)
        b.p[k] = guard_value;
    return b;
}

static void fill(buffer b, double value)
{
    for (ptrdiff_t k = 0; k < b.n; ++k)
        b.p[k] = value;
}

static void fail(const char *what, ptrdiff_t k, double got, double want, double allowed)
{
    ++n_failures;
    if (n_failures <= MAX_REPORTS)
        fprintf(stderr,
                "FAIL [%s] %s: %s[%td] = %.17g, the reference %.17g (|difference| %.3g, "
                "allowed %.3g)\n",
                level_name, case_name, what, k, got, want, fabs(got - want), allowed);
}

/* The guards of b are untouched; then free it. */
static void release(buffer b, const char *what)
{
    for (ptrdiff_t k = -GUARD; k < b.n + GUARD; ++k) {
        if (k == 0)
            k = b.n;    /* the entries themselves are the caller's to check */
        ++n_checks;
        if (memcmp(&b.p[k], &guard_value, sizeof(double)) != 0) {
            ++n_failures;
            if (n_failures <= MAX_REPORTS)
                fprintf(stderr, "FAIL [%s] %s: wrote %s[%td], outside its %td entries\n",
                        level_name, case_name, what, k, b.n);
        }
    }
    free(b.block);
}

/* got agrees with want to TOLERANCE times scale (NaN with NaN, an infinity with itself). */
static void expect(const char *what, ptrdiff_t k, double got, double want, double scale)
{
    const double allowed = TOLERANCE * scale + DBL_MIN;
    ++n_checks;
    if (isnan(want) ? !isnan(got)
        : isinf(want) ? got != want
        : !(fabs(got - want) <= allowed))
        fail(what, k, got, want, allowed);
}

/* --- inputs: a fixed pseudo-random sequence ------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double uniform(void)     /* in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-52 - 1.0;
}

/* random entries, about a quarter of them exactly 0 when sparse (the kernels skip zero
 * inputs, and take other paths for rows of all-nonzero ones) */
static void randomize(buffer b, int sparse)
{
    for (ptrdiff_t k = 0; k < b.n; ++k) {
        const double u = uniform();
        b.p[k] = sparse && u < -0.5 ? 0.0 : uniform();
    }
}

static void tally(long *counts, int kernel)
{
    ++counts[kernel >= 0 && kernel < N_KERNEL_IDS ? kernel : N_KERNEL_IDS - 1];
}

static void print_tally(const char *operation, const long *counts, long blas)
{
    printf("  %s: cases by kernel (enum value: count):", operation);
    for (int k = 0; k < N_KERNEL_IDS; ++k)
        if (counts[k] > 0)
            printf(" %d: %ld", k, counts[k]);
    if (blas >= 0)
        printf("; BLAS's cases skipped: %ld", blas);
    printf("\n");
}

#endif /* MLP_TEST_CHECK_H */
