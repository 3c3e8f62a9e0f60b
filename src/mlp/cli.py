"""The command line: ``mlp`` or ``python -m mlp``.

    mlp [train] [DATA] [options]      train (on the bundled UCI digits when no DATA)
    mlp evaluate MODEL DATA           cost and accuracy of a saved model on DATA
    mlp predict MODEL DATA [--out F]  the model's outputs for DATA, as CSV
    mlp info MODEL                    what a model file holds

DATA is a CSV file (optionally gzipped; label column with ``--label-column``, header
detected), an ``.npz`` file (arrays ``X`` and ``y``), or an IDX file or folder (MNIST
format). Errors print one line on stderr and exit with status 2 (1 when training diverges,
130 when interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlp import io as model_io
from mlp._progress import ProgressBar
from mlp._version import __version__
from mlp.datasets import load_data, load_digits
from mlp.network import MLP
from mlp.scaling import METHODS, apply_scaling, fit_scaling
from mlp.training import COSTS

COMMANDS = ("train", "evaluate", "predict", "info")


class CommandError(Exception):
    """A problem to report in one line, with the exit status to use."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def _sizes(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 784,30,10, got {text!r}"
        ) from None


def _column(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlp", description="Train and use sigmoid multilayer perceptrons.",
        epilog="With no command, 'train' is meant: 'mlp' alone trains on the bundled digits.")
    parser.add_argument("--version", action="version", version=f"mlp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a network (default command)")
    train.add_argument("data", nargs="?", metavar="DATA",
                       help="CSV, .npz or IDX file/folder (default: the bundled UCI digits)")
    train.add_argument("--label-column", type=_column, default=-1, metavar="COL",
                       help="CSV column of the labels: index or header name (default: -1)")
    train.add_argument("--kind", choices=("train", "test"), default="train",
                       help="which files of an IDX folder (default: train)")
    train.add_argument("--sizes", type=_sizes, metavar="N,...,N",
                       help="layer sizes (default: features,30,outputs)")
    train.add_argument("--epochs", type=int, default=30, help="default: 30")
    train.add_argument("--batch-size", type=int, default=10, help="default: 10")
    train.add_argument("--eta", type=float, default=3.0, help="learning rate (default: 3.0)")
    train.add_argument("--cost", choices=sorted(COSTS), default="quadratic")
    train.add_argument("--l2", type=float, default=0.0, help="L2 weight decay lambda")
    train.add_argument("--momentum", type=float, default=0.0)
    train.add_argument("--nesterov", action="store_true")
    train.add_argument("--schedule", choices=("constant", "halve"), default="constant")
    train.add_argument("--early-stopping", action="store_true")
    train.add_argument("--patience", type=int, default=10)
    train.add_argument("--seed", type=int, default=0,
                       help="seeds the splits, initialisation and shuffling (default: 0)")
    train.add_argument("--test-fraction", type=float, default=0.25,
                       help="share held out for testing, 0 for none (default: 0.25)")
    train.add_argument("--validation-split", type=float, default=None,
                       help="share of the training part held out for validation")
    train.add_argument("--scale", choices=METHODS, default="minmax",
                       help="input scaling fitted on the training data (default: minmax)")
    train.add_argument("--out", metavar="MODEL", help="save the trained model (.npz)")
    train.add_argument("--plot", metavar="PNG", help="write the learning curves")
    train.add_argument("--json", metavar="FILE", help="write the metrics as JSON")
    train.add_argument("--quiet", action="store_true", help="print only the result")

    evaluate = commands.add_parser("evaluate", help="cost and accuracy of a model on DATA")
    evaluate.add_argument("model", metavar="MODEL")
    evaluate.add_argument("data", metavar="DATA")
    evaluate.add_argument("--label-column", type=_column, default=-1, metavar="COL")
    evaluate.add_argument("--kind", choices=("train", "test"), default="test",
                          help="which files of an IDX folder (default: test)")
    evaluate.add_argument("--json", metavar="FILE", help="write the metrics as JSON")

    predict = commands.add_parser("predict", help="the model's outputs for DATA, as CSV")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    predict.add_argument("--label-column", type=_column, default=None, metavar="COL",
                         help="CSV column to ignore (default: the last one, if the file "
                              "has one column more than the model's inputs)")
    predict.add_argument("--kind", choices=("train", "test"), default="test",
                         help="which files of an IDX folder (default: test)")
    predict.add_argument("--out", metavar="CSV", help="write here instead of stdout")

    info = commands.add_parser("info", help="what a model file holds")
    info.add_argument("model", metavar="MODEL")
    return parser


# --- helpers -----------------------------------------------------------------------------

def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mlp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _features(X: NDArray[np.float64], n_inputs: int, what: str) -> None:
    if X.shape[1] != n_inputs:
        raise CommandError(f"{what} has {X.shape[1]} features per sample; the model takes "
                           f"{n_inputs}")


def _targets(y: Any, n_outputs: int, what: str) -> None:
    if y is None:
        raise CommandError(f"{what} has no labels or targets (see --label-column)")
    if y.dtype.kind == "i" and y.ndim == 1 and (y.min() < 0 or y.max() >= n_outputs):
        raise CommandError(f"{what} has labels from {y.min()} to {y.max()}; the model has "
                           f"{n_outputs} outputs")


def _classes(y: NDArray[Any]) -> int:
    return int(y.max()) + 1 if y.dtype.kind == "i" and y.ndim == 1 else y.shape[-1] if \
        y.ndim == 2 else 1


def _scores(net: MLP, X: NDArray[np.float64], y: Any, cost: str) -> dict[str, float]:
    scores = {"cost": net.cost(X, y, cost=cost), "samples": float(len(X))}
    if y.ndim == 1 and y.dtype.kind == "i":
        scores["accuracy"] = net.accuracy(X, y)
    return scores


# --- commands ----------------------------------------------------------------------------

def _train(args: argparse.Namespace) -> int:
    quiet = args.quiet
    if args.plot:
        from mlp.plot import require_matplotlib

        require_matplotlib()
    y: Any
    if args.data is None:
        X, y = load_digits()
        name = "the UCI digits"
    else:
        X, y = load_data(args.data, label_column=args.label_column, kind=args.kind)
        name = args.data
    if y is None:
        raise CommandError(f"{name} has no labels or targets (see --label-column)")
    if y.dtype.kind == "i" and y.min() < 0:
        raise CommandError(f"{name} has negative labels; labels must be 0, 1, 2, ...")
    if not 0.0 <= args.test_fraction < 1.0:
        raise CommandError(f"--test-fraction must be in [0, 1), got {args.test_fraction}")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_test = int(round(args.test_fraction * len(X)))
    if n_test >= len(X):
        raise CommandError("--test-fraction leaves no training data")
    test, train = order[:n_test], order[n_test:]
    scaling = fit_scaling(X[train], args.scale)
    X = apply_scaling(X, scaling)
    n_outputs = _classes(y)
    sizes = args.sizes or [X.shape[1], 30, n_outputs]
    if sizes[0] != X.shape[1] or sizes[-1] != n_outputs:
        raise CommandError(
            f"--sizes must start with {X.shape[1]} (features) and end with {n_outputs} "
            f"(outputs), got {','.join(map(str, sizes))}")
    net = MLP(sizes, seed=args.seed)
    validation = (X[test], y[test]) if n_test and args.validation_split is None else None
    options = {
        "epochs": args.epochs, "batch_size": args.batch_size, "eta": args.eta,
        "cost": args.cost, "l2": args.l2, "momentum": args.momentum,
        "nesterov": args.nesterov, "schedule": args.schedule,
        "early_stopping": args.early_stopping, "patience": args.patience,
        "validation_split": args.validation_split, "seed": args.seed,
    }
    if not quiet:
        print(f"mlp {__version__}: training {net} on {name} "
              f"({len(train)} training, {n_test} test samples)", flush=True)
    bar = ProgressBar(args.epochs, enabled=None if not quiet else False)

    def report(record: dict[str, Any]) -> None:
        if quiet:
            return
        bar.clear()
        parts = [f"epoch {record['epoch']:>{len(str(args.epochs))}}/{args.epochs}",
                 f"cost {record['cost']:.5f}"]
        for key, label in (("val_cost", "test cost" if validation else "val cost"),
                           ("val_accuracy", "test accuracy" if validation else "val accuracy")):
            if key in record:
                parts.append(f"{label} {record[key]:.4f}")
        parts.append(f"{record['seconds']:.3f} s")
        print("  ".join(parts), flush=True)

    start = time.perf_counter()
    interrupted = False
    try:
        history = net.fit(X[train], y[train], validation_data=validation,
                          callbacks=[report], progress=bar.update, **options)
    except KeyboardInterrupt as exc:
        bar.close()
        history = exc.history  # type: ignore[attr-defined]
        interrupted = True
    except FloatingPointError as exc:
        bar.close()
        raise CommandError(str(exc), status=1) from None
    bar.close()
    seconds = time.perf_counter() - start
    training = {k: v for k, v in options.items() if k != "seed"}
    training.update(seed=args.seed, epochs_run=len(history), stop_reason=history.stop_reason,
                    data=name)
    if args.out:
        model_io.save(net, args.out, scaling=scaling, training=training,
                      metadata={"interrupted": interrupted})
    if interrupted:
        saved = f"; the model so far is saved to {args.out}" if args.out else ""
        print(f"mlp: interrupted after {len(history)} complete epochs{saved}",
              file=sys.stderr)
        return 130
    metrics: dict[str, Any] = {"mlp_version": __version__, "data": name, "sizes": sizes,
                               "options": training, "seconds": seconds,
                               "history": history.records}
    if n_test:
        metrics["test"] = _scores(net, X[test], y[test], args.cost)
        test_scores = metrics["test"]
        if "accuracy" in test_scores:
            print(f"test accuracy {test_scores['accuracy']:.4f} after {len(history)} epochs "
                  f"in {seconds:.2f} s")
        else:
            print(f"test cost {test_scores['cost']:.6f} after {len(history)} epochs "
                  f"in {seconds:.2f} s")
    else:
        print(f"trained {len(history)} epochs in {seconds:.2f} s, final training cost "
              f"{history[-1]['cost'] if len(history) else float('nan'):.6f}")
    if args.json:
        _write_atomically(args.json, json.dumps(metrics, indent=2) + "\n")
    if args.plot and len(history):
        from mlp.plot import learning_curves

        learning_curves(history, args.plot, title=f"{net} on {name}")
    return 0


def _load_model(path: str) -> tuple[MLP, dict[str, Any]]:
    return model_io.load(path), model_io.read_header(path)


def _evaluate(args: argparse.Namespace) -> int:
    net, header = _load_model(args.model)
    X, y = load_data(args.data, label_column=args.label_column, kind=args.kind)
    _features(X, net.sizes[0], args.data)
    _targets(y, net.sizes[-1], args.data)
    X = apply_scaling(X, header.get("scaling"))
    cost = (header.get("training") or {}).get("cost", "quadratic")
    if cost not in COSTS:
        cost = "quadratic"
    scores = _scores(net, X, y, cost)
    line = f"{args.data}: {int(scores['samples'])} samples, {cost} cost {scores['cost']:.6f}"
    if "accuracy" in scores:
        line += f", accuracy {scores['accuracy']:.4f}"
    print(line)
    if args.json:
        _write_atomically(args.json, json.dumps(scores, indent=2) + "\n")
    return 0


def _predict(args: argparse.Namespace) -> int:
    net, header = _load_model(args.model)
    column = args.label_column
    X, _ = load_data(args.data, label_column=column, kind=args.kind)
    if column is None and X.shape[1] == net.sizes[0] + 1 and not args.data.endswith(".npz"):
        X, _ = load_data(args.data, label_column=-1, kind=args.kind)
    _features(X, net.sizes[0], args.data)
    outputs = net.predict(apply_scaling(X, header.get("scaling")))
    head = ["prediction"] + [f"output_{j}" for j in range(outputs.shape[1])]
    lines = [",".join(head)]
    best = np.argmax(outputs, axis=1)
    for k, row in zip(best, outputs):
        lines.append(",".join([str(int(k))] + [repr(float(v)) for v in row]))
    text = "\n".join(lines) + "\n"
    if args.out:
        _write_atomically(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _info(args: argparse.Namespace) -> int:
    header = model_io.read_header(args.model)
    net = model_io.load(args.model)
    print(f"{args.model}: mlp model file, format version {header['format_version']}, "
          f"written by mlp {header.get('mlp_version', '?')} on {header.get('created', '?')}")
    print(f"sizes: {','.join(map(str, net.sizes))} ({net.params.size:,} parameters)")
    scaling = header.get("scaling")
    print(f"input scaling: {scaling['method'] if scaling else 'none'}")
    for key, value in (header.get("training") or {}).items():
        print(f"training {key}: {value}")
    for key, value in (header.get("metadata") or {}).items():
        print(f"metadata {key}: {value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "train")
    args = _parser().parse_args(argv)
    command = {"train": _train, "evaluate": _evaluate, "predict": _predict, "info": _info}
    try:
        return command[args.command](args)
    except CommandError as exc:
        print(f"mlp: error: {exc}", file=sys.stderr)
        return exc.status
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"mlp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlp: interrupted", file=sys.stderr)
        return 130
