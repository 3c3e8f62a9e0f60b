"""A one-line progress bar for training on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


class ProgressBar:
    """Draws ``epoch 3/30 [#####-----] 52% cost 0.0213 ETA 0:12`` on ``stream``, redrawn
    at most ten times a second, when ``stream`` is a terminal (or ``enabled``).

    ``update`` has the signature of ``MLP.fit``'s ``progress`` hook; ``clear`` erases the
    bar so that a line can be printed; ``close`` erases it for good.
    """

    def __init__(self, epochs: int, stream: TextIO | None = None,
                 enabled: bool | None = None, width: int = 24) -> None:
        self.epochs = max(1, epochs)
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = isatty() if enabled is None else enabled
        self.width = width
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = 0

    def update(self, epoch: int, done: int, total: int, cost: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        fraction = min(1.0, ((epoch - 1) + done / max(total, 1)) / self.epochs)
        filled = int(round(self.width * done / max(total, 1)))
        elapsed = now - self.start
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        line = (f"epoch {epoch}/{self.epochs} [{'#' * filled}{'-' * (self.width - filled)}] "
                f"{100 * done / max(total, 1):3.0f}%  cost {cost:.4f}  ETA {_duration(eta)}")
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0

    close = clear
