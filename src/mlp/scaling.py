"""Input scaling: the per-feature affine map ``x -> (x - offset) / scale`` that the command
line fits on training data, stores in the model file and applies to new data."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

METHODS = ("none", "minmax", "standard")


def fit_scaling(X: NDArray[np.float64], method: str) -> dict[str, Any] | None:
    """The scaling ``method`` fitted on the rows of ``X``, as a JSON-able dict (None for
    ``"none"``): ``"minmax"`` maps each feature's training range to [0, 1], ``"standard"``
    to mean 0 and standard deviation 1. A constant feature gets scale 1.

    Examples
    --------
    >>> import numpy as np
    >>> s = fit_scaling(np.array([[0.0, 5.0], [10.0, 5.0]]), "minmax")
    >>> s["offset"], s["scale"]
    ([0.0, 5.0], [10.0, 1.0])
    """
    if method not in METHODS:
        raise ValueError(f"scaling must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "none":
        return None
    if method == "minmax":
        offset = X.min(axis=0)
        scale = X.max(axis=0) - offset
    else:
        offset = X.mean(axis=0)
        scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return {"method": method, "offset": offset.tolist(), "scale": scale.tolist()}


def apply_scaling(X: NDArray[np.float64], scaling: dict[str, Any] | None) -> NDArray[np.float64]:
    """``(X - offset) / scale`` (a new array), or ``X`` itself for no scaling."""
    if scaling is None:
        return X
    offset = np.asarray(scaling["offset"], dtype=np.float64)
    scale = np.asarray(scaling["scale"], dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != offset.shape[0]:
        raise ValueError(f"the data has {X.shape[-1]} features per sample; the scaling was "
                         f"fitted on {offset.shape[0]}")
    return (X - offset) / scale
