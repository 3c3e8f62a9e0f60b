/* mlp/_simd.h: the elementwise and row loops of mlp's kernels, written to vectorize.
 *
 * - the sigmoid, branch-free so that it vectorizes (libm's exp is a scalar call, and
 *   costs most of a forward pass at batch sizes where BLAS is fast);
 * - a finite-values check that needs no temporary array;
 * - the row loops of the single-sample (batch of one) path: for one sample, each layer is
 *   a sum of rows of W (forward) and a rank-1 update of W (backward), memory-bound loops
 *   that are faster as plain loops than as BLAS calls at this size. These are the
 *   "generic" level's kernels (mlpk_generic_*); the "avx512" level's (_avx512.h) take over
 *   the hottest of them, and small mini-batches' products, where the chooser (_kernels.h)
 *   says so.
 *
 * A wheel must run on any x86-64, so there each loop (MLPK_LOOP, _levels.h) is compiled
 * once per kernel level, for baseline x86-64 (SSE2), for AVX2 + FMA and for AVX-512, and
 * runs the version of the level in use: picked once, at import, from the CPU, or lowered by
 * MLP_KERNELS, so that MLP_KERNELS=generic runs the loops a baseline x86-64 CPU runs.
 * Elsewhere (_platform.h: MSVC, other architectures) they are plain C, equally correct.
 *
 * W is row-major (n_in, n_out): row i holds the weights from input neuron i. Private to
 * _core.pyx (the mlpk_ prefix): not part of mlp's C API.
 */
#ifndef MLPK_SIMD_H
#define MLPK_SIMD_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_levels.h"
#include "_platform.h"

/* z[j] := sum_i a[i] W[i, j], skipping a[i] == 0 (such a row adds exactly nothing); four
 * rows with nonzero inputs go through together, loading and storing z once for the four. */
MLPK_LOOP(mlpk_generic_combine_row,
          (const double *MLPK_RESTRICT a, ptrdiff_t n_in, const double *MLPK_RESTRICT W,
           ptrdiff_t n_out, double *MLPK_RESTRICT z),
          (a, n_in, W, n_out, z))
{
    ptrdiff_t i = 0;
    for (ptrdiff_t j = 0; j < n_out; ++j)
        z[j] = 0.0;
    for (; i + 4 <= n_in; i += 4) {
        const double a0 = a[i], a1 = a[i + 1], a2 = a[i + 2], a3 = a[i + 3];
        const double *MLPK_RESTRICT w0 = W + i * n_out;
        if (a0 != 0.0 && a1 != 0.0 && a2 != 0.0 && a3 != 0.0) {
            const double *MLPK_RESTRICT w1 = w0 + n_out;
            const double *MLPK_RESTRICT w2 = w1 + n_out;
            const double *MLPK_RESTRICT w3 = w2 + n_out;
            for (ptrdiff_t j = 0; j < n_out; ++j)
                z[j] += ((a0 * w0[j] + a1 * w1[j]) + (a2 * w2[j] + a3 * w3[j]));
        } else {
            for (int r = 0; r < 4; ++r) {
                const double c = a[i + r];
                const double *MLPK_RESTRICT w = w0 + r * n_out;
                if (c != 0.0)
                    for (ptrdiff_t j = 0; j < n_out; ++j)
                        z[j] += c * w[j];
            }
        }
    }
    for (; i < n_in; ++i) {
        const double c = a[i];
        if (c != 0.0) {
            const double *MLPK_RESTRICT w = W + i * n_out;
            for (ptrdiff_t j = 0; j < n_out; ++j)
                z[j] += c * w[j];
        }
    }
}

/* z[j] := sum_i a[i] W[i, j] for one row whose plain sum overflowed (inf - inf is NaN),
 * computed so that it cannot: with sa = max_i |a[i]| and, per output j, sw = max_i
 * |W[i, j]|, z[j] = sa (sw s), s = sum_i (a[i]/sa)(W[i, j]/sw), whose terms are at most 1 in
 * size. The result is finite or +-inf, never NaN. Slow (a column scan per output), so only
 * for rows that came out non-finite. */
static void mlpk_safe_combine_row(const double *MLPK_RESTRICT a, ptrdiff_t n_in,
                                  const double *MLPK_RESTRICT W, ptrdiff_t n_out,
                                  double *MLPK_RESTRICT z)
{
    double sa = 0.0;
    for (ptrdiff_t i = 0; i < n_in; ++i)
        sa = fabs(a[i]) > sa ? fabs(a[i]) : sa;
    for (ptrdiff_t j = 0; j < n_out; ++j) {
        double sw = 0.0, s = 0.0;
        for (ptrdiff_t i = 0; i < n_in; ++i)
            sw = fabs(W[i * n_out + j]) > sw ? fabs(W[i * n_out + j]) : sw;
        if (sa == 0.0 || sw == 0.0) {
            z[j] = 0.0;
            continue;
        }
        for (ptrdiff_t i = 0; i < n_in; ++i)
            s += (a[i] / sa) * (W[i * n_out + j] / sw);
        z[j] = s == 0.0 ? 0.0 : sa * (sw * s);
    }
}

/* For each row i, in one pass: back[i] := W[i, :] . delta (the old row; skipped when back
 * is NULL), then W[i, :] := keep W[i, :] - (eta a[i]) delta. keep = 1 - eta weight_decay
 * is the L2 decay (1: none, and rows with a[i] == 0 are then left alone). */
MLPK_LOOP(mlpk_rows_backprop,
          (double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
           const double *MLPK_RESTRICT delta, const double *MLPK_RESTRICT a, double eta,
           double keep, double *MLPK_RESTRICT back),
          (W, n_in, n_out, delta, a, eta, keep, back))
{
    for (ptrdiff_t i = 0; i < n_in; ++i) {
        double *MLPK_RESTRICT w = W + i * n_out;
        if (back != NULL) {
            double s = 0.0;
            for (ptrdiff_t j = 0; j < n_out; ++j)
                s += w[j] * delta[j];
            back[i] = s;
        }
        const double c = eta * a[i];
        if (keep != 1.0)
            for (ptrdiff_t j = 0; j < n_out; ++j)
                w[j] = keep * w[j] - c * delta[j];
        else if (c != 0.0)
            for (ptrdiff_t j = 0; j < n_out; ++j)
                w[j] -= c * delta[j];
    }
}

/* Row i of the fused update: W[i, :] := keep W[i, :] - c delta, then z_next += d W[i, :];
 * with keep == 1, a zero c or d skips its half (a zero input contributes exactly nothing). */
static inline void mlpk_update_combine_row(double *MLPK_RESTRICT w, ptrdiff_t n_out,
                                           const double *MLPK_RESTRICT delta, double c,
                                           double d, double keep,
                                           double *MLPK_RESTRICT z_next)
{
    if (keep != 1.0) {
        for (ptrdiff_t j = 0; j < n_out; ++j)
            w[j] = keep * w[j] - c * delta[j];
        if (d != 0.0)
            for (ptrdiff_t j = 0; j < n_out; ++j)
                z_next[j] += d * w[j];
    } else if (c != 0.0 && d != 0.0) {
        for (ptrdiff_t j = 0; j < n_out; ++j) {
            const double v = w[j] - c * delta[j];
            w[j] = v;
            z_next[j] += d * v;
        }
    } else if (c != 0.0) {
        for (ptrdiff_t j = 0; j < n_out; ++j)
            w[j] -= c * delta[j];
    } else if (d != 0.0) {
        for (ptrdiff_t j = 0; j < n_out; ++j)
            z_next[j] += d * w[j];
    }
}

/* The first layer's update for one sample fused with the next sample's forward sum, so W
 * is streamed once for both: for each row i, W[i, :] := keep W[i, :] - (eta a[i]) delta,
 * then z_next[j] := sum_i a_next[i] W[i, j] with the updated rows. Four rows whose inputs
 * are all nonzero (and no decay) go through together, loading and storing z_next once.
 * The chooser (_kernels.h) runs this where the AVX-512 kernels are not. */
MLPK_LOOP(mlpk_generic_update_combine,
          (double *MLPK_RESTRICT W, ptrdiff_t n_in, ptrdiff_t n_out,
           const double *MLPK_RESTRICT delta, const double *MLPK_RESTRICT a, double eta,
           double keep, const double *MLPK_RESTRICT a_next, double *MLPK_RESTRICT z_next),
          (W, n_in, n_out, delta, a, eta, keep, a_next, z_next))
{
    ptrdiff_t i = 0;
    for (ptrdiff_t j = 0; j < n_out; ++j)
        z_next[j] = 0.0;
    for (; i + 4 <= n_in; i += 4) {
        const double c0 = eta * a[i], c1 = eta * a[i + 1];
        const double c2 = eta * a[i + 2], c3 = eta * a[i + 3];
        const double d0 = a_next[i], d1 = a_next[i + 1];
        const double d2 = a_next[i + 2], d3 = a_next[i + 3];
        double *MLPK_RESTRICT w0 = W + i * n_out;
        double *MLPK_RESTRICT w1 = w0 + n_out;
        double *MLPK_RESTRICT w2 = w1 + n_out;
        double *MLPK_RESTRICT w3 = w2 + n_out;
        if (keep == 1.0 && c0 != 0.0 && c1 != 0.0 && c2 != 0.0 && c3 != 0.0 &&
            d0 != 0.0 && d1 != 0.0 && d2 != 0.0 && d3 != 0.0) {
            for (ptrdiff_t j = 0; j < n_out; ++j) {
                const double e = delta[j];
                const double v0 = w0[j] - c0 * e, v1 = w1[j] - c1 * e;
                const double v2 = w2[j] - c2 * e, v3 = w3[j] - c3 * e;
                w0[j] = v0;
                w1[j] = v1;
                w2[j] = v2;
                w3[j] = v3;
                z_next[j] += ((d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3));
            }
        } else {
            mlpk_update_combine_row(w0, n_out, delta, c0, d0, keep, z_next);
            mlpk_update_combine_row(w1, n_out, delta, c1, d1, keep, z_next);
            mlpk_update_combine_row(w2, n_out, delta, c2, d2, keep, z_next);
            mlpk_update_combine_row(w3, n_out, delta, c3, d3, keep, z_next);
        }
    }
    for (; i < n_in; ++i)
        mlpk_update_combine_row(W + i * n_out, n_out, delta, eta * a[i], a_next[i], keep,
                                z_next);
}

/* Ask for the rows x[order[0..count)] (n doubles each) to be brought into cache: the next
 * mini-batch's rows, gathered from anywhere in a large x, arrive while this one computes. */
static inline void mlpk_prefetch_rows(const double *x, const ptrdiff_t *order,
                                      ptrdiff_t count, ptrdiff_t n)
{
    for (ptrdiff_t r = 0; r < count; ++r) {
        const char *row = (const char *)(x + order[r] * n);
        const char *end = (const char *)(x + order[r] * n + n);
        for (; row < end; row += 64)
            MLPK_PREFETCH(row);
    }
}

/* sum a[k] b[k] over n entries, in eight running sums: a single sum would wait on each add
 * (the loop is a latency chain the compiler may not reorder), eight let it vectorize.
 * mlpk_dot(x, x, n) is the sum of squares (restrict allows the alias: neither is written). */
MLPK_VALUE_LOOP(double, mlpk_dot,
                (const double *MLPK_RESTRICT a, const double *MLPK_RESTRICT b, ptrdiff_t n),
                (a, b, n))
{
    double part[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    ptrdiff_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; ++j)
            part[j] += a[k + j] * b[k + j];
    double total = 0.0;
    for (; k < n; ++k)
        total += a[k] * b[k];
    for (int j = 0; j < 8; ++j)
        total += part[j];
    return total;
}

/* The momentum step over n parameters p with velocity v and gradient g:
 * g' = g + weight_decay p, v := mu v - eta g', then p += v, or with Nesterov
 * p += mu v - eta g'. Branch-free inside, so that it vectorizes. */
MLPK_LOOP(mlpk_momentum_step,
          (double *MLPK_RESTRICT p, double *MLPK_RESTRICT v, const double *MLPK_RESTRICT g,
           ptrdiff_t n, double mu, double eta, double weight_decay, int nesterov),
          (p, v, g, n, mu, eta, weight_decay, nesterov))
{
    if (nesterov) {
        for (ptrdiff_t k = 0; k < n; ++k) {
            const double gk = g[k] + weight_decay * p[k];
            const double vk = mu * v[k] - eta * gk;
            v[k] = vk;
            p[k] += mu * vk - eta * gk;
        }
    } else {
        for (ptrdiff_t k = 0; k < n; ++k) {
            const double gk = g[k] + weight_decay * p[k];
            const double vk = mu * v[k] - eta * gk;
            v[k] = vk;
            p[k] += vk;
        }
    }
}

/* Adam's step over n parameters p with moments m, v and gradient g (Kingma and Ba's
 * efficient form): g' = g + weight_decay p, m := beta1 m + (1 - beta1) g',
 * v := beta2 v + (1 - beta2) g'^2, p -= alpha m / (sqrt(v) + epsilon), where alpha is
 * eta sqrt(1 - beta2^t) / (1 - beta1^t) for this step t. Moments below DBL_MIN are
 * flushed to 0. */
MLPK_LOOP(mlpk_adam_step,
          (double *MLPK_RESTRICT p, double *MLPK_RESTRICT m, double *MLPK_RESTRICT v,
           const double *MLPK_RESTRICT g, ptrdiff_t n, double beta1, double beta2,
           double alpha, double epsilon, double weight_decay),
          (p, m, v, g, n, beta1, beta2, alpha, epsilon, weight_decay))
{
    for (ptrdiff_t k = 0; k < n; ++k) {
        const double gk = g[k] + weight_decay * p[k];
        double mk = beta1 * m[k] + (1.0 - beta1) * gk;
        double vk = beta2 * v[k] + (1.0 - beta2) * (gk * gk);
        /* A moment that has decayed below the smallest normal double (an input that is
         * always 0, over thousands of steps) is 0: subnormal arithmetic is many times
         * slower, and the step it would add is below 1e-300. */
        mk = (mk < DBL_MIN && mk > -DBL_MIN) ? 0.0 : mk;
        vk = vk < DBL_MIN ? 0.0 : vk;
        m[k] = mk;
        v[k] = vk;
        p[k] -= alpha * mk / (sqrt(vk) + epsilon);
    }
}

/* 2^k for an integer-valued double k in [-1022, 1023], by placing k + 1023 in the
 * exponent field. */
static inline double mlpk_pow2i(double k)
{
    uint64_t u;
    double d = k + (1023.0 + 4503599627370496.0);   /* + 2^52: low bits hold k + 1023 */
    memcpy(&u, &d, sizeof u);
    u <<= 52;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* exp(t) for t <= 0, in parts: t = k ln2 + r with |r| <= ln2/2 (t clamped to -746, below
 * which exp(t) is 0), and the tail of the degree-13 Taylor polynomial of e^r (truncation
 * < 5e-18), e^r = (tail r + 1) r + 1, so that e^r - 1 = (tail r) r + r keeps its digits
 * near 0 (the tanh of _activations.h). */
static inline double mlpk_exp_reduce(double t, double *k)
{
    const double ln2_hi = 6.93147180369123816490e-01;   /* 0x3fe62e42fee00000 */
    const double ln2_lo = 1.90821492927058770002e-10;
    const double magic = 6755399441055744.0;             /* 1.5 2^52: rounds to an integer */
    t = t < -746.0 ? -746.0 : t;
    *k = (t * 1.44269504088896338700 + magic) - magic;
    return (t - *k * ln2_hi) - *k * ln2_lo;
}

static inline double mlpk_exp_tail(double r)
{
    double p = 1.0 / 6227020800.0;                       /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    return p * r + 0.5;
}

/* x 2^k for an integer-valued k in [-1075, 1023], applied in two halves (x 2^k1, then
 * 2^(k - k1)) so that results down to the subnormals come out right. */
static inline double mlpk_scale2(double x, double k)
{
    const double magic = 6755399441055744.0;             /* 1.5 2^52 */
    double k1 = (k * 0.5 + magic) - magic;
    return x * mlpk_pow2i(k1) * mlpk_pow2i(k - k1);
}

/* exp(t) for t <= 0, to about one ulp. */
static inline double mlpk_exp_neg(double t)
{
    double k, r = mlpk_exp_reduce(t, &k);
    return mlpk_scale2((mlpk_exp_tail(r) * r + 1.0) * r + 1.0, k);
}

/* sig(z) = 1/(1+e^-z) without branches, accurate to about one ulp: e = exp(-|z|) in (0, 1]
 * never overflows, sig(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0. NaN gives NaN, -inf
 * gives 0, +inf gives 1. */
static inline double mlpk_sig(double z)
{
    double e = mlpk_exp_neg(-(z < 0.0 ? -z : z));
    double q = 1.0 / (1.0 + e);
    return z >= 0.0 ? q : e * q;
}

/* x[k] := sig(x[k]) */
MLPK_LOOP(mlpk_sigmoid_inplace, (double *MLPK_RESTRICT x, ptrdiff_t n), (x, n))
{
    for (ptrdiff_t k = 0; k < n; ++k)
        x[k] = mlpk_sig(x[k]);
}

/* z[i, j] := sig(b[j] + z[i, j]) for m rows of n entries */
MLPK_LOOP(mlpk_bias_sigmoid,
          (const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n),
          (b, z, m, n))
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] = mlpk_sig(b[j] + row[j]);
    }
}

/* 1 if no x[k] is NaN or infinite, else 0; reads in chunks and stops at the first bad one. */
MLPK_VALUE_LOOP(int, mlpk_all_finite, (const double *MLPK_RESTRICT x, ptrdiff_t n), (x, n))
{
    const uint64_t exponent = 0x7ff0000000000000ULL;
    for (ptrdiff_t start = 0; start < n; start += 4096) {
        ptrdiff_t stop = n - start < 4096 ? n : start + 4096;
        uint64_t bad = 0;
        for (ptrdiff_t k = start; k < stop; ++k) {
            uint64_t u;
            memcpy(&u, x + k, sizeof u);
            bad |= (u & exponent) == exponent;
        }
        if (bad)
            return 0;
    }
    return 1;
}

#endif /* MLPK_SIMD_H */
