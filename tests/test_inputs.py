"""Input handling: what is accepted converts exactly; what is not raises an error naming the
argument, and leaves the network untouched."""

import numpy as np
import pytest

import mlp
from mlp import _core, _validation

SIZES = [4, 3, 2]


@pytest.fixture
def net():
    return mlp.MLP(SIZES, seed=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (12, 4)), rng.integers(0, 2, 12)


# --- accepted inputs ---------------------------------------------------------------------

def variants(X):
    """Array-likes that all mean X (a 2-D float64 array of small integers)."""
    F = np.asfortranarray(X)
    big = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    big[::2, ::3] = X
    ro = X.copy()
    ro.flags.writeable = False
    # C-contiguous float64 that is not aligned: a view at an odd byte offset, and a field
    # of a packed structured array (each value 1 byte past a multiple of 8).
    raw = np.zeros(X.size * 8 + 1, dtype=np.uint8)
    odd = np.frombuffer(raw.data, dtype=np.float64, offset=1, count=X.size).reshape(X.shape)
    odd[...] = X
    packed = np.zeros(X.shape, dtype=np.dtype([("flag", "u1"), ("x", "<f8")], align=False))
    packed["x"] = X
    return {
        "misaligned": odd,
        "packed field": packed["x"],
        "big-endian": X.astype(">f8"),
        "list": X.tolist(),
        "float32": X.astype(np.float32),
        "int64": X.astype(np.int64),
        "uint8": X.astype(np.uint8),
        "fortran": F,
        "strided view": big[::2, ::3],
        "read-only": ro,
    }


@pytest.mark.parametrize("kind", list(variants(np.zeros((2, 2)))))
def test_array_likes_give_the_float64_result(net, kind):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, (6, 4)).astype(np.float64)
    labels = rng.integers(0, 2, 6)
    Y = np.eye(2)[labels]
    X_alt = variants(X)[kind]
    Y_alt = variants(Y)[kind]
    np.testing.assert_array_equal(net.predict(X_alt), net.predict(X))
    assert net.cost(X_alt, Y_alt) == net.cost(X, Y)
    assert net.accuracy(X_alt, labels.tolist()) == net.accuracy(X, labels)
    for a, b in zip(net.gradient(X_alt, Y_alt)[0], net.gradient(X, Y)[0]):
        np.testing.assert_array_equal(a, b)
    a, b = net.copy(), net.copy()
    a.fit(X_alt, Y_alt, epochs=2, batch_size=4, seed=3)
    b.fit(X, Y, epochs=2, batch_size=4, seed=3)
    np.testing.assert_array_equal(a.params, b.params)


def test_bool_inputs_are_zero_and_one(net):
    X = np.array([[True, False, True, True]])
    np.testing.assert_array_equal(net.predict(X), net.predict([[1.0, 0.0, 1.0, 1.0]]))


def test_float_labels_with_integer_values_are_accepted(net, data):
    X, labels = data
    assert net.cost(X, labels.astype(float)) == net.cost(X, labels)


def test_contiguous_float64_input_is_not_copied():
    X = np.ones((5, 4))
    assert _validation.as_inputs(X, "X", 4)[0] is X
    F = np.asfortranarray(X)
    assert _validation.as_inputs(F, "X", 4)[0] is not F


@pytest.mark.parametrize("kind", ["misaligned", "packed field", "big-endian"])
def test_misaligned_or_foreign_input_reaches_the_kernels_as_an_aligned_copy(kind):
    X = np.arange(20.0).reshape(5, 4)
    given = variants(X)[kind]
    assert not (given.flags.aligned and given.dtype.isnative)
    x = _validation.as_inputs(given, "X", 4)[0]
    assert x.flags.aligned and x.flags.c_contiguous and x.dtype == np.float64
    assert x.dtype.isnative and x.ctypes.data % 8 == 0
    np.testing.assert_array_equal(x, X)


def test_fit_leaves_the_callers_arrays_alone(net, data):
    X, labels = data
    X0, l0 = X.copy(), labels.copy()
    net.fit(X, labels, epochs=3, batch_size=5, seed=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(labels, l0)


def test_single_output_takes_1d_targets():
    net = mlp.MLP([2, 3, 1], seed=0)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    y = np.array([0.2, 0.7, 0.5])
    assert net.cost(X, y) == net.cost(X, y[:, None])


# --- rejected inputs ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "sizes, error, words",
    [
        ([5], ValueError, "at least 2"),
        ([], ValueError, "at least 2"),
        ([3, 0, 2], ValueError, "sizes[1]"),
        ([3, -4, 2], ValueError, "sizes[1]"),
        ([3, 2.5, 2], TypeError, "sizes[1]"),
        ([3, True, 2], TypeError, "sizes[1]"),
        ([3, "4", 2], TypeError, "sizes[1]"),
        (784, TypeError, "sequence"),
        ("784,30", TypeError, "sequence"),
        ([3, 2**31, 2], ValueError, "sizes[1]"),
        ([100_000, 100_000, 10], ValueError, "parameters"),  # 80 GB: refused, not allocated
    ],
)
def test_invalid_sizes(sizes, error, words):
    with pytest.raises(error, match=None) as info:
        mlp.MLP(sizes)
    assert words in str(info.value)


def test_invalid_init_and_seed():
    with pytest.raises(ValueError, match="init"):
        mlp.MLP([2, 2], init="xavier")
    with pytest.raises(TypeError, match="seed"):
        mlp.MLP([2, 2], seed="abc")
    with pytest.raises(TypeError, match="seed"):
        mlp.MLP([2, 2], seed=-1)


BAD_X = [
    (np.ones((3, 5)), ValueError, "features"),
    (np.ones((3, 4, 1)), ValueError, "2-D"),
    (np.ones((0, 4)), ValueError, "empty"),
    (np.array([[1, 2, np.nan, 4.0]]), ValueError, "NaN"),
    (np.array([[1, 2, np.inf, 4.0]]), ValueError, "NaN or infinity"),
    (np.array([["a", "b", "c", "d"]]), TypeError, "dtype"),
    (np.array([[1, 2, 3, 4]], dtype=object), TypeError, "dtype"),
    (np.ones((2, 4), dtype=complex), TypeError, "dtype"),
    ([[1, 2, 3, 4], [1, 2]], ValueError, "numeric array"),
]


@pytest.mark.parametrize("X, error, words", BAD_X)
def test_bad_X_is_rejected_everywhere(net, X, error, words):
    before = net.params.copy()
    labels = np.zeros(len(X), dtype=int) if hasattr(X, "__len__") else [0]
    for call in (
        lambda: net.predict(X),
        lambda: net.cost(X, labels),
        lambda: net.gradient(X, labels),
        lambda: net.accuracy(X, labels),
        lambda: net.fit(X, labels, epochs=1),
    ):
        with pytest.raises(error) as info:
            call()
        assert words in str(info.value) and "X" in str(info.value)
    np.testing.assert_array_equal(net.params, before)


def test_predict_rejects_wrong_1d_length(net):
    with pytest.raises(ValueError, match="features"):
        net.predict(np.ones(3))


BAD_Y = [
    (np.zeros((12, 3)), ValueError, "columns"),
    (np.zeros((11, 2)), ValueError, "rows"),
    (np.zeros(11, dtype=int), ValueError, "rows"),
    (np.full(12, 2), ValueError, "[0, 2)"),
    (np.full(12, -1), ValueError, "[0, 2)"),
    (np.full(12, 0.5), ValueError, "integer"),
    (np.array([np.nan] * 12), ValueError, "integer"),
    (np.full((12, 2), np.nan), ValueError, "NaN"),
    (np.array(["a"] * 12), TypeError, "dtype"),
    (np.zeros((12, 2, 1)), ValueError, "shape"),
]


@pytest.mark.parametrize("Y, error, words", BAD_Y)
def test_bad_Y_is_rejected(net, data, Y, error, words):
    X, _ = data
    before = net.params.copy()
    for call in (lambda: net.cost(X, Y), lambda: net.gradient(X, Y),
                 lambda: net.fit(X, Y, epochs=1)):
        with pytest.raises(error) as info:
            call()
        assert words in str(info.value) and "Y" in str(info.value)
    np.testing.assert_array_equal(net.params, before)


def test_bad_labels_for_accuracy(net, data):
    X, labels = data
    with pytest.raises(ValueError, match="labels must be 1-D"):
        net.accuracy(X, np.eye(2)[labels])
    with pytest.raises(ValueError, match=r"labels must be class labels in \[0, 2\)"):
        net.accuracy(X, labels + 1)


@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"epochs": -1}, ValueError, "epochs"),
        ({"epochs": 2.0}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": None}, TypeError, "batch_size"),
        ({"eta": 0.0}, ValueError, "eta"),
        ({"eta": -1.0}, ValueError, "eta"),
        ({"eta": float("nan")}, ValueError, "eta"),
        ({"eta": float("inf")}, ValueError, "eta"),
        ({"eta": "fast"}, TypeError, "eta"),
        ({"shuffle": "yes"}, TypeError, "shuffle"),
        ({"seed": "x"}, TypeError, "seed"),
        ({"validation_data": np.ones((2, 4))}, TypeError, "validation_data"),
        ({"validation_data": (np.ones((2, 5)), [0, 1])}, ValueError, "validation_data X"),
        ({"validation_data": (np.ones((2, 4)), [0, 7])}, ValueError, "validation_data Y"),
    ],
)
def test_bad_fit_options_leave_the_network_alone(net, data, options, error, words):
    X, labels = data
    before = net.params.copy()
    with pytest.raises(error) as info:
        net.fit(X, labels, **options)
    assert words in str(info.value)
    np.testing.assert_array_equal(net.params, before)


def test_from_weights_checks_its_arrays():
    W1, W2, b1, b2 = np.ones((3, 2)), np.ones((2, 4)), np.ones(2), np.ones(4)
    net = mlp.MLP.from_weights([W1, W2], [b1, b2])
    assert net.sizes == (3, 2, 4)
    W1[0, 0] = 5.0  # copied, not shared
    assert net.weights[0][0, 0] == 1.0
    cases = [
        (([W1, np.ones((3, 4))], [b1, b2]), ValueError, "previous layer"),
        (([W1, W2], [b1, np.ones(3)]), ValueError, "biases[1]"),
        (([W1], [b1, b2]), ValueError, "equal length"),
        (([], []), ValueError, "non-empty"),
        (([W1, np.full((2, 4), np.nan)], [b1, b2]), ValueError, "weights[1]"),
        (([W1, W2], [b1, np.full(4, np.inf)]), ValueError, "biases[1]"),
        (([np.ones(3)], [b1]), ValueError, "weights[0] must be 2-D"),
        (([np.ones((3, 0))], [np.ones(0)]), ValueError, "empty"),
        (([np.array([["a"]])], [np.ones(1)]), TypeError, "weights[0]"),
        ((W1, b1), TypeError, "lists"),
    ]
    for args, error, words in cases:
        with pytest.raises(error) as info:
            mlp.MLP.from_weights(*args)
        assert words in str(info.value), (args, str(info.value))


def test_divergence_is_reported_and_rolled_back():
    # Sigmoid units saturate, so only extreme settings diverge: with zero weights every
    # output is 0.5 and the first update of W is -eta * 0.125 * x, which for x = 1e200 and
    # eta = 1e300 overflows to infinity.
    net = mlp.MLP.from_weights([np.zeros((4, 2))], [np.zeros(2)])
    X = np.full((6, 4), 1e200)
    labels = np.array([0, 1, 0, 1, 0, 1])
    net.fit(X / 1e200, labels, epochs=1, eta=0.5, seed=0)  # a sane epoch first
    probe = net.copy()
    with pytest.raises(FloatingPointError, match="smaller eta") as info:
        net.fit(X, labels, epochs=5, batch_size=2, eta=1e300, seed=0)
    failed = int(str(info.value).split("epoch ")[1].split(":")[0])
    # The parameters are those from before the failing epoch: what the epochs before it
    # (same seed, so the same shuffles) produce on their own.
    probe.fit(X, labels, epochs=failed - 1, batch_size=2, eta=1e300, seed=0)
    np.testing.assert_array_equal(net.params, probe.params)
    assert np.isfinite(net.params).all()


# --- the compiled boundary ---------------------------------------------------------------

def test_core_functions_check_their_buffers():
    sizes = np.array([3, 4, 2], dtype=np.intp)
    params = np.zeros(_core.n_params(sizes))
    x, y = np.zeros((5, 3)), np.zeros((5, 2))
    work = np.zeros(_core.epoch_work_size(sizes, 2))
    order = np.arange(5, dtype=np.intp)
    none = np.empty(0)
    units = np.array([_core.TANH, _core.SOFTMAX], dtype=np.intc)
    sigmoids = np.zeros(2, dtype=np.intc)

    def epoch(params, state, sizes, *args, units=sigmoids, **kwargs):
        return _core.train_epoch(params, state, sizes, units, *args, **kwargs)

    def predict(params, sizes, *args):
        return _core.predict(params, sizes, sigmoids, *args)

    def gradient(params, sizes, *args):
        return _core.gradient(params, sizes, sigmoids, *args)

    epoch(params, none, sizes, x, y, order, 2, 0.1, work)  # a correct call is fine
    epoch(params, none, sizes, x, y, order, 2, 0.1, work, units=units, cost=1)

    def odd(a):
        """a's values in a buffer that starts 1 byte past an aligned address"""
        raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
        b = np.frombuffer(raw.data, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
        b[...] = a
        assert not b.flags.aligned
        return b

    bad_calls = [
        (lambda: epoch(params[:-1], none, sizes, x, y, order, 2, 0.1, work), "params"),
        (lambda: epoch(params, none, sizes, x[:, :2].copy(), y, order, 2, 0.1, work), "x"),
        (lambda: epoch(params, none, sizes, x, y[:4].copy(), order, 2, 0.1, work), "y"),
        (lambda: epoch(params, none, sizes, x, y, order + 1, 2, 0.1, work), "order has"),
        (lambda: epoch(params, none, sizes, x, y, order - 1, 2, 0.1, work), "order has"),
        (lambda: epoch(params, none, sizes, x, y, order, 0, 0.1, work), "batch"),
        (lambda: epoch(params, none, sizes, x, y, order, 3, 0.1, work), "work"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.0, work), "eta must be"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work, momentum=0.5),
         "velocity"),
        (lambda: epoch(params, params[:-1].copy(), sizes, x, y, order, 2, 0.1, work,
                       momentum=0.5), "the velocity needs"),
        (lambda: epoch(params, params.copy(), sizes, x, y, order, 2, 0.1, work,
                       optimizer=_core.ADAM), "Adam's m and v need"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work,
                       optimizer=_core.ADAM), "m, v buffers"),
        (lambda: epoch(params, np.zeros(2 * params.size), sizes, x, y, order, 2, 0.1, work,
                       optimizer=_core.ADAM, epsilon=0.0), "epsilon > 0"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work, units=units),
         "does not go with the output"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work,
                       units=units[::-1].copy(), cost=1), "tanh and relu are for hidden"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work,
                       units=np.zeros(3, dtype=np.intc)), "activations has 3 entries"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work, units=odd(units)),
         "activations is not aligned"),
        (lambda: _core.predict(params, sizes, np.array([0, 9], dtype=np.intc), x,
                               np.zeros((5, 2)), work, 2), "activations"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, work, cost=7), "cost"),
        (lambda: epoch(params, params.copy(), sizes, x, y, order, 2, 0.1, work,
                       momentum=1.5), "momentum"),
        (lambda: predict(params, sizes, x, np.zeros((5, 3)), work, 2), "out"),
        (lambda: predict(params, sizes, x, np.zeros((5, 2)), work[:0], 2), "work"),
        (lambda: gradient(params, sizes, x, y, params[:-1].copy(), 1.0, work, 2),
         "out"),
        (lambda: _core.n_params(np.array([3], dtype=np.intp)), "sizes"),
        (lambda: _core.n_params(np.array([3, 0], dtype=np.intp)), "sizes[1]"),
        # every buffer a kernel reads or writes must be aligned for its type
        (lambda: epoch(odd(params), none, sizes, x, y, order, 2, 0.1, work),
         "params is not aligned"),
        (lambda: epoch(params, odd(params), sizes, x, y, order, 2, 0.1, work, momentum=0.5),
         "state is not aligned"),
        (lambda: epoch(params, none, odd(sizes), x, y, order, 2, 0.1, work),
         "sizes is not aligned"),
        (lambda: epoch(params, none, sizes, odd(x), y, order, 2, 0.1, work), "x is not aligned"),
        (lambda: epoch(params, none, sizes, x, odd(y), order, 2, 0.1, work), "y is not aligned"),
        (lambda: epoch(params, none, sizes, x, y, odd(order), 2, 0.1, work),
         "order is not aligned"),
        (lambda: epoch(params, none, sizes, x, y, order, 2, 0.1, odd(work)),
         "work is not aligned"),
        (lambda: predict(odd(params), sizes, x, np.zeros((5, 2)), work, 2),
         "params is not aligned"),
        (lambda: predict(params, sizes, odd(x), np.zeros((5, 2)), work, 2),
         "x is not aligned"),
        (lambda: predict(params, sizes, x, odd(np.zeros((5, 2))), work, 2),
         "out is not aligned"),
        (lambda: predict(params, sizes, x, np.zeros((5, 2)), odd(work), 2),
         "work is not aligned"),
        (lambda: gradient(odd(params), sizes, x, y, params.copy(), 1.0, work, 2),
         "params is not aligned"),
        (lambda: gradient(params, sizes, odd(x), y, params.copy(), 1.0, work, 2),
         "x is not aligned"),
        (lambda: gradient(params, sizes, x, odd(y), params.copy(), 1.0, work, 2),
         "y is not aligned"),
        (lambda: gradient(params, sizes, x, y, odd(params), 1.0, work, 2),
         "out is not aligned"),
        (lambda: gradient(params, sizes, x, y, params.copy(), 1.0, odd(work), 2),
         "work is not aligned"),
        (lambda: _core.sigmoid(odd(x[0])), "x is not aligned"),
        (lambda: _core.all_finite(odd(x[0])), "x is not aligned"),
        (lambda: _core.n_params(odd(sizes)), "sizes is not aligned"),
        (lambda: _core.epoch_work_size(odd(sizes), 2), "sizes is not aligned"),
    ]
    for call, words in bad_calls:
        with pytest.raises(ValueError) as info:
            call()
        assert words in str(info.value)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_non_finite_rows_found_late_in_the_data(monkeypatch, batch_size):
    # The kernels check rows as they use them; a bad row far into the data, seen only
    # after several kernel calls and many updates, must still leave the network untouched.
    from mlp import network

    monkeypatch.setattr(network, "_SEGMENT_FLOPS", 1.0)  # one kernel call per batch
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (3000, 4))
    labels = rng.integers(0, 2, 3000)
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = X.copy()
        X_bad[2500, 2] = bad
        net = mlp.MLP(SIZES, seed=0)
        before = net.params.copy()
        with pytest.raises(ValueError, match=r"X contains NaN or infinity \(row 2500\)"):
            net.fit(X_bad, labels, epochs=2, batch_size=batch_size, seed=1)
        np.testing.assert_array_equal(net.params, before)
        with pytest.raises(ValueError, match=r"X contains NaN or infinity \(row 2500\)"):
            net.predict(X_bad)
        for call in (lambda: net.cost(X_bad, labels), lambda: net.accuracy(X_bad, labels),
                     lambda: net.gradient(X_bad, labels), lambda: net.fit(X_bad, labels, epochs=0)):
            with pytest.raises(ValueError, match="X contains NaN or infinity"):
                call()
        np.testing.assert_array_equal(net.params, before)
