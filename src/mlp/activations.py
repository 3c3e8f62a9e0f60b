"""The units a network can have: hidden activations, outputs, and the costs each output pairs
with. One place for their names, the core's codes (``mlp_activation`` in ``_core.pxd``) and
the rules; ``MLP`` and the command line read them.

Hidden layers: ``"sigmoid"`` (the seed's), ``"tanh"``, ``"relu"``, ``"identity"``; the
output layer: ``"sigmoid"`` (the seed's), ``"softmax"``, ``"identity"``, ``"exp"`` (Poisson
regression). Every derivative is
taken from the activation, as the seed does for the sigmoid: ``a(1-a)``, ``1-a²``,
``[a > 0]``, ``1``.

>>> from mlp.activations import check_cost_pair, default_cost
>>> default_cost("softmax")
'cross_entropy'
>>> check_cost_pair("identity", "quadratic")
'quadratic'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlp import _core

#: Hidden activations and their codes.
HIDDEN = {"sigmoid": _core.SIGMOID, "tanh": _core.TANH, "relu": _core.RELU,
          "identity": _core.IDENTITY}
#: Output activations and their codes.
OUTPUTS = {"sigmoid": _core.SIGMOID, "softmax": _core.SOFTMAX, "identity": _core.IDENTITY,
           "exp": _core.EXP}
#: The costs each output pairs with, the first being its default.
COSTS_OF = {"sigmoid": ("quadratic", "cross_entropy"), "identity": ("quadratic",),
            "softmax": ("cross_entropy",), "exp": ("poisson",)}
#: All names, by code (for reports and model files).
NAMES = {int(code): name for table in (HIDDEN, OUTPUTS) for name, code in table.items()}


def check_hidden(activation: Any, n_hidden: int, name: str = "activation") -> tuple[str, ...]:
    """One hidden activation name per hidden layer, from a name or a list of names."""
    if isinstance(activation, str):
        names: Sequence[Any] = [activation] * n_hidden
        if activation not in HIDDEN:
            raise ValueError(f"{name} must be one of {sorted(HIDDEN)} or a list of one per "
                             f"hidden layer, got {activation!r}")
    elif isinstance(activation, (list, tuple)):
        names = activation
        if len(names) != n_hidden:
            raise ValueError(f"{name} must have one entry per hidden layer ({n_hidden}), "
                             f"got {len(names)}")
        for k, entry in enumerate(names):
            if not isinstance(entry, str) or entry not in HIDDEN:
                raise ValueError(f"{name}[{k}] must be one of {sorted(HIDDEN)}, got "
                                 f"{entry!r}")
    else:
        raise TypeError(f"{name} must be a name such as 'relu' or a list of names, got "
                        f"{activation!r}")
    return tuple(names)


def check_output(output: Any, name: str = "output") -> str:
    """``output``, one of the output activation names."""
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(f"{name} must be one of {sorted(OUTPUTS)}, got {output!r}")
    return output


def default_cost(output: str) -> str:
    """The cost ``cost=None`` means for ``output``: quadratic for sigmoid (the seed) and
    identity, cross-entropy for softmax, Poisson for exp."""
    return COSTS_OF[output][0]


def check_cost_pair(output: str, cost: str | None) -> str:
    """The cost to use with ``output``: ``cost``, or the output's default when None; raises
    ``ValueError`` naming the pairs that work for any other pairing."""
    if cost is None:
        return default_cost(output)
    if cost not in COSTS_OF[output]:
        pairs = "; ".join(f"{o} output: {', '.join(c)}" for o, c in COSTS_OF.items())
        raise ValueError(f"cost {cost!r} does not go with a {output} output; the pairs that "
                         f"work are {pairs}")
    return cost


def codes(hidden: Sequence[str], output: str) -> list[int]:
    """The core's activation code of every layer, first to last."""
    return [int(HIDDEN[name]) for name in hidden] + [int(OUTPUTS[output])]
