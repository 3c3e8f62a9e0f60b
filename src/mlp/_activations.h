/* mlp/_activations.h: the units beyond the seed's sigmoid (whose loops are _simd.h's):
 * tanh, ReLU, identity and softmax, each with the bias added first, and the factor of the
 * backward pass, the derivative taken from the activation as the seed does for the sigmoid:
 * a(1-a), 1-a^2, [a > 0], 1. Branch-free where it matters, so that the loops vectorize.
 *
 * The activation codes are _core.pxd's mlp_activation (MLP_SIGMOID 0, MLP_TANH 1,
 * MLP_RELU 2, MLP_IDENTITY 3, MLP_SOFTMAX 4). Private to _core.pyx: not part of mlp's C API.
 */
#ifndef MLPK_ACTIVATIONS_H
#define MLPK_ACTIVATIONS_H

#include <math.h>
#include <stddef.h>

#include "_simd.h"

enum { MLPK_SIGMOID = 0, MLPK_TANH = 1, MLPK_RELU = 2, MLPK_IDENTITY = 3, MLPK_SOFTMAX = 4 };

/* e^t = 2^k (1 + q) for t <= 0: t = k ln2 + r, |r| <= ln2/2, *q = e^r - 1 by its Taylor
 * series without the leading 1 (degree 13, truncation < 5e-18), *scale = 2^k (computed in
 * two halves, so that results down to the subnormals come out right). t is clamped to
 * -746, below which e^t is 0. */
static inline void mlpk_exp_parts(double t, double *scale, double *q)
{
    const double ln2_hi = 6.93147180369123816490e-01;   /* 0x3fe62e42fee00000 */
    const double ln2_lo = 1.90821492927058770002e-10;
    const double magic = 0x1.8p52;                       /* rounds to an integer */
    t = t < -746.0 ? -746.0 : t;
    double k = (t * 1.44269504088896338700 + magic) - magic;
    double r = (t - k * ln2_hi) - k * ln2_lo;
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
    p = p * r + 0.5;
    *q = (p * r) * r + r;
    double k1 = (k * 0.5 + magic) - magic;
    *scale = mlpk_pow2i(k1) * mlpk_pow2i(k - k1);
}

/* e^t for t <= 0, to about one ulp. */
static inline double mlpk_exp_neg(double t)
{
    double scale, q;
    mlpk_exp_parts(t, &scale, &q);
    return scale * (1.0 + q);
}

/* e^t - 1 for t <= 0, to a few ulp also near 0 (where it is q itself, k = 0; computing it
 * from e^t would lose the digits): 2^k q + (2^k - 1). */
static inline double mlpk_expm1_neg(double t)
{
    double scale, q;
    mlpk_exp_parts(t, &scale, &q);
    return scale * q + (scale - 1.0);
}

/* tanh(z) = -u / (2 + u), u = e^(-2|z|) - 1, with z's sign: finite for every z, exact at
 * 0, +-1 for |z| beyond 19. NaN gives NaN. */
static inline double mlpk_tanh(double z)
{
    double u = mlpk_expm1_neg(-2.0 * (z < 0.0 ? -z : z));
    double t = -u / (2.0 + u);
    return z < 0.0 ? -t : t;
}

/* z[i, j] := f(b[j] + z[i, j]) for m rows of n entries, f = tanh */
MLPK_CLONES
static void mlpk_bias_tanh(const double *restrict b, double *restrict z, ptrdiff_t m,
                           ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *restrict row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] = mlpk_tanh(b[j] + row[j]);
    }
}

/* ... f = max(., 0) */
MLPK_CLONES
static void mlpk_bias_relu(const double *restrict b, double *restrict z, ptrdiff_t m,
                           ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *restrict row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j) {
            const double s = b[j] + row[j];
            row[j] = s > 0.0 ? s : 0.0;
        }
    }
}

/* ... f = identity */
MLPK_CLONES
static void mlpk_bias_identity(const double *restrict b, double *restrict z, ptrdiff_t m,
                               ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *restrict row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] += b[j];
    }
}

/* Row by row, s = b + z, z := exp(s - max s) / sum exp(s - max s): every exponent is <= 0,
 * so nothing overflows, and the largest term is 1, so the sum is in [1, n]. */
MLPK_CLONES
static void mlpk_bias_softmax(const double *restrict b, double *restrict z, ptrdiff_t m,
                              ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *restrict row = z + i * n;
        double top = b[0] + row[0];
        for (ptrdiff_t j = 0; j < n; ++j) {
            row[j] += b[j];
            top = row[j] > top ? row[j] : top;
        }
        double total = 0.0;
        for (ptrdiff_t j = 0; j < n; ++j) {
            row[j] = mlpk_exp_neg(row[j] - top);
            total += row[j];
        }
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] /= total;
    }
}

/* d[k] *= f'(z) for the units whose activations are a[k] (k < n), from the activation:
 * sigmoid a(1-a), tanh 1-a^2, ReLU [a > 0], identity 1. */
MLPK_CLONES
static void mlpk_times_derivative(double *restrict d, const double *restrict a, ptrdiff_t n,
                                  int activation)
{
    switch (activation) {
    case MLPK_SIGMOID:
        for (ptrdiff_t k = 0; k < n; ++k)
            d[k] *= a[k] * (1.0 - a[k]);
        break;
    case MLPK_TANH:
        for (ptrdiff_t k = 0; k < n; ++k)
            d[k] *= 1.0 - a[k] * a[k];
        break;
    case MLPK_RELU:
        for (ptrdiff_t k = 0; k < n; ++k)
            d[k] = a[k] > 0.0 ? d[k] : 0.0;
        break;
    default: /* identity */
        break;
    }
}

/* z[i, j] := f(b[j] + z[i, j]) for the activation f. */
static inline void mlpk_bias_activate(const double *restrict b, double *restrict z,
                                      ptrdiff_t m, ptrdiff_t n, int activation)
{
    switch (activation) {
    case MLPK_SIGMOID:
        mlpk_bias_sigmoid(b, z, m, n);
        break;
    case MLPK_TANH:
        mlpk_bias_tanh(b, z, m, n);
        break;
    case MLPK_RELU:
        mlpk_bias_relu(b, z, m, n);
        break;
    case MLPK_SOFTMAX:
        mlpk_bias_softmax(b, z, m, n);
        break;
    default:
        mlpk_bias_identity(b, z, m, n);
        break;
    }
}

#endif /* MLPK_ACTIVATIONS_H */
