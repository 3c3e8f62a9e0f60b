"""Data: the bundled UCI digits, and loaders for CSV, ``.npz`` and IDX (MNIST-format) files."""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

_DIGITS = "digits.csv.gz"
_DIGITS_SHAPE = (1797, 65)


def load_digits() -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The UCI handwritten digits: 1,797 images of 8x8 pixels, labels 0-9.

    The copy scikit-learn ships as ``digits.csv.gz`` (the test set of the UCI "Optical
    Recognition of Handwritten Digits" data, E. Alpaydin and C. Kaynak, 1998, CC BY 4.0;
    see ``mlp/data/DIGITS-LICENSE.txt``), bundled with mlp and read without scikit-learn.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Pixel values 0..16, each row an image row by row. Divide by 16 to get inputs in
        [0, 1], the range sigmoid networks train well on.
    y : ndarray of intp, shape (1797,)
        The digit, 0..9.

    Raises
    ------
    OSError
        If the bundled file is missing or corrupted (a broken installation).

    Examples
    --------
    >>> from mlp.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 16, True)
    """
    source = resources.files("mlp") / "data" / _DIGITS
    try:
        with source.open("rb") as raw, gzip.open(raw, "rt") as text:
            data = np.loadtxt(text, delimiter=",", dtype=np.float64)
    except (OSError, EOFError, ValueError) as exc:
        raise OSError(f"the bundled {_DIGITS} could not be read ({exc}); reinstall mlp") from exc
    if data.shape != _DIGITS_SHAPE or not np.isfinite(data).all():
        raise OSError(f"the bundled {_DIGITS} is corrupted (shape {data.shape}); reinstall mlp")
    return np.ascontiguousarray(data[:, :64]), data[:, 64].astype(np.intp)


# --- loaders for the command line and for users' own files ---------------------------------

Labels = NDArray[np.intp] | NDArray[np.float64] | None

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# the names MNIST-format files go by: train-images-idx3-ubyte(.gz), train-images.idx3-ubyte,
# t10k-..., test-...
_IDX_KINDS = {"train": ("train",), "test": ("t10k", "test")}


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _labels(column: NDArray[np.float64]) -> NDArray[np.intp] | NDArray[np.float64]:
    """Integer-valued labels as intp, anything else as float targets."""
    if np.all(column == np.round(column)) and np.all(np.abs(column) < 2**31):
        return column.astype(np.intp)
    return column


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    return p


def load_csv(
    path: str | os.PathLike[str],
    *,
    label_column: int | str | None = -1,
    header: bool | None = None,
    delimiter: str = ",",
) -> tuple[NDArray[np.float64], Labels]:
    """Samples from a CSV file (optionally gzipped), one per row.

    Parameters
    ----------
    path : str or path
    label_column : int, str or None, default -1
        The column holding the label or target (an index, negative from the end, or a
        header name); None when the file has no labels.
    header : bool or None, default None
        Whether the first row is a header; None detects it (a first row that does not
        parse as numbers).
    delimiter : str, default ","

    Returns
    -------
    X : ndarray of float64, shape (n, columns - 1)
    y : ndarray of intp (integer labels), of float64 (other targets), or None

    Raises
    ------
    FileNotFoundError
    ValueError
        For an empty file, rows of different lengths, cells that are not numbers, or a
        label column that does not exist; the message names the row and column.
    """
    p = _existing(path)
    with _open_text(p) as f:
        rows = [row for row in csv.reader(f, delimiter=delimiter) if row]
    if not rows:
        raise ValueError(f"{p}: the file has no rows")
    names = None
    if header is None:
        try:
            [float(cell) for cell in rows[0]]
            header = False
        except ValueError:
            header = True
    if header:
        names = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
        if not rows:
            raise ValueError(f"{p}: the file has a header but no data rows")
    width = len(rows[0])
    for k, row in enumerate(rows):
        if len(row) != width:
            line = k + 1 + bool(header)
            raise ValueError(f"{p}: row {line} has {len(row)} columns, row "
                             f"{1 + bool(header)} has {width}")
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError:
        for k, row in enumerate(rows):
            for j, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    raise ValueError(f"{p}: row {k + 1 + bool(header)}, column {j + 1}: "
                                     f"{cell!r} is not a number") from None
        raise
    if label_column is None:
        return np.ascontiguousarray(data), None
    if isinstance(label_column, str):
        if names is None or label_column not in names:
            raise ValueError(f"{p}: no column named {label_column!r}"
                             + (f" (columns: {', '.join(names)})" if names else
                                " (the file has no header)"))
        index = names.index(label_column)
    else:
        index = int(label_column)
        if not -width <= index < width:
            raise ValueError(f"{p}: label column {index} does not exist "
                             f"(the file has {width} columns)")
        index %= width
    if width < 2:
        raise ValueError(f"{p}: a label column leaves no feature columns")
    X = np.ascontiguousarray(np.delete(data, index, axis=1))
    return X, _labels(data[:, index])


def load_npz(path: str | os.PathLike[str]) -> tuple[NDArray[np.float64], Labels]:
    """Samples from a NumPy ``.npz`` file with arrays ``X`` (n, features) and, optionally,
    ``y`` (n,) labels or (n, outputs) targets. Read with ``allow_pickle=False``.

    Raises
    ------
    FileNotFoundError
    ValueError
        If the file is not an ``.npz``, has no ``X``, holds objects, or ``X`` and ``y``
        disagree in shape.
    """
    p = _existing(path)
    try:
        f = np.load(p, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named arrays")
        with f:
            names = list(f.files)
            X = np.asarray(f["X"]) if "X" in names else None
            y = np.asarray(f["y"]) if "y" in names else None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{p}: not a readable .npz file ({exc})") from None
    if X is None:
        raise ValueError(f"{p}: no array named 'X' (it has {', '.join(names) or 'none'})")
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(f"{p}: X must be a 2-D numeric array, got {X.dtype} of shape "
                         f"{X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if y is None:
        return X, None
    if y.dtype.kind not in "biuf" or y.ndim not in (1, 2) or len(y) != len(X):
        raise ValueError(f"{p}: y must be numeric with one row per row of X, got {y.dtype} "
                         f"of shape {y.shape} for X of shape {X.shape}")
    if y.ndim == 1:
        return X, _labels(y.astype(np.float64))
    return X, np.ascontiguousarray(y, dtype=np.float64)


def _read_idx(path: Path) -> NDArray[Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES or data[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(f"{path}: the header promises {shape} ({expected} bytes of data), "
                         f"the file has {len(data) - offset}")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)


def _find_idx(folder: Path, kind: str, what: str) -> Path:
    if kind not in _IDX_KINDS:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    dims = "idx3" if what == "images" else "idx1"
    for prefix in _IDX_KINDS[kind]:
        for sep in ("-", "."):
            for suffix in ("", ".gz"):
                candidate = folder / f"{prefix}-{what}{sep}{dims}-ubyte{suffix}"
                if candidate.is_file():
                    return candidate
    raise FileNotFoundError(f"{folder}: no {kind} {what} file "
                            f"(looked for e.g. {_IDX_KINDS[kind][0]}-{what}-{dims}-ubyte.gz)")


def load_idx(
    images: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    *,
    kind: str = "train",
) -> tuple[NDArray[np.float64], NDArray[np.intp] | None]:
    """Samples in the IDX format of MNIST and Fashion-MNIST, gzipped or raw.

    Parameters
    ----------
    images : str or path
        An IDX file of images (any number of dimensions after the first; each image is
        flattened), or a folder holding the usual files (``train-images-idx3-ubyte.gz``,
        ``t10k-labels.idx1-ubyte``, ...), of which ``kind`` picks the pair.
    labels : str or path, optional
        The IDX file of labels for an ``images`` file (for a folder it is found there).
    kind : {"train", "test"}, default "train"

    Returns
    -------
    X : ndarray of float64, shape (n, pixels)
        The raw values (0..255 for the usual byte images).
    y : ndarray of intp, or None
    """
    p = _existing(images)
    if p.is_dir():
        labels = _find_idx(p, kind, "labels")
        p = _find_idx(p, kind, "images")
    raw = _read_idx(p)
    X = np.ascontiguousarray(raw.reshape(raw.shape[0], -1), dtype=np.float64)
    if labels is None:
        return X, None
    y = _read_idx(_existing(labels))
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{labels}: {y.shape} labels for {len(X)} images")
    return X, y.astype(np.intp)


def load_data(
    path: str | os.PathLike[str], *, label_column: int | str | None = -1, kind: str = "train"
) -> tuple[NDArray[np.float64], Labels]:
    """Samples from a CSV file, an ``.npz`` file, or an IDX file or folder, told apart by
    the name: what the command line's ``DATA`` argument accepts."""
    p = _existing(path)
    name = p.name.lower()
    if p.is_dir() or "idx" in name or "ubyte" in name:
        return load_idx(p, kind=kind) if p.is_dir() else load_idx(p)
    if name.endswith(".npz"):
        return load_npz(p)
    return load_csv(p, label_column=label_column)
