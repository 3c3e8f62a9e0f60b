"""Learning curves as a PNG, with matplotlib (the optional extra ``plot``:
``pip install "mlp-backprop[plot]"``)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from mlp.training import History

_MISSING = "plotting needs matplotlib: pip install \"mlp-backprop[plot]\" (or matplotlib)"


def require_matplotlib() -> None:
    """Raise ImportError with what to install if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(_MISSING) from None


def learning_curves(history: History, path: str | os.PathLike[str], *,
                    title: str | None = None) -> None:
    """Write the training and validation cost and accuracy per epoch of ``history`` to
    ``path`` as a PNG (atomically: a temporary file, then a rename).

    Uses matplotlib's object API with the Agg canvas, so it never touches pyplot's global
    state or needs a display.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If the history is empty.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if len(history) == 0:
        raise ValueError("the history is empty: nothing to plot")
    epochs = history["epoch"]
    has_accuracy = any(k in history[0] for k in ("accuracy", "val_accuracy"))
    fig = Figure(figsize=(10 if has_accuracy else 5, 4), dpi=100)
    FigureCanvasAgg(fig)
    axes: list[Any] = [fig.add_subplot(1, 2 if has_accuracy else 1, k + 1)
                       for k in range(2 if has_accuracy else 1)]
    panels = [("cost", "cost", "val_cost")]
    if has_accuracy:
        panels.append(("accuracy", "accuracy", "val_accuracy"))
    for ax, (label, train_key, val_key) in zip(axes, panels):
        for key, name in ((train_key, "training"), (val_key, "validation")):
            if key in history[0]:
                ax.plot(epochs, history[key], marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(prefix=".mlp-plot-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
