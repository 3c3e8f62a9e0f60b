"""The command line: ``mlp`` or ``python -m mlp``.

    mlp [train] [DATA] [options]      train (on the bundled UCI digits when no DATA)
    mlp evaluate MODEL DATA           cost and accuracy of a saved model on DATA
    mlp predict MODEL DATA [--out F]  the model's outputs for DATA, as CSV
    mlp info MODEL                    what a model file holds
    mlp export MODEL OUT.onnx         the model as an ONNX file (needs onnx)

DATA is a CSV file (optionally gzipped; label column with ``--label-column``, header
detected), an ``.npz`` file (arrays ``X`` and ``y``), or an IDX file or folder (MNIST
format). ``mlp train --activation relu --output softmax --optimizer adam`` picks the units
and the optimizer; model files keep them, with the optimizer's state. Errors, bad arguments
among them, print one line on stderr and exit with status 2 (1 when training diverges, 130
when interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

import numpy as np
from numpy.typing import NDArray

from mlp import io as model_io
from mlp import options
from mlp._atomic import write_atomically
from mlp._progress import ProgressBar
from mlp._version import __version__
from mlp.activations import HIDDEN, OUTPUTS, check_cost_pair, default_cost
from mlp.datasets import load_data, load_digits
from mlp.network import MLP
from mlp.scaling import METHODS, apply_scaling, fit_scaling
from mlp.training import COSTS, History

COMMANDS = ("train", "evaluate", "predict", "info", "export")
#: The training options ``mlp train`` takes (``--batch-size`` for ``batch_size``...).
TRAIN_OPTIONS = options.command_line(options.FIT)
#: ``--help`` for the training options whose default, None, means "chosen for you": the
#: specification's doc explains None to a Python caller, not what leaving a flag out does.


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


def _activations(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if name not in HIDDEN:
            raise argparse.ArgumentTypeError(
                f"unknown activation {name!r}; choose from {', '.join(HIDDEN)}: one name, "
                "or one per hidden layer, comma-separated")
    return names


def _column(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


class _Parser(argparse.ArgumentParser):
    """argparse, reporting a bad argument in one line as every other error is;
    ``command_parsers`` holds the commands' parsers."""

    command_parsers: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"mlp: error: {message} (see '{self.prog} --help')\n")


def _parser() -> _Parser:
    parser = _Parser(
        prog="mlp", description="Train and use multilayer perceptrons.",
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
    train.add_argument("--activation", type=_activations, default="sigmoid",
                       metavar="NAME[,NAME...]",
                       help=f"the hidden layers' activation, one of {', '.join(HIDDEN)}: "
                            "one name, or one per hidden layer (default: sigmoid)")
    train.add_argument("--output", choices=tuple(OUTPUTS), default="sigmoid",
                       help="the output layer's activation; it sets the default --cost "
                            "(default: sigmoid)")
    options.add_arguments(train, TRAIN_OPTIONS)
    train.add_argument("--test-fraction", type=float, default=0.25,
                       help="share held out for testing, 0 for none (default: 0.25)")
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

    export = commands.add_parser(
        "export", help="the model as an ONNX file, its input scaling included (needs onnx)")
    export.add_argument("model", metavar="MODEL")
    export.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write")
    export.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="the ONNX model's input, parameter and output type "
                             "(default: float64)")
    parser.command_parsers = {"train": train, "evaluate": evaluate, "predict": predict,
                              "info": info, "export": export}
    return parser


# --- helpers -----------------------------------------------------------------------------

def _write_atomically(path: str, text: str) -> None:
    write_atomically(path, lambda f: f.write(text.encode("utf-8")), f"write {path}")


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
    """mlp train: load, split and scale, fit, report, save."""
    if args.plot:
        from mlp.plot import require_matplotlib

        require_matplotlib()
    X, y, name = _training_data(args)
    data = _split_and_scale(args, X, y)
    n_outputs = _classes(y)
    sizes = args.sizes or [data.X.shape[1], 30, n_outputs]
    if sizes[0] != data.X.shape[1] or sizes[-1] != n_outputs:
        raise CommandError(
            f"--sizes must start with {data.X.shape[1]} (features) and end with {n_outputs} "
            f"(outputs), got {','.join(map(str, sizes))}")
    activation = _hidden_activations(args.activation, sizes)
    cost = check_cost_pair(args.output, args.cost)  # a cost the output cannot take: now
    net = MLP(sizes, activation=activation, output=args.output, seed=args.seed)
    if not args.quiet:
        print(f"mlp {__version__}: training {net} on {name} ({len(data.train)} training, "
              f"{len(data.test)} test samples)", flush=True)
    history, seconds, interrupted = _fit(args, net, data)
    training = {k: v for k, v in vars(args).items() if k in TRAIN_OPTIONS and k != "seed"}
    # what was used where the options were left to the output and the optimizer
    training.update(cost=cost, eta=options.eta(vars(args)))
    training.update(seed=args.seed, epochs_run=len(history),
                    stop_reason=history.stop_reason, data=name)
    if args.out:
        model_io.save(net, args.out, scaling=data.scaling, training=training,
                      metadata={"interrupted": interrupted})
    if interrupted:
        saved = f"; the model so far is saved to {args.out}" if args.out else ""
        print(f"mlp: interrupted after {len(history)} complete epochs{saved}",
              file=sys.stderr)
        return 130
    metrics: dict[str, Any] = {"mlp_version": __version__, "data": name, "sizes": sizes,
                               "options": training, "seconds": seconds,
                               "history": history.records}
    if len(data.test):
        metrics["test"] = _scores(net, data.X[data.test], data.y[data.test], cost)
    _print_result(metrics, len(history), seconds)
    if args.json:
        _write_atomically(args.json, json.dumps(metrics, indent=2) + "\n")
    if args.plot and len(history):
        from mlp.plot import learning_curves

        learning_curves(history, args.plot, title=f"{net} on {name}")
    return 0


def _hidden_activations(names: tuple[str, ...], sizes: Sequence[int]) -> str | list[str]:
    """``--activation``'s names for a network of ``sizes``: one name for every hidden
    layer, or a list of one per hidden layer."""
    n_hidden = len(sizes) - 2
    if len(names) == 1:
        return names[0]
    if len(names) != n_hidden:
        raise CommandError(
            f"--activation names {len(names)} activations but --sizes "
            f"{','.join(map(str, sizes))} has {n_hidden} hidden "
            f"layer{'s' if n_hidden != 1 else ''}: give one name, or one per hidden layer")
    return list(names)


class _Split(NamedTuple):
    """The data, scaled, with the rows of its training and test parts."""

    X: NDArray[np.float64]
    y: Any
    train: NDArray[np.intp]
    test: NDArray[np.intp]
    scaling: dict[str, Any] | None


def _training_data(args: argparse.Namespace) -> tuple[NDArray[np.float64], Any, str]:
    """The data to train on (the bundled digits when none is given), with its name."""
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
    return X, y, name


def _split_and_scale(args: argparse.Namespace, X: NDArray[np.float64], y: Any) -> _Split:
    """Hold out --test-fraction of the rows (seeded by --seed), and scale the inputs by
    --scale fitted on the training rows."""
    if not 0.0 <= args.test_fraction < 1.0:
        raise CommandError(f"--test-fraction must be in [0, 1), got {args.test_fraction}")
    order = np.random.default_rng(args.seed).permutation(len(X))
    n_test = int(round(args.test_fraction * len(X)))
    if n_test >= len(X):
        raise CommandError("--test-fraction leaves no training data")
    test, train = order[:n_test], order[n_test:]
    scaling = fit_scaling(X[train], args.scale)
    return _Split(apply_scaling(X, scaling), y, train, test, scaling)


def _fit(args: argparse.Namespace, net: MLP, data: _Split) -> tuple[History, float, bool]:
    """Train ``net`` with a progress bar and one line per epoch; returns the history, the
    seconds it took and whether it was interrupted (Ctrl-C)."""
    use_test = len(data.test) > 0 and args.validation_split is None
    validation = (data.X[data.test], data.y[data.test]) if use_test else None
    bar = ProgressBar(args.epochs, enabled=None if not args.quiet else False)
    where = "test" if validation else "val"

    def report(record: dict[str, Any]) -> None:
        if args.quiet:
            return
        bar.clear()
        parts = [f"epoch {record['epoch']:>{len(str(args.epochs))}}/{args.epochs}",
                 f"cost {record['cost']:.5f}"]
        for key, label in (("val_cost", f"{where} cost"),
                           ("val_accuracy", f"{where} accuracy")):
            if key in record:
                parts.append(f"{label} {record[key]:.4f}")
        parts.append(f"{record['seconds']:.3f} s")
        print("  ".join(parts), flush=True)

    start = time.perf_counter()
    kwargs = {name: getattr(args, name) for name in TRAIN_OPTIONS}
    try:
        history = net.fit(data.X[data.train], data.y[data.train],
                          validation_data=validation, callbacks=[report],
                          progress=bar.update, **kwargs)
    except KeyboardInterrupt as exc:
        bar.close()
        return exc.history, time.perf_counter() - start, True  # type: ignore[attr-defined]
    except FloatingPointError as exc:
        bar.close()
        raise CommandError(str(exc), status=1) from None
    bar.close()
    return history, time.perf_counter() - start, False


def _print_result(metrics: dict[str, Any], epochs: int, seconds: float) -> None:
    test = metrics.get("test")
    if test is None:
        history = metrics["history"]
        final = history[-1]["cost"] if history else float("nan")
        print(f"trained {epochs} epochs in {seconds:.2f} s, final training cost {final:.6f}")
    elif "accuracy" in test:
        print(f"test accuracy {test['accuracy']:.4f} after {epochs} epochs in {seconds:.2f} s")
    else:
        print(f"test cost {test['cost']:.6f} after {epochs} epochs in {seconds:.2f} s")


def _load_model(path: str) -> tuple[MLP, dict[str, Any]]:
    return model_io.load(path), model_io.read_header(path)


def _evaluate(args: argparse.Namespace) -> int:
    net, header = _load_model(args.model)
    X, y = load_data(args.data, label_column=args.label_column, kind=args.kind)
    _features(X, net.sizes[0], args.data)
    _targets(y, net.sizes[-1], args.data)
    X = apply_scaling(X, header.get("scaling"))
    cost = _stored_cost(header, net.output)
    scores = _scores(net, X, y, cost)
    line = f"{args.data}: {int(scores['samples'])} samples, {cost} cost {scores['cost']:.6f}"
    if "accuracy" in scores:
        line += f", accuracy {scores['accuracy']:.4f}"
    print(line)
    if args.json:
        _write_atomically(args.json, json.dumps(scores, indent=2) + "\n")
    return 0


def _stored_cost(header: dict[str, Any], output: str) -> str:
    """The cost the model was trained with, as its file records it, if it goes with the
    model's output; else the output's own (quadratic, or cross-entropy for softmax)."""
    stored = (header.get("training") or {}).get("cost")
    if isinstance(stored, str) and stored in COSTS:
        try:
            return check_cost_pair(output, stored)
        except ValueError:
            pass
    return default_cost(output)


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
    print(f"activation: {','.join(net.activation) or 'none (no hidden layers)'}")
    print(f"output: {net.output}")
    state = net.optimizer_state
    if "m" in state:
        kind = f"adam, t={state['t']}"
    elif "velocity" in state:
        kind = "momentum (velocity)"
    else:
        kind = "none"
    print(f"optimizer state: {kind}")
    scaling = header.get("scaling")
    print(f"input scaling: {scaling['method'] if scaling else 'none'}")
    for key, value in (header.get("training") or {}).items():
        print(f"training {key}: {value}")
    for key, value in (header.get("metadata") or {}).items():
        print(f"metadata {key}: {value}")
    return 0


def _export(args: argparse.Namespace) -> int:
    """mlp export: the model, behind its stored input scaling, as an ONNX file."""
    try:
        from mlp import onnx as mlp_onnx
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    net, header = _load_model(args.model)
    scaling = header.get("scaling")
    mlp_onnx.export(net, args.out, dtype=args.dtype, scaling=scaling)
    inside = (f"the model's {scaling['method']} input scaling is in the graph" if scaling
              else "no input scaling")
    print(f"wrote {args.out}: {net} in {args.dtype} (ONNX opset {mlp_onnx.OPSET}), input "
          f"{mlp_onnx.INPUT!r} of shape (N, {net.sizes[0]}), output {mlp_onnx.OUTPUT!r} of "
          f"shape (N, {net.sizes[-1]}); {inside}")
    return 0


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush at exit does
    not write to the closed pipe again (and print "Exception ignored")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor (a test's StringIO)
        pass
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "train")
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # as parse_args would, but pointing at the command's --help
        parser.command_parsers[args.command].error(
            f"unrecognized arguments: {' '.join(extra)}")
    command = {"train": _train, "evaluate": _evaluate, "predict": _predict, "info": _info,
               "export": _export}
    try:
        return command[args.command](args)
    except CommandError as exc:
        print(f"mlp: error: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # the reader of stdout stopped (`mlp info m.npz | head -1`)
        _silence_stdout()
        return 128 + 13  # as a shell reports a program that SIGPIPE ended
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"mlp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlp: interrupted", file=sys.stderr)
        return 130
