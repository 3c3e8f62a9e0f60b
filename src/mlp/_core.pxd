# mlp._core — the compiled kernels and their C-level API.
#
# A network with L = n_layers layers has sizes[0..L] (input size first). All of its
# parameters live in one contiguous float64 vector `params`, layer after layer:
#     W1 (sizes[0] x sizes[1], row-major), b1 (sizes[1]), W2 (sizes[1] x sizes[2]), b2, ...
# W[i, j] connects input neuron i to output neuron j, so a layer computes
#     a_out = sig(b + a_in @ W)
# Every matrix of samples is row-major, one sample per row.
#
# All functions are `noexcept nogil`, allocate nothing, keep no state between calls and
# touch only the buffers they are given: calls on disjoint buffers may run concurrently
# from any number of threads. They trust their arguments (sizes >= 1, buffers as long as
# documented); the Python functions of this module check them before calling.

# --- sizes ---------------------------------------------------------------------------

# sum over l of sizes[l-1]*sizes[l] + sizes[l]: the length of `params`.
cdef Py_ssize_t mlp_n_params(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil

# m * (sizes[1] + ... + sizes[L]): the length of `acts` for m rows (mlp_forward).
cdef Py_ssize_t mlp_acts_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                              Py_ssize_t m) noexcept nogil

# 2 * m * max(sizes[1..L]): the doubles of `work` that mlp_backprop needs for m rows.
cdef Py_ssize_t mlp_backprop_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                       Py_ssize_t m) noexcept nogil

# mlp_acts_size + mlp_backprop_work_size: the `work` of mlp_gradient for blocks of m rows.
cdef Py_ssize_t mlp_gradient_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                       Py_ssize_t m) noexcept nogil

# batch * (sizes[0] + sizes[L]) + mlp_gradient_work_size: the `work` of mlp_sgd_epoch.
cdef Py_ssize_t mlp_epoch_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                    Py_ssize_t batch) noexcept nogil

# 2 * block * max(sizes[1..L-1]) (0 when L = 1): the `work` of mlp_predict.
cdef Py_ssize_t mlp_predict_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                      Py_ssize_t block) noexcept nogil

# --- kernels -------------------------------------------------------------------------

# x[k] := sig(x[k]) = 1/(1+exp(-x[k])), finite for every finite input. x: (n,).
cdef void mlp_sigmoid(double* x, Py_ssize_t n) noexcept nogil

# acts := [a1, a2, ..., aL], a_l = sig(b_l + a_{l-1} @ W_l), a0 = x.
# x: (m, sizes[0]); acts: (m * (sizes[1] + ... + sizes[L])), a_l stored (m, sizes[l]).
cdef void mlp_forward(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const double* x, Py_ssize_t m, double* acts) noexcept nogil

# out := out + alpha * sum over the m rows of dC/dparams; returns sum of C over the rows.
# C = 1/2 sum_j (aL_j - y_j)^2. acts: from mlp_forward on the same params, x and m.
# y: (m, sizes[L]); out: like params; work: mlp_backprop_work_size(sizes, n_layers, m).
# out may be params itself (alpha = -eta/m is then one SGD step): each W_l is read for the
# delta recursion before it is written.
cdef double mlp_backprop(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         const double* x, const double* y, Py_ssize_t m,
                         const double* acts, double* work,
                         double* out, double alpha) noexcept nogil

# out := out + alpha * sum over the n rows of dC/dparams, in blocks of `block` rows;
# returns sum of C over the rows. x: (n, sizes[0]); y: (n, sizes[L]); out: like params;
# work: mlp_gradient_work_size(sizes, n_layers, block).
cdef double mlp_gradient(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         const double* x, const double* y, Py_ssize_t n, Py_ssize_t block,
                         double* out, double alpha, double* work) noexcept nogil

# out := aL for the n rows of x, in blocks of `block` rows. x: (n, sizes[0]);
# out: (n, sizes[L]); work: mlp_predict_work_size(sizes, n_layers, block).
cdef void mlp_predict(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const double* x, Py_ssize_t n, Py_ssize_t block,
                      double* out, double* work) noexcept nogil

# One pass of mini-batch SGD over the rows order[0..n): consecutive mini-batches of `batch`
# rows (the last may be shorter), each params -= eta/m * sum of dC/dparams over its m rows.
# Returns the sum of C over the rows, each measured before its mini-batch's update.
# x: (rows, sizes[0]); y: (rows, sizes[L]); order: (n,) row indices into x and y;
# work: mlp_epoch_work_size(sizes, n_layers, batch).
cdef double mlp_sgd_epoch(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                          const double* x, const double* y, const Py_ssize_t* order,
                          Py_ssize_t n, Py_ssize_t batch, double eta,
                          double* work) noexcept nogil
