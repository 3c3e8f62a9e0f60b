"""Compiled kernels of mlp: sigmoid, forward pass, backpropagation and SGD.

Three layers, top to bottom:

- ``def`` functions: the Python boundary used by the facade. They take typed memoryviews,
  check every buffer length a kernel relies on (a wrong buffer raises ``ValueError``
  instead of reading out of bounds), release the GIL and call the C API.
- ``mlp_*`` functions: the public C-level API declared in ``_core.pxd``. They check sizes
  and row counts, report a bad one through their return value, and call the kernels.
- ``_*`` functions: the kernels, which trust their arguments.

The math is the seed's: ``a_l = sig(b_l + a_{l-1} @ W_l)``, ``C = 1/2 sum (a_L - y)^2``,
``delta_L = (a_L - y) a_L (1 - a_L)``, ``delta_{l-1} = (delta_l @ W_l.T) a_{l-1} (1 - a_{l-1})``,
``dC/dW_l = a_{l-1}.T @ delta_l``, ``dC/db_l = sum over rows of delta_l``. Batched, every
product is a GEMM, done by BLAS (``scipy.linalg.cython_blas``) or, for small ones, by a loop
or an AVX-512 kernel: which one, for each product, is decided in one place, the kernel
chooser ``_kernels.h``, at the kernel level fixed at import (``kernel_level()``).
"""

from libc.limits cimport INT_MAX
from libc.stdint cimport uintptr_t
from libc.float cimport DBL_EPSILON, DBL_MAX
from libc.math cimport log, log1p, pow, sqrt
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm

cdef extern from "_simd.h" nogil:
    void mlpk_sigmoid_inplace(double* x, Py_ssize_t n) noexcept
    void mlpk_bias_sigmoid(const double* b, double* z, Py_ssize_t m, Py_ssize_t n) noexcept
    int mlpk_all_finite(const double* x, Py_ssize_t n) noexcept
    double mlpk_dot(const double* a, const double* b, Py_ssize_t n) noexcept
    void mlpk_momentum_step(double* p, double* v, const double* g, Py_ssize_t n, double mu,
                            double eta, double weight_decay, int nesterov) noexcept
    void mlpk_adam_step(double* p, double* m, double* v, const double* g, Py_ssize_t n,
                        double beta1, double beta2, double alpha, double epsilon,
                        double weight_decay) noexcept
    void mlpk_safe_combine_row(const double* a, Py_ssize_t n_in, const double* W,
                               Py_ssize_t n_out, double* z) noexcept
    void mlpk_prefetch_rows(const double* x, const Py_ssize_t* order, Py_ssize_t count,
                            Py_ssize_t n) noexcept
    void mlpk_generic_combine_row(const double* a, Py_ssize_t n_in, const double* W,
                                  Py_ssize_t n_out, double* z) noexcept
    void mlpk_rows_backprop(double* W, Py_ssize_t n_in, Py_ssize_t n_out,
                            const double* delta, const double* a, double eta, double keep,
                            double* back) noexcept

cdef extern from "_activations.h" nogil:
    void mlpk_bias_activate(const double* b, double* z, Py_ssize_t m, Py_ssize_t n,
                            int activation) noexcept
    void mlpk_times_derivative(double* d, const double* a, Py_ssize_t n,
                               int activation) noexcept

# The kernel levels: which this CPU can run, and the one in use (the loops above run its
# version, and the chooser below reads it).
cdef extern from "_levels.h" nogil:
    enum:
        MLPK_N_LEVELS
    const char* mlpk_level_name(int level) noexcept
    int mlpk_best_level() noexcept
    int mlpk_set_level(int level) noexcept
    int mlpk_current_level() noexcept

# The kernel chooser: which kernel runs for which sizes and level is decided there, once per
# operation; the code below only executes the decision (and calls BLAS when it says so).
cdef extern from "_kernels.h" nogil:
    enum:
        MLPK_DOUBLE_ALIGN
        MLPK_INDEX_ALIGN

    ctypedef enum mlpk_combine_kernel:
        MLPK_COMBINE_BLAS
    mlpk_combine_kernel mlpk_choose_combine(Py_ssize_t m, Py_ssize_t n_out) noexcept
    void mlpk_run_combine(mlpk_combine_kernel kernel, const double* x, Py_ssize_t m,
                          Py_ssize_t n_in, const double* W, Py_ssize_t n_out,
                          double* z) noexcept

    ctypedef enum mlpk_update_kernel:
        MLPK_UPDATE_BLAS
    mlpk_update_kernel mlpk_choose_update(Py_ssize_t m, Py_ssize_t n_out) noexcept
    void mlpk_run_update(mlpk_update_kernel kernel, double* W, Py_ssize_t n_in,
                         Py_ssize_t n_out, const double* A, Py_ssize_t m, const double* D,
                         double alpha, double beta) noexcept

    ctypedef enum mlpk_update_combine_kernel:
        pass
    mlpk_update_combine_kernel mlpk_choose_update_combine(Py_ssize_t n_out) noexcept
    void mlpk_run_update_combine(mlpk_update_combine_kernel kernel, double* W,
                                 Py_ssize_t n_in, Py_ssize_t n_out, const double* delta,
                                 const double* a, double eta, double keep,
                                 const double* a_next, double* z_next) noexcept

    ctypedef enum mlpk_pair_kernel:
        MLPK_PAIR_NONE
    mlpk_pair_kernel mlpk_choose_pair() noexcept
    void mlpk_run_pair(mlpk_pair_kernel kernel, double* W, Py_ssize_t n_in, Py_ssize_t n_out,
                       const double* e1, const double* a1, const double* e2, const double* a2,
                       double eta, const double* n1, const double* n2, double* z1,
                       double* z2) noexcept

cdef extern from "_lock.h" nogil:
    ctypedef struct mlpk_rwlock:
        pass
    int mlpk_rwlock_init(mlpk_rwlock* lock) noexcept
    void mlpk_rwlock_destroy(mlpk_rwlock* lock) noexcept
    void mlpk_rwlock_read(mlpk_rwlock* lock) noexcept
    void mlpk_rwlock_write(mlpk_rwlock* lock) noexcept
    void mlpk_rwlock_unlock_read(mlpk_rwlock* lock) noexcept
    void mlpk_rwlock_unlock_write(mlpk_rwlock* lock) noexcept

C_API_VERSION = MLP_C_API_VERSION
QUADRATIC = MLP_QUADRATIC
CROSS_ENTROPY = MLP_CROSS_ENTROPY
POISSON = MLP_POISSON
SIGMOID = MLP_SIGMOID
TANH = MLP_TANH
RELU = MLP_RELU
IDENTITY = MLP_IDENTITY
SOFTMAX = MLP_SOFTMAX
EXP = MLP_EXP
SGD = MLP_SGD
ADAM = MLP_ADAM


# --- the kernel level --------------------------------------------------------------------

# Every kernel level, lowest first, as MLP_KERNELS spells them (the order is _levels.h's).
_LEVELS = tuple(mlpk_level_name(level).decode("ascii") for level in range(MLPK_N_LEVELS))


def _level_to_run(asked):
    """The level to run, given MLP_KERNELS (``asked``; empty: not set): the best this build
    and CPU support, or the lower one named. An unknown name raises ValueError; a level
    above the best runs the best, with a RuntimeWarning."""
    cdef int best = mlpk_best_level()
    if not asked:
        return best
    if asked not in _LEVELS:
        raise ValueError(f"MLP_KERNELS={asked!r} is not a kernel level: valid values are "
                         f"{', '.join(map(repr, _LEVELS))} (lowest first), or unset for the "
                         f"best this CPU runs")
    if _LEVELS.index(asked) > best:
        import warnings
        warnings.warn(f"MLP_KERNELS={asked!r}: this CPU or build cannot run the {asked} "
                      f"kernels; using {_LEVELS[best]!r}, the best it can", RuntimeWarning)
        return best
    return _LEVELS.index(asked)


def _set_level_once():
    import os
    if mlpk_set_level(_level_to_run(os.environ.get("MLP_KERNELS", ""))) != 0:
        raise RuntimeError("mlp._core: the kernel level was set twice")


# The one write of the level the kernels run at, in module init, before any kernel can run.
_set_level_once()
del _set_level_once


# --- helpers ---------------------------------------------------------------------------

cdef inline void _gemm(char transa, char transb, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                       double alpha, const double* A, Py_ssize_t lda,
                       const double* B, Py_ssize_t ldb,
                       double beta, double* C, Py_ssize_t ldc) noexcept nogil:
    """Row-major C := alpha op(A) op(B) + beta C, C (M, N), op(A) (M, K), op(B) (K, N).

    A row-major matrix is its transpose in column-major order, so this is the column-major
    C.T := alpha op(B).T op(A).T + beta C.T: the operands swap, the transposition flags stay.
    The callers have checked that every dimension fits BLAS's int.
    """
    cdef int m = <int>M, n = <int>N, k = <int>K
    cdef int la = <int>lda, lb = <int>ldb, lc = <int>ldc
    dgemm(&transb, &transa, &n, &m, &k, &alpha, <double*>B, &lb, <double*>A, &la,
          &beta, C, &lc)


cdef inline Py_ssize_t _max_width(const Py_ssize_t* sizes, Py_ssize_t first,
                                  Py_ssize_t last) noexcept nogil:
    """max(sizes[first..last]), 0 for an empty range."""
    cdef Py_ssize_t l, w = 0
    for l in range(first, last + 1):
        if sizes[l] > w:
            w = sizes[l]
    return w


cdef inline Py_ssize_t _acts_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                  Py_ssize_t m) noexcept nogil:
    """m (n_1 + ... + n_L): activations of m rows"""
    cdef Py_ssize_t l, total = 0
    for l in range(1, n_layers + 1):
        total += sizes[l]
    return m * total


cdef inline bint _bad_sizes(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l
    if sizes == NULL or n_layers < 1:
        return True
    for l in range(n_layers + 1):
        if sizes[l] < 1 or sizes[l] > INT_MAX:
            return True
    return False


cdef inline bint _bad_block(Py_ssize_t block) noexcept nogil:
    return block < 1 or block > INT_MAX


cdef inline int _unit(const int* units, Py_ssize_t l) noexcept nogil:
    """Layer l's activation (an mlp_activation); units NULL: the seed's sigmoid."""
    return MLP_SIGMOID if units == NULL else units[l - 1]


cdef inline int _default_cost(const int* units, Py_ssize_t n_layers) noexcept nogil:
    """The output's own cost: cross-entropy for softmax, Poisson for exp, else quadratic."""
    cdef int out = _unit(units, n_layers)
    if out == MLP_SOFTMAX:
        return MLP_CROSS_ENTROPY
    return MLP_POISSON if out == MLP_EXP else MLP_QUADRATIC


cdef inline bint _bad_units(const int* units, Py_ssize_t n_layers, int cost) noexcept nogil:
    """Whether a layer has an activation it cannot have (softmax and exp are for the
    output only; tanh and ReLU for hidden layers), or cost does not go with the output."""
    cdef Py_ssize_t l
    cdef int out = _unit(units, n_layers)
    for l in range(1, n_layers):
        if _unit(units, l) < MLP_SIGMOID or _unit(units, l) > MLP_IDENTITY:
            return True
    if out != MLP_SIGMOID and out != MLP_IDENTITY and out != MLP_SOFTMAX and out != MLP_EXP:
        return True
    if cost == MLP_QUADRATIC:
        return out == MLP_SOFTMAX or out == MLP_EXP
    if cost == MLP_CROSS_ENTROPY:
        return out == MLP_IDENTITY or out == MLP_EXP
    if cost == MLP_POISSON:
        return out != MLP_EXP
    return True


# --- kernels (trusting) ----------------------------------------------------------------

cdef inline void _finite_sums(const double* a_in, Py_ssize_t m, Py_ssize_t n_in,
                              const double* W, Py_ssize_t n_out, double* z) noexcept nogil:
    """Redo, overflow-free, the rows of z = a_in @ W that came out NaN or infinite: with
    finite inputs and weights the outputs are then always finite (sig(+-inf) is 1 or 0)."""
    cdef Py_ssize_t i
    if mlpk_all_finite(z, m * n_out):
        return
    for i in range(m):
        if not mlpk_all_finite(z + i * n_out, n_out):
            mlpk_safe_combine_row(a_in + i * n_in, n_in, W, n_out, z + i * n_out)


cdef void _layer(const double* a_in, Py_ssize_t m, Py_ssize_t n_in,
                 const double* W, const double* b, Py_ssize_t n_out,
                 double* a_out, int unit) noexcept nogil:
    """a_out := f(b + a_in @ W) for the activation `unit`; a_in (m, n_in), W (n_in, n_out),
    a_out (m, n_out).
    The product by the kernel the chooser picks (mlpk_choose_combine, _kernels.h)."""
    cdef mlpk_combine_kernel kernel = mlpk_choose_combine(m, n_out)
    if kernel == MLPK_COMBINE_BLAS:
        _gemm(b'N', b'N', m, n_out, n_in, 1.0, a_in, n_in, W, n_out, 0.0, a_out, n_out)
    else:
        mlpk_run_combine(kernel, a_in, m, n_in, W, n_out, a_out)
    _finite_sums(a_in, m, n_in, W, n_out, a_out)
    mlpk_bias_activate(b, a_out, m, n_out, unit)


cdef void _forward(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                   const int* units, const double* x, Py_ssize_t m, double* acts,
                   Py_ssize_t first=1) noexcept nogil:
    """acts := [a_1, ..., a_L], a_l (m, n_l) = f_l(b_l + a_{l-1} @ W_l), a_0 = x, from
    layer `first` on (2 when acts already holds a_1)."""
    cdef Py_ssize_t l, n_in, n_out
    cdef const double* p = params
    cdef const double* a_in = x
    cdef double* a_out = acts
    for l in range(1, n_layers + 1):
        n_in = sizes[l - 1]
        n_out = sizes[l]
        if l >= first:
            _layer(a_in, m, n_in, p, p + n_in * n_out, n_out, a_out, _unit(units, l))
        p += n_in * n_out + n_out
        a_in = a_out
        a_out += m * n_out


cdef inline double _output_delta(const double* a_L, const double* y, Py_ssize_t k,
                                 double* delta, int cost, int output) noexcept nogil:
    """delta := dC/dz_L over k entries; returns C summed over them.

    quadratic: C = 1/2 sum (a - y)^2, delta = (a - y) a (1 - a) for a sigmoid output and
    a - y for an identity output; cross-entropy: delta = a - y, and C = -sum [y ln a +
    (1 - y) ln(1 - a)] for a sigmoid output, -sum y ln a for softmax, with a clipped to
    [eps, 1 - eps] inside the logarithms so that a saturated output gives a finite cost;
    Poisson (exp output): C = sum y ln(y/a) - y + a (0 ln 0 = 0), delta = a - y.
    """
    cdef Py_ssize_t j
    cdef double a, t, diff, total = 0.0
    if cost == MLP_POISSON:
        for j in range(k):
            a = a_L[j]
            t = y[j]
            delta[j] = a - t
            total += (t * log(t / a) if t != 0.0 else 0.0) - t + a
        return total
    if cost == MLP_CROSS_ENTROPY and output == MLP_SOFTMAX:
        for j in range(k):
            a = a_L[j]
            t = y[j]
            delta[j] = a - t
            if t != 0.0:
                total -= t * log(max(a, DBL_EPSILON))
        return total
    if cost == MLP_CROSS_ENTROPY:
        for j in range(k):
            a = a_L[j]
            t = y[j]
            delta[j] = a - t
            a = min(max(a, DBL_EPSILON), 1.0 - DBL_EPSILON)
            total -= t * log(a) + (1.0 - t) * log1p(-a)
        return total
    if output == MLP_IDENTITY:
        for j in range(k):
            diff = a_L[j] - y[j]
            total += 0.5 * diff * diff
            delta[j] = diff
        return total
    for j in range(k):
        a = a_L[j]
        diff = a - y[j]
        total += 0.5 * diff * diff
        delta[j] = diff * a * (1.0 - a)
    return total


cdef inline Py_ssize_t _correct(const double* a_L, const double* y, Py_ssize_t m,
                                Py_ssize_t n) noexcept nogil:
    """Rows (of m, n entries each) whose largest output is at their largest target."""
    cdef Py_ssize_t i, j, best_a, best_y, count = 0
    cdef const double* a
    cdef const double* t
    for i in range(m):
        a = a_L + i * n
        t = y + i * n
        best_a = 0
        best_y = 0
        for j in range(1, n):
            if a[j] > a[best_a]:
                best_a = j
            if t[j] > t[best_y]:
                best_y = j
        count += best_a == best_y
    return count


cdef double _backprop(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* units, const double* x, const double* y,
                      const double* w, Py_ssize_t m, const double* acts, double* work,
                      double* out, double alpha, double beta_w, double beta_b,
                      int cost) noexcept nogil:
    """out := beta out + alpha sum_rows s_i dC_i/dparams (beta_w for weights, beta_b for
    biases; beta 0 overwrites without reading); returns sum_rows s_i C_i. s_i = w[i], or 1
    when w is NULL: the output delta of row i is scaled by s_i.

    acts: from _forward on the same params, x and m. work: 2 m max(n_1..n_L) doubles, two
    delta buffers used in turn. out may be params itself (alpha = -eta/m, beta_w = 1 -
    eta weight_decay, beta_b = 1 is then one SGD step): each W_l is read for the delta
    recursion before it is written.
    """
    cdef Py_ssize_t L = n_layers
    cdef Py_ssize_t wmax = _max_width(sizes, 1, L)
    cdef double* delta = work            # delta_l, (m, n_l)
    cdef double* delta_prev = work + m * wmax
    cdef double* swap
    cdef const double* a_prev
    cdef const double* W
    cdef double* out_W
    cdef double* out_b
    cdef Py_ssize_t l, i, j, k, n_in, n_out
    cdef Py_ssize_t p_off = 0                       # end of layer l's parameters
    cdef Py_ssize_t a_off = _acts_size(sizes, L, m)  # end of layer l's activations
    cdef double a, s, total
    cdef mlpk_update_kernel update
    for l in range(1, L + 1):
        p_off += sizes[l - 1] * sizes[l] + sizes[l]

    n_out = sizes[L]
    a_off -= m * n_out
    if w == NULL:
        total = _output_delta(acts + a_off, y, m * n_out, delta, cost, _unit(units, L))
    else:
        total = 0.0
        for i in range(m):
            k = i * n_out
            total += w[i] * _output_delta(acts + a_off + k, y + k, n_out, delta + k, cost,
                                          _unit(units, L))
            for j in range(n_out):
                delta[k + j] *= w[i]

    for l in range(L, 0, -1):
        n_in = sizes[l - 1]
        n_out = sizes[l]
        p_off -= n_in * n_out + n_out
        W = params + p_off
        out_W = out + p_off
        out_b = out_W + n_in * n_out
        if l > 1:
            a_off -= m * n_in
            a_prev = acts + a_off
            # delta_{l-1} (before the factor f'(z)) = delta_l @ W_l.T, read before out
            # (which may be params) changes W_l.
            _gemm(b'N', b'T', m, n_in, n_out, 1.0, delta, n_out, W, n_out,
                  0.0, delta_prev, n_in)
        else:
            a_prev = x
        # out_W := beta_w out_W + alpha a_{l-1}.T @ delta_l, by the kernel the chooser
        # picks (mlpk_choose_update, _kernels.h)
        update = mlpk_choose_update(m, n_out)
        if update == MLPK_UPDATE_BLAS:
            _gemm(b'T', b'N', n_in, n_out, m, alpha, a_prev, n_in, delta, n_out,
                  beta_w, out_W, n_out)
        else:
            mlpk_run_update(update, out_W, n_in, n_out, a_prev, m, delta, alpha, beta_w)
        # out_b := beta_b out_b + alpha sum_rows delta_l
        for j in range(n_out):
            s = 0.0
            for i in range(m):
                s += delta[i * n_out + j]
            out_b[j] = alpha * s if beta_b == 0.0 else beta_b * out_b[j] + alpha * s
        if l > 1:
            mlpk_times_derivative(delta_prev, a_prev, m * n_in, _unit(units, l - 1))
            swap = delta
            delta = delta_prev
            delta_prev = swap
    return total


cdef double* _backward1(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                        const int* units, const double* x, const double* acts,
                        double* delta, double* spare, double eta, double keep,
                        Py_ssize_t last) noexcept nogil:
    """Backpropagation with the SGD step for one row, layers L down to `last` (1 or 2).

    delta holds delta_L on entry. Layer l: one pass over W_l reads row i for
    delta_{l-1}[i] = (W_l[i, :] . delta_l) f'_{l-1}[i] (a_{l-1}[i] (1 - a_{l-1}[i]) for a
    sigmoid), then updates it,
    W_l[i, :] := keep W_l[i, :] - eta a_{l-1}[i] delta_l; then b_l -= eta delta_l.
    Returns the buffer that holds delta_{last-1} (when last = 2: delta_1).
    """
    cdef Py_ssize_t l, i, j, n_in, n_out
    cdef Py_ssize_t p_off = 0, a_off = _acts_size(sizes, n_layers, 1) - sizes[n_layers]
    cdef double* W
    cdef double* b
    cdef double* swap
    cdef const double* a_prev
    cdef double a
    for l in range(1, n_layers + 1):
        p_off += sizes[l - 1] * sizes[l] + sizes[l]
    for l in range(n_layers, last - 1, -1):
        n_in = sizes[l - 1]
        n_out = sizes[l]
        p_off -= n_in * n_out + n_out
        W = params + p_off
        b = W + n_in * n_out
        if l > 1:
            a_off -= n_in
            a_prev = acts + a_off
            mlpk_rows_backprop(W, n_in, n_out, delta, a_prev, eta, keep, spare)
            mlpk_times_derivative(spare, a_prev, n_in, _unit(units, l - 1))
        else:
            mlpk_rows_backprop(W, n_in, n_out, delta, x, eta, keep, NULL)
        for j in range(n_out):
            b[j] -= eta * delta[j]
        swap = delta
        delta = spare
        spare = swap
    return delta


cdef void _step1(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                 const int* units, const double* x, const double* y,
                 const mlp_train_options* o, mlp_epoch_stats* stats,
                 double* work) noexcept nogil:
    """_step for a batch of one row without momentum, in plain loops (faster than BLAS at
    this size)"""
    cdef Py_ssize_t nL = sizes[n_layers]
    cdef Py_ssize_t wmax = _max_width(sizes, 1, n_layers)
    cdef double* acts = work
    cdef double* delta = work + _acts_size(sizes, n_layers, 1)
    cdef double* a_L = delta - nL
    _forward(params, sizes, n_layers, units, x, 1, acts)
    stats.correct += _correct(a_L, y, 1, nL)
    stats.cost += _output_delta(a_L, y, nL, delta, o.cost, _unit(units, n_layers))
    _backward1(params, sizes, n_layers, units, x, acts, delta, delta + wmax, o.eta,
               1.0 - o.eta * o.weight_decay, 1)


cdef double* _row1(double* params, const Py_ssize_t* sizes, Py_ssize_t L, const int* units,
                   const double* xk, const double* yk, const mlp_train_options* o,
                   mlp_epoch_stats* stats, double* work) noexcept nogil:
    """One row's SGD step, its first-layer sums already in acts (work): the layers above
    the first forward, the output delta, the updates of the layers above the first and of
    b_1. Returns delta_1, for the caller's update of W_1."""
    cdef Py_ssize_t j, n1 = sizes[1], nL = sizes[L]
    cdef Py_ssize_t wmax = _max_width(sizes, 1, L)
    cdef double* acts = work
    cdef double* delta = work + _acts_size(sizes, L, 1)
    cdef double* a_L = delta - nL
    cdef double* d1 = delta
    cdef double* b1 = params + sizes[0] * n1
    mlpk_bias_activate(b1, acts, 1, n1, _unit(units, 1))
    _forward(params, sizes, L, units, xk, 1, acts, 2)
    stats.correct += _correct(a_L, yk, 1, nL)
    stats.cost += _output_delta(a_L, yk, nL, delta, o.cost, _unit(units, L))
    if L > 1:
        d1 = _backward1(params, sizes, L, units, xk, acts, delta, delta + wmax, o.eta,
                        1.0 - o.eta * o.weight_decay, 2)
    for j in range(n1):
        b1[j] -= o.eta * d1[j]
    return d1


cdef void _epoch1(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                  const int* units, const double* x, const double* y,
                  const Py_ssize_t* order, Py_ssize_t n, const mlp_train_options* o,
                  mlp_epoch_stats* stats, double* work, double* spare,
                  Py_ssize_t* bad_row) noexcept nogil:
    """An epoch of batches of one row without momentum, each step exactly _step1's, but
    with the first layer's update fused with the next row's first-layer sum (one pass over
    W_1 per row). That sum goes straight into a_1's place in acts, which the step no
    longer needs. With bad_row, a row holding NaN or infinity stops the epoch before its
    step (see _train_epoch). spare: 2 sizes[1] doubles, for _epoch1_pairs."""
    cdef Py_ssize_t L = n_layers, k
    cdef Py_ssize_t n0 = sizes[0], n1 = sizes[1], nL = sizes[L]
    cdef double* acts = work
    cdef double* d1
    cdef double* W1 = params
    cdef double eta = o.eta, keep = 1.0 - o.eta * o.weight_decay
    cdef const double* xk
    cdef mlpk_update_combine_kernel fused
    cdef mlpk_pair_kernel pair = mlpk_choose_pair()
    if n == 0:
        return
    if pair != MLPK_PAIR_NONE and keep == 1.0:
        _epoch1_pairs(params, sizes, L, units, x, y, order, n, o, stats, work, spare, pair,
                      bad_row)
        return
    # the fused pass's kernel, the same for every row (mlpk_choose_update_combine)
    fused = mlpk_choose_update_combine(n1)
    # the first row's first-layer sum by the row loop at every level; the fused pass
    # computes each next row's
    mlpk_generic_combine_row(x + order[0] * n0, n0, W1, n1, acts)
    for k in range(n):
        xk = x + order[k] * n0
        if bad_row != NULL and not mlpk_all_finite(xk, n0):
            bad_row[0] = order[k]
            return
        _finite_sums(xk, 1, n0, W1, n1, acts)
        d1 = _row1(params, sizes, L, units, xk, y + order[k] * nL, o, stats, work)
        if k + 4 < n:
            # rows four steps on (about 8 us): far enough for DRAM and a TLB walk
            mlpk_prefetch_rows(x, order + k + 4, 1, n0)
            mlpk_prefetch_rows(y, order + k + 4, 1, nL)
        if k + 1 < n:
            mlpk_run_update_combine(fused, W1, n0, n1, d1, xk, eta, keep,
                                    x + order[k + 1] * n0, acts)
        else:
            mlpk_rows_backprop(W1, n0, n1, d1, xk, eta, keep, NULL)


cdef void _epoch1_pairs(double* params, const Py_ssize_t* sizes, Py_ssize_t L,
                        const int* units, const double* x, const double* y,
                        const Py_ssize_t* order, Py_ssize_t n, const mlp_train_options* o,
                        mlp_epoch_stats* stats, double* work, double* spare,
                        mlpk_pair_kernel pair, Py_ssize_t* bad_row) noexcept nogil:
    """_epoch1 (without decay) two rows at a time: one pass over W_1 (mlpk_run_pair) applies
    the updates of rows k and k + 1 and computes the first-layer sums of rows k + 2 and
    k + 3, so W_1 is streamed once per two rows. Row k + 2's sums are then exactly the
    one-row pass's; row k + 3's went through W_1 before row k + 2's update,
    W - eta x_{k+2} d^T, and are corrected by the same algebra:
        x_{k+3} (W - eta x_{k+2} d^T) = x_{k+3} W - eta (x_{k+3} . x_{k+2}) d,
    equal up to rounding. A row whose corrected sums are not finite (an overflow) has row
    k + 2's update applied and its sums redone overflow-free through the updated W_1, as
    _finite_sums does, and the next two rows' sums are then computed by the row loop."""
    cdef Py_ssize_t k = 0, n0 = sizes[0], n1 = sizes[1], nL = sizes[L]
    cdef double* acts = work
    cdef double* first = spare          # delta_1 of a pair's first row, kept for the pass
    cdef double* later = spare + n1     # the second row's sums through W_1 before the first's
    cdef double* d2
    cdef double* W1 = params
    cdef double eta = o.eta
    cdef const double* xa
    cdef const double* xb
    cdef const double* x2
    cdef const double* x3
    cdef bint applied
    mlpk_generic_combine_row(x + order[0] * n0, n0, W1, n1, acts)
    if n > 1:
        mlpk_generic_combine_row(x + order[1] * n0, n0, W1, n1, later)
    while k < n:
        # row k: its sums in acts, through W_1 with every earlier row's update
        xa = x + order[k] * n0
        if bad_row != NULL and not mlpk_all_finite(xa, n0):
            bad_row[0] = order[k]
            return
        _finite_sums(xa, 1, n0, W1, n1, acts)
        memcpy(first, _row1(params, sizes, L, units, xa, y + order[k] * nL, o, stats, work),
               n1 * sizeof(double))
        if k + 1 == n:
            mlpk_rows_backprop(W1, n0, n1, first, xa, eta, 1.0, NULL)
            return
        # row k + 1: its sums through W_1 after row k's update, by the correction
        xb = x + order[k + 1] * n0
        if bad_row != NULL and not mlpk_all_finite(xb, n0):
            mlpk_rows_backprop(W1, n0, n1, first, xa, eta, 1.0, NULL)
            bad_row[0] = order[k + 1]
            return
        applied = _second_sums(W1, n0, n1, xa, first, xb, later, eta, acts)
        d2 = _row1(params, sizes, L, units, xb, y + order[k + 1] * nL, o, stats, work)
        if k + 5 < n:
            mlpk_prefetch_rows(x, order + k + 4, 2, n0)
            mlpk_prefetch_rows(y, order + k + 4, 2, nL)
        if k + 2 >= n:
            if not applied:
                mlpk_rows_backprop(W1, n0, n1, first, xa, eta, 1.0, NULL)
            mlpk_rows_backprop(W1, n0, n1, d2, xb, eta, 1.0, NULL)
            return
        x2 = x + order[k + 2] * n0
        x3 = x + order[k + 3] * n0 if k + 3 < n else NULL
        if applied:
            _unpaired_sums(W1, n0, n1, d2, xb, eta, x2, x3, acts, later)
        else:
            mlpk_run_pair(pair, W1, n0, n1, first, xa, d2, xb, eta, x2, x3, acts, later)
        k += 2


cdef bint _second_sums(double* W1, Py_ssize_t n0, Py_ssize_t n1, const double* xa,
                       const double* first, const double* xb, const double* later,
                       double eta, double* acts) noexcept nogil:
    """_epoch1_pairs' row k + 1: its first-layer sums into acts, through W_1 after row k's
    update (xa, first), from `later`, its sums before that update, by the correction.
    Returns whether row k's update had to be applied: when the corrected sums are not
    finite (an overflow), they are redone overflow-free through the updated W_1."""
    cdef Py_ssize_t j
    cdef double c = eta * mlpk_dot(xb, xa, n0)
    for j in range(n1):
        acts[j] = later[j] - c * first[j]
    if mlpk_all_finite(acts, n1):
        return False
    mlpk_rows_backprop(W1, n0, n1, first, xa, eta, 1.0, NULL)
    mlpk_safe_combine_row(xb, n0, W1, n1, acts)
    return True


cdef void _unpaired_sums(double* W1, Py_ssize_t n0, Py_ssize_t n1, const double* d2,
                         const double* xb, double eta, const double* x2, const double* x3,
                         double* acts, double* later) noexcept nogil:
    """After _second_sums applied row k's update: row k + 1's update (xb, d2) applied
    alone, then the sums of rows k + 2 (x2, into acts) and k + 3 (x3, into later; none if
    NULL) through the updated W_1, by the plain loops instead of the two-row pass."""
    mlpk_rows_backprop(W1, n0, n1, d2, xb, eta, 1.0, NULL)
    mlpk_generic_combine_row(x2, n0, W1, n1, acts)
    if x3 != NULL:
        mlpk_generic_combine_row(x3, n0, W1, n1, later)


cdef void _momentum_step(double* params, double* velocity, const double* grad,
                         const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         const mlp_train_options* o) noexcept nogil:
    """g = grad + weight_decay W (biases: grad); v := mu v - eta g; params += v, or with
    Nesterov params += mu v - eta g"""
    cdef Py_ssize_t l, n_w, start = 0
    for l in range(1, n_layers + 1):
        n_w = sizes[l - 1] * sizes[l]
        mlpk_momentum_step(params + start, velocity + start, grad + start, n_w, o.momentum,
                          o.eta, o.weight_decay, o.nesterov)
        start += n_w
        mlpk_momentum_step(params + start, velocity + start, grad + start, sizes[l],
                          o.momentum, o.eta, 0.0, o.nesterov)
        start += sizes[l]


cdef void _adam_step(double* params, mlp_optimizer_state* state, const double* grad,
                     const Py_ssize_t* sizes, Py_ssize_t n_layers,
                     const mlp_train_options* o) noexcept nogil:
    """t += 1; g = grad + weight_decay W (biases: grad); m := b1 m + (1 - b1) g;
    v := b2 v + (1 - b2) g^2; params -= eta sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps)"""
    cdef Py_ssize_t l, n_w, start = 0
    cdef double t, alpha
    state.t += 1
    t = <double>state.t
    alpha = o.eta * sqrt(1.0 - pow(o.beta2, t)) / (1.0 - pow(o.beta1, t))
    for l in range(1, n_layers + 1):
        n_w = sizes[l - 1] * sizes[l]
        mlpk_adam_step(params + start, state.m + start, state.v + start, grad + start, n_w,
                       o.beta1, o.beta2, alpha, o.epsilon, o.weight_decay)
        start += n_w
        mlpk_adam_step(params + start, state.m + start, state.v + start, grad + start,
                       sizes[l], o.beta1, o.beta2, alpha, o.epsilon, 0.0)
        start += sizes[l]


cdef inline bint _plain(const mlp_train_options* o) noexcept nogil:
    """SGD without momentum: the step is fused into the backward pass."""
    return o.optimizer == MLP_SGD and o.momentum == 0.0


cdef double _weight_squares(const double* params, const Py_ssize_t* sizes,
                            Py_ssize_t n_layers) noexcept nogil:
    """sum W^2 over the weights of every layer (not the biases)"""
    cdef Py_ssize_t l, n_w, start = 0
    cdef double total = 0.0
    for l in range(1, n_layers + 1):
        n_w = sizes[l - 1] * sizes[l]
        total += mlpk_dot(params + start, params + start, n_w)
        start += n_w + sizes[l]
    return total


cdef void _step(double* params, mlp_optimizer_state* state, const Py_ssize_t* sizes,
                Py_ssize_t n_layers, const int* units, const double* x, const double* y,
                const double* w, Py_ssize_t m, const mlp_train_options* options,
                mlp_epoch_stats* stats, double* grad, double* work) noexcept nogil:
    """One step on a batch of m rows with weights w (m, or NULL: all 1; see
    mlp_train_epoch); adds the rows' (weighted) C, correct count and L2 term, measured
    before the step, to stats. grad: mlp_n_params doubles, used with momentum and Adam
    only."""
    cdef Py_ssize_t nL = sizes[n_layers], i
    cdef double* acts = work
    cdef double* delta_work = acts + _acts_size(sizes, n_layers, m)
    cdef double total = <double>m, cost
    cdef mlp_train_options o = options[0]   # with the mini-batch's own weight decay
    if w != NULL:
        total = 0.0
        for i in range(m):
            total += w[i]
    if o.batch_decay != 0.0:
        stats.penalty += (<double>m * o.batch_decay / (2.0 * total)
                          * _weight_squares(params, sizes, n_layers))
        o.weight_decay = o.weight_decay + o.batch_decay / total
    if m == 1 and w == NULL and _plain(&o):
        _step1(params, sizes, n_layers, units, x, y, &o, stats, work)
        return
    _forward(params, sizes, n_layers, units, x, m, acts)
    stats.correct += _correct(delta_work - m * nL, y, m, nL)
    if _plain(&o):
        cost = _backprop(params, sizes, n_layers, units, x, y, w, m, acts, delta_work,
                         params, -o.eta / total, 1.0 - o.eta * o.weight_decay, 1.0, o.cost)
    else:
        cost = _backprop(params, sizes, n_layers, units, x, y, w, m, acts, delta_work, grad,
                         1.0 / total, 0.0, 0.0, o.cost)
        if o.optimizer == MLP_ADAM:
            _adam_step(params, state, grad, sizes, n_layers, &o)
        else:
            _momentum_step(params, state.velocity, grad, sizes, n_layers, &o)
    stats.cost += cost if w == NULL else <double>m / total * cost


cdef void _train_epoch(double* params, mlp_optimizer_state* state,
                       const Py_ssize_t* sizes, Py_ssize_t n_layers, const int* units,
                       const double* x, const double* y, const double* weights,
                       const Py_ssize_t* order, Py_ssize_t n, Py_ssize_t batch,
                       const mlp_train_options* o, mlp_epoch_stats* stats, double* work,
                       Py_ssize_t* bad_row) noexcept nogil:
    """One epoch over the rows order[0..n) in mini-batches of `batch` (see mlp_train_epoch).

    With bad_row (else NULL), each row of x is checked as it is gathered, while it is in
    cache: the first holding NaN or infinity is reported in *bad_row and ends the epoch
    before its mini-batch's step, so validating x costs no pass of its own.
    """
    cdef Py_ssize_t start, m, i, row
    cdef Py_ssize_t n0 = sizes[0], nL = sizes[n_layers]
    cdef double* xb = work
    cdef double* yb = xb + batch * n0
    cdef double* wb = yb + batch * nL
    cdef double* grad = wb + batch
    cdef double* step_work = grad + mlp_n_params(sizes, n_layers)
    stats.cost = 0.0
    stats.correct = 0
    stats.penalty = 0.0
    if batch == 1 and _plain(o) and weights == NULL and o.batch_decay == 0.0:
        # grad, unused by this step, is _epoch1's spare (n_params >= 2 sizes[1] doubles)
        _epoch1(params, sizes, n_layers, units, x, y, order, n, o, stats, step_work, grad,
                bad_row)
        return
    start = 0
    while start < n:
        m = min(batch, n - start)
        for i in range(m):
            row = order[start + i]
            memcpy(xb + i * n0, x + row * n0, n0 * sizeof(double))
            memcpy(yb + i * nL, y + row * nL, nL * sizeof(double))
            if weights != NULL:
                wb[i] = weights[row]
            if bad_row != NULL and not mlpk_all_finite(xb + i * n0, n0):
                bad_row[0] = row
                return
            # the next mini-batch's row i, asked for now so that it arrives during the step;
            # one at a time, between copies, so as not to stall on a burst of misses
            if start + m + i < n:
                mlpk_prefetch_rows(x, order + start + m + i, 1, n0)
        _step(params, state, sizes, n_layers, units, xb, yb,
              wb if weights != NULL else NULL, m, o, stats, grad, step_work)
        start += m


cdef bint _bad_options(const mlp_train_options* o,
                       const mlp_optimizer_state* state) noexcept nogil:
    """Whether an option is out of range, or a state buffer the options use is missing."""
    if not (o.eta > 0.0 and o.eta <= DBL_MAX
            and (o.cost == MLP_QUADRATIC or o.cost == MLP_CROSS_ENTROPY
                 or o.cost == MLP_POISSON)
            and o.weight_decay >= 0.0 and o.weight_decay <= DBL_MAX
            and o.batch_decay >= 0.0 and o.batch_decay <= DBL_MAX):
        return True
    if o.optimizer == MLP_SGD:
        return not (o.momentum >= 0.0 and o.momentum <= 1.0
                    and (o.momentum == 0.0 or (state != NULL and state.velocity != NULL)))
    if o.optimizer == MLP_ADAM:
        return not (o.momentum == 0.0 and o.nesterov == 0
                    and o.beta1 >= 0.0 and o.beta1 < 1.0 and o.beta2 >= 0.0
                    and o.beta2 < 1.0 and o.epsilon > 0.0 and o.epsilon <= DBL_MAX
                    and state != NULL and state.m != NULL and state.v != NULL
                    and state.t >= 0)
    return True


cdef inline mlp_train_options _plain_sgd(double eta, int cost) noexcept nogil:
    cdef mlp_train_options o
    memset(&o, 0, sizeof(o))
    o.eta = eta
    o.cost = cost
    return o


# --- the C API (checking) ----------------------------------------------------------------

cdef Py_ssize_t mlp_n_params(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    """sum_l n_{l-1} n_l + n_l"""
    cdef Py_ssize_t l, total = 0
    if _bad_sizes(sizes, n_layers):
        return -1
    for l in range(1, n_layers + 1):
        total += sizes[l - 1] * sizes[l] + sizes[l]
    return total


cdef Py_ssize_t mlp_predict_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                      Py_ssize_t block) noexcept nogil:
    """2 block max(n_1..n_{L-1}): hidden activations, two buffers used in turn"""
    if _bad_sizes(sizes, n_layers) or _bad_block(block):
        return -1
    return 2 * block * _max_width(sizes, 1, n_layers - 1)


cdef Py_ssize_t mlp_gradient_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                       Py_ssize_t block) noexcept nogil:
    """activations of block rows, then two delta buffers"""
    if _bad_sizes(sizes, n_layers) or _bad_block(block):
        return -1
    return _acts_size(sizes, n_layers, block) + 2 * block * _max_width(sizes, 1, n_layers)


cdef Py_ssize_t mlp_epoch_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                    Py_ssize_t batch) noexcept nogil:
    """gathered x, y and weights of one mini-batch, a gradient (for momentum), then what a
    step on the mini-batch needs"""
    if _bad_sizes(sizes, n_layers) or _bad_block(batch):
        return -1
    return (batch * (sizes[0] + sizes[n_layers] + 1) + mlp_n_params(sizes, n_layers)
            + mlp_gradient_work_size(sizes, n_layers, batch))


cdef void mlp_sigmoid(double* x, Py_ssize_t n) noexcept nogil:
    """x := sig(x)"""
    mlpk_sigmoid_inplace(x, n)


cdef int mlp_predict(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                     const int* activations, const double* x, Py_ssize_t n, double* out,
                     double* work, Py_ssize_t block) noexcept nogil:
    """out := a_L(x), block by block"""
    cdef Py_ssize_t start, m, l, n_in, n_out, half
    cdef const double* p
    cdef const double* a_in
    cdef double* a_out
    if _bad_sizes(sizes, n_layers):
        return MLP_ERR_SIZES
    if n < 0 or _bad_block(block):
        return MLP_ERR_ROWS
    if _bad_units(activations, n_layers, _default_cost(activations, n_layers)):
        return MLP_ERR_ACTIVATION
    half = block * _max_width(sizes, 1, n_layers - 1)
    start = 0
    while start < n:
        m = min(block, n - start)
        p = params
        a_in = x + start * sizes[0]
        for l in range(1, n_layers + 1):
            n_in = sizes[l - 1]
            n_out = sizes[l]
            if l == n_layers:
                a_out = out + start * n_out
            else:
                a_out = work + (l % 2) * half
            _layer(a_in, m, n_in, p, p + n_in * n_out, n_out, a_out,
                   _unit(activations, l))
            p += n_in * n_out + n_out
            a_in = a_out
        start += m
    return MLP_OK


cdef double _gradient(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* units, const double* x, const double* y, const double* w,
                      Py_ssize_t n, double* out, double alpha, int cost, double* work,
                      Py_ssize_t block) noexcept nogil:
    """out := out + alpha sum_rows s_i dC_i/dparams over n rows; returns sum_rows s_i C_i
    (s_i = w[i], or 1 when w is NULL)"""
    cdef Py_ssize_t start = 0, m
    cdef Py_ssize_t n0 = sizes[0], nL = sizes[n_layers]
    cdef double* acts = work
    cdef double* delta_work = work + _acts_size(sizes, n_layers, block)
    cdef double total = 0.0
    while start < n:
        m = min(block, n - start)
        _forward(params, sizes, n_layers, units, x + start * n0, m, acts)
        total += _backprop(params, sizes, n_layers, units, x + start * n0, y + start * nL,
                           w + start if w != NULL else NULL, m, acts, delta_work, out,
                           alpha, 1.0, 1.0, cost)
        start += m
    return total


cdef int mlp_gradient(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* activations, const double* x, const double* y,
                      const double* weights, Py_ssize_t n, int cost, double* out,
                      double alpha, double* cost_sum, double* work,
                      Py_ssize_t block) noexcept nogil:
    """out := out + alpha sum_rows s_i dC_i/dparams over n rows; *cost_sum := sum_rows
    s_i C_i"""
    cdef double total
    if _bad_sizes(sizes, n_layers):
        return MLP_ERR_SIZES
    if n < 0 or _bad_block(block):
        return MLP_ERR_ROWS
    if _bad_units(activations, n_layers, cost):
        return MLP_ERR_ACTIVATION
    total = _gradient(params, sizes, n_layers, activations, x, y, weights, n, out, alpha,
                      cost, work, block)
    if cost_sum != NULL:
        cost_sum[0] = total
    return MLP_OK


cdef int mlp_sgd_step(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* activations, const double* x, const double* y,
                      Py_ssize_t m, double eta, double* cost, double* work) noexcept nogil:
    """params -= eta/m sum_rows dC/dparams; *cost := sum_rows C before the step"""
    cdef mlp_train_options o
    cdef mlp_epoch_stats stats
    if _bad_sizes(sizes, n_layers):
        return MLP_ERR_SIZES
    if _bad_block(m):
        return MLP_ERR_ROWS
    o = _plain_sgd(eta, _default_cost(activations, n_layers))
    if _bad_units(activations, n_layers, o.cost):
        return MLP_ERR_ACTIVATION
    if _bad_options(&o, NULL):
        return MLP_ERR_OPTIONS
    stats.cost = 0.0
    stats.correct = 0
    stats.penalty = 0.0
    _step(params, NULL, sizes, n_layers, activations, x, y, NULL, m, &o, &stats, NULL, work)
    if cost != NULL:
        cost[0] = stats.cost
    return MLP_OK


cdef int _epoch_status(const Py_ssize_t* sizes, Py_ssize_t n_layers, const int* activations,
                       Py_ssize_t rows, const Py_ssize_t* order, Py_ssize_t n,
                       Py_ssize_t batch, const mlp_train_options* o,
                       const mlp_optimizer_state* state) noexcept nogil:
    cdef Py_ssize_t i
    if _bad_sizes(sizes, n_layers):
        return MLP_ERR_SIZES
    if n < 0 or rows < 0 or _bad_block(batch):
        return MLP_ERR_ROWS
    if _bad_options(o, state):
        return MLP_ERR_OPTIONS
    if _bad_units(activations, n_layers, o.cost):
        return MLP_ERR_ACTIVATION
    for i in range(n):
        if order[i] < 0 or order[i] >= rows:
            return MLP_ERR_ORDER
    return MLP_OK


cdef int mlp_sgd_epoch(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                       const int* activations, const double* x, const double* y,
                       Py_ssize_t rows, const Py_ssize_t* order, Py_ssize_t n,
                       Py_ssize_t batch, double eta, double* cost,
                       double* work) noexcept nogil:
    """for each mini-batch B of order: params -= eta/|B| sum_B dC/dparams"""
    cdef mlp_train_options o
    cdef mlp_epoch_stats stats
    cdef int status = MLP_ERR_SIZES
    if not _bad_sizes(sizes, n_layers):
        o = _plain_sgd(eta, _default_cost(activations, n_layers))
        status = _epoch_status(sizes, n_layers, activations, rows, order, n, batch, &o,
                               NULL)
    if status != MLP_OK:
        return status
    _train_epoch(params, NULL, sizes, n_layers, activations, x, y, NULL, order, n, batch, &o,
                 &stats, work, NULL)
    if cost != NULL:
        cost[0] = stats.cost
    return MLP_OK


cdef int mlp_train_epoch(double* params, mlp_optimizer_state* state,
                         const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         const int* activations, const double* x, const double* y,
                         const double* weights, Py_ssize_t rows, const Py_ssize_t* order,
                         Py_ssize_t n, Py_ssize_t batch, const mlp_train_options* options,
                         mlp_epoch_stats* stats, double* work) noexcept nogil:
    """mlp_sgd_epoch with row weights and the cost, L2, momentum, Nesterov and Adam
    options"""
    cdef mlp_epoch_stats local
    cdef int status = _epoch_status(sizes, n_layers, activations, rows, order, n, batch,
                                    options, state)
    if status != MLP_OK:
        return status
    _train_epoch(params, state, sizes, n_layers, activations, x, y, weights, order, n,
                 batch, options, stats if stats != NULL else &local, work, NULL)
    return MLP_OK


# --- the Python boundary -----------------------------------------------------------------

cdef class ParamLock:
    """A readers-writer lock for one network's parameters. The kernels below take it (with
    the GIL released while they wait): predict and gradient as readers, any number at
    once; train_epoch as the writer, for one call. ``write()`` and ``read()`` are context
    managers for Python code that touches the parameters."""

    cdef mlpk_rwlock lock

    def __cinit__(self):
        if mlpk_rwlock_init(&self.lock) != 0:
            raise MemoryError("could not create a parameter lock")

    def __dealloc__(self):
        mlpk_rwlock_destroy(&self.lock)

    def write(self):
        """Context manager: hold the lock as the writer."""
        return _Held(self, True)

    def read(self):
        """Context manager: hold the lock as a reader."""
        return _Held(self, False)


cdef class _Held:
    cdef ParamLock owner
    cdef bint writing

    def __cinit__(self, ParamLock owner, bint writing):
        self.owner = owner
        self.writing = writing

    def __enter__(self):
        with nogil:
            if self.writing:
                mlpk_rwlock_write(&self.owner.lock)
            else:
                mlpk_rwlock_read(&self.owner.lock)
        return self

    def __exit__(self, *exc):
        if self.writing:
            mlpk_rwlock_unlock_write(&self.owner.lock)
        else:
            mlpk_rwlock_unlock_read(&self.owner.lock)
        return False


cdef inline void _lock(ParamLock lock, bint writing) noexcept nogil:
    if lock is not None:
        if writing:
            mlpk_rwlock_write(&lock.lock)
        else:
            mlpk_rwlock_read(&lock.lock)


cdef inline void _unlock(ParamLock lock, bint writing) noexcept nogil:
    if lock is not None:
        if writing:
            mlpk_rwlock_unlock_write(&lock.lock)
        else:
            mlpk_rwlock_unlock_read(&lock.lock)


# Each function checks the buffer lengths its C call relies on, in O(1), and that every
# buffer is aligned for its type, raising ValueError naming the buffer; the C API itself
# checks sizes, row counts and the index order.

cdef inline double* _ptr(double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef int _check_address(const void* p, size_t alignment, str name) except -1:
    """Raise unless p, a buffer's first element, is aligned for its type: the kernels load
    and store whole doubles (and indices), which a misaligned address makes undefined."""
    cdef size_t offset = <uintptr_t>p % alignment
    if offset != 0:
        raise ValueError(f"{name} is not aligned: its data starts {offset} bytes past a "
                         f"multiple of {alignment}; pass an aligned copy (numpy: "
                         f"np.require(a, requirements='A'))")
    return 0


cdef int _aligned(const double[::1] a, str name) except -1:
    if a.shape[0] > 0:
        _check_address(&a[0], MLPK_DOUBLE_ALIGN, name)
    return 0


cdef int _aligned_rows(const double[:, ::1] a, str name) except -1:
    if a.shape[0] > 0 and a.shape[1] > 0:
        _check_address(&a[0, 0], MLPK_DOUBLE_ALIGN, name)
    return 0


cdef int _aligned_indices(const Py_ssize_t[::1] a, str name) except -1:
    if a.shape[0] > 0:
        _check_address(&a[0], MLPK_INDEX_ALIGN, name)
    return 0


cdef Py_ssize_t _layers(const Py_ssize_t[::1] sizes) except -1:
    """Check sizes (aligned, >= 2 entries, each in [1, INT_MAX]); return the number of
    layers."""
    cdef Py_ssize_t l
    _aligned_indices(sizes, "sizes")
    if sizes.shape[0] < 2:
        raise ValueError(f"sizes needs at least 2 entries, got {sizes.shape[0]}")
    for l in range(sizes.shape[0]):
        if sizes[l] < 1 or sizes[l] > INT_MAX:
            raise ValueError(f"sizes[{l}] = {sizes[l]} is outside [1, {INT_MAX}]")
    return sizes.shape[0] - 1


cdef int _check(int status, str rows_name) except -1:
    """Raise for a C API status other than MLP_OK."""
    if status == MLP_ERR_ROWS:
        raise ValueError(f"{rows_name} must be in [1, {INT_MAX}]")
    if status == MLP_ERR_ORDER:
        raise ValueError("order has an index outside [0, rows of x)")
    if status == MLP_ERR_OPTIONS:
        raise ValueError("an option is out of range: eta must be finite and > 0, cost "
                         "quadratic or cross-entropy, weight_decay finite and >= 0, "
                         "momentum in [0, 1) with a velocity buffer; with Adam, momentum "
                         "0, beta1 and beta2 in [0, 1), epsilon > 0 and m, v buffers")
    if status == MLP_ERR_ACTIVATION:
        raise ValueError("activations: a layer has an activation it cannot have (tanh and "
                         "relu are for hidden layers, softmax for the output), or the cost "
                         "does not go with the output (quadratic: sigmoid or identity; "
                         "cross-entropy: sigmoid or softmax)")
    if status != MLP_OK:
        raise ValueError(f"invalid sizes (status {status})")
    return 0


cdef int _check_params(Py_ssize_t length, const Py_ssize_t[::1] sizes,
                       Py_ssize_t L) except -1:
    cdef Py_ssize_t need = mlp_n_params(&sizes[0], L)
    if length != need:
        raise ValueError(f"params has {length} entries, sizes need {need}")
    return 0


cdef int _check_matrix(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t want_rows,
                       Py_ssize_t want_cols, str name) except -1:
    if rows != want_rows or cols != want_cols:
        raise ValueError(f"{name} has shape ({rows}, {cols}), expected "
                         f"({want_rows}, {want_cols})")
    return 0


cdef int _check_work(Py_ssize_t length, Py_ssize_t need, str block_name) except -1:
    if need < 0:
        raise ValueError(f"{block_name} must be in [1, {INT_MAX}]")
    if length < need:
        raise ValueError(f"work has {length} entries, this call needs {need}")
    return 0


def n_params(const Py_ssize_t[::1] sizes):
    """Number of parameters of a network with these layer sizes."""
    cdef Py_ssize_t L = _layers(sizes)
    return mlp_n_params(&sizes[0], L)


def predict_work_size(const Py_ssize_t[::1] sizes, Py_ssize_t block):
    """Doubles of work that ``predict`` needs for blocks of ``block`` rows."""
    cdef Py_ssize_t L = _layers(sizes)
    return mlp_predict_work_size(&sizes[0], L, block)


def gradient_work_size(const Py_ssize_t[::1] sizes, Py_ssize_t block):
    """Doubles of work that ``gradient`` needs for blocks of ``block`` rows."""
    cdef Py_ssize_t L = _layers(sizes)
    return mlp_gradient_work_size(&sizes[0], L, block)


def epoch_work_size(const Py_ssize_t[::1] sizes, Py_ssize_t batch):
    """Doubles of work that ``sgd_epoch`` needs for mini-batches of ``batch`` rows."""
    cdef Py_ssize_t L = _layers(sizes)
    return mlp_epoch_work_size(&sizes[0], L, batch)


def sigmoid(double[::1] x):
    """x := sig(x) = 1/(1+exp(-x)), in place."""
    _aligned(x, "x")
    with nogil:
        mlp_sigmoid(_ptr(x), x.shape[0])


def all_finite(const double[::1] x):
    """True if no entry of x is NaN or infinite (one pass, no temporary array)."""
    cdef int ok
    _aligned(x, "x")
    with nogil:
        ok = mlpk_all_finite(&x[0], x.shape[0]) if x.shape[0] > 0 else 1
    return bool(ok)


def kernel_level():
    """The kernel level in use, ``"generic"``, ``"avx2"`` or ``"avx512"``: decided once, at
    import, from the CPU and ``MLP_KERNELS`` (see ``_levels.h``)."""
    return _LEVELS[mlpk_current_level()]


def kernel_levels():
    """The kernel levels this CPU and build can run, lowest first (``MLP_KERNELS`` may name
    any of them)."""
    return _LEVELS[:mlpk_best_level() + 1]


cdef const int* _units_of(const int[::1] activations, Py_ssize_t L) except? NULL:
    """The activation codes' buffer, checked: aligned, one per layer (empty: NULL, every
    layer a sigmoid)."""
    if activations.shape[0] == 0:
        return NULL
    _check_address(&activations[0], sizeof(int), "activations")
    if activations.shape[0] != L:
        raise ValueError(f"activations has {activations.shape[0]} entries, one per layer "
                         f"({L}) expected")
    return &activations[0]


cdef mlp_train_options _options(double eta, int cost, double weight_decay, double momentum,
                                bint nesterov, int optimizer, double beta1, double beta2,
                                double epsilon, double batch_decay=0.0):
    cdef mlp_train_options o
    memset(&o, 0, sizeof(o))
    o.eta = eta
    o.cost = cost
    o.weight_decay = weight_decay
    o.momentum = momentum
    o.nesterov = nesterov
    o.optimizer = optimizer
    o.beta1 = beta1
    o.beta2 = beta2
    o.epsilon = epsilon
    o.batch_decay = batch_decay
    return o


cdef int _state(mlp_optimizer_state* st, double[::1] state, Py_ssize_t n, int optimizer,
                double momentum, long long t) except -1:
    """st := the optimizer buffers in ``state``: Adam's m and v (2 n doubles, m first),
    momentum's velocity (n), or none (empty)."""
    memset(st, 0, sizeof(mlp_optimizer_state))
    st.t = t
    _aligned(state, "state")
    if state.shape[0] == 0:
        return 0
    if optimizer == MLP_ADAM:
        if state.shape[0] != 2 * n:
            raise ValueError(f"state has {state.shape[0]} entries; Adam's m and v need "
                             f"{2 * n}")
        st.m = &state[0]
        st.v = &state[n]
    elif momentum != 0.0:
        if state.shape[0] != n:
            raise ValueError(f"state has {state.shape[0]} entries; the velocity needs {n}")
        st.velocity = &state[0]
    return 0


cdef const double* _row_weights(const double[::1] weights, Py_ssize_t rows) except? NULL:
    """The row weights' buffer, checked: None gives NULL (every row weighs 1); else aligned,
    one per row."""
    if weights is None:
        return NULL
    if weights.shape[0] != rows:
        raise ValueError(f"sample_weight has {weights.shape[0]} entries, one per row "
                         f"({rows}) expected")
    if rows == 0:
        return NULL
    _aligned(weights, "sample_weight")
    return &weights[0]


def predict(const double[::1] params, const Py_ssize_t[::1] sizes,
            const int[::1] activations, const double[:, ::1] x, double[:, ::1] out,
            double[::1] work, Py_ssize_t block, bint check_finite=False,
            ParamLock lock=None):
    """out := a_L(x). activations: one mlp_activation per layer (empty: all sigmoid).
    Returns -1, or with ``check_finite`` the first row of x holding NaN or infinity (each
    block is checked just before it is used, while it is in cache; the rows of out from
    that block on are not written)."""
    cdef Py_ssize_t L = _layers(sizes)
    cdef Py_ssize_t n = x.shape[0], n0 = sizes[0], start = 0, m, i, bad = -1
    cdef int status = MLP_OK
    cdef const int* units = _units_of(activations, L)
    _aligned(params, "params")
    _aligned_rows(x, "x")
    _aligned_rows(out, "out")
    _aligned(work, "work")
    _check_params(params.shape[0], sizes, L)
    _check_matrix(n, x.shape[1], n, n0, "x")
    _check_matrix(out.shape[0], out.shape[1], n, sizes[L], "out")
    _check_work(work.shape[0], mlp_predict_work_size(&sizes[0], L, block), "block")
    if _bad_units(units, L, _default_cost(units, L)):
        _check(MLP_ERR_ACTIVATION, "block")
    if n == 0:
        return -1
    with nogil:
        _lock(lock, False)
        if not check_finite:
            status = mlp_predict(&params[0], &sizes[0], L, units, &x[0, 0], n, &out[0, 0],
                                 _ptr(work), block)
        else:
            while start < n and status == MLP_OK:
                m = min(block, n - start)
                if not mlpk_all_finite(&x[start, 0], m * n0):
                    for i in range(start, start + m):
                        if not mlpk_all_finite(&x[i, 0], n0):
                            bad = i
                            break
                    break
                status = mlp_predict(&params[0], &sizes[0], L, units, &x[start, 0], m,
                                     &out[start, 0], _ptr(work), block)
                start += m
        _unlock(lock, False)
    _check(status, "block")
    return bad


def gradient(const double[::1] params, const Py_ssize_t[::1] sizes,
             const int[::1] activations, const double[:, ::1] x, const double[:, ::1] y,
             double[::1] out, double alpha, double[::1] work, Py_ssize_t block,
             int cost=MLP_QUADRATIC, ParamLock lock=None, *,
             const double[::1] sample_weight=None):
    """out := out + alpha sum_rows s_i dC_i/dparams; returns sum_rows s_i C_i, with s_i
    the row's ``sample_weight`` (None: 1). cost: an mlp_cost that goes with the output."""
    cdef Py_ssize_t L = _layers(sizes)
    cdef Py_ssize_t n = x.shape[0]
    cdef double total = 0.0
    cdef const int* units = _units_of(activations, L)
    cdef const double* w = _row_weights(sample_weight, n)
    _aligned(params, "params")
    _aligned_rows(x, "x")
    _aligned_rows(y, "y")
    _aligned(out, "out")
    _aligned(work, "work")
    _check_params(params.shape[0], sizes, L)
    _check_matrix(n, x.shape[1], n, sizes[0], "x")
    _check_matrix(y.shape[0], y.shape[1], n, sizes[L], "y")
    if out.shape[0] != params.shape[0]:
        raise ValueError(f"out has {out.shape[0]} entries, params has {params.shape[0]}")
    _check_work(work.shape[0], mlp_gradient_work_size(&sizes[0], L, block), "block")
    if cost != MLP_QUADRATIC and cost != MLP_CROSS_ENTROPY and cost != MLP_POISSON:
        raise ValueError(f"cost must be an mlp_cost (0, 1 or 2), got {cost}")
    if _bad_units(units, L, cost):
        _check(MLP_ERR_ACTIVATION, "block")
    if n == 0:
        return 0.0
    with nogil:
        _lock(lock, False)
        total = _gradient(&params[0], &sizes[0], L, units, &x[0, 0], &y[0, 0], w, n,
                          &out[0], alpha, cost, &work[0], block)
        _unlock(lock, False)
    return total


def train_epoch(double[::1] params, double[::1] state, const Py_ssize_t[::1] sizes,
                const int[::1] activations, const double[:, ::1] x, const double[:, ::1] y,
                const Py_ssize_t[::1] order, Py_ssize_t batch, double eta,
                double[::1] work, *, int cost=MLP_QUADRATIC, double weight_decay=0.0,
                double momentum=0.0, bint nesterov=False, int optimizer=MLP_SGD,
                double beta1=0.9, double beta2=0.999, double epsilon=1e-8,
                long long t=0, bint check_finite=False, ParamLock lock=None,
                double batch_decay=0.0, const double[::1] sample_weight=None):
    """One epoch over the rows ``order`` (mlp_train_epoch), row ``i`` weighted by
    ``sample_weight[i]`` (None: 1). ``state``: Adam's m and v (2 n_params, m first),
    momentum's velocity (n_params), or empty for plain SGD; ``t``: Adam's steps so far.
    Returns ``(cost, correct, bad_row, t, penalty)``: the (weighted) sum of C and the
    count of rows whose largest output is at their largest target, each measured before
    its mini-batch's step (see mlp_epoch_stats); -1, or with ``check_finite`` the first
    row of x holding NaN or infinity, which stopped the pass before its mini-batch's step;
    Adam's steps after the epoch; and the sum of the mini-batches' batch_decay terms."""
    cdef Py_ssize_t L = _layers(sizes)
    cdef Py_ssize_t rows = x.shape[0], n = order.shape[0], bad = -1
    cdef mlp_train_options o = _options(eta, cost, weight_decay, momentum, nesterov,
                                        optimizer, beta1, beta2, epsilon, batch_decay)
    cdef mlp_optimizer_state st
    cdef mlp_epoch_stats stats
    cdef int status
    cdef const int* units = _units_of(activations, L)
    cdef const double* w = _row_weights(sample_weight, rows)
    stats.cost = 0.0
    stats.correct = 0
    stats.penalty = 0.0
    _aligned(params, "params")
    _aligned_rows(x, "x")
    _aligned_rows(y, "y")
    _aligned_indices(order, "order")
    _aligned(work, "work")
    _check_params(params.shape[0], sizes, L)
    _state(&st, state, params.shape[0], optimizer, momentum, t)
    _check_matrix(rows, x.shape[1], rows, sizes[0], "x")
    _check_matrix(y.shape[0], y.shape[1], rows, sizes[L], "y")
    _check_work(work.shape[0], mlp_epoch_work_size(&sizes[0], L, batch), "batch")
    if n == 0:
        return 0.0, 0, -1, t, 0.0
    with nogil:
        status = _epoch_status(&sizes[0], L, units, rows, &order[0], n, batch, &o, &st)
        if status == MLP_OK:
            _lock(lock, True)
            _train_epoch(&params[0], &st, &sizes[0], L, units, &x[0, 0], &y[0, 0], w,
                         &order[0], n, batch, &o, &stats, &work[0],
                         &bad if check_finite else NULL)
            _unlock(lock, True)
    _check(status, "batch")
    return stats.cost, stats.correct, bad, st.t, stats.penalty


def apply_step(double[::1] params, double[::1] state, const Py_ssize_t[::1] sizes,
               double[::1] grad, Py_ssize_t m, double eta, *, double weight_decay=0.0,
               double momentum=0.0, bint nesterov=False, int optimizer=MLP_SGD,
               double beta1=0.9, double beta2=0.999, double epsilon=1e-8, long long t=0,
               ParamLock lock=None):
    """One step from ``grad``, the gradient summed over a mini-batch of ``m`` rows, by the
    epoch's own update rule (see mlp_train_epoch): plain SGD
    ``W := (1 - eta weight_decay) W - eta/m grad_W`` and ``b := b - eta/m grad_b``;
    otherwise ``grad := grad / m`` (in place: grad is scratch) and the momentum or Adam
    step. ``state`` as for ``train_epoch``. Holds ``lock`` for writing; returns Adam's
    steps after this one (``t`` for SGD)."""
    cdef Py_ssize_t L = _layers(sizes)
    cdef Py_ssize_t l, k, n_w, start = 0, total
    cdef double alpha, keep, inv_m
    cdef double* p
    cdef const double* g
    cdef mlp_train_options o = _options(eta, MLP_QUADRATIC, weight_decay, momentum,
                                        nesterov, optimizer, beta1, beta2, epsilon)
    cdef mlp_optimizer_state st
    _aligned(params, "params")
    _aligned(grad, "grad")
    _check_params(params.shape[0], sizes, L)
    if grad.shape[0] != params.shape[0]:
        raise ValueError(f"grad has {grad.shape[0]} entries, params has {params.shape[0]}")
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    _state(&st, state, params.shape[0], optimizer, momentum, t)
    if _bad_options(&o, &st):
        _check(MLP_ERR_OPTIONS, "m")
    total = params.shape[0]
    with nogil:
        _lock(lock, True)
        if _plain(&o):
            # the plain step, as _backprop applies it with out = params
            alpha = -eta / <double>m
            keep = 1.0 - eta * weight_decay
            for l in range(1, L + 1):
                n_w = sizes[l - 1] * sizes[l]
                p = &params[start]
                g = &grad[start]
                for k in range(n_w):
                    p[k] = keep * p[k] + alpha * g[k]
                p += n_w
                g += n_w
                for k in range(sizes[l]):
                    p[k] = p[k] + alpha * g[k]
                start += n_w + sizes[l]
        else:
            inv_m = 1.0 / <double>m
            for k in range(total):
                grad[k] *= inv_m
            if optimizer == MLP_ADAM:
                _adam_step(&params[0], &st, &grad[0], &sizes[0], L, &o)
            else:
                _momentum_step(&params[0], st.velocity, &grad[0], &sizes[0], L, &o)
        _unlock(lock, True)
    return st.t


include "_capi.pxi"
