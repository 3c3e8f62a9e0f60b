"""Dask integration: prediction where the data lives, streaming (out-of-core) training, and
data-parallel synchronous SGD for large mini-batches, on dask arrays.

``predict(net, X)``
    The outputs of ``net`` for a dask array ``X`` of shape ``(n, sizes[0])``, chunked along
    rows, as a lazy dask array computed chunk by chunk where the chunks live. The network
    is one node of the graph that every block task depends on, so it is sent to each worker
    once, not once per chunk.
``partial_fit(net, X, Y, *, epochs=1, shuffle_chunks=False, seed=None, **options)``
    The seed's SGD over data larger than memory: row chunks are computed one at a time and
    each is handed to ``net.partial_fit``, so the driver never holds more than one chunk.
``fit(net, X, Y, *, epochs, batch_size, eta, ...)``
    Synchronous data-parallel SGD on a ``dask.distributed`` cluster: the data is spread
    over the workers once, every mini-batch's gradient is computed by all of them at once,
    and the driver applies each update. It pays for large mini-batches and large models.

dask is an optional dependency of mlp: ``import mlp`` never imports it, and importing this
module without it raises ``ImportError`` saying how to install it
(``pip install "mlp-backprop[dask]"``). ``fit`` also needs ``distributed``, imported when
it is called.

Examples
--------
>>> import dask.array as da, mlp, mlp.dask
>>> net = mlp.MLP([4, 3, 2], seed=0)
>>> X = da.random.default_rng(0).random((10_000, 4), chunks=(2048, 4))
>>> out = mlp.dask.predict(net, X)
>>> out.shape, out.chunks[0][:2]
((10000, 2), (2048, 2048))
>>> history = mlp.dask.partial_fit(net, X, (X[:, 0] > 0.5).astype(int), batch_size=32,
...                                eta=1.0)
>>> len(history)
1
"""

# dask and distributed are only partly typed: calls into their untyped functions are
# allowed here.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

_INSTALL_HINT = (
    'mlp.dask needs dask[array] (and distributed for mlp.dask.fit): install them with '
    'pip install "mlp-backprop[dask]" (or pip install "dask[array]" distributed)'
)

try:
    import dask.array as da
    from dask.base import compute, tokenize
    from dask.delayed import delayed
except ImportError as exc:  # not installed
    raise ImportError(_INSTALL_HINT, name="dask") from exc

from mlp import _core
from mlp._validation import (
    as_inputs,
    as_kernel_array,
    as_rng,
    as_targets,
    check_bool,
    check_int,
    check_numeric_dtype,
    check_target_shape,
    diverged,
)
from mlp.network import BLOCK_ROWS, MLP
from mlp.options import STEP, StepOptions, check_options
from mlp.options import eta as resolve_eta
from mlp.training import History

__all__ = ["BLOCK_ROWS", "fit", "partial_fit", "predict"]

Array = NDArray[np.float64]

#: Rows per kernel call in ``MLP.predict``. ``predict`` here is bit-for-bit equal to
#: ``net.predict`` on the gathered data when every row chunk but the last is a multiple of
#: this (the BLAS products are then the same calls); other chunkings differ by rounding in
#: the last bit or so, since BLAS may sum a row's products in another order when the row
#: sits elsewhere in a product.
BLOCK_ROWS: int = BLOCK_ROWS
# fit: a worker splits its part of a mini-batch among its threads in pieces of at least
# this many rows; lost workers are replaced this many times in one call, after waiting
# this many seconds for the scheduler to notice the loss.
_ROWS_PER_THREAD = 256
_RECOVERIES = 3
_LOST_WORKER_WAIT = 3.0


# --- checks ------------------------------------------------------------------------------


def _check_net(net: Any) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlp.MLP, got {type(net).__name__}")
    return net


def _inputs(X: Any, net: MLP, *, known_rows: bool) -> Any:
    """``X`` checked as a 2-D dask array of ``sizes[0]`` columns, in one column chunk."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask array (dask.array.Array), got {type(X).__name__}: wrap "
            "in-memory data with dask.array.from_array(X, chunks=...), or use the "
            "network's own methods for it"
        )
    check_numeric_dtype(X.dtype, "X")
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D with {net.sizes[0]} features per sample, got a dask array of "
            f"shape {X.shape}"
        )
    if X.shape[1] != net.sizes[0]:
        raise ValueError(
            f"X has {X.shape[1]} features per sample; the network's input size is "
            f"{net.sizes[0]}"
        )
    if known_rows and math.isnan(X.shape[0]):
        raise ValueError(
            "X has unknown chunk sizes (NaN rows): call X.compute_chunk_sizes() first"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty: it has no samples")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _targets(Y: Any, X: Any, net: MLP) -> Any:
    """``Y`` checked against ``X`` (rows) and the network (columns): a dask array chunked
    like ``X``'s rows, or a numpy array. Values (label ranges, NaN) are checked chunk by
    chunk when the chunks are computed."""
    n, n_out = X.shape[0], net.sizes[-1]
    arr: Any
    if isinstance(Y, da.Array):
        arr = Y
    else:
        try:
            arr = np.asarray(Y)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Y could not be read as a numeric array: {exc}") from None
    check_numeric_dtype(arr.dtype, "Y")
    check_target_shape(arr.shape, "Y", n, n_out)
    if isinstance(arr, da.Array):
        chunks = (X.chunks[0],) if arr.ndim == 1 else (X.chunks[0], (n_out,))
        if arr.chunks != chunks:
            arr = arr.rechunk(chunks)
    return arr


def _options(options: dict[str, Any], allowed: Sequence[str], where: str) -> dict[str, Any]:
    """The training options ``allowed``, checked by the option specification (with its
    defaults)."""
    if "shuffle" in options and where == "partial_fit":
        raise TypeError(
            f"mlp.dask.partial_fit got unexpected options ['shuffle']; it takes "
            f"{', '.join(allowed)}; rows keep their order within a chunk: use "
            "shuffle_chunks=True to visit the chunks in a random order"
        )
    return check_options(allowed, options, f"mlp.dask.{where}")


# --- predict -----------------------------------------------------------------------------


def _predict_block(x: Any, net: MLP, block_info: Any = None) -> Array:
    """One row chunk's outputs (runs where the chunk lives)."""
    if x.shape[0] == 0:
        return np.empty((0, net.sizes[-1]))
    try:
        return net.predict(x)
    except ValueError as exc:
        where = ""
        if block_info is not None and 0 in block_info:
            start, stop = block_info[0]["array-location"][0]
            where = f", in the chunk of rows {start}:{stop}"
        raise ValueError(f"{exc}{where}") from None


def predict(net: MLP, X: Any) -> Any:
    """Output activations of ``net`` for a dask array of samples, computed where the chunks
    of ``X`` live.

    Parameters
    ----------
    net : mlp.MLP
        The network; a copy of its current parameters is taken, so training it afterwards
        does not change the returned (lazy) array.
    X : dask.array.Array, shape (n, sizes[0])
        Samples, chunked along rows (several column chunks are merged into one). Unknown
        row chunk sizes are fine.

    Returns
    -------
    dask.array.Array, shape (n, sizes[-1]), float64
        Lazy; chunked like ``X``'s rows. Bit-for-bit equal to ``net.predict`` on the
        computed ``X`` when every row chunk but the last is a multiple of ``BLOCK_ROWS``
        (256) rows, and equal to within rounding otherwise.

    Raises
    ------
    TypeError, ValueError
        If ``X`` is not a numeric 2-D dask array with ``sizes[0]`` columns (at once), or
        holds NaN or infinity (when computed).

    Notes
    -----
    The network travels as one node of the graph (a ``dask.delayed`` of a copy, keyed by
    a hash of its parameters) on which every block task depends: the scheduler sends it to
    one worker, the other workers fetch it once from there and keep it while their blocks
    run. Per worker it is shipped once, not once per chunk, and it needs no client: the
    same graph runs on the threaded scheduler (which shares the one copy) or on a cluster,
    where it can also be recomputed if the worker holding it dies.
    """
    _check_net(net)
    x = _inputs(X, net, known_rows=False)
    n_out = net.sizes[-1]
    model = delayed(net.copy(), pure=True, traverse=False,
                    name=f"mlp-network-{tokenize(net.sizes, net.params)}")
    return x.map_blocks(
        _predict_block, model, dtype=np.float64, chunks=(x.chunks[0], (n_out,)),
        meta=np.empty((0, n_out)), name=f"mlp-predict-{tokenize(x.name, model.key)}",
    )


# --- partial_fit: streaming --------------------------------------------------------------


def partial_fit(
    net: MLP,
    X: Any,
    Y: Any,
    *,
    epochs: int = 1,
    shuffle_chunks: bool = False,
    seed: int | np.random.Generator | None = None,
    **options: Any,
) -> History:
    """Train ``net`` on a dask array too large for memory, one row chunk at a time.

    Each epoch computes the row chunks of ``X`` (and ``Y``) one after the other, in order
    (or in a shuffled order), and runs ``net.partial_fit(chunk_X, chunk_Y, shuffle=False,
    **options)`` on each: rows keep their order within a chunk and the momentum velocity
    carries from chunk to chunk and epoch to epoch. The driver holds one chunk at a time;
    chunks are computed by dask's current scheduler (a ``distributed`` client if one is
    active).

    When every chunk's length is a multiple of ``batch_size``, one epoch equals
    ``net.partial_fit`` (``shuffle=False``) on the concatenated data; otherwise each
    chunk's last mini-batch is shorter. ``n`` in the L2 term is the total number of rows
    of ``X``, as for the concatenated data.

    Parameters
    ----------
    net : mlp.MLP
        Trained in place.
    X : dask.array.Array, shape (n, sizes[0])
        Samples, chunked along rows; the chunk sizes must be known.
    Y : dask or numpy array, shape (n, sizes[-1]) or (n,) integer class labels
        Targets; a dask ``Y`` is rechunked like ``X``'s rows if it is not already.
    epochs : int, default 1
        Passes over the data.
    shuffle_chunks : bool, default False
        Visit the chunks in a new random order each epoch, drawn from a numpy
        ``Generator`` seeded by ``seed``.
    seed : None, int or numpy.random.Generator
        Seeds the chunk order.
    **options
        The step options of ``mlp.options.STEP`` (``batch_size``, ``eta``, ``cost``,
        ``optimizer``, ``l2``, ``alpha``, ``momentum``, ``nesterov``, ``beta1``, ``beta2``,
        ``epsilon``), as for ``MLP.partial_fit`` (and its defaults); the optimizer's
        state (momentum's velocity, Adam's moments) carries from chunk to chunk.

    Returns
    -------
    History
        One record per epoch: ``epoch``, ``eta``, ``cost`` (and ``accuracy`` for labels)
        averaged over the chunks weighted by their rows, ``l2_penalty`` with ``l2`` or
        ``alpha`` (as ``partial_fit`` on the concatenated data reports it: L2's term at the
        end of the epoch plus ``alpha``'s averaged over the rows), and ``seconds``
        (computing the chunks included).

    Raises
    ------
    TypeError, ValueError
        For invalid data or options, before any training; for values found invalid in a
        chunk (NaN, labels out of range) when that chunk is reached, naming its rows. On
        any error the network's parameters (and velocity) are restored to what they were
        before the call; Ctrl-C leaves them as after the last complete mini-batch, with
        the history so far on the ``KeyboardInterrupt`` as ``history``.
    FloatingPointError
        If training diverges; the parameters are restored too.

    Notes
    -----
    Each chunk is computed on its own (``X.blocks[i]``, and ``Y``'s with it): a graph
    whose chunks share an expensive intermediate result recomputes it for each chunk, so
    persist such results first. Training runs in the driver, on the network's own
    compiled epoch; use ``fit`` to spread the gradient computation over a cluster.
    """
    _check_net(net)
    kwargs = _options(options, STEP, "partial_fit")
    StepOptions.from_options(kwargs, net.output)  # the combination, before any training
    epochs = check_int(epochs, "epochs", 1)
    shuffle_chunks = check_bool(shuffle_chunks, "shuffle_chunks")
    rng = as_rng(seed)
    x = _inputs(X, net, known_rows=True)
    y = _targets(Y, x, net)
    n = int(x.shape[0])
    bounds = np.concatenate([[0], np.cumsum(x.chunks[0])]).astype(np.int64)
    n_chunks = len(x.chunks[0])
    l2 = float(kwargs["l2"])

    state = net.snapshot()
    history = History()
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            order = rng.permutation(n_chunks) if shuffle_chunks else np.arange(n_chunks)
            cost, correct, has_accuracy, alpha_sum = 0.0, 0, True, 0.0
            last: dict[str, Any] = {}
            for c in order.tolist():
                lo, hi = int(bounds[c]), int(bounds[c + 1])
                if hi == lo:
                    continue
                if isinstance(y, da.Array):
                    xc, yc = compute(x.blocks[c], y.blocks[c])
                else:
                    (xc,) = compute(x.blocks[c])
                    yc = y[lo:hi]
                # l2 / n with n the total rows, through partial_fit's l2 / len(chunk).
                step = dict(kwargs, l2=l2 * (hi - lo) / n) if l2 else kwargs
                try:
                    last = net.partial_fit(xc, yc, shuffle=False, **step)[0]
                except ValueError as exc:
                    raise ValueError(f"{exc}, in the chunk of rows {lo}:{hi}") from None
                finally:
                    del xc, yc  # before the next chunk is computed: one chunk at a time
                cost += last["cost"] * (hi - lo)
                if kwargs["alpha"]:  # alpha's term: the chunk's rows' share of the epoch's
                    alpha_sum += (last["l2_penalty"] - net.l2_penalty(l2, n)) * (hi - lo)
                if "accuracy" in last:
                    correct += round(last["accuracy"] * (hi - lo))
                else:
                    has_accuracy = False
            record: dict[str, Any] = {"epoch": epoch, "eta": resolve_eta(kwargs),
                                      "cost": cost / n}
            if has_accuracy and "accuracy" in last:
                record["accuracy"] = correct / n
            if l2 or kwargs["alpha"]:  # L2's term at the end of the epoch; alpha's, its mean
                record["l2_penalty"] = net.l2_penalty(l2, n) + alpha_sum / n
            record["seconds"] = time.perf_counter() - start
            history.append(record)
    except KeyboardInterrupt as exc:
        history.stop_reason = "interrupted"
        exc.history = history  # type: ignore[attr-defined]
        raise
    except BaseException:
        net.restore(state)
        raise
    return history


# --- fit: data-parallel synchronous SGD --------------------------------------------------


class _Layout:
    """Which rows each shard holds: mini-batch ``k`` is rows ``[k*m, (k+1)*m)`` (the last
    may be shorter, ``m_k`` rows) and its part ``j`` of ``P`` is its rows
    ``[m_k*j//P, m_k*(j+1)//P)``. Shard ``j`` holds part ``j`` of every mini-batch, in
    order; ``offsets[j, k]:offsets[j, k+1]`` are mini-batch ``k``'s rows in shard ``j``."""

    def __init__(self, n: int, m: int, parts: int):
        self.n, self.m, self.parts = n, m, parts
        self.n_batches = -(-n // m)
        lengths = np.full(self.n_batches, m, dtype=np.int64)
        lengths[-1] = n - (self.n_batches - 1) * m
        self.batch_lengths = lengths
        cuts = (np.arange(parts + 1, dtype=np.int64)[:, None] * lengths[None, :]) // parts
        self.offsets = np.zeros((parts, self.n_batches + 1), dtype=np.int64)
        np.cumsum(cuts[1:] - cuts[:-1], axis=1, out=self.offsets[:, 1:])


def _shard_of(start: int, stop: int, n: int, m: int, parts: int) -> NDArray[np.int64]:
    """The shard of each row in ``[start, stop)`` (see ``_Layout``): row ``k*m + pos`` of
    a mini-batch of ``m_k`` rows is in part ``j`` when ``m_k*j//P <= pos < m_k*(j+1)//P``,
    that is ``j = ((pos + 1)*P - 1) // m_k``."""
    rows = np.arange(start, stop, dtype=np.int64)
    batch = rows // m
    pos = rows - batch * m
    length = np.minimum(m, n - batch * m)
    shard: NDArray[np.int64] = ((pos + 1) * parts - 1) // length
    return shard


def _split_chunk(
    x: Any, y: Any, start: int, n: int, m: int, parts: int, sizes: tuple[int, ...]
) -> tuple[tuple[Array, Array], ...]:
    """Checks and converts one row chunk, then cuts it into its rows for each shard
    (runs where the chunk lives)."""
    stop = start + x.shape[0]
    try:
        xc, _ = as_inputs(x, "X", sizes[0])
        yc, _ = as_targets(y, "Y", xc.shape[0], sizes[-1])
    except ValueError as exc:
        raise ValueError(f"{exc}, in the chunk of rows {start}:{stop}") from None
    shard = _shard_of(start, stop, n, m, parts)
    pieces = []
    for j in range(parts):
        rows = np.flatnonzero(shard == j)
        pieces.append((xc[rows], yc[rows]))
    return tuple(pieces)


def _assemble(sizes: tuple[int, ...], *pieces: tuple[Array, Array]) -> tuple[Array, Array]:
    """One shard from its pieces, in row order (runs on the shard's worker)."""
    if not pieces:
        return np.empty((0, sizes[0])), np.empty((0, sizes[-1]))
    x = np.concatenate([p[0] for p in pieces])
    y = np.concatenate([p[1] for p in pieces])
    return x, y


def _gradient_sum(
    params: Array, sizes: NDArray[np.intp], units: NDArray[np.intc], x: Array, y: Array,
    cost: int,
) -> tuple[Array, float]:
    """The summed gradient over the rows of ``x`` and the summed cost, by the compiled
    core."""
    n = x.shape[0]
    grad = np.zeros_like(params)
    if n == 0:
        return grad, 0.0
    block = min(n, BLOCK_ROWS)
    work = np.empty(_core.gradient_work_size(sizes, block))
    # params, x and y may arrive unaligned from the network's frames: aligned for the core
    total = _core.gradient(as_kernel_array(params), sizes, units, as_kernel_array(x),
                           as_kernel_array(y), grad, 1.0, work, block, cost)
    return grad, total


class _ShardActor:
    """One shard on its worker, computing the summed gradient over rows of it for the
    parameters it is sent. A dask actor: the driver calls it directly, without a round trip
    through the scheduler (a few milliseconds less per step). With several threads on its
    worker it splits its rows among them (the core releases the GIL)."""

    def __init__(self, shard: tuple[Array, Array], sizes: tuple[int, ...],
                 units: tuple[int, ...], threads: int):
        self.x, self.y = shard
        self.sizes = np.array(sizes, dtype=np.intp)
        self.units = np.array(units, dtype=np.intc)
        self.threads = max(1, int(threads))
        self.pool: ThreadPoolExecutor | None = None

    def gradient(self, params: Array, rows: Any, cost: int) -> tuple[Array, float]:
        x, y = self.x[rows], self.y[rows]
        n = x.shape[0]
        parts = min(self.threads, max(1, n // _ROWS_PER_THREAD))
        if parts == 1:
            return _gradient_sum(params, self.sizes, self.units, x, y, cost)
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mlp-gradient")
        cuts = [n * i // parts for i in range(parts + 1)]
        results = list(self.pool.map(
            lambda i: _gradient_sum(params, self.sizes, self.units, x[cuts[i]:cuts[i + 1]],
                                    y[cuts[i]:cuts[i + 1]], cost),
            range(parts)))
        grad, total = results[0]
        for g, c in results[1:]:
            grad += g
            total += c
        return grad, total

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False)
            self.pool = None


class _Workers:
    """The shards' actors, one per shard, and their recovery: if a worker is lost, its
    shards' actors are started again on live workers (the cluster rebuilds lost shards
    from ``X``'s graph) and the step is retried."""

    def __init__(self, client: Any, shards: list[Any], homes: list[str],
                 sizes: tuple[int, ...], units: tuple[int, ...]):
        self.client, self.shards, self.sizes, self.units = client, shards, sizes, units
        self.homes = list(homes)
        self.futures: list[Any] = [None] * len(shards)
        self.actors: list[Any] = [None] * len(shards)
        self._start(range(len(shards)))

    def _start(self, which: Any) -> None:
        nthreads = dict(self.client.nthreads())
        started = {j: self.client.submit(
            _ShardActor, self.shards[j], self.sizes, self.units,
            nthreads.get(self.homes[j], 1),
            actor=True, workers=[self.homes[j]], allow_other_workers=True)
            for j in which}
        for j, future in started.items():
            self.actors[j] = future.result()
            self.futures[j] = future

    def _lost(self) -> list[int]:
        """Shards whose actor's worker has left the cluster (waiting a little for the
        scheduler to notice)."""
        deadline = time.monotonic() + _LOST_WORKER_WAIT
        while True:
            alive = set(self.client.nthreads())
            lost = [j for j, a in enumerate(self.actors)
                    if getattr(a, "_address", self.homes[j]) not in alive]
            if lost or time.monotonic() > deadline:
                return lost
            time.sleep(0.1)

    def gradients(self, params: Array, calls: list[tuple[int, Any]],
                  cost: int) -> list[tuple[Array, float]]:
        for attempt in range(_RECOVERIES + 1):
            try:
                pending = [self.actors[j].gradient(params, rows, cost) for j, rows in calls]
                return [p.result() for p in pending]
            except Exception:
                lost = self._lost() if attempt < _RECOVERIES else []
                if not lost:
                    raise
                self.client.wait_for_workers(1, timeout=_LOST_WORKER_WAIT * 10)
                alive = sorted(self.client.nthreads())
                used = {self.homes[j] for j in range(len(self.homes)) if j not in lost}
                spare = [w for w in alive if w not in used] or alive
                for i, j in enumerate(lost):
                    self.homes[j] = spare[i % len(spare)]
                self._start(lost)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        for actor in self.actors:
            try:
                if actor is not None:
                    actor.close().result()
            except Exception:  # a lost worker: nothing left to close
                pass
        self.actors.clear()
        self.futures.clear()
        self.shards.clear()


def _client(client: Any) -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT, name="distributed") from exc
    if client is None:
        try:
            client = distributed.default_client()
        except ValueError:
            raise ValueError(
                "mlp.dask.fit runs on a dask.distributed cluster and found no client: "
                "create one first (distributed.Client(...), for instance on a "
                "distributed.LocalCluster()) or pass client="
            ) from None
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
    return client


def _shard_workers(client: Any, workers: Any) -> list[str]:
    """The workers to hold one shard each: ``workers``, or all of the client's."""
    available = sorted(client.nthreads())
    if workers is None:
        chosen = available
    else:
        if isinstance(workers, str) or not isinstance(workers, Sequence):
            raise TypeError("workers must be a sequence of worker addresses")
        chosen = list(workers)
        missing = [w for w in chosen if w not in available]
        if missing or len(set(chosen)) != len(chosen):
            raise ValueError(
                f"workers must be distinct addresses of the client's workers "
                f"{available}, got {chosen}"
            )
    if not chosen:
        raise ValueError("the cluster has no workers")
    return chosen


def fit(
    net: MLP,
    X: Any,
    Y: Any,
    *,
    epochs: int,
    batch_size: int,
    eta: float | None,
    seed: int | np.random.Generator | None = None,
    shuffle: bool = False,
    client: Any = None,
    workers: Sequence[str] | None = None,
    **options: Any,
) -> History:
    """Synchronous data-parallel mini-batch SGD on a ``dask.distributed`` cluster.

    ``X`` and ``Y`` are spread once over the workers, one shard per worker: shard ``j`` of
    ``P`` holds the ``j``-th ``1/P`` of every mini-batch (mini-batch ``k`` is rows
    ``[k*batch_size, (k+1)*batch_size)``, the last may be shorter). For each mini-batch of
    ``m`` rows, the driver sends the current parameters (one flat float64 vector) to
    every worker, each computes the summed gradient of its part with the compiled core
    (split among its threads), and the driver adds the sums and applies one step,
    ``W := (1 - eta l2/n) W - eta/m sum dC/dW``, ``b := b - eta/m sum dC/db`` (or, with
    ``momentum`` or ``optimizer="adam"``, that step of ``MLP.fit``), through
    ``net.apply_gradient``: the compiled update, under the network's write lock. With
    ``shuffle=False`` this is
    ``net.fit(X, Y, shuffle=False, ...)`` up to rounding (about 1e-16 per step).

    The data must fit in the workers' memory (for data that does not, use
    ``partial_fit``). Each step costs a round trip to every worker carrying the
    parameters there and a gradient back, a few milliseconds plus the transfers, so it
    pays when a mini-batch's gradient takes much longer than that: large ``batch_size``
    and large models (``benchmarks/dask_scaling.py`` measures it).

    Parameters
    ----------
    net : mlp.MLP
        Trained in place.
    X : dask.array.Array, shape (n, sizes[0])
        Samples (any row chunking; the chunk sizes must be known).
    Y : dask or numpy array, shape (n, sizes[-1]) or (n,) integer class labels
    epochs : int
        Passes over the data (0 trains nothing).
    batch_size : int
        Rows per mini-batch, shared among the workers; larger than ``n`` means full-batch
        gradient descent.
    eta : float or None
        Learning rate, finite and > 0; None: the optimizer's default (3.0 for SGD, 0.001
        for Adam).
    seed : None, int or numpy.random.Generator
        Seeds the shuffling.
    shuffle : bool, default False
        Visit the rows in a new random order each epoch. Rows stay in their shard: each
        epoch permutes every shard's rows (numpy ``Generator`` seeded by ``seed``) and
        mini-batch ``k`` takes its share from each, so every row is visited once per epoch
        and each mini-batch is a random sample stratified over the shards. The same seed,
        data, ``batch_size`` and number of workers give the same parameters, whatever the
        chunking of ``X`` or which workers hold the shards.
    client : distributed.Client, optional
        Default: the current client.
    workers : sequence of str, optional
        Addresses of the workers to use; default all the client's workers when ``fit``
        starts.
    **options
        ``cost``, ``optimizer``, ``l2``, ``alpha``, ``momentum``, ``nesterov``, ``beta1``,
        ``beta2``, ``epsilon``, as for ``MLP.fit``.

    Returns
    -------
    History
        One record per epoch: ``epoch``, ``eta``, ``cost`` (the mean cost of each row
        measured before its mini-batch's step, as in ``MLP.fit``), ``l2_penalty`` with L2,
        and ``seconds``. There is no training ``accuracy`` (it would cost another
        forward pass).

    Raises
    ------
    TypeError, ValueError
        For invalid data or options (values such as NaN or bad labels are found while
        the shards are built); the parameters are then untouched.
    FloatingPointError
        If the parameters become NaN or infinite; they are restored to their values
        before the failing epoch.

    Notes
    -----
    Each shard is held by a dask actor on its worker, which the driver calls directly
    (not through the scheduler: that would add a round trip of about 10 ms per step). If a
    worker is lost, its shard is rebuilt by the cluster from ``X``'s graph on another
    worker and the step is retried (up to 3 times per call); the result is the same. On
    any other error the network is restored to its state before the call; Ctrl-C leaves
    it as after the last complete step, with the history so far on the
    ``KeyboardInterrupt`` as ``history``.
    """
    _check_net(net)
    opts = _options({**options, "batch_size": batch_size, "eta": eta}, STEP, "fit")
    step = StepOptions.from_options(opts, net.output)
    epochs = check_int(epochs, "epochs", 0)
    shuffle = check_bool(shuffle, "shuffle")
    rng = as_rng(seed)
    x = _inputs(X, net, known_rows=True)
    y = _targets(Y, x, net)
    if not isinstance(y, da.Array):
        chunks = (x.chunks[0],) if y.ndim == 1 else (x.chunks[0], (y.shape[1],))
        y = da.from_array(y, chunks=chunks)
    client = _client(client)
    targets = _shard_workers(client, workers)
    history = History()
    if epochs == 0:
        return history
    n = int(x.shape[0])
    layout = _Layout(n, min(step.batch_size, n), len(targets))
    pool = _Workers(client, _build_shards(client, x, y, layout, targets, net.sizes),
                    targets, net.sizes, tuple(int(u) for u in net.activation_codes))
    state = net.snapshot()
    try:
        net.prepare_optimizer(step, fresh=True)
        for epoch in range(1, epochs + 1):
            perms = [rng.permutation(int(layout.offsets[j, -1])) if shuffle else None
                     for j in range(layout.parts)]
            history.append(_fit_epoch(net, pool, layout, perms, step, resolve_eta(opts),
                                      epoch))
    except KeyboardInterrupt as exc:
        history.stop_reason = "interrupted"
        exc.history = history  # type: ignore[attr-defined]
        raise
    except FloatingPointError:
        raise
    except BaseException:
        net.restore(state)
        raise
    finally:
        pool.close()
    return history


def _fit_epoch(net: MLP, pool: _Workers, layout: _Layout, perms: list[Any],
               step: StepOptions, eta: float, epoch: int) -> dict[str, Any]:
    """One epoch of synchronous steps: for each mini-batch, every shard's summed gradient
    for the current parameters, added up and applied by ``net.apply_gradient`` (the
    compiled update, under the network's write lock). On divergence the network is
    restored to its state before the epoch and FloatingPointError raised."""
    start = time.perf_counter()
    before = net.snapshot()
    total = 0.0
    for k in range(layout.n_batches):
        calls = []
        for j in range(layout.parts):
            lo, hi = int(layout.offsets[j, k]), int(layout.offsets[j, k + 1])
            if hi > lo:
                perm = perms[j]
                calls.append((j, slice(lo, hi) if perm is None else perm[lo:hi]))
        results = pool.gradients(net.params, calls, step.cost)
        # a fresh, aligned, writable sum: apply_gradient scales it in place
        grad = np.array(results[0][0], dtype=np.float64)
        for g, _ in results[1:]:
            grad += g
        total += sum(c for _, c in results)
        net.apply_gradient(grad, int(layout.batch_lengths[k]), eta, step, layout.n)
    if not _core.all_finite(net.params):
        net.restore(before)
        raise diverged(epoch, eta)
    record: dict[str, Any] = {"epoch": epoch, "eta": eta, "cost": total / layout.n}
    if step.l2:
        record["l2_penalty"] = net.l2_penalty(step.l2, layout.n)
    record["seconds"] = time.perf_counter() - start
    return record


def _build_shards(
    client: Any, x: Any, y: Any, layout: _Layout, targets: list[str],
    sizes: tuple[int, ...],
) -> list[Any]:
    """Futures of the shards ``(x, y)``, shard ``j`` held by ``targets[j]``. Each chunk is
    checked and cut where it is computed; only the pieces move, each to its shard's
    worker. Once the shards are built the pieces are released (the cluster keeps their
    recipe, to rebuild a lost shard)."""
    from distributed import wait

    starts = np.concatenate([[0], np.cumsum(x.chunks[0])]).astype(np.int64)
    xs, ys = x.to_delayed().ravel(), y.to_delayed().ravel()
    split = delayed(_split_chunk, pure=True, nout=layout.parts)
    cut = [split(xs[c], ys[c], int(starts[c]), layout.n, layout.m, layout.parts, sizes)
           for c in range(len(xs)) if starts[c + 1] > starts[c]]
    pieces = client.compute([piece for parts in cut for piece in parts])
    shards = []
    for j, worker in enumerate(targets):
        mine = pieces[j::layout.parts]
        shards.append(client.submit(_assemble, sizes, *mine, pure=False, workers=[worker],
                                    allow_other_workers=True))
    wait(shards)
    for future in shards:  # a chunk's error (NaN, bad labels) is raised here
        if future.status == "error":
            future.result()
    return shards
