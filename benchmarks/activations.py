"""Benchmark mlp's new units and optimizer: ReLU and tanh hidden layers with a softmax output
against the seed's sigmoid network, and Adam against SGD, next to the NumPy reference,
PyTorch and scikit-learn running the same configuration, in one run.

Run the full benchmark from the repository root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/activations.py

(the ``env -u`` lets OpenBLAS pick its own kernel for the CPU; see benchmarks/README.md).
A smoke run, a few seconds::

    python benchmarks/activations.py --quick

What it measures (benchmarks/README.md has the details):

* training: samples/s of one epoch, best of ``--repeats`` after a warm-up, on random data
  (X uniform in [0, 1), one-hot targets, as bench.py), for [784,100,10] and [784,30,10]:

  - ``seed``: sigmoid hidden, sigmoid output, quadratic cost, SGD (eta 0.1);
  - ``relu``: ReLU hidden, softmax output, cross-entropy, SGD (eta 0.1);
  - ``tanh``: tanh hidden, softmax output, cross-entropy, SGD (eta 0.1);
  - ``adam``: ReLU hidden, softmax output, cross-entropy, Adam (eta 0.001, betas 0.9 and
    0.999, epsilon 1e-8);

  at batch 10 (all four), batch 1 (seed, relu, tanh) and batch 200 (relu, adam). Each
  batch size is one group: its configurations are timed in interleaved rounds on the same
  rows, so that their ratios (relu/sigmoid, adam/sgd) see the same machine;
* each configuration in mlp (``MLP.fit(epochs=1)``), the NumPy reference
  (``reference_numpy.py``), PyTorch (float64 autograd; SGD as bench.py's, Adam by
  ``torch.optim.Adam``) and scikit-learn (``MLPClassifier``, same hidden activation, solver
  'sgd' or 'adam', ``partial_fit``), when they import;
* where Adam's time goes at batch 10 in mlp: the epoch with plain SGD (whose update is
  fused into the weight-gradient product), with momentum (a gradient buffer and a cheap
  elementwise step) and with Adam; the compiled step alone (``_core.apply_step``) for Adam
  and for momentum; NumPy's Adam step on the same number of parameters; whether the
  compiled Adam loop was vectorized (from ``objdump``, if installed); and, with
  Fashion-MNIST installed, how many of Adam's moments turn subnormal in two epochs on real
  data and what that does to the step.

Before timing, it checks that mlp and the NumPy reference give the same parameters, to
1e-10, after one epoch from the same weights in the same order, for every unit and
optimizer measured (batch 10, 7 with a shorter last mini-batch, and 1); and PyTorch too
(for Adam with a negligible epsilon: PyTorch adds epsilon to sqrt(v / (1 - b2^t)), mlp, as
Kingma and Ba's efficient form and scikit-learn, to sqrt(v)). scikit-learn's
MLPClassifier with alpha=0 is the same math as mlp's softmax configurations; the check
reports how far it is. Exit status 2 if mlp, NumPy or PyTorch disagree.

Prints a markdown report and writes JSON (``--json``, default
benchmarks/results/activations.json, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench import (  # noqa: E402  (bench.py exits with a message if threadpoolctl or mlp is missing)
    ENV_VARS,
    METER,
    TOLERANCE,
    Data,
    Threads,
    blas_info,
    calibrate_rate,
    contended,
    cpu_model,
    fmt_rate,
    importable,
    mlp_source,
    timed,
)
from reference_numpy import NumpyMLP  # noqa: E402

import mlp  # noqa: E402
from mlp import _core  # noqa: E402


@dataclass(frozen=True)
class Config:
    """One network and optimizer, as every implementation runs it."""

    name: str
    activation: str
    output: str
    optimizer: str
    eta: float
    label: str

    @property
    def cost(self) -> str:
        return "cross_entropy" if self.output == "softmax" else "quadratic"


CONFIGS = {
    "seed": Config("seed", "sigmoid", "sigmoid", "sgd", 0.1,
                   "sigmoid + sigmoid, quadratic, SGD (the seed)"),
    "relu": Config("relu", "relu", "softmax", "sgd", 0.1,
                   "relu + softmax, cross-entropy, SGD"),
    "tanh": Config("tanh", "tanh", "softmax", "sgd", 0.1,
                   "tanh + softmax, cross-entropy, SGD"),
    "adam": Config("adam", "relu", "softmax", "adam", 0.001,
                   "relu + softmax, cross-entropy, Adam"),
}
SHAPES = [[784, 100, 10], [784, 30, 10]]
QUICK_SHAPES = [[784, 30, 10]]
#: batch size -> the configurations timed together (interleaved) at that batch size
GROUPS = [(10, ["seed", "relu", "tanh", "adam"]), (1, ["seed", "relu", "tanh"]),
          (200, ["relu", "adam"])]
IMPLEMENTATIONS = ["mlp", "numpy", "torch", "sklearn"]
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8
#: the targets of the issue: (numerator, denominator, batch, at least)
TARGETS = [("relu", "seed", 10, 0.9), ("relu", "seed", 1, 0.8), ("adam", "relu", 200, 0.85),
           ("adam", "relu", 10, None), ("tanh", "seed", 10, None), ("tanh", "seed", 1, None)]
SKLEARN_ACTIVATION = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu",
                      "identity": "identity"}


# --- implementations -------------------------------------------------------------------
# As in bench.py: built from initial weights (W as (n_in, n_out)) and biases, each exposes
# epoch(X, Y, seed), which the caller times.


class MlpRunner:
    name = "mlp"

    def __init__(self, weights, biases, cfg: Config, batch: int) -> None:
        self.net = mlp.MLP.from_weights(weights, biases, activation=cfg.activation,
                                        output=cfg.output)
        self.cfg, self.batch = cfg, batch

    def epoch(self, X, Y, seed: int, order: np.ndarray | None = None) -> dict[str, Any]:
        hist = self.net.fit(X, Y, epochs=1, batch_size=self.batch, eta=self.cfg.eta,
                            optimizer=self.cfg.optimizer, shuffle=order is None, seed=seed)
        return {"epoch_seconds": float(hist[-1]["seconds"])}


class NumpyRunner:
    name = "numpy"

    def __init__(self, weights, biases, cfg: Config, batch: int, epsilon: float = EPSILON):
        self.net = NumpyMLP(weights, biases, activation=cfg.activation, output=cfg.output)
        self.cfg, self.batch, self.epsilon = cfg, batch, epsilon

    def epoch(self, X, Y, seed: int, order: np.ndarray | None = None) -> dict[str, Any]:
        if order is None:
            order = np.random.default_rng(seed).permutation(X.shape[0])
        self.net.fit_epoch(X, Y, self.batch, self.cfg.eta, order,
                           optimizer=self.cfg.optimizer, beta1=BETA1, beta2=BETA2,
                           epsilon=self.epsilon)
        return {}


class TorchRunner:
    """PyTorch, float64: act(addmm(b, a, W)) layers; the seed's loss 1/2 sum (a - y)^2 on a
    sigmoid output, or the cross-entropy -sum y log_softmax(z); SGD as bench.py's
    (``torch.autograd.grad`` of the summed loss, then ``p -= eta/m * grad``); Adam by
    ``torch.optim.Adam`` (its defaults, eps as given) on the mean loss, ``backward`` and
    ``step``. Rows gathered with index_select(out=)."""

    name = "torch"

    def __init__(self, weights, biases, cfg: Config, batch: int, epsilon: float = EPSILON):
        import torch

        self.torch = torch
        self.params = []
        for W, b in zip(weights, biases):
            self.params.append(torch.tensor(np.array(W), dtype=torch.float64,
                                            requires_grad=True))
            self.params.append(torch.tensor(np.array(b), dtype=torch.float64,
                                            requires_grad=True))
        self.act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                    "identity": lambda z: z}[cfg.activation]
        self.cfg, self.batch = cfg, batch
        self.adam = None
        if cfg.optimizer == "adam":
            self.adam = torch.optim.Adam(self.params, lr=cfg.eta, betas=(BETA1, BETA2),
                                         eps=epsilon)

    def weights_biases(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        arrs = [p.detach().numpy().copy() for p in self.params]
        return arrs[0::2], arrs[1::2]

    def epoch(self, X, Y, seed: int, order: np.ndarray | None = None) -> dict[str, Any]:
        torch = self.torch
        F = torch.nn.functional
        n = X.shape[0]
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        if order is None:
            idx_all = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        else:
            idx_all = torch.from_numpy(np.asarray(order, dtype=np.int64))
        batch = min(self.batch, n)
        xbuf = torch.empty((batch, X.shape[1]), dtype=torch.float64)
        ybuf = torch.empty((batch, Y.shape[1]), dtype=torch.float64)
        params = self.params
        layers = list(zip(params[0::2], params[1::2]))
        hidden, (W_out, b_out) = layers[:-1], layers[-1]
        act, softmax, adam, eta = self.act, self.cfg.output == "softmax", self.adam, self.cfg.eta
        for lo in range(0, n, batch):
            idx = idx_all[lo : lo + batch]
            m = idx.shape[0]
            xb = torch.index_select(Xt, 0, idx, out=xbuf[:m])
            yb = torch.index_select(Yt, 0, idx, out=ybuf[:m])
            a = xb
            for W, b in hidden:
                a = act(torch.addmm(b, a, W))
            z = torch.addmm(b_out, a, W_out)
            if softmax:
                loss = -torch.sum(yb * F.log_softmax(z, dim=1))
            else:
                loss = 0.5 * torch.sum((torch.sigmoid(z) - yb) ** 2)
            if adam is None:
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    for p, g in zip(params, grads):
                        p.sub_(g, alpha=eta / m)
            else:
                adam.zero_grad()
                (loss / m).backward()
                adam.step()
        return {}


class SklearnRunner:
    """scikit-learn's MLPClassifier with the same hidden activation ('logistic' for the
    sigmoid), solver 'sgd' (momentum 0) or 'adam' (same betas and epsilon), alpha=0,
    constant learning rate eta, the same batch size; ``fit(max_iter=1)`` as warm-up (its
    weights then replaced by ours), then ``partial_fit`` (one shuffled pass) per timed
    epoch. Its output is always softmax with the cross-entropy (log-loss) for one label
    per sample, so for the softmax configurations it is mlp's math (mean gradient over the
    mini-batch, the same Adam formula); for the seed's sigmoid + quadratic it is not. It
    also computes every mini-batch's loss. Labels are the targets' argmax, taken in the
    timed call (about 0.01% of it)."""

    name = "sklearn"

    def __init__(self, weights, biases, cfg: Config, batch: int, shuffle: bool = True):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.ConvergenceWarning = ConvergenceWarning
        extra = {"momentum": 0.0, "nesterovs_momentum": False} if cfg.optimizer == "sgd" \
            else {"beta_1": BETA1, "beta_2": BETA2, "epsilon": EPSILON}
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(W.shape[1] for W in weights[:-1]),
            activation=SKLEARN_ACTIVATION[cfg.activation], solver=cfg.optimizer,
            batch_size=batch, learning_rate="constant", learning_rate_init=cfg.eta,
            alpha=0.0, max_iter=1, shuffle=shuffle, early_stopping=False, random_state=0,
            **extra)
        self.weights, self.biases = weights, biases
        self.fitted = False

    def set_weights(self) -> None:
        for dst, src in zip(self.model.coefs_, self.weights):
            dst[...] = src
        for dst, src in zip(self.model.intercepts_, self.biases):
            dst[...] = src

    def epoch(self, X, Y, seed: int) -> dict[str, Any]:
        labels = np.argmax(Y, axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.ConvergenceWarning)
            if not self.fitted:
                self.model.fit(X, labels)  # initialises (weights replaced) and one epoch
                self.set_weights()
                self.fitted = True
            else:
                self.model.partial_fit(X, labels)
        return {}


RUNNERS = {"mlp": MlpRunner, "numpy": NumpyRunner, "torch": TorchRunner,
           "sklearn": SklearnRunner}


def initial_weights(sizes: list[int], cfg: Config, seed: int):
    """mlp's own initialisation for the configuration (init="auto": He for ReLU layers,
    the seed's N(0, 1/n_in) for the rest), as (weights, biases) copies."""
    net = mlp.MLP(sizes, activation=cfg.activation, output=cfg.output, seed=seed)
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


# --- the agreement check -----------------------------------------------------------------


def check_agreement(impls: list[str], seed: int, quick: bool = False) -> dict[str, Any]:
    """One epoch from the same weights, rows in order: mlp and the NumPy reference (and
    torch) must give the same parameters to TOLERANCE, and the same predictions;
    scikit-learn's difference (softmax configurations) is reported. ``quick``: three of
    the cases (the seed, ReLU at batch 1, Adam with two hidden layers)."""
    rng = np.random.default_rng(seed)
    sgd = lambda act: Config(act, act, "softmax", "sgd", 0.5, act)  # noqa: E731
    adam = lambda act: Config(act, act, "softmax", "adam", 0.01, act)  # noqa: E731
    cases = [
        ([784, 30, 10], 10, 47, Config("seed", "sigmoid", "sigmoid", "sgd", 3.0, "seed")),
        ([784, 30, 10], 10, 47, sgd("relu")), ([784, 30, 10], 10, 47, sgd("tanh")),
        ([784, 16, 16, 10], 7, 50, sgd("relu")), ([784, 30, 10], 1, 13, sgd("relu")),
        ([784, 30, 10], 1, 13, sgd("tanh")), ([784, 30, 10], 10, 47, adam("relu")),
        ([784, 30, 10], 10, 47, adam("tanh")), ([784, 16, 16, 10], 7, 50, adam("relu")),
        ([784, 30, 10], 1, 13, adam("relu")),
    ]
    if quick:
        cases = [cases[0], cases[4], cases[8]]
    report, failures = [], []
    for sizes, batch, n, cfg in cases:
        X = rng.random((n, sizes[0]))
        labels = rng.permutation(np.arange(n) % sizes[-1])  # every class present
        Y = np.eye(sizes[-1])[labels]
        W0, b0 = initial_weights(sizes, cfg, int(rng.integers(1 << 30)))
        order = np.arange(n)
        start = NumpyMLP(W0, b0, cfg.activation, cfg.output).params
        m_run = MlpRunner(W0, b0, cfg, batch)
        r_run = NumpyRunner(W0, b0, cfg, batch)
        pred_diff = float(np.max(np.abs(m_run.net.predict(X) - r_run.net.predict(X))))
        m_run.epoch(X, Y, 0, order=order)
        r_run.epoch(X, Y, 0, order=order)
        ref = r_run.net.params
        case: dict[str, Any] = {
            "sizes": sizes, "batch": batch, "rows": n, "activation": cfg.activation,
            "output": cfg.output, "optimizer": cfg.optimizer, "eta": cfg.eta,
            "mlp_vs_numpy": float(np.max(np.abs(m_run.net.params - ref))),
            "predict_mlp_vs_numpy": pred_diff,
            "largest_update": float(np.max(np.abs(ref - start))),
        }
        if not (case["mlp_vs_numpy"] <= TOLERANCE and pred_diff <= TOLERANCE):
            failures.append(f"mlp vs numpy on {sizes} {cfg.activation}+{cfg.output} "
                            f"{cfg.optimizer} batch {batch}: parameters differ by "
                            f"{case['mlp_vs_numpy']:.3g}, predictions by {pred_diff:.3g}")
        if "torch" in impls:
            # Adam with a negligible epsilon, where the two placements of epsilon agree
            eps = 1e-300 if cfg.optimizer == "adam" else EPSILON
            t_run = TorchRunner(W0, b0, cfg, batch, epsilon=eps)
            t_run.epoch(X, Y, 0, order=order)
            r_eps = NumpyRunner(W0, b0, cfg, batch, epsilon=eps)
            r_eps.epoch(X, Y, 0, order=order)
            tW, tb = t_run.weights_biases()
            case["torch_vs_numpy"] = float(np.max(np.abs(
                NumpyMLP(tW, tb, cfg.activation, cfg.output).params - r_eps.net.params)))
            if cfg.optimizer == "adam":
                case["torch_epsilon"] = eps
                t_def = TorchRunner(W0, b0, cfg, batch)  # epsilon 1e-8, placed as torch does
                t_def.epoch(X, Y, 0, order=order)
                tW, tb = t_def.weights_biases()
                case["torch_eps_1e-8_vs_numpy"] = float(np.max(np.abs(
                    NumpyMLP(tW, tb, cfg.activation, cfg.output).params - ref)))
            if not case["torch_vs_numpy"] <= TOLERANCE:
                failures.append(f"torch vs numpy on {sizes} {cfg.activation} {cfg.optimizer} "
                                f"batch {batch}: parameters differ by "
                                f"{case['torch_vs_numpy']:.3g}")
        if "sklearn" in impls and cfg.output == "softmax":
            s_run = SklearnRunner(W0, b0, cfg, batch, shuffle=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s_run.model.fit(X, labels)  # builds the model; its weights are replaced
            s_run.set_weights()
            del s_run.model._optimizer  # a fresh SGD/Adam state for the compared pass
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s_run.model.partial_fit(X, labels)
            sW = [c.copy() for c in s_run.model.coefs_]
            sb = [c.copy() for c in s_run.model.intercepts_]
            case["sklearn_vs_numpy"] = float(np.max(np.abs(
                NumpyMLP(sW, sb, cfg.activation, cfg.output).params - ref)))
        report.append(case)
    if failures:
        print("ABORTED: the implementations disagree, so their timings would not be "
              "comparable:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        sys.exit(2)
    return {"tolerance": TOLERANCE, "cases": report}


# --- timing ------------------------------------------------------------------------------


def interleaved(runners: dict[str, Any], data: Data, rows: int, batch: int, repeats: int,
                threads: int, extra: int) -> dict[str, dict[str, Any]]:
    """Each runner: a warm-up epoch on a short prefix, then rounds of one timed epoch per
    runner on ``rows`` rows, the order rotating from round to round; after ``repeats``
    rounds, up to ``extra`` more while some runner has no run free of contention. The best
    run of each (of its uncontended runs, if any)."""
    Xw, Yw = data.rows(min(rows, max(8 * batch, 512)))
    for runner in runners.values():
        runner.epoch(Xw, Yw, 1)
    X, Y = data.rows(rows)
    names = list(runners)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    r = 0
    while True:
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            wall, other, out = timed(lambda: runners[name].epoch(X, Y, 100 + r))
            rec = {"seconds": wall, "other_cpu_pct": other,
                   "contended": contended(other, threads, wall)}
            rec.update(out or {})
            runs[name].append(rec)
        r += 1
        quiet = all(any(not x["contended"] for x in runs[name]) for name in names)
        if r >= repeats and (quiet or r >= repeats + extra):
            break
        if r >= repeats:
            time.sleep(0.5)  # waiting for a quieter moment
    cells = {}
    for name in names:
        pool = [x for x in runs[name] if not x["contended"]] or runs[name]
        best = min(pool, key=lambda x: x["seconds"])
        cell = {"rows": rows, "samples_per_s": rows / best["seconds"],
                "best_seconds": best["seconds"], "other_cpu_pct": best["other_cpu_pct"],
                "contended": best["contended"], "runs": runs[name]}
        if best.get("epoch_seconds"):
            cell["outside_epoch_pct"] = 100.0 * (1.0 - best["epoch_seconds"] / best["seconds"])
        cells[name] = cell
    return cells


def calibrated(runner, data: Data, batch: int, cap: int) -> float:
    """bench.calibrate_rate after a warm-up epoch of its own: a first call can be much
    slower than the rest (lazy initialisation, a first fit), and calibrate_rate stops at
    the first call that takes 50 ms."""
    Xw, Yw = data.rows(min(cap, max(8 * batch, 512)))
    runner.epoch(Xw, Yw, 1)
    return calibrate_rate(runner, data, batch, cap)


def measure_training(impls: list[str], shapes: list[list[int]], args: argparse.Namespace,
                     data: Data, say) -> list[dict[str, Any]]:
    rows_out = []
    extra = 0 if args.quick else args.extra_repeats
    for sizes in shapes:
        for batch, names in GROUPS:
            if batch not in args.batches:
                continue
            cfgs = [CONFIGS[name] for name in names]
            weights = {c.name: initial_weights(sizes, c, args.seed + 1) for c in cfgs}
            group = {"sizes": sizes, "batch": batch, "configs": names, "results": {}}
            mlp_rows = None
            for impl in impls:
                def build() -> dict[str, Any]:
                    return {c.name: RUNNERS[impl](*weights[c.name], c, batch) for c in cfgs}

                if args.quick:
                    rows = 200 if batch == 1 else 1_000
                else:
                    # rows for the fastest configuration of the group to take about
                    # --target-seconds (mlp: at most --max-rows; others: at least
                    # --min-rows, at most mlp's rows)
                    cap = args.max_rows if mlp_rows is None else mlp_rows
                    rate = max(calibrated(runner, data, batch, cap)
                               for runner in build().values())
                    lo = 4 * batch if impl == "mlp" else min(
                        args.min_rows, cap, int(rate * args.max_seconds))
                    rows = int(min(max(rate * args.target_seconds, lo), cap))
                    rows = max(batch, rows // batch * batch)
                if impl == "mlp":
                    mlp_rows = rows
                cells = interleaved(build(), data, rows, batch, args.repeats, args.threads,
                                    extra)
                group["results"][impl] = cells
                say(f"{'-'.join(map(str, sizes))} batch {batch:>3} {impl:8s} " + ", ".join(
                    f"{n} {c['samples_per_s']:,.0f}{'*' if c['contended'] else ''}"
                    for n, c in cells.items()) + f" samples/s ({rows:,} rows)")
                time.sleep(0.2)  # let this library's BLAS threads go idle
            rows_out.append(group)
    return rows_out


def ratios(training: list[dict[str, Any]], impls: list[str]) -> list[dict[str, Any]]:
    """relu/sigmoid, tanh/sigmoid, adam/sgd per shape and implementation, with the targets."""
    out = []
    for num, den, batch, target in TARGETS:
        for group in training:
            if group["batch"] != batch or num not in group["configs"] \
                    or den not in group["configs"]:
                continue
            row = {"sizes": group["sizes"], "batch": batch, "ratio": f"{num}/{den}",
                   "target": target, "values": {}}
            for impl in impls:
                cells = group["results"].get(impl)
                if cells:
                    row["values"][impl] = (cells[num]["samples_per_s"]
                                           / cells[den]["samples_per_s"])
            if target is not None and "mlp" in row["values"]:
                row["meets_target"] = row["values"]["mlp"] >= target
            out.append(row)
    return out


# --- where Adam's time goes ------------------------------------------------------------------


def adam_vectorized() -> dict[str, Any] | None:
    """Which square-root and division instructions each compiled clone of mlp's Adam loop
    (mlpk_adam_step) uses, from objdump: scalar (sqrtsd/divsd) or packed (sqrtpd/divpd)."""
    objdump = shutil.which("objdump")
    so = getattr(_core, "__file__", None)
    if not objdump or not so:
        return None
    try:
        text = subprocess.run([objdump, "-d", "--no-show-raw-insn", so], capture_output=True,
                              text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    clones: dict[str, dict[str, int]] = {}
    current = None
    for line in text.splitlines():
        if line.endswith(">:"):
            name = line.split("<", 1)[1][:-2]
            current = name if name.startswith("mlpk_adam_step") and \
                not name.endswith(("resolver", "cold")) else None
            if current:
                clones[current] = {}
        elif current and "\t" in line:
            op = line.split("\t")[1].split()[0] if len(line.split("\t")) > 1 else ""
            if "sqrt" in op or op.startswith(("div", "vdiv")) or "call" in op:
                key = op + (" " + line.split("<")[-1].rstrip(">") if "call" in op else "")
                clones[current][key] = clones[current].get(key, 0) + 1
    return {"file": os.path.basename(so), "clones": clones} if clones else None


def time_calls(fn, calls: int, repeats: int) -> float:
    """Best over ``repeats`` of the mean seconds of ``calls`` calls of fn()."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def profile_adam(shapes: list[list[int]], args: argparse.Namespace, data: Data,
                 say) -> list[dict[str, Any]]:
    """Epochs of relu + softmax at batch 10 with plain SGD, momentum 0.9 and Adam
    (interleaved), and the compiled step alone for Adam and for momentum, per shape."""
    out = []
    batch = 10
    extra = 0 if args.quick else args.extra_repeats
    cfg = CONFIGS["adam"]
    for sizes in shapes:
        W0, b0 = initial_weights(sizes, cfg, args.seed + 1)

        class Variant(MlpRunner):
            def __init__(self, options: dict[str, Any]) -> None:
                super().__init__(W0, b0, cfg, batch)
                self.options = options

            def epoch(self, X, Y, seed, order=None):
                hist = self.net.fit(X, Y, epochs=1, batch_size=batch, shuffle=True,
                                    seed=seed, **self.options)
                return {"epoch_seconds": float(hist[-1]["seconds"])}

        variants = {"sgd": Variant({"eta": 0.1}),
                    "momentum": Variant({"eta": 0.01, "momentum": 0.9}),
                    "adam": Variant({"optimizer": "adam", "eta": 0.001})}
        if args.quick:
            rows = 1_000
        else:
            rate = calibrated(variants["adam"], data, batch, args.max_rows)
            rows = max(batch, int(min(max(rate * args.target_seconds, 40 * batch),
                                      args.max_rows)) // batch * batch)
        # (the caller holds the thread limits)
        cells = interleaved(variants, data, rows, batch, args.repeats, args.threads,
                            extra)
        # the compiled step alone, on this network's parameter count
        net = variants["adam"].net
        n_params = net.params.size
        params = net.params.copy()
        rng = np.random.default_rng(args.seed)
        grad0 = rng.standard_normal(n_params) * 1e-3
        grad = grad0.copy()
        state2 = np.zeros(2 * n_params)
        state1 = np.zeros(n_params)
        sizes_arr = net.sizes_array
        calls = 20 if args.quick else 400
        reps = 1 if args.quick else 7
        steps = {}
        # grad is scratch for apply_step (it is divided by m in place): m = 1 keeps it
        steps["adam"] = time_calls(lambda: _core.apply_step(
            params, state2, sizes_arr, grad, 1, 1e-9, optimizer=_core.ADAM, t=1),
            calls, reps)
        steps["momentum"] = time_calls(lambda: _core.apply_step(
            params, state1, sizes_arr, grad, 1, 1e-9, momentum=0.9), calls, reps)
        steps["sgd"] = time_calls(lambda: _core.apply_step(
            params, _EMPTY, sizes_arr, grad, 1, 1e-9), calls, reps)
        tiny_sizes = np.array([1, 1], dtype=np.intp)
        tiny_p, tiny_g, tiny_s = _aligned(2), _aligned(2), _aligned(4)
        tiny_p[:] = 0.0
        tiny_g[:] = 0.0
        tiny_s[:] = 0.0
        steps["call_overhead"] = time_calls(lambda: _core.apply_step(
            tiny_p, tiny_s, tiny_sizes, tiny_g, 1, 1e-9, optimizer=_core.ADAM, t=1),
            calls, reps)
        # NumPy's Adam step (the reference's ufuncs) on the same number of parameters
        mom, vel, tmp, flat = (np.zeros(n_params), np.zeros(n_params),
                               np.empty(n_params), params.copy())

        def numpy_adam() -> None:
            np.multiply(mom, BETA1, out=mom)
            np.multiply(grad0, 1.0 - BETA1, out=tmp)
            np.add(mom, tmp, out=mom)
            np.multiply(vel, BETA2, out=vel)
            np.multiply(grad0, grad0, out=tmp)
            np.multiply(tmp, 1.0 - BETA2, out=tmp)
            np.add(vel, tmp, out=vel)
            np.sqrt(vel, out=tmp)
            np.add(tmp, EPSILON, out=tmp)
            np.divide(mom, tmp, out=tmp)
            np.multiply(tmp, 1e-9, out=tmp)
            np.subtract(flat, tmp, out=flat)

        steps["numpy_adam"] = time_calls(numpy_adam, calls, reps)
        per_step = {k: c["best_seconds"] / (rows / batch) for k, c in cells.items()}
        adam_pass = steps["adam"] - steps["call_overhead"]
        momentum_pass = steps["momentum"] - steps["call_overhead"]
        rec = {
            "sizes": sizes, "batch": batch, "rows": rows, "n_params": int(n_params),
            "epochs": cells,
            "minibatch_us": {k: 1e6 * v for k, v in per_step.items()},
            "step_alone_us": {k: 1e6 * v for k, v in steps.items()},
            "adam_pass_us": 1e6 * adam_pass,
            "momentum_pass_us": 1e6 * momentum_pass,
            "adam_pass_ns_per_param": 1e9 * adam_pass / n_params,
            "adam_pass_gb_per_s": 7 * 8 * n_params / adam_pass / 1e9,
            "adam_over_sgd": cells["adam"]["samples_per_s"] / cells["sgd"]["samples_per_s"],
        }
        extra_us = rec["minibatch_us"]["adam"] - rec["minibatch_us"]["sgd"]
        rec["adam_extra_us"] = extra_us
        rec["adam_pass_share_of_extra"] = 1e6 * adam_pass / extra_us if extra_us > 0 else None
        rec["adam_pass_share_of_minibatch"] = 1e6 * adam_pass / rec["minibatch_us"]["adam"]
        out.append(rec)
        say(f"Adam profile {'-'.join(map(str, sizes))}: mini-batch sgd "
            f"{rec['minibatch_us']['sgd']:.1f} µs, momentum "
            f"{rec['minibatch_us']['momentum']:.1f} µs, adam {rec['minibatch_us']['adam']:.1f}"
            f" µs; Adam pass alone {rec['adam_pass_us']:.1f} µs "
            f"({rec['adam_pass_ns_per_param']:.2f} ns/param), NumPy's "
            f"{rec['step_alone_us']['numpy_adam']:.1f} µs")
    return out


_EMPTY = np.empty(0)
FASHION = Path("/usr/share/datasets/fashion-mnist")


def subnormal_moments(args: argparse.Namespace, say) -> dict[str, Any] | None:
    """Adam on real data at batch 10: inputs that are almost always zero (Fashion-MNIST's
    border pixels) give their weights zero gradients for thousands of steps, and Adam's m
    decays by beta1 at each into the subnormal range, where arithmetic is slow. Two epochs
    of relu + softmax + Adam on Fashion-MNIST [784, 100, 10] (``partial_fit``, batch 10),
    then the compiled step timed with that state and with its subnormals flushed to zero
    (gradient zero where m is subnormal or zero, as in training). None without the data."""
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        return None
    from mlp.datasets import load_idx

    X, y = load_idx(FASHION, kind="train")
    X, y = X[:50_000] / 255.0, y[:50_000]
    net = mlp.MLP([784, 100, 10], activation="relu", output="softmax", seed=args.seed)
    tiny = np.finfo(np.float64).tiny
    epochs = []
    for epoch in range(2):
        hist = net.partial_fit(X, y, batch_size=10, optimizer="adam", eta=0.001,
                               seed=epoch)
        m = net.optimizer_state["m"]
        epochs.append({"seconds": float(hist[-1]["seconds"]),
                       "subnormal_m": int(np.sum((m != 0) & (np.abs(m) < tiny))),
                       "zero_m": int(np.sum(m == 0))})
    state = net.optimizer_state
    packed = np.concatenate([state["m"], state["v"]])
    flushed = packed.copy()
    flushed[np.abs(flushed) < tiny] = 0.0
    params = net.params.copy()
    grad0 = np.random.default_rng(args.seed).standard_normal(params.size) * 1e-3
    grad0[np.abs(state["m"]) < tiny] = 0.0
    sizes = net.sizes_array

    def step_time(initial: np.ndarray) -> float:
        best = math.inf
        for _ in range(5):
            st, grad = initial.copy(), grad0.copy()
            t0 = time.perf_counter()
            for _ in range(100):
                _core.apply_step(params, st, sizes, grad, 1, 1e-12, optimizer=_core.ADAM,
                                 t=1)
            best = min(best, (time.perf_counter() - t0) / 100)
        return best

    rec = {"sizes": [784, 100, 10], "batch": 10, "epochs": epochs,
           "n_params": int(params.size), "step_us": 1e6 * step_time(packed),
           "step_flushed_us": 1e6 * step_time(flushed)}
    say(f"Adam on Fashion-MNIST, batch 10: epochs {epochs[0]['seconds']:.2f} s, "
        f"{epochs[1]['seconds']:.2f} s; {epochs[1]['subnormal_m']:,} subnormal m; step "
        f"{rec['step_us']:.0f} µs, {rec['step_flushed_us']:.0f} µs with them flushed")
    return rec


def _aligned(n: int) -> np.ndarray:
    """A float64 vector of n entries on a 64-byte boundary (the core refuses others)."""
    raw = np.empty(n + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + n]


# --- the report ----------------------------------------------------------------------------


def markdown(res: dict[str, Any]) -> str:
    impls = res["implementations"]
    lines = ["# mlp benchmark: activations and Adam", ""]
    lines.append(f"{res['started']} · {res['machine']['cpu']} · {res['machine']['cpus']} CPUs · "
                 f"kernel level {res['kernel_level']} · {res['settings']['threads']} BLAS "
                 f"thread(s) · Python {res['machine']['python']} · mode: "
                 f"{'quick' if res['quick'] else 'full'}")
    lines.append("")
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()))
    src = res.get("mlp_source", {})
    if "commit" in src:
        lines.append("")
        lines.append(f"mlp from commit {src['commit']}"
                     + (" with uncommitted changes in its package folder"
                        if src.get("uncommitted_changes") else ""))
    lines.append("")
    env = res["environment"]
    forced = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if env.get(v) is not None]
    if forced:
        lines.append("**Note: " + ", ".join(f"{v}={env[v]}" for v in forced) + " is set: "
                     "OpenBLAS runs the kernel it forces. For the full benchmark run `env -u "
                     "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/activations.py`"
                     ".**")
    else:
        lines.append("OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: not set (OpenBLAS picks its "
                     "kernel for this CPU: " + ", ".join(sorted({
                         str(b["architecture"]) for b in res["blas"] if b["architecture"]})) + ").")
    lines.append("")

    lines.append(f"## Training: samples/s, one epoch (best of {res['settings']['repeats']}, "
                 "interleaved)")
    lines.append("")
    head = ["sizes", "batch", "configuration"] + impls + [
        f"mlp/{i}" for i in impls if i != "mlp"] + ["other CPU"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["--:"] * (len(head) - 3)) + "|")
    for group in res["training"]:
        for name in group["configs"]:
            cells = [("-".join(map(str, group["sizes"]))), str(group["batch"]),
                     CONFIGS[name].label]
            for impl in impls:
                c = group["results"].get(impl, {}).get(name)
                cells.append(fmt_rate(c["samples_per_s"]) + ("*" if c["contended"] else "")
                             if c else "–")
            m = group["results"].get("mlp", {}).get(name)
            for impl in impls:
                if impl == "mlp":
                    continue
                c = group["results"].get(impl, {}).get(name)
                cells.append(f"{m['samples_per_s'] / c['samples_per_s']:.2f}"
                             if m and c else "–")
            others = [group["results"][i][name]["other_cpu_pct"] for i in impls
                      if name in group["results"].get(i, {})
                      and group["results"][i][name]["other_cpu_pct"] is not None]
            cells.append(f"{max(others):.0f}%" if others else "–")
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    rows_used = "; ".join(
        f"{'-'.join(map(str, g['sizes']))} b{g['batch']}: " + ", ".join(
            f"{i} {next(iter(g['results'][i].values()))['rows']:,}" for i in g["results"])
        for g in res["training"])
    lines.append(f"Rows per epoch: {rows_used}.")
    lines.append("")
    lines.append("SGD eta 0.1, Adam eta 0.001 (betas 0.9, 0.999, epsilon 1e-8). mlp's figure "
                 "is the wall time of the whole `fit(epochs=1)` call. \"other CPU\" is the "
                 "largest share of the cores used by other processes during a reported run "
                 "of the row; * marks a figure for which no run was free of contention. "
                 "scikit-learn's MLPClassifier always has a softmax output and the log-loss: "
                 "for the seed's row it is not the same network (mlp: sigmoid output, "
                 "quadratic cost); for the others it is mlp's math (alpha=0).")
    lines.append("")
    if res.get("skipped"):
        lines.append("Not measured: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()))
        lines.append("")

    lines.append("## Ratios (throughput over throughput, same implementation)")
    lines.append("")
    head = ["sizes", "batch", "ratio", "target"] + impls + ["mlp meets target"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["--:"] * (len(head) - 3)) + "|")
    for r in res["ratios"]:
        cells = ["-".join(map(str, r["sizes"])), str(r["batch"]), r["ratio"],
                 f"≥ {r['target']}" if r["target"] else "–"]
        cells += [f"{r['values'][i]:.2f}" if i in r["values"] else "–" for i in impls]
        cells.append({True: "yes", False: "**no**"}.get(r.get("meets_target"), "–"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    if res.get("adam_profile"):
        lines.append("## Where Adam's time goes in mlp, batch 10 (relu + softmax)")
        lines.append("")
        lines.append("| sizes | params | mini-batch, SGD µs | momentum µs | Adam µs | adam/sgd "
                     "| Adam step alone µs | momentum step alone µs | NumPy's Adam step µs "
                     "| Adam step ns/param | Adam step GB/s | Adam step / Adam's extra |")
        lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for p in res["adam_profile"]:
            mb, st = p["minibatch_us"], p["step_alone_us"]
            share = p["adam_pass_share_of_extra"]
            lines.append(
                f"| {'-'.join(map(str, p['sizes']))} | {p['n_params']:,} | {mb['sgd']:.1f} | "
                f"{mb['momentum']:.1f} | {mb['adam']:.1f} | {p['adam_over_sgd']:.2f} | "
                f"{p['adam_pass_us']:.1f} | {p['momentum_pass_us']:.1f} | "
                f"{st['numpy_adam']:.1f} | {p['adam_pass_ns_per_param']:.2f} | "
                f"{p['adam_pass_gb_per_s']:.1f} | "
                + (f"{100 * share:.0f}%" if share is not None else "–") + " |")
        lines.append("")
        lines.append("Mini-batch times are an epoch's best time over its mini-batches (gather, "
                     "forward, backward and step). SGD fuses its update into the "
                     "weight-gradient product; momentum (0.9) and Adam write the mean "
                     "gradient to a buffer and then run an elementwise step. \"step alone\" "
                     "is `_core.apply_step` on a gradient of the network's size, less the "
                     "call's overhead (measured on a 2-parameter network, "
                     f"{res['adam_profile'][0]['step_alone_us']['call_overhead']:.2f} µs); "
                     "GB/s counts the 7 vectors it reads or writes (p, m, v, g read; p, m, v "
                     "written); the last column is the step's share of the time Adam's "
                     "mini-batch takes beyond SGD's.")
        lines.append("")
    sub = res.get("subnormal_moments")
    if sub:
        e1, e2 = sub["epochs"]
        lines.append(f"Adam on Fashion-MNIST [784, 100, 10], batch 10 (`partial_fit`): epoch 1 "
                     f"{e1['seconds']:.2f} s, epoch 2 {e2['seconds']:.2f} s; after epoch 2, "
                     f"{e2['subnormal_m']:,} of {sub['n_params']:,} first moments m are "
                     f"subnormal ({e1['subnormal_m']:,} after epoch 1; {e2['zero_m']:,} are "
                     f"zero). The compiled step with that state: {sub['step_us']:.0f} µs; with "
                     f"the subnormals flushed to zero: {sub['step_flushed_us']:.0f} µs.")
        lines.append("")
    vec = res.get("adam_kernel")
    if vec:
        lines.append("Square roots and divisions in the compiled Adam loop (`mlpk_adam_step`, "
                     f"objdump of {vec['file']}): " + "; ".join(
                         f"{clone}: " + ", ".join(f"{op} ×{n}" for op, n in sorted(ops.items()))
                         for clone, ops in vec["clones"].items()) + ".")
        lines.append("")

    lines.append("## Agreement check")
    lines.append("")
    lines.append("Largest parameter difference after one epoch from the same weights, rows "
                 f"in order (tolerance {res['check']['tolerance']:g} for mlp, numpy and "
                 "torch):")
    lines.append("")
    lines.append("| sizes | batch | rows | units | optimizer | mlp vs numpy | torch vs numpy | "
                 "torch (eps 1e-8) vs numpy | sklearn vs numpy |")
    lines.append("|---|--:|--:|---|---|--:|--:|--:|--:|")
    for c in res["check"]["cases"]:
        def g(key: str) -> str:
            return f"{c[key]:.1e}" if key in c else "–"
        lines.append(f"| {'-'.join(map(str, c['sizes']))} | {c['batch']} | {c['rows']} | "
                     f"{c['activation']} + {c['output']} | {c['optimizer']} | "
                     f"{g('mlp_vs_numpy')} | {g('torch_vs_numpy')} | "
                     f"{g('torch_eps_1e-8_vs_numpy')} | {g('sklearn_vs_numpy')} |")
    lines.append("")
    lines.append("torch's Adam is compared at epsilon 1e-300 (PyTorch adds epsilon to "
                 "sqrt(v/(1-b2^t)), mlp and scikit-learn to sqrt(v): with a negligible "
                 "epsilon the two agree); the eps 1e-8 column is the difference that "
                 "placement makes in one epoch.")
    lines.append("")
    lines.append("## BLAS libraries and environment")
    lines.append("")
    for b in res["blas"]:
        lines.append(f"- {b['internal_api']} {b['version']} ({b['architecture']}, "
                     f"{b['threading_layer']}), {b['file']}")
    if res.get("torch_blas"):
        lines.append(f"- PyTorch: {res['torch_blas']}")
    lines.append("- " + ", ".join(f"{v}={'not set' if env.get(v) is None else env[v]}"
                                  for v in ENV_VARS))
    la0, la1 = res["loadavg"]["start"], res["loadavg"]["end"]
    if la0 and la1:
        lines.append(f"- load average (1 min) at start {la0[0]:.2f}, at end {la1[0]:.2f}; "
                     f"total time {res['elapsed_seconds']:.0f} s")
    lines.append("")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark mlp's ReLU/tanh/softmax units and Adam against the seed's "
                    "sigmoid SGD, NumPy, PyTorch and scikit-learn.",
        epilog="Full run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
               "benchmarks/activations.py")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: [784,30,10] only, tiny data, one round")
    p.add_argument("--only", default=None,
                   help=f"comma-separated implementations from {','.join(IMPLEMENTATIONS)} "
                        "(default: all that import)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS (and torch) threads (default 1)")
    p.add_argument("--json", default=str(HERE / "results" / "activations.json"),
                   help="where to write the JSON (default benchmarks/results/activations.json)")
    p.add_argument("--markdown", default=None, help="also write the markdown report here")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed rounds per group, best taken (default 5; 1 with --quick)")
    p.add_argument("--extra-repeats", type=int, default=2,
                   help="more rounds while some configuration had no uncontended run "
                        "(default 2; 0 with --quick)")
    p.add_argument("--target-seconds", type=float, default=0.3,
                   help="rows per epoch so that the fastest configuration of a group takes "
                        "about this long (default 0.3)")
    p.add_argument("--max-rows", type=int, default=200_000)
    p.add_argument("--min-rows", type=int, default=10_000,
                   help="fewest rows for an implementation slower than mlp, unless that "
                        "takes more than --max-seconds (default 10,000)")
    p.add_argument("--max-seconds", type=float, default=2.0,
                   help="longest epoch --min-rows may ask of a slow implementation "
                        "(default 2)")
    p.add_argument("--shapes", default=None,
                   help="layer sizes to measure, e.g. 784-100-10,784-30-10 (the default)")
    p.add_argument("--batches", default="10,1,200",
                   help="batch-size groups to measure, from 10,1,200 (default all)")
    p.add_argument("--no-profile", action="store_true", help="skip the Adam profile")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.only is None:
        args.only_explicit, args.only = False, list(IMPLEMENTATIONS)
    else:
        args.only_explicit = True
        args.only = [t.strip() for t in args.only.split(",") if t.strip()]
        bad = [t for t in args.only if t not in IMPLEMENTATIONS]
        if bad or not args.only:
            p.error(f"--only takes names from {','.join(IMPLEMENTATIONS)}, got {bad or '[]'}")
    try:
        args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
        args.shapes = None if args.shapes is None else [
            [int(k) for k in t.split("-")] for t in args.shapes.split(",") if t.strip()]
    except ValueError:
        p.error("--batches takes integers, --shapes sizes such as 784-100-10")
    if not args.batches or set(args.batches) - {b for b, _ in GROUPS}:
        p.error(f"--batches takes values from {','.join(str(b) for b, _ in GROUPS)}")
    if args.shapes is not None and any(len(s) < 2 or s[0] != 784 or s[-1] != 10
                                       for s in args.shapes):
        p.error("--shapes: the data have 784 inputs and 10 classes, e.g. 784-100-10")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.repeats < 1 or args.threads < 1:
        p.error("--repeats and --threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    impls, skipped, versions = [], {}, {"mlp": mlp.__version__, "numpy": np.__version__}
    for name in args.only:
        ok, info = importable(name)
        if ok:
            impls.append(name)
            if name in ("torch", "sklearn"):
                versions[name] = info
        elif args.only_explicit:
            sys.exit(f"--only asks for {name}, but it is {info}")
        else:
            skipped[name] = info
    torch_blas = None
    if "torch" in impls:
        import torch

        torch_blas = ("MKL" if torch.backends.mkl.is_available() else "not MKL") + (
            f", {torch.__config__.parallel_info().splitlines()[-1].strip()}")
    env = {v: os.environ.get(v) for v in ENV_VARS}
    if any(env.get(v) is not None for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        print("note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; for the full benchmark "
              "run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
              "benchmarks/activations.py", file=sys.stderr)
    say(f"implementations: {', '.join(impls)}; {args.threads} thread(s); kernel level "
        f"{mlp.kernel_level()}")
    check = check_agreement(impls, args.seed, args.quick)
    say("agreement check passed (largest mlp-numpy difference "
        f"{max(c['mlp_vs_numpy'] for c in check['cases']):.2g})")

    shapes = args.shapes or (QUICK_SHAPES if args.quick else SHAPES)
    data = Data(2_000 if args.quick else args.max_rows, 784, 10, args.seed)
    with Threads(args.threads, "torch" in impls):  # calibration too: see README
        training = measure_training(impls, shapes, args, data, say)
        profile = [] if args.no_profile or "mlp" not in impls or 10 not in args.batches \
            else profile_adam(shapes, args, data, say)
        subnormal = None if args.no_profile or args.quick or "mlp" not in impls \
            else subnormal_moments(args, say)
    res = {
        "schema": 1,
        "started": started,
        "quick": args.quick,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "settings": {"threads": args.threads, "repeats": args.repeats,
                     "extra_repeats": args.extra_repeats,
                     "target_seconds": args.target_seconds, "max_rows": args.max_rows,
                     "min_rows": args.min_rows, "seed": args.seed,
                     "configs": {k: asdict(c) for k, c in CONFIGS.items()},
                     "betas": [BETA1, BETA2], "epsilon": EPSILON},
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "kernel_level": mlp.kernel_level(),
        "versions": versions,
        "mlp_source": mlp_source(),
        "implementations": impls,
        "skipped": skipped,
        "environment": env,
        "blas": blas_info(),
        "torch_blas": torch_blas,
        "check": check,
        "training": training,
        "ratios": ratios(training, impls),
        "adam_profile": profile,
        "adam_kernel": adam_vectorized(),
        "subnormal_moments": subnormal,
        "loadavg": {"start": load0,
                    "end": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }
    res["elapsed_seconds"] = time.perf_counter() - t_start
    report = markdown(res)
    print(report)
    json_path = Path(args.json)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(res, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(report)
    say(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
