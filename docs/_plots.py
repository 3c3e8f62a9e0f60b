"""The performance page's plots, drawn at build time from the benchmark reports.

Each function reads one or two Markdown reports of ``benchmarks/results/`` (the files the
benchmark scripts write, and the page's tables quote) and draws one figure; the page calls
it from matplotlib's ``plot`` directive, next to the table it pictures (in ``eval-rst``: the
directive needs docutils' own parser)::

    ```{eval-rst}
    .. plot::

       import _plots
       _plots.training("2026-11-29-speed.md")
    ```

so that a new report is a new file name on the page, and no picture is kept in the
repository. The reports' tables are read by their column names.
"""

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
#: One colour per implementation, the same in every figure.
COLOURS = {"mlp": "#1f77b4", "numpy": "#ff7f0e", "torch": "#2ca02c", "sklearn": "#d62728",
           "generic": "#9ecae1", "avx2": "#1f77b4", "avx512": "#08306b"}


def tables(name):
    """Every table of a report, as (header, rows) with the cells as text."""
    found, header, rows = [], None, []
    for line in (RESULTS / name).read_text().splitlines() + [""]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and header is None:
            header = cells
        elif line.lstrip().startswith("|") and not re.fullmatch(r"[-: ]*", "".join(cells)):
            rows.append(cells)
        elif header is not None and not line.lstrip().startswith("|"):
            found.append((header, rows))
            header, rows = None, []
    return found


def table(name, *columns):
    """The first table of a report that has all of ``columns``."""
    for header, rows in tables(name):
        if all(column in header for column in columns):
            return header, rows
    raise ValueError(f"benchmarks/results/{name} has no table with columns {columns}")


def number(cell):
    """A cell's figure: '575,699' 575699.0, '81.5%' 81.5, '**1.22**' 1.22, '1.45×' 1.45;
    NaN for none ('–')."""
    match = re.search(r"[-+]?\d[\d,]*(?:\.\d+)?", cell)
    return float(match.group().replace(",", "")) if match else float("nan")


def bars(ax, groups, series, *, log=False, horizontal=False, unit=""):
    """Grouped bars: one group per label of ``groups``, one bar per entry of ``series``
    (name -> one value per group), coloured by name."""
    width = 0.8 / len(series)
    where = np.arange(len(groups))
    for k, (name, values) in enumerate(series.items()):
        offset = where + (k - (len(series) - 1) / 2) * width
        colour = COLOURS.get(re.split(r"[\s=]", name)[-1])
        if horizontal:
            ax.barh(offset, values, width, label=name, color=colour)
        else:
            ax.bar(offset, values, width, label=name, color=colour)
    axis = ax.yaxis if horizontal else ax.xaxis
    (ax.set_yticks if horizontal else ax.set_xticks)(where, groups)
    if horizontal:
        ax.invert_yaxis()
    value_axis = ax.xaxis if horizontal else ax.yaxis
    if log:
        (ax.set_xscale if horizontal else ax.set_yscale)("log")
    value_axis.set_label_text(unit)
    axis.set_tick_params(length=0)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(frameon=False, fontsize="small")


def training(name):
    """Training samples/s of each implementation, one thread, per problem (bench.py)."""
    header, rows = table(name, "problem", "sizes", "batch", "threads", "mlp", "numpy")
    rows = [row for row in rows if row[header.index("threads")] == "1"]
    groups = [f"{row[0]}: {row[1]}\nbatch {row[2]}" for row in rows]
    series = {impl: [number(row[header.index(impl)]) for row in rows]
              for impl in ("mlp", "numpy", "torch", "sklearn") if impl in header}
    fig, ax = plt.subplots()
    bars(ax, groups, series, log=True, unit="training samples/s, one thread (log scale)")
    fig.tight_layout()


def kernel_levels(name):
    """mlp's training samples/s over the NumPy reference's at each kernel level
    (levels.py): each ``MLP_KERNELS=level`` column is followed by its ratio."""
    header, rows = table(name, "problem", "sizes", "batch")
    levels = [(column.split("=", 1)[1], k) for k, column in enumerate(header)
              if column.startswith("MLP_KERNELS=")]
    groups = [f"{row[0]}: {row[1]}\nbatch {row[2]}" for row in rows]
    series = {f"MLP_KERNELS={level}": [number(row[k + 1]) for row in rows]
              for level, k in levels}
    fig, ax = plt.subplots()
    bars(ax, groups, series, unit="mlp / NumPy reference, training")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    fig.tight_layout()


def activations(name):
    """Training samples/s of each implementation for each unit and optimizer, per network
    and batch size (activations.py)."""
    header, rows = table(name, "sizes", "batch", "configuration", "mlp", "numpy")
    networks = list(dict.fromkeys(row[0] for row in rows))
    fig, axes = plt.subplots(1, len(networks), sharex=True,
                             figsize=(7.5, 0.5 + 0.42 * len(rows) / len(networks) * 1.6))
    for ax, sizes in zip(np.atleast_1d(axes), networks):
        mine = [row for row in rows if row[0] == sizes]
        groups = [f"{short(row[2])}, b{row[1]}" for row in mine]
        series = {impl: [number(row[header.index(impl)]) for row in mine]
                  for impl in ("mlp", "numpy", "torch", "sklearn") if impl in header}
        bars(ax, groups, series, log=True, horizontal=True, unit="samples/s (log scale)")
        ax.set_title(sizes, fontsize="medium")
        ax.get_legend().remove()
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))


def short(configuration):
    """'relu + softmax, cross-entropy, Adam' -> 'relu + softmax, Adam'."""
    configuration = configuration.replace(", cross-entropy", "")
    return re.sub(r"sigmoid \+ sigmoid, quadratic, SGD \(the seed\)", "the seed",
                  configuration)


def sklearn_dropin(*names):
    """mlp.sklearn's fit times against scikit-learn's, as speed-ups, one bar per report
    (sklearn_dropin.py): each speed-up is within one run."""
    series, groups = {}, None
    for name in names:
        header, rows = table(name, "fit", "mlp s", "sklearn s")
        level = re.search(r"kernel level (\w+)", (RESULTS / name).read_text())
        label = f"kernel level {level.group(1)}" if level else name
        groups = [re.sub(r" \([^()]*\)$", "", row[0]) for row in rows]
        theirs, ours = header.index("sklearn s"), header.index("mlp s")
        series[label] = [number(row[theirs]) / number(row[ours]) for row in rows]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    bars(ax, groups, series, horizontal=True,
         unit="fit: scikit-learn's time / mlp.sklearn's")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    fig.tight_layout()
