"""What the new units and Adam achieve: test accuracy on the bundled digits and on
Fashion-MNIST for ReLU and tanh hidden layers with a softmax output, trained by Adam or SGD,
next to the seed's sigmoid network and scikit-learn's MLPClassifier; and which
initialisation suits each activation.

    python benchmarks/accuracy.py            # prints markdown tables (about 10-15 minutes)
    python benchmarks/accuracy.py --quick    # digits only, a few epochs, one seed

Data, as benchmarks/options.py: the digits, scaled to [0, 1] (pixel / 16), a seed-0
permutation split into 450 test and 1,347 training images, [64, 30, 10]; Fashion-MNIST
(Debian's ``dataset-fashion-mnist``, ``/usr/share/datasets/fashion-mnist/``, read by
``mlp.datasets.load_idx``), scaled to [0, 1] (pixel / 255), the first 50,000 training
images and the 10,000 test images, [784, 100, 10]. Without Fashion-MNIST only the digits
are run.

The runs (30 epochs unless ``--epochs``; seed 0 seeds the initialisation and the
shuffling):

* the seed: sigmoid hidden and output, quadratic cost, SGD, eta 3.0, batch 10;
* relu + softmax (cross-entropy), SGD, eta ``RELU_SGD_ETA`` (0.05), batch 10;
* relu + softmax and tanh + softmax, Adam, eta 0.001 (its default), at batch 200
  (scikit-learn's default) and, for ReLU and on the digits, also at batch 10 (1,347
  digits make only 7 mini-batches of 200 per epoch);
* scikit-learn's ``MLPClassifier(hidden_layer_sizes=(100,), activation="relu",
  solver="adam")`` on the same Fashion-MNIST split, with its defaults (alpha=1e-4 L2,
  batch 200, learning rate 0.001) except ``max_iter=30`` (its default is 200 with a
  stopping rule on the training loss), for reference.

And the initialisation study (seeds 0, 1, 2): relu + softmax + Adam with ``init="auto"``
(He in the hidden layers, ``"scaled"`` in the softmax layer), ``"he"`` (every layer),
``"scaled"`` and ``"glorot"``; tanh + softmax + Adam with ``"scaled"`` (which is what
``"auto"`` gives it) and ``"glorot"``, on both data sets (the Adam batch sizes above); and
relu + softmax + SGD with the four on the digits; test accuracy after the first epoch and
after the last, and the last epoch's training cost.

Writes JSON to ``--json`` (default benchmarks/results/accuracy.json, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import mlp
from mlp.datasets import load_digits, load_idx

HERE = Path(__file__).resolve().parent
FOLDER = Path("/usr/share/datasets/fashion-mnist")
#: The learning rate of the relu + softmax + SGD rows. Of 0.01, 0.05, 0.1 and 0.5 (5 epochs,
#: batch 10, seed 0), 0.05 was best on Fashion-MNIST [784, 100, 10] (test accuracy 0.852
#: after 5 epochs; 0.849 for 0.01, 0.839 for 0.1, and 0.5 collapsed to 0.28) and within 1%
#: of the best on the digits (0.936; 0.942 for 0.1, 0.913 for 0.5, 0.820 for 0.01).
RELU_SGD_ETA = 0.05
SEEDS = (0, 1, 2)


def datasets(quick: bool) -> dict[str, dict[str, Any]]:
    """name -> sizes and the train/test arrays."""
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:450], order[450:]
    out = {"digits": {"sizes": [64, 30, 10], "X": X[train], "y": y[train], "Xt": X[test],
                      "yt": y[test]}}
    if not quick and (FOLDER / "train-images-idx3-ubyte.gz").exists():
        Xf, yf = load_idx(FOLDER, kind="train")
        Xt, yt = load_idx(FOLDER, kind="test")
        out["Fashion-MNIST"] = {"sizes": [784, 100, 10], "X": Xf[:50_000] / 255.0,
                                "y": yf[:50_000], "Xt": Xt / 255.0, "yt": yt}
    return out


def train(data: dict[str, Any], *, activation: str, output: str, optimizer: str,
          eta: float, batch: int, epochs: int, seed: int, init: str = "auto",
          cost: str | None = None) -> dict[str, Any]:
    """One seeded run; test accuracy after every epoch (a callback), the history's costs."""
    net = mlp.MLP(data["sizes"], activation=activation, output=output, init=init,
                  seed=seed)
    curve: list[float] = []

    def test_accuracy(record: dict[str, Any]) -> None:
        curve.append(net.accuracy(data["Xt"], data["yt"]))

    start = time.perf_counter()
    history = net.fit(data["X"], data["y"], epochs=epochs, batch_size=batch, eta=eta,
                      optimizer=optimizer, cost=cost, seed=seed, callbacks=[test_accuracy])
    seconds = time.perf_counter() - start
    return {"activation": activation, "output": output, "optimizer": optimizer, "eta": eta,
            "batch": batch, "epochs": len(history), "seed": seed, "init": init,
            "test_accuracy": curve[-1], "test_accuracy_curve": curve,
            "train_cost": [float(c) for c in history["cost"]],
            "epoch_seconds": [float(s) for s in history["seconds"]], "seconds": seconds}


def sklearn_run(data: dict[str, Any], epochs: int, seed: int) -> dict[str, Any] | None:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    model = MLPClassifier(hidden_layer_sizes=(100,), activation="relu", solver="adam",
                          max_iter=epochs, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data["X"], data["y"])
    seconds = time.perf_counter() - start
    return {"model": "sklearn MLPClassifier((100,), relu, adam), alpha 1e-4, batch 200",
            "epochs": int(model.n_iter_), "seed": seed,
            "test_accuracy": float(model.score(data["Xt"], data["yt"])),
            "seconds": seconds}


def main_runs(name: str, data: dict[str, Any], epochs: int) -> list[tuple[str, dict]]:
    """(label, options) of the main table for one data set."""
    adam_batches = (200, 10)
    runs = [
        ("the seed: sigmoid + sigmoid, quadratic, SGD eta 3.0",
         dict(activation="sigmoid", output="sigmoid", optimizer="sgd", eta=3.0, batch=10)),
        (f"relu + softmax, SGD eta {RELU_SGD_ETA}",
         dict(activation="relu", output="softmax", optimizer="sgd", eta=RELU_SGD_ETA,
              batch=10)),
    ]
    for batch in adam_batches:
        for act in ("relu", "tanh"):
            if name != "digits" and batch == 10 and act == "tanh":
                continue  # Fashion-MNIST: Adam at batch 10 for ReLU only (time)
            runs.append((f"{act} + softmax, Adam eta 0.001",
                         dict(activation=act, output="softmax", optimizer="adam", eta=0.001,
                              batch=batch)))
    return runs


def init_runs(name: str) -> list[tuple[str, list[str], dict]]:
    """(label, inits, options) of the initialisation study for one data set."""
    adam_batch = 10 if name == "digits" else 200
    runs = [("relu + softmax, Adam", ["auto", "he", "scaled", "glorot"],
             dict(activation="relu", output="softmax", optimizer="adam", eta=0.001,
                  batch=adam_batch)),
            ("tanh + softmax, Adam", ["scaled", "glorot"],
             dict(activation="tanh", output="softmax", optimizer="adam", eta=0.001,
                  batch=adam_batch))]
    if name == "digits":
        runs.append(("relu + softmax, SGD", ["auto", "he", "scaled", "glorot"],
                     dict(activation="relu", output="softmax", optimizer="sgd",
                          eta=RELU_SGD_ETA, batch=10)))
    return runs


def summary(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return (f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} "
            f"({min(values):.4f}–{max(values):.4f})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="digits only, 3 epochs, one seed")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (default 30)")
    p.add_argument("--no-init", action="store_true", help="skip the initialisation study")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: at mlp's generic kernel level the small "
                        "products go to OpenBLAS, whose second thread made batch-10 epochs "
                        "erratic, 1.1-6 s instead of about 1, on the busy 2-core machine "
                        "these were measured on)")
    p.add_argument("--json", default=str(HERE / "results" / "accuracy.json"))
    p.add_argument("--markdown", default=None, help="also write the tables here")
    args = p.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 30)
    seeds = SEEDS[:1] if args.quick else SEEDS
    t0 = time.perf_counter()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=args.threads)
    data_sets = datasets(args.quick)
    results: dict[str, Any] = {"started": started, "epochs": epochs, "seeds": list(seeds),
                               "threads": args.threads,
                               "kernel_level": mlp.kernel_level(),
                               "mlp": mlp.__version__, "relu_sgd_eta": RELU_SGD_ETA,
                               "main": [], "sklearn": [], "init": []}
    done: dict[tuple, dict[str, Any]] = {}  # (data, options, init, seed) -> run

    def run(name: str, options: dict, init: str, seed: int) -> dict[str, Any]:
        key = (name, tuple(sorted(options.items())), init, seed)
        if key not in done:
            done[key] = train(data_sets[name], epochs=epochs, seed=seed, init=init,
                              **options)
            r = done[key]
            say(f"{name} {options} init {init} seed {seed}: test accuracy "
                f"{r['test_accuracy']:.4f} ({r['seconds']:.1f} s)")
        return done[key]

    for name, data in data_sets.items():
        for label, options in main_runs(name, data, epochs):
            r = run(name, options, "auto", 0)
            results["main"].append({"data": name, "sizes": data["sizes"], "label": label, **r})
        if name != "digits":
            s = sklearn_run(data, epochs, 0)
            if s:
                results["sklearn"].append({"data": name, "sizes": data["sizes"], **s})
                say(f"{name} {s['model']}: test accuracy {s['test_accuracy']:.4f} "
                    f"({s['seconds']:.1f} s)")
    if not args.no_init:
        for name, data in data_sets.items():
            for label, inits, options in init_runs(name):
                for init in inits:
                    # for tanh + softmax, "auto" is "scaled" in every layer: the same bits
                    # (for relu + softmax it is He in the hidden layers, "scaled" in the
                    # output layer, and "he" is He in every layer)
                    same = init == "scaled" and options["activation"] == "tanh"
                    runs = [run(name, options, "auto" if same else init, seed)
                            for seed in seeds]
                    results["init"].append({
                        "data": name, "sizes": data["sizes"], "label": label, "init": init,
                        "batch": options["batch"], "seeds": list(seeds),
                        "test_accuracy": [r["test_accuracy"] for r in runs],
                        "epoch1_test_accuracy": [r["test_accuracy_curve"][0] for r in runs],
                        "last_train_cost": [r["train_cost"][-1] for r in runs]})
    results["elapsed_seconds"] = time.perf_counter() - t0

    lines = [f"Test accuracy; `benchmarks/accuracy.py`, {started[:10]}, mlp {mlp.__version__} "
             f"(kernel level {mlp.kernel_level()}), {args.threads} BLAS thread(s), seed 0, "
             f"{epochs} epochs, inputs in [0, 1]:",
             "", "| data | sizes | units and optimizer | batch | epochs | test accuracy | "
             "seconds |", "|---|---|---|--:|--:|--:|--:|"]
    for r in results["main"]:
        lines.append(f"| {r['data']} | {r['sizes']} | {r['label']} | {r['batch']} | "
                     f"{r['epochs']} | {r['test_accuracy']:.4f} | {r['seconds']:.0f} |")
    for s in results["sklearn"]:
        lines.append(f"| {s['data']} | {s['sizes']} | {s['model']} | 200 | {s['epochs']} | "
                     f"{s['test_accuracy']:.4f} | {s['seconds']:.0f} |")
    if results["init"]:
        lines += ["", f"Initialisation, seeds {', '.join(map(str, seeds))} (mean ± standard "
                  "deviation (min–max)):", "",
                  "| data | units and optimizer | batch | init | test accuracy after "
                  f"{epochs} epochs | after epoch 1 | last epoch's training cost |",
                  "|---|---|--:|---|--:|--:|--:|"]
        for r in results["init"]:
            init = f"`{r['init']}`" + (" (He hidden, scaled output)" if r["init"] == "auto"
                                        else "")
            lines.append(f"| {r['data']} | {r['label']} | {r['batch']} | {init} | "
                         f"{summary(r['test_accuracy'])} | "
                         f"{summary(r['epoch1_test_accuracy'])} | "
                         f"{statistics.mean(r['last_train_cost']):.4f} |")
    lines += ["", f"Total time {results['elapsed_seconds']:.0f} s; load average "
              f"{os.getloadavg()[0]:.2f} at the end."]
    report = "\n".join(lines)
    print(report)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(report + "\n")
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
