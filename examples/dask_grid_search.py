"""Hyper-parameter search on a dask cluster: scikit-learn's GridSearchCV over
``mlp.sklearn.MLPClassifier`` on the bundled digits, its fits spread over the cluster's
workers by joblib's dask backend.

    pip install "mlp-backprop[dask,sklearn]"
    python examples/dask_grid_search.py                      # a LocalCluster, 2 processes
    python examples/dask_grid_search.py tcp://host:8786      # an existing cluster

Each candidate and fold is one ``fit`` of a small network, a task for one worker: the
search scales with the number of workers, whatever the network's size.
"""

from __future__ import annotations

import sys
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, train_test_split

from mlp.datasets import load_digits
from mlp.sklearn import MLPClassifier

GRID = {
    "hidden_layer_sizes": [(30,), (100,)],
    "activation": ["logistic", "relu"],
    "learning_rate_init": [0.001, 0.01],
}


def search(X_train: np.ndarray, y_train: np.ndarray) -> GridSearchCV:
    model = MLPClassifier(random_state=0)
    grid = GridSearchCV(model, GRID, cv=3, n_jobs=-1)
    with joblib.parallel_backend("dask"):    # n_jobs=-1: every worker thread of the cluster
        grid.fit(X_train, y_train)
    return grid


def main(argv: list[str]) -> int:
    X, y = load_digits()
    X = X / 16.0                             # pixels 0..16 to [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y)

    if argv:
        cluster = None
        client = Client(argv[0])
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        workers = len(client.nthreads())
        n_fits = 3 * int(np.prod([len(v) for v in GRID.values()]))
        print(f"{n_fits} fits ({len(GRID)} parameters, 3 folds) on {workers} workers")
        start = time.perf_counter()
        grid = search(X_train, y_train)
        seconds = time.perf_counter() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    print(f"searched in {seconds:.1f} s")
    print("best parameters:", grid.best_params_)
    print(f"best mean cross-validation accuracy: {grid.best_score_:.4f}")
    print(f"test accuracy of the refitted best model: {grid.score(X_test, y_test):.4f}")
    return 0


if __name__ == "__main__":  # needed: the workers are started as new processes
    sys.exit(main(sys.argv[1:]))
