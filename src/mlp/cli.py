"""The command line: ``mlp`` or ``python -m mlp``.

``mlp train`` (the default command) trains a network on the bundled UCI digits, holding out
a seeded test split, and prints the test accuracy and time of every epoch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from mlp._version import __version__
from mlp.datasets import load_digits
from mlp.network import MLP


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 64,30,10, got {text!r}"
        ) from None
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlp", description="Train sigmoid multilayer perceptrons by backpropagation."
    )
    parser.add_argument("--version", action="version", version=f"mlp {__version__}")
    commands = parser.add_subparsers(dest="command")
    train = commands.add_parser(
        "train", help="train on the bundled UCI digits (the default command)"
    )
    train.add_argument("--sizes", type=_sizes, default=[64, 30, 10],
                       help="layer sizes, input first (default: 64,30,10)")
    train.add_argument("--epochs", type=int, default=30, help="default: 30")
    train.add_argument("--batch-size", type=int, default=10, help="default: 10")
    train.add_argument("--eta", type=float, default=3.0, help="learning rate (default: 3.0)")
    train.add_argument("--seed", type=int, default=0,
                       help="seeds the split, the initialisation and the shuffling (default: 0)")
    train.add_argument("--test-fraction", type=float, default=0.25,
                       help="share of the data held out for testing (default: 0.25)")
    train.add_argument("--quiet", action="store_true", help="print only the final result")
    return parser


def _train(args: argparse.Namespace) -> int:
    X, y = load_digits()
    X = X / 16.0  # pixel counts 0..16 to [0, 1]
    if not 0.0 < args.test_fraction < 1.0:
        raise ValueError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_test = max(1, round(args.test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    if len(train) == 0:
        raise ValueError("--test-fraction leaves no training data")
    if args.sizes[0] != X.shape[1] or args.sizes[-1] != 10:
        raise ValueError(
            f"--sizes must start with {X.shape[1]} (pixels) and end with 10 (digits), "
            f"got {','.join(map(str, args.sizes))}"
        )
    net = MLP(args.sizes, seed=args.seed)
    if not args.quiet:
        print(f"mlp {__version__}: training {net} on the UCI digits "
              f"({len(train)} training, {len(test)} test images)")
    start = time.perf_counter()
    history = net.fit(
        X[train], y[train], epochs=args.epochs, batch_size=args.batch_size, eta=args.eta,
        seed=args.seed, validation_data=(X[test], y[test]), verbose=not args.quiet,
    )
    elapsed = time.perf_counter() - start
    accuracy = net.accuracy(X[test], y[test])
    print(f"test accuracy {accuracy:.4f} after {len(history)} epochs in {elapsed:.2f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv.insert(0, "train")
    args = _parser().parse_args(argv)
    try:
        return _train(args)
    except (ValueError, TypeError) as exc:
        print(f"mlp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlp: interrupted", file=sys.stderr)
        return 130
