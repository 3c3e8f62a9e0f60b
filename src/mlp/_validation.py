"""Checks for the values users hand to mlp, each raising an error that names the argument.

The facade calls these once, at its entry points, and then trusts what they return: an
aligned C-contiguous float64 array (no copy when the input already is one) that the kernels
can use.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlp import _core

# BLAS takes int dimensions; a layer wider than this cannot be handed to it.
MAX_LAYER_SIZE = 2**31 - 1
# A network this large (16 GiB of float64 parameters) is refused up front rather than
# left to fail in an allocation: mlp is for networks that fit comfortably in memory.
MAX_PARAMS = 2**31

_NUMERIC_KINDS = "biuf"


def check_sizes(sizes: Any) -> tuple[int, ...]:
    """Return ``sizes`` as a tuple of ints, or raise naming what is wrong with it."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(
            f"sizes must be a sequence of layer sizes such as [784, 30, 10], got {sizes!r}"
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"sizes needs at least 2 entries (input and output size), got {len(sizes)}"
        )
    checked = []
    for l, n in enumerate(sizes):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"sizes[{l}] must be an int, got {n!r}")
        n = int(n)
        if not 1 <= n <= MAX_LAYER_SIZE:
            raise ValueError(f"sizes[{l}] must be in [1, {MAX_LAYER_SIZE}], got {n}")
        checked.append(n)
    total = sum(a * b + b for a, b in zip(checked[:-1], checked[1:]))
    if total > MAX_PARAMS:
        raise ValueError(
            f"sizes {tuple(checked)} need {total:,} parameters "
            f"({total * 8 / 2**30:,.0f} GiB); at most {MAX_PARAMS:,} are supported"
        )
    return tuple(checked)


def check_int(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a finite float > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {number}")
    return number


def check_real(value: Any, name: str, low: float, high: float, high_open: bool) -> float:
    """Return ``value`` as a finite float in ``[low, high]`` (``[low, high)`` with
    ``high_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    ok = math.isfinite(number) and number >= low and (
        number < high if high_open else number <= high)
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be in [{low:g}, {high:g}{bracket}, got {number}")
    return number


def check_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a bool; only True and False (numpy's too) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Any) -> str:
    """Return ``value``, one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_callable(value: Any, name: str, optional: bool = True) -> Any:
    """Return ``value`` if it is callable (or None, when ``optional``)."""
    if not (callable(value) or (optional and value is None)):
        raise TypeError(f"{name} must be callable, got {value!r}")
    return value


def check_callbacks(callbacks: Any, name: str = "callbacks") -> list[Any]:
    """Return ``callbacks`` (a callable or an iterable of callables) as a list."""
    if callable(callbacks):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"{name} must be a callable or a sequence of callables")
    checked = list(callbacks)
    for k, f in enumerate(checked):
        if not callable(f):
            raise TypeError(f"{name}[{k}] is not callable: {f!r}")
    return checked


def check_pair(value: Any, name: str) -> Any:
    """Return ``value`` if it is None or a pair such as ``(X_val, Y_val)``."""
    if value is not None and (not isinstance(value, (tuple, list)) or len(value) != 2):
        raise TypeError(f"{name} must be a pair (X_val, Y_val)")
    return value


def check_seed(seed: Any, name: str = "seed") -> Any:
    """Return ``seed`` if ``numpy.random.default_rng`` takes it (None, an int >= 0, a
    ``Generator``...)."""
    as_rng(seed, name)
    return seed


def as_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """A numpy ``Generator`` from ``seed`` (a ``Generator`` is used as it is)."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be None, an int >= 0 or a numpy Generator, got {seed!r} ({exc})"
        ) from None


def check_hidden_layer_sizes(hidden: Any, name: str = "hidden_layer_sizes") -> tuple[int, ...]:
    """``hidden`` as a tuple of ints >= 1 (an int is one hidden layer, ``()`` none)."""
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, (bool, np.bool_)):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a sequence of ints such as (30,) or (100, 50), got {hidden!r}"
        )
    checked = []
    for k, n in enumerate(hidden):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{name}[{k}] must be an int, got {n!r}")
        if n < 1:
            raise ValueError(f"{name}[{k}] must be >= 1, got {n}")
        checked.append(int(n))
    return tuple(checked)


def check_target_shape(shape: tuple[Any, ...], name: str, n_rows: Any, n_out: int) -> None:
    """Check the shape of targets: 1-D labels or 2-D ``(n_rows, n_out)``."""
    if len(shape) not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D class labels or 2-D targets of shape (n, {n_out}), "
            f"got shape {shape}"
        )
    if shape[0] != n_rows:
        raise ValueError(f"{name} has {shape[0]} rows but X has {n_rows}")
    if len(shape) == 2 and shape[1] != n_out:
        raise ValueError(
            f"{name} has {shape[1]} columns; the network's output size is {n_out}"
        )


def check_numeric_dtype(dtype: Any, name: str) -> None:
    """Raise TypeError unless ``dtype`` is a number type (bool, int, unsigned, float)."""
    if np.dtype(dtype).kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} has dtype {dtype}; expected numbers (float, int or bool)")


def _as_numeric(a: ArrayLike, name: str) -> NDArray[Any]:
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    check_numeric_dtype(arr.dtype, name)
    return arr


def _check_finite(arr: NDArray[np.float64], name: str) -> None:
    """``arr`` is C-contiguous float64; checked in one pass with no temporary array."""
    if not _core.all_finite(arr.reshape(-1)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} contains NaN or infinity (first at [{where}])")


def as_array(a: ArrayLike, name: str, ndim: int) -> NDArray[np.float64]:
    """Return ``a`` as a non-empty, finite, C-contiguous float64 array of ``ndim`` dims."""
    arr = _as_numeric(a, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return _float64_finite(arr, name)


def _float64_finite(
    arr: NDArray[Any], name: str, check_finite: bool = True
) -> NDArray[np.float64]:
    """``arr`` as aligned C-contiguous float64 (no copy if it already is), checked
    finite."""
    x = as_kernel_array(arr)
    if check_finite:
        _check_finite(x, name)
    return x


def as_kernel_array(arr: NDArray[Any]) -> NDArray[np.float64]:
    """``arr`` as a C-contiguous, aligned, native-order float64 array: what the kernels'
    ``double*`` may point at. No copy when it already is one; a copy otherwise (a
    ``np.frombuffer`` view at an odd offset, or a field of a packed structured array, is
    C-contiguous but misaligned, and a misaligned ``double*`` is undefined behaviour)."""
    return np.require(arr, dtype=np.float64, requirements=["C", "A"])


def diverged(epoch: int, eta: float) -> FloatingPointError:
    """The error for an epoch whose parameters became NaN or infinite (and were restored)."""
    return FloatingPointError(
        f"training diverged in epoch {epoch}: parameters became NaN or infinite "
        f"(eta={eta}). They were restored to their values before that epoch. Try a smaller "
        "eta, or scale the inputs to about [0, 1]."
    )


def non_finite_row(name: str, row: int) -> ValueError:
    """The error for a row of ``name`` found to hold NaN or infinity."""
    return ValueError(f"{name} contains NaN or infinity (row {row})")


def as_inputs(
    X: ArrayLike,
    name: str,
    n_features: int,
    *,
    allow_1d: bool = False,
    check_finite: bool = True,
) -> tuple[NDArray[np.float64], bool]:
    """Return ``(x, single)``: ``X`` as a C-contiguous float64 ``(n, n_features)`` array.

    With ``allow_1d``, a 1-D ``X`` of length ``n_features`` is one sample (``single`` is
    True and ``x`` has one row). ``check_finite=False`` leaves the NaN/infinity check to
    the caller (the kernels can do it on rows already in cache).
    """
    arr = _as_numeric(X, name)
    single = allow_1d and arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        expected = "1-D (one sample) or 2-D" if allow_1d else "2-D"
        raise ValueError(
            f"{name} must be {expected} with {n_features} features per sample, "
            f"got an array of shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no samples")
    if arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features per sample; the network's input "
            f"size is {n_features}"
        )
    return _float64_finite(arr, name, check_finite), single


def as_labels(labels: ArrayLike, name: str, n_rows: int, n_classes: int) -> NDArray[np.intp]:
    """Return 1-D integer class labels in ``[0, n_classes)``, one per row."""
    arr = _as_numeric(labels, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    _check_rows(arr, name, n_rows)
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.floor(arr)).all()):
            raise ValueError(f"{name} must be integer class labels; it has non-integer values")
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must be class labels in [0, {n_classes}) (the output size), "
            f"got values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.intp)


def as_targets(
    Y: ArrayLike, name: str, n_rows: int, n_out: int
) -> tuple[NDArray[np.float64], NDArray[np.intp] | None]:
    """Return ``(y, labels)``: targets as a C-contiguous float64 ``(n_rows, n_out)`` array.

    A 2-D ``Y`` is taken as target activations. A 1-D ``Y`` holds integer class labels in
    ``[0, n_out)``, one-hot encoded here (``labels`` returns them); with a single output
    unit (``n_out == 1``) a 1-D ``Y`` is instead the column of targets.
    """
    arr = _as_numeric(Y, name)
    if arr.ndim == 1 and n_out == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim == 1:
        labels = as_labels(arr, name, n_rows, n_out)
        y = np.zeros((n_rows, n_out))
        y[np.arange(n_rows), labels] = 1.0
        return y, labels
    check_target_shape(arr.shape, name, n_rows, n_out)
    return _float64_finite(arr, name), None


def as_weights(w: ArrayLike | None, name: str, n_rows: int) -> NDArray[np.float64] | None:
    """Sample weights: None, or a finite float64 vector of ``n_rows`` (any sign, as
    scikit-learn allows; a mini-batch whose weights sum to 0 makes the step infinite)."""
    if w is None:
        return None
    arr = _as_numeric(w, name)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(f"{name} must be 1-D with one weight per row of X ({n_rows}), got "
                         f"shape {arr.shape}")
    weights = as_kernel_array(arr)
    _check_finite(weights, name)
    return weights


def as_order(order: ArrayLike, name: str, n_rows: int) -> NDArray[np.intp]:
    """Row indices in ``[0, n_rows)``, as a C-contiguous intp vector."""
    arr = np.asarray(order)
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one row index")
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be a 1-D array of row indices, got dtype {arr.dtype} "
                        f"and shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= n_rows:
        raise ValueError(f"{name} holds indices outside [0, {n_rows})")
    return np.require(arr, dtype=np.intp, requirements=["C", "A"])


def _check_rows(arr: NDArray[Any], name: str, n_rows: int) -> None:
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but X has {n_rows}")


def one_hot_labels(y: NDArray[np.float64]) -> NDArray[np.intp] | None:
    """The class of each row if every row of ``y`` is one-hot (a single 1, the rest 0)."""
    if y.shape[1] < 2:
        return None
    is_one = y == 1.0
    if not ((is_one | (y == 0.0)).all() and (is_one.sum(axis=1) == 1).all()):
        return None
    classes: NDArray[np.intp] = np.argmax(y, axis=1).astype(np.intp)
    return classes
