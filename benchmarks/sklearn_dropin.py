"""Benchmark ``mlp.sklearn`` as a drop-in for scikit-learn's ``MLPClassifier``: the same
constructor arguments, the same data, in one run, fit and predict times of both, the
speed-ups against the issue's goals, and whether the fitted models are the same.

Run the full benchmark from the repository root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/sklearn_dropin.py

(the ``env -u`` lets OpenBLAS pick its own kernel for the CPU; see benchmarks/README.md;
this script never changes these variables, it reports them). A smoke run, a few seconds::

    python benchmarks/sklearn_dropin.py --quick

What it measures (benchmarks/README.md has the details):

* fit time, ``max_iter`` epochs (3; ``tol=0`` and ``n_iter_no_change`` above ``max_iter``,
  so that both always run all of them; ``n_iter_`` is checked), on the first ``--rows``
  (20,000) Fashion-MNIST training images (pixel / 255), for: scikit-learn's defaults
  (``MLPClassifier()``: (100,), relu, adam, batch 200); logistic + sgd + batch 10 with the
  default momentum (0.9, Nesterov); the same with ``momentum=0``;
* ``predict`` and ``predict_proba`` on the 10,000 test images, with the defaults' model;
* accuracy of both on the test images, their difference, the share of equal predictions
  and the largest difference between their ``coefs_`` (the drop-in draws the same random
  numbers, so it should fit the same model);
* for the batch-200 case the GFLOP/s of each fit, 6 * sum(n_in * n_out) FLOPs per sample
  per epoch, as a share of NumPy's dgemm rate on the batch's largest product
  (200 x 784 times 784 x 100) and on 2048 x 2048, measured in the same run.

BLAS runs at ``--threads`` (1) thread for both. The two implementations alternate in
rounds (A B, B A, ...); each figure is the best of ``--rounds`` rounds (of the rounds no
other process disturbed, if any). Without Fashion-MNIST (Debian's
``dataset-fashion-mnist``) it falls back to the digits scaled up to 28 x 28 and says so.

Until ``mlp.sklearn.MLPClassifier`` takes scikit-learn's parameters, scikit-learn's
class stands in for it (and the report says so in bold); ``--self-check`` forces that.

Prints a markdown report and writes JSON (``--json``, default
benchmarks/results/sklearn_dropin.json, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from activations import FASHION, interleaved  # noqa: E402
from bench import (  # noqa: E402  (it exits with a message without threadpoolctl or mlp)
    ENV_VARS,
    Threads,
    best_of,
    blas_info,
    cpu_model,
    dgemm_rates,
    mlp_source,
    predict_flops,
    train_flops,
)

import mlp  # noqa: E402
from mlp.datasets import load_digits, load_idx  # noqa: E402

try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/sklearn_dropin.py needs scikit-learn: pip install scikit-learn")


@dataclass(frozen=True)
class Case:
    """One set of MLPClassifier arguments, timed in both implementations."""

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    goal: float | None = None  # the speed-up goal (mlp over scikit-learn)

    @property
    def batch(self) -> int:
        return self.params.get("batch_size", 200)


CASES = [
    Case("defaults", "MLPClassifier(): (100,), relu, adam, batch 200", {}, 2.0),
    Case("sgd_b10", "logistic, sgd, batch 10, momentum 0.9 (Nesterov)",
         {"activation": "logistic", "solver": "sgd", "batch_size": 10}, 10.0),
    Case("seed_b10", "logistic, sgd, batch 10, momentum 0 (the seed's plain SGD)",
         {"activation": "logistic", "solver": "sgd", "batch_size": 10, "momentum": 0.0}, 10.0),
]
PREDICT_GOAL = 1.5
PREDICT_METHODS = ["predict", "predict_proba"]
IMPLS = ["mlp", "sklearn"]
#: the largest product of a batch-200 step through [784, 100, 10] (forward, first layer)
GEMM_SHAPE = (200, 784, 100)


# --- the implementations ------------------------------------------------------------------


def our_classifier(self_check: bool) -> tuple[type, str | None]:
    """mlp.sklearn.MLPClassifier, or scikit-learn's class standing in for it, and why."""
    if self_check:
        return SkMLPClassifier, "--self-check"
    try:
        from mlp.sklearn import MLPClassifier
    except ImportError as exc:
        return SkMLPClassifier, f"mlp.sklearn does not import ({exc})"
    missing = sorted(set(SkMLPClassifier().get_params()) - set(MLPClassifier().get_params()))
    if missing:
        return SkMLPClassifier, ("mlp.sklearn.MLPClassifier does not take scikit-learn's "
                                 f"parameters yet (no {', '.join(missing)})")
    return MLPClassifier, None


class FitRunner:
    """``epoch`` (the name activations.interleaved calls) is one whole ``fit``."""

    def __init__(self, cls: type, params: dict[str, Any]) -> None:
        self.cls, self.params = cls, params
        self.model: Any = None

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.model = self.cls(**self.params).fit(X, y)


class CallRunner:
    """``calls`` calls of ``model.<method>(X)`` per timed run."""

    def __init__(self, model: Any, method: str, calls: int) -> None:
        self.fn, self.calls = getattr(model, method), calls

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        for _ in range(self.calls):
            self.fn(X)


class Rows:
    """The data as activations.interleaved asks for it (a bench.Data in its signature):
    ``rows(n)``, a prefix."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def rows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.X[:n], self.y[:n]


# --- data -------------------------------------------------------------------------------


def fashion(rows: int, test_rows: int) -> dict[str, Any]:
    """The first ``rows`` training and ``test_rows`` test images, pixel / 255."""
    X, y = load_idx(FASHION, kind="train")
    Xt, yt = load_idx(FASHION, kind="test")
    assert y is not None and yt is not None  # a folder always gives the labels
    return {"source": f"Fashion-MNIST ({FASHION})", "X": X[:rows] / 255.0, "y": y[:rows],
            "Xt": Xt[:test_rows] / 255.0, "yt": yt[:test_rows]}


def digits_784(rows: int, test_rows: int) -> dict[str, Any]:
    """The fallback: the digits, each pixel 3 x 3 and a 2-pixel border (28 x 28), / 16;
    a seed-0 split of 450 test and 1,347 training images, each repeated to the rows asked."""
    X, y = load_digits()
    img = np.kron(X.reshape(-1, 8, 8), np.ones((3, 3)))
    X = np.pad(img, ((0, 0), (2, 2), (2, 2))).reshape(len(X), 784) / 16.0
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:450], order[450:]
    tr, te = train[np.arange(rows) % len(train)], test[np.arange(test_rows) % len(test)]
    return {"source": "FALLBACK: the digits scaled up to 28 x 28 and tiled (no Fashion-MNIST)",
            "X": X[tr], "y": y[tr], "Xt": X[te], "yt": y[te]}


def load_data(rows: int, test_rows: int, say) -> dict[str, Any]:
    try:
        data = fashion(rows, test_rows)
    except (OSError, ValueError) as exc:  # not installed (FileNotFoundError), or damaged
        say(f"Fashion-MNIST not usable ({exc}); install it with apt-get install "
            "dataset-fashion-mnist. Falling back to the digits scaled up to 784 pixels.")
        data = digits_784(rows, test_rows)
    data["X"], data["Xt"] = np.ascontiguousarray(data["X"]), np.ascontiguousarray(data["Xt"])
    say(f"data: {data['source']}: {len(data['X']):,} training, {len(data['Xt']):,} test rows")
    return data


# --- measurements --------------------------------------------------------------------------


def fit_params(case: Case, args: argparse.Namespace) -> dict[str, Any]:
    """The case's arguments plus a fixed number of epochs: tol=0 and n_iter_no_change above
    max_iter, so that the stopping rule on the training loss can never end a fit early."""
    return {**case.params, "max_iter": args.epochs, "tol": 0.0,
            "n_iter_no_change": args.epochs + 1, "random_state": args.seed}


def summarise(cell: dict[str, Any], work: float) -> dict[str, Any]:
    """An activations.interleaved cell with its median time and ``work`` per second."""
    cell = dict(cell)
    cell["median_seconds"] = statistics.median(r["seconds"] for r in cell["runs"])
    cell["per_second"] = work / cell["best_seconds"]
    return cell


def speedup(cells: dict[str, dict[str, Any]]) -> dict[str, float]:
    """sklearn's time over mlp's (above 1: mlp is faster), of the best and the medians."""
    m, s = cells["mlp"], cells["sklearn"]
    return {"best": s["best_seconds"] / m["best_seconds"],
            "median": s["median_seconds"] / m["median_seconds"]}


def measure_fit(case: Case, classes: dict[str, type], data: dict[str, Any],
                args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case's record and the fitted models (of the last round)."""
    params = fit_params(case, args)
    runners = {name: FitRunner(classes[name], params) for name in IMPLS}
    X, y = data["X"], data["y"]
    rows: Any = Rows(X, y)
    cells = interleaved(runners, rows, len(X), case.batch, args.rounds, args.threads,
                        args.extra_rounds)
    out: dict[str, Any] = {"case": case.name, "label": case.label, "params": params,
                           "rows": len(X), "goal": case.goal, "results": {}}
    for name, runner in runners.items():
        model = runner.model
        sizes = [c.shape[0] for c in model.coefs_] + [model.coefs_[-1].shape[1]]
        cell = summarise(cells[name], len(X) * model.n_iter_)  # samples x epochs per s
        cell["n_iter"] = model.n_iter_
        cell["gflops"] = cell["per_second"] * train_flops(sizes) / 1e9
        out["results"][name], out["sizes"] = cell, sizes
    out["speedup"] = speedup(out["results"])
    return out, {name: runner.model for name, runner in runners.items()}


def largest_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    if [x.shape for x in a] != [x.shape for x in b]:
        return None
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def compare(models: dict[str, Any], Xt: np.ndarray, yt: np.ndarray) -> dict[str, Any]:
    """Accuracy of both on the test rows and how far apart the two fitted models are."""
    m, s = models["mlp"], models["sklearn"]
    pm, ps = m.predict(Xt), s.predict(Xt)
    acc_m, acc_s = float(np.mean(pm == yt)), float(np.mean(ps == yt))
    return {"accuracy": {"mlp": acc_m, "sklearn": acc_s}, "difference": acc_m - acc_s,
            "same_predictions": float(np.mean(pm == ps)),
            "coefs_max_abs_diff": largest_difference(m.coefs_, s.coefs_),
            "intercepts_max_abs_diff": largest_difference(m.intercepts_, s.intercepts_),
            "proba_max_abs_diff": float(np.max(np.abs(m.predict_proba(Xt)
                                                      - s.predict_proba(Xt)))),
            "n_iter": {"mlp": m.n_iter_, "sklearn": s.n_iter_}}


def measure_predict(models: dict[str, Any], sizes: list[int], data: dict[str, Any],
                    args: argparse.Namespace) -> list[dict[str, Any]]:
    Xt, yt = data["Xt"], data["yt"]
    rows: Any = Rows(Xt, yt)
    out = []
    for method in PREDICT_METHODS:
        runners = {name: CallRunner(models[name], method, args.calls) for name in IMPLS}
        cells = interleaved(runners, rows, len(Xt), 200, args.rounds, args.threads,
                            args.extra_rounds)
        rec: dict[str, Any] = {"method": method, "rows": len(Xt), "calls": args.calls,
                               "goal": PREDICT_GOAL, "results": {}}
        for name in IMPLS:
            cell = summarise(cells[name], len(Xt) * args.calls)  # rows per second
            cell["ms_per_call"] = 1e3 * cell["best_seconds"] / args.calls
            cell["gflops"] = cell["per_second"] * predict_flops(sizes) / 1e9
            rec["results"][name] = cell
        rec["speedup"] = speedup(rec["results"])
        out.append(rec)
    return out


def gemm_rate(threads: int, repeats: int, extra: int, seed: int) -> dict[str, Any]:
    """NumPy's float64 matmul on GEMM_SHAPE, 100 products per timed run, best of repeats."""
    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(seed)
    a, b, c = rng.random((m, k)), rng.random((k, n)), np.empty((m, n))

    def run(_: int) -> None:
        for _ in range(100):
            np.matmul(a, b, out=c)

    run(0)
    best, _ = best_of(run, repeats, threads, 10.0, extra)
    return {"shape": [m, k, n], "gflops": 100 * 2.0 * m * k * n / best["seconds"] / 1e9,
            "contended": best["contended"]}


def machine_rates(args: argparse.Namespace) -> dict[str, Any]:
    size, reps = (1024, 1) if args.quick else (2048, 5)
    square = dgemm_rates([args.threads], size, reps, args.extra_rounds, args.seed)[0]
    return {"square": square,
            "gemm": gemm_rate(args.threads, reps, args.extra_rounds, args.seed)}


def best_rates(first: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    """The better of the start's and the end's rates (a disturbance only lowers a rate)."""
    if last is None:
        return first
    best: dict[str, Any] = {"square": dict(first["square"]), "gemm": dict(first["gemm"])}
    for part, key in (("square", "numpy_gflops"), ("square", "scipy_gflops"),
                      ("gemm", "gflops")):
        best[part][key] = max(first[part][key], last[part][key])
    best["measurements"] = [first, last]
    return best


def goals(fits: list[dict[str, Any]], preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [(f["label"], f["goal"], f["speedup"]["best"]) for f in fits if f["goal"]]
    rows += [(p["method"], p["goal"], p["speedup"]["best"]) for p in preds]
    return [{"what": what, "goal": goal, "speedup": s, "met": s >= goal}
            for what, goal, s in rows]


# --- the report ----------------------------------------------------------------------------


def table(head: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` gives ':' placement per column ('l' or 'r', default r
    after the first column)."""
    align = align or "l" + "r" * (len(head) - 1)
    rule = "|" + "|".join("---" if a == "l" else "--:" for a in align) + "|"
    return (["| " + " | ".join(head) + " |", rule]
            + ["| " + " | ".join(r) + " |" for r in rows] + [""])


def star(cell: dict[str, Any]) -> str:
    return "*" if cell["contended"] else ""


def header_lines(res: dict[str, Any]) -> list[str]:
    m, s = res["machine"], res["settings"]
    lines = ["# mlp.sklearn against sklearn.neural_network", "",
             f"{res['started']} · {m['cpu']} · {m['cpus']} CPUs · mlp kernel level "
             f"{res['kernel_level']} · Python {m['python']} · mode: "
             f"{'quick' if res['quick'] else 'full'}", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()), ""]
    src = res["mlp_source"]
    lines += [f"mlp from {src.get('file')}" + (f", commit {src['commit']}" if "commit" in src
                                               else "")
              + (" with uncommitted changes" if src.get("uncommitted_changes") else ""), ""]
    if res["standin"]:
        lines += [f"**mlp is NOT measured: scikit-learn's MLPClassifier stands in for "
                  f"mlp.sklearn ({res['standin']}). Every ratio below compares scikit-learn "
                  f"with itself; the goals' verdicts mean nothing.**", ""]
    lines += [f"Data: {res['data']}; {s['rows']:,} training rows, {s['test_rows']:,} test "
              f"rows, {s['epochs']} epochs per fit.", ""]
    lines += [f"Method: BLAS pinned to {s['threads']} thread(s) for both (threadpoolctl "
              f"`threadpool_limits`, every pool). The two implementations alternate in "
              f"rounds (A B, then B A, ...); each time is the **best** of {s['rounds']} "
              f"round(s) (of the rounds no other process disturbed, if any; `*` marks a "
              f"figure with no such round); the median's ratio is shown too. "
              f"ConvergenceWarning is silenced (the fits stop at max_iter on purpose).", ""]
    return lines + env_lines(res["environment"])


def env_lines(env: dict[str, Any]) -> list[str]:
    forced = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if env.get(v) is not None]
    if not forced:
        return ["OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: not set (OpenBLAS picks its kernel "
                "for this CPU).", ""]
    return ["**Note: " + ", ".join(f"{v}={env[v]}" for v in forced) + " is set: OpenBLAS "
            "runs the kernel it forces. For the full run use `env -u OPENBLAS_CORETYPE -u "
            "OPENBLAS_L2_SIZE python benchmarks/sklearn_dropin.py`.**", ""]


def fit_lines(res: dict[str, Any]) -> list[str]:
    rows = []
    for f in res["fits"]:
        m, s = f["results"]["mlp"], f["results"]["sklearn"]
        rows.append([f["label"], f"{m['best_seconds']:.3f}{star(m)}",
                     f"{s['best_seconds']:.3f}{star(s)}", f"{f['speedup']['best']:.2f}×",
                     f"{f['speedup']['median']:.2f}×", f"≥ {f['goal']:g}×",
                     f"{m['n_iter']} / {s['n_iter']}"])
    head = ["fit", "mlp s", "sklearn s", "mlp/sklearn speed-up", "(medians)", "goal",
            "n_iter_ mlp / sklearn"]
    return ["## Fit", ""] + table(head, rows)


def gflops_lines(res: dict[str, Any]) -> list[str]:
    f = next(f for f in res["fits"] if f["case"] == "defaults")
    r = res["rates"]
    gemm, sq = r["gemm"]["gflops"], r["square"]["numpy_gflops"]
    rows = [[name, f"{c['gflops']:.2f}", f"{100 * c['gflops'] / gemm:.1f}%",
             f"{100 * c['gflops'] / sq:.1f}%"] for name, c in f["results"].items()]
    shape = "×".join(map(str, r["gemm"]["shape"]))
    size = r["square"]["size"]
    lines = [f"## Batch 200 (defaults): achieved GFLOP/s, {'-'.join(map(str, f['sizes']))}",
             ""]
    lines += table(["", "GFLOP/s", f"% of dgemm {shape}", f"% of dgemm {size}²"], rows)
    return lines + [
        f"FLOPs: 6·Σ n_in·n_out = {train_flops(f['sizes']):,} per sample per epoch (forward, "
        f"delta and weight-gradient products, as bench.py counts; elementwise work, the "
        f"Adam step and the loss not counted; the input layer's delta product, "
        f"2·{f['sizes'][0]}·{f['sizes'][1]} of them, is counted though neither needs it). "
        f"dgemm: NumPy float64 matmul at {res['settings']['threads']} thread(s), "
        f"{gemm:.1f} GFLOP/s on {shape} (m×k×n, the batch's largest product) and {sq:.1f} "
        f"GFLOP/s on {size}² (SciPy's BLAS: {r['square']['scipy_gflops']:.1f})"
        + ("" if res["quick"] else ", the better of the start and the end of the run") + ".",
        ""]


def accuracy_lines(res: dict[str, Any]) -> list[str]:
    rows = []
    for f in res["fits"]:
        c = f["compare"]
        coefs = c["coefs_max_abs_diff"]
        rows.append([f["label"], f"{c['accuracy']['mlp']:.4f}",
                     f"{c['accuracy']['sklearn']:.4f}", f"{c['difference']:+.4f}",
                     f"{100 * c['same_predictions']:.2f}%",
                     "shapes differ" if coefs is None else f"{coefs:.3g}",
                     f"{c['proba_max_abs_diff']:.3g}"])
    head = ["model", "mlp accuracy", "sklearn accuracy", "difference", "same predictions",
            "max |Δ coefs_|", "max |Δ predict_proba|"]
    return [f"## Accuracy on the {res['settings']['test_rows']:,} test rows", ""] + table(
        head, rows)


def predict_lines(res: dict[str, Any]) -> list[str]:
    rows = []
    for p in res["predictions"]:
        m, s = p["results"]["mlp"], p["results"]["sklearn"]
        rows.append([p["method"], f"{m['ms_per_call']:.2f}{star(m)}",
                     f"{s['ms_per_call']:.2f}{star(s)}", f"{p['speedup']['best']:.2f}×",
                     f"{p['speedup']['median']:.2f}×", f"≥ {p['goal']:g}×"])
    n = res["predictions"][0]
    return [f"## Predict: {n['rows']:,} rows, the defaults' model, {n['calls']} call(s) "
            "per timed run", ""] + table(
        ["method", "mlp ms", "sklearn ms", "speed-up", "(medians)", "goal"], rows)


def goal_lines(res: dict[str, Any]) -> list[str]:
    mark = " (stand-in)" if res["standin"] else ""
    rows = [[g["what"], f"≥ {g['goal']:g}×", f"{g['speedup']:.2f}×",
             ("met" if g["met"] else "not met") + mark] for g in res["goals"]]
    return ["## The issue's goals", ""] + table(["goal", "target", "measured", "status"],
                                                 rows)


def blas_lines(res: dict[str, Any]) -> list[str]:
    rows = [[b["user_api"], b["internal_api"], b["version"] or "–", b["architecture"] or "–",
             b["threading_layer"] or "–", str(b["num_threads"]), b["file"]]
            for b in res["blas"]]
    env = [[v, "not set" if res["environment"].get(v) is None else res["environment"][v]]
           for v in ENV_VARS]
    return (["## BLAS libraries (threadpoolctl.threadpool_info())", "",
             "num_threads is each library's default; every measurement ran under "
             f"threadpool_limits({res['settings']['threads']}).", ""]
            + table(["user_api", "internal_api", "version", "architecture", "threading",
                     "num_threads", "file"], rows, "lllllrl")
            + ["## Environment", ""] + table(["variable", "value"], env, "ll")
            + [f"Total time {res['elapsed_seconds']:.1f} s.", ""])


def markdown(res: dict[str, Any]) -> str:
    parts = [header_lines, fit_lines, gflops_lines, accuracy_lines, predict_lines,
             goal_lines, blas_lines]
    return "\n".join(line for part in parts for line in part(res))


# --- main -------------------------------------------------------------------------------


#: option -> (its value with --quick, without); calls: predict calls per timed run
DEFAULTS = {"rows": (2_000, 20_000), "test_rows": (1_000, 10_000), "epochs": (2, 3),
            "rounds": (1, 5), "extra_rounds": (0, 2), "calls": (1, 5)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark mlp.sklearn.MLPClassifier against scikit-learn's.",
        epilog="Full run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
               "benchmarks/sklearn_dropin.py")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2,000 rows, 1,000 test rows, 2 epochs, one round")
    p.add_argument("--rows", type=int, help="training rows (default 20,000)")
    p.add_argument("--test-rows", type=int, help="test rows, for accuracy and predict "
                                                 "(default 10,000)")
    p.add_argument("--epochs", type=int, help="max_iter of every fit (default 3)")
    p.add_argument("--rounds", type=int, help="interleaved rounds, best taken (default 5)")
    p.add_argument("--extra-rounds", type=int,
                   help="more rounds while an implementation has no undisturbed one "
                        "(default 2; 0 with --quick)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--calls", type=int,
                   help="predict/predict_proba calls per timed run (default 5; 1 with "
                        "--quick)")
    p.add_argument("--self-check", action="store_true",
                   help="scikit-learn against itself (what runs until mlp.sklearn is the "
                        "drop-in)")
    p.add_argument("--seed", type=int, default=0, help="random_state of every fit")
    p.add_argument("--json", default=str(HERE / "results" / "sklearn_dropin.json"),
                   help="where the JSON goes (default benchmarks/results/sklearn_dropin.json)")
    p.add_argument("--markdown", help="also write the markdown report here")
    args = p.parse_args(argv)
    for key, (quick, full) in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if min(args.rows, args.test_rows, args.epochs, args.rounds, args.threads, args.calls) < 1:
        p.error("--rows, --test-rows, --epochs, --rounds, --threads and --calls must be >= 1")
    return args


def versions() -> dict[str, str]:
    import scipy
    import threadpoolctl

    return {"mlp": mlp.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "threadpoolctl": threadpoolctl.__version__}


def measure(args: argparse.Namespace, classes: dict[str, type], data: dict[str, Any],
            say) -> dict[str, Any]:
    """Everything timed, with BLAS at args.threads."""
    with Threads(args.threads, use_torch=False):
        first = machine_rates(args)
        say(f"dgemm {first['gemm']['gflops']:.1f} GFLOP/s on {GEMM_SHAPE}, "
            f"{first['square']['numpy_gflops']:.1f} on {first['square']['size']}²")
        fits, fitted = [], {}
        for case in CASES:
            f, fitted[case.name] = measure_fit(case, classes, data, args)
            f["compare"] = compare(fitted[case.name], data["Xt"], data["yt"])
            say(f"fit {case.name}: mlp {f['results']['mlp']['best_seconds']:.3f} s, sklearn "
                f"{f['results']['sklearn']['best_seconds']:.3f} s")
            fits.append(f)
        preds = measure_predict(fitted["defaults"], fits[0]["sizes"], data, args)
        say("predict: " + ", ".join(f"{p['method']} {p['speedup']['best']:.2f}×"
                                    for p in preds))
        last = None if args.quick else machine_rates(args)
    return {"fits": fits, "predictions": preds, "rates": best_rates(first, last)}


def check_epochs(fits: list[dict[str, Any]], epochs: int, say) -> None:
    for f in fits:
        n = {name: cell["n_iter"] for name, cell in f["results"].items()}
        if set(n.values()) != {epochs}:
            say(f"WARNING: {f['case']}: n_iter_ {n}, not {epochs} each: the fit times "
                "cover different numbers of epochs")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    ours, standin = our_classifier(args.self_check)
    if standin:
        say(f"STAND-IN: scikit-learn's MLPClassifier plays mlp ({standin})")
    env = {v: os.environ.get(v) for v in ENV_VARS}
    if env.get("OPENBLAS_CORETYPE") is not None or env.get("OPENBLAS_L2_SIZE") is not None:
        say("note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; for the full benchmark run "
            "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/sklearn_dropin.py")
    data = load_data(args.rows, args.test_rows, say)
    measured = measure(args, {"mlp": ours, "sklearn": SkMLPClassifier}, data, say)
    check_epochs(measured["fits"], args.epochs, say)
    res = record(args, argv, started, ours, standin, data["source"], env, measured)
    res["elapsed_seconds"] = time.perf_counter() - t_start
    write(res, args, say)
    return 0


def record(args: argparse.Namespace, argv: list[str] | None, started: str, ours: type,
           standin: str | None, source: str, env: dict[str, Any],
           measured: dict[str, Any]) -> dict[str, Any]:
    """Everything the report and the JSON file show."""
    keys = ("rows", "test_rows", "epochs", "rounds", "extra_rounds", "threads", "calls",
            "seed", "self_check")
    return {
        "schema": 1, "started": started, "quick": args.quick,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "settings": {k: getattr(args, k) for k in keys},
        "standin": standin, "mlp_class": f"{ours.__module__}.{ours.__qualname__}",
        "data": source,
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "kernel_level": mlp.kernel_level(), "versions": versions(),
        "mlp_source": mlp_source(), "environment": env, "blas": blas_info(),
        **measured, "goals": goals(measured["fits"], measured["predictions"]),
    }


def write(res: dict[str, Any], args: argparse.Namespace, say) -> None:
    report = markdown(res)
    print(report)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1, default=str) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(report)
    say(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
