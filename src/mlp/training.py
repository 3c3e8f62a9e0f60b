"""Training bookkeeping: costs, learning-rate schedules, the stopping rules (early stopping,
callbacks) and the history of a run. ``MLP.fit`` uses these; the options themselves are
specified in ``mlp.options``, and the stepping runs in the compiled core."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from mlp import _core
from mlp._validation import check_choice, check_int, check_positive, check_real

#: Cost names and the core's mlp_cost codes.
COSTS = {"quadratic": _core.QUADRATIC, "cross_entropy": _core.CROSS_ENTROPY,
         "poisson": _core.POISSON}
#: Optimizer names and the core's mlp_optimizer codes.
OPTIMIZERS = {"sgd": _core.SGD, "adam": _core.ADAM}

Callback = Callable[[dict[str, Any]], Any]


def check_cost(cost: Any) -> int:
    """The core's code for the cost named ``cost``."""
    return int(COSTS[check_choice(cost, "cost", COSTS)])


def cost_sum(a: NDArray[np.float64], y: NDArray[np.float64], cost: int,
             output: str = "sigmoid") -> float:
    """Sum over samples of C for outputs ``a`` and targets ``y`` (the core's formulas;
    cross-entropy clips ``a`` to [eps, 1 - eps] inside the logarithms, so that saturated
    outputs give a finite cost): ``1/2 sum (a - y)**2``; with cross-entropy
    ``-sum [y ln a + (1 - y) ln(1 - a)]`` for a sigmoid output and ``-sum y ln max(a, eps)``
    for a softmax output; Poisson (exp output) ``sum y ln(y/a) - y + a``, with ``0 ln 0 = 0``."""
    eps = np.finfo(np.float64).eps
    if cost == _core.POISSON:
        ratio = np.divide(y, a, out=np.ones_like(a), where=y != 0)
        return float(np.sum(y * np.log(ratio) - y + a))
    if cost == _core.CROSS_ENTROPY and output == "softmax":
        return float(-np.sum(y * np.log(np.maximum(a, eps))))
    if cost == _core.CROSS_ENTROPY:
        a = np.clip(a, eps, 1.0 - eps)
        return float(-np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a)))
    return float(0.5 * np.sum((a - y) ** 2))


class HalveOnPlateau:
    """The book's network2 schedule: halve eta whenever the validation score has not
    improved for ``patience`` epochs; stop training once eta falls to ``floor`` times its
    starting value (1/128 in the book).

    The score is the validation accuracy when the validation targets are class labels,
    else the validation cost. Needs validation data (``validation_data`` or
    ``validation_split``).
    """

    def __init__(self, patience: int = 10, factor: float = 0.5, floor: float = 1 / 128):
        self.patience = check_int(patience, "patience", 1)
        self.factor = check_real(factor, "factor", 0.0, 1.0, True)
        self.floor = check_real(floor, "floor", 0.0, 1.0, True)
        if self.factor == 0.0 or self.floor == 0.0:
            raise ValueError("factor and floor must be > 0")

    def __repr__(self) -> str:
        return (f"HalveOnPlateau(patience={self.patience}, factor={self.factor}, "
                f"floor={self.floor})")


Schedule = Union[str, HalveOnPlateau, Callable[[int], float]]


def check_schedule(schedule: Any, name: str = "schedule") -> Schedule:
    """Return ``schedule`` if it is "constant", "halve", a ``HalveOnPlateau`` or a
    callable ``epoch -> eta``."""
    what = (f"{name} must be 'constant', 'halve', a HalveOnPlateau or a callable "
            f"epoch -> eta, got {schedule!r}")
    if isinstance(schedule, str):
        if schedule not in ("constant", "halve"):
            raise ValueError(what)
        return schedule
    if not (isinstance(schedule, HalveOnPlateau) or callable(schedule)):
        raise TypeError(what)
    return schedule  # type: ignore[no-any-return]


def needs_validation(schedule: Schedule) -> bool:
    """Whether ``schedule`` halves eta on validation plateaus (so needs validation data)."""
    return isinstance(schedule, HalveOnPlateau) or schedule == "halve"


class EtaSchedule:
    """The learning rate of each epoch, from ``schedule``: "constant", "halve" (a default
    ``HalveOnPlateau``), a ``HalveOnPlateau``, or a callable ``epoch -> eta`` (epochs
    count from 1)."""

    def __init__(self, schedule: Schedule, eta: float):
        schedule = check_schedule(schedule)
        self.eta0 = eta
        self.eta = eta
        self.plateau: HalveOnPlateau | None = None
        self.function: Callable[[int], float] | None = None
        if isinstance(schedule, HalveOnPlateau):
            self.plateau = schedule
        elif schedule == "halve":
            self.plateau = HalveOnPlateau()
        elif callable(schedule):
            self.function = schedule
        self._since_best = 0

    @property
    def needs_validation(self) -> bool:
        return self.plateau is not None

    def for_epoch(self, epoch: int) -> float:
        """eta for ``epoch`` (from 1)."""
        if self.function is not None:
            value = self.function(epoch)
            try:
                self.eta = check_positive(value, f"schedule({epoch})")
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        return self.eta

    def after_epoch(self, improved: bool) -> bool:
        """Update after an epoch whose score did or did not improve; True means stop."""
        if self.plateau is None:
            return False
        self._since_best = 0 if improved else self._since_best + 1
        if self._since_best >= self.plateau.patience:
            self._since_best = 0
            self.eta *= self.plateau.factor
        return self.eta <= self.eta0 * self.plateau.floor * (1 + 1e-12)


class Monitor:
    """Tracks the validation score of each epoch: accuracy when available (higher is
    better), else cost (lower is better)."""

    def __init__(self) -> None:
        self.best: float | None = None
        self.best_epoch = 0
        self.since_best = 0

    @staticmethod
    def score(record: dict[str, Any]) -> float:
        if "val_accuracy" in record:
            return float(record["val_accuracy"])
        return -float(record["val_cost"])

    def update(self, record: dict[str, Any]) -> bool:
        """Record an epoch; True when it improved on the best so far."""
        score = self.score(record)
        if self.best is None or score > self.best:
            self.best = score
            self.best_epoch = int(record["epoch"])
            self.since_best = 0
            return True
        self.since_best += 1
        return False


class StopRules:
    """fit's reasons to stop after an epoch, in order: early stopping (``patience``
    epochs without validation improvement; the best parameters are kept to restore), the
    schedule (eta reached its floor) and the callbacks (a true return value)."""

    def __init__(self, rates: EtaSchedule, early_stopping: bool, patience: int,
                 callbacks: Iterable[Callback], validating: bool):
        self.rates = rates
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = list(callbacks)
        self.monitor = Monitor() if validating else None
        self.best: NDArray[np.float64] | None = None  # with early stopping

    @property
    def best_epoch(self) -> int:
        return self.monitor.best_epoch if self.monitor is not None else 0

    def after_epoch(self, record: dict[str, Any], params: NDArray[np.float64]) -> str | None:
        """Why to stop after the epoch of ``record`` (None: go on); ``params`` are the
        network's parameters after it. Every callback is called, whatever the others
        return."""
        stop = None
        if self.monitor is not None:
            improved = self.monitor.update(record)
            if self.early_stopping and improved:
                self.best = params.copy()
            if self.early_stopping and self.monitor.since_best >= self.patience:
                stop = "early_stopping"
            if self.rates.after_epoch(improved) and stop is None:
                stop = "schedule"
        if any([bool(f(record)) for f in self.callbacks]) and stop is None:
            stop = "callback"
        return stop


class History:
    """What ``MLP.fit`` measured, one record (a dict) per epoch.

    Keys of each record:

    ``epoch``
        1 for the first epoch.
    ``eta``
        The learning rate used.
    ``cost``
        Mean training cost (the data term, without any L2 penalty) over the epoch's
        samples, each measured by the forward pass of its mini-batch, before that
        mini-batch's step (the running figure Keras reports; it costs nothing to measure).
    ``accuracy``
        Training accuracy measured the same way, when the targets are class labels.
    ``l2_penalty``
        ``l2 / (2 n) * sum W**2`` at the end of the epoch, when ``l2 > 0``.
    ``seconds``
        Wall time of the epoch's training (validation excluded).
    ``val_cost``, ``val_accuracy``
        Cost (data term) and accuracy of the parameters at the end of the epoch on the
        validation data, when there is some (accuracy when its targets are class labels
        or one-hot).

    Attributes
    ----------
    records : list of dict
    stop_reason : str or None
        Why training ended before its last epoch: ``"early_stopping"``, ``"schedule"``
        (eta reached its floor), ``"callback"``, ``"interrupted"`` (Ctrl-C: the history on
        the ``KeyboardInterrupt``), or None.
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored.

    Examples
    --------
    >>> h = History()
    >>> h.append({"epoch": 1, "cost": 0.5})
    >>> h.append({"epoch": 2, "cost": 0.25})
    >>> h["cost"]
    [0.5, 0.25]
    >>> h[-1]
    {'epoch': 2, 'cost': 0.25}
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.stop_reason: str | None = None
        self.best_epoch: int | None = None

    def append(self, record: dict[str, Any]) -> None:
        """Add the record of one more epoch."""
        self.records.append(record)

    def __getitem__(self, key: int | str) -> Any:
        """``history[i]`` is epoch record ``i``; ``history["cost"]`` the column of costs."""
        if isinstance(key, str):
            if self.records and key not in self.records[0]:
                raise KeyError(f"{key!r}: the records have {sorted(self.records[0])}")
            return [r[key] for r in self.records]
        return self.records[key]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        last = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in self.records[-1].items()
        )
        stop = f"; stopped: {self.stop_reason}" if self.stop_reason else ""
        return f"History({len(self)} epochs; last: {last}{stop})"
