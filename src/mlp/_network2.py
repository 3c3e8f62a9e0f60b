"""The files of the book's ``network2.py`` (Nielsen, *Neural Networks and Deep Learning*):
read a network it saved into an ``MLP``, with the cost it was trained with.

``Network.save(filename)`` in ``network2.py`` writes one JSON object::

    {"sizes": [784, 30, 10],
     "weights": [w.tolist() for w in self.weights],   # w of shape (n_out, n_in)
     "biases": [b.tolist() for b in self.biases],     # b of shape (n_out, 1)
     "cost": "CrossEntropyCost"}                       # or "QuadraticCost"

The book's layer computes ``a = sigmoid(w @ a + b)`` on column vectors; an ``MLP`` computes
``a = sigmoid(a @ W + b)`` on rows with ``W`` of shape ``(n_in, n_out)``, so ``W = w.T`` and
``b`` is the book's column flattened. Every unit of the book's network is a sigmoid, which is
``MLP``'s default. The book's costs are mlp's ``"quadratic"`` and ``"cross_entropy"`` (output
delta ``a - y``), and its ``lmbda`` is ``fit``'s ``l2``: the same update rule.

The file is read as data only (``json``, nothing imported or evaluated) and checked whole
before a network is built; this module's errors are ``mlp.io.ModelFileError``.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from mlp._validation import check_sizes
from mlp.io import ModelFileError, _fspath, _no_duplicate_keys, _open_regular
from mlp.network import MLP

__all__ = ["COSTS", "MAX_NETWORK2_BYTES", "Network2File", "load_network2"]

#: The ``"cost"`` names of ``network2.py`` and the ``cost`` of ``MLP.fit`` each one is.
COSTS = {"QuadraticCost": "quadratic", "CrossEntropyCost": "cross_entropy"}
#: Larger files are refused before they are parsed. JSON takes about 20 bytes per
#: parameter and parsed into Python about 32 more: 256 MiB is some 13 million parameters,
#: far beyond what the book's pure-NumPy training reaches (MNIST's [784, 30, 10] is
#: about 0.5 MB).
MAX_NETWORK2_BYTES = 2**28
_KEYS = ("sizes", "weights", "biases", "cost")
_ZIP_MAGIC = b"PK\x03\x04"


class Network2File(NamedTuple):
    """What ``load_network2`` returns: the network and the cost it was trained with.

    Attributes
    ----------
    net : MLP
        The book's network in mlp's layout: an all-sigmoid ``MLP`` of the same sizes.
    cost : {"quadratic", "cross_entropy"}
        The file's cost as ``MLP.fit``'s ``cost`` option: pass it on to keep training
        with the cost the book trained with (``fit``'s own default, for a sigmoid
        output, is ``"quadratic"``; ``network2.Network``'s is ``CrossEntropyCost``).
    """

    net: MLP
    cost: str


def load_network2(path: str | os.PathLike[str]) -> Network2File:
    """The network saved by the book's ``network2.py`` (``Network.save``) at ``path``, and
    the cost it was trained with.

    ``weights[l]``, of shape ``(n_out, n_in)`` in the file, becomes ``net.weights[l] =
    w.T`` and ``biases[l]``, ``(n_out, 1)``, becomes ``net.biases[l]`` of shape
    ``(n_out,)``; every unit is a sigmoid, as in the book. ``net.predict(x)`` is the
    book's ``feedforward(x)`` for each row ``x``.

    Parameters
    ----------
    path : str or os.PathLike
        A JSON file as ``network2.py`` writes it: an object with exactly the keys
        ``"sizes"``, ``"weights"``, ``"biases"`` and ``"cost"``.

    Returns
    -------
    Network2File
        ``(net, cost)``: the ``MLP``, and the file's cost as ``MLP.fit`` names it,
        ``"quadratic"`` (``QuadraticCost``) or ``"cross_entropy"``
        (``CrossEntropyCost``). ``net.fit(X, Y, cost=cost, ...)`` keeps training the
        book's network with the book's update rule (``lmbda`` is ``l2``).

    Raises
    ------
    TypeError
        If ``path`` is not a str or ``os.PathLike``.
    FileNotFoundError
        If there is no file at ``path``.
    IsADirectoryError
        If ``path`` is a folder.
    ModelFileError
        (a ``ValueError``) If the file is not such a network: not a regular file, larger
        than ``MAX_NETWORK2_BYTES``, not UTF-8 JSON, not an object, missing or
        unexpected keys (or a key twice), ``sizes`` not a list of at least two positive
        integers, ``weights`` or ``biases`` not one per layer, ragged or of the wrong
        shape (a transposed matrix is named as such), values that are not numbers or
        are NaN or infinite (a diverged network), or a cost other than
        ``"QuadraticCost"`` and ``"CrossEntropyCost"``. The message names the file and
        the problem.

    See Also
    --------
    mlp.load : mlp's own model files.

    Examples
    --------
    A file as ``network2.Network([2, 3, 1]).save(path)`` writes it:

    >>> import json, os, tempfile
    >>> import numpy as np
    >>> from mlp import io
    >>> w = [np.full((3, 2), 0.5), np.ones((1, 3))]          # (n_out, n_in)
    >>> b = [np.zeros((3, 1)), np.full((1, 1), -1.5)]        # (n_out, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "net2.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"sizes": [2, 3, 1], "weights": [x.tolist() for x in w],
    ...                "biases": [x.tolist() for x in b], "cost": "CrossEntropyCost"}, f)
    >>> net, cost = io.load_network2(path)
    >>> net, cost
    (MLP(sizes=(2, 3, 1)), 'cross_entropy')
    >>> net.weights[0].shape, net.biases[1].shape
    ((2, 3), (1,))
    >>> net.predict([[0.0, 0.0]])                  # sigmoid(3 * sigmoid(0) - 1.5)
    array([[0.5]])
    >>> history = net.fit(np.eye(2), [[1.0], [0.0]], epochs=2, eta=0.5, cost=cost)
    """
    name, data = _read_json(path)
    sizes = _check_sizes(name, data["sizes"])
    cost = data["cost"]
    if not isinstance(cost, str) or cost not in COSTS:
        known = " and ".join(map(repr, COSTS))
        raise ModelFileError(
            name, f"the cost is {_shown(cost)}: mlp reads network2's costs {known} only")
    Ws, bs = _parameters(name, data, sizes)
    try:
        net = MLP.from_weights(Ws, bs)
    except (TypeError, ValueError) as exc:  # everything was checked: not expected
        raise ModelFileError(name, f"the network could not be built: {exc}") from None
    return Network2File(net, COSTS[cost])


def _read_json(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """The file's name and its JSON object, with exactly the keys of ``_KEYS``."""
    name = _fspath(path)
    f, size = _open_regular(name, "network2 file")
    with f:
        raw = f.read(MAX_NETWORK2_BYTES + 1) if size <= MAX_NETWORK2_BYTES else b""
    if size > MAX_NETWORK2_BYTES or len(raw) > MAX_NETWORK2_BYTES:
        raise ModelFileError(
            name, f"the file is larger than {MAX_NETWORK2_BYTES:,} bytes, the most "
            f"load_network2 reads (some {MAX_NETWORK2_BYTES // 20:,} parameters); load "
            "it with the book's network2.load and pass its weights (transposed) and "
            "biases (flattened) to mlp.MLP.from_weights")
    if not raw:
        raise ModelFileError(name, "the file is empty (0 bytes), not a network2 file")
    if raw.startswith(_ZIP_MAGIC):
        raise ModelFileError(
            name, "a zip file, not the JSON network2.py writes; an mlp model file (.npz) "
            "loads with mlp.load")
    try:
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise ModelFileError(name, f"the file is not UTF-8 text ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(name, f"the file is not valid JSON ({exc})") from None
    want = ", ".join(map(repr, _KEYS))
    if not isinstance(data, dict):
        raise ModelFileError(
            name, f"the file must hold a JSON object with the keys {want}, as network2.py "
            f"saves a network, got {_kind(data)}")
    missing = [key for key in _KEYS if key not in data]
    if missing:
        raise ModelFileError(
            name, f"the file lacks {', '.join(map(repr, missing))}: network2.py saves "
            f"exactly {want}")
    extra = [key for key in data if key not in _KEYS]
    if extra:
        raise ModelFileError(
            name, f"unexpected key {extra[0]!r}: network2.py saves exactly {want}")
    return name, data


def _parameters(
    name: str, data: dict[str, Any], sizes: tuple[int, ...]
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """The file's weights and biases in mlp's layout: ``W = w.T`` of shape ``(n_in,
    n_out)`` and ``b`` of shape ``(n_out,)``, from the book's ``w`` of shape ``(n_out,
    n_in)`` and ``b`` of shape ``(n_out, 1)``."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    weights = _per_layer(name, data["weights"], "weights", len(layers))
    biases = _per_layer(name, data["biases"], "biases", len(layers))
    Ws, bs = [], []
    for l, (n_in, n_out) in enumerate(layers):
        w = _matrix(name, weights[l], f"weights[{l}]", (n_out, n_in), sizes)
        b = _matrix(name, biases[l], f"biases[{l}]", (n_out, 1), sizes)
        Ws.append(w.T)
        bs.append(b[:, 0])
    return Ws, bs


def _check_sizes(name: str, sizes: Any) -> tuple[int, ...]:
    """The file's ``"sizes"``: a list of at least two positive ints."""
    if not isinstance(sizes, list):
        raise ModelFileError(
            name, f"sizes must be a list of layer sizes such as [784, 30, 10], got "
            f"{_shown(sizes)}")
    try:
        return check_sizes(sizes)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(name, f"sizes are invalid: {exc}") from None


def _per_layer(name: str, value: Any, key: str, n_layers: int) -> list[Any]:
    """The file's ``"weights"`` or ``"biases"``: a list of one entry per layer."""
    if not isinstance(value, list) or len(value) != n_layers:
        raise ModelFileError(
            name, f"{key} must be a list of {n_layers} matrices, one per layer after the "
            f"input (as sizes say), got {_kind(value)}")
    return value


def _matrix(
    name: str, value: Any, where: str, shape: tuple[int, int], sizes: tuple[int, ...]
) -> NDArray[np.float64]:
    """``value``, the file's ``where``, as a finite float64 array of ``shape``: a list of
    ``shape[0]`` rows, each a list of ``shape[1]`` numbers (JSON ints or floats)."""
    rows, cols = shape
    found = _shape_of(value)
    if found != shape:
        hint = " (transposed?)" if found == (cols, rows) else ""
        raise ModelFileError(
            name, f"{where} must have shape {shape} for sizes {list(sizes)}, as network2.py "
            f"saves it: a row of {_count(cols, 'number')} for each of the layer's "
            f"{_count(rows, 'neuron')}; got {_describe(value, found)}{hint}")
    for i, row in enumerate(value):
        if not set(map(type, row)) <= {int, float}:
            j = next(j for j, v in enumerate(row) if type(v) not in (int, float))
            raise ModelFileError(
                name, f"{where}[{i}][{j}] is {_shown(row[j])}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ModelFileError(
            name, f"{where} holds an integer too large for a float64") from None
    finite = np.isfinite(arr)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ModelFileError(
            name, f"{where}[{i}][{j}] is {arr[i, j]}: the parameters must be finite (NaN "
            "or infinity in a network2 file means its training diverged)")
    return arr


def _shape_of(value: Any) -> tuple[int, int] | None:
    """``(len(value), len(row))`` if ``value`` is a non-empty list of lists of one
    length, else None."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(row, list) for row in value):
        return None
    lengths = {len(row) for row in value}
    if len(lengths) != 1:
        return None
    return len(value), lengths.pop()


def _describe(value: Any, shape: tuple[int, int] | None) -> str:
    """What ``value`` is, for a message: its shape, or why it has none."""
    if shape is not None:
        return f"shape {shape}"
    if not isinstance(value, list):
        return _kind(value)
    if not value:
        return "an empty list"
    bad = next((i for i, row in enumerate(value) if not isinstance(row, list)), None)
    if bad is not None:
        return f"{len(value)} rows of which row {bad} is {_kind(value[bad])}, not a list"
    lengths = [len(row) for row in value]
    other = next(i for i, n in enumerate(lengths) if n != lengths[0])
    return (f"{len(value)} ragged rows: row 0 has {_count(lengths[0], 'number')}, row "
            f"{other} has {lengths[other]}")


def _count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _kind(value: Any) -> str:
    """The JSON kind of ``value``, for a message."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """``value`` as JSON, shortened for a message."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
