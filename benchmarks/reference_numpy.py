"""A vectorized NumPy reference for mlp's training: the yardstick of the benchmarks.

It implements exactly the math of ``mlp.MLP.fit`` for plain mini-batch SGD and for Adam,
with the hidden activations and outputs mlp has; with its defaults it is the "seed":

* forward: ``a_l = f_l(b_l + a_{l-1} @ W_l)`` with ``W_l`` of shape ``(n_{l-1}, n_l)``;
  hidden ``f``: sigmoid ``1/(1+e^-z)`` (the seed's), ``tanh``, ReLU ``max(z, 0)`` or
  identity; output ``f``: sigmoid, softmax ``exp(z - max z) / sum exp(z - max z)`` per row,
  or identity;
* cost: quadratic ``C = 1/2 sum (a_L - y)^2``, output delta ``(a_L - y) a_L (1 - a_L)``
  (sigmoid) or ``a_L - y`` (identity); cross-entropy (sigmoid or softmax output), output
  delta ``a_L - y``. The default cost is the output's: quadratic for sigmoid and identity,
  cross-entropy for softmax;
* ``delta_{l-1} = (delta_l @ W_l.T) f'_{l-1}``, the derivative taken from the activation
  (``a(1-a)``, ``1-a^2``, ``[a > 0]``, ``1``), computed with the weights as they were
  before the mini-batch's update;
* ``grad W_l = a_{l-1}.T @ delta_l``, ``grad b_l`` = column sums of ``delta_l``;
* SGD, per mini-batch of ``m`` rows: ``W -= eta/m grad W`` and ``b -= eta/m grad b``;
* Adam, per mini-batch (``fit``'s docstring, Kingma and Ba's efficient form, as
  scikit-learn writes it): ``g = grad/m``, ``t += 1``, ``m = b1 m + (1-b1) g``,
  ``v = b2 v + (1-b2) g^2``, ``theta -= eta sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)``;
  the moments and ``t`` carry over from one ``fit_epoch`` call to the next (as
  ``partial_fit``'s do) until ``reset_optimizer``;
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
* for SGD, the factor ``-eta/m`` is applied once, to the output delta, instead of to each
  gradient: every later delta and gradient is linear in it, so the updates are the
  same, and ``W += a.T @ delta`` needs no separate scaling pass over ``W``; for Adam the
  output delta carries ``1/m`` instead, so the gradients are means;
* the parameters, the gradient and Adam's moments are each one flat vector (the weight
  and bias arrays are views into it), so Adam's step is a dozen in-place ufuncs over
  whole vectors, not a loop over layers;
* the sigmoid is ``1 / (1 + exp(-z))`` in three in-place ufuncs (the fastest NumPy form
  measured here; ``scipy.special.expit`` was slower on large blocks); ``exp`` may
  overflow to ``inf`` for very negative ``z``, which gives the correct limit 0, so the
  overflow warning is silenced for the duration of the call. ``np.tanh``,
  ``np.maximum(z, 0)`` and a row-wise max-shifted ``exp`` for the others.

Nothing here depends on mlp: the class takes and returns plain arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["HIDDEN", "OUTPUTS", "NumpyMLP", "fit_epoch", "predict"]

# Rows per block in predict: big enough for BLAS to be efficient, small enough that the
# hidden-activation blocks stay in cache. mlp's own predict blocks too, but at 256 rows
# since c037eb0 (``_BLOCK`` in src/mlp/network.py); this keeps 1024, mlp's block before.
PREDICT_BLOCK = 1024

#: Hidden activations and outputs, as mlp names them.
HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "softmax", "identity")
_COSTS_OF = {"sigmoid": ("quadratic", "cross_entropy"), "identity": ("quadratic",),
             "softmax": ("cross_entropy",)}


def _sigmoid_inplace(z: np.ndarray) -> None:
    """z := 1/(1+exp(-z)); call under np.errstate(over="ignore")."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    np.divide(1.0, z, out=z)


def _activate(name: str, z: np.ndarray, col: np.ndarray) -> None:
    """z := f(z) in place; col: a (rows, 1) scratch buffer (softmax's row max and sum)."""
    if name == "sigmoid":
        _sigmoid_inplace(z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0.0, out=z)
    elif name == "softmax":
        np.max(z, axis=1, keepdims=True, out=col)
        np.subtract(z, col, out=z)
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=col)
        np.divide(z, col, out=z)
    # identity: nothing


def _times_derivative(name: str, d: np.ndarray, a: np.ndarray, t: np.ndarray) -> None:
    """d *= f'(z), taken from the activations a; t: scratch of d's shape."""
    if name == "sigmoid":
        np.multiply(a, a, out=t)
        np.subtract(a, t, out=t)
        np.multiply(d, t, out=d)
    elif name == "tanh":
        np.multiply(a, a, out=t)
        np.subtract(1.0, t, out=t)
        np.multiply(d, t, out=d)
    elif name == "relu":
        np.greater(a, 0.0, out=t)
        np.multiply(d, t, out=d)
    # identity: nothing


class _Views:
    """The buffers of one mini-batch size ``m``: views into the per-fit allocations."""

    __slots__ = ("m", "xb", "yb", "acts", "deltas", "tmps", "col", "outer")

    def __init__(self, m: int, xb, yb, acts, deltas, tmps, col) -> None:
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
        self.col = col[:m]


def _carve(flat: np.ndarray, sizes: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-layer views ``(weights, biases)`` of a vector laid out as mlp's ``params``."""
    weights, biases, k = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(flat[k : k + n_in * n_out].reshape(n_in, n_out))
        k += n_in * n_out
        biases.append(flat[k : k + n_out])
        k += n_out
    return weights, biases


class NumpyMLP:
    """An MLP held as plain NumPy arrays, trained by mini-batch SGD or Adam.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[l]`` of shape ``(n_l, n_{l+1})``.
    biases : sequence of array_like
        ``biases[l]`` of shape ``(n_{l+1},)``.
    activation : str or sequence of str, default "sigmoid"
        The hidden layers' activation (one of ``HIDDEN``), or one name per hidden layer.
    output : str, default "sigmoid"
        The output layer's activation (one of ``OUTPUTS``).
    cost : {"quadratic", "cross_entropy"}, optional
        Default: the output's (quadratic for sigmoid and identity, cross-entropy for
        softmax), as in mlp.

    The arrays are copied (into one C-contiguous float64 vector, laid out as mlp's
    ``params``; ``weights`` and ``biases`` are views into it).
    """

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 activation: str | Sequence[str] = "sigmoid", output: str = "sigmoid",
                 cost: str | None = None) -> None:
        Ws = [np.asarray(W, dtype=np.float64) for W in weights]
        bs = [np.asarray(b, dtype=np.float64) for b in biases]
        if len(Ws) != len(bs) or not Ws:
            raise ValueError("need one bias vector per weight matrix")
        self.sizes = tuple([Ws[0].shape[0]] + [W.shape[1] for W in Ws])
        n_hidden = len(Ws) - 1
        hidden = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(hidden) != n_hidden or any(h not in HIDDEN for h in hidden):
            raise ValueError(f"activation must be one of {HIDDEN} or one per hidden layer, "
                             f"got {activation!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        cost = _COSTS_OF[output][0] if cost is None else cost
        if cost not in _COSTS_OF[output]:
            raise ValueError(f"cost {cost!r} does not go with a {output} output")
        self.activation = tuple(hidden)
        self.output = output
        self.cost = cost
        self.units = (*self.activation, output)
        n_params = sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        self._flat = np.empty(n_params)
        self.weights, self.biases = _carve(self._flat, self.sizes)
        for dst, src in zip(self.weights + self.biases, Ws + bs):
            if dst.shape != src.shape:
                raise ValueError(f"a layer has shape {src.shape}, expected {dst.shape}")
            dst[...] = src
        self.reset_optimizer()

    @property
    def params(self) -> np.ndarray:
        """A copy of all parameters in mlp's layout: ``[W_1 (row-major), b_1, W_2, ...]``."""
        return self._flat.copy()

    def reset_optimizer(self) -> None:
        """Forget Adam's moments and step count (as ``mlp.MLP.fit`` does on entry)."""
        self.adam_m: np.ndarray | None = None
        self.adam_v: np.ndarray | None = None
        self.adam_t = 0

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
        col = np.empty((batch, 1))
        views = [_Views(batch, xb, yb, acts, deltas, tmps, col)]
        if n % batch:
            views.append(_Views(n % batch, xb, yb, acts, deltas, tmps, col))
        return views

    def fit_epoch(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        batch_size: int,
        eta: float,
        order: np.ndarray | None = None,
        *,
        optimizer: str = "sgd",
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        """One epoch of mini-batch SGD or Adam over the rows of ``X`` in ``order``.

        Parameters
        ----------
        X : ndarray, shape (n, sizes[0]), C-contiguous float64
        Y : ndarray, shape (n, sizes[-1]), C-contiguous float64 targets
        batch_size : int
            Mini-batch size (clipped to ``len(order)``).
        eta : float
            Learning rate: with SGD each mini-batch of ``m`` rows takes a step of ``eta/m``
            times the summed gradient; with Adam, Adam's step size.
        order : 1-D integer array, optional
            The rows to visit, in this order; default ``0..n-1``.
        optimizer : {"sgd", "adam"}
        beta1, beta2, epsilon : float
            Adam's, as in ``mlp.MLP.fit``.
        """
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        adam = optimizer == "adam"
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
        units = self.units
        hidden_units = units[:-1]
        out_unit = units[-1]
        quadratic_sigmoid = self.cost == "quadratic" and out_unit == "sigmoid"
        flat = self._flat
        grad = np.empty_like(flat)
        gWs, gbs = _carve(grad, self.sizes)
        if adam:
            if self.adam_m is None:
                self.adam_m = np.zeros_like(flat)
                self.adam_v = np.zeros_like(flat)
            mom, vel, tmp = self.adam_m, self.adam_v, np.empty_like(flat)
        take, matmul, multiply, subtract, add = np.take, np.matmul, np.multiply, np.subtract, np.add
        colsum = np.add.reduce
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
                    _activate(units[l], z, v.col)
                    a_in = z
                # output delta dC/dz times the step's factor: -eta/m for SGD (so that the
                # products below are the update), 1/m for Adam (so that they are the mean
                # gradient). Written as (y - a) times minus the factor.
                factor = (1.0 / v.m) if adam else (-eta / v.m)
                a, d, t = acts[-1], deltas[-1], tmps[-1]
                subtract(yb, a, out=d)
                if quadratic_sigmoid:
                    # d = (a - y) a (1 - a) factor = (y - a) (a - a^2) (-factor)
                    multiply(a, a, out=t)
                    subtract(a, t, out=t)
                    multiply(t, -factor, out=t)
                    multiply(d, t, out=d)
                else:  # cross-entropy, or quadratic with an identity output: a - y
                    multiply(d, -factor, out=d)
                # backward; each layer's W is read for delta_{l-1} before it is updated
                for l in range(L - 1, -1, -1):
                    d = deltas[l]
                    W = Ws[l]
                    if l > 0:
                        a_prev, dp = acts[l - 1], deltas[l - 1]
                        matmul(d, W.T, out=dp)
                        _times_derivative(hidden_units[l - 1], dp, a_prev, tmps[l - 1])
                    else:
                        a_prev = xb
                    v.outer(a_prev.T, d, out=gWs[l])
                    colsum(d, axis=0, out=gbs[l])
                    if not adam:
                        # W += a_prev.T @ d, b += column sums of d (d carries -eta/m)
                        add(W, gWs[l], out=W)
                        add(bs[l], gbs[l], out=bs[l])
                if adam:
                    self.adam_t += 1
                    step = self.adam_t
                    alpha = eta * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
                    # m = b1 m + (1 - b1) g
                    multiply(mom, beta1, out=mom)
                    multiply(grad, 1.0 - beta1, out=tmp)
                    add(mom, tmp, out=mom)
                    # v = b2 v + (1 - b2) g^2
                    multiply(vel, beta2, out=vel)
                    multiply(grad, grad, out=tmp)
                    multiply(tmp, 1.0 - beta2, out=tmp)
                    add(vel, tmp, out=vel)
                    # theta -= alpha m / (sqrt(v) + eps)
                    np.sqrt(vel, out=tmp)
                    add(tmp, epsilon, out=tmp)
                    np.divide(mom, tmp, out=tmp)
                    multiply(tmp, alpha, out=tmp)
                    subtract(flat, tmp, out=flat)

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
        col = np.empty((rows, 1))
        with np.errstate(over="ignore"):
            for lo in range(0, n, rows):
                hi = min(lo + rows, n)
                a_in = X[lo:hi]
                for l in range(L):
                    z = out[lo:hi] if l == L - 1 else hidden[l][: hi - lo]
                    np.matmul(a_in, Ws[l], out=z)
                    np.add(z, bs[l], out=z)
                    _activate(self.units[l], z, col[: hi - lo])
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
    **options,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Functional form of :meth:`NumpyMLP.fit_epoch` (``options``: ``activation``,
    ``output``, ``cost`` for the network, the rest for ``fit_epoch``): returns the updated
    (copied) ``(weights, biases)``."""
    net_keys = ("activation", "output", "cost")
    net = NumpyMLP(weights, biases, **{k: options.pop(k) for k in net_keys if k in options})
    net.fit_epoch(X, Y, batch_size, eta, order, **options)
    return [W.copy() for W in net.weights], [b.copy() for b in net.biases]


def predict(
    weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray, **network
) -> np.ndarray:
    """Functional form of :meth:`NumpyMLP.predict` (``network``: ``activation``,
    ``output``)."""
    return NumpyMLP(weights, biases, **network).predict(X)
