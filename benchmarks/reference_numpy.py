"""A vectorized NumPy reference for mlp's mini-batch SGD: the yardstick of the benchmark.

It implements exactly the math of ``mlp.MLP.fit`` (the "seed"):

* forward: ``a_l = sig(b_l + a_{l-1} @ W_l)`` with ``W_l`` of shape ``(n_{l-1}, n_l)``;
* cost ``C = 1/2 sum (a_L - y)^2``, output delta ``(a_L - y) a_L (1 - a_L)``;
* ``delta_{l-1} = (delta_l @ W_l.T) a_{l-1} (1 - a_{l-1})``, computed with the weights
  as they were before the mini-batch's update;
* ``grad W_l = a_{l-1}.T @ delta_l``, ``grad b_l`` = column sums of ``delta_l``;
* per mini-batch of ``m`` rows: ``W -= eta/m grad W`` and ``b -= eta/m grad b``;
* an epoch visits the rows in a given index order, cut into consecutive mini-batches
  (the last one may be shorter).

It is meant to be as fast as honest NumPy gets, so that the comparison is fair:

* every product is one batched GEMM (``np.matmul(..., out=...)``), run by NumPy's BLAS
  (``np.dot`` for the weight gradient of a one-row mini-batch, which ``np.matmul``
  does not hand to BLAS);
* all activation, delta, gradient and gathered-row buffers are allocated once per
  ``fit_epoch`` call (views for the shorter last mini-batch are made once too), and every
  elementwise step is an in-place ufunc with ``out=``, so the inner loop allocates
  nothing;
* mini-batch rows are gathered with ``np.take(X, idx, axis=0, out=buffer)``;
* the factor ``-eta/m`` is applied once, to the output delta, instead of to each
  gradient: every later delta and gradient is linear in it, so the updates are the
  same, and ``W += a.T @ delta`` needs no separate scaling pass over ``W``;
* the sigmoid is ``1 / (1 + exp(-z))`` in three in-place ufuncs (the fastest NumPy form
  measured here; ``scipy.special.expit`` was slower on large blocks); ``exp`` may
  overflow to ``inf`` for very negative ``z``, which gives the correct limit 0, so the
  overflow warning is silenced for the duration of the call.

Nothing here depends on mlp: the class takes and returns plain arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NumpyMLP", "fit_epoch", "predict"]

# Rows per block in predict: big enough for BLAS to be efficient, small enough that the
# hidden-activation blocks stay in cache. mlp's own predict blocks too, but at 256 rows
# since c037eb0 (``_BLOCK`` in src/mlp/network.py); this keeps 1024, mlp's block before.
PREDICT_BLOCK = 1024


def _sigmoid_inplace(z: np.ndarray) -> None:
    """z := 1/(1+exp(-z)); call under np.errstate(over="ignore")."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    np.divide(1.0, z, out=z)


class _Views:
    """The buffers of one mini-batch size ``m``: views into the per-fit allocations."""

    __slots__ = ("m", "xb", "yb", "acts", "deltas", "tmps", "outer")

    def __init__(self, m: int, xb, yb, acts, deltas, tmps) -> None:
        self.m = m
        # a.T @ delta with a single row (an outer product): np.matmul takes a slow
        # non-BLAS loop for an inner dimension of 1 (about 5x slower than np.dot here),
        # np.dot hands it to BLAS.
        self.outer = np.dot if m == 1 else np.matmul
        self.xb = xb[:m]
        self.yb = yb[:m]
        self.acts = [a[:m] for a in acts]
        self.deltas = [d[:m] for d in deltas]
        self.tmps = [t[:m] for t in tmps]


class NumpyMLP:
    """A sigmoid MLP held as plain NumPy arrays, trained by the seed's mini-batch SGD.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[l]`` of shape ``(n_l, n_{l+1})``.
    biases : sequence of array_like
        ``biases[l]`` of shape ``(n_{l+1},)``.

    The arrays are copied (C-contiguous float64).
    """

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        self.weights = [np.array(W, dtype=np.float64, order="C", copy=True) for W in weights]
        self.biases = [np.array(b, dtype=np.float64, order="C", copy=True) for b in biases]
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError("need one bias vector per weight matrix")
        self.sizes = tuple([self.weights[0].shape[0]] + [W.shape[1] for W in self.weights])

    @property
    def params(self) -> np.ndarray:
        """All parameters in mlp's layout: ``[W_1 (row-major), b_1, W_2, b_2, ...]``."""
        return np.concatenate(
            [p.ravel() for W, b in zip(self.weights, self.biases) for p in (W, b)]
        )

    # --- training ---------------------------------------------------------------------

    def _buffers(self, batch: int, n: int) -> list[_Views]:
        """Allocate the per-fit buffers; return the views for the full mini-batch and,
        if ``n`` is not a multiple of ``batch``, for the shorter last one."""
        sizes = self.sizes
        xb = np.empty((batch, sizes[0]))
        yb = np.empty((batch, sizes[-1]))
        acts = [np.empty((batch, k)) for k in sizes[1:]]
        deltas = [np.empty((batch, k)) for k in sizes[1:]]
        tmps = [np.empty((batch, k)) for k in sizes[1:]]
        views = [_Views(batch, xb, yb, acts, deltas, tmps)]
        if n % batch:
            views.append(_Views(n % batch, xb, yb, acts, deltas, tmps))
        return views

    def fit_epoch(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        batch_size: int,
        eta: float,
        order: np.ndarray | None = None,
    ) -> None:
        """One epoch of mini-batch SGD over the rows of ``X`` in ``order``.

        Parameters
        ----------
        X : ndarray, shape (n, sizes[0]), C-contiguous float64
        Y : ndarray, shape (n, sizes[-1]), C-contiguous float64 targets
        batch_size : int
            Mini-batch size (clipped to ``len(order)``).
        eta : float
            Learning rate: each mini-batch of ``m`` rows takes a step of ``eta/m`` times
            the summed gradient.
        order : 1-D integer array, optional
            The rows to visit, in this order; default ``0..n-1``.
        """
        if order is None:
            order = np.arange(X.shape[0], dtype=np.intp)
        n = order.shape[0]
        if n == 0:
            return
        batch = min(int(batch_size), n)
        views = self._buffers(batch, n)  # activations, deltas, gathered rows
        full, last = views[0], views[-1]
        Ws, bs = self.weights, self.biases
        L = len(Ws)
        gWs = [np.empty_like(W) for W in Ws]
        gbs = [np.empty_like(b) for b in bs]
        take, matmul, multiply, subtract, add = np.take, np.matmul, np.multiply, np.subtract, np.add
        colsum = np.add.reduce
        sig = _sigmoid_inplace
        with np.errstate(over="ignore"):
            for lo in range(0, n, batch):
                v = full if lo + batch <= n else last
                idx = order[lo : lo + batch]
                xb = take(X, idx, axis=0, out=v.xb)
                yb = take(Y, idx, axis=0, out=v.yb)
                acts, deltas, tmps = v.acts, v.deltas, v.tmps
                # forward
                a_in = xb
                for l in range(L):
                    z = acts[l]
                    matmul(a_in, Ws[l], out=z)
                    add(z, bs[l], out=z)
                    sig(z)
                    a_in = z
                # output delta, already scaled by -eta/m:
                # d = (a - y) a (1 - a) (-eta/m) = (y - a) (a - a^2) (eta/m)
                a, d, t = acts[-1], deltas[-1], tmps[-1]
                subtract(yb, a, out=d)
                multiply(a, a, out=t)
                subtract(a, t, out=t)
                multiply(t, eta / v.m, out=t)
                multiply(d, t, out=d)
                # backward; each layer's W is read for delta_{l-1} before it is updated
                for l in range(L - 1, -1, -1):
                    d = deltas[l]
                    W = Ws[l]
                    if l > 0:
                        a_prev, dp, t = acts[l - 1], deltas[l - 1], tmps[l - 1]
                        matmul(d, W.T, out=dp)
                        multiply(a_prev, a_prev, out=t)
                        subtract(a_prev, t, out=t)
                        multiply(dp, t, out=dp)
                    else:
                        a_prev = xb
                    # W += a_prev.T @ d, b += column sums of d (d carries -eta/m)
                    v.outer(a_prev.T, d, out=gWs[l])
                    add(W, gWs[l], out=W)
                    colsum(d, axis=0, out=gbs[l])
                    add(bs[l], gbs[l], out=bs[l])

    # --- prediction -------------------------------------------------------------------

    def predict(self, X: np.ndarray, block: int = PREDICT_BLOCK) -> np.ndarray:
        """Output activations ``a_L`` for the rows of ``X`` (n, sizes[0]) -> (n, sizes[-1])."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        single = X.ndim == 1
        if single:
            X = X.reshape(1, -1)
        n = X.shape[0]
        Ws, bs = self.weights, self.biases
        L = len(Ws)
        out = np.empty((n, self.sizes[-1]))
        rows = min(block, n)
        hidden = [np.empty((rows, k)) for k in self.sizes[1:-1]]
        with np.errstate(over="ignore"):
            for lo in range(0, n, rows):
                hi = min(lo + rows, n)
                a_in = X[lo:hi]
                for l in range(L):
                    z = out[lo:hi] if l == L - 1 else hidden[l][: hi - lo]
                    np.matmul(a_in, Ws[l], out=z)
                    np.add(z, bs[l], out=z)
                    _sigmoid_inplace(z)
                    a_in = z
        return out[0] if single else out


def fit_epoch(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    batch_size: int,
    eta: float,
    order: np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Functional form of :meth:`NumpyMLP.fit_epoch`: returns the updated (copied)
    ``(weights, biases)``."""
    net = NumpyMLP(weights, biases)
    net.fit_epoch(X, Y, batch_size, eta, order)
    return net.weights, net.biases


def predict(
    weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray
) -> np.ndarray:
    """Functional form of :meth:`NumpyMLP.predict`."""
    return NumpyMLP(weights, biases).predict(X)
