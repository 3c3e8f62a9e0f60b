# cython: boundscheck=False, wraparound=False
"""Calling mlp's compiled kernels from nogil code: the C-level API in mlp/_core.pxd."""

import numpy as np
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from mlp cimport _core

# Refuse to run against an mlp whose C API differs from the one compiled against.
import mlp._core
if mlp._core.C_API_VERSION != _core.MLP_C_API_VERSION:
    raise ImportError("mlp's C API changed: rebuild mlp_embed against the installed mlp")

OPTIMIZERS = {"sgd": _core.MLP_SGD, "adam": _core.MLP_ADAM}
STATUS_NAMES = {_core.MLP_ERR_SIZES: "MLP_ERR_SIZES", _core.MLP_ERR_ROWS: "MLP_ERR_ROWS",
                _core.MLP_ERR_ORDER: "MLP_ERR_ORDER", _core.MLP_ERR_OPTIONS: "MLP_ERR_OPTIONS",
                _core.MLP_ERR_ACTIVATION: "MLP_ERR_ACTIVATION"}


cdef int check(int status, str function) except -1:
    """Raise ValueError naming the status unless status is MLP_OK."""
    if status != _core.MLP_OK:
        raise ValueError(f"{function} failed: {STATUS_NAMES.get(status, status)}")
    return 0


cdef int own_cost(const int[::1] activations):
    """The output's own cost: cross-entropy for a softmax output, else quadratic."""
    if activations[activations.shape[0] - 1] == _core.MLP_SOFTMAX:
        return _core.MLP_CROSS_ENTROPY
    return _core.MLP_QUADRATIC


def predict_parallel(net, const double[:, ::1] X, int n_threads=2, Py_ssize_t chunk=256):
    """net.predict(X), rows split in chunks over n_threads threads in a prange loop."""
    # An MLP's own buffers, viewed without copying.
    cdef const double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef const int[::1] units = net.activation_codes  # one mlp_activation per layer
    cdef Py_ssize_t L = sizes.shape[0] - 1
    cdef Py_ssize_t n = X.shape[0]
    if X.shape[1] != sizes[0]:
        raise ValueError(f"X has {X.shape[1]} columns, the network takes {sizes[0]}")
    out = np.empty((n, sizes[L]))
    cdef double[:, ::1] out_v = out
    cdef Py_ssize_t work_len = _core.mlp_predict_work_size(&sizes[0], L, chunk)
    if work_len < 0:
        raise ValueError("invalid chunk")
    # Check the arguments once, before the threads start: with no rows, mlp_predict checks
    # sizes, block and activations and touches no buffer. The calls in the loop then only
    # fail if a thread gets no work buffer.
    check(_core.mlp_predict(&params[0], &sizes[0], L, &units[0], &X[0, 0], 0,
                            &out_v[0, 0], NULL, chunk), "mlp_predict")
    cdef Py_ssize_t c, start, n_chunks = (n + chunk - 1) // chunk
    cdef double* work = NULL
    cdef int errors = 0
    with nogil, parallel(num_threads=n_threads):
        work = <double*>malloc((work_len + 1) * sizeof(double))  # one buffer per thread
        for c in prange(n_chunks, schedule="static"):
            start = c * chunk
            if work == NULL or _core.mlp_predict(
                    &params[0], &sizes[0], L, &units[0], &X[start, 0],
                    min(chunk, n - start), &out_v[start, 0], work, chunk) != _core.MLP_OK:
                errors += 1
        free(work)
    if errors:
        raise MemoryError("predict_parallel: a thread could not get its work buffer")
    return out


def mean_gradient(net, const double[:, ::1] X, const double[:, ::1] Y, cost=None):
    """The mean gradient of the cost over the rows of X, as one vector laid out like params.
    cost: an mlp_cost (mlp._core.QUADRATIC or CROSS_ENTROPY); None: the output's own."""
    cdef const double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef const int[::1] units = net.activation_codes
    cdef Py_ssize_t L = sizes.shape[0] - 1, n = X.shape[0], block = 64
    cdef int kind = own_cost(units) if cost is None else cost
    grad = np.zeros(params.shape[0])
    cdef double[::1] g = grad
    cdef double[::1] work = np.empty(_core.mlp_gradient_work_size(&sizes[0], L, block))
    cdef int status
    with nogil:
        status = _core.mlp_gradient(&params[0], &sizes[0], L, &units[0], &X[0, 0], &Y[0, 0],
                                    NULL, n, kind, &g[0], 1.0 / n, NULL, &work[0], block)
    check(status, "mlp_gradient")
    return grad


def train_epochs(net, const double[:, ::1] X, const double[:, ::1] Y, int epochs,
                 Py_ssize_t batch_size, double eta, *, cost=None, optimizer="sgd",
                 double momentum=0.0, double beta1=0.9, double beta2=0.999,
                 double epsilon=1e-8):
    """Train net in place: `epochs` epochs over the rows in order, all without the GIL, with
    SGD (optionally with momentum) or Adam, starting from a zero optimizer state.
    Returns the mean cost of each epoch and the final optimizer state, laid out as
    net.optimizer_state: {}, {"velocity": v} or {"m": m, "v": v, "t": t}."""
    cdef double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef const int[::1] units = net.activation_codes
    cdef Py_ssize_t L = sizes.shape[0] - 1, n = X.shape[0]
    cdef Py_ssize_t[::1] order = np.arange(n, dtype=np.intp)
    cdef Py_ssize_t work_len = _core.mlp_epoch_work_size(&sizes[0], L, batch_size)
    if work_len < 0:
        raise ValueError("invalid batch_size")

    # The options. A zero-initialised struct with eta set is the seed's plain SGD; set the
    # fields that differ.
    cdef _core.mlp_train_options options
    memset(&options, 0, sizeof(options))
    options.eta = eta
    options.cost = own_cost(units) if cost is None else cost
    options.optimizer = OPTIMIZERS[optimizer]
    if options.optimizer == _core.MLP_ADAM:
        options.beta1 = beta1
        options.beta2 = beta2
        options.epsilon = epsilon
    else:
        options.momentum = momentum

    # The optimizer state: buffers laid out like params, zeros to start; those the options
    # do not use stay NULL. mlp_train_epoch updates them (and Adam's step count t).
    cdef _core.mlp_optimizer_state state
    memset(&state, 0, sizeof(state))
    result = {}
    cdef double[::1] velocity, m, v
    if options.optimizer == _core.MLP_ADAM:
        result["m"], result["v"] = np.zeros(params.shape[0]), np.zeros(params.shape[0])
        m, v = result["m"], result["v"]
        state.m, state.v = &m[0], &v[0]
    elif momentum > 0:
        result["velocity"] = np.zeros(params.shape[0])
        velocity = result["velocity"]
        state.velocity = &velocity[0]

    costs = np.zeros(epochs)
    cdef double[::1] cost_v = costs
    cdef _core.mlp_epoch_stats stats
    cdef double* work = <double*>malloc((work_len + 1) * sizeof(double))
    cdef int e, status = _core.MLP_OK
    if work == NULL:
        raise MemoryError()
    with nogil:
        for e in range(epochs):
            status = _core.mlp_train_epoch(&params[0], &state, &sizes[0], L, &units[0],
                                           &X[0, 0], &Y[0, 0], NULL, n, &order[0], n,
                                           batch_size,
                                           &options, &stats, work)
            if status != _core.MLP_OK:
                break
            cost_v[e] = stats.cost / n
    free(work)
    check(status, "mlp_train_epoch")
    if options.optimizer == _core.MLP_ADAM:
        result["t"] = state.t
    return costs, result


def train_online(net, const double[:, ::1] X, const double[:, ::1] Y, double eta):
    """Online learning, as a control loop would do it: one SGD step per arriving sample,
    with the output's own cost."""
    cdef double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef const int[::1] units = net.activation_codes
    cdef Py_ssize_t L = sizes.shape[0] - 1, i
    cdef double[::1] work = np.empty(_core.mlp_gradient_work_size(&sizes[0], L, 1))
    cdef int status = _core.MLP_OK
    with nogil:
        for i in range(X.shape[0]):
            status = _core.mlp_sgd_step(&params[0], &sizes[0], L, &units[0], &X[i, 0],
                                        &Y[i, 0], 1, eta, NULL, &work[0])
            if status != _core.MLP_OK:
                break
    check(status, "mlp_sgd_step")
