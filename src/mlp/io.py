"""Model files: save a trained network to one ``.npz`` file and load it back.

A model file is a NumPy ``.npz`` archive (a zip file) holding the arrays

``params``
    The network's parameters, ``MLP.params``: 1-D float64, ``[W_1, b_1, W_2, b_2, ...]``
    with each ``W`` row-major.
``header``
    A uint8 array of UTF-8 encoded JSON, an object with the keys

    - ``"format"``: always ``"mlp-model"``;
    - ``"format_version"``: ``2`` (``FORMAT_VERSION``);
    - ``"mlp_version"``: the version of mlp that wrote the file;
    - ``"sizes"``: the layer sizes, input first; ``"n_params"``: ``len(params)``;
    - ``"activation"``: the hidden layers' activations, a list of one name per hidden
      layer (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"identity"``; ``[]`` without hidden
      layers); ``"output"``: the output layer's (``"sigmoid"``, ``"softmax"``,
      ``"identity"``);
    - ``"optimizer_state"``: null (none: training starts afresh), ``{"kind":
      "momentum"}`` (the ``velocity`` array follows) or ``{"kind": "adam", "t": t}``
      (the ``adam_m`` and ``adam_v`` arrays follow; ``t``, Adam's step count, an integer
      >= 0);
    - ``"created"``: when the file was written, ISO-8601 in UTC;
    - ``"training"``: the training options the caller recorded (cost, l2, epochs, ...),
      or null;
    - ``"scaling"``: null, or ``{"method": "minmax" | "standard", "offset": [...],
      "scale": [...]}`` with one number per input: the network's input is
      ``(raw - offset) / scale``;
    - ``"metadata"``: a free JSON object of the caller's (``{}`` by default).
``velocity``, or ``adam_m`` and ``adam_v`` (only as ``"optimizer_state"`` says)
    The optimizer's state, ``MLP.optimizer_state``, so that ``partial_fit`` resumes
    where it stopped: momentum's velocity, or Adam's first and second moments; 1-D
    float64 laid out like ``params`` (``adam_v``, a mean of squares, is >= 0).

Version-1 files (mlp before activations and Adam) hold ``header`` and ``params`` only and
their header has no ``"activation"``, ``"output"`` or ``"optimizer_state"``: they load as
sigmoid networks without optimizer state, and ``read_header`` fills those three keys in as
a version-2 header would have them.

Nothing in a model file is pickled, and loading never runs code from the file: the arrays
are read with ``allow_pickle=False``, and every part is checked (names, types, shapes,
sizes, finiteness, the zip's checksums) before a network is built. Sizes are checked
before anything is decompressed, so that a crafted file cannot exhaust memory.

Saving is atomic: the file is written beside its destination under a temporary name,
flushed to disk and then renamed over the destination, so that a crash or error leaves
either the old file or the new one, never a mixture.

``load_network2`` reads the JSON files of the book's ``network2.py`` (``mlp._network2``).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from mlp import _core
from mlp._atomic import write_atomically
from mlp._validation import as_kernel_array, check_sizes
from mlp._version import __version__
from mlp.activations import check_hidden, check_output
from mlp.network import MLP

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "Network2File", "load",
           "load_network2", "read_header", "save"]

#: The ``"format"`` entry of every model file's header.
FORMAT = "mlp-model"
#: The version of the file layout this mlp writes, and the newest it reads.
FORMAT_VERSION = 2
#: Every version of the file layout this mlp reads.
READABLE_VERSIONS = (1, 2)
#: Scaling methods a header may name.
SCALING_METHODS = ("minmax", "standard")

# The JSON header may take at most this many bytes; larger header members are refused
# before they are decompressed.
_MAX_HEADER_BYTES = 2**20
# Room for a .npy member's own header (magic, version, the dict of dtype and shape):
# numpy writes 128 bytes for a 1-D array.
_NPY_HEADER_ALLOWANCE = 4096
# Deflate cannot expand data by more than about 1032 times; a member claiming more is
# corrupt or crafted.
_MAX_DEFLATE_RATIO = 1100

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_MEMBERS = ("header.npy", "params.npy")
#: The arrays of each kind of optimizer state (``"optimizer_state"``'s ``"kind"``).
STATE_ARRAYS = {"momentum": ("velocity",), "adam": ("adam_m", "adam_v")}
_STATE_MEMBERS = tuple(f"{key}.npy" for keys in STATE_ARRAYS.values() for key in keys)
# The keys of each kind's ``"optimizer_state"`` object.
_STATE_KEYS = {"momentum": {"kind"}, "adam": {"kind", "t"}}
# Adam's step count is a C ``long long`` in the core.
_MAX_T = 2**63 - 1
_HEADER_KEYS_V1 = (
    "format", "format_version", "mlp_version", "sizes", "n_params", "created",
    "training", "scaling", "metadata",
)
_HEADER_KEYS = (*_HEADER_KEYS_V1, "activation", "output", "optimizer_state")
# What a corrupt zip or .npy member makes the standard library and numpy raise.
_CORRUPT = (
    zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError,
    struct.error,
)


class ModelFileError(ValueError):
    """A file that is not a valid mlp model file (or, from ``load_network2``, not a valid
    file of the book's ``network2.py``).

    The message names the file and the problem, on one line.

    Attributes
    ----------
    path : str
        The file.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str, problem: str) -> None:
        problem = " ".join(problem.split())  # one line, whatever the cause's message
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[type[ModelFileError], tuple[str, str]]:
        return type(self), (self.path, self.problem)


# --- saving -----------------------------------------------------------------------------


def save(
    net: MLP,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    scaling: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
) -> None:
    """Write ``net`` to the model file ``path``, atomically: its sizes, activations,
    parameters and optimizer state (``net.optimizer_state``: momentum's velocity or
    Adam's moments and step count, so that ``load(path).partial_fit`` continues exactly
    as ``net.partial_fit`` would).

    Parameters
    ----------
    net : MLP
        The network; its parameters and optimizer state must be finite.
    path : str or os.PathLike
        The file to write, exactly as given (no suffix is added; ``.npz`` is customary).
        An existing file is replaced; its folder must exist.
    metadata : mapping with str keys, optional
        Anything JSON can hold (str, int, float, bool, None, lists and mappings with str
        keys), stored in the header and returned by ``read_header``. Tuples come back as
        lists.
    scaling : mapping, optional
        How raw inputs are scaled before they reach the network:
        ``{"method": "minmax" | "standard", "offset": array_like, "scale": array_like}``
        with ``sizes[0]`` finite numbers each and no zero scale; the network's input is
        ``(raw - offset) / scale``.
    training : mapping with str keys, optional
        The options the network was trained with (cost, l2, epochs, ...), JSON as
        ``metadata``.

    Raises
    ------
    TypeError
        If ``net`` is not an ``MLP``, ``path`` is not a path, or ``metadata``,
        ``training`` or ``scaling`` hold something JSON cannot (the message names where).
    ValueError
        If the parameters or the optimizer state hold NaN or infinity, ``scaling`` is
        invalid, the metadata hold NaN or infinity, or the header would exceed 1 MiB.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    OSError
        If writing fails; any file already at ``path`` is then left as it was, and no
        temporary file is left behind.

    Notes
    -----
    The file is written to a temporary file in the same folder, flushed and synced to
    disk, then renamed onto ``path`` (``os.replace``), so that readers see the old file
    or the complete new one. The new file's permissions follow the umask, as with
    ``open``; a symbolic link at ``path`` is replaced, not followed.

    Examples
    --------
    >>> import os, tempfile, mlp
    >>> from mlp import io
    >>> net = mlp.MLP([2, 3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> io.save(net, path, metadata={"task": "xor"})
    >>> io.load(path).params.tobytes() == net.params.tobytes()
    True
    >>> io.read_header(path)["metadata"]
    {'task': 'xor'}
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlp.MLP, got {type(net).__name__}")
    target = _fspath(path)
    params = net.params
    if not _core.all_finite(params):
        first = int(np.argmax(~np.isfinite(params)))
        raise ValueError(
            f"the network's parameters contain NaN or infinity (first at params[{first}]); "
            "refusing to save it"
        )
    state, state_arrays = _state_to_save(net.optimizer_state)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mlp_version": __version__,
        "sizes": list(net.sizes),
        "n_params": int(params.size),
        "activation": list(net.activation),
        "output": net.output,
        "optimizer_state": state,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "training": None if training is None else _json_object(training, "training"),
        "scaling": None if scaling is None else _check_scaling(scaling, net.sizes[0]),
        "metadata": {} if metadata is None else _json_object(metadata, "metadata"),
    }
    text = json.dumps(header, allow_nan=False, ensure_ascii=False).encode("utf-8")
    if len(text) > _MAX_HEADER_BYTES:
        raise ValueError(
            f"the model file's header would take {len(text):,} bytes; at most "
            f"{_MAX_HEADER_BYTES:,} (1 MiB) are allowed: make metadata, training or "
            "scaling smaller"
        )
    header_array = np.frombuffer(text, dtype=np.uint8)
    _write_atomically(target, {"header": header_array, "params": params, **state_arrays})


def _state_to_save(
    state: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, NDArray[np.float64]]]:
    """The header's ``"optimizer_state"`` and the arrays to store for ``state``, a
    network's ``optimizer_state``; raises ValueError for state that cannot be saved."""
    if not state:
        return None, {}
    if "velocity" in state:
        header: dict[str, Any] = {"kind": "momentum"}
        arrays = {"velocity": state["velocity"]}
    else:
        header = {"kind": "adam", "t": int(state["t"])}
        arrays = {"adam_m": state["m"], "adam_v": state["v"]}
    for key, values in arrays.items():
        if not _core.all_finite(values):
            first = int(np.argmax(~np.isfinite(values)))
            raise ValueError(
                f"the network's optimizer state contains NaN or infinity (first at "
                f"{key}[{first}]); refusing to save it")
    return header, arrays


def _write_atomically(target: str, arrays: dict[str, Any]) -> None:
    """Write the .npz of ``arrays`` (name: array, in the zip's order) to ``target``."""
    write_atomically(target, lambda f: np.savez(f, **arrays), "save the model")


def _json_object(value: Any, name: str) -> dict[str, Any]:
    """``value``, a mapping with str keys of JSON-able values, as plain JSON types."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a dict with str keys, got {type(value).__name__}")
    converted: dict[str, Any] = _to_json(value, name, set())
    return converted


def _to_json(value: Any, where: str, open_ids: set[int]) -> Any:
    """A copy of ``value`` in plain JSON types, or an error naming the part JSON cannot
    hold (``where`` is its position, such as ``metadata['layers'][2]``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}: JSON cannot hold NaN or infinity")
        return float(value)
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in open_ids:
            raise ValueError(f"{where} contains itself: JSON cannot hold a cycle")
        open_ids.add(id(value))
        try:
            if isinstance(value, Mapping):
                out = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise TypeError(
                            f"{where} has the key {key!r} ({type(key).__name__}); "
                            "JSON keys must be str")
                    out[str(key)] = _to_json(item, f"{where}[{key!r}]", open_ids)
                return out
            return [_to_json(item, f"{where}[{i}]", open_ids)
                    for i, item in enumerate(value)]
        finally:
            open_ids.discard(id(value))
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise TypeError(
        f"{where} is a {type(value).__name__} ({shown}), which JSON cannot hold: use str, "
        "int, float, bool, None, lists and dicts with str keys"
    )


def _check_scaling(scaling: Any, n_inputs: int) -> dict[str, Any]:
    """``scaling`` as ``{"method", "offset", "scale"}`` with lists of ``n_inputs`` finite
    floats and no zero scale; raises TypeError or ValueError naming the problem."""
    if not isinstance(scaling, Mapping):
        raise TypeError(
            "scaling must be a dict {'method', 'offset', 'scale'}, got "
            f"{type(scaling).__name__}")
    keys = set(scaling)
    if keys != {"method", "offset", "scale"}:
        missing = sorted(map(str, {"method", "offset", "scale"} - keys))
        extra = sorted(map(repr, keys - {"method", "offset", "scale"}))
        raise ValueError(
            "scaling must have exactly the keys 'method', 'offset' and 'scale'"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else ""))
    method = scaling["method"]
    if not isinstance(method, str) or method not in SCALING_METHODS:
        raise ValueError(
            f"scaling['method'] must be one of {list(SCALING_METHODS)}, got {method!r}")
    checked: dict[str, Any] = {"method": method}
    for key in ("offset", "scale"):
        where = f"scaling[{key!r}]"
        raw = scaling[key]
        if isinstance(raw, (list, tuple)) and any(
                isinstance(v, (bool, np.bool_)) for v in raw):
            raise TypeError(f"{where} must hold numbers, not True or False")
        try:
            arr = np.asarray(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} could not be read as numbers: {exc}") from None
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{where} must hold numbers, got dtype {arr.dtype}")
        if arr.ndim != 1 or arr.shape[0] != n_inputs:
            raise ValueError(
                f"{where} must hold {n_inputs} numbers (one per input), got shape "
                f"{arr.shape}")
        values = arr.astype(np.float64)
        if not np.isfinite(values).all():
            first = int(np.argmax(~np.isfinite(values)))
            raise ValueError(f"{where}[{first}] is {values[first]}: it must be finite")
        if key == "scale" and not values.all():
            first = int(np.argmax(values == 0.0))
            raise ValueError(f"{where}[{first}] is 0: inputs cannot be divided by it")
        checked[key] = values.tolist()
    return checked


# --- loading ----------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> MLP:
    """The network stored in the model file ``path``: its sizes, activations, and its
    parameters and optimizer state bit for bit (a version-1 file: a sigmoid network
    without optimizer state).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    MLP

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    IsADirectoryError
        If ``path`` is a folder.
    ModelFileError
        (a ``ValueError``) If the file is not a valid mlp model file: not an ``.npz``,
        truncated or corrupted (checksum errors), other arrays, a bad header, a
        ``format_version`` this mlp cannot read, unknown activations, parameters or
        optimizer state that do not match the sizes or hold NaN or infinity, optimizer
        state that disagrees with the header (a missing or unexpected array, one of
        Adam's moments without the other, a step count that is not an integer >= 0),
        pickled objects, or members larger than the sizes allow.

    See Also
    --------
    read_header : the header alone (scaling, training options, metadata).
    """
    header, arrays = _read(path, with_params=True)
    state: dict[str, Any] = {}
    if "velocity" in arrays:
        state["velocity"] = arrays["velocity"]
    if "adam_m" in arrays:
        state.update(m=arrays["adam_m"], v=arrays["adam_v"],
                     t=header["optimizer_state"]["t"])
    try:
        return MLP.from_params(header["sizes"], arrays["params"], state,
                               activation=header["activation"], output=header["output"])
    except (TypeError, ValueError) as exc:  # everything was checked: not expected
        raise ModelFileError(_fspath(path), f"the network could not be built: {exc}") \
            from None


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated header of the model file ``path``.

    Returns
    -------
    dict
        The JSON object described in this module's docstring: ``"sizes"`` (a list of
        int), ``"activation"`` (a list of str, one per hidden layer), ``"output"``,
        ``"optimizer_state"`` (None or a dict with ``"kind"``, and ``"t"`` for Adam),
        ``"scaling"`` (None or a dict with lists ``"offset"`` and ``"scale"``),
        ``"training"`` (None or a dict), ``"metadata"`` (a dict), ``"mlp_version"``,
        ``"created"`` and the format keys. Keys a future mlp might add are passed on.
        For a version-1 file ``"format_version"`` is 1 and ``"activation"``,
        ``"output"`` and ``"optimizer_state"`` are filled in: all sigmoid, None.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, ModelFileError
        As ``load``. The layout (dtype, shape, size) of the parameters and of the
        optimizer state is checked without reading their values: only ``load`` is sure
        to check their checksums and finiteness.
    """
    header, _ = _read(path, with_params=False)
    return header


def _read(
    path: str | os.PathLike[str], *, with_params: bool
) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]]]:
    """The checked header and (``with_params``) the float64 arrays of the model file
    ``path``, by name: ``"params"`` and the optimizer state's (``"velocity"``, or
    ``"adam_m"`` and ``"adam_v"``); no arrays without ``with_params``."""
    name = _fspath(path)
    f, size = _open_regular(name, "model file")
    with f:
        if size == 0:
            raise ModelFileError(name, "the file is empty (0 bytes), not a model file")
        with _reading(name, "cannot read the file"):
            magic = f.read(len(_NPY_MAGIC))
            f.seek(0)
        if magic.startswith(_NPY_MAGIC):
            raise ModelFileError(name, "a single .npy array, not an .npz model file")
        if not magic.startswith(_ZIP_MAGIC):
            raise ModelFileError(name, "not an .npz file (it does not start as a zip does)")
        with _reading(name, "not a readable .npz file"):
            npz = np.load(f, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ModelFileError(name, "not an .npz file")
        with npz:
            infos = _check_members(name, npz.zip, size)
            _check_member_size(name, infos["header.npy"], _MAX_HEADER_BYTES, "header")
            raw = _read_member(name, npz, infos["header.npy"], np.dtype(np.uint8), None)
            header = _parse_header(name, raw)
            keys = ("params", *_state_keys(name, header, infos))
            n_params = header["n_params"]
            for key in keys:
                _check_member_size(name, infos[f"{key}.npy"], 8 * n_params, key)
            arrays = {}
            for key in keys:
                arrays[key] = _read_member(
                    name, npz, infos[f"{key}.npy"], np.dtype(np.float64), n_params,
                    read=with_params)
    if not with_params:
        return header, {}
    checked = {}
    for key, values in arrays.items():
        assert values is not None
        values = as_kernel_array(values)  # native byte order, aligned
        if not _core.all_finite(values):
            first = int(np.argmax(~np.isfinite(values)))
            what = "parameters contain" if key == "params" else "optimizer state contains"
            raise ModelFileError(
                name, f"the {what} NaN or infinity (first at {key}[{first}])")
        checked[key] = values
    if "adam_v" in checked and (checked["adam_v"] < 0.0).any():
        first = int(np.argmax(checked["adam_v"] < 0.0))
        raise ModelFileError(
            name, f"adam_v[{first}] is {float(checked['adam_v'][first])!r}: Adam's second "
            "moments are means of squares and cannot be negative")
    return header, checked


def _state_keys(
    name: str, header: dict[str, Any], infos: dict[str, Any]
) -> tuple[str, ...]:
    """The optimizer state's arrays, which the zip holds exactly as the header's
    ``"optimizer_state"`` says (``_check_members`` has paired them)."""
    found = tuple(key.removesuffix(".npy") for key in _STATE_MEMBERS if key in infos)
    state = header["optimizer_state"]
    expected = () if state is None else STATE_ARRAYS[state["kind"]]
    if found == expected:
        return expected
    shown = " and ".join(map(repr, found))
    if header["format_version"] == 1:
        raise ModelFileError(
            name, f"a version-1 model file holds no optimizer state, but this one has the "
            f"array {shown}")
    if state is None:
        raise ModelFileError(
            name, f"the file has the optimizer state array {shown} but the header's "
            "optimizer_state is null")
    want = " and ".join(map(repr, expected))
    raise ModelFileError(
        name, f"the header's optimizer_state is {state['kind']!r}, which is stored as "
        f"{want}, but the file has {shown or 'no optimizer state array'}")


@contextlib.contextmanager
def _reading(name: str, what: str) -> Iterator[None]:
    """Turn the errors a corrupt file makes zipfile and numpy raise into
    ``ModelFileError``."""
    try:
        yield
    except ModelFileError:
        raise
    except _CORRUPT as exc:
        raise ModelFileError(name, f"{what} ({type(exc).__name__}: {exc})") from None


def _check_members(name: str, archive: Any, disk_size: int) -> dict[str, Any]:
    """The zip's members by name, checked from the zip's directory alone (nothing is
    decompressed): names (``header`` and ``params``, and at most one optimizer state,
    whole), compression, and sizes consistent with the file's."""
    infos = archive.infolist()
    names = sorted(info.filename for info in infos)
    found = ", ".join(repr(n.removesuffix(".npy")) for n in names) or "none"
    if not set(_MEMBERS) <= set(names):
        raise ModelFileError(
            name, f"expected exactly the arrays 'header' and 'params', found {found}: "
            "not an mlp model file")
    unknown = [n for n in names if n not in (*_MEMBERS, *_STATE_MEMBERS)]
    if unknown:
        raise ModelFileError(
            name, f"unexpected array {unknown[0].removesuffix('.npy')!r}: found {found}, "
            "but a model file holds 'header', 'params' and at most an optimizer state "
            "('velocity', or 'adam_m' and 'adam_v')")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ModelFileError(
            name, f"the array {twice[0].removesuffix('.npy')!r} appears twice in the zip")
    present = {n.removesuffix(".npy") for n in names}
    for one, other in (("adam_m", "adam_v"), ("adam_v", "adam_m")):
        if one in present and other not in present:
            raise ModelFileError(
                name, f"the {one} array has no partner {other}: Adam's state is both "
                "moments")
    if "velocity" in present and "adam_m" in present:
        raise ModelFileError(
            name, "the file holds both momentum's velocity and Adam's moments; a model "
            "file holds at most one optimizer state")
    for info in infos:
        what = f"the member {info.filename!r}"
        if info.flag_bits & 0x1:
            raise ModelFileError(name, f"{what} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                name, f"{what} uses zip compression method {info.compress_type}; only "
                "stored and deflated members are read")
        if info.compress_size > disk_size:
            raise ModelFileError(
                name, f"{what} claims {info.compress_size:,} bytes, more than the file "
                f"holds ({disk_size:,}): the file is truncated or corrupt")
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.file_size != info.compress_size) or (
                info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024):
            raise ModelFileError(
                name, f"{what} claims {info.file_size:,} bytes from {info.compress_size:,} "
                "stored: the file is corrupt")
    return {info.filename: info for info in infos}


def _check_member_size(name: str, info: Any, data_bytes: int, what: str) -> None:
    """Refuse, before decompressing it, a member larger than its data can be."""
    limit = data_bytes + _NPY_HEADER_ALLOWANCE
    if info.file_size > limit:
        raise ModelFileError(
            name, f"the {what} array takes {info.file_size:,} bytes, more than the "
            f"{limit:,} it can take; refusing to read it")


def _read_member(
    name: str,
    npz: Any,
    info: Any,
    dtype: np.dtype[Any],
    count: int | None,
    *,
    read: bool = True,
) -> NDArray[Any] | None:
    """Check the .npy header of a member (dtype, 1-D, ``count`` elements if given, and
    that it fills the member exactly, so that the zip's checksum covers what is read),
    then read it (``allow_pickle=False``)."""
    key = info.filename.removesuffix(".npy")
    problem = f"the {key} array could not be read"
    with _reading(name, problem):
        with npz.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, found = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, found = np.lib.format.read_array_header_2_0(member)
            else:
                raise ModelFileError(
                    name, f"the {key} array has .npy format version {version}, which is "
                    "not read")
            offset = member.tell()
    if found.hasobject:
        raise ModelFileError(
            name, f"the {key} array holds pickled Python objects (dtype {found}); model "
            "files hold numbers only and pickles are never loaded")
    if found.kind != dtype.kind or found.itemsize != dtype.itemsize or found.fields:
        raise ModelFileError(name, f"the {key} array has dtype {found}, expected {dtype}")
    if len(shape) != 1:
        raise ModelFileError(name, f"the {key} array must be 1-D, got shape {shape}")
    if count is not None and shape[0] != count:
        raise ModelFileError(
            name, f"the {key} array has {shape[0]:,} values but the header's sizes need "
            f"{count:,}")
    if count is None and not 1 <= shape[0] <= _MAX_HEADER_BYTES:
        raise ModelFileError(name, f"the {key} array has {shape[0]:,} bytes")
    if info.file_size != offset + shape[0] * found.itemsize:
        raise ModelFileError(
            name, f"the {key} array's member has {info.file_size:,} bytes, expected "
            f"{offset + shape[0] * found.itemsize:,}: the file is corrupt")
    if not read:
        return None
    with _reading(name, problem):
        arr = npz[key]
    if not isinstance(arr, np.ndarray) or arr.shape != tuple(shape) or arr.dtype != found:
        raise ModelFileError(name, f"the {key} array changed while it was read")
    return arr


def _parse_header(name: str, raw: NDArray[Any] | None) -> dict[str, Any]:
    """The header's JSON object, checked."""
    assert raw is not None
    try:
        text = raw.tobytes().decode("utf-8")
        header = json.loads(
            text, parse_constant=_no_constant, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise ModelFileError(name, f"the header is not UTF-8 text ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(name, f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError(
            name, f"the header must be a JSON object, got a {type(header).__name__}")

    def bad(problem: str) -> ModelFileError:
        return ModelFileError(name, f"the header's {problem}")

    if header.get("format") != FORMAT:
        raise bad(
            f"format is {header.get('format')!r}, not {FORMAT!r}: not an mlp model file")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad(f"format_version must be an integer, got {version!r}")
    readable = " and ".join(map(str, READABLE_VERSIONS))
    if version > FORMAT_VERSION:
        raise bad(
            f"format_version is {version}: the file was written by a newer mlp "
            f"({header.get('mlp_version')!r}) and this mlp ({__version__}) reads "
            f"format_version {readable}; upgrade mlp to load it")
    if version not in READABLE_VERSIONS:
        raise bad(
            f"format_version {version} is not supported (this mlp reads format_version "
            f"{readable})")
    missing = [key for key in (_HEADER_KEYS_V1 if version == 1 else _HEADER_KEYS)
               if key not in header]
    if missing:
        raise ModelFileError(
            name, f"the header lacks {', '.join(map(repr, missing))}")
    if not isinstance(header["sizes"], list):
        raise bad(f"sizes must be a list of layer sizes, got {header['sizes']!r}")
    try:
        sizes = check_sizes(header["sizes"])
    except (TypeError, ValueError) as exc:
        raise bad(f"sizes are invalid: {exc}") from None
    n_params = header["n_params"]
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params != expected:
        raise bad(f"n_params is {n_params!r} but sizes {list(sizes)} have {expected:,}")
    if not isinstance(header["mlp_version"], str):
        raise bad(f"mlp_version must be a string, got {header['mlp_version']!r}")
    created = header["created"]
    try:
        if not isinstance(created, str):
            raise ValueError
        datetime.datetime.fromisoformat(created.removesuffix("Z"))
    except ValueError:
        raise bad(f"created must be an ISO-8601 time, got {created!r}") from None
    if header["training"] is not None and not isinstance(header["training"], dict):
        raise bad(f"training must be an object or null, got {header['training']!r}")
    if not isinstance(header["metadata"], dict):
        raise bad(f"metadata must be an object, got {header['metadata']!r}")
    if header["scaling"] is not None:
        try:
            header["scaling"] = _check_scaling(header["scaling"], sizes[0])
        except (TypeError, ValueError) as exc:
            raise bad(f"scaling is invalid: {exc}") from None
    header["sizes"] = list(sizes)
    if version == 1:
        # Before activations and Adam: sigmoid units throughout, no optimizer state.
        header["activation"] = ["sigmoid"] * (len(sizes) - 2)
        header["output"] = "sigmoid"
        header["optimizer_state"] = None
        return header
    activation = header["activation"]
    if not isinstance(activation, list):
        raise bad(f"activation must be a list of names, one per hidden layer, got "
                  f"{activation!r}")
    try:
        header["activation"] = list(check_hidden(activation, len(sizes) - 2))
    except (TypeError, ValueError) as exc:
        raise bad(f"activation is invalid: {exc}") from None
    try:
        header["output"] = check_output(header["output"])
    except (TypeError, ValueError) as exc:
        raise bad(f"output is invalid: {exc}") from None
    header["optimizer_state"] = _check_state_header(header["optimizer_state"], bad)
    return header


def _check_state_header(
    state: Any, bad: Callable[[str], ModelFileError]
) -> dict[str, Any] | None:
    """The header's ``"optimizer_state"``, checked: null, ``{"kind": "momentum"}`` or
    ``{"kind": "adam", "t": t}`` with ``t`` an integer >= 0."""
    if state is None:
        return None
    kinds = " or ".join(map(repr, STATE_ARRAYS))
    if not isinstance(state, dict):
        raise bad(f"optimizer_state must be null or an object with a kind ({kinds}), got "
                  f"{state!r}")
    kind = state.get("kind")
    if not isinstance(kind, str) or kind not in STATE_ARRAYS:
        raise bad(f"optimizer_state kind must be {kinds}, got {kind!r}")
    if set(state) != _STATE_KEYS[kind]:
        want = ", ".join(map(repr, sorted(_STATE_KEYS[kind])))
        got = ", ".join(map(repr, sorted(state)))
        raise bad(f"optimizer_state of kind {kind!r} must have exactly the keys {want}, "
                  f"got {got}")
    if kind == "adam":
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= _MAX_T:
            raise bad(f"optimizer_state t (Adam's step count) must be an integer from 0 "
                      f"to 2**63 - 1, got {t!r}")
    return dict(state)


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out



def _open_regular(name: str, what: str) -> tuple[BinaryIO, int]:
    """The regular file ``name`` opened for reading in binary, and its size in bytes.

    A missing file raises FileNotFoundError, a folder IsADirectoryError, and anything else
    that is not a regular file (a FIFO or a device, which could block or never end)
    ModelFileError, each naming ``what`` ("model file")."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no such {what}", name) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"a folder, not a {what}", name)
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(name, "not a regular file")
    try:
        f = open(name, "rb")
    except FileNotFoundError:  # removed since the stat
        raise FileNotFoundError(errno.ENOENT, f"no such {what}", name) from None
    return f, os.fstat(f.fileno()).st_size

def _fspath(path: Any) -> str:
    """``path`` as a str, or a TypeError."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    return os.fsdecode(name)


# The reader of the book's network2.py files lives in a module of its own, which uses the
# helpers above: imported last.
from mlp._network2 import Network2File, load_network2  # noqa: E402
