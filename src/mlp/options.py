"""The training options: one specification, read by everything that takes, checks or
documents them.

Each :class:`Option` has a name, a default, a check (which returns the value to use and
raises ``TypeError``/``ValueError`` naming the argument), a one-line doc and, if the command
line offers it, how ``mlp train`` spells it. ``MLP.fit`` and ``MLP.partial_fit`` check
their keywords here and take their parameter docs from here; the command line builds its
flags from here; ``mlp.dask`` takes its defaults, checks and docs from here (``mlp.sklearn``
keeps scikit-learn's own parameters, and maps them onto these); ``docs/training-options.md`` shows :func:`markdown_table`. Adding an
option is one entry below plus the code that uses it (and its keyword in ``MLP.fit``'s
signature, which a test compares with this list).

>>> from mlp.options import OPTIONS, check_options
>>> OPTIONS["batch_size"].default
10
>>> check_options(("batch_size", "eta"), {"eta": 0.5}, "fit")
{'batch_size': 10, 'eta': 0.5}
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlp import _validation as v
from mlp.activations import check_cost_pair
from mlp.training import COSTS, OPTIMIZERS, check_schedule

_SAME = object()


@dataclass(frozen=True)
class Option:
    """One training option.

    Attributes
    ----------
    name : str
        The keyword, as ``MLP.fit`` takes it (``--name-with-dashes`` on the command line).
    default : object
        The value when the option is not given.
    check : callable
        ``check(value, name)`` returns the value to use, or raises ``TypeError`` or
        ``ValueError`` naming ``name``.
    doc : str
        One line: what it does (``--help``, the docs table, the docstrings).
    type : str
        The numpydoc type, for docstrings.
    details : str
        More for the docstrings (the formulas), or "".
    cli : None, type or tuple of str
        How ``mlp train`` takes it: ``int``, ``float``, ``bool`` (a flag), a tuple of
        choices; None if it does not.
    cli_default : object
        The command line's default, where it differs from ``default``.
    cli_doc : str
        The command line's help, where it differs from ``doc``.
    """

    name: str
    default: Any
    check: Callable[[Any, str], Any]
    doc: str
    type: str
    details: str = ""
    cli: Any = None
    cli_default: Any = _SAME
    cli_doc: str = ""

    @property
    def flag(self) -> str:
        """The command line's spelling, ``--batch-size`` for ``batch_size``."""
        return "--" + self.name.replace("_", "-")

    @property
    def command_line_default(self) -> Any:
        return self.default if self.cli_default is _SAME else self.cli_default


def _int(minimum: int) -> Callable[[Any, str], int]:
    return lambda value, name: v.check_int(value, name, minimum)


def _real(low: float, high: float, high_open: bool) -> Callable[[Any, str], float]:
    return lambda value, name: v.check_real(value, name, low, high, high_open)


def _optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: None if value is None else check(value, name)


_LIST = (
    Option("epochs", 30, _int(0), "Passes over the data (0 trains nothing).", "int",
           cli=int),
    Option("batch_size", 10, _int(1),
           "Mini-batch size; larger than ``n`` means full-batch gradient descent.", "int",
           cli=int),
    Option("eta", None, _optional(v.check_positive),
           "Learning rate, finite and > 0 (the first epoch's, with a schedule); None: 3.0 "
           "for SGD (the seed's), 0.001 for Adam.", "float, optional", cli=float,
           cli_doc="learning rate, finite and > 0 (the first epoch's, with a schedule) "
                   "(default: 3.0 with --optimizer sgd, 0.001 with adam)"),
    Option("cost", None, _optional(lambda value, name: v.check_choice(value, name, COSTS)),
           "The cost of a sample: ``\"quadratic\"``, ``\"cross_entropy\"`` (output "
           "delta ``a - y``) or ``\"poisson\"`` (exp output); None: the output's "
           "(quadratic for sigmoid and identity, cross-entropy for softmax, Poisson for "
           "exp).",
           '{"quadratic", "cross_entropy", "poisson"}, optional',
           "``C = 1/2 sum_j (a_L[j] - y[j])**2`` (sigmoid or identity output), the "
           "cross-entropy ``C = -sum_j y[j] ln a_L[j] + (1 - y[j]) ln(1 - a_L[j])`` "
           "(sigmoid) or ``-sum_j y[j] ln a_L[j]`` (softmax), or half the Poisson "
           "deviance ``C = sum_j y[j] ln(y[j]/a_L[j]) - y[j] + a_L[j]`` (exp); see "
           "``MLP.cost``.",
           cli=tuple(sorted(COSTS)),
           cli_doc="the cost of a sample; cross_entropy's output delta is a - y (default: "
                   "the output's: quadratic for sigmoid and identity, cross_entropy for "
                   "softmax, poisson for exp)"),
    Option("optimizer", "sgd", lambda value, name: v.check_choice(value, name, OPTIMIZERS),
           "``\"sgd\"`` (with momentum and Nesterov) or ``\"adam\"`` (Kingma and Ba).",
           '{"sgd", "adam"}',
           "Adam, per mini-batch: ``t += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g**2; "
           "theta -= eta sqrt(1-b2**t)/(1-b1**t) m / (sqrt(v) + epsilon)``, ``g`` as for "
           "momentum; its state carries over to ``partial_fit``.",
           cli=tuple(OPTIMIZERS)),
    Option("l2", 0.0, _real(0.0, math.inf, True),
           "L2 weight decay λ: the cost gains ``λ/(2n) Σ W²`` over the weights (not the "
           "biases).",
           "float >= 0",
           "Each step is ``W := (1 - eta lambda/n) W - eta/m sum dC/dW`` (network2's).",
           cli=float),
    Option("alpha", 0.0, _real(0.0, math.inf, True),
           "L2 as scikit-learn's ``alpha``: a mini-batch of ``m`` samples gains "
           "``alpha/(2m) Σ W²`` over the weights (not the biases).",
           "float >= 0",
           "Its gradient gains ``alpha/m W``: the decay follows the mini-batch (with "
           "sample weights, ``m`` is their sum), where ``l2``'s follows the data set. The "
           "two add up.",
           cli=float),
    Option("momentum", 0.0, _real(0.0, 1.0, False),
           "Classical momentum μ in [0, 1]: ``v ← μ v - eta g``, ``θ ← θ + v`` (0: plain "
           "SGD).",
           "float in [0, 1]",
           "``g`` is the mini-batch's mean gradient (plus ``lambda/n W`` for weights). The "
           "velocity starts at zero in ``fit`` and carries over to ``partial_fit``.",
           cli=float),
    Option("nesterov", False, v.check_bool,
           "Nesterov's momentum: ``θ ← θ + μ v - eta g``, with the new ``v``.", "bool", cli=bool),
    Option("beta1", 0.9, _real(0.0, 1.0, True), "Adam's decay of the first moment m.",
           "float in [0, 1)", cli=float),
    Option("beta2", 0.999, _real(0.0, 1.0, True), "Adam's decay of the second moment v.",
           "float in [0, 1)", cli=float),
    Option("epsilon", 1e-8, v.check_positive, "Adam's epsilon, added to sqrt(v).",
           "float > 0", cli=float),
    Option("schedule", "constant", check_schedule,
           "eta per epoch: ``\"constant\"``, ``\"halve\"`` (network2's rule), a "
           "``HalveOnPlateau``, or ``f(epoch) -> eta``.",
           '"constant", "halve", HalveOnPlateau or callable',
           '``"halve"`` is ``HalveOnPlateau()``: halve eta after 10 epochs without '
           "validation improvement, stop when it reaches eta/128.",
           cli=("constant", "halve")),
    Option("validation_data", None, v.check_pair,
           "``(X_val, Y_val)``, evaluated after every epoch (``val_cost``, and "
           "``val_accuracy`` for labels or one-hot targets).",
           "(X_val, Y_val), optional"),
    Option("validation_split", None, _optional(v.check_fraction),
           "Instead of ``validation_data``: hold out this fraction of ``X`` (chosen "
           "with ``seed``).",
           "float in (0, 1), optional", cli=float,
           cli_doc="share of the training part held out for validation (default: none; "
                   "the test part is evaluated after every epoch)"),
    Option("early_stopping", False, v.check_bool,
           "Stop after ``patience`` epochs without validation improvement and restore "
           "the best parameters seen.",
           "bool",
           "The score is the validation accuracy if available, else the cost.",
           cli=bool),
    Option("patience", 10, _int(1), "Epochs without improvement that early stopping waits.",
           "int", cli=int),
    Option("callbacks", (), lambda value, name: tuple(v.check_callbacks(value, name)),
           "Callables ``f(record)``, called after every epoch with its record; a true "
           "return value stops training.",
           "callable or sequence of callables"),
    Option("shuffle", True, v.check_bool,
           "Visit the samples in a new random order each epoch; ``False`` keeps their "
           "order.",
           "bool"),
    Option("seed", None, v.check_seed,
           "Seeds the shuffling and ``validation_split``: the same seed gives the same "
           "bits.",
           "None, int or numpy.random.Generator", cli=int, cli_default=0,
           cli_doc="seeds the splits, the initialisation and the shuffling"),
    Option("verbose", False, v.check_bool, "Print one line per epoch.", "bool"),
    Option("progress", None, v.check_callable,
           "``progress(epoch, done, total, cost)``, called about ten times a second "
           "during each epoch (for a progress bar).",
           "callable, optional"),
)

#: Every training option, by name, in ``MLP.fit``'s order.
OPTIONS: dict[str, Option] = {option.name: option for option in _LIST}
#: How each mini-batch steps: the options the compiled epoch takes.
STEP = ("batch_size", "eta", "cost", "optimizer", "l2", "alpha", "momentum", "nesterov",
        "beta1", "beta2", "epsilon")
#: What ``MLP.fit`` takes.
FIT = tuple(OPTIONS)
#: What ``MLP.partial_fit`` takes.
PARTIAL_FIT = (*STEP, "shuffle", "seed")


def _show(value: Any) -> str:
    """A default as the docs write it: ``"quadratic"``, ``3.0``, ``None``, ``()``."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def add_arguments(parser: Any, names: Iterable[str]) -> None:
    """Add ``--flag`` arguments to the ``argparse`` parser for the options ``names`` that
    the command line takes; each stores under the option's name."""
    for name in names:
        option = OPTIONS[name]
        if option.cli is None:
            continue
        default = option.command_line_default
        text = plain(option.cli_doc or option.doc)
        shown = "" if default is None else f" (default: {default})"
        if option.cli is bool:
            parser.add_argument(option.flag, dest=name, action="store_true", help=text)
        elif isinstance(option.cli, tuple):
            parser.add_argument(option.flag, dest=name, choices=option.cli, default=default,
                                help=text + shown)
        else:
            parser.add_argument(option.flag, dest=name, type=option.cli, default=default,
                                metavar=name.upper(), help=text + shown)


def command_line(names: Iterable[str]) -> tuple[str, ...]:
    """The options of ``names`` that the command line takes."""
    return tuple(name for name in names if OPTIONS[name].cli is not None)


def defaults(names: Iterable[str]) -> dict[str, Any]:
    """``{name: default}`` for ``names``."""
    return {name: OPTIONS[name].default for name in names}


def check_options(names: Iterable[str], given: Mapping[str, Any],
                  where: str) -> dict[str, Any]:
    """The options ``names``, each the checked ``given`` value or its default.

    Raises ``TypeError`` for a name in ``given`` that is not in ``names`` (naming what
    ``where`` takes), and whatever each option's check raises.
    """
    names = tuple(names)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise TypeError(f"{where} got unexpected options {unknown}; it takes "
                        f"{', '.join(names)}")
    return {name: OPTIONS[name].check(given.get(name, OPTIONS[name].default), name)
            for name in names}


def parameters_doc(names: Iterable[str], indent: str = "") -> str:
    """numpydoc ``Parameters`` entries for ``names``."""
    lines = []
    for name in names:
        option = OPTIONS[name]
        value = option.default
        default = "" if value is None else f", default {_show(value)}"
        lines.append(f"{indent}{name} : {option.type}{default}")
        text = option.doc + (" " + option.details if option.details else "")
        lines += textwrap.wrap(text, 88, initial_indent=indent + "    ",
                               subsequent_indent=indent + "    ", break_on_hyphens=False,
                               break_long_words=False)
    return "\n".join(lines)


def document(names: Iterable[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: replace the line ``{options}`` of a docstring by the entries of
    ``names`` (at that line's indentation)."""
    names = tuple(names)

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        doc = function.__doc__ or ""
        lines = doc.split("\n")
        for k, line in enumerate(lines):
            if line.strip() == "{options}":
                indent = line[: len(line) - len(line.lstrip())]
                lines[k] = parameters_doc(names, indent)
                break
        else:
            raise ValueError(f"{function.__qualname__}'s docstring has no {{options}} line")
        function.__doc__ = "\n".join(lines)
        return function

    return decorate


def markdown_table(names: Iterable[str] = FIT) -> str:
    """The options as the Markdown table of ``docs/training-options.md``
    (``python -c "import mlp.options as o; print(o.markdown_table())"`` writes it)."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for name in names:
        option = OPTIONS[name]
        doc = option.doc.replace("``", "`")
        rows.append(f"| `{name}` | `{_show(option.default)}` | {doc} |")
    return "\n".join(rows)


_ASCII = {"λ": "lambda", "μ": "mu", "θ": "theta", "Σ": "sum", "←": ":=", "²": "**2"}


def plain(text: str) -> str:
    """``text`` without its reST markup, in ASCII, for the command line's help (which
    may go to a console that cannot show Greek letters)."""
    for symbol, word in _ASCII.items():
        text = text.replace(symbol, word)
    return text.replace("``", "")


@dataclass(frozen=True)
class StepOptions:
    """How each mini-batch steps, checked and resolved for a network's output: what the
    compiled epoch takes besides eta. ``cost`` and ``optimizer`` are the core's codes; the
    weight decay of a step is ``l2 / n``."""

    batch_size: int
    cost: int
    optimizer: int
    l2: float
    alpha: float
    momentum: float
    nesterov: bool
    beta1: float
    beta2: float
    epsilon: float

    @classmethod
    def from_options(cls, checked: Mapping[str, Any], output: str) -> StepOptions:
        """From the output of :func:`check_options` (the names of ``STEP``), for a network
        whose output is ``output``; raises ``ValueError`` for a cost that does not go with
        it, or momentum with Adam."""
        cost = check_cost_pair(output, checked["cost"])
        if checked["optimizer"] == "adam" and (checked["momentum"] or checked["nesterov"]):
            raise ValueError("momentum and nesterov are options of optimizer='sgd'; Adam "
                             "keeps its own moments: leave them at 0 and False")
        return cls(batch_size=checked["batch_size"], cost=int(COSTS[cost]),
                   optimizer=int(OPTIMIZERS[checked["optimizer"]]), l2=checked["l2"],
                   alpha=checked["alpha"],
                   momentum=checked["momentum"], nesterov=checked["nesterov"],
                   beta1=checked["beta1"], beta2=checked["beta2"],
                   epsilon=checked["epsilon"])

    @property
    def adam(self) -> bool:
        return self.optimizer == OPTIMIZERS["adam"]


def eta(checked: Mapping[str, Any]) -> float:
    """The learning rate: ``eta``, or the optimizer's default when None (3.0 for SGD, the
    seed's; 0.001 for Adam, Kingma and Ba's)."""
    if checked["eta"] is not None:
        return float(checked["eta"])
    return DEFAULT_ETA[checked["optimizer"]]


#: The learning rate ``eta=None`` means, per optimizer.
DEFAULT_ETA = {"sgd": 3.0, "adam": 0.001}
