"""Data sets bundled with mlp."""

from __future__ import annotations

import gzip
from importlib import resources

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
