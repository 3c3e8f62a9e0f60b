/* mlp/_kernels.h: the kernel chooser, the one place that decides which kernel runs.
 *
 * Three operations have more than one kernel, and each has one chooser:
 *
 *   combine         z := x @ W, the forward product of m rows      mlpk_choose_combine
 *   update          W := beta W + alpha A.T @ D, a mini-batch's    mlpk_choose_update
 *                   weight update (or gradient, beta = 0)
 *   update_combine  the single-sample step's pass over the first   mlpk_choose_update_combine
 *                   layer: W[i, :] := keep W[i, :] - (eta a[i]) delta, fused with the
 *                   next sample's sums z_next := sum_i a_next[i] W[i, :]
 *   pair            the same pass for two samples: two updates,    mlpk_choose_pair
 *                   then the next two samples' sums (or none: the
 *                   one-sample pass, sample by sample)
 *
 * A chooser looks at the sizes and the kernel level and returns an enum value; mlpk_run_*
 * runs the kernel it names. BLAS (dgemm) is called from Cython (_gemm in _core.pyx), so
 * for MLPK_COMBINE_BLAS and MLPK_UPDATE_BLAS _core.pyx makes that call itself: it only
 * executes the decision, which is made here and nowhere else. Every size a decision turns
 * on is a named constant below, with what placed it; comments elsewhere refer to these
 * names. The kernels' own fixed-size instantiations (_avx512.h) cover exactly the sizes
 * sent to them.
 *
 * The kernel levels (_levels.h), lowest first: "generic", the loops of _simd.h and BLAS, on
 * any CPU; "avx2", the same choices, with the loops compiled for AVX2 + FMA; "avx512",
 * which adds the AVX-512 kernels of _avx512.h (in GCC builds), with the loops compiled for
 * AVX-512. The choosers read the level in use, fixed once at import (mlpk_set_level), so
 * that MLP_KERNELS selects both the loops and the hand-written kernels a CPU of that level
 * runs.
 *
 * Private to _core.pyx (the mlpk_ prefix): not part of mlp's C API (_core.pxd).
 */
#ifndef MLPK_KERNELS_H
#define MLPK_KERNELS_H

#include <stddef.h>

#include "_avx2.h"
#include "_avx512.h"
#include "_levels.h"
#include "_platform.h"
#include "_simd.h"

/* --- what every buffer handed to the kernels must be aligned to ------------------------ */

typedef struct { char c; double d; } mlpk_double_probe;
typedef struct { char c; ptrdiff_t i; } mlpk_index_probe;

enum {
    MLPK_DOUBLE_ALIGN = offsetof(mlpk_double_probe, d),   /* _Alignof(double) */
    MLPK_INDEX_ALIGN = offsetof(mlpk_index_probe, i)      /* _Alignof(Py_ssize_t) */
};

/* --- the thresholds --------------------------------------------------------------------- */

enum {
    /* Doubles in one AVX-512 vector: the unit the avx512 kernels lay W's rows out in. */
    MLPK_AVX512_LANES = 8,

    /* combine, avx512 level. Layers up to this wide go to mlpk_avx512_combine_batch at
     * every row count: they are one column chunk of it (4 vectors of sums per row of x,
     * up to 6 rows of x per pass down W). Measured against OpenBLAS's small-matrix kernel,
     * which ran 10 x 784 x 30 at about half the FMA peak. */
    MLPK_AVX512_NARROW_WIDTH = 32,
    /* combine, avx512 level, layers wider than MLPK_AVX512_NARROW_WIDTH: from this many
     * rows up to MLPK_AVX512_COMBINE_MAX_ROWS, mlpk_avx512_combine_batch (one pass down W
     * per 32-column chunk and group of rows); beyond, BLAS's blocking for cache wins. One
     * row is faster as one pass down W than as a pass per chunk (next threshold). */
    MLPK_AVX512_COMBINE_MIN_ROWS = 2,
    MLPK_AVX512_COMBINE_MAX_ROWS = 12,
    /* combine, avx512 level, one row of a layer wider than MLPK_AVX512_NARROW_WIDTH and
     * up to this wide: mlpk_avx512_combine_row, one pass down W with the whole row of
     * sums in 16 vector registers; wider rows take the generic row loop (a sum of rows of
     * W, mlpk_generic_combine_row), as one row does at the generic level. */
    MLPK_AVX512_ROW_MAX_WIDTH = 128,

    /* update, avx512 level: mini-batches of 1 up to this many rows go to
     * mlpk_avx512_update, which holds alpha D of 16 columns for all of them in registers
     * and reads and writes W once per 16 columns, faster there than BLAS's small-matrix
     * kernels; more rows, BLAS. */
    MLPK_AVX512_UPDATE_MAX_ROWS = 12,
    /* update, avx512 level: only layers at least this wide (one whole vector: a row's
     * last columns are updated through the vector of its last MLPK_AVX512_LANES); narrower
     * ones, BLAS. */
    MLPK_AVX512_UPDATE_MIN_WIDTH = 8,

    /* update_combine, avx512 level: layers narrower than this whose width is not a
     * multiple of MLPK_AVX512_LANES take the flat layout (mlpk_avx512_update_combine_flat:
     * blocks of rows that are exactly n_out / gcd(n_out, 8) < 32 whole vectors, delta
     * and sums held in registers), the others the strided one (column chunks down all
     * rows). Measured at 784 x 30: 1.5 us per sample, against 3.9 us for the generic row
     * loops. */
    MLPK_AVX512_FLAT_WIDTH_LIMIT = 32,

    /* combine, avx2 level: mini-batches of this many rows up to
     * MLPK_AVX2_COMBINE_MAX_ROWS go to mlpk_avx2_combine (tiles of 4 rows x 12 columns
     * in registers, W in blocks of rows that stay in L1); one row, the row loop; more
     * rows, BLAS. */
    MLPK_AVX2_COMBINE_MIN_ROWS = 2,
    MLPK_AVX2_COMBINE_MAX_ROWS = 12,
    /* update, avx2 level: mini-batches of 1 up to this many rows go to mlpk_avx2_update
     * (tiles of 4 rows x 12 columns of W in registers, W read and written once); more
     * rows, BLAS. */
    MLPK_AVX2_UPDATE_MAX_ROWS = 12
};

/* --- combine: z := x @ W, x (m, n_in), W (n_in, n_out), z (m, n_out) -------------------- */

typedef enum {
    MLPK_COMBINE_BLAS,          /* dgemm: _core.pyx calls it (_gemm) */
    MLPK_COMBINE_ROW,           /* one row: mlpk_generic_combine_row, a sum of rows of W */
    MLPK_COMBINE_AVX512_ROW,    /* one row: mlpk_avx512_combine_row */
    MLPK_COMBINE_AVX512_BATCH,  /* mlpk_avx512_combine_batch */
    MLPK_COMBINE_AVX2           /* mlpk_avx2_combine */
} mlpk_combine_kernel;

static inline mlpk_combine_kernel mlpk_choose_combine(ptrdiff_t m, ptrdiff_t n_out)
{
#if MLPK_HAVE_AVX512_KERNELS
    if (mlpk_level_in_use >= MLPK_LEVEL_AVX512) {
        if (m == 1 && n_out > MLPK_AVX512_NARROW_WIDTH && n_out <= MLPK_AVX512_ROW_MAX_WIDTH)
            return MLPK_COMBINE_AVX512_ROW;
        if (n_out <= MLPK_AVX512_NARROW_WIDTH ||
            (m >= MLPK_AVX512_COMBINE_MIN_ROWS && m <= MLPK_AVX512_COMBINE_MAX_ROWS))
            return MLPK_COMBINE_AVX512_BATCH;
    }
#endif
#if MLPK_HAVE_AVX2_KERNELS
    if (mlpk_level_in_use == MLPK_LEVEL_AVX2 && m >= MLPK_AVX2_COMBINE_MIN_ROWS &&
        m <= MLPK_AVX2_COMBINE_MAX_ROWS)
        return MLPK_COMBINE_AVX2;
#endif
    (void)n_out;
    /* for one row a sum of rows of W, whose fixed cost is lower than a GEMM call's */
    return m == 1 ? MLPK_COMBINE_ROW : MLPK_COMBINE_BLAS;
}

/* Run the kernel mlpk_choose_combine(m, n_out) chose; nothing for MLPK_COMBINE_BLAS. */
static inline void mlpk_run_combine(mlpk_combine_kernel kernel, const double *MLPK_RESTRICT x,
                                    ptrdiff_t m, ptrdiff_t n_in, const double *MLPK_RESTRICT W,
                                    ptrdiff_t n_out, double *MLPK_RESTRICT z)
{
    switch (kernel) {
    case MLPK_COMBINE_ROW:
        mlpk_generic_combine_row(x, n_in, W, n_out, z);
        break;
#if MLPK_HAVE_AVX512_KERNELS
    case MLPK_COMBINE_AVX512_ROW:
        mlpk_avx512_combine_row(x, n_in, W, n_out, z);
        break;
    case MLPK_COMBINE_AVX512_BATCH:
        mlpk_avx512_combine_batch(x, m, n_in, W, n_out, z);
        break;
#endif
#if MLPK_HAVE_AVX2_KERNELS
    case MLPK_COMBINE_AVX2:
        mlpk_avx2_combine(x, m, n_in, W, n_out, z);
        break;
#endif
    default:
        break;
    }
    (void)m;
}

/* --- update: W := beta W + alpha A.T @ D, A (m, n_in), D (m, n_out), W (n_in, n_out) ---- */

typedef enum {
    MLPK_UPDATE_BLAS,           /* dgemm: _core.pyx calls it (_gemm) */
    MLPK_UPDATE_AVX512,         /* mlpk_avx512_update */
    MLPK_UPDATE_AVX2            /* mlpk_avx2_update */
} mlpk_update_kernel;

static inline mlpk_update_kernel mlpk_choose_update(ptrdiff_t m, ptrdiff_t n_out)
{
#if MLPK_HAVE_AVX512_KERNELS
    if (mlpk_level_in_use >= MLPK_LEVEL_AVX512 && m >= 1 &&
        m <= MLPK_AVX512_UPDATE_MAX_ROWS && n_out >= MLPK_AVX512_UPDATE_MIN_WIDTH)
        return MLPK_UPDATE_AVX512;
#endif
#if MLPK_HAVE_AVX2_KERNELS
    if (mlpk_level_in_use == MLPK_LEVEL_AVX2 && m >= 1 && m <= MLPK_AVX2_UPDATE_MAX_ROWS)
        return MLPK_UPDATE_AVX2;
#endif
    (void)m; (void)n_out;
    return MLPK_UPDATE_BLAS;
}

/* Run the kernel mlpk_choose_update(m, n_out) chose; nothing for MLPK_UPDATE_BLAS. beta = 0:
 * W is not read. */
static inline void mlpk_run_update(mlpk_update_kernel kernel, double *MLPK_RESTRICT W,
                                   ptrdiff_t n_in, ptrdiff_t n_out,
                                   const double *MLPK_RESTRICT A, ptrdiff_t m,
                                   const double *MLPK_RESTRICT D, double alpha, double beta)
{
    switch (kernel) {
#if MLPK_HAVE_AVX512_KERNELS
    case MLPK_UPDATE_AVX512:
        mlpk_avx512_update(W, n_in, n_out, A, m, D, alpha, beta);
        break;
#endif
#if MLPK_HAVE_AVX2_KERNELS
    case MLPK_UPDATE_AVX2:
        mlpk_avx2_update(W, n_in, n_out, A, m, D, alpha, beta);
        break;
#endif
    default:
        break;
    }
    (void)W; (void)n_in; (void)n_out; (void)A; (void)m; (void)D; (void)alpha; (void)beta;
}

/* --- update_combine: W (n_in, n_out) updated with delta (n_out) and a (n_in); z_next
 * (n_out) := the next sample a_next (n_in) through the updated W ------------------------- */

typedef enum {
    MLPK_UPDATE_COMBINE_GENERIC,        /* mlpk_generic_update_combine */
    MLPK_UPDATE_COMBINE_AVX512_FLAT,    /* mlpk_avx512_update_combine_flat */
    MLPK_UPDATE_COMBINE_AVX512_STRIDED, /* mlpk_avx512_update_combine_strided */
    MLPK_UPDATE_COMBINE_AVX2            /* mlpk_avx2_update_combine */
} mlpk_update_combine_kernel;

static inline mlpk_update_combine_kernel mlpk_choose_update_combine(ptrdiff_t n_out)
{
#if MLPK_HAVE_AVX512_KERNELS
    if (mlpk_level_in_use >= MLPK_LEVEL_AVX512) {
        if (n_out < MLPK_AVX512_FLAT_WIDTH_LIMIT && n_out % MLPK_AVX512_LANES != 0)
            return MLPK_UPDATE_COMBINE_AVX512_FLAT;
        return MLPK_UPDATE_COMBINE_AVX512_STRIDED;
    }
#endif
#if MLPK_HAVE_AVX2_KERNELS
    if (mlpk_level_in_use == MLPK_LEVEL_AVX2)
        return MLPK_UPDATE_COMBINE_AVX2;
#endif
    (void)n_out;
    return MLPK_UPDATE_COMBINE_GENERIC;
}

/* For each row i, W[i, :] := keep W[i, :] - (eta a[i]) delta, then z_next[j] := sum_i
 * a_next[i] W[i, j] with the updated rows, by the kernel mlpk_choose_update_combine(n_out)
 * chose. */
static inline void mlpk_run_update_combine(mlpk_update_combine_kernel kernel,
                                           double *MLPK_RESTRICT W, ptrdiff_t n_in,
                                           ptrdiff_t n_out, const double *MLPK_RESTRICT delta,
                                           const double *MLPK_RESTRICT a, double eta,
                                           double keep, const double *MLPK_RESTRICT a_next,
                                           double *MLPK_RESTRICT z_next)
{
    switch (kernel) {
#if MLPK_HAVE_AVX512_KERNELS
    case MLPK_UPDATE_COMBINE_AVX512_FLAT: {
        /* whole blocks of rows; the rows left over by the generic row loop */
        const ptrdiff_t done = mlpk_avx512_update_combine_flat(W, n_in, n_out, delta, a, eta,
                                                               keep, a_next, z_next);
        for (ptrdiff_t i = done; i < n_in; ++i)
            mlpk_update_combine_row(W + i * n_out, n_out, delta, eta * a[i], a_next[i],
                                    keep, z_next);
        break;
    }
    case MLPK_UPDATE_COMBINE_AVX512_STRIDED:
        mlpk_avx512_update_combine_strided(W, n_in, n_out, delta, a, eta, keep, a_next,
                                           z_next);
        break;
#endif
#if MLPK_HAVE_AVX2_KERNELS
    case MLPK_UPDATE_COMBINE_AVX2:
        mlpk_avx2_update_combine(W, n_in, n_out, delta, a, eta, keep, a_next, z_next);
        break;
#endif
    default:
        mlpk_generic_update_combine(W, n_in, n_out, delta, a, eta, keep, a_next, z_next);
        break;
    }
}

/* --- pair: W (n_in, n_out) updated with two samples' e1, a1 and e2, a2 in turn (no decay);
 * z1 (and z2) := the samples n1 (and n2) through the updated W ---------------------------
 *
 * Where a pair kernel exists, the single-sample epoch (_epoch1 in _core.pyx) goes two
 * samples per pass over W_1: at the avx2 level, where the one-sample pass is bound by W_1's
 * traffic through L2 (10 x 784 x 30: 4.5 us per sample against 2.4 us of FMAs). Elsewhere
 * MLPK_PAIR_NONE: one sample per pass, as before. */

typedef enum {
    MLPK_PAIR_NONE,                     /* no pair kernel: one sample per pass */
    MLPK_PAIR_AVX2                      /* mlpk_avx2_pair_update_combine */
} mlpk_pair_kernel;

static inline mlpk_pair_kernel mlpk_choose_pair(void)
{
#if MLPK_HAVE_AVX2_KERNELS
    if (mlpk_level_in_use == MLPK_LEVEL_AVX2)
        return MLPK_PAIR_AVX2;
#endif
    return MLPK_PAIR_NONE;
}

/* For each row i, W[i, :] := (W[i, :] - (eta a1[i]) e1) - (eta a2[i]) e2, then z1 :=
 * sum_i n1[i] W[i, :] and, unless n2 is NULL, z2 := sum_i n2[i] W[i, :] with the updated
 * rows, by the kernel mlpk_choose_pair() chose (MLPK_PAIR_NONE: the same by the generic
 * row loops, in four passes). */
static inline void mlpk_run_pair(mlpk_pair_kernel kernel, double *MLPK_RESTRICT W,
                                 ptrdiff_t n_in, ptrdiff_t n_out,
                                 const double *MLPK_RESTRICT e1, const double *MLPK_RESTRICT a1,
                                 const double *MLPK_RESTRICT e2, const double *MLPK_RESTRICT a2,
                                 double eta, const double *MLPK_RESTRICT n1,
                                 const double *MLPK_RESTRICT n2, double *MLPK_RESTRICT z1,
                                 double *MLPK_RESTRICT z2)
{
    switch (kernel) {
#if MLPK_HAVE_AVX2_KERNELS
    case MLPK_PAIR_AVX2:
        mlpk_avx2_pair_update_combine(W, n_in, n_out, e1, a1, e2, a2, eta, n1, n2, z1, z2);
        break;
#endif
    default:
        mlpk_rows_backprop(W, n_in, n_out, e1, a1, eta, 1.0, NULL);
        mlpk_rows_backprop(W, n_in, n_out, e2, a2, eta, 1.0, NULL);
        mlpk_generic_combine_row(n1, n_in, W, n_out, z1);
        if (n2 != NULL)
            mlpk_generic_combine_row(n2, n_in, W, n_out, z2);
        break;
    }
}

#endif /* MLPK_KERNELS_H */
