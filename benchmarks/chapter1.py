"""The book's chapter-1 run, timed: 30 epochs of SGD over 50,000 images, [784, 30, 10],
mini-batches of 10, eta 3.0, with mlp and with the vectorized NumPy reference.

The book uses MNIST; this machine's package registry carries Fashion-MNIST (Debian's
``dataset-fashion-mnist``: ``apt-get install dataset-fashion-mnist`` puts the IDX files in
``/usr/share/datasets/fashion-mnist/``), the same format and sizes. Run as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/chapter1.py [FOLDER]

(the ``env -u`` lets OpenBLAS pick its kernel for this CPU; see benchmarks/README.md).
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

import mlp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_numpy import NumpyMLP  # noqa: E402

FOLDER = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (the MNIST format), gzipped."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        print(f"no Fashion-MNIST in {folder}: apt-get install dataset-fashion-mnist",
              file=sys.stderr)
        return 2
    X = read_idx(folder / "train-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y = read_idx(folder / "train-labels-idx1-ubyte.gz").astype(np.intp)
    X_test = read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.intp)
    X, y = X[:50_000], y[:50_000]
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'not set')}")

    net = mlp.MLP([784, 30, 10], seed=0)
    ref = NumpyMLP([w.copy() for w in net.weights], [b.copy() for b in net.biases])
    start = time.perf_counter()
    history = net.fit(X, y, epochs=30, batch_size=10, eta=3.0, seed=0)
    mlp_seconds = time.perf_counter() - start
    print(f"mlp:   30 epochs in {mlp_seconds:.2f} s, test accuracy "
          f"{net.accuracy(X_test, y_test):.4f} (last epoch cost {history['cost'][-1]:.4f})")

    Y = np.eye(10)[y]
    rng = np.random.default_rng(0)
    order = np.arange(len(X))
    start = time.perf_counter()
    for _ in range(30):
        rng.shuffle(order)
        ref.fit_epoch(X, Y, batch_size=10, eta=3.0, order=order)
    numpy_seconds = time.perf_counter() - start
    accuracy = np.mean(np.argmax(ref.predict(X_test), axis=1) == y_test)
    print(f"numpy: 30 epochs in {numpy_seconds:.2f} s, test accuracy {accuracy:.4f}")
    print(f"mlp is {numpy_seconds / mlp_seconds:.2f}x the NumPy reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
