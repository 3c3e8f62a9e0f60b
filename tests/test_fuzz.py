"""Property-based fuzzing of the public API: random sizes, shapes, dtypes, strides, NaN,
infinity, huge and tiny values, empty arrays and wrong types. Only the documented exceptions
may come out, never a crash; a failed call leaves the parameters as they were; a successful
prediction is finite.

The normal suite runs a few dozen cases per test; the dedicated run generates 2,500 per test
(over 10,000 in all): ``HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py``.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlp

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
DOCUMENTED = (TypeError, ValueError)
fuzz = settings(max_examples=2500 if FUZZ else 40,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-308, 5e-324, -1e-300, 1e308, -1e308,
                           3.0e38, np.nan, np.inf, -np.inf])
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), special)


@st.composite
def arrays(draw, rows=None, cols=None):
    """An array-like of a random kind: shapes near the expected one, any dtype, strided,
    Fortran-ordered, read-only, or not an array at all."""
    kind = draw(st.sampled_from(["float", "float", "float", "int", "bool", "float32",
                                 "complex", "object", "str", "list", "scalar", "none"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return draw(floats)
    ndim = draw(st.sampled_from([1, 2, 2, 2, 3, 0]))
    shape = [draw(st.integers(0, 6)) for _ in range(ndim)]
    if ndim == 2 and rows is not None and draw(st.booleans()):
        shape = [rows, cols if cols is not None else shape[1]]
    size = int(np.prod(shape)) if shape else 1
    values = np.array(draw(st.lists(floats, min_size=size, max_size=size)), dtype=float)
    a = values.reshape(shape)
    if kind == "int":
        a = np.nan_to_num(a, nan=0, posinf=7, neginf=-7).clip(-1e6, 1e6).astype(np.int64)
    elif kind == "bool":
        a = np.nan_to_num(a) > 0
    elif kind == "float32":
        with np.errstate(over="ignore"):
            a = a.astype(np.float32)
    elif kind == "complex":
        a = a.astype(complex)
    elif kind == "object":
        a = a.astype(object)
    elif kind == "str":
        a = a.astype(str)
    elif kind == "list":
        return a.tolist()
    layout = draw(st.sampled_from(["c", "f", "strided", "readonly"]))
    if layout == "f":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim >= 1:
        big = np.repeat(a, 2, axis=0)
        a = big[::2]
    elif layout == "readonly" and isinstance(a, np.ndarray):
        a = a.copy()
        a.flags.writeable = False
    return a


sizes_strategy = st.lists(st.integers(1, 6), min_size=2, max_size=4)


def check_call(net, call):
    """Run call(); it succeeds or raises a documented exception, and a failure leaves the
    parameters exactly as they were."""
    before = net.params.copy()
    try:
        return call()
    except DOCUMENTED:
        np.testing.assert_array_equal(net.params, before)
        return None


@fuzz
@given(sizes=sizes_strategy, X=arrays(), Y=arrays(), data=st.data())
def test_evaluation_calls(sizes, X, Y, data):
    net = mlp.MLP(sizes, seed=0)
    out = check_call(net, lambda: net.predict(X))
    if out is not None:
        assert np.isfinite(out).all() and out.shape[-1] == sizes[-1]
    cost = data.draw(st.sampled_from(["quadratic", "cross_entropy", "hinge", 3]))
    l2 = data.draw(st.one_of(st.floats(-1, 10), special))
    value = check_call(net, lambda: net.cost(X, Y, cost=cost, l2=l2))
    if value is not None:
        assert np.isfinite(value)
    check_call(net, lambda: net.gradient(X, Y, cost=cost, l2=l2))
    check_call(net, lambda: net.accuracy(X, Y))


@fuzz
@given(sizes=sizes_strategy, data=st.data())
def test_training_calls(sizes, data):
    net = mlp.MLP(sizes, seed=0)
    n = data.draw(st.integers(0, 8))
    X = data.draw(arrays(rows=n, cols=sizes[0]))
    Y = data.draw(st.one_of(arrays(rows=n, cols=sizes[-1]),
                            st.lists(st.integers(-1, sizes[-1]), min_size=n, max_size=n)))
    options = {
        "epochs": data.draw(st.sampled_from([0, 1, 2, -1, 1.5, None])),
        "batch_size": data.draw(st.sampled_from([1, 3, 100, 0, -2, "10"])),
        "eta": data.draw(st.one_of(st.floats(-1, 10), special)),
        "momentum": data.draw(st.sampled_from([0.0, 0.5, 0.99, 1.0, -0.1, np.nan])),
        "l2": data.draw(st.sampled_from([0.0, 1.0, -1.0, np.inf])),
        "cost": data.draw(st.sampled_from(["quadratic", "cross_entropy", "mse"])),
        "nesterov": data.draw(st.sampled_from([False, True, 1])),
        "shuffle": data.draw(st.sampled_from([True, False, "yes"])),
    }
    before = net.params.copy()
    try:
        history = net.fit(X, Y, **options)
    except DOCUMENTED:
        np.testing.assert_array_equal(net.params, before)
    except FloatingPointError:
        assert np.isfinite(net.params).all()  # rolled back to the last good epoch
    else:
        assert np.isfinite(net.params).all() and len(history) == options["epochs"]
    del options["epochs"]
    check_call(net, lambda: net.partial_fit(X, Y, **options))


@fuzz
@given(sizes=st.one_of(st.lists(st.one_of(st.integers(-3, 8), floats, st.text(max_size=2),
                                          st.booleans(), st.none()), max_size=5),
                       st.integers(), st.text(max_size=5), st.none()),
       init=st.sampled_from(["scaled", "normal", "glorot", "xavier", 3]),
       seed=st.one_of(st.integers(-5, 2**70), st.none(), st.text(max_size=2)))
def test_constructors(sizes, init, seed):
    try:
        net = mlp.MLP(sizes, init=init, seed=seed)
    except DOCUMENTED:
        return
    assert np.isfinite(net.params).all()
    try:
        twin = mlp.MLP.from_weights(net.weights, net.biases)
    except DOCUMENTED:  # pragma: no cover - a valid network always round-trips
        pytest.fail("from_weights rejected a valid network")
    np.testing.assert_array_equal(twin.params, net.params)


@fuzz
@given(weights=st.lists(arrays(), min_size=0, max_size=3),
       biases=st.lists(arrays(), min_size=0, max_size=3))
def test_from_weights(weights, biases):
    try:
        net = mlp.MLP.from_weights(weights, biases)
    except DOCUMENTED:
        return
    assert np.isfinite(net.params).all()


@fuzz
@given(blob=st.binary(max_size=600), cut=st.integers(0, 4000), flip=st.integers(0, 4000))
def test_model_files(tmp_path_factory, blob, cut, flip):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "m.npz"
    mlp.MLP([3, 4, 2], seed=0).save(path)
    raw = bytearray(path.read_bytes())
    for candidate in (bytes(blob), bytes(raw[:cut]),
                      bytes(raw[:flip % len(raw)]) + bytes([raw[flip % len(raw)] ^ 0x5A])
                      + bytes(raw[flip % len(raw) + 1:])):
        path.write_bytes(candidate)
        try:
            net = mlp.load(path)
        except mlp.ModelFileError:
            continue
        assert np.isfinite(net.params).all()
