/* mlp/_avx2.h: the "avx2" level's kernels (AVX2 + FMA: 16 vector registers of 4 doubles),
 * for the products too small for BLAS to run well. Measured on an AMD EPYC (Zen 3, AVX2,
 * no AVX-512) against what they replace (benchmarks/kernels.c, bench.py):
 *
 * 1. The small products of a mini-batch, as one register-blocked tile loop
 *    (mlpk_avx2_tiles): C := beta C + alpha L @ R, with a tile of G rows x V vectors of C
 *    (G V <= 12 accumulators) in registers while the loop runs over the inner dimension,
 *    broadcasting L's entries and loading R's rows. It serves both products BLAS would
 *    pack first: the forward product z = x @ W of a small mini-batch (L = x, R = W) and
 *    the weight update W := beta W + alpha A.T @ D (L = A.T, read through strides; R = D),
 *    where, for a few rows, OpenBLAS spends about a third of its time copying its
 *    operands into panels.
 * 2. The single-sample step's pass over the first layer's W (n_in, n_out): row i is
 *    updated, W[i, :] := keep W[i, :] - (eta a[i]) delta, and the next sample's forward
 *    sum takes it up, z_next += a_next[i] W[i, :] (mlpk_generic_update_combine in
 *    _simd.h, which keeps z_next in memory). Here up to 32 columns of z_next stay in 8
 *    registers while all rows stream past once (mlpk_avx2_update_combine): W is read and
 *    written once per sample, at close to the rate of the L2 cache.
 *
 * The AVX-512 kernels (_avx512.h) hold more in their 32 registers; these are blocked for
 * 16: the tiles are at most 12 accumulators with 3 or 4 loads or broadcasts beside them,
 * and delta is read from L1 rather than held. Columns that do not fill a vector (n_out % 4)
 * are read with masked loads (cheap on AMD and Intel) and written with 128-bit and scalar
 * stores (masked stores cost several times a plain one on AMD).
 *
 * Which kernel runs for which sizes is decided in one place, the chooser (_kernels.h);
 * the entry points here trust it. The results equal the plain loops' and BLAS's up to the
 * order of the additions. With keep == 1, a row whose a[i] and a_next[i] are both 0 is
 * skipped (it would change nothing), as the plain loops skip such rows.
 *
 * Compiled by GCC >= 12 on x86-64 Linux for the "avx2" level's instruction sets
 * (MLPK_TARGET_AVX2, _levels.h), and run at the "avx2" level (a CPU with AVX2 and FMA)
 * and at no other. Not by Clang, for the reason _avx512.h gives: Clang 14's build of the tile
 * loop ran 10 x 784 x 30 at 9.7 GFLOP/s against GCC 12's 38.6 (its accumulator arrays stay
 * in memory), so a Clang build's "avx2" level runs the loops and BLAS. Private to _core.pyx
 * (the mlpk_ prefix: not mlp's C API).
 */
#ifndef MLPK_AVX2_H
#define MLPK_AVX2_H

#include <stddef.h>

#include "_levels.h"
#include "_platform.h"

#if MLPK_X86_DISPATCH && defined(__linux__) && !defined(__clang__)
#define MLPK_HAVE_AVX2_KERNELS 1
#include <immintrin.h>

/* The mask of the first n (1 .. 4) lanes, for masked loads. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE __m256i mlpk_avx2_mask(ptrdiff_t n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n),
                              _mm256_set_epi64x(3, 2, 1, 0));
}

/* Store the first n (1 .. 4) lanes of x at p, without a masked store. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE void mlpk_avx2_store_first(double *p, __m256d x,
                                                               ptrdiff_t n)
{
    const __m128d lo = _mm256_castpd256_pd128(x);
    if (n == 4) {
        _mm256_storeu_pd(p, x);
    } else if (n >= 2) {
        _mm_storeu_pd(p, lo);
        if (n == 3)
            _mm_store_sd(p + 2, _mm256_extractf128_pd(x, 1));
    } else {
        _mm_store_sd(p, lo);
    }
}

/* The 4 doubles at p, or (whole == 0) the lanes of mask, the others 0: the vector that ends
 * a row, read without reading past it. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE __m256d mlpk_avx2_load(const double *p, int whole,
                                                           __m256i mask)
{
    return whole ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, mask);
}

/* x stored at p: all 4 lanes, or (whole == 0) the first `last`. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE void mlpk_avx2_store(double *p, __m256d x, int whole,
                                                         ptrdiff_t last)
{
    if (whole)
        _mm256_storeu_pd(p, x);
    else
        mlpk_avx2_store_first(p, x, last);
}

/* --- 1. the tile loop: C := beta C + alpha L @ R ------------------------------------------
 *
 * L (rows, K): entry (r, k) at L[r sr + k sk]; R (K, cols): row k at R + k ldr; C (rows,
 * cols): row r at C + r ldc. One tile: G rows from r0 and V vectors of columns from j0,
 * the last of which holds `last` (1 .. 4) columns. G and V are constants after inlining,
 * so that the G V accumulators are registers. beta == 0: C is written without being read
 * (it may hold anything). */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE void
mlpk_avx2_tile(const double *MLPK_RESTRICT L, ptrdiff_t sr, ptrdiff_t sk, ptrdiff_t K,
               const double *MLPK_RESTRICT R, ptrdiff_t ldr, double *MLPK_RESTRICT C,
               ptrdiff_t ldc, const int G, const int V, ptrdiff_t last, double alpha,
               double beta)
{
    __m256d acc[4][4];
    const __m256i mask = mlpk_avx2_mask(last);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
            acc[g][v] = _mm256_setzero_pd();
    for (ptrdiff_t k = 0; k < K; ++k) {
        const double *MLPK_RESTRICT r = R + k * ldr;
        const double *MLPK_RESTRICT l = L + k * sk;
        __m256d b[4];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
            b[v] = mlpk_avx2_load(r + 4 * v, v < V - 1 || last == 4, mask);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            const __m256d x = _mm256_broadcast_sd(l + g * sr);
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v)
                acc[g][v] = _mm256_fmadd_pd(x, b[v], acc[g][v]);
        }
    }
    const __m256d av = _mm256_set1_pd(alpha), bv = _mm256_set1_pd(beta);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
        double *MLPK_RESTRICT c = C + g * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
            const int whole = v < V - 1 || last == 4;
            __m256d y = _mm256_mul_pd(av, acc[g][v]);
            if (beta != 0.0) {
                y = _mm256_fmadd_pd(bv, mlpk_avx2_load(c + 4 * v, whole, mask), y);
            }
            mlpk_avx2_store(c + 4 * v, y, whole, last);
        }
    }
}

#define MLPK_TILE_CASE(g, v) \
    case 4 * (g) + (v) - 1: \
        mlpk_avx2_tile(L + r0 * sr, sr, sk, K, R + j0, ldr, C + r0 * ldc + j0, ldc, g, v, \
                       last, alpha, beta); \
        break;

/* C := beta C + alpha L @ R for all rows and cols (layouts as mlpk_avx2_tile): column
 * chunks of 12 (3 vectors), each taken by groups of 4 rows of C (the last chunk and the
 * last groups may be smaller). 12 accumulators, 3 loads of R and
 * one broadcast of L per step: 16 registers. */
MLPK_TARGET_AVX2 static void
mlpk_avx2_tiles(const double *MLPK_RESTRICT L, ptrdiff_t sr, ptrdiff_t sk, ptrdiff_t K,
                const double *MLPK_RESTRICT R, ptrdiff_t ldr, double *MLPK_RESTRICT C,
                ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t cols, double alpha, double beta)
{
    for (ptrdiff_t j0 = 0; j0 < cols; j0 += 12) {
        const ptrdiff_t width = cols - j0 < 12 ? cols - j0 : 12;
        const int V = (int)((width + 3) / 4);
        const ptrdiff_t last = width - 4 * (V - 1);
        for (ptrdiff_t r0 = 0; r0 < rows;) {
            /* 5 to 7 rows left as two groups of 3 or 4 rather than 4 and a short one,
             * whose few accumulators would wait on the FMAs' latency */
            const ptrdiff_t left = rows - r0;
            const int G = left <= 4 ? (int)left : left < 8 ? (int)(left + 1) / 2 : 4;
            switch (4 * G + V - 1) {
                MLPK_TILE_CASE(1, 1) MLPK_TILE_CASE(1, 2) MLPK_TILE_CASE(1, 3)
                MLPK_TILE_CASE(2, 1) MLPK_TILE_CASE(2, 2) MLPK_TILE_CASE(2, 3)
                MLPK_TILE_CASE(3, 1) MLPK_TILE_CASE(3, 2) MLPK_TILE_CASE(3, 3)
                MLPK_TILE_CASE(4, 1) MLPK_TILE_CASE(4, 2) MLPK_TILE_CASE(4, 3)
                default: break;
            }
            r0 += G;
        }
    }
}

#undef MLPK_TILE_CASE

/* Bytes of W's rows that one block of the inner loop covers: each block of rows of W is
 * read from L2 once and then from L1 by every tile of z. Measured at 10 x 784 x 30 and
 * 10 x 784 x 100 (benchmarks/kernels.c): 16 to 28 KiB ran 35 GFLOP/s against 24 to 30
 * unblocked (W from L2, or for 784 x 100 from L3, once per group of 4 rows of z). */
#define MLPK_AVX2_COMBINE_BLOCK_BYTES (24 * 1024)

/* z := x @ W for x (m, n_in), W (n_in, n_out), z (m, n_out), in blocks of W's rows. */
MLPK_TARGET_AVX2 static void
mlpk_avx2_combine(const double *MLPK_RESTRICT x, ptrdiff_t m, ptrdiff_t n_in,
                  const double *MLPK_RESTRICT W, ptrdiff_t n_out, double *MLPK_RESTRICT z)
{
    ptrdiff_t kb = MLPK_AVX2_COMBINE_BLOCK_BYTES / (ptrdiff_t)(sizeof(double) * n_out);
    kb = kb < 8 ? 8 : kb;
    for (ptrdiff_t k0 = 0; k0 < n_in; k0 += kb) {
        const ptrdiff_t K = n_in - k0 < kb ? n_in - k0 : kb;
        mlpk_avx2_tiles(x + k0, n_in, 1, K, W + k0 * n_out, n_out, z, n_out, m, n_out, 1.0,
                        k0 == 0 ? 0.0 : 1.0);
    }
}

/* W := beta W + alpha A.T @ D for A (m, n_in), D (m, n_out), W (n_in, n_out); beta == 0
 * writes W without reading it. */
MLPK_TARGET_AVX2 static void
mlpk_avx2_update(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                 const double *MLPK_RESTRICT A, ptrdiff_t m, const double *MLPK_RESTRICT D,
                 double alpha, double beta)
{
    mlpk_avx2_tiles(A, 1, n_in, m, D, n_out, W, n_out, n_in, n_out, alpha, beta);
}

/* --- 2. the single-sample step's pass --------------------------------------------------
 *
 * Columns j0 .. j0 + 4 V - 4 + last of W (n_in rows of ld doubles): every row updated,
 * w := keep w - (eta a[i]) delta (DECAY 0: keep is 1 and not multiplied), and z[j0 ..] :=
 * sum_i a_next[i] w with the updated rows, the sums in V registers. V and DECAY are
 * constants after inlining; the last vector holds `last` (1 .. 4) columns, read with a
 * masked load and written with 128-bit and scalar stores. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE void
mlpk_avx2_update_combine_pass(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t ld,
                              ptrdiff_t j0, const int V, ptrdiff_t last, const int DECAY,
                              const double *MLPK_RESTRICT delta,
                              const double *MLPK_RESTRICT a, double eta, double keep,
                              const double *MLPK_RESTRICT a_next, double *MLPK_RESTRICT z)
{
    __m256d acc[8];
    const __m256i mask = mlpk_avx2_mask(last);
    const __m256d kv = _mm256_set1_pd(keep);
    const double *MLPK_RESTRICT e = delta + j0;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
        acc[v] = _mm256_setzero_pd();
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        double *MLPK_RESTRICT w = W + i * ld + j0;
        if (!DECAY && a[i] == 0.0 && a_next[i] == 0.0)
            continue;
        const __m256d c = _mm256_set1_pd(eta * a[i]);
        const __m256d d = _mm256_set1_pd(a_next[i]);
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
            const int whole = v < V - 1 || last == 4;
            __m256d x = mlpk_avx2_load(w + 4 * v, whole, mask);
            if (DECAY)
                x = _mm256_mul_pd(kv, x);
            x = _mm256_fnmadd_pd(c, mlpk_avx2_load(e + 4 * v, whole, mask), x);
            mlpk_avx2_store(w + 4 * v, x, whole, last);
            acc[v] = _mm256_fmadd_pd(d, x, acc[v]);
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
        mlpk_avx2_store(z + j0 + 4 * v, acc[v], v < V - 1 || last == 4, last);
}

#define MLPK_PASS_CASE(v) \
    case v: \
        if (keep == 1.0) \
            mlpk_avx2_update_combine_pass(W, n_in, n_out, j0, v, last, 0, delta, a, eta, \
                                          keep, a_next, z_next); \
        else \
            mlpk_avx2_update_combine_pass(W, n_in, n_out, j0, v, last, 1, delta, a, eta, \
                                          keep, a_next, z_next); \
        break;

/* For each row i of W (n_in, n_out): W[i, :] := keep W[i, :] - (eta a[i]) delta, then
 * z_next := sum_i a_next[i] W[i, :] with the updated rows (overwritten). Layers up to 32
 * wide in one pass down W; wider ones in passes of 32 columns (the last pass takes what is
 * left). */
MLPK_TARGET_AVX2 static void
mlpk_avx2_update_combine(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                         const double *MLPK_RESTRICT delta, const double *MLPK_RESTRICT a,
                         double eta, double keep, const double *MLPK_RESTRICT a_next,
                         double *MLPK_RESTRICT z_next)
{
    for (ptrdiff_t j0 = 0; j0 < n_out; j0 += 32) {
        const ptrdiff_t width = n_out - j0 < 32 ? n_out - j0 : 32;
        const int V = (int)((width + 3) / 4);
        const ptrdiff_t last = width - 4 * (V - 1);
        switch (V) {
            MLPK_PASS_CASE(1) MLPK_PASS_CASE(2) MLPK_PASS_CASE(3) MLPK_PASS_CASE(4)
            MLPK_PASS_CASE(5) MLPK_PASS_CASE(6) MLPK_PASS_CASE(7) MLPK_PASS_CASE(8)
            default: break;
        }
    }
}

#undef MLPK_PASS_CASE

/* The two-sample pass's blocks of rows of W (see mlpk_avx2_pair_update_combine): small
 * enough to stay in L1 (32 KiB on Zen 3, 48 KiB on recent Intel cores) while the pass goes
 * over them once per 16 columns. */
#define MLPK_AVX2_PAIR_BLOCK_BYTES (16 * 1024)

/* --- 3. the single-sample step's pass, two samples at a time ------------------------------
 *
 * Rows i0 .. i1 and columns j0 .. j0 + 4 V - 4 + last of W (rows of ld doubles): every row
 * updated by two samples in turn, w := (w - (eta a1[i]) e1) - (eta a2[i]) e2, exactly as
 * two one-sample passes would, and the updated rows added into z1[j0 ..] += n1[i] w and
 * z2[j0 ..] += n2[i] w (TWO: whether n2 and z2 are there), the sums held in 2 V registers
 * meanwhile. V <= 4: the 2 V sums, four broadcasts and a temporary fit in the 16 registers.
 * W is read and written once for two samples, where the one-sample pass streams it once per
 * sample: that pass is bound by W's traffic through L2, this one by its FMAs. */
MLPK_TARGET_AVX2 MLPK_ALWAYS_INLINE void
mlpk_avx2_pair_pass(double *MLPK_RESTRICT W, ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t ld,
                    ptrdiff_t j0, const int V, ptrdiff_t last, const int TWO,
                    const double *MLPK_RESTRICT e1, const double *MLPK_RESTRICT a1,
                    const double *MLPK_RESTRICT e2, const double *MLPK_RESTRICT a2, double eta,
                    const double *MLPK_RESTRICT n1, const double *MLPK_RESTRICT n2,
                    double *MLPK_RESTRICT z1, double *MLPK_RESTRICT z2)
{
    __m256d s1[4], s2[4];
    const __m256i mask = mlpk_avx2_mask(last);
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
        const int whole = v < V - 1 || last == 4;
        s1[v] = mlpk_avx2_load(z1 + j0 + 4 * v, whole, mask);
        if (TWO)
            s2[v] = mlpk_avx2_load(z2 + j0 + 4 * v, whole, mask);
    }
    for (ptrdiff_t i = i0; i < i1; ++i) {
        double *MLPK_RESTRICT w = W + i * ld + j0;
        if (a1[i] == 0.0 && a2[i] == 0.0 && n1[i] == 0.0 && (!TWO || n2[i] == 0.0))
            continue;
        const __m256d c1 = _mm256_set1_pd(eta * a1[i]);
        const __m256d c2 = _mm256_set1_pd(eta * a2[i]);
        const __m256d d1 = _mm256_set1_pd(n1[i]);
        const __m256d d2 = _mm256_set1_pd(TWO ? n2[i] : 0.0);
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
            const int whole = v < V - 1 || last == 4;
            __m256d x = mlpk_avx2_load(w + 4 * v, whole, mask);
            x = _mm256_fnmadd_pd(c1, mlpk_avx2_load(e1 + j0 + 4 * v, whole, mask), x);
            x = _mm256_fnmadd_pd(c2, mlpk_avx2_load(e2 + j0 + 4 * v, whole, mask), x);
            mlpk_avx2_store(w + 4 * v, x, whole, last);
            s1[v] = _mm256_fmadd_pd(d1, x, s1[v]);
            if (TWO)
                s2[v] = _mm256_fmadd_pd(d2, x, s2[v]);
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
        const int whole = v < V - 1 || last == 4;
        mlpk_avx2_store(z1 + j0 + 4 * v, s1[v], whole, last);
        if (TWO)
            mlpk_avx2_store(z2 + j0 + 4 * v, s2[v], whole, last);
    }
}

#define MLPK_PAIR_CASE(v) \
    case v: \
        if (n2 != NULL) \
            mlpk_avx2_pair_pass(W, i0, i1, n_out, j0, v, last, 1, e1, a1, e2, a2, eta, n1, n2, \
                                z1, z2); \
        else \
            mlpk_avx2_pair_pass(W, i0, i1, n_out, j0, v, last, 0, e1, a1, e2, a2, eta, n1, n1, \
                                z1, NULL); \
        break;

/* For each row i of W (n_in, n_out): W[i, :] := (W[i, :] - (eta a1[i]) e1) - (eta a2[i]) e2,
 * then z1 := sum_i n1[i] W[i, :] and, unless n2 is NULL, z2 := sum_i n2[i] W[i, :] with the
 * updated rows (both overwritten). In passes of 16 columns over blocks of rows of about
 * MLPK_AVX2_PAIR_BLOCK_BYTES, each block's passes one after the other while it is in L1, so
 * that W goes through L2 once however many passes its width takes. The sums of each row are
 * added in row order, as in one pass. */
MLPK_TARGET_AVX2 static void
mlpk_avx2_pair_update_combine(double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
                              const double *MLPK_RESTRICT e1, const double *MLPK_RESTRICT a1,
                              const double *MLPK_RESTRICT e2, const double *MLPK_RESTRICT a2,
                              double eta, const double *MLPK_RESTRICT n1,
                              const double *MLPK_RESTRICT n2, double *MLPK_RESTRICT z1,
                              double *MLPK_RESTRICT z2)
{
    const ptrdiff_t rows = MLPK_AVX2_PAIR_BLOCK_BYTES / (8 * n_out);
    const ptrdiff_t block = rows < 4 ? 4 : rows;
    for (ptrdiff_t j = 0; j < n_out; ++j) {
        z1[j] = 0.0;
        if (n2 != NULL)
            z2[j] = 0.0;
    }
    for (ptrdiff_t i0 = 0; i0 < n_in; i0 += block) {
        const ptrdiff_t i1 = n_in - i0 < block ? n_in : i0 + block;
        for (ptrdiff_t j0 = 0; j0 < n_out; j0 += 16) {
            const ptrdiff_t width = n_out - j0 < 16 ? n_out - j0 : 16;
            const int V = (int)((width + 3) / 4);
            const ptrdiff_t last = width - 4 * (V - 1);
            switch (V) {
                MLPK_PAIR_CASE(1) MLPK_PAIR_CASE(2) MLPK_PAIR_CASE(3) MLPK_PAIR_CASE(4)
                default: break;
            }
        }
    }
}

#undef MLPK_PAIR_CASE

#else
#define MLPK_HAVE_AVX2_KERNELS 0
#endif

#endif /* MLPK_AVX2_H */
