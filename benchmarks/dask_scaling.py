"""Where mlp.dask pays: data-parallel ``fit`` and ``predict`` on a local dask cluster,
against one process.

    pip install "mlp-backprop[dask]" threadpoolctl
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/dask_scaling.py
    python benchmarks/dask_scaling.py --quick        # a smoke run, a few seconds

Prints markdown tables. The cluster is a ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` on this machine; the data (random, seeded) is generated on the workers
and kept there, and a copy is gathered for the single-process runs.

Training, for each model and mini-batch size: samples per second of one epoch of
``net.fit(shuffle=False)`` in one process with 1 and with 2 BLAS threads, and of
``mlp.dask.fit`` on 1 and on 2 workers (building the shards is excluded: it happens once
per call); then, per step on 2 workers, the time one worker needs for the gradient of its
half of the mini-batch (measured in this process on one thread) and the rest of the
step, which is communication and coordination: sending the parameters, returning the
gradient, adding and applying it.

Prediction: samples per second of ``net.predict`` in one process against
``mlp.dask.predict(net, X).compute()`` with ``X`` held by the 2 workers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import mlp

try:
    import dask
    import dask.array as da
    import distributed
    from distributed import Client, LocalCluster

    import mlp.dask
except ImportError:
    sys.exit('benchmarks/dask_scaling.py needs dask: pip install "mlp-backprop[dask]"')
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    sys.exit("benchmarks/dask_scaling.py needs threadpoolctl: pip install threadpoolctl")


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


def one_process_epoch(sizes, X, y, batch, threads, epochs):
    """Median seconds of one epoch of net.fit in this process."""
    net = mlp.MLP(sizes, seed=0)
    with threadpool_limits(threads):
        history = net.fit(X, y, epochs=epochs, batch_size=batch, eta=0.1, shuffle=False)
    return statistics.median(history["seconds"])


def dask_epoch(sizes, Xd, yd, batch, workers, client, epochs):
    """Median seconds of one epoch of mlp.dask.fit, and the seconds of the whole call."""
    net = mlp.MLP(sizes, seed=0)
    start = time.perf_counter()
    history = mlp.dask.fit(net, Xd, yd, epochs=epochs, batch_size=batch, eta=0.1,
                           client=client, workers=workers)
    return statistics.median(history["seconds"]), time.perf_counter() - start


def gradient_seconds(sizes, X, y, rows, repeats=5):
    """Seconds of the summed gradient of ``rows`` rows on one thread (one worker's part)."""
    net = mlp.MLP(sizes, seed=0)
    times = []
    with threadpool_limits(1):
        for _ in range(repeats):
            start = time.perf_counter()
            net.gradient(X[:rows], y[:rows])
            times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny problems")
    args = parser.parse_args()

    if args.quick:
        n, models, batches, epochs, predict_rows = 4000, [[784, 30, 10]], [1000], 2, 8192
    else:
        n, epochs, predict_rows = 20000, 3, 65536
        models = [[784, 100, 10], [784, 512, 512, 10]]
        batches = [100, 1000, 10000]

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    try:
        workers = sorted(client.nthreads())
        chunk = 4096
        Xd = da.random.default_rng(0).random((n, 784), chunks=(chunk, 784)).persist()
        yd = da.random.default_rng(1).integers(0, 10, n, chunks=chunk).persist()
        X, y = Xd.compute(), yd.compute()

        load = os.getloadavg()[0]
        print(f"mlp {mlp.__version__}, dask {dask.__version__}, distributed "
              f"{distributed.__version__}, numpy {np.__version__}; {os.cpu_count()} CPUs, "
              f"load average {load:.2f} at the start; OPENBLAS_CORETYPE="
              f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
        print(f"\nTraining: {n:,} random rows of 784 features, 10 classes; samples/s of "
              f"one epoch (median of {epochs}); LocalCluster(n_workers=2, "
              "threads_per_worker=1, processes=True)\n")
        print("| model | batch | steps/epoch | 1 process, 1 thread | 1 process, 2 threads "
              "| dask, 1 worker | dask, 2 workers | 2 workers / best 1 process "
              "| per step: compute (ms) | per step: the rest (ms) | shards (s) |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for sizes in models:
            for batch in batches:
                steps = -(-n // batch)
                one = one_process_epoch(sizes, X, y, batch, 1, epochs)
                two = one_process_epoch(sizes, X, y, batch, 2, epochs)
                d1, _ = dask_epoch(sizes, Xd, yd, batch, workers[:1], client, epochs)
                d2, call = dask_epoch(sizes, Xd, yd, batch, workers, client, epochs)
                compute = gradient_seconds(sizes, X, y, -(-batch // 2))
                step = d2 / steps
                print(f"| {sizes} | {batch:,} | {steps} | {rate(n, one)} | {rate(n, two)} "
                      f"| {rate(n, d1)} | {rate(n, d2)} | {min(one, two) / d2:.2f} "
                      f"| {compute * 1e3:.1f} | {(step - compute) * 1e3:.1f} "
                      f"| {call - epochs * d2:.2f} |", flush=True)

        print(f"\nPrediction: {predict_rows:,} random rows of 784 features, in chunks of "
              f"{chunk:,} rows held by the workers; samples/s (best of 3)\n")
        print("| model | 1 process, 1 thread | 1 process, 2 threads | dask, 2 workers "
              "| dask / best 1 process |")
        print("|---|--:|--:|--:|--:|")
        Xp = da.random.default_rng(2).random((predict_rows, 784),
                                              chunks=(chunk, 784)).persist()
        Xp_np = Xp.compute()
        for sizes in models:
            net = mlp.MLP(sizes, seed=0)
            local = {}
            for threads in (1, 2):
                with threadpool_limits(threads):
                    local[threads] = best_of(3, lambda: net.predict(Xp_np))
            remote = best_of(3, lambda: mlp.dask.predict(net, Xp).compute())
            print(f"| {sizes} | {rate(predict_rows, local[1])} "
                  f"| {rate(predict_rows, local[2])} | {rate(predict_rows, remote)} "
                  f"| {min(local.values()) / remote:.2f} |", flush=True)
    finally:
        client.close()
        cluster.close()
    return 0


def best_of(repeats, f):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    sys.exit(main())
