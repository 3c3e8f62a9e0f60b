"""Initialisation schemes: each fills one layer's weights ``W`` (n_in, n_out) and biases
``b`` (n_out,) in place from a numpy ``Generator``."""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def _normal(rng: np.random.Generator, W: Array, b: Array) -> None:
    """Weights and biases N(0, 1): the book's network.py."""
    rng.standard_normal(out=W)
    rng.standard_normal(out=b)


def _scaled(rng: np.random.Generator, W: Array, b: Array) -> None:
    """Weights N(0, 1/n_in), biases N(0, 1): the book's network2 default."""
    rng.standard_normal(out=W)
    W *= 1.0 / np.sqrt(W.shape[0])
    rng.standard_normal(out=b)


def _glorot(rng: np.random.Generator, W: Array, b: Array) -> None:
    """Weights and biases uniform in +-sqrt(2/(n_in+n_out)): scikit-learn's choice for
    logistic units."""
    bound = np.sqrt(2.0 / (W.shape[0] + W.shape[1]))
    W[...] = rng.uniform(-bound, bound, W.shape)
    b[...] = rng.uniform(-bound, bound, b.shape)


def _he(rng: np.random.Generator, W: Array, b: Array) -> None:
    """Weights N(0, 2/n_in), biases 0: He et al.'s scaling for ReLU units, which keeps the
    variance of the sums from layer to layer when half the units are off."""
    rng.standard_normal(out=W)
    W *= np.sqrt(2.0 / W.shape[0])
    b[...] = 0.0


INITIALIZERS: dict[str, Callable[[np.random.Generator, Array, Array], None]] = {
    "normal": _normal,
    "scaled": _scaled,
    "glorot": _glorot,
    "he": _he,
}
#: ``init="auto"``: per layer, the scheme that suits the activation of its units.
AUTO = {"relu": "he"}
AUTO_DEFAULT = "scaled"


def initialize(
    scheme: str, weights: list[Array], biases: list[Array], rng: np.random.Generator,
    activations: list[str] | None = None,
) -> None:
    """Fill every layer, first to last, with ``scheme``; ``"auto"`` picks per layer from
    the activation of its units (``activations``, one per layer): ``"he"`` for ReLU,
    ``"scaled"`` (the seed's sigmoid default) for the rest."""
    for l, (W, b) in enumerate(zip(weights, biases)):
        name = scheme
        if scheme == "auto":
            name = AUTO.get((activations or [])[l] if activations else "", AUTO_DEFAULT)
        INITIALIZERS[name](rng, W, b)
