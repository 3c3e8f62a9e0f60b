/* mlp/_avx512.h: the "avx512" level's kernels, for the products that are too small for
 * BLAS to run well, with their accumulators (or operands) held in registers. Measured on
 * the AMD Zen 5 this project runs on, against what they replace:
 *
 * 1. The single-sample step's pass over the first layer's W (n_in, n_out): row i is
 *    updated, W[i, :] := keep W[i, :] - (eta a[i]) delta, and the next sample's forward sum
 *    takes it up, z_next += a_next[i] W[i, :] (mlpk_generic_update_combine in _simd.h). As
 *    row loops over a runtime n_out, the compiler keeps z_next in memory and ends each row
 *    with a masked or scalar tail: 3.9 us per sample against 1.5 us here (784 x 30).
 * 2. The forward product of a small mini-batch, z = x @ W (mlpk_avx512_combine_batch):
 *    groups of up to 6 rows of x go down W once, 6 x 4 accumulators in registers.
 *    OpenBLAS's small-matrix kernel ran 10 x 784 x 30 at about half the FMA peak. One row
 *    of a wide layer goes down W once with all its outputs in registers
 *    (mlpk_avx512_combine_row).
 * 3. The weight update of a small mini-batch, W := beta W + alpha A.T @ D
 *    (mlpk_avx512_update): alpha D for 16 columns and all m rows in registers, W read and
 *    written once per 16 columns (beta = 0, the gradient that momentum takes: written only).
 *
 * Which of them runs for which sizes is decided in one place, the chooser (_kernels.h),
 * whose named thresholds say where each was measured to win; the entry points here trust
 * it. Every kernel is instantiated for fixed sizes (widths, row counts) so that its state
 * lives in registers, and none uses masked stores inside its loops (on Zen 5 they cost
 * several times a plain store). For 1, two layouts:
 *
 * - "flat" (mlpk_avx512_update_combine_flat), for narrow layers whose width is not a
 *   multiple of the 8 doubles of a vector: W is walked as one array in blocks of
 *   R = 8/gcd(n_out, 8) rows, which are exactly V = R n_out / 8 whole vectors
 *   (n_out = 30: 4 rows, 15 vectors). Lane l of vector v holds row (8v + l) / n_out and
 *   column (8v + l) % n_out of the block, the same in every block, so delta laid out that
 *   way (V vectors) and the per-row factors spread over the lanes (a blend of two
 *   broadcasts, or a permute when n_out < 8) give the update, and V accumulators the sum;
 *   at the end the R row-parts of each column are added. With W 64-byte aligned no load
 *   splits a cache line.
 * - "strided" (mlpk_avx512_update_combine_strided), for the other widths: column chunks
 *   of up to 16 vectors (128 columns) go down all rows; the last n_out % 8 columns of a row
 *   are updated through the (overlapping) vector of its last 8.
 *
 * The results equal the plain loops' and BLAS's up to the order of the additions. In 1,
 * with keep == 1 a block whose rows all have a[i] == 0 and a_next[i] == 0 is skipped (it
 * would change nothing), as the plain loops skip such rows.
 *
 * Compiled by GCC >= 12 on x86-64 Linux (the compiler of Linux wheels) for the "avx512"
 * level's instruction sets (MLPK_TARGET_AVX512, _levels.h), and run only at that level,
 * which needs a CPU with AVX-512 F, BW, DQ and VL. Not by Clang: measured with Clang 14, its
 * builds of the small-batch kernels were 1.4-1.8x slower than the BLAS calls they replace
 * (it does not turn the accumulator arrays into registers), so at a Clang build's "avx512"
 * level the chooser makes the generic level's choices, and only the loops are AVX-512's.
 * Private to _core.pyx (the mlpk_ prefix: not mlp's C API).
 */
#ifndef MLPK_AVX512_H
#define MLPK_AVX512_H

#include <stddef.h>

#include "_levels.h"
#include "_platform.h"

#if MLPK_X86_DISPATCH && defined(__linux__) && !defined(__clang__)
#define MLPK_HAVE_AVX512_KERNELS 1
#include <immintrin.h>

/* The flat kernel for n_out = N (a constant after inlining: every loop over v unrolls and
 * the arrays become registers). z := the next sample's sums over the whole blocks of rows
 * (overwritten); returns how many rows those are: the n_in % R rows left over are the
 * caller's (mlpk_run_update_combine in _kernels.h finishes them with the row loop). */
MLPK_TARGET_AVX512 MLPK_ALWAYS_INLINE ptrdiff_t
mlpk_avx512_flat_pass(double *MLPK_RESTRICT W, ptrdiff_t n_in, const int N,
                      const double *MLPK_RESTRICT delta, const double *MLPK_RESTRICT a,
                      double eta, double keep, const double *MLPK_RESTRICT a_next,
                      double *MLPK_RESTRICT z)
{
    const int G = (N % 8 == 0) ? 8 : (N % 4 == 0) ? 4 : (N % 2 == 0) ? 2 : 1;
    const int R = 8 / G, V = N / G;
    __m512d D[32], acc[32];
    __m512i P[32];
    __mmask8 K[32];
    int r0[32];
    const __m512d kv = _mm512_set1_pd(keep);
    const __m512d neg_eta = _mm512_set1_pd(-eta);
#pragma GCC unroll 32
    for (int v = 0; v < V; ++v) {
        double t[8];
        long long ix[8];
        unsigned m = 0;
        r0[v] = (8 * v) / N;
        for (int l = 0; l < 8; ++l) {
            t[l] = delta[(8 * v + l) % N];
            ix[l] = (8 * v + l) / N;
            m |= (unsigned)((8 * v + l) / N != r0[v]) << l;
        }
        D[v] = _mm512_loadu_pd(t);
        P[v] = _mm512_loadu_si512(ix);
        K[v] = (__mmask8)m;
        acc[v] = _mm512_setzero_pd();
    }
    const ptrdiff_t nb = n_in / R;
    for (ptrdiff_t b = 0; b < nb; ++b) {
        double *MLPK_RESTRICT w = W + b * (ptrdiff_t)(R * N);
        const double *MLPK_RESTRICT ab = a + b * R;
        const double *MLPK_RESTRICT nb_ = a_next + b * R;
        if (keep == 1.0) {
            int any = 0;
            for (int r = 0; r < R; ++r)
                any |= (ab[r] != 0.0) | (nb_[r] != 0.0);
            if (!any)
                continue;
        }
        __m512d c[9], d[9], c8, d8;
        if (N < 8) {            /* the R rows' factors in lanes 0 .. R-1, for the permutes */
            __m512d ar, nr;
            if (R == 8) {
                ar = _mm512_loadu_pd(ab);
                nr = _mm512_loadu_pd(nb_);
            } else if (R == 4) {
                ar = _mm512_zextpd256_pd512(_mm256_loadu_pd(ab));
                nr = _mm512_zextpd256_pd512(_mm256_loadu_pd(nb_));
            } else {
                ar = _mm512_zextpd128_pd512(_mm_loadu_pd(ab));
                nr = _mm512_zextpd128_pd512(_mm_loadu_pd(nb_));
            }
            c8 = _mm512_mul_pd(neg_eta, ar);
            d8 = nr;
        } else {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                c[r] = _mm512_set1_pd(-eta * ab[r]);
                d[r] = _mm512_set1_pd(nb_[r]);
            }
            c[R] = c[R - 1];
            d[R] = d[R - 1];
        }
#pragma GCC unroll 32
        for (int v = 0; v < V; ++v) {
            __m512d cv, dv;
            if (N < 8) {
                cv = _mm512_permutexvar_pd(P[v], c8);
                dv = _mm512_permutexvar_pd(P[v], d8);
            } else {
                cv = _mm512_mask_blend_pd(K[v], c[r0[v]], c[r0[v] + 1]);
                dv = _mm512_mask_blend_pd(K[v], d[r0[v]], d[r0[v] + 1]);
            }
            __m512d x = _mm512_loadu_pd(w + 8 * v);
            x = _mm512_fmadd_pd(cv, D[v], _mm512_mul_pd(kv, x));
            _mm512_storeu_pd(w + 8 * v, x);
            acc[v] = _mm512_fmadd_pd(dv, x, acc[v]);
        }
    }
    double s[8 * 32];
#pragma GCC unroll 32
    for (int v = 0; v < V; ++v)
        _mm512_storeu_pd(s + 8 * v, acc[v]);
    for (int j = 0; j < N; ++j) {
        double t = 0.0;
        for (int r = 0; r < R; ++r)
            t += s[r * N + j];
        z[j] = t;
    }
    return nb * R;
}

/* The strided kernel: V whole vectors of columns from j0, all rows of ld doubles (V a
 * constant after inlining); z[j0 .. j0 + 8V) := their sums (overwritten). With T = 1 also
 * the row's last columns, which do not fill a vector: the vector of its last 8 columns is
 * loaded with the others, updated with delta zeroed on the lanes that the whole vectors
 * hold (jt = ld - 8; lanes from 8 - ld % 8 on are the tail), and stored before them, so
 * that their stores land last. This avoids masked stores, which on AMD Zen 5 cost several
 * times a plain one. */
MLPK_TARGET_AVX512 MLPK_ALWAYS_INLINE void
mlpk_avx512_strided_pass(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t ld, ptrdiff_t j0,
                         const int V, const int T, const double *MLPK_RESTRICT delta,
                         const double *MLPK_RESTRICT a, double eta, double keep,
                         const double *MLPK_RESTRICT a_next, double *MLPK_RESTRICT z)
{
    __m512d D[16], acc[16], Dt = _mm512_setzero_pd(), acct = _mm512_setzero_pd();
    const __m512d kv = _mm512_set1_pd(keep);
    const ptrdiff_t jt = ld - 8;
    const __mmask8 kt = (__mmask8)(0xffu << (8 - ld % 8));
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
        D[v] = _mm512_loadu_pd(delta + j0 + 8 * v);
        acc[v] = _mm512_setzero_pd();
    }
    if (T)
        Dt = _mm512_maskz_loadu_pd(kt, delta + jt);
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        double *MLPK_RESTRICT w = W + i * ld;
        if (keep == 1.0 && a[i] == 0.0 && a_next[i] == 0.0)
            continue;
        const __m512d c = _mm512_set1_pd(-eta * a[i]);
        const __m512d d = _mm512_set1_pd(a_next[i]);
#pragma GCC unroll 16
        for (int v = 0; v < V - T; ++v) {
            __m512d x = _mm512_loadu_pd(w + j0 + 8 * v);
            x = _mm512_fmadd_pd(c, D[v], _mm512_mul_pd(kv, x));
            _mm512_storeu_pd(w + j0 + 8 * v, x);
            acc[v] = _mm512_fmadd_pd(d, x, acc[v]);
        }
        if (T) {
            __m512d x = _mm512_loadu_pd(w + j0 + 8 * (V - 1));
            __m512d xt = _mm512_loadu_pd(w + jt);
            xt = _mm512_fmadd_pd(c, Dt, _mm512_mul_pd(kv, xt));
            _mm512_storeu_pd(w + jt, xt);
            acct = _mm512_fmadd_pd(d, xt, acct);
            x = _mm512_fmadd_pd(c, D[V - 1], _mm512_mul_pd(kv, x));
            _mm512_storeu_pd(w + j0 + 8 * (V - 1), x);
            acc[V - 1] = _mm512_fmadd_pd(d, x, acc[V - 1]);
        }
    }
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
        _mm512_storeu_pd(z + j0 + 8 * v, acc[v]);
    if (T)
        _mm512_mask_storeu_pd(z + jt, kt, acct);
}

#define MLPK_FLAT_CASE(n) \
    case n: return mlpk_avx512_flat_pass(W, n_in, n, delta, a, eta, keep, a_next, z);
#define MLPK_STRIDED_CASE(v, t) \
    case 2 * v + t: \
        mlpk_avx512_strided_pass(W, n_in, n_out, j0, v, t, delta, a, eta, keep, a_next, z); \
        break;

/* The single-sample step's pass (mlpk_generic_update_combine in _simd.h), flat layout:
 * W[i, :] := keep W[i, :] - (eta a[i]) delta, then z := sum_i a_next[i] W[i, :] with the
 * updated rows (overwritten), for the first rows of W; returns how many (the whole blocks),
 * the caller finishes the others. For the widths the chooser sends here (_kernels.h:
 * MLPK_AVX512_FLAT_WIDTH_LIMIT), each of which has its instantiation below. */
MLPK_TARGET_AVX512 static ptrdiff_t
mlpk_avx512_update_combine_flat(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                                const double *MLPK_RESTRICT delta,
                                const double *MLPK_RESTRICT a, double eta, double keep,
                                const double *MLPK_RESTRICT a_next, double *MLPK_RESTRICT z)
{
    switch (n_out) {
        MLPK_FLAT_CASE(1) MLPK_FLAT_CASE(2) MLPK_FLAT_CASE(3) MLPK_FLAT_CASE(4)
        MLPK_FLAT_CASE(5) MLPK_FLAT_CASE(6) MLPK_FLAT_CASE(7) MLPK_FLAT_CASE(9)
        MLPK_FLAT_CASE(10) MLPK_FLAT_CASE(11) MLPK_FLAT_CASE(12) MLPK_FLAT_CASE(13)
        MLPK_FLAT_CASE(14) MLPK_FLAT_CASE(15) MLPK_FLAT_CASE(17) MLPK_FLAT_CASE(18)
        MLPK_FLAT_CASE(19) MLPK_FLAT_CASE(20) MLPK_FLAT_CASE(21) MLPK_FLAT_CASE(22)
        MLPK_FLAT_CASE(23) MLPK_FLAT_CASE(25) MLPK_FLAT_CASE(26) MLPK_FLAT_CASE(27)
        MLPK_FLAT_CASE(28) MLPK_FLAT_CASE(29) MLPK_FLAT_CASE(30) MLPK_FLAT_CASE(31)
        default: break;
    }
    return 0;
}

/* The single-sample step's pass, strided layout: as mlpk_avx512_update_combine_flat, for
 * all n_in rows, for the widths the chooser sends here (n_out >= 8). */
MLPK_TARGET_AVX512 static void
mlpk_avx512_update_combine_strided(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                                   const double *MLPK_RESTRICT delta,
                                   const double *MLPK_RESTRICT a, double eta, double keep,
                                   const double *MLPK_RESTRICT a_next,
                                   double *MLPK_RESTRICT z)
{
    /* chunks of up to 16 vectors; the tail (n_out not a multiple of 8) goes with the last
     * whole ones */
    const int tail = n_out % 8 != 0;
    ptrdiff_t j0 = 0, left = n_out / 8;
    for (;;) {
        const ptrdiff_t v = left + tail <= 16 ? left : left > 16 ? 16 : 8;
        const int t = v == left ? tail : 0;
        switch (2 * (int)v + t) {
            MLPK_STRIDED_CASE(1, 0) MLPK_STRIDED_CASE(1, 1)
            MLPK_STRIDED_CASE(2, 0) MLPK_STRIDED_CASE(2, 1) MLPK_STRIDED_CASE(3, 0)
            MLPK_STRIDED_CASE(3, 1) MLPK_STRIDED_CASE(4, 0) MLPK_STRIDED_CASE(4, 1)
            MLPK_STRIDED_CASE(5, 0) MLPK_STRIDED_CASE(5, 1) MLPK_STRIDED_CASE(6, 0)
            MLPK_STRIDED_CASE(6, 1) MLPK_STRIDED_CASE(7, 0) MLPK_STRIDED_CASE(7, 1)
            MLPK_STRIDED_CASE(8, 0) MLPK_STRIDED_CASE(8, 1) MLPK_STRIDED_CASE(9, 0)
            MLPK_STRIDED_CASE(9, 1) MLPK_STRIDED_CASE(10, 0) MLPK_STRIDED_CASE(10, 1)
            MLPK_STRIDED_CASE(11, 0) MLPK_STRIDED_CASE(11, 1) MLPK_STRIDED_CASE(12, 0)
            MLPK_STRIDED_CASE(12, 1) MLPK_STRIDED_CASE(13, 0) MLPK_STRIDED_CASE(13, 1)
            MLPK_STRIDED_CASE(14, 0) MLPK_STRIDED_CASE(14, 1) MLPK_STRIDED_CASE(15, 0)
            MLPK_STRIDED_CASE(15, 1) MLPK_STRIDED_CASE(16, 0)
            default: break;
        }
        j0 += 8 * v;
        left -= v;
        if (left == 0 && t == tail)
            break;
    }
}

#undef MLPK_FLAT_CASE
#undef MLPK_STRIDED_CASE

/* z[g, j0 .. j0 + width) := sum_i x[g, i] W[i, j0 .. j0 + width) for G rows of x (ld_x
 * doubles apart) and W (n_in, n_out), V = ceil(width / 8) <= 4 vectors (G and V constants
 * after inlining: G V accumulators in registers). A chunk's last vector may read past its
 * end, into the row's next columns or the next row, whose lanes are then ignored; only the
 * rows where that would leave W take a masked load. */
MLPK_TARGET_AVX512 MLPK_ALWAYS_INLINE void
mlpk_avx512_combine_pass(const double *MLPK_RESTRICT x, ptrdiff_t ld_x, const int G,
                         ptrdiff_t n_in, const double *MLPK_RESTRICT W, ptrdiff_t n_out,
                         ptrdiff_t j0, ptrdiff_t width, const int V, double *MLPK_RESTRICT z,
                         ptrdiff_t ld_z)
{
    __m512d acc[6][4];
    const __mmask8 km = (__mmask8)(width % 8 ? (1u << (width % 8)) - 1 : 0xffu);
#pragma GCC unroll 6
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
            acc[g][v] = _mm512_setzero_pd();
    /* rows whose last vector stays inside W: i n_out + j0 + 8 V <= n_in n_out */
    const ptrdiff_t room = n_in * n_out - j0 - 8 * V;
    ptrdiff_t safe = room < 0 ? 0 : room / n_out + 1;
    safe = safe > n_in ? n_in : safe;
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        const double *MLPK_RESTRICT w = W + i * n_out + j0;
        __m512d wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
            wv[v] = (v < V - 1 || i < safe) ? _mm512_loadu_pd(w + 8 * v)
                                            : _mm512_maskz_loadu_pd(km, w + 8 * v);
#pragma GCC unroll 6
        for (int g = 0; g < G; ++g) {
            const __m512d b = _mm512_set1_pd(x[g * ld_x + i]);
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v)
                acc[g][v] = _mm512_fmadd_pd(b, wv[v], acc[g][v]);
        }
    }
#pragma GCC unroll 6
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
            if (v < V - 1)
                _mm512_storeu_pd(z + g * ld_z + j0 + 8 * v, acc[g][v]);
            else
                _mm512_mask_storeu_pd(z + g * ld_z + j0 + 8 * v, km, acc[g][v]);
        }
}

/* z := x @ W for one row x and W (n_in, n_out), V = ceil(n_out / 8) <= 16 vectors per row
 * of W (a constant after inlining) and V accumulators: one pass down W, as
 * mlpk_avx512_combine_pass, whose chunks of 32 columns would each go down it again. */
MLPK_TARGET_AVX512 MLPK_ALWAYS_INLINE void
mlpk_avx512_wide_pass(const double *MLPK_RESTRICT x, ptrdiff_t n_in,
                      const double *MLPK_RESTRICT W, ptrdiff_t n_out, const int V,
                      double *MLPK_RESTRICT z)
{
    __m512d acc[16];
    const __mmask8 km = (__mmask8)(n_out % 8 ? (1u << (n_out % 8)) - 1 : 0xffu);
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
        acc[v] = _mm512_setzero_pd();
    const ptrdiff_t room = n_in * n_out - 8 * V;
    ptrdiff_t safe = room < 0 ? 0 : room / n_out + 1;
    safe = safe > n_in ? n_in : safe;
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        const double *MLPK_RESTRICT w = W + i * n_out;
        const __m512d b = _mm512_set1_pd(x[i]);
#pragma GCC unroll 16
        for (int v = 0; v < V; ++v) {
            const __m512d wv = (v < V - 1 || i < safe)
                                   ? _mm512_loadu_pd(w + 8 * v)
                                   : _mm512_maskz_loadu_pd(km, w + 8 * v);
            acc[v] = _mm512_fmadd_pd(b, wv, acc[v]);
        }
    }
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
        if (v < V - 1)
            _mm512_storeu_pd(z + 8 * v, acc[v]);
        else
            _mm512_mask_storeu_pd(z + 8 * v, km, acc[v]);
    }
}

#define MLPK_WIDE_CASE(v) \
    case v: mlpk_avx512_wide_pass(x, n_in, W, n_out, v, z); return;

#define MLPK_COMBINE_CASE(g, v) \
    case 8 * g + v: \
        mlpk_avx512_combine_pass(x + r * n_in, n_in, g, n_in, W, n_out, j0, width, v, \
                                 z + r * n_out, n_out); \
        break;

/* z := x @ W for one row x and W (n_in, n_out), in one pass down W with the whole row of
 * z in registers, for the widths the chooser sends here (_kernels.h:
 * MLPK_AVX512_ROW_MAX_WIDTH), each of which has its instantiation below. */
MLPK_TARGET_AVX512 static void
mlpk_avx512_combine_row(const double *MLPK_RESTRICT x, ptrdiff_t n_in,
                        const double *MLPK_RESTRICT W, ptrdiff_t n_out,
                        double *MLPK_RESTRICT z)
{
    switch ((n_out + 7) / 8) {
        MLPK_WIDE_CASE(5) MLPK_WIDE_CASE(6) MLPK_WIDE_CASE(7) MLPK_WIDE_CASE(8)
        MLPK_WIDE_CASE(9) MLPK_WIDE_CASE(10) MLPK_WIDE_CASE(11) MLPK_WIDE_CASE(12)
        MLPK_WIDE_CASE(13) MLPK_WIDE_CASE(14) MLPK_WIDE_CASE(15) MLPK_WIDE_CASE(16)
        default: break;
    }
}

/* z := x @ W for x (m, n_in), W (n_in, n_out): column chunks of up to 32, and for each,
 * groups of up to 6 rows of x go down W once. Beyond the sizes the chooser sends here
 * (_kernels.h), BLAS's blocking for cache wins. */
MLPK_TARGET_AVX512 static void
mlpk_avx512_combine_batch(const double *MLPK_RESTRICT x, ptrdiff_t m, ptrdiff_t n_in,
                          const double *MLPK_RESTRICT W, ptrdiff_t n_out,
                          double *MLPK_RESTRICT z)
{
    for (ptrdiff_t j0 = 0; j0 < n_out; j0 += 32) {
        const ptrdiff_t width = n_out - j0 < 32 ? n_out - j0 : 32;
        const int V = (int)((width + 7) / 8);
        for (ptrdiff_t r = 0; r < m;) {
            const ptrdiff_t left = m - r;
            /* 10 rows as 5 + 5 rather than 6 + 4: the same FMAs, fewer loads of W */
            const int g = left > 6 ? (left < 12 ? (int)(left + 1) / 2 : 6) : (int)left;
            switch (8 * g + V) {
                MLPK_COMBINE_CASE(1, 1) MLPK_COMBINE_CASE(1, 2) MLPK_COMBINE_CASE(1, 3)
                MLPK_COMBINE_CASE(1, 4) MLPK_COMBINE_CASE(2, 1) MLPK_COMBINE_CASE(2, 2)
                MLPK_COMBINE_CASE(2, 3) MLPK_COMBINE_CASE(2, 4) MLPK_COMBINE_CASE(3, 1)
                MLPK_COMBINE_CASE(3, 2) MLPK_COMBINE_CASE(3, 3) MLPK_COMBINE_CASE(3, 4)
                MLPK_COMBINE_CASE(4, 1) MLPK_COMBINE_CASE(4, 2) MLPK_COMBINE_CASE(4, 3)
                MLPK_COMBINE_CASE(4, 4) MLPK_COMBINE_CASE(5, 1) MLPK_COMBINE_CASE(5, 2)
                MLPK_COMBINE_CASE(5, 3) MLPK_COMBINE_CASE(5, 4) MLPK_COMBINE_CASE(6, 1)
                MLPK_COMBINE_CASE(6, 2) MLPK_COMBINE_CASE(6, 3) MLPK_COMBINE_CASE(6, 4)
                default: break;
            }
            r += g;
        }
    }
}

#undef MLPK_COMBINE_CASE
#undef MLPK_WIDE_CASE

/* One pass of the small-batch weight update down all rows of W (n_in, n_out): one or two
 * column slots of 8, W[i, slot] := beta W[i, slot] + sum_b A[b, i] (alpha D[b, slot]), with
 * alpha D for the slots and M samples in registers (M a constant after inlining, <= 12).
 * K: 1 one whole slot at j0, 2 two (j0, j0 + 8), 3 one at j0 and the tail, 4 the tail
 * alone. The tail is the vector of the row's last 8 columns with D zeroed (and beta 1) on
 * the lanes a whole slot holds; with K = 3 it is stored before the whole slot, so the whole
 * slot's values land last. */
MLPK_TARGET_AVX512 MLPK_ALWAYS_INLINE void
mlpk_avx512_update_pass(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                        const double *MLPK_RESTRICT A, const int M,
                        const double *MLPK_RESTRICT Dm, double alpha, double beta,
                        ptrdiff_t j0, const int K, const int B0)
{
    __m512d D0[12], D1[12];
    const int two = K == 2 || K == 3;
    const ptrdiff_t jt = n_out - 8;
    const __mmask8 kt = (__mmask8)(0xffu << (8 - n_out % 8));
    const ptrdiff_t ja = K == 4 ? jt : j0, jb = K == 2 ? j0 + 8 : jt;
    const __m512d av = _mm512_set1_pd(alpha), bv = _mm512_set1_pd(beta);
    const __m512d bt = _mm512_mask_blend_pd(kt, _mm512_set1_pd(1.0), bv);
    const __m512d b0 = K == 4 ? bt : bv, b1 = K == 3 ? bt : bv;
#pragma GCC unroll 12
    for (int b = 0; b < M; ++b) {
        const double *MLPK_RESTRICT d = Dm + b * n_out;
        D0[b] = _mm512_mul_pd(av, K == 4 ? _mm512_maskz_loadu_pd(kt, d + jt)
                                         : _mm512_loadu_pd(d + ja));
        if (two)
            D1[b] = _mm512_mul_pd(av, K == 3 ? _mm512_maskz_loadu_pd(kt, d + jt)
                                             : _mm512_loadu_pd(d + jb));
    }
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        double *MLPK_RESTRICT w = W + i * n_out;
        __m512d x0, x1;
        if (!B0) {
            x0 = _mm512_mul_pd(b0, _mm512_loadu_pd(w + ja));
            x1 = two ? _mm512_mul_pd(b1, _mm512_loadu_pd(w + jb)) : x0;
        } else {
            /* W is not read (it may hold anything), except, for the tail alone, the lanes
             * that an earlier pass wrote */
            x0 = K == 4 ? _mm512_maskz_loadu_pd((__mmask8)~kt, w + jt) : _mm512_setzero_pd();
            x1 = _mm512_setzero_pd();
        }
#pragma GCC unroll 12
        for (int b = 0; b < M; ++b) {
            const __m512d a = _mm512_set1_pd(A[b * n_in + i]);
            x0 = _mm512_fmadd_pd(a, D0[b], x0);
            if (two)
                x1 = _mm512_fmadd_pd(a, D1[b], x1);
        }
        if (K == 3) {
            _mm512_storeu_pd(w + jb, x1);
            _mm512_storeu_pd(w + ja, x0);
        } else {
            _mm512_storeu_pd(w + ja, x0);
            if (two)
                _mm512_storeu_pd(w + jb, x1);
        }
    }
}

#define MLPK_UPDATE_PASS(m, k, b0) \
    mlpk_avx512_update_pass(W, n_in, n_out, A, m, D, alpha, beta, j, k, b0)
#define MLPK_UPDATE_K(m, b0) \
    if (k == 1) MLPK_UPDATE_PASS(m, 1, b0); \
    else if (k == 2) MLPK_UPDATE_PASS(m, 2, b0); \
    else if (k == 3) MLPK_UPDATE_PASS(m, 3, b0); \
    else MLPK_UPDATE_PASS(m, 4, b0);
#define MLPK_UPDATE_CASE(m) \
    case m: \
        if (beta == 0.0) { MLPK_UPDATE_K(m, 1) } else { MLPK_UPDATE_K(m, 0) } \
        break;

/* W := beta W + alpha A.T @ D for A (m, n_in), D (m, n_out), W (n_in, n_out), in passes
 * of 16 columns down W; beta = 0 writes W without reading it. For the sizes the chooser
 * sends here (_kernels.h: MLPK_AVX512_UPDATE_MAX_ROWS, MLPK_AVX512_UPDATE_MIN_WIDTH), each
 * row count of which has its instantiation below. */
MLPK_TARGET_AVX512 static void
mlpk_avx512_update(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                   const double *MLPK_RESTRICT A, ptrdiff_t m, const double *MLPK_RESTRICT D,
                   double alpha, double beta)
{
    const ptrdiff_t whole = n_out / 8;
    const int tail = n_out % 8 != 0;
    for (ptrdiff_t s = 0; s < whole + tail; s += 2) {
        const ptrdiff_t j = 8 * s;
        int k;
        if (s < whole)
            k = s + 1 < whole ? 2 : tail ? 3 : 1;
        else
            k = 4;
        switch (m) {
            MLPK_UPDATE_CASE(1) MLPK_UPDATE_CASE(2) MLPK_UPDATE_CASE(3)
            MLPK_UPDATE_CASE(4) MLPK_UPDATE_CASE(5) MLPK_UPDATE_CASE(6)
            MLPK_UPDATE_CASE(7) MLPK_UPDATE_CASE(8) MLPK_UPDATE_CASE(9)
            MLPK_UPDATE_CASE(10) MLPK_UPDATE_CASE(11) MLPK_UPDATE_CASE(12)
            default: break;
        }
    }
}

#undef MLPK_UPDATE_CASE
#undef MLPK_UPDATE_K
#undef MLPK_UPDATE_PASS

#else
#define MLPK_HAVE_AVX512_KERNELS 0
#endif

#endif /* MLPK_AVX512_H */
