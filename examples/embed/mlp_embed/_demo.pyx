# cython: boundscheck=False, wraparound=False
"""Calling mlp's compiled kernels from nogil code: the C-level API in mlp/_core.pxd."""

import numpy as np
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc

from mlp cimport _core

# Refuse to run against an mlp whose C API differs from the one compiled against.
import mlp._core
if mlp._core.C_API_VERSION != _core.MLP_C_API_VERSION:
    raise ImportError("mlp's C API changed: rebuild mlp_embed against the installed mlp")


def predict_parallel(net, const double[:, ::1] X, int n_threads=2, Py_ssize_t chunk=256):
    """net.predict(X), rows split in chunks over n_threads threads in a prange loop."""
    # An MLP's own buffers, viewed without copying.
    cdef const double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef Py_ssize_t L = sizes.shape[0] - 1
    cdef Py_ssize_t n = X.shape[0]
    if X.shape[1] != sizes[0]:
        raise ValueError(f"X has {X.shape[1]} columns, the network takes {sizes[0]}")
    out = np.empty((n, sizes[L]))
    cdef double[:, ::1] out_v = out
    cdef Py_ssize_t work_len = _core.mlp_predict_work_size(&sizes[0], L, chunk)
    if work_len < 0:
        raise ValueError("invalid chunk")
    cdef Py_ssize_t c, start, n_chunks = (n + chunk - 1) // chunk
    cdef double* work = NULL
    cdef int errors = 0
    with nogil, parallel(num_threads=n_threads):
        work = <double*>malloc((work_len + 1) * sizeof(double))  # one buffer per thread
        for c in prange(n_chunks, schedule="static"):
            start = c * chunk
            if work == NULL or _core.mlp_predict(
                    &params[0], &sizes[0], L, &X[start, 0], min(chunk, n - start),
                    &out_v[start, 0], work, chunk) != _core.MLP_OK:
                errors += 1
        free(work)
    if errors:
        raise MemoryError("predict_parallel: a thread could not get its work buffer")
    return out


def mean_gradient(net, const double[:, ::1] X, const double[:, ::1] Y):
    """The mean gradient of the cost over the rows of X, as one vector laid out like params."""
    cdef const double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef Py_ssize_t L = sizes.shape[0] - 1, n = X.shape[0], block = 64
    grad = np.zeros(params.shape[0])
    cdef double[::1] g = grad
    cdef double[::1] work = np.empty(_core.mlp_gradient_work_size(&sizes[0], L, block))
    cdef int status
    with nogil:
        status = _core.mlp_gradient(&params[0], &sizes[0], L, &X[0, 0], &Y[0, 0], n,
                                    &g[0], 1.0 / n, NULL, &work[0], block)
    if status != _core.MLP_OK:
        raise ValueError(f"mlp_gradient failed with status {status}")
    return grad


def train_epochs(net, const double[:, ::1] X, const double[:, ::1] Y, int epochs,
                 Py_ssize_t batch_size, double eta):
    """Train net in place: `epochs` epochs of SGD over the rows in order, all without the
    GIL. Returns the mean cost of each epoch."""
    cdef double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef Py_ssize_t L = sizes.shape[0] - 1, n = X.shape[0]
    cdef Py_ssize_t[::1] order = np.arange(n, dtype=np.intp)
    cdef Py_ssize_t work_len = _core.mlp_epoch_work_size(&sizes[0], L, batch_size)
    if work_len < 0:
        raise ValueError("invalid batch_size")
    costs = np.zeros(epochs)
    cdef double[::1] cost = costs
    cdef double* work = <double*>malloc((work_len + 1) * sizeof(double))
    cdef int e, status = _core.MLP_OK
    if work == NULL:
        raise MemoryError()
    with nogil:
        for e in range(epochs):
            status = _core.mlp_sgd_epoch(&params[0], &sizes[0], L, &X[0, 0], &Y[0, 0], n,
                                         &order[0], n, batch_size, eta, &cost[e], work)
            if status != _core.MLP_OK:
                break
            cost[e] /= n
    free(work)
    if status != _core.MLP_OK:
        raise ValueError(f"mlp_sgd_epoch failed with status {status}")
    return costs


def train_online(net, const double[:, ::1] X, const double[:, ::1] Y, double eta):
    """Online learning, as a control loop would do it: one SGD step per arriving sample."""
    cdef double[::1] params = net.params
    cdef const Py_ssize_t[::1] sizes = net.sizes_array
    cdef Py_ssize_t L = sizes.shape[0] - 1, i
    cdef double[::1] work = np.empty(_core.mlp_gradient_work_size(&sizes[0], L, 1))
    cdef int status = _core.MLP_OK
    with nogil:
        for i in range(X.shape[0]):
            status = _core.mlp_sgd_step(&params[0], &sizes[0], L, &X[i, 0], &Y[i, 0], 1,
                                        eta, NULL, &work[0])
            if status != _core.MLP_OK:
                break
    if status != _core.MLP_OK:
        raise ValueError(f"mlp_sgd_step failed with status {status}")
