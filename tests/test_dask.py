"""mlp.dask: predict, partial_fit and fit on dask arrays, checked against the network's own
methods on a two-process local cluster that the tests start and stop themselves; the
streaming guarantee, the model shipped once per worker, lost workers, the checks, and the
optional-import behaviour."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref

import numpy as np
import pytest

import mlp
from _watch import outputs_of, predictions_during
from mlp.datasets import load_digits

# --- optional import (these two run with or without dask) --------------------------------

BLOCKED_IMPORT = textwrap.dedent(
    """
    import sys
    sys.modules["dask"] = None          # as if dask were not installed
    import mlp
    try:
        import mlp.dask
    except ImportError as exc:
        print(type(exc).__name__, exc)
    else:
        raise SystemExit("mlp.dask imported without dask")
    """
)


def test_import_mlp_does_not_import_dask():
    code = ("import sys, mlp, mlp.datasets, mlp.io, mlp.network, mlp.training\n"
            "print(sorted(m for m, module in sys.modules.items()\n"
            "             if m.split('.')[0] in ('dask', 'distributed') and module))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_import_without_dask_says_how_to_install():
    out = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT], capture_output=True,
                         text=True, env={**os.environ, "PYTHONWARNINGS": "error"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ImportError")
    assert 'pip install "mlp-backprop[dask]"' in out.stdout


NO_CLIENT = textwrap.dedent(
    """
    import sys
    import dask.array as da, numpy as np, mlp, mlp.dask
    assert "distributed" not in sys.modules     # only mlp.dask.fit needs it
    net = mlp.MLP([2, 2], seed=0)
    X = da.ones((4, 2), chunks=2)
    print(mlp.dask.predict(net, X).compute().shape)
    try:
        mlp.dask.fit(net, X, np.zeros(4, dtype=int), epochs=1, batch_size=2, eta=1.0)
    except ValueError as exc:
        print(exc)
    """
)


def test_fit_without_a_client_says_how_to_start_one(da):
    pytest.importorskip("distributed")
    out = subprocess.run([sys.executable, "-c", NO_CLIENT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    shape, message = out.stdout.strip().split("\n")
    assert shape == "(4, 2)"
    assert "found no client" in message and "distributed.Client" in message


# Older dask warns when a test picks a local scheduler while the module's client is active.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Running on a single-machine scheduler:UserWarning")


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def da():
    return pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def mdask(da):
    import mlp.dask

    return mlp.dask


# Seconds a test waits for both workers to be up: starting a worker process takes well under
# one here, but minutes under emulation (scripts/arm64-suite.sh sets this higher).
WORKER_TIMEOUT = float(os.environ.get("MLP_TEST_WORKER_TIMEOUT", "60"))


@pytest.fixture(scope="module")
def client(mdask, tmp_path_factory):
    """Two single-threaded worker processes on loopback, for the whole module. The
    scheduler's HTTP server takes a free port: with no address it tries 8787 and warns
    (an error here) when another cluster on the machine holds it."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
        host="127.0.0.1", local_directory=str(tmp_path_factory.mktemp("dask")),
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def workers(client):
    """The client, with both workers up (a test may have killed one)."""
    client.wait_for_workers(2, timeout=WORKER_TIMEOUT)
    return client


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X / 16.0, y


def targets(y, n_out=10):
    Y = np.zeros((len(y), n_out))
    Y[np.arange(len(y)), y] = 1.0
    return Y


# --- predict -----------------------------------------------------------------------------


@pytest.mark.parametrize("units", [{}, {"activation": "relu", "output": "softmax"},
                                   {"activation": ["tanh", "identity"], "output": "identity"}])
def test_predict_is_net_predict_bit_for_bit(mdask, da, workers, units):
    sizes = [64, 30, 10] if "activation" not in units or units["activation"] == "relu" \
        else [64, 30, 20, 10]
    net = mlp.MLP(sizes, seed=0, **units)
    X = np.random.default_rng(0).random((5000, 64))
    expected = net.predict(X)
    # Row chunks in multiples of BLOCK_ROWS: the very same kernel calls, the same bits.
    Xd = da.from_array(X, chunks=(2 * mdask.BLOCK_ROWS, 16))   # columns are merged
    out = mdask.predict(net, Xd)
    assert out.shape == (5000, 10) and out.dtype == np.float64
    assert out.chunks == (Xd.chunks[0], (10,))
    assert np.array_equal(out.compute(), expected)                      # on the cluster
    assert np.array_equal(out.compute(scheduler="threads"), expected)
    # Any other chunking: equal to within rounding; unknown chunk sizes are fine.
    ragged = da.from_array(X, chunks=((1, 700, 1299, 3000), (64,)))
    np.testing.assert_allclose(mdask.predict(net, ragged).compute(), expected, rtol=0,
                               atol=1e-15)
    unknown = Xd[Xd[:, 0] >= 0]
    assert np.isnan(unknown.shape[0])
    np.testing.assert_allclose(mdask.predict(net, unknown).compute(), expected, rtol=0,
                               atol=1e-15)


def test_predict_takes_a_snapshot_of_the_network(mdask, da):
    net = mlp.MLP([4, 3, 2], seed=0)
    X = np.random.default_rng(1).random((50, 4))
    before = net.predict(X)
    out = mdask.predict(net, da.from_array(X, chunks=10))
    net.params[...] = 0.0                          # training after building the array
    assert np.array_equal(out.compute(scheduler="sync"), before)
    assert mdask.predict(net, da.from_array(X, chunks=10)).name != out.name


def _nodes_holding_a_network(value):
    """How many MLP objects ``value`` (a graph node, or anything inside one) holds."""
    if isinstance(value, mlp.MLP):
        return 1
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(_nodes_holding_a_network(v) for v in value)
    if isinstance(value, dict):
        return sum(_nodes_holding_a_network(v) for v in value.values())
    total = 0
    for attr in ("value", "args", "kwargs"):       # dask's Task / DataNode
        if hasattr(value, attr) and not callable(getattr(value, attr)):
            total += _nodes_holding_a_network(getattr(value, attr))
    return total


def test_predict_ships_the_network_once(mdask, da):
    import dask
    from dask.core import get_dependencies

    net = mlp.MLP([64, 30, 10], seed=0)
    Xd = da.random.default_rng(0).random((4000, 64), chunks=(500, 64))
    out = mdask.predict(net, Xd)
    (optimized,) = dask.optimize(out)
    graph = dict(optimized.__dask_graph__())
    holders = [key for key, node in graph.items() if _nodes_holding_a_network(node)]
    assert len(holders) == 1                       # one node holds the network ...
    (net_key,) = holders
    assert _nodes_holding_a_network(graph[net_key]) == 1
    blocks = [key for key in graph if isinstance(key, tuple) and key[0] == out.name]
    assert len(blocks) == 8                        # ... and all 8 blocks depend on it

    def needs(key, seen):
        deps = get_dependencies(graph, key) - seen
        seen |= deps
        return net_key in deps or any(needs(d, seen) for d in deps)

    assert all(needs(key, set()) for key in blocks)


_unpickled = []


def _count_unpickles():
    """On a worker: count the networks unpickled there from now on."""
    import mlp.network

    original = mlp.network._unpickle
    if getattr(original, "counting", False):
        _unpickled.clear()
        return

    def counting(*args):
        _unpickled.append(1)
        return original(*args)

    counting.counting = True
    mlp.network._unpickle = counting


def _unpickle_count():
    return len(_unpickled)


def test_predict_sends_the_network_to_each_worker_once(mdask, da, workers):
    client = workers
    net = mlp.MLP([64, 100, 10], seed=0)
    Xd = da.random.default_rng(0).random((8000, 64), chunks=(500, 64)).persist()
    client.run(_count_unpickles)
    result = mdask.predict(net, Xd).compute()
    assert result.shape == (8000, 10)
    counts = client.run(_unpickle_count)
    # 16 blocks on 2 workers, the network deserialised at most once in each.
    assert 1 <= sum(counts.values()) and max(counts.values()) == 1, counts


def _slow_block(x):
    time.sleep(0.15)
    return x


def test_predict_survives_a_killed_worker(mdask, da, workers):
    """Killing a worker process in the middle of a compute: the cluster recomputes what
    it lost and the result arrives complete; or an error is raised. Never a partial
    result."""
    client = workers
    net = mlp.MLP([64, 30, 10], seed=0)
    X = np.random.default_rng(2).random((4096, 64))
    slow = da.from_array(X, chunks=(256, 64)).map_blocks(_slow_block, dtype=np.float64)
    future = client.compute(mdask.predict(net, slow))
    time.sleep(0.6)                                 # some blocks done, others running
    assert not future.done()
    victim = sorted(client.nthreads())[0]
    os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    try:
        result = future.result(timeout=120)
    except Exception as exc:                        # a clear error is acceptable ...
        assert str(exc) or type(exc).__name__
    else:                                           # ... a silent partial result is not
        assert np.array_equal(result, net.predict(X))
    client.wait_for_workers(2, timeout=WORKER_TIMEOUT)


# --- partial_fit -------------------------------------------------------------------------


@pytest.mark.parametrize("units, options", [
    ({}, {}),
    ({}, {"cost": "cross_entropy", "momentum": 0.9, "nesterov": True}),
    ({}, {"cost": "cross_entropy", "l2": 5.0, "momentum": 0.5}),
    ({"activation": "relu", "output": "softmax"}, {"optimizer": "adam"}),
    ({"activation": "tanh", "output": "softmax"}, {"optimizer": "adam", "l2": 2.0}),
    ({}, {"alpha": 0.5}),
    ({}, {"alpha": 0.5, "l2": 2.0, "momentum": 0.5}),
])
def test_partial_fit_is_partial_fit_on_the_concatenated_data(mdask, da, digits, workers,
                                                            units, options):
    X, y = digits
    base = mlp.MLP([64, 20, 10], seed=1, **units)
    net, expected = base.copy(), base.copy()
    # Chunks of 200 rows, a multiple of the batch size (the last chunk, 197, is the end).
    history = mdask.partial_fit(net, da.from_array(X, chunks=(200, 64)), y, epochs=2,
                                batch_size=20, eta=0.5, **options)
    records = [expected.partial_fit(X, y, batch_size=20, eta=0.5, shuffle=False,
                                    **options)[0] for _ in range(2)]
    if "l2" in options:     # l2/n reached through l2*len(chunk)/n / len(chunk): rounding
        np.testing.assert_allclose(net.params, expected.params, rtol=0, atol=1e-12)
    else:
        assert np.array_equal(net.params, expected.params)
    assert len(history) == 2 and [r["epoch"] for r in history] == [1, 2]
    for got, want in zip(history, records):
        assert set(got) == set(want)
        for key in ("cost", "accuracy", "l2_penalty"):
            if key in want:
                assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-15)


def test_partial_fit_targets_and_chunkings(mdask, da, digits, workers):
    X, y = digits
    T = targets(y)
    base = mlp.MLP([64, 20, 10], seed=2)
    expected = base.copy()
    expected.partial_fit(X, T, batch_size=25, eta=1.0, shuffle=False)
    Xd = da.from_array(X, chunks=(300, 64))
    for Y in (T, da.from_array(T, chunks=(450, 5)), da.from_array(y, chunks=100)):
        net = base.copy()
        mdask.partial_fit(net, Xd, Y, batch_size=25, eta=1.0)
        assert np.array_equal(net.params, expected.params)


_live = {"now": 0, "max": 0, "made": 0}


def _generate_chunk(block_info=None):
    """A chunk of X computed on demand, counted while it is alive."""
    (start, stop), _ = block_info[None]["array-location"]
    chunk = np.random.default_rng(start).random((stop - start, 64))
    _live["now"] += 1
    _live["made"] += 1
    _live["max"] = max(_live["max"], _live["now"])
    weakref.finalize(chunk, lambda: _live.__setitem__("now", _live["now"] - 1))
    return chunk


def test_partial_fit_streams_one_chunk_at_a_time(mdask, da):
    import dask

    rows, chunk = 2000, 200
    X = da.map_blocks(_generate_chunk, chunks=((chunk,) * (rows // chunk), (64,)),
                      dtype=np.float64, meta=np.empty((0, 64)))
    y = np.random.default_rng(0).integers(0, 10, rows)
    base = mlp.MLP([64, 10, 10], seed=0)
    net, expected = base.copy(), base.copy()
    with dask.config.set(scheduler="sync"):         # chunks made in this process
        _live.update(now=0, max=0, made=0)
        mdask.partial_fit(net, X, y, epochs=2, batch_size=10, eta=1.0)
        assert _live["made"] == 2 * rows // chunk
        assert _live["max"] == 1                    # never two chunks alive at once
        assert _live["now"] == 0
        data = X.compute()
    for _ in range(2):
        expected.partial_fit(data, y, batch_size=10, eta=1.0, shuffle=False)
    assert np.array_equal(net.params, expected.params)


def test_partial_fit_shuffles_chunks_with_the_seed(mdask, da, digits):
    import dask

    X, y = digits
    Xd = da.from_array(X[:1600], chunks=(200, 64))
    base = mlp.MLP([64, 20, 10], seed=3)
    a, b, c = base.copy(), base.copy(), base.copy()
    with dask.config.set(scheduler="sync"):
        mdask.partial_fit(a, Xd, y[:1600], epochs=2, shuffle_chunks=True, seed=7,
                          batch_size=10, eta=1.0)
        mdask.partial_fit(b, Xd, y[:1600], epochs=2, shuffle_chunks=True, seed=7,
                          batch_size=10, eta=1.0)
    assert np.array_equal(a.params, b.params)
    rng = np.random.default_rng(7)
    for _ in range(2):
        for k in rng.permutation(8):
            rows = slice(200 * k, 200 * (k + 1))
            c.partial_fit(X[rows], y[rows], batch_size=10, eta=1.0, shuffle=False)
    assert np.array_equal(a.params, c.params)


# --- fit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("units, options", [
    ({}, {}),
    ({}, {"cost": "cross_entropy", "l2": 5.0}),
    ({}, {"l2": 1.0, "momentum": 0.9}),
    ({}, {"cost": "cross_entropy", "momentum": 0.5, "nesterov": True}),
    ({}, {"optimizer": "adam", "eta": 0.01}),
    ({"activation": "relu", "output": "softmax"}, {"optimizer": "adam", "l2": 1.0}),
    ({"activation": "tanh", "output": "identity"}, {"eta": 0.05, "momentum": 0.5}),
])
def test_fit_is_net_fit(mdask, da, digits, workers, units, options):
    X, y = digits
    base = mlp.MLP([64, 30, 10], seed=0, **units)
    net, expected = base.copy(), base.copy()
    # 1797 rows in mini-batches of 100: the last one holds 97; chunks unrelated to both.
    options = {"eta": 0.5, **options}
    history = mdask.fit(net, da.from_array(X, chunks=(450, 64)), y, epochs=3,
                        batch_size=100, **options)
    want = expected.fit(X, y, epochs=3, batch_size=100, shuffle=False, **options)
    np.testing.assert_allclose(net.params, expected.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(history["cost"], want["cost"], rtol=1e-12)
    if "l2" in options:
        np.testing.assert_allclose(history["l2_penalty"], want["l2_penalty"], rtol=1e-12)
    got, want_state = net.optimizer_state, expected.optimizer_state
    assert got.keys() == want_state.keys()
    for key, value in want_state.items():          # carries on into partial_fit
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-12)


@pytest.mark.parametrize("options", [{"l2": 2.0}, {"momentum": 0.9, "nesterov": True}])
def test_predictions_during_fit_see_only_states_between_steps(mdask, da, workers,
                                                              monkeypatch, options):
    """Each step is applied under the network's write lock: a thread predicting all along
    sees the parameters before or after a step, never part of one."""
    rng = np.random.default_rng(3)
    X, y = rng.uniform(0, 1, (600, 40)), rng.integers(0, 5, 600)
    probe = rng.uniform(0, 1, (4, 40))
    net = mlp.MLP([40, 200, 5], seed=0)
    states = [net.params.copy()]
    apply = mlp.MLP.apply_gradient

    def recording(self, *args, **kwargs):
        apply(self, *args, **kwargs)
        states.append(self.params.copy())

    monkeypatch.setattr(mlp.MLP, "apply_gradient", recording)
    with predictions_during(net, probe) as seen:
        mdask.fit(net, da.from_array(X, chunks=(300, 40)), y, epochs=2, batch_size=20,
                  eta=0.5, **options)
    assert len(states) == 1 + 2 * 30
    assert len(seen) > 30, len(seen)
    allowed = outputs_of(net, states, probe)
    assert all(out.tobytes() in allowed for out in seen)


@pytest.mark.parametrize("batch_size", [1, 3, 5000])
def test_fit_small_and_full_batches(mdask, da, digits, workers, batch_size):
    """Parts of one row and empty parts (batch_size 1 on two workers), and full-batch
    gradient descent (batch_size > n)."""
    X, y = digits
    X, Y = X[:60], targets(y[:60])
    base = mlp.MLP([64, 10, 10], seed=0)
    net, expected = base.copy(), base.copy()
    mdask.fit(net, da.from_array(X, chunks=(25, 64)), da.from_array(Y, chunks=(7, 10)),
              epochs=2, batch_size=batch_size, eta=1.0)
    expected.fit(X, Y, epochs=2, batch_size=batch_size, eta=1.0, shuffle=False)
    np.testing.assert_allclose(net.params, expected.params, rtol=0, atol=1e-12)


def test_fit_shuffles_with_the_seed(mdask, da, digits, workers):
    X, y = digits
    base = mlp.MLP([64, 30, 10], seed=0)
    runs = []
    for chunks, seed in ((300, 5), (1000, 5), (300, 6)):
        net = base.copy()
        mdask.fit(net, da.from_array(X, chunks=(chunks, 64)), y, epochs=2, batch_size=200,
                  eta=0.5, shuffle=True, seed=seed)
        runs.append(net.params.copy())
    assert np.array_equal(runs[0], runs[1])          # same seed: same result, any chunks
    assert not np.array_equal(runs[0], runs[2])
    plain = base.copy()
    mdask.fit(plain, da.from_array(X, chunks=(300, 64)), y, epochs=2, batch_size=200,
              eta=0.5)
    assert not np.array_equal(runs[0], plain.params)


def test_fit_on_some_workers_and_epochs_zero(mdask, da, digits, workers):
    X, y = digits
    Xd = da.from_array(X, chunks=(500, 64))
    base = mlp.MLP([64, 30, 10], seed=0)
    one, both = base.copy(), base.copy()
    mdask.fit(one, Xd, y, epochs=1, batch_size=300, eta=0.5,
              workers=sorted(workers.nthreads())[:1])
    mdask.fit(both, Xd, y, epochs=1, batch_size=300, eta=0.5, client=workers)
    np.testing.assert_allclose(one.params, both.params, rtol=0, atol=1e-13)
    untouched = base.copy()
    assert len(mdask.fit(untouched, Xd, y, epochs=0, batch_size=300, eta=0.5)) == 0
    assert np.array_equal(untouched.params, base.params)


def test_fit_survives_a_killed_worker(mdask, da, workers, monkeypatch):
    """A worker process killed between two steps: its shard is rebuilt from X's graph on
    another worker, the step is retried, and the result is the same."""
    client = workers
    X = da.random.default_rng(0).random((4000, 64), chunks=(1000, 64))
    y = da.random.default_rng(1).integers(0, 10, 4000, chunks=1000)
    base = mlp.MLP([64, 100, 10], seed=0)
    net, expected = base.copy(), base.copy()
    victim = sorted(client.nthreads())[1]
    pid = client.run(os.getpid, workers=[victim])[victim]
    steps, started = [], []
    gradients, start = mdask._Workers.gradients, mdask._Workers._start

    def gradients_then_kill(self, *args):
        steps.append(1)
        if len(steps) == 5:
            os.kill(pid, signal.SIGKILL)
        return gradients(self, *args)

    def counting_start(self, which):
        started.append(list(which))
        return start(self, which)

    monkeypatch.setattr(mdask._Workers, "gradients", gradients_then_kill)
    monkeypatch.setattr(mdask._Workers, "_start", counting_start)
    mdask.fit(net, X, y, epochs=3, batch_size=1000, eta=0.5)
    assert len(steps) == 12
    assert started == [[0, 1], [1]]          # the lost shard's actor, started again
    expected.fit(X.compute(), y.compute(), epochs=3, batch_size=1000, eta=0.5,
                 shuffle=False)
    np.testing.assert_allclose(net.params, expected.params, rtol=0, atol=1e-12)
    client.wait_for_workers(2, timeout=WORKER_TIMEOUT)


# --- checks ------------------------------------------------------------------------------


def test_bad_data_is_refused_clearly(mdask, da):
    net = mlp.MLP([4, 3, 2], seed=0)
    X = np.random.default_rng(0).random((20, 4))
    Xd = da.from_array(X, chunks=5)
    y = np.zeros(20, dtype=int)
    for f, kwargs in ((mdask.predict, {}), (mdask.partial_fit, {"Y": y}),
                      (mdask.fit, {"Y": y, "epochs": 1, "batch_size": 5, "eta": 1.0})):
        with pytest.raises(TypeError, match="dask array"):
            f(net, X, **kwargs)
        with pytest.raises(ValueError, match="2-D"):
            f(net, Xd[:, 0], **kwargs)
        with pytest.raises(ValueError, match="5 features per sample; the network's input"):
            f(net, da.from_array(np.ones((20, 5)), chunks=5), **kwargs)
        with pytest.raises(TypeError, match="dtype"):
            f(net, da.from_array(np.full((20, 4), "a"), chunks=5), **kwargs)
        with pytest.raises(TypeError, match="mlp.MLP"):
            f("net", Xd, **kwargs)
        if f is not mdask.predict:
            rest = {k: v for k, v in kwargs.items() if k != "Y"}
            with pytest.raises(ValueError, match="Y has 19 rows but X has 20"):
                f(net, Xd, y[:19], **rest)
            with pytest.raises(ValueError, match="Y has 3 columns"):
                f(net, Xd, da.zeros((20, 3), chunks=5), **rest)
            with pytest.raises(ValueError, match="1-D class labels or 2-D"):
                f(net, Xd, np.zeros((20, 2, 1)), **rest)
            with pytest.raises(ValueError, match="unknown chunk sizes"):
                f(net, Xd[Xd[:, 0] >= 0], y, **rest)


def test_bad_options_are_refused_clearly(mdask, da):
    net = mlp.MLP([4, 3, 2], seed=0)
    Xd = da.from_array(np.random.default_rng(0).random((20, 4)), chunks=5)
    y = np.zeros(20, dtype=int)
    before = net.params.copy()
    with pytest.raises(TypeError, match="shuffle_chunks"):
        mdask.partial_fit(net, Xd, y, shuffle=True)
    with pytest.raises(TypeError, match=r"unexpected options \['epoch'\]"):
        mdask.partial_fit(net, Xd, y, epoch=3)
    with pytest.raises(ValueError, match="eta"):
        mdask.partial_fit(net, Xd, y, eta=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        mdask.partial_fit(net, Xd, y, momentum=1.5)
    with pytest.raises(ValueError, match="cost"):
        mdask.partial_fit(net, Xd, y, cost="hinge")
    with pytest.raises(ValueError, match="epochs"):
        mdask.partial_fit(net, Xd, y, epochs=0)
    with pytest.raises(TypeError, match="shuffle_chunks must be True or False"):
        mdask.partial_fit(net, Xd, y, shuffle_chunks=1)
    with pytest.raises(TypeError, match="seed"):
        mdask.partial_fit(net, Xd, y, seed="x")
    fit = {"epochs": 1, "batch_size": 5, "eta": 1.0}
    with pytest.raises(TypeError, match=r"unexpected options \['schedule'\]"):
        mdask.fit(net, Xd, y, schedule="halve", **fit)
    with pytest.raises(ValueError, match="batch_size"):
        mdask.fit(net, Xd, y, **{**fit, "batch_size": 0})
    with pytest.raises(ValueError, match="l2"):
        mdask.fit(net, Xd, y, l2=-1.0, **fit)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        mdask.fit(net, Xd, y, shuffle="yes", **fit)
    with pytest.raises(TypeError, match="epochs, batch_size|required keyword"):
        mdask.fit(net, Xd, y)
    assert np.array_equal(net.params, before)


def test_fit_client_and_workers_are_checked(mdask, da, workers):
    net = mlp.MLP([4, 3, 2], seed=0)
    Xd = da.from_array(np.random.default_rng(0).random((20, 4)), chunks=5)
    y = np.zeros(20, dtype=int)
    fit = {"epochs": 1, "batch_size": 5, "eta": 1.0}
    with pytest.raises(TypeError, match="distributed.Client"):
        mdask.fit(net, Xd, y, client="tcp://127.0.0.1:8786", **fit)
    with pytest.raises(ValueError, match="addresses of the client's workers"):
        mdask.fit(net, Xd, y, workers=["tcp://127.0.0.1:1"], **fit)
    with pytest.raises(TypeError, match="sequence of worker addresses"):
        mdask.fit(net, Xd, y, workers="tcp://127.0.0.1:1", **fit)


def test_bad_values_in_a_chunk_restore_the_network(mdask, da, workers):
    net = mlp.MLP([4, 3, 2], seed=0)
    X = np.random.default_rng(0).random((20, 4))
    X[13, 2] = np.nan
    y = np.zeros(20, dtype=int)
    bad_y = y.copy()
    bad_y[17] = 2
    Xd, good = da.from_array(X, chunks=5), da.from_array(np.nan_to_num(X), chunks=5)
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"NaN or infinity.*rows 10:15"):
        mdask.predict(net, Xd).compute()
    with pytest.raises(ValueError, match=r"NaN or infinity.*rows 10:15"):
        mdask.partial_fit(net, Xd, y, batch_size=5)
    assert np.array_equal(net.params, before)       # chunks 0:10 had trained it
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\).*rows 15:20"):
        mdask.partial_fit(net, good, bad_y, batch_size=5, momentum=0.5)
    assert np.array_equal(net.params, before) and net._velocity is None
    with pytest.raises(ValueError, match=r"NaN or infinity.*rows 10:15"):
        mdask.fit(net, Xd, y, epochs=1, batch_size=5, eta=1.0)
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\).*rows 15:20"):
        mdask.fit(net, good, bad_y, epochs=1, batch_size=5, eta=1.0)
    assert np.array_equal(net.params, before)


def test_fit_divergence_restores_the_epoch(mdask, da, workers):
    # Zero weights: every output is 0.5 and the first step changes W by about
    # -eta * 0.125 * x, which for x = 1e200 and eta = 1e300 overflows.
    net = mlp.MLP.from_weights([np.zeros((4, 2))], [np.zeros(2)])
    X = da.from_array(np.full((6, 4), 1e200), chunks=3)
    labels = np.array([0, 1, 0, 1, 0, 1])
    before = net.params.copy()
    with pytest.raises(FloatingPointError, match="diverged in epoch 1.*smaller eta"):
        mdask.fit(net, X, labels, epochs=2, batch_size=3, eta=1e300)
    assert np.array_equal(net.params, before)


def test_module_docstring_examples(mdask):
    import doctest

    import dask

    with dask.config.set(scheduler="sync"):
        result = doctest.testmod(mdask, verbose=False)
    assert result.attempted > 0 and result.failed == 0
