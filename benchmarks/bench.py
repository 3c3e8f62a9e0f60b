"""Benchmark mlp's training and prediction against a NumPy reference (and, when installed,
PyTorch and scikit-learn), together with the machine's dgemm rate, in one run.

Run the full benchmark from the repository root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py

The ``env -u`` matters on machines whose environment sets ``OPENBLAS_CORETYPE`` (and
``OPENBLAS_L2_SIZE``): they force OpenBLAS onto an older kernel (Haswell, say) instead of
the one it would pick for this CPU, which changes every BLAS-bound figure. This script
never changes them itself; it reports whether they were set and which kernel each BLAS
library actually ran ("BLAS libraries" in the output).

A smoke run (a few seconds; used by CI)::

    python benchmarks/bench.py --quick

What it measures (see benchmarks/README.md for the columns):

* training: samples/s of one epoch of mini-batch SGD (eta 0.1) on random data (X uniform
  in [0, 1), one-hot targets) for the problems A [784,30,10] batch 10, B [784,100,10]
  batch 10, C [784,512,512,10] batch 128, D [784,30,10] batch 1; for mlp
  (``MLP.fit(epochs=1)``), the NumPy reference (``reference_numpy.py``) and, if
  importable, PyTorch (float64, autograd, a plain SGD step of eta/m times the summed
  gradient) and scikit-learn (``MLPRegressor``, SGD, logistic hidden units); each at every
  ``--threads`` count. The number of rows is chosen so that an mlp epoch takes about
  ``--target-seconds``; slower implementations get fewer rows (never fewer than
  ``--min-rows``, never more than mlp's). Best of ``--repeats`` timed epochs after a
  warm-up;
* prediction: samples/s of ``predict`` on 10,000 x 784 through [784,100,10] (mlp and
  the reference) and the median latency of a one-sample ``predict``;
* dgemm: GFLOP/s of ``a @ b`` on 2048 x 2048 float64 through NumPy (and through SciPy's
  BLAS, the one mlp calls), at every thread count, best of 5, measured at the start and
  at the end of the run (the better one is reported).

Before timing it checks that mlp and the NumPy reference (and PyTorch, if measured) give
the same parameters, to 1e-10, after one epoch from the same weights in the same order,
and the same predictions; it exits with status 2 if they do not.

Prints a markdown report and writes the same data as JSON (``--json``).
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
from pathlib import Path
from typing import Any, Callable

import numpy as np

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/bench.py needs threadpoolctl: pip install threadpoolctl")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from reference_numpy import NumpyMLP  # noqa: E402

try:
    import mlp
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/bench.py needs mlp installed: pip install -e . (from the repo root)")

PROBLEMS: dict[str, tuple[list[int], int]] = {
    "A": ([784, 30, 10], 10),
    "B": ([784, 100, 10], 10),
    "C": ([784, 512, 512, 10], 128),
    "D": ([784, 30, 10], 1),
}
QUICK_PROBLEMS = ["A", "D"]
IMPLEMENTATIONS = ["mlp", "numpy", "torch", "sklearn"]
PREDICT_SIZES = [784, 100, 10]
ENV_VARS = [
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
]
TOLERANCE = 1e-10
ETA = 0.1


def train_flops(sizes: list[int]) -> int:
    """FLOPs of one training sample: forward, delta and weight-gradient GEMMs."""
    return 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def predict_flops(sizes: list[int]) -> int:
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


# --- the machine's load -----------------------------------------------------------------


class CpuMeter:
    """CPU time spent by *other* processes while a measurement ran, as a % of the cores.

    From /proc/stat (busy jiffies of the whole machine, steal included) minus this
    process's own CPU time. None where /proc/stat is missing or the run was too short for
    its clock ticks (under about 0.1 s). A large figure means the measurement shared the
    cores and is unreliable.
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.ncpu = os.cpu_count() or 1

    @staticmethod
    def _busy() -> float | None:
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()
        except OSError:
            return None
        # user nice system idle iowait irq softirq steal (guest is inside user)
        v = [int(x) for x in fields[1:9]]
        return float(v[0] + v[1] + v[2] + v[5] + v[6] + v[7])

    def start(self) -> tuple[float | None, float, float]:
        return self._busy(), time.process_time(), time.perf_counter()

    def stop(self, started: tuple[float | None, float, float]) -> float | None:
        busy0, cpu0, t0 = started
        busy1, cpu1, t1 = self._busy(), time.process_time(), time.perf_counter()
        if busy0 is None or busy1 is None or (t1 - t0) * self.ncpu * self.tick < 20:
            return None  # no /proc/stat, or too short a run for its clock ticks
        other = (busy1 - busy0) / self.tick - (cpu1 - cpu0)
        return max(0.0, 100.0 * other / ((t1 - t0) * self.ncpu))


METER = CpuMeter()


# --- data -------------------------------------------------------------------------------


class Data:
    """Random inputs (uniform [0, 1)) and one-hot targets, generated as far as needed."""

    def __init__(self, max_rows: int, n_in: int, n_out: int, seed: int) -> None:
        self.X = np.empty((max_rows, n_in))  # untouched pages cost no memory
        self.Y = np.zeros((max_rows, n_out))
        self.filled = 0
        self.rng = np.random.default_rng(seed)

    def rows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.X.shape[0])
        if n > self.filled:
            lo = self.filled
            self.rng.random(out=self.X[lo:n])
            labels = self.rng.integers(0, self.Y.shape[1], n - lo)
            self.Y[np.arange(lo, n), labels] = 1.0
            self.filled = n
        return self.X[:n], self.Y[:n]


# --- implementations --------------------------------------------------------------------
# Each runner is built from initial weights (W as (n_in, n_out)) and biases and exposes
# epoch(X, Y, seed) -> dict of extra figures; the caller times it.


class MlpRunner:
    name = "mlp"

    def __init__(self, weights, biases, batch: int, eta: float, threads: int) -> None:
        self.net = mlp.MLP.from_weights(weights, biases)
        self.batch, self.eta = batch, eta

    def epoch(self, X, Y, seed: int) -> dict[str, Any]:
        hist = self.net.fit(
            X, Y, epochs=1, batch_size=self.batch, eta=self.eta, shuffle=True, seed=seed
        )
        try:
            return {"epoch_seconds": float(hist[-1]["seconds"])}
        except (KeyError, IndexError, TypeError):
            return {}


class NumpyRunner:
    name = "numpy"

    def __init__(self, weights, biases, batch: int, eta: float, threads: int) -> None:
        self.net = NumpyMLP(weights, biases)
        self.batch, self.eta = batch, eta

    def epoch(self, X, Y, seed: int) -> dict[str, Any]:
        order = np.random.default_rng(seed).permutation(X.shape[0])
        self.net.fit_epoch(X, Y, self.batch, self.eta, order)
        return {}


class TorchRunner:
    """PyTorch, float64: sigmoid(addmm) layers, loss 1/2 sum (a - y)^2, autograd, and a
    plain SGD step p -= eta/m * grad. Rows gathered with index_select(out=)."""

    name = "torch"

    def __init__(self, weights, biases, batch: int, eta: float, threads: int) -> None:
        import torch

        self.torch = torch  # thread count: set by the caller (Threads)
        self.params = []
        for W, b in zip(weights, biases):
            self.params.append(torch.tensor(np.array(W), dtype=torch.float64, requires_grad=True))
            self.params.append(torch.tensor(np.array(b), dtype=torch.float64, requires_grad=True))
        self.batch, self.eta = batch, eta

    def weights_biases(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        arrs = [p.detach().numpy().copy() for p in self.params]
        return arrs[0::2], arrs[1::2]

    def epoch(self, X, Y, seed: int, order: np.ndarray | None = None) -> dict[str, Any]:
        torch = self.torch
        n = X.shape[0]
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        if order is None:
            gen = torch.Generator().manual_seed(seed)
            idx_all = torch.randperm(n, generator=gen)
        else:
            idx_all = torch.from_numpy(np.asarray(order, dtype=np.int64))
        batch = min(self.batch, n)
        xbuf = torch.empty((batch, X.shape[1]), dtype=torch.float64)
        ybuf = torch.empty((batch, Y.shape[1]), dtype=torch.float64)
        params = self.params
        layers = list(zip(params[0::2], params[1::2]))
        for lo in range(0, n, batch):
            idx = idx_all[lo : lo + batch]
            m = idx.shape[0]
            xb = torch.index_select(Xt, 0, idx, out=xbuf[:m])
            yb = torch.index_select(Yt, 0, idx, out=ybuf[:m])
            a = xb
            for W, b in layers:
                a = torch.sigmoid(torch.addmm(b, a, W))
            loss = 0.5 * torch.sum((a - yb) ** 2)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                step = self.eta / m
                for p, g in zip(params, grads):
                    p.sub_(g, alpha=step)
        return {}


class SklearnRunner:
    """scikit-learn's MLPRegressor: SGD without momentum or L2, logistic hidden units.
    Not the same math as the others: its output layer is linear (identity) and its loss
    and gradients are means over the batch (so learning_rate_init = eta gives the same
    step size); it also evaluates the loss of every mini-batch."""

    name = "sklearn"

    def __init__(self, weights, biases, batch: int, eta: float, threads: int) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        self.ConvergenceWarning = ConvergenceWarning
        hidden = tuple(W.shape[1] for W in weights[:-1])
        self.model = MLPRegressor(
            hidden_layer_sizes=hidden,
            activation="logistic",
            solver="sgd",
            batch_size=batch,
            learning_rate="constant",
            learning_rate_init=eta,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            max_iter=1,
            shuffle=True,
            early_stopping=False,
            random_state=0,
        )
        self.weights, self.biases = weights, biases
        self.fitted = False

    def epoch(self, X, Y, seed: int) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.ConvergenceWarning)
            if not self.fitted:
                # fit() initialises (its own weights, replaced by ours) and runs an epoch;
                # later epochs are partial_fit(), one shuffled pass each, no re-init.
                self.model.fit(X, Y)
                for dst, src in zip(self.model.coefs_, self.weights):
                    dst[...] = src
                for dst, src in zip(self.model.intercepts_, self.biases):
                    dst[...] = src
                self.fitted = True
            else:
                self.model.partial_fit(X, Y)
        return {}


RUNNERS: dict[str, type] = {
    "mlp": MlpRunner,
    "numpy": NumpyRunner,
    "torch": TorchRunner,
    "sklearn": SklearnRunner,
}


def importable(name: str) -> tuple[bool, str]:
    """(available, version or reason)."""
    if name in ("mlp", "numpy"):
        return True, mlp.__version__ if name == "mlp" else np.__version__
    module = {"torch": "torch", "sklearn": "sklearn"}[name]
    try:
        mod = __import__(module)
    except Exception as exc:  # ImportError, or a broken install
        return False, f"not importable ({type(exc).__name__}: {exc})"
    return True, getattr(mod, "__version__", "?")


# --- thread control -----------------------------------------------------------------------


class Threads:
    """threadpool_limits for every BLAS/OpenMP pool, plus torch.set_num_threads."""

    def __init__(self, k: int, use_torch: bool) -> None:
        self.k, self.use_torch = k, use_torch

    def __enter__(self) -> Threads:
        self.limits = threadpool_limits(limits=self.k)
        if self.use_torch:
            import torch

            self.torch_before = torch.get_num_threads()
            torch.set_num_threads(self.k)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.use_torch:
            import torch

            torch.set_num_threads(self.torch_before)
        self.limits.restore_original_limits()


# --- timing -------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, float | None, Any]:
    """(wall seconds, other processes' CPU %, fn's result)."""
    started = METER.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    return wall, METER.stop(started), out


def calibrate_rate(runner, data: Data, batch: int, cap: int) -> float:
    """Samples/s of runner on growing prefixes until one epoch takes >= 50 ms (the first,
    smallest call doubles as the warm-up)."""
    n = max(4 * batch, 256)
    seed = 10_000
    while True:
        n = min(n, cap)
        X, Y = data.rows(n)
        wall, _, _ = timed(lambda: runner.epoch(X, Y, seed))
        seed += 1
        if wall >= 0.05 or n >= cap:
            return n / wall
        n *= 4


def contended(other_cpu_pct: float | None, threads: int, wall: float) -> bool:
    """Did other processes want cores that this measurement's threads needed? True when
    our threads plus their load exceed the machine by more than 10% of it, beyond the
    resolution of /proc/stat (two clock ticks over the run)."""
    if other_cpu_pct is None or wall <= 0:
        return False
    ncpu = METER.ncpu
    resolution = 200.0 / (wall * ncpu * METER.tick)
    return other_cpu_pct - resolution + 100.0 * min(threads, ncpu) / ncpu > 110.0


def best_of(fn: Callable[[int], Any], repeats: int, threads: int, budget: float,
            extra: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``fn(r)`` ``repeats`` times (at least once; no new run once ``budget`` seconds
    have gone), then up to ``extra`` more times while no run so far was free of
    contention. Returns (chosen run, all runs): the fastest uncontended run, else the
    fastest run, marked ``contended``."""
    runs: list[dict[str, Any]] = []
    start = time.perf_counter()

    def quiet() -> list[dict[str, Any]]:
        return [r for r in runs if not r["contended"]]

    r = 0
    while True:
        wall, other, out = timed(lambda: fn(r))
        rec = {"seconds": wall, "other_cpu_pct": other,
               "contended": contended(other, threads, wall)}
        if isinstance(out, dict):
            rec.update(out)
        runs.append(rec)
        r += 1
        if time.perf_counter() - start > budget and (quiet() or r >= repeats + extra):
            break
        if r >= repeats and (quiet() or r >= repeats + extra):
            break
        if r >= repeats:
            time.sleep(0.5)  # waiting for a quieter moment
    pool = quiet() or runs
    return min(pool, key=lambda rec: rec["seconds"]), runs


def measure_cell(runner, data: Data, n: int, batch: int, repeats: int, threads: int,
                 budget: float, extra: int) -> dict[str, Any]:
    """Warm-up epoch on a short prefix, then timed epochs on n rows (see best_of)."""
    Xw, Yw = data.rows(min(n, max(8 * batch, 512)))
    runner.epoch(Xw, Yw, 1)
    X, Y = data.rows(n)
    best, runs = best_of(lambda r: runner.epoch(X, Y, 100 + r), repeats, threads, budget,
                         extra)
    cell = {
        "rows": n,
        "samples_per_s": n / best["seconds"],
        "best_seconds": best["seconds"],
        "other_cpu_pct": best["other_cpu_pct"],
        "contended": best["contended"],
        "runs": runs,
    }
    if best.get("epoch_seconds"):
        cell["epoch_only_samples_per_s"] = n / best["epoch_seconds"]
        cell["outside_epoch_pct"] = 100.0 * (1.0 - best["epoch_seconds"] / best["seconds"])
    return cell


# --- the agreement check --------------------------------------------------------------------


def check_agreement(impls: list[str], seed: int) -> dict[str, Any]:
    """One epoch from the same weights in the same (identity) order: mlp, the reference
    (and torch) must give parameters equal to TOLERANCE; predictions too."""
    rng = np.random.default_rng(seed)
    cases = [([784, 30, 10], 10, 47), ([784, 16, 16, 10], 7, 50), ([784, 30, 10], 1, 13)]
    report: list[dict[str, Any]] = []
    failures = []
    for sizes, batch, n in cases:
        X = rng.random((n, sizes[0]))
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
        net = mlp.MLP(sizes, seed=int(rng.integers(1 << 30)))
        W0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
        ref = NumpyMLP(W0, b0)
        pred_diff = float(np.max(np.abs(net.predict(X) - ref.predict(X))))
        mnet = mlp.MLP.from_weights(W0, b0)
        mnet.fit(X, Y, epochs=1, batch_size=batch, eta=3.0, shuffle=False)
        ref.fit_epoch(X, Y, batch, 3.0, np.arange(n))
        diff = float(np.max(np.abs(mnet.params - ref.params)))
        moved = float(np.max(np.abs(mnet.params - net.params)))
        case = {"sizes": sizes, "batch": batch, "rows": n, "mlp_vs_numpy": diff,
                "predict_mlp_vs_numpy": pred_diff, "largest_update": moved}
        if not (diff <= TOLERANCE and pred_diff <= TOLERANCE):
            failures.append(f"mlp vs numpy reference on {sizes}, batch {batch}: parameters "
                            f"differ by {diff:.3g}, predictions by {pred_diff:.3g}")
        if "torch" in impls:
            tr = TorchRunner(W0, b0, batch, 3.0, threads=1)
            tr.epoch(X, Y, 0, order=np.arange(n))
            tW, tb = tr.weights_biases()
            tdiff = float(np.max(np.abs(NumpyMLP(tW, tb).params - ref.params)))
            case["torch_vs_numpy"] = tdiff
            if not tdiff <= TOLERANCE:
                failures.append(f"torch vs numpy reference on {sizes}, batch {batch}: "
                                f"parameters differ by {tdiff:.3g}")
        report.append(case)
    if failures:
        print("ABORTED: the implementations disagree, so their timings would not be "
              "comparable:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        print(f"(tolerance {TOLERANCE:g}; one epoch, eta 3.0, same initial weights, "
              "rows in order)", file=sys.stderr)
        sys.exit(2)
    return {"tolerance": TOLERANCE, "cases": report}


# --- dgemm and prediction ---------------------------------------------------------------------


def dgemm_rates(threads: list[int], size: int, repeats: int, extra: int,
                seed: int) -> list[dict[str, Any]]:
    from scipy.linalg.blas import dgemm as scipy_dgemm

    rng = np.random.default_rng(seed)
    a, b = rng.random((size, size)), rng.random((size, size))
    c = np.empty((size, size))
    flops = 2.0 * size**3
    out = []
    for k in threads:
        with threadpool_limits(limits=k):
            np.matmul(a, b, out=c)  # warm-up
            best_np, _ = best_of(lambda r: np.matmul(a, b, out=c), repeats, k, 30.0, extra)
            time.sleep(0.2)  # let NumPy's BLAS threads stop spinning before SciPy's run
            # SciPy's BLAS (the library mlp calls): b.T @ a.T = (a @ b).T, all Fortran-
            # ordered views, so f2py copies nothing.
            scipy_dgemm(1.0, b.T, a.T)
            best_sp, _ = best_of(lambda r: scipy_dgemm(1.0, b.T, a.T), repeats, k, 30.0, extra)
        out.append({"threads": k, "size": size,
                    "numpy_gflops": flops / best_np["seconds"] / 1e9,
                    "scipy_gflops": flops / best_sp["seconds"] / 1e9,
                    "other_cpu_pct": max(best_np["other_cpu_pct"] or 0.0,
                                         best_sp["other_cpu_pct"] or 0.0),
                    "contended": best_np["contended"] or best_sp["contended"]})
        time.sleep(0.2)
    return out


def prediction(threads: list[int], data: Data, rows: int, repeats: int, extra: int,
               calls: int, seed: int) -> list[dict[str, Any]]:
    net = mlp.MLP(PREDICT_SIZES, seed=seed)
    ref = NumpyMLP(net.weights, net.biases)
    X, _ = data.rows(rows)
    x1 = np.ascontiguousarray(X[0])
    flops = predict_flops(PREDICT_SIZES)
    out = []
    for k in threads:
        with threadpool_limits(limits=k):
            rec: dict[str, Any] = {"threads": k, "sizes": PREDICT_SIZES, "rows": X.shape[0],
                                   "contended": False}
            for name, fn in (("mlp", net.predict), ("numpy", ref.predict)):
                fn(X)
                best, _ = best_of(lambda r: fn(X), repeats, k, 10.0, extra)
                rec[f"{name}_samples_per_s"] = X.shape[0] / best["seconds"]
                rec[f"{name}_other_cpu_pct"] = best["other_cpu_pct"]
                rec["contended"] = rec["contended"] or best["contended"]
                for _ in range(min(calls, 100)):
                    fn(x1)
                lat = []
                for _ in range(calls):
                    t0 = time.perf_counter_ns()
                    fn(x1)
                    lat.append(time.perf_counter_ns() - t0)
                rec[f"{name}_latency_us"] = statistics.median(lat) / 1e3
                time.sleep(0.2)
            rec["mlp_over_numpy"] = rec["mlp_samples_per_s"] / rec["numpy_samples_per_s"]
            rec["mlp_gflops"] = rec["mlp_samples_per_s"] * flops / 1e9
            out.append(rec)
    return out


# --- environment -----------------------------------------------------------------------------


def blas_info() -> list[dict[str, Any]]:
    rows = []
    for lib in threadpool_info():
        rows.append({
            "user_api": lib.get("user_api"),
            "internal_api": lib.get("internal_api"),
            "version": lib.get("version"),
            "architecture": lib.get("architecture") or lib.get("corename"),
            "threading_layer": lib.get("threading_layer"),
            "num_threads": lib.get("num_threads"),
            "file": os.path.basename(lib.get("filepath") or ""),
        })
    return rows


def mlp_source() -> dict[str, Any]:
    """Where the measured mlp came from: its file and, if it is a git checkout, the commit
    and whether src/ had uncommitted changes (read-only git commands)."""
    import subprocess

    info: dict[str, Any] = {"file": getattr(mlp, "__file__", None)}
    root = Path(info["file"] or ".").resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "."],
                                   capture_output=True, text=True, timeout=10)
            info["uncommitted_changes"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- the report ----------------------------------------------------------------------------------


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def markdown(res: dict[str, Any]) -> str:
    impls = res["implementations"]
    lines = ["# mlp benchmark", ""]
    lines.append(f"{res['started']} · {res['machine']['cpu']} · {res['machine']['cpus']} CPUs · "
                 f"Python {res['machine']['python']} · mode: {'quick' if res['quick'] else 'full'}")
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
        lines.append("**Note: " + ", ".join(f"{v}={env[v]}" for v in forced) + " is set in "
                     "this process's environment: OpenBLAS runs the kernel it forces, not "
                     "the one it would choose. For the full benchmark run `env -u "
                     "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py`.**")
    else:
        lines.append("OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: not set (OpenBLAS picks its "
                     "kernel for this CPU).")
    lines.append("")

    lines.append("## Training: samples/s, one epoch of mini-batch SGD (best of "
                 f"{res['settings']['repeats']})")
    lines.append("")
    head = ["problem", "sizes", "batch", "threads"] + impls + [
        "mlp/numpy", "mlp GFLOP/s", "mlp % of dgemm", "mlp outside epoch", "other CPU"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["--:"] * (len(head) - 3)) + "|")
    for row in res["training"]:
        cells = [row["problem"], "-".join(map(str, row["sizes"])), str(row["batch"]),
                 str(row["threads"])]
        for name in impls:
            cell = row["results"].get(name)
            cells.append(fmt_rate(cell["samples_per_s"]) + ("*" if cell["contended"] else "")
                         if cell else "–")
        ratio = row.get("mlp_over_numpy")
        cells.append(f"{ratio:.2f}" if ratio else "–")
        cells.append(f"{row['mlp_gflops']:.2f}" if row.get("mlp_gflops") else "–")
        cells.append(f"{row['mlp_pct_of_dgemm']:.1f}%" if row.get("mlp_pct_of_dgemm") else "–")
        m = row["results"].get("mlp", {})
        cells.append(f"{m['outside_epoch_pct']:.0f}%" if "outside_epoch_pct" in m else "–")
        others = [c["other_cpu_pct"] for c in row["results"].values()
                  if c.get("other_cpu_pct") is not None]
        cells.append(f"{max(others):.0f}%" if others else "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    rows_used = {}
    for row in res["training"]:
        for name, cell in row["results"].items():
            rows_used.setdefault(row["problem"], {})[name] = cell["rows"]
    lines.append("Rows per epoch: " + "; ".join(
        f"{p}: " + ", ".join(f"{k} {v:,}" for k, v in d.items()) for p, d in rows_used.items()))
    lines.append("")
    dsize = res["dgemm"][0]["size"] if res["dgemm"] else 0
    lines.append(f"FLOPs per training sample 6·Σ n_(l-1)·n_l; \"mlp % of dgemm\" compares with "
                 f"NumPy's {dsize}² dgemm at the same thread count. mlp's figure is the wall time "
                 f"of the whole `fit(epochs=1)` call; \"mlp outside epoch\" is the part of it "
                 f"spent outside the epoch loop (input checks, set-up). \"other CPU\" is the "
                 f"largest share of the cores used by other processes during a reported run "
                 f"(a large value makes that row unreliable). * marks a figure for which "
                 f"no run was free of contention: other processes wanted cores that its "
                 f"threads needed.")
    lines.append("")
    if res.get("skipped"):
        lines.append("Not measured: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()))
        lines.append("")

    lines.append(f"## Prediction: [784,100,10], {res['prediction'][0]['rows']:,} rows"
                 if res["prediction"] else "## Prediction")
    lines.append("")
    lines.append("| threads | mlp samples/s | numpy samples/s | mlp/numpy | mlp GFLOP/s | "
                 "mlp 1-sample latency (µs) | numpy 1-sample latency (µs) |")
    lines.append("|--:|--:|--:|--:|--:|--:|--:|")
    for p in res["prediction"]:
        star = "*" if p["contended"] else ""
        lines.append(f"| {p['threads']}{star} | {fmt_rate(p['mlp_samples_per_s'])} | "
                     f"{fmt_rate(p['numpy_samples_per_s'])} | {p['mlp_over_numpy']:.2f} | "
                     f"{p['mlp_gflops']:.2f} | {p['mlp_latency_us']:.1f} | "
                     f"{p['numpy_latency_us']:.1f} |")
    lines.append("")

    lines.append("## dgemm, float64")
    lines.append("")
    if not res["quick"]:
        lines.append("Best of the measurements at the start and at the end of the run.")
        lines.append("")
    lines.append("| threads | size | NumPy a @ b GFLOP/s | SciPy BLAS dgemm GFLOP/s (mlp's BLAS) "
                 "| other CPU |")
    lines.append("|--:|--:|--:|--:|--:|")
    for d in res["dgemm"]:
        lines.append(f"| {d['threads']}{'*' if d['contended'] else ''} | {d['size']} | "
                     f"{d['numpy_gflops']:.1f} | "
                     f"{d['scipy_gflops']:.1f} | {d['other_cpu_pct']:.0f}% |")
    lines.append("")

    by_t = {d["threads"]: d["numpy_gflops"] for d in res["dgemm"]}
    if 1 in by_t:
        for k, rate in sorted(by_t.items()):
            if k > 1 and rate < 1.3 * by_t[1]:
                lines.append("")
                lines.append(f"**Warning: dgemm at {k} threads is only {rate / by_t[1]:.2f}× "
                             f"the 1-thread rate: the other cores were probably busy; the "
                             f"{k}-thread figures are suspect.**")
    lines.append("")
    lines.append("## BLAS libraries")
    lines.append("")
    lines.append("| user_api | internal_api | version | architecture | threading | "
                 "num_threads | file |")
    lines.append("|---|---|---|---|---|--:|---|")
    for b in res["blas"]:
        lines.append(f"| {b['user_api']} | {b['internal_api']} | {b['version'] or '–'} | "
                     f"{b['architecture'] or '–'} | {b['threading_layer'] or '–'} | "
                     f"{b['num_threads']} | {b['file']} |")
    if res.get("torch_blas"):
        lines.append("")
        lines.append(f"PyTorch's own BLAS (linked into libtorch, not seen by threadpoolctl): "
                     f"{res['torch_blas']}")
    lines.append("")

    lines.append("## Environment")
    lines.append("")
    lines.append("| variable | value |")
    lines.append("|---|---|")
    for v in ENV_VARS:
        val = env.get(v)
        lines.append(f"| {v} | {'not set' if val is None else val} |")
    lines.append("")
    la0, la1 = res["loadavg"]["start"], res["loadavg"]["end"]
    if la0 and la1:
        lines.append(f"Load average (1 min) at start {la0[0]:.2f}, at end {la1[0]:.2f}. "
                     f"Total time {res['elapsed_seconds']:.1f} s.")
    else:
        lines.append(f"Total time {res['elapsed_seconds']:.1f} s.")
    lines.append("")
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark mlp against a NumPy reference (and PyTorch, scikit-learn).",
        epilog="Full run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
               "benchmarks/bench.py",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny data, one repeat, problems A and D only")
    p.add_argument("--only", default=None,
                   help=f"comma-separated implementations, from {','.join(IMPLEMENTATIONS)} "
                        "(default: all that import)")
    p.add_argument("--threads", default="1,2", help="comma-separated BLAS thread counts")
    p.add_argument("--problems", default=None,
                   help="comma-separated problems from A,B,C,D (default: all; A,D with --quick)")
    p.add_argument("--json", default=str(HERE / "results" / "latest.json"),
                   help="where to write the JSON results (default: benchmarks/results/latest.json)")
    p.add_argument("--markdown", default=None, help="also write the markdown report here")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed epochs per cell, best taken (default 3; 1 with --quick)")
    p.add_argument("--extra-repeats", type=int, default=4,
                   help="more timed runs allowed while every run so far shared the cores "
                        "with other processes (default 4; 0 with --quick)")
    p.add_argument("--target-seconds", type=float, default=1.0,
                   help="rows per epoch are chosen so that one mlp epoch takes about this long")
    p.add_argument("--max-rows", type=int, default=400_000,
                   help="most rows of data (784 float64 each) to generate")
    p.add_argument("--min-rows", type=int, default=20_000,
                   help="fewest rows for an implementation slower than mlp (if mlp uses more)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    def int_list(text: str, what: str) -> list[int]:
        try:
            vals = [int(t) for t in text.split(",") if t.strip()]
        except ValueError:
            p.error(f"{what} must be comma-separated integers, got {text!r}")
        if not vals or min(vals) < 1:
            p.error(f"{what} must be integers >= 1, got {text!r}")
        return vals

    args.threads = int_list(args.threads, "--threads")
    if args.only is None:
        args.only_explicit = False
        args.only = list(IMPLEMENTATIONS)
    else:
        args.only_explicit = True
        args.only = [t.strip() for t in args.only.split(",") if t.strip()]
        bad = [t for t in args.only if t not in IMPLEMENTATIONS]
        if bad or not args.only:
            p.error(f"--only takes names from {','.join(IMPLEMENTATIONS)}, got {bad or '[]'}")
    if args.problems is None:
        args.problems = QUICK_PROBLEMS if args.quick else list(PROBLEMS)
    else:
        args.problems = [t.strip().upper() for t in args.problems.split(",") if t.strip()]
        bad = [t for t in args.problems if t not in PROBLEMS]
        if bad or not args.problems:
            p.error(f"--problems takes names from {','.join(PROBLEMS)}, got {bad or '[]'}")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None

    impls, skipped, versions = [], {}, {"mlp": mlp.__version__, "numpy": np.__version__}
    import scipy
    import threadpoolctl

    versions["scipy"] = scipy.__version__
    versions["threadpoolctl"] = threadpoolctl.__version__
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
    use_torch = "torch" in impls
    torch_blas = None
    if use_torch:
        import torch

        torch_blas = ("MKL" if torch.backends.mkl.is_available() else "not MKL") + (
            f", {torch.__config__.parallel_info().splitlines()[-1].strip()}")
    env = {v: os.environ.get(v) for v in ENV_VARS}
    if any(env.get(v) is not None for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        print("note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; for the full benchmark "
              "run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py",
              file=sys.stderr)
    if max(args.threads) > (os.cpu_count() or 1):
        print(f"note: {max(args.threads)} threads on {os.cpu_count()} CPUs", file=sys.stderr)

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    say(f"implementations: {', '.join(impls)}; threads {args.threads}; "
        f"problems {','.join(args.problems)}")
    check = check_agreement(impls, args.seed)
    worst = max(c["mlp_vs_numpy"] for c in check["cases"])
    say(f"agreement check passed (largest parameter difference {worst:.2g})")

    quick = args.quick
    extra = 0 if quick else args.extra_repeats
    dgemm_size, dgemm_reps = (1024, 1) if quick else (2048, 5)
    dgemm_first = dgemm_rates(args.threads, dgemm_size, dgemm_reps, extra, args.seed)
    say("dgemm: " + ", ".join(f"{d['threads']} thr {d['numpy_gflops']:.1f} GFLOP/s"
                              for d in dgemm_first))

    max_rows = 2_000 if quick else args.max_rows
    data = Data(max_rows, 784, 10, args.seed)
    training = []
    wrng = np.random.default_rng(args.seed + 1)
    budget = 8.0 * args.target_seconds
    for prob in args.problems:
        sizes, batch = PROBLEMS[prob]
        init = mlp.MLP(sizes, seed=int(wrng.integers(1 << 30)))
        W0, b0 = [w.copy() for w in init.weights], [b.copy() for b in init.biases]
        rows: dict[str, int] = {}
        # Rows per implementation, calibrated once at the first thread count.
        with Threads(args.threads[0], use_torch):
            for name in impls:
                if quick:
                    rows[name] = (300 if batch == 1 else 2_000)
                    continue
                runner = RUNNERS[name](W0, b0, batch, ETA, args.threads[0])
                if name == "mlp":
                    rate = calibrate_rate(runner, data, batch, max_rows)
                    n = int(min(max(rate * args.target_seconds, 4 * batch), max_rows))
                else:
                    cap = rows.get("mlp", max_rows)
                    rate = calibrate_rate(runner, data, batch, cap)
                    n = int(min(max(rate * args.target_seconds, min(args.min_rows, cap)), cap))
                rows[name] = max(batch, n // batch * batch)
        for k in args.threads:
            row: dict[str, Any] = {"problem": prob, "sizes": sizes, "batch": batch,
                                   "threads": k, "train_flops_per_sample": train_flops(sizes),
                                   "results": {}}
            with Threads(k, use_torch):
                for name in impls:
                    runner = RUNNERS[name](W0, b0, batch, ETA, k)
                    cell = measure_cell(runner, data, rows[name], batch, args.repeats, k,
                                        budget, extra)
                    row["results"][name] = cell
                    say(f"{prob} {k} thr {name:8s} {cell['samples_per_s']:>12,.0f} samples/s "
                        f"({cell['rows']:,} rows, other CPU "
                        f"{(cell['other_cpu_pct'] or 0):.0f}%"
                        f"{', CONTENDED' if cell['contended'] else ''}, "
                        f"{len(cell['runs'])} runs)")
                    time.sleep(0.2)  # let this library's spinning BLAS threads go idle
            res = row["results"]
            if "mlp" in res:
                row["mlp_gflops"] = res["mlp"]["samples_per_s"] * train_flops(sizes) / 1e9
                if "numpy" in res:
                    row["mlp_over_numpy"] = (res["mlp"]["samples_per_s"]
                                             / res["numpy"]["samples_per_s"])
            training.append(row)

    pred = prediction(args.threads, data if quick else Data(10_000, 784, 10, args.seed + 2),
                      2_000 if quick else 10_000, 2 if quick else 10, extra,
                      200 if quick else 5_000, args.seed)
    say("prediction: " + ", ".join(f"{p['threads']} thr mlp {p['mlp_samples_per_s']:,.0f}/s "
                                   f"latency {p['mlp_latency_us']:.1f} µs" for p in pred))

    # The dgemm rate again at the end: the machine's rate is the better of the two (a
    # transient disturbance, even one /proc/stat does not show, only lowers a rate).
    dgemm_last = [] if quick else dgemm_rates(args.threads, dgemm_size, dgemm_reps, extra,
                                               args.seed)
    dgemm = []
    for d in dgemm_first:
        later = [e for e in dgemm_last if e["threads"] == d["threads"]]
        best = dict(d)
        if later:
            for key in ("numpy_gflops", "scipy_gflops"):
                best[key] = max(d[key], later[0][key])
            best["contended"] = d["contended"] and later[0]["contended"]
            best["other_cpu_pct"] = max(d["other_cpu_pct"], later[0]["other_cpu_pct"])
        best["measurements"] = [d] + later
        dgemm.append(best)
    say("dgemm (best of start and end): " + ", ".join(
        f"{d['threads']} thr {d['numpy_gflops']:.1f} GFLOP/s" for d in dgemm))
    dgemm_by_threads = {d["threads"]: d["numpy_gflops"] for d in dgemm}
    for row in training:
        if "mlp_gflops" in row and row["threads"] in dgemm_by_threads:
            row["mlp_pct_of_dgemm"] = 100 * row["mlp_gflops"] / dgemm_by_threads[row["threads"]]

    res = {
        "schema": 1,
        "started": started,
        "quick": quick,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "settings": {"threads": args.threads, "problems": args.problems,
                     "repeats": args.repeats, "eta": ETA,
                     "target_seconds": args.target_seconds, "max_rows": max_rows,
                     "min_rows": args.min_rows, "seed": args.seed},
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "versions": versions,
        "mlp_source": mlp_source(),
        "implementations": impls,
        "skipped": skipped,
        "environment": env,
        "blas": blas_info(),
        "torch_blas": torch_blas,
        "check": check,
        "dgemm": dgemm,
        "training": training,
        "prediction": pred,
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
