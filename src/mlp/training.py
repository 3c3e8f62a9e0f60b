"""The record of a training run."""

from __future__ import annotations

from typing import Any, Iterator


class History:
    """What ``MLP.fit`` measured, one record (a dict) per epoch.

    Keys of each record:

    ``epoch``
        1 for the first epoch.
    ``cost``
        Mean training cost over the epoch's samples, each measured by the forward pass of
        its mini-batch, before that mini-batch's update (the running figure Keras reports;
        it costs nothing extra to measure).
    ``eta``
        The learning rate used.
    ``seconds``
        Wall time of the epoch's training (validation excluded).
    ``val_cost``, ``val_accuracy``
        Cost and accuracy of the parameters at the end of the epoch on ``validation_data``,
        present when it was given (accuracy when its targets are class labels or one-hot).

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
        return f"History({len(self)} epochs; last: {last})"
