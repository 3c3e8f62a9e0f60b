"""``MLP``: the Python facade over the compiled core."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlp import _core
from mlp._init import INITIALIZERS, initialize
from mlp._validation import (
    as_array,
    as_inputs,
    as_labels,
    as_targets,
    check_int,
    check_positive,
    check_sizes,
    non_finite_row,
    one_hot_labels,
)
from mlp.training import History

Array = NDArray[np.float64]

# Rows per kernel call block in predict/cost/gradient: large enough for BLAS to run at
# full speed, small enough that the work buffers stay in cache-sized megabytes.
_BLOCK = 1024
# Work (in flops) done by one call of the epoch kernel: Python is re-entered between calls
# (about ten times a second) so that Ctrl-C is honoured without waiting for a long epoch.
_SEGMENT_FLOPS = 2e8


def _rng(seed: Any, name: str = "seed") -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be None, an int >= 0 or a numpy Generator, got {seed!r} ({exc})"
        ) from None


class MLP:
    """A fully connected sigmoid network trained by backpropagation and mini-batch SGD.

    Layer ``l`` computes ``a_l = sig(b_l + a_{l-1} @ W_l)`` with ``W_l`` of shape
    ``(n_{l-1}, n_l)``: ``W_l[i, j]`` connects input neuron ``i`` to output neuron ``j``.
    The cost of one sample is ``C = 1/2 sum_j (a_L[j] - y[j])**2``.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first: ``[784, 30, 10]`` is 784 inputs, one hidden layer of
        30 neurons and 10 outputs. At least two entries, each >= 1.
    init : {"scaled", "normal", "glorot"}, default "scaled"
        ``"scaled"``: weights N(0, 1/n_in), biases N(0, 1) (the book's network2).
        ``"normal"``: weights and biases N(0, 1) (the book's network.py).
        ``"glorot"``: weights and biases uniform in +-sqrt(2/(n_in + n_out))
        (scikit-learn's choice for logistic units).
    seed : None, int or numpy.random.Generator
        Seeds the initialisation; the same seed gives the same parameters.

    Attributes
    ----------
    sizes : tuple of int
    weights : list of ndarray, shapes ``(n_{l-1}, n_l)``
    biases : list of ndarray, shapes ``(n_l,)``
    params : ndarray
        All parameters in one 1-D C-contiguous float64 array (``W_1, b_1, W_2, ...``);
        ``weights`` and ``biases`` are views into it.

    Raises
    ------
    TypeError, ValueError
        For invalid ``sizes``, ``init`` or ``seed``.

    Notes
    -----
    Training and prediction release the GIL. Several threads may call ``predict``,
    ``cost``, ``gradient`` and ``accuracy`` on one network at once; ``fit`` must not run
    while another thread uses the same network.

    Examples
    --------
    >>> import numpy as np, mlp
    >>> net = mlp.MLP([2, 3, 1], seed=0)
    >>> net
    MLP(sizes=(2, 3, 1))
    >>> [w.shape for w in net.weights]
    [(2, 3), (3, 1)]
    >>> net.predict([0.0, 1.0]).shape
    (1,)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        init: str = "scaled",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        sizes = check_sizes(sizes)
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        rng = _rng(seed)
        self._allocate(sizes)
        initialize(init, self._weights, self._biases, rng)

    @classmethod
    def from_weights(cls, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> MLP:
        """A network with a copy of the given parameters.

        Parameters
        ----------
        weights : sequence of array_like
            ``weights[l]`` of shape ``(n_l, n_{l+1})``; the shapes must chain.
        biases : sequence of array_like
            ``biases[l]`` of shape ``(n_{l+1},)``.

        Returns
        -------
        MLP

        Raises
        ------
        TypeError, ValueError
            If the arrays are not numeric, do not chain, or hold NaN or infinity.

        Examples
        --------
        >>> import numpy as np, mlp
        >>> net = mlp.MLP.from_weights([np.zeros((2, 1))], [np.zeros(1)])
        >>> net.predict([[3.0, 4.0]])
        array([[0.5]])
        """
        if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray):
            raise TypeError("weights and biases must be lists of arrays, one per layer")
        weights, biases = list(weights), list(biases)
        if not weights or len(weights) != len(biases):
            raise ValueError(
                f"weights and biases must be non-empty and of equal length, got "
                f"{len(weights)} and {len(biases)}"
            )
        Ws = [as_array(W, f"weights[{l}]", 2) for l, W in enumerate(weights)]
        bs = [as_array(b, f"biases[{l}]", 1) for l, b in enumerate(biases)]
        for l, (W, b) in enumerate(zip(Ws, bs)):
            if b.shape[0] != W.shape[1]:
                raise ValueError(
                    f"biases[{l}] must have shape ({W.shape[1]},) to match weights[{l}] "
                    f"of shape {W.shape}, got {b.shape}"
                )
            if l > 0 and W.shape[0] != Ws[l - 1].shape[1]:
                raise ValueError(
                    f"weights[{l}] has shape {W.shape} but weights[{l - 1}] has "
                    f"{Ws[l - 1].shape}: rows of a layer's weights must equal the previous "
                    "layer's columns"
                )
        sizes = check_sizes([Ws[0].shape[0]] + [W.shape[1] for W in Ws])
        net = cls.__new__(cls)
        net._allocate(sizes)
        for dst, src in zip(net._weights + net._biases, Ws + bs):
            dst[...] = src
        return net

    def _allocate(self, sizes: tuple[int, ...]) -> None:
        """Allocate ``params`` for ``sizes`` and carve the per-layer views out of it."""
        self._sizes = sizes
        self._sizes_arr = np.array(sizes, dtype=np.intp)
        self._sizes_arr.flags.writeable = False
        self._params = np.empty(_core.n_params(self._sizes_arr))
        self._weights, self._biases = self._carve(self._params)

    def _carve(self, flat: Array) -> tuple[list[Array], list[Array]]:
        """Per-layer views ``(weights, biases)`` of a vector laid out like ``params``."""
        weights, biases, k = [], [], 0
        for n_in, n_out in zip(self._sizes[:-1], self._sizes[1:]):
            weights.append(flat[k : k + n_in * n_out].reshape(n_in, n_out))
            k += n_in * n_out
            biases.append(flat[k : k + n_out])
            k += n_out
        return weights, biases

    # --- the model ------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer sizes, input first."""
        return self._sizes

    @property
    def sizes_array(self) -> NDArray[np.intp]:
        """Layer sizes as a read-only ``intp`` (``Py_ssize_t``) array: with ``params``, the
        buffers the C-level API (``mlp/_core.pxd``) takes, without copying."""
        return self._sizes_arr

    @property
    def n_layers(self) -> int:
        """Number of layers with parameters, ``L = len(sizes) - 1``."""
        return len(self._sizes) - 1

    @property
    def weights(self) -> list[Array]:
        """Weight matrices, ``weights[l]`` of shape ``(sizes[l], sizes[l+1])``; views into
        ``params``: writing to them changes the network."""
        return list(self._weights)

    @property
    def biases(self) -> list[Array]:
        """Bias vectors, ``biases[l]`` of shape ``(sizes[l+1],)``; views into ``params``."""
        return list(self._biases)

    @property
    def params(self) -> Array:
        """All parameters as one 1-D float64 array ``[W_1, b_1, W_2, b_2, ...]``
        (each ``W`` row-major). Writing to it changes the network."""
        return self._params

    def copy(self) -> MLP:
        """An independent network with a copy of the parameters."""
        return MLP.from_weights(self._weights, self._biases)

    def __repr__(self) -> str:
        return f"MLP(sizes={self._sizes})"

    # --- evaluation -------------------------------------------------------------------

    def _forward(self, x: Array, name: str = "X") -> Array:
        """Output activations of ``x``, which is checked for NaN and infinity on the way
        (block by block, while in cache: no pass of its own)."""
        block = min(x.shape[0], _BLOCK)
        out = np.empty((x.shape[0], self._sizes[-1]))
        work = np.empty(_core.predict_work_size(self._sizes_arr, block))
        bad = _core.predict(self._params, self._sizes_arr, x, out, work, block, True)
        if bad >= 0:
            raise non_finite_row(name, bad)
        return out

    def predict(self, X: ArrayLike) -> Array:
        """Output activations ``a_L`` for the samples ``X``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0]) or (sizes[0],)
            Samples, one per row; a 1-D array is a single sample.

        Returns
        -------
        ndarray, shape (n, sizes[-1]) or (sizes[-1],)

        Raises
        ------
        TypeError, ValueError
            If ``X`` is not numeric, has the wrong shape, is empty or holds NaN or infinity.
        """
        x, single = as_inputs(X, "X", self._sizes[0], allow_1d=True, check_finite=False)
        out = self._forward(x)
        return out[0] if single else out

    def cost(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Mean over samples of ``C = 1/2 sum_j (a_L[j] - y[j])**2``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
            Targets; labels are one-hot encoded.

        Returns
        -------
        float
        """
        x, _ = as_inputs(X, "X", self._sizes[0], check_finite=False)
        y, _ = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        return float(0.5 * np.sum((self._forward(x) - y) ** 2) / x.shape[0])

    def gradient(self, X: ArrayLike, Y: ArrayLike) -> tuple[list[Array], list[Array]]:
        """The exact gradient of ``cost(X, Y)``: the mean of the per-sample gradients.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels

        Returns
        -------
        dW, db : list of ndarray
            Shaped like ``weights`` and ``biases``.
        """
        x, _ = as_inputs(X, "X", self._sizes[0])
        y, _ = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        n = x.shape[0]
        block = min(n, _BLOCK)
        grad = np.zeros_like(self._params)
        work = np.empty(_core.gradient_work_size(self._sizes_arr, block))
        _core.gradient(self._params, self._sizes_arr, x, y, grad, 1.0 / n, work, block)
        return self._carve(grad)

    def accuracy(self, X: ArrayLike, labels: ArrayLike) -> float:
        """Fraction of samples whose largest output is at their label.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        labels : array_like, shape (n,)
            Integer class labels in ``[0, sizes[-1])``.

        Returns
        -------
        float
        """
        x, _ = as_inputs(X, "X", self._sizes[0], check_finite=False)
        y = as_labels(labels, "labels", x.shape[0], self._sizes[-1])
        return float(np.mean(np.argmax(self._forward(x), axis=1) == y))

    # --- training ---------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        *,
        epochs: int = 30,
        batch_size: int = 10,
        eta: float = 3.0,
        shuffle: bool = True,
        seed: int | np.random.Generator | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        verbose: bool = False,
    ) -> History:
        """Train by mini-batch stochastic gradient descent (the seed's math).

        Each epoch permutes the sample indices (never the data), cuts them into consecutive
        mini-batches of ``batch_size`` (the last may be shorter) and, for each mini-batch of
        ``m`` samples, applies ``W -= eta/m * sum dC/dW`` and ``b -= eta/m * sum dC/db``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Training samples.
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
            Targets; labels in ``[0, sizes[-1])`` are one-hot encoded. With one output unit
            a 1-D ``Y`` is the column of targets.
        epochs : int, default 30
            Passes over the data (0 trains nothing).
        batch_size : int, default 10
            Mini-batch size; larger than ``n`` means full-batch gradient descent.
        eta : float, default 3.0
            Learning rate, finite and > 0.
        shuffle : bool, default True
            Visit the samples in a new random order each epoch; False keeps their order.
        seed : None, int or numpy.random.Generator
            Seeds the shuffling: the same seed, data and network give bit-identical
            parameters.
        validation_data : (X_val, Y_val), optional
            Evaluated after every epoch (``val_cost``, and ``val_accuracy`` for labels or
            one-hot targets).
        verbose : bool, default False
            Print one line per epoch.

        Returns
        -------
        History
            One record per epoch: ``epoch``, ``cost``, ``eta``, ``seconds`` and, with
            ``validation_data``, ``val_cost`` and ``val_accuracy``.

        Raises
        ------
        TypeError, ValueError
            For invalid data or options; the parameters are left untouched.
        FloatingPointError
            If the parameters become NaN or infinite; they are restored to their values
            before the failing epoch.

        Notes
        -----
        Interrupting (Ctrl-C) leaves the network as it was after its last complete
        mini-batch.
        """
        n0, nL = self._sizes[0], self._sizes[-1]
        epochs = check_int(epochs, "epochs", 0)
        # X is checked for NaN and infinity by the first epoch, row by row as it gathers
        # them (see _core.sgd_epoch): a pass over X of its own would cost about a tenth of
        # an epoch. With no epoch to run, it is checked here.
        x, _ = as_inputs(X, "X", n0, check_finite=epochs == 0)
        y, _ = as_targets(Y, "Y", x.shape[0], nL)
        batch_size = check_int(batch_size, "batch_size", 1)
        eta = check_positive(eta, "eta")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        rng = _rng(seed)
        validation = None
        if validation_data is not None:
            validation = self._validation_set(validation_data)

        n = x.shape[0]
        batch = min(batch_size, n)
        work = np.empty(_core.epoch_work_size(self._sizes_arr, batch))
        order = np.arange(n, dtype=np.intp)
        flops_per_sample = 6 * sum(a * b for a, b in zip(self._sizes[:-1], self._sizes[1:]))
        batches_per_call = max(1, int(_SEGMENT_FLOPS // (flops_per_sample * batch)))
        segment = batches_per_call * batch

        history = History()
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if shuffle:
                rng.shuffle(order)
            before = self._params.copy()
            total = 0.0
            for lo in range(0, n, segment):
                cost, bad = _core.sgd_epoch(
                    self._params, self._sizes_arr, x, y, order[lo : lo + segment],
                    batch, eta, work, epoch == 1,
                )
                if bad >= 0:
                    self._params[...] = before
                    raise non_finite_row("X", bad)
                total += cost
            if not np.isfinite(self._params).all():
                self._params[...] = before
                raise FloatingPointError(
                    f"training diverged in epoch {epoch}: parameters became NaN or "
                    f"infinite (eta={eta}). They were restored to their values before "
                    "that epoch. Try a smaller eta, or scale the inputs to about [0, 1]."
                )
            record: dict[str, Any] = {
                "epoch": epoch,
                "cost": total / n,
                "eta": eta,
                "seconds": time.perf_counter() - start,
            }
            if validation is not None:
                record.update(self._evaluate(*validation))
            history.append(record)
            if verbose:
                self._report(record, epochs)
        return history

    def _validation_set(
        self, validation_data: Any
    ) -> tuple[Array, Array, NDArray[np.intp] | None]:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, Y_val)")
        xv, _ = as_inputs(validation_data[0], "validation_data X", self._sizes[0])
        yv, labels = as_targets(
            validation_data[1], "validation_data Y", xv.shape[0], self._sizes[-1]
        )
        if labels is None:
            labels = one_hot_labels(yv)
        return xv, yv, labels

    def _evaluate(
        self, x: Array, y: Array, labels: NDArray[np.intp] | None
    ) -> dict[str, float]:
        out = self._forward(x)
        scores = {"val_cost": float(0.5 * np.sum((out - y) ** 2) / x.shape[0])}
        if labels is not None:
            scores["val_accuracy"] = float(np.mean(np.argmax(out, axis=1) == labels))
        return scores

    @staticmethod
    def _report(record: dict[str, Any], epochs: int) -> None:
        width = len(str(epochs))
        line = f"epoch {record['epoch']:>{width}}/{epochs}  cost {record['cost']:.5f}"
        if "val_cost" in record:
            line += f"  val_cost {record['val_cost']:.5f}"
        if "val_accuracy" in record:
            line += f"  val_accuracy {record['val_accuracy']:.4f}"
        line += f"  {record['seconds']:.3f} s"
        print(line, file=sys.stdout, flush=True)


def sigmoid(z: ArrayLike) -> Array:
    """``1 / (1 + exp(-z))`` elementwise, finite and warning-free for every finite input.

    Parameters
    ----------
    z : array_like
        Numbers (NaN stays NaN).

    Returns
    -------
    ndarray
        float64, the shape of ``z``.

    Examples
    --------
    >>> import mlp
    >>> mlp.sigmoid([-1e308, 0.0, 1e308])
    array([0. , 0.5, 1. ])
    """
    arr = np.asarray(z)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"z has dtype {arr.dtype}; expected numbers")
    out = np.array(arr, dtype=np.float64, order="C", copy=True)
    _core.sigmoid(out.reshape(-1))
    return out
