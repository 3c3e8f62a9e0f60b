"""Reliability: numerics at the extremes, threads, interrupts, memory, and killed saves."""

import concurrent.futures
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mlp
from _watch import outputs_of, predictions_during
from mlp import network


# --- numerics --------------------------------------------------------------------------------

@pytest.mark.parametrize("scale_w, scale_x", [(1e300, 1e10), (1e10, 1e300), (1e154, 1e154),
                                              (1e-300, 1e-300), (1.0, 1e308)])
def test_extreme_inputs_and_weights_give_finite_outputs(scale_w, scale_x):
    rng = np.random.default_rng(0)
    net = mlp.MLP([20, 16, 16, 5], seed=0)
    net.params[:] = rng.choice([-1.0, 1.0], net.params.size) * scale_w * rng.uniform(
        0.5, 1.0, net.params.size)
    X = rng.choice([-1.0, 1.0], (64, 20)) * scale_x * rng.uniform(0.5, 1.0, (64, 20))
    for rows in (X, X[:1], X[0]):  # the batched (BLAS or small-product) and one-row paths
        out = net.predict(rows)
        assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


def test_overflowing_sums_keep_their_sign():
    # 1e310 - 1e310 + 1e310 would be inf - inf = NaN summed naively; it is +1e310.
    W = np.array([[1e300, -1e300], [-1e300, 1e300], [1e300, -1e300]])
    net = mlp.MLP.from_weights([W], [np.zeros(2)])
    assert net.predict([[1e10, 1e10, 1e10]]).tolist() == [[1.0, 0.0]]
    assert net.predict([1e10, 1e10, 1e10]).tolist() == [1.0, 0.0]


# --- threads ---------------------------------------------------------------------------------

def big_problem(n=60_000, features=100):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, features)), rng.integers(0, 10, n)


def test_fit_releases_the_gil():
    X, y = big_problem()
    net = mlp.MLP([100, 100, 10], seed=0)
    done = threading.Event()

    def train():
        net.fit(X, y, epochs=2, batch_size=50, seed=0)
        done.set()

    def spin(seconds):
        count, stop = 0, time.perf_counter() + seconds
        while time.perf_counter() < stop:
            count += 1
        return count

    alone = spin(0.2)
    worker = threading.Thread(target=train)
    worker.start()
    beside = spin(0.2)
    worker.join()
    assert done.is_set()
    # Python code in this thread kept running at (close to) full speed beside the fit.
    assert beside > 0.4 * alone, (beside, alone)


def test_predict_from_eight_threads_is_bit_identical():
    rng = np.random.default_rng(1)
    net = mlp.MLP([50, 80, 10], seed=0)
    blocks = [rng.uniform(0, 1, (k, 50)) for k in (1, 7, 300, 2500) for _ in range(4)]
    expected = [net.predict(b) for b in blocks]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            results = list(pool.map(net.predict, blocks))
            for got, want in zip(results, expected):
                np.testing.assert_array_equal(got, want)


def test_predictions_during_fit_never_see_a_torn_update(monkeypatch):
    monkeypatch.setattr(network, "_SEGMENT_FLOPS", 5e5)  # many short kernel calls
    rng = np.random.default_rng(2)
    X, y = rng.uniform(0, 1, (20000, 30)), rng.integers(0, 4, 20000)
    probe = rng.uniform(0, 1, (5, 30))
    net = mlp.MLP([30, 40, 4], seed=0)
    states = [net.params.copy()]
    with predictions_during(net, probe) as seen:
        net.fit(X, y, epochs=3, batch_size=10, eta=1.0, shuffle=False,
                progress=lambda *a: states.append(net.params.copy()))
    assert len(states) > 20
    during = seen[1:]  # all but the first prediction may have overlapped the fit
    assert len(during) >= 5, len(during)
    # Every prediction is that of a state between two kernel calls.
    allowed = outputs_of(net, states, probe)
    assert all(out.tobytes() in allowed for out in seen)


# --- interrupts ------------------------------------------------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_fit_stops_at_a_mini_batch():
    X, y = big_problem()
    net = mlp.MLP([100, 100, 10], seed=0)
    fired = []

    def interrupt():
        fired.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, y, epochs=1000, batch_size=10, seed=0)
    latency = time.perf_counter() - fired[0]
    assert latency < 0.5, latency  # one kernel call is about a tenth of a second
    assert info.value.history.stop_reason == "interrupted"
    assert np.isfinite(net.params).all()


# --- memory ----------------------------------------------------------------------------------

def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux /proc")
@pytest.mark.skipif(os.environ.get("MLP_SANITIZED") == "1",
                    reason="AddressSanitizer holds freed memory in quarantine")
def test_memory_stays_flat_over_thousands_of_cycles(tmp_path):
    import pickle

    rng = np.random.default_rng(3)
    X, y = rng.uniform(0, 1, (40, 8)), rng.integers(0, 3, 40)
    path = tmp_path / "m.npz"

    def cycle(k):
        net = mlp.MLP([8, 12, 3], seed=k)
        net.fit(X, y, epochs=1, batch_size=(k % 5) + 1, momentum=0.5 * (k % 2), seed=k)
        net.predict(X)
        net.gradient(X, y)
        net.save(path)
        twin = pickle.loads(pickle.dumps(mlp.load(path)))
        assert twin.sizes == net.sizes

    for k in range(300):  # warm up allocators and caches
        cycle(k)
    before = _rss_bytes()
    for k in range(2000):
        cycle(k)
    growth = _rss_bytes() - before
    assert growth < 8 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MiB"


# --- killed saves ----------------------------------------------------------------------------

SAVER = """
import sys, numpy as np, mlp
path = sys.argv[1]
nets = [mlp.MLP([50, 200, 10], seed=s) for s in (1, 2)]
print("ready", flush=True)
k = 0
while True:
    nets[k % 2].save(path)
    k += 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_killing_the_process_during_save_leaves_a_whole_file(tmp_path):
    path = tmp_path / "m.npz"
    versions = [mlp.MLP([50, 200, 10], seed=s).params for s in (1, 2)]
    rng = np.random.default_rng(4)
    for round_ in range(8):
        with subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                              stdout=subprocess.PIPE, text=True) as saver:
            assert saver.stdout.readline().strip() == "ready"
            time.sleep(0.05 + rng.uniform(0, 0.25))
            saver.send_signal(signal.SIGKILL)
            saver.wait()
        if path.exists():  # else killed before its first save completed
            params = mlp.load(path).params
            assert any(np.array_equal(params, v) for v in versions), round_
