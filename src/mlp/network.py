"""``MLP``: the Python facade over the compiled core."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlp import _core
from mlp._init import INITIALIZERS, initialize
from mlp._validation import (
    as_array,
    as_inputs,
    as_kernel_array,
    as_labels,
    as_order,
    as_rng,
    as_targets,
    as_weights,
    check_int,
    check_sizes,
    diverged,
    non_finite_row,
    one_hot_labels,
)
from mlp.activations import check_cost_pair, check_hidden, check_output, codes
from mlp.options import (
    FIT,
    OPTIONS,
    PARTIAL_FIT,
    StepOptions,
    check_options,
    document,
)
from mlp.options import eta as resolve_eta
from mlp.training import (
    Callback,
    EtaSchedule,
    History,
    Schedule,
    StopRules,
    check_cost,
    cost_sum,
    needs_validation,
)

Array = NDArray[np.float64]
Progress = Callable[[int, int, int, float], Any]

#: Rows per kernel call in predict/cost/gradient: large enough for BLAS to run at full
#: speed, small enough that a block's activations stay in L2. Measured on 10,000 rows, 256
#: beat 1024 by 1-8% (predict, cost and gradient; [784,30,10] to [784,512,512,10]; 1 and
#: 2 threads), and 128 to 768 were within 3% of 256.
BLOCK_ROWS = 256
# Work (in flops) done by one call of the epoch kernel: Python is re-entered between calls
# (about ten times a second) so that Ctrl-C is honoured without waiting for a long epoch.
_SEGMENT_FLOPS = 2e8
_EMPTY = np.empty(0)
_MAX_STEPS = 2**63 - 1


def _aligned_empty(n: int) -> Array:
    """An uninitialized float64 vector of n entries that starts on a 64-byte boundary: the
    single-sample kernels then walk the first layer's weights in whole cache lines."""
    raw = np.empty(n + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + n]


def _keywords(local: dict[str, Any]) -> dict[str, Any]:
    """A method's keyword arguments, from its ``locals()`` taken on entry."""
    return {name: value for name, value in local.items()
            if name not in ("self", "X", "Y", "order", "sample_weight")}


class _FitData(NamedTuple):
    """fit's checked data: training rows (and their labels, if class labels), the
    validation set if any, and the generator that shuffles."""

    x: Array
    y: Array
    labels: NDArray[np.intp] | None
    weights: Array | None
    validation: tuple[Array, Array, NDArray[np.intp] | None] | None
    rng: np.random.Generator


class Snapshot(NamedTuple):
    """A copy of a network's parameters and optimizer state (``MLP.snapshot``)."""

    params: Array
    optimizer_state: dict[str, Any]


class MLP:
    """A fully connected network trained by backpropagation and mini-batch SGD or Adam;
    by default the seed's sigmoid network.

    Layer ``l`` computes ``a_l = f_l(b_l + a_{l-1} @ W_l)`` with ``W_l`` of shape
    ``(n_{l-1}, n_l)``: ``W_l[i, j]`` connects input neuron ``i`` to output neuron ``j``,
    and ``f_l`` the layer's activation (the sigmoid by default). The seed's cost of one
    sample is ``C = 1/2 sum_j (a_L[j] - y[j])**2``.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first: ``[784, 30, 10]`` is 784 inputs, one hidden layer of
        30 neurons and 10 outputs. At least two entries, each >= 1.
    activation : str or sequence of str, default "sigmoid"
        The hidden layers' activation: ``"sigmoid"`` (the seed's), ``"tanh"``, ``"relu"``
        or ``"identity"``, or a list with one name per hidden layer. Derivatives are
        taken from the activation: ``a(1-a)``, ``1-a**2``, ``[a > 0]``, ``1``.
    output : {"sigmoid", "softmax", "identity"}, default "sigmoid"
        The output layer's activation; softmax is ``exp(z - max z) / sum exp(z - max z)``
        per sample. It sets the default cost (see ``fit``).
    init : {"auto", "scaled", "normal", "glorot", "he"}, default "auto"
        ``"scaled"``: weights N(0, 1/n_in), biases N(0, 1) (the book's network2).
        ``"normal"``: weights and biases N(0, 1) (the book's network.py).
        ``"glorot"``: weights and biases uniform in +-sqrt(2/(n_in + n_out))
        (scikit-learn's choice for logistic units).
        ``"he"``: weights N(0, 2/n_in), biases 0 (He et al., for ReLU).
        ``"auto"``: per layer, ``"he"`` for layers of ReLU units and ``"scaled"`` for the
        rest, so the seed's sigmoid network keeps the seed's initialisation.
    seed : None, int or numpy.random.Generator
        Seeds the initialisation; the same seed gives the same parameters.

    Attributes
    ----------
    sizes : tuple of int
    activation : tuple of str
        One name per hidden layer.
    output : str
    weights : list of ndarray, shapes ``(n_{l-1}, n_l)``
    biases : list of ndarray, shapes ``(n_l,)``
    params : ndarray
        All parameters in one 1-D C-contiguous float64 array (``W_1, b_1, W_2, ...``);
        ``weights`` and ``biases`` are views into it.

    Raises
    ------
    TypeError, ValueError
        For invalid ``sizes``, ``activation``, ``output``, ``init`` or ``seed``.

    Notes
    -----
    Training and prediction release the GIL. Any number of threads may call ``predict``,
    ``cost``, ``gradient`` and ``accuracy`` on one network at once. While one thread runs
    ``fit`` or ``partial_fit``, others may predict with the same network: the parameters
    are read and written under a readers-writer lock, one kernel call (a whole number of
    mini-batches, about a tenth of a second) at a time, so a prediction always sees the
    parameters between two mini-batches, never half of an update. Two ``fit`` calls on one
    network at once do not crash, but their updates interleave; don't. Writing to
    ``params``/``weights`` directly is not synchronised.

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
        activation: str | Sequence[str] = "sigmoid",
        output: str = "sigmoid",
        init: str = "auto",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        sizes = check_sizes(sizes)
        if init != "auto" and init not in INITIALIZERS:
            raise ValueError(f"init must be one of {['auto', *sorted(INITIALIZERS)]}, got "
                             f"{init!r}")
        rng = as_rng(seed)
        self._allocate(sizes, activation, output)
        initialize(init, self._weights, self._biases, rng, [*self._activation, self._output])

    @classmethod
    def from_weights(cls, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], *,
                     activation: str | Sequence[str] = "sigmoid",
                     output: str = "sigmoid") -> MLP:
        """A network with a copy of the given parameters.

        Parameters
        ----------
        weights : sequence of array_like
            ``weights[l]`` of shape ``(n_l, n_{l+1})``; the shapes must chain.
        biases : sequence of array_like
            ``biases[l]`` of shape ``(n_{l+1},)``.
        activation, output
            As for ``MLP``.

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
        net._allocate(sizes, activation, output)
        for dst, src in zip(net._weights + net._biases, Ws + bs):
            dst[...] = src
        return net

    def _allocate(self, sizes: tuple[int, ...], activation: Any, output: Any) -> None:
        """Allocate ``params`` for ``sizes`` and carve the per-layer views out of it; check
        and record the activations."""
        self._activation = check_hidden(activation, len(sizes) - 2)
        self._output = check_output(output)
        self._codes = np.array(codes(self._activation, self._output), dtype=np.intc)
        self._codes.flags.writeable = False
        self._sizes = sizes
        self._sizes_arr = np.array(sizes, dtype=np.intp)
        self._sizes_arr.flags.writeable = False
        self._params = _aligned_empty(_core.n_params(self._sizes_arr))
        self._weights, self._biases = self._carve(self._params)
        # the optimizer's state, laid out like params: momentum's velocity, Adam's moments
        # m and v (one buffer, m then v) and its step count
        self._velocity: Array | None = None
        self._moments: Array | None = None
        self._t = 0
        # predict/cost/gradient read the parameters under this lock, fit writes them under
        # it one kernel call at a time: readers never see half a mini-batch.
        self._lock = _core.ParamLock()

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
    def activation(self) -> tuple[str, ...]:
        """The hidden layers' activations, one name per hidden layer."""
        return self._activation

    @property
    def output(self) -> str:
        """The output layer's activation."""
        return self._output

    @property
    def activation_codes(self) -> NDArray[np.intc]:
        """The core's ``mlp_activation`` code of every layer, first to last, as a read-only
        ``int`` array: with ``params`` and ``sizes_array``, what the C-level API takes."""
        return self._codes

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
        """An independent network with a copy of the parameters, the activations and the
        optimizer state."""
        state = self.snapshot()
        return MLP.from_params(self._sizes, state.params, state.optimizer_state,
                               activation=self._activation, output=self._output)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and ``copy.deepcopy``) as the sizes, the activations, the parameters and
        the optimizer state: plain arrays, restored exactly."""
        state = self.snapshot()
        return (_unpickle, (self._sizes, state.params, state.optimizer_state,
                            self._activation, self._output))

    # --- the surface mlp's interfaces build on (mlp.io, mlp.dask) ---------------------

    @classmethod
    def from_params(cls, sizes: Sequence[int], params: ArrayLike,
                    optimizer_state: dict[str, Any] | None = None, *,
                    activation: str | Sequence[str] = "sigmoid",
                    output: str = "sigmoid") -> MLP:
        """A network of ``sizes`` with a copy of ``params`` (laid out as ``MLP.params``)
        and, optionally, of an optimizer state (see ``optimizer_state``).

        Raises
        ------
        TypeError, ValueError
            For invalid sizes or activations, or parameters of the wrong length, not
            numeric, or holding NaN or infinity.

        Examples
        --------
        >>> import mlp
        >>> net = mlp.MLP([2, 3, 1], seed=0)
        >>> bool((mlp.MLP.from_params(net.sizes, net.params).params == net.params).all())
        True
        """
        net = cls.__new__(cls)
        net._allocate(check_sizes(sizes), activation, output)
        values = as_array(params, "params", 1)
        if values.shape != net._params.shape:
            raise ValueError(f"params has {values.size} entries; sizes {net._sizes} need "
                             f"{net._params.size}")
        net._params[...] = values
        if optimizer_state:
            net.restore(Snapshot(net._params, dict(optimizer_state)))
        return net

    @property
    def optimizer_state(self) -> dict[str, Any]:
        """A copy of the optimizer's state that ``partial_fit`` carries between calls,
        laid out like ``params``: ``{}``; ``{"velocity": v}`` once momentum has run; or
        ``{"m": m, "v": v, "t": t}`` once Adam has (its moments and its step count)."""
        return self.snapshot().optimizer_state

    def snapshot(self) -> Snapshot:
        """A copy of the parameters and the optimizer state, taken under the read lock:
        what ``restore`` puts back."""
        n = self._params.size
        with self._lock.read():
            state: dict[str, Any] = {}
            if self._velocity is not None:
                state["velocity"] = self._velocity.copy()
            if self._moments is not None:
                state.update(m=self._moments[:n].copy(), v=self._moments[n:].copy(),
                             t=self._t)
            return Snapshot(self._params.copy(), state)

    def restore(self, snapshot: Snapshot) -> None:
        """Put back the parameters and optimizer state of ``snapshot``, under the write
        lock."""
        velocity, moments, t = self._checked_state(snapshot.optimizer_state)
        with self._lock.write():
            self._params[...] = snapshot.params
            self._velocity, self._moments, self._t = velocity, moments, t

    def _checked_state(self, state: dict[str, Any]) -> tuple[Array | None, Array | None, int]:
        """(velocity, moments, t) from an optimizer state, checked against params."""
        state = dict(state)
        n = self._params.size

        def vector(name: str) -> Array:
            value = as_array(state.pop(name), name, 1)
            if value.shape != (n,):
                raise ValueError(f"{name} has {value.size} entries; params has {n}")
            return value

        velocity = vector("velocity").copy() if "velocity" in state else None
        moments, t = None, 0
        if {"m", "v", "t"} & set(state):
            if not {"m", "v", "t"} <= set(state):
                raise ValueError("Adam's state needs m, v and t together")
            if "velocity" in state or velocity is not None:
                raise ValueError("an optimizer state holds momentum's velocity or Adam's "
                                 "m, v and t, not both")
            t = check_int(state.pop("t"), "t", 0)
            if t > _MAX_STEPS:
                raise ValueError(f"t must be at most {_MAX_STEPS} (the core counts Adam's "
                                 f"steps in a 64-bit integer), got {t}")
            moments = _aligned_empty(2 * n)
            moments[:n], moments[n:] = vector("m"), vector("v")
        if state:
            raise ValueError(f"unknown optimizer state {sorted(state)}; expected velocity, "
                             "or m, v and t")
        return velocity, moments, t

    def prepare_optimizer(self, options: StepOptions, *, fresh: bool) -> None:
        """Make the optimizer state ``options`` need, at zero when ``fresh`` (``fit``) or
        when there is none yet (``partial_fit``): momentum's velocity, or Adam's moments
        and step count. State of the other optimizer is dropped."""
        n = self._params.size
        if fresh:
            self._velocity, self._moments, self._t = None, None, 0
        if options.adam:
            self._velocity = None
            if self._moments is None:
                self._moments, self._t = np.zeros(2 * n), 0
        else:
            self._moments, self._t = None, 0
            if options.momentum and self._velocity is None:
                self._velocity = np.zeros(n)

    def _state_buffer(self, options: StepOptions) -> Array:
        """The core's optimizer buffer for ``options``: Adam's moments, momentum's
        velocity, or none."""
        if options.adam and self._moments is not None:
            return self._moments
        if options.momentum and self._velocity is not None:
            return self._velocity
        return _EMPTY

    def apply_gradient(self, grad: Array, m: int, eta: float, options: StepOptions,
                       n: int) -> None:
        """One step of the compiled epoch's update rule from ``grad``, the gradient summed
        over a mini-batch of ``m`` of ``n`` training rows (``grad`` is overwritten):
        ``W := (1 - eta (l2/n + alpha/m)) W - eta/m grad_W``, ``b := b - eta/m grad_b``, or with
        momentum or Adam the step of ``fit``. Under the write lock, so that a concurrent
        ``predict`` sees the parameters before or after it, never half of it. Call
        ``prepare_optimizer`` first."""
        self._t = _core.apply_step(
            self._params, self._state_buffer(options), self._sizes_arr, grad, m, eta,
            weight_decay=options.l2 / n + options.alpha / m, momentum=options.momentum,
            nesterov=options.nesterov, optimizer=options.optimizer, beta1=options.beta1,
            beta2=options.beta2, epsilon=options.epsilon, t=self._t, lock=self._lock)

    def _restore(self, values: Array) -> None:
        """params := values, under the write lock."""
        with self._lock.write():
            self._params[...] = values

    def save(self, path: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None,
             scaling: dict[str, Any] | None = None,
             training: dict[str, Any] | None = None) -> None:
        """Save to a model file (``.npz`` with a JSON header; see ``mlp.io.save``)."""
        from mlp import io

        io.save(self, path, metadata=metadata, scaling=scaling, training=training)

    def __repr__(self) -> str:
        extra = ""
        if any(name != "sigmoid" for name in self._activation):
            names = set(self._activation)
            shown = self._activation[0] if len(names) == 1 else list(self._activation)
            extra += f", activation={shown!r}"
        if self._output != "sigmoid":
            extra += f", output={self._output!r}"
        return f"MLP(sizes={self._sizes}{extra})"

    # --- evaluation -------------------------------------------------------------------

    def _forward(self, x: Array, name: str = "X") -> Array:
        """Output activations of ``x``, which is checked for NaN and infinity on the way
        (block by block, while in cache: no pass of its own)."""
        block = min(x.shape[0], BLOCK_ROWS)
        out = np.empty((x.shape[0], self._sizes[-1]))
        work = np.empty(_core.predict_work_size(self._sizes_arr, block))
        bad = _core.predict(self._params, self._sizes_arr, self._codes, x, out, work, block,
                            True,
                            self._lock)
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

    def cost(
        self, X: ArrayLike, Y: ArrayLike, *, cost: str | None = None, l2: float = 0.0
    ) -> float:
        """Mean over samples of the cost ``C``, plus the L2 penalty ``l2/(2n) sum W**2``.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
            Targets; labels are one-hot encoded.
        cost : {"quadratic", "cross_entropy"}, optional
            ``C = 1/2 sum_j (a_L[j] - y[j])**2`` (the seed's; sigmoid or identity output),
            or the cross-entropy: ``C = -sum_j y[j] ln a_L[j] + (1 - y[j]) ln(1 - a_L[j])``
            for a sigmoid output, ``C = -sum_j y[j] ln a_L[j]`` for softmax (finite even
            for saturated outputs: ``a`` is clipped to [eps, 1 - eps] in the logarithms).
            Default: the output's (quadratic, or cross-entropy for softmax).
        l2 : float, default 0
            Weight of the L2 penalty over the weights (not the biases); ``n = len(X)``.

        Returns
        -------
        float
        """
        kind = self._cost_code(cost)
        l2 = self._check_l2(l2)
        x, _ = as_inputs(X, "X", self._sizes[0], check_finite=False)
        y, _ = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        n = x.shape[0]
        total = cost_sum(self._forward(x), y, kind, self._output)
        return float(total / n + self.l2_penalty(l2, n))

    def gradient(
        self, X: ArrayLike, Y: ArrayLike, *, cost: str | None = None, l2: float = 0.0
    ) -> tuple[list[Array], list[Array]]:
        """The exact gradient of ``cost(X, Y, cost=cost, l2=l2)``: the mean of the
        per-sample gradients, plus ``l2/n W`` for the weights.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
        cost : {"quadratic", "cross_entropy"}, optional
            As for ``cost``.
        l2 : float, default 0

        Returns
        -------
        dW, db : list of ndarray
            Shaped like ``weights`` and ``biases``.
        """
        _, _, grad = self.objective(X, Y, cost=cost, l2=l2)
        return self._carve(grad)

    def objective(
        self, X: ArrayLike, Y: ArrayLike, params: ArrayLike | None = None, *,
        cost: str | None = None, l2: float = 0.0, alpha: float = 0.0,
        sample_weight: ArrayLike | None = None,
    ) -> tuple[float, float, Array]:
        """The cost's two terms and their gradient, in one pass of the compiled core: the
        function a full-batch optimizer such as scipy's L-BFGS minimises (``mlp.sklearn``'s
        ``solver="lbfgs"``).

        Parameters
        ----------
        X, Y : as for ``cost``
        params : array_like, shape (len(params),), optional
            Where to evaluate, laid out like ``params``; default: the network's own. The
            network is not changed.
        cost : as for ``cost``
        l2, alpha : float, default 0
            The L2 weights of ``fit``: ``l2/(2n) sum W**2`` and ``alpha/(2S) sum W**2``.
        sample_weight : array_like, shape (n,), optional
            Row weights ``s_i`` (default 1); ``S = sum s_i``.

        Returns
        -------
        data : float
            ``sum s_i C_i / S``, the (weighted) mean cost.
        penalty : float
            ``(l2/(2n) + alpha/(2S)) sum W**2`` over the weights (not the biases).
        grad : ndarray, shape (len(params),)
            The gradient of ``data + penalty``, laid out like ``params``.
        """
        kind = self._cost_code(cost)
        l2 = self._check_l2(l2)
        alpha = OPTIONS["alpha"].check(alpha, "alpha")
        x, _ = as_inputs(X, "X", self._sizes[0])
        y, _ = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        weights = as_weights(sample_weight, "sample_weight", x.shape[0])
        at = self._params if params is None else self._as_params(params)
        n = x.shape[0]
        total = float(n) if weights is None else float(weights.sum())
        block = min(n, BLOCK_ROWS)
        grad = np.zeros_like(self._params)
        work = np.empty(_core.gradient_work_size(self._sizes_arr, block))
        data = _core.gradient(at, self._sizes_arr, self._codes, x, y, grad, 1.0 / total,
                              work, block, kind, self._lock, sample_weight=weights)
        decay = l2 / n + alpha / total
        squares = 0.0
        if decay:
            for W, g in zip(self._carve(at)[0], self._carve(grad)[0]):
                g += decay * W
                squares += float(np.vdot(W, W))
        return data / total, decay / 2.0 * squares, grad

    def _as_params(self, params: ArrayLike) -> Array:
        """``params`` checked as a parameter vector of this network (finite, its length)."""
        flat = as_kernel_array(np.asarray(params, dtype=np.float64))
        if flat.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}, got "
                             f"{flat.shape}")
        if not _core.all_finite(flat):
            raise ValueError("params contains NaN or infinity")
        return flat

    def _cost_code(self, cost: Any) -> int:
        """The core's code of ``cost`` (None: the output's default), checked against the
        output."""
        if cost is not None:
            check_cost(cost)
        return check_cost(check_cost_pair(self._output, cost))

    @staticmethod
    def _check_l2(l2: Any) -> float:
        checked: float = OPTIONS["l2"].check(l2, "l2")
        return checked

    def l2_penalty(self, l2: float, n: int) -> float:
        """The L2 term of the cost, ``l2/(2n) sum W**2`` over the weights (not the
        biases)."""
        if not l2:
            return 0.0
        return l2 / (2.0 * n) * float(sum(np.vdot(W, W) for W in self._weights))

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

    @document(FIT)
    def fit(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        *,
        epochs: int = 30,
        batch_size: int = 10,
        eta: float | None = None,
        cost: str | None = None,
        optimizer: str = "sgd",
        l2: float = 0.0,
        alpha: float = 0.0,
        momentum: float = 0.0,
        nesterov: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        schedule: Schedule = "constant",
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        validation_split: float | None = None,
        early_stopping: bool = False,
        patience: int = 10,
        callbacks: Callback | Sequence[Callback] = (),
        shuffle: bool = True,
        seed: int | np.random.Generator | None = None,
        verbose: bool = False,
        progress: Progress | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> History:
        """Train by mini-batch stochastic gradient descent.

        The defaults are exactly the seed's math: each epoch permutes the sample indices
        (never the data), cuts them into consecutive mini-batches of ``batch_size`` (the
        last may be shorter) and, for each mini-batch of ``m`` samples, applies
        ``W -= eta/m * sum dC/dW`` and ``b -= eta/m * sum dC/db`` with the quadratic cost.
        The options are those of ``mlp.options.OPTIONS``, in this order.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            Training samples.
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
            Targets; labels in ``[0, sizes[-1])`` are one-hot encoded. With one output unit
            a 1-D ``Y`` is the column of targets.
        {options}
        sample_weight : array_like, shape (n,), optional
            Row weights ``s_i``, as in ``partial_fit``: a mini-batch's gradient is
            ``sum s_i dC_i / sum s_i``. With ``validation_split`` the held-out rows' weights
            are set aside with them; the validation scores are unweighted means.

        Returns
        -------
        History
            One record per epoch (see ``History``), and why training stopped.

        Raises
        ------
        TypeError, ValueError
            For invalid data or options; the parameters are left untouched.
        FloatingPointError
            If the parameters become NaN or infinite; they are restored to their values
            before the failing epoch.

        Notes
        -----
        Every option runs inside the compiled epoch, without the GIL. Interrupting
        (Ctrl-C) leaves the network as it was after its last complete mini-batch: the
        ``KeyboardInterrupt`` carries the run so far as its ``history`` attribute, with
        ``stop_reason`` ``"interrupted"``.
        """
        opts = check_options(FIT, _keywords(locals()), "fit")
        data = self._training_data(X, Y, sample_weight, opts)
        self.prepare_optimizer(StepOptions.from_options(opts, self._output), fresh=True)
        return self._train(data, opts)

    @document(PARTIAL_FIT)
    def partial_fit(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        *,
        batch_size: int = 10,
        eta: float | None = None,
        cost: str | None = None,
        optimizer: str = "sgd",
        l2: float = 0.0,
        alpha: float = 0.0,
        momentum: float = 0.0,
        nesterov: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        shuffle: bool = True,
        seed: int | np.random.Generator | None = None,
        order: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> History:
        """One pass of ``fit`` over ``X``, keeping the optimizer's state (momentum's
        velocity, Adam's moments) between calls: the building block for streaming and
        out-of-core training.

        Two calls with ``shuffle=False`` on the same data equal
        ``fit(epochs=2, shuffle=False)`` from the same network. The options mean what they
        mean in ``fit``; ``n`` in the L2 term is ``len(X)`` of this call.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, sizes[-1]), or (n,) integer class labels
        order : array_like of int, optional
            The rows to visit, in this order (cut into consecutive mini-batches; a row may
            appear more than once or not at all); given, ``shuffle`` and ``seed`` are not
            used. ``mlp.sklearn`` passes scikit-learn's own shuffle here.
        sample_weight : array_like, shape (n,), optional
            Row weights ``s_i``: a mini-batch's gradient is ``sum s_i dC_i / sum s_i``
            (and ``alpha``'s term is over ``sum s_i``); the record's ``cost`` counts each
            mini-batch of ``m`` rows as ``m / sum s_i`` times its weighted sum.
        {options}

        Returns
        -------
        History
            One record.
        """
        opts = check_options(PARTIAL_FIT, _keywords(locals()), "partial_fit")
        options = StepOptions.from_options(opts, self._output)
        rng = as_rng(opts["seed"])
        x, _ = as_inputs(X, "X", self._sizes[0], check_finite=False)
        y, labels = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        weights = as_weights(sample_weight, "sample_weight", x.shape[0])
        if order is not None:
            rows = as_order(order, "order", x.shape[0])
        else:
            rows = np.arange(x.shape[0], dtype=np.intp)
            if opts["shuffle"]:
                rng.shuffle(rows)
        self.prepare_optimizer(options, fresh=False)
        history = History()
        try:
            history.append(self._epoch(x, y, labels, rows, options, resolve_eta(opts), 1,
                                       weights=weights))
        except _NonFinite as exc:
            raise non_finite_row("X", exc.row) from None
        return history

    def _training_data(self, X: ArrayLike, Y: ArrayLike, sample_weight: ArrayLike | None,
                       opts: dict[str, Any]) -> _FitData:
        """fit's data, checked: the training rows and their weights, and the validation set
        if any (held out by ``validation_split``, or ``validation_data``)."""
        rng = as_rng(opts["seed"])
        # X is checked for NaN and infinity by the first epoch, row by row as it gathers
        # them (see _core.train_epoch): a pass over X of its own would cost about a tenth
        # of an epoch. With no epoch to run, it is checked here.
        x, _ = as_inputs(X, "X", self._sizes[0], check_finite=opts["epochs"] == 0)
        y, labels = as_targets(Y, "Y", x.shape[0], self._sizes[-1])
        weights = as_weights(sample_weight, "sample_weight", x.shape[0])
        validation = None
        if opts["validation_split"] is not None:
            if opts["validation_data"] is not None:
                raise ValueError("give validation_data or validation_split, not both")
            x, y, labels, weights, validation = self._split(
                x, y, labels, weights, opts["validation_split"], rng)
        elif opts["validation_data"] is not None:
            validation = self._validation_set(opts["validation_data"])
        if validation is None and (opts["early_stopping"]
                                   or needs_validation(opts["schedule"])):
            raise ValueError(
                "early_stopping and the 'halve' schedule need validation data: give "
                "validation_data or validation_split")
        return _FitData(x, y, labels, weights, validation, rng)

    def _train(self, data: _FitData, opts: dict[str, Any]) -> History:
        """fit's epochs over checked data, with its stopping rules (see ``fit``)."""
        options = StepOptions.from_options(opts, self._output)
        epochs = opts["epochs"]
        rates = EtaSchedule(opts["schedule"], resolve_eta(opts))
        rules = StopRules(rates, opts["early_stopping"], opts["patience"],
                          opts["callbacks"], data.validation is not None)
        start_params = self._params.copy()
        history = History()
        order = np.arange(data.x.shape[0], dtype=np.intp)
        try:
            for epoch in range(1, epochs + 1):
                if opts["shuffle"]:
                    data.rng.shuffle(order)
                try:
                    eta = rates.for_epoch(epoch)
                except ValueError:  # a schedule's bad eta: leave the network as it was
                    self._restore(start_params)
                    raise
                record = self._epoch(data.x, data.y, data.labels, order, options, eta,
                                     epoch, opts["progress"], weights=data.weights)
                if data.validation is not None:
                    record.update(self._evaluate(*data.validation, options.cost))
                history.append(record)
                if opts["verbose"]:
                    self._report(record, epochs)
                history.stop_reason = rules.after_epoch(record, self._params)
                if history.stop_reason is not None:
                    break
        except _NonFinite as exc:
            self._restore(start_params)
            raise non_finite_row("X", exc.row) from None
        except KeyboardInterrupt as exc:
            history.stop_reason = "interrupted"
            exc.history = history  # type: ignore[attr-defined]
            raise
        if rules.best is not None:
            self._restore(rules.best)
            history.best_epoch = rules.best_epoch
        return history

    def _epoch(
        self,
        x: Array,
        y: Array,
        labels: NDArray[np.intp] | None,
        order: NDArray[np.intp],
        options: StepOptions,
        eta: float,
        epoch: int,
        progress: Progress | None = None,
        weights: Array | None = None,
    ) -> dict[str, Any]:
        """Run one epoch over the rows ``order`` through the core, in segments (so that
        Ctrl-C is honoured between them), checking x for non-finite rows in the first;
        returns its record. On divergence, restores the parameters from before the epoch
        and raises."""
        n = order.shape[0]
        batch = min(options.batch_size, n)
        work = np.empty(_core.epoch_work_size(self._sizes_arr, batch))
        state = self._state_buffer(options)
        flops_per_sample = 6 * sum(a * b for a, b in zip(self._sizes[:-1], self._sizes[1:]))
        segment = batch * max(1, int(_SEGMENT_FLOPS // (flops_per_sample * batch)))
        before = self.snapshot()
        start = time.perf_counter()
        total, correct, penalty = 0.0, 0, 0.0
        for lo in range(0, n, segment):
            cost, right, bad, self._t, pen = _core.train_epoch(
                self._params, state, self._sizes_arr, self._codes, x, y,
                order[lo : lo + segment], batch, eta, work, cost=options.cost,
                weight_decay=options.l2 / n, momentum=options.momentum,
                nesterov=options.nesterov, optimizer=options.optimizer,
                beta1=options.beta1, beta2=options.beta2, epsilon=options.epsilon,
                t=self._t, check_finite=epoch == 1, lock=self._lock,
                batch_decay=options.alpha, sample_weight=weights,
            )
            if bad >= 0:
                self.restore(before)
                raise _NonFinite(bad)
            total += cost
            penalty += pen
            correct += right
            if progress is not None:
                done = min(lo + segment, n)
                progress(epoch, done, n, total / done)
        if not _core.all_finite(self._params):
            self.restore(before)
            raise diverged(epoch, eta)
        record: dict[str, Any] = {"epoch": epoch, "eta": eta, "cost": total / n}
        if labels is not None:
            record["accuracy"] = correct / n
        if options.l2 or options.alpha:
            record["l2_penalty"] = self.l2_penalty(options.l2, x.shape[0]) + penalty / n
        record["seconds"] = time.perf_counter() - start
        return record

    def _split(
        self,
        x: Array,
        y: Array,
        labels: NDArray[np.intp] | None,
        weights: Array | None,
        fraction: Any,
        rng: np.random.Generator,
    ) -> tuple[Array, Array, NDArray[np.intp] | None, Array | None,
               tuple[Array, Array, NDArray[np.intp] | None]]:
        """Hold out ``fraction`` of the rows, chosen by ``rng``, for validation: the
        training part's rows, labels and weights, and the validation set (unweighted).
        Copies the rows of each part (the split itself is the caller's data, once)."""
        if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, (int, float)):
            raise TypeError(f"validation_split must be a number, got {fraction!r}")
        n = x.shape[0]
        n_val = int(round(float(fraction) * n))
        if not (0.0 < fraction < 1.0) or n_val < 1 or n_val >= n:
            raise ValueError(
                f"validation_split must be in (0, 1) and leave at least one sample on each "
                f"side; {fraction} of {n} samples holds out {n_val}")
        perm = rng.permutation(n)
        val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        # The held-out rows are never trained on, so the epochs do not check them: check
        # them here, before anything changes.
        bad = np.flatnonzero(~np.isfinite(x[val]).all(axis=1))
        if bad.size:
            raise non_finite_row("X", int(val[bad[0]]))
        val_labels = labels[val] if labels is not None else one_hot_labels(y[val])
        return (x[train], y[train], labels[train] if labels is not None else None,
                weights[train] if weights is not None else None, (x[val], y[val], val_labels))

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
        self, x: Array, y: Array, labels: NDArray[np.intp] | None, cost: int
    ) -> dict[str, float]:
        out = self._forward(x)
        scores = {"val_cost": cost_sum(out, y, cost, self._output) / x.shape[0]}
        if labels is not None:
            scores["val_accuracy"] = float(np.mean(np.argmax(out, axis=1) == labels))
        return scores

    @staticmethod
    def _report(record: dict[str, Any], epochs: int) -> None:
        width = len(str(epochs))
        line = f"epoch {record['epoch']:>{width}}/{epochs}  cost {record['cost']:.5f}"
        for key in ("accuracy", "val_cost", "val_accuracy"):
            if key in record:
                line += f"  {key} {record[key]:.{4 if 'accuracy' in key else 5}f}"
        line += f"  eta {record['eta']:.4g}  {record['seconds']:.3f} s"
        print(line, file=sys.stdout, flush=True)


def _unpickle(sizes: tuple[int, ...], params: Array, state: Any,
              activation: Any = "sigmoid", output: Any = "sigmoid") -> MLP:
    """Rebuild a pickled MLP, checking what the pickle holds like any other input (a
    pickle of an older mlp holds the velocity, or None, where the state now is)."""
    if state is None or isinstance(state, np.ndarray):
        state = {} if state is None else {"velocity": state}
    return MLP.from_params(sizes, params, state, activation=activation, output=output)


class _NonFinite(Exception):
    """A row of X holding NaN or infinity, found by the core during an epoch."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


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
