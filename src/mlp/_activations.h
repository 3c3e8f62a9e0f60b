/* mlp/_activations.h: the units beyond the seed's sigmoid (whose loops are _simd.h's):
 * tanh, ReLU, identity, softmax and exp, each with the bias added first, and the factor of the
 * backward pass, the derivative taken from the activation as the seed does for the sigmoid:
 * a(1-a), 1-a^2, [a > 0], 1. Branch-free where it matters, so that the loops vectorize;
 * like _simd.h's, each loop is compiled once per kernel level (MLPK_LOOP, _levels.h).
 *
 * The activation codes are _core.pxd's mlp_activation (MLP_SIGMOID 0, MLP_TANH 1,
 * MLP_RELU 2, MLP_IDENTITY 3, MLP_SOFTMAX 4, MLP_EXP 5). Private to _core.pyx: not part of
 * mlp's C API.
 */
#ifndef MLPK_ACTIVATIONS_H
#define MLPK_ACTIVATIONS_H

#include <math.h>
#include <stddef.h>

#include "_levels.h"
#include "_platform.h"
#include "_simd.h"

enum { MLPK_SIGMOID = 0, MLPK_TANH = 1, MLPK_RELU = 2, MLPK_IDENTITY = 3, MLPK_SOFTMAX = 4,
       MLPK_EXP = 5 };

/* e^t - 1 for t <= 0, to a few ulp also near 0, where computing it from e^t would lose
 * the digits: with t = k ln2 + r (_simd.h's reduction), q = e^r - 1 from the polynomial's
 * tail, and e^t - 1 = 2^k q + (2^k - 1), which is q itself when k = 0. */
static inline double mlpk_expm1_neg(double t)
{
    double k, r = mlpk_exp_reduce(t, &k);
    double q = (mlpk_exp_tail(r) * r) * r + r;
    double scale = mlpk_scale2(1.0, k);
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
MLPK_LOOP(mlpk_bias_tanh,
          (const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n),
          (b, z, m, n))
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] = mlpk_tanh(b[j] + row[j]);
    }
}

/* ... f = max(., 0) */
MLPK_LOOP(mlpk_bias_relu,
          (const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n),
          (b, z, m, n))
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j) {
            const double s = b[j] + row[j];
            row[j] = s > 0.0 ? s : 0.0;
        }
    }
}

/* ... f = identity */
MLPK_LOOP(mlpk_bias_identity,
          (const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n),
          (b, z, m, n))
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] += b[j];
    }
}

/* Row by row, s = b + z, z := exp(s - max s) / sum exp(s - max s): every exponent is <= 0,
 * so nothing overflows, and the largest term is 1, so the sum is in [1, n]. */
MLPK_LOOP(mlpk_bias_softmax,
          (const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n),
          (b, z, m, n))
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
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

/* ... f = exp, the Poisson output (libm's exp: it overflows to +inf, as it should, where
 * the kernels' own exp is for arguments <= 0 only) */
static void mlpk_bias_exp(const double *MLPK_RESTRICT b, double *MLPK_RESTRICT z,
                          ptrdiff_t m, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double *MLPK_RESTRICT row = z + i * n;
        for (ptrdiff_t j = 0; j < n; ++j)
            row[j] = exp(b[j] + row[j]);
    }
}

/* d[k] *= f'(z) for the units whose activations are a[k] (k < n), from the activation:
 * sigmoid a(1-a), tanh 1-a^2, ReLU [a > 0], identity 1. */
MLPK_LOOP(mlpk_times_derivative,
          (double *MLPK_RESTRICT d, const double *MLPK_RESTRICT a, ptrdiff_t n,
           int activation),
          (d, a, n, activation))
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
static inline void mlpk_bias_activate(const double *MLPK_RESTRICT b,
                                      double *MLPK_RESTRICT z, ptrdiff_t m, ptrdiff_t n,
                                      int activation)
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
    case MLPK_EXP:
        mlpk_bias_exp(b, z, m, n);
        break;
    default:
        mlpk_bias_identity(b, z, m, n);
        break;
    }
}

#endif /* MLPK_ACTIVATIONS_H */
