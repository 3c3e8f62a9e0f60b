"""What the training options achieve: test accuracy on the bundled digits and on
Fashion-MNIST, for the seed's defaults and for the training toolkit's options.

    python benchmarks/options.py            # prints a markdown table (about 5 minutes)

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``/usr/share/datasets/fashion-mnist/``); without it only the digits are run. Digits: 1,347
training and 450 test images (a seeded split), [64, 30, 10]. Fashion-MNIST: 50,000 training
images (the next 10,000 for validation where an option needs it), the 10,000 test images,
[784, 30, 10] and [784, 100, 10]. Every run is seeded (seed 0).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import mlp
from mlp.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapter1 import FOLDER, read_idx  # noqa: E402

# "l2/n" is the L2 strength per training sample: network2's lambda = 5.0 for n = 50,000.
CONFIGS = [
    ("the seed: quadratic, eta 3.0", dict(eta=3.0)),
    ("cross-entropy, eta 0.5", dict(cost="cross_entropy", eta=0.5)),
    ("cross-entropy, l2/n 1e-4, eta 0.5", dict(cost="cross_entropy", l2_per_n=1e-4, eta=0.5)),
    ("cross-entropy, l2/n 1e-4, momentum 0.9, eta 0.05",
     dict(cost="cross_entropy", l2_per_n=1e-4, momentum=0.9, eta=0.05)),
    ("cross-entropy, l2/n 1e-4, eta 0.5, 'halve' + early stopping, up to 60 epochs",
     dict(cost="cross_entropy", l2_per_n=1e-4, eta=0.5, schedule="halve",
          early_stopping=True, epochs=60, needs_validation=True)),
]


def run(name, sizes, X, y, Xv, yv, Xt, yt, options):
    options = dict(options)
    epochs = options.pop("epochs", 30)
    validation = (Xv, yv) if options.pop("needs_validation", False) else None
    if "l2_per_n" in options:
        options["l2"] = options.pop("l2_per_n") * len(X)
    net = mlp.MLP(sizes, seed=0)
    start = time.perf_counter()
    history = net.fit(X, y, epochs=epochs, batch_size=10, seed=0,
                      validation_data=validation, **options)
    seconds = time.perf_counter() - start
    return f"| {name} | {sizes} | {len(history)} | {net.accuracy(Xt, yt):.4f} | {seconds:.1f} |"


def main() -> int:
    rows = []
    X, y = load_digits()
    X = X / 16
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:450], order[450:]
    # digits: validation (for the options that need it) is the last 200 training images
    Xtr, ytr = X[train[:-200]], y[train[:-200]]
    Xv, yv = X[train[-200:]], y[train[-200:]]
    for name, options in CONFIGS:
        if options.get("needs_validation"):
            row = run(name, [64, 30, 10], Xtr, ytr, Xv, yv, X[test], y[test], options)
        else:
            row = run(name, [64, 30, 10], X[train], y[train], None, None, X[test], y[test],
                      options)
        rows.append(("digits", row))
        print("digits", row, flush=True)
    if (FOLDER / "train-images-idx3-ubyte.gz").exists():
        Xf = read_idx(FOLDER / "train-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
        yf = read_idx(FOLDER / "train-labels-idx1-ubyte.gz").astype(np.intp)
        Xt = read_idx(FOLDER / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
        yt = read_idx(FOLDER / "t10k-labels-idx1-ubyte.gz").astype(np.intp)
        for sizes in ([784, 30, 10], [784, 100, 10]):
            for name, options in CONFIGS:
                row = run(name, sizes, Xf[:50000], yf[:50000], Xf[50000:], yf[50000:], Xt,
                          yt, options)
                rows.append(("Fashion-MNIST", row))
                print("Fashion-MNIST", row, flush=True)
    print()
    print("| data | options | sizes | epochs run | test accuracy | seconds |")
    print("|---|---|---|--:|--:|--:|")
    for data, row in rows:
        print(f"| {data} {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
