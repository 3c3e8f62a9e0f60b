"""The book's network2.py files (mlp.io.load_network2): a network it saved predicts here as
the book's feedforward does, keeps training by the book's update rule with the file's cost,
and malformed files are refused with a ModelFileError naming the problem."""

import doctest
import json
import os
import pickle

import numpy as np
import pytest

import mlp
import mlp._network2
from mlp import io as mio
from mlp.io import ModelFileError


# --- the book's network2.py, as far as the tests need it --------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_network(sizes, seed=0, scale=1.0):
    """``network2.Network(sizes).default_weight_initializer()``'s weights and biases
    (``scale`` times larger, to reach beyond the sigmoid's linear middle)."""
    rng = np.random.default_rng(seed)
    biases = [scale * rng.standard_normal((y, 1)) for y in sizes[1:]]
    weights = [scale * rng.standard_normal((y, x)) / np.sqrt(x)
               for x, y in zip(sizes[:-1], sizes[1:])]
    return weights, biases


def book_save(path, sizes, weights, biases, cost="CrossEntropyCost"):
    """``network2.Network.save(path)``, line for line."""
    data = {"sizes": sizes,
            "weights": [w.tolist() for w in weights],
            "biases": [b.tolist() for b in biases],
            "cost": cost}
    f = open(path, "w")
    json.dump(data, f)
    f.close()
    return path


def book_feedforward(weights, biases, a):
    """``network2.Network.feedforward``: ``a`` a column vector."""
    for b, w in zip(biases, weights):
        a = sigmoid(np.dot(w, a) + b)
    return a


def book_update_mini_batch(weights, biases, mini_batch, eta, lmbda, n, cost):
    """``network2.Network.update_mini_batch`` (with its ``backprop``), returning the new
    weights and biases."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        activation, activations, zs = x, [x], []
        for b, w in zip(biases, weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        a = activations[-1]
        if cost == "CrossEntropyCost":
            delta = a - y
        else:
            delta = (a - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        d_b, d_w = [None] * len(biases), [None] * len(weights)
        d_b[-1], d_w[-1] = delta, np.dot(delta, activations[-2].T)
        for l in range(2, len(weights) + 1):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = np.dot(weights[-l + 1].T, delta) * sp
            d_b[-l], d_w[-l] = delta, np.dot(delta, activations[-l - 1].T)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, d_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, d_w)]
    m = len(mini_batch)
    weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def saved(tmp_path, sizes, seed=0, cost="CrossEntropyCost", scale=1.0):
    weights, biases = book_network(sizes, seed, scale)
    path = book_save(tmp_path / "net.json", sizes, weights, biases, cost)
    return path, weights, biases


# [n_in, n_out] without a hidden layer; square layers, where a loader that forgets the
# transpose builds a network of the right shapes with the wrong weights; a deep one; the
# book's MNIST network.
SHAPES = [[1, 1], [3, 2], [2, 5], [4, 4, 4], [5, 7, 3], [6, 5, 5, 5, 5, 2], [784, 30, 10]]


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_predict_is_the_books_feedforward(tmp_path, sizes):
    path, weights, biases = saved(tmp_path, sizes, scale=2.0)
    net, cost = mio.load_network2(path)
    assert net.sizes == tuple(sizes) and cost == "cross_entropy"
    assert net.activation == ("sigmoid",) * (len(sizes) - 2) and net.output == "sigmoid"
    X = np.random.default_rng(1).uniform(-2, 2, (17, sizes[0]))
    expected = np.hstack([book_feedforward(weights, biases, x.reshape(-1, 1)) for x in X]).T
    got = net.predict(X)
    assert np.ptp(expected) > 0.1  # outputs that tell weights apart
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.predict(X[0]), expected[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("sizes", SHAPES[:-1], ids=str)
def test_parameters_are_the_files_exactly_in_our_layout(tmp_path, sizes):
    path, weights, biases = saved(tmp_path, sizes)
    net = mio.load_network2(path).net
    for l, (w, b) in enumerate(zip(weights, biases)):
        assert net.weights[l].shape == (sizes[l], sizes[l + 1])
        assert net.weights[l].tobytes() == np.ascontiguousarray(w.T).tobytes()  # bit for bit
        assert net.biases[l].tobytes() == b.ravel().tobytes()


def test_a_square_layer_is_not_read_untransposed(tmp_path):
    # w[i, j] connects input j to neuron i: input 0 drives only neuron 1.
    w = np.array([[0.0, 0.0], [9.0, 0.0]])
    path = book_save(tmp_path / "net.json", [2, 2], [w], [np.zeros((2, 1))])
    out = mio.load_network2(path).net.predict([1.0, 0.0])
    np.testing.assert_allclose(out, [0.5, sigmoid(9.0)], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name, ours", [("CrossEntropyCost", "cross_entropy"),
                                        ("QuadraticCost", "quadratic")])
def test_the_cost_is_returned_as_fit_names_it(tmp_path, name, ours):
    path, _, _ = saved(tmp_path, [3, 2], cost=name)
    loaded = mio.load_network2(path)
    assert loaded.cost == ours and loaded == (loaded.net, ours)
    assert isinstance(loaded, mio.Network2File) and isinstance(loaded.net, mlp.MLP)
    assert loaded.net.cost(np.zeros((1, 3)), np.zeros((1, 2)), cost=loaded.cost) > 0


def test_accepts_path_objects_str_and_a_byte_order_mark(tmp_path):
    path, weights, _ = saved(tmp_path, [2, 1])
    for given in (path, str(path)):
        assert mio.load_network2(given).net.weights[0][0, 0] == weights[0][0, 0]
    text = path.read_text()
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())  # a BOM, as a Windows editor adds
    assert mio.load_network2(path).net.weights[0][0, 0] == weights[0][0, 0]


def test_integers_in_the_file_are_numbers(tmp_path):
    data = {"sizes": [2, 1], "weights": [[[1, -2]]], "biases": [[[0]]], "cost": "QuadraticCost"}
    path = tmp_path / "int.json"
    path.write_text(json.dumps(data))
    net = mio.load_network2(path).net
    assert net.params.tolist() == [1.0, -2.0, 0.0]


# --- training on ------------------------------------------------------------------------


@pytest.mark.parametrize("cost", ["CrossEntropyCost", "QuadraticCost"])
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_a_fit_step_is_the_books_update(tmp_path, cost, lmbda):
    """One full-batch epoch of fit, with the file's cost and l2 = lmbda, is one
    update_mini_batch of the book."""
    sizes = [4, 5, 3]
    path, weights, biases = saved(tmp_path, sizes, cost=cost)
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (8, 4))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    batch = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y)]
    w2, b2 = book_update_mini_batch(weights, biases, batch, 0.5, lmbda, len(X), cost)
    net, our_cost = mio.load_network2(path)
    net.fit(X, Y, epochs=1, batch_size=len(X), eta=0.5, l2=lmbda, cost=our_cost,
            shuffle=False)
    assert not np.allclose(w2[0], weights[0], rtol=0, atol=1e-6)  # the step moved
    for l in range(len(w2)):
        np.testing.assert_allclose(net.weights[l], w2[l].T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.biases[l], b2[l].ravel(), rtol=0, atol=1e-12)


def test_training_on_improves_the_books_network(tmp_path):
    path, _, _ = saved(tmp_path, [2, 6, 2])
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (200, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR of the signs
    net, cost = mio.load_network2(path)
    before = net.cost(X, labels, cost=cost)
    history = net.fit(X, labels, epochs=60, batch_size=10, eta=1.0, cost=cost, seed=0)
    assert len(history) == 60
    assert net.cost(X, labels, cost=cost) < 0.5 * before
    assert net.accuracy(X, labels) > 0.9


def test_the_loaded_network_saves_and_loads_as_an_mlp_model(tmp_path):
    path, _, _ = saved(tmp_path, [3, 4, 2])
    net = mio.load_network2(path).net
    net.save(tmp_path / "model.npz")
    assert mlp.load(tmp_path / "model.npz").params.tobytes() == net.params.tobytes()


# --- malformed files --------------------------------------------------------------------


def good(**changes):
    """A valid [2, 3, 1] network2 object with ``changes``."""
    weights, biases = book_network([2, 3, 1])
    data = {"sizes": [2, 3, 1], "weights": [w.tolist() for w in weights],
            "biases": [b.tolist() for b in biases], "cost": "CrossEntropyCost"}
    data.update(changes)
    return json.dumps(data)


def without(key):
    data = json.loads(good())
    del data[key]
    return json.dumps(data)


W0 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]  # weights[0] of [2, 3, 1], shape (3, 2)
W1 = [[0.1, 0.2, 0.3]]


def weights_with(value, at=(0, 1, 1)):
    l, i, j = at
    ws = [json.loads(json.dumps(W0)), json.loads(json.dumps(W1))]
    ws[l][i][j] = value
    return good(weights=ws)


BAD = [
    # not JSON, not an object
    ("empty", "", r"the file is empty \(0 bytes\)"),
    ("not json", "sizes: [2, 1]", r"not valid JSON \(Expecting value: line 1 column 1"),
    ("truncated", good()[:-20], r"not valid JSON"),
    ("not utf-8", b'{"sizes": "\xff"}', r"not UTF-8 text"),
    ("a zip", b"PK\x03\x04rest", r"a zip file, not the JSON network2\.py writes.*mlp\.load"),
    ("deeply nested", "[" * 100000 + "]" * 100000, r"not valid JSON"),
    ("a list", "[1, 2]", r"must hold a JSON object .*'sizes', 'weights', 'biases', "
                         r"'cost'.*got a list of 2"),
    ("a number", "3.5", r"must hold a JSON object .* got a number"),
    ("null", "null", r"must hold a JSON object .* got null"),
    # keys
    ("no cost", without("cost"), r"lacks 'cost': network2\.py saves exactly 'sizes'"),
    ("no weights", without("weights"), r"lacks 'weights'"),
    ("extra key", good(eta=0.5), r"unexpected key 'eta': network2\.py saves exactly"),
    ("key twice", good()[:-1] + ', "cost": "QuadraticCost"}',
     r"not valid JSON \(the key 'cost' appears twice\)"),
    # sizes
    ("sizes not a list", good(sizes="2, 3, 1"),
     r"sizes must be a list of layer sizes .* got \"2, 3, 1\""),
    ("sizes an object", good(sizes={"0": 2}), r"sizes must be a list"),
    ("one size", good(sizes=[2]), r"sizes are invalid: sizes needs at least 2 entries"),
    ("no sizes", good(sizes=[]), r"sizes are invalid: sizes needs at least 2 entries"),
    ("size zero", good(sizes=[2, 0, 1]), r"sizes are invalid: sizes\[1\] must be in \[1,"),
    ("size negative", good(sizes=[-2, 3, 1]), r"sizes are invalid: sizes\[0\] must be in"),
    ("size a float", good(sizes=[2, 3.0, 1]),
     r"sizes are invalid: sizes\[1\] must be an int, got 3\.0"),
    ("size a bool", good(sizes=[2, True, 1]), r"sizes\[1\] must be an int, got True"),
    ("size a string", good(sizes=[2, "3", 1]), r"sizes\[1\] must be an int, got '3'"),
    ("sizes disagree", good(sizes=[2, 4, 1]),
     r"weights\[0\] must have shape \(4, 2\) for sizes \[2, 4, 1\], as network2\.py saves "
     r"it: a row of 2 numbers for each of the layer's 4 neurons; got shape \(3, 2\)$"),
    ("sizes too deep", good(sizes=[2, 3, 1, 1]),
     r"weights must be a list of 3 matrices, one per layer after the input .* got a list of 2"),
    # cost
    ("unknown cost", good(cost="LogLikelihoodCost"),
     r"the cost is \"LogLikelihoodCost\": mlp reads network2's costs 'QuadraticCost' and "
     r"'CrossEntropyCost' only"),
    ("cost not a string", good(cost=1), r"the cost is 1: mlp reads"),
    ("cost lowercase", good(cost="crossentropycost"), r"the cost is \"crossentropycost\""),
    # counts
    ("weights not a list", good(weights={"0": W0}),
     r"weights must be a list of 2 matrices, .* got an object"),
    ("one weight too few", good(weights=[W0]), r"weights must be a list of 2 .* got a list of 1"),
    ("biases too many", good(biases=[[[0.0]] * 3, [[0.0]], [[0.0]]]),
     r"biases must be a list of 2 matrices, .* got a list of 3"),
    # shapes
    ("transposed", good(weights=[[[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], W1]),
     r"weights\[0\] must have shape \(3, 2\) for sizes \[2, 3, 1\], as network2\.py saves "
     r"it: .*; got shape \(2, 3\) \(transposed\?\)"),
    ("ragged", good(weights=[[[0.1, 0.2], [0.3], [0.5, 0.6]], W1]),
     r"weights\[0\] must have shape \(3, 2\) .* got 3 ragged rows: row 0 has 2 numbers, row 1 "
     r"has 1$"),
    ("a flat matrix", good(weights=[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], W1]),
     r"weights\[0\] .* got 6 rows of which row 0 is a number, not a list"),
    ("empty matrix", good(weights=[[], W1]), r"weights\[0\] .* got an empty list"),
    ("a 3-d matrix", good(weights=[[[[0.1], [0.2]]] * 3, W1]),
     r"weights\[0\]\[0\]\[0\] is \[0\.1\], not a number"),
    ("flat biases", good(biases=[[0.0, 0.0, 0.0], [[0.0]]]),
     r"biases\[0\] must have shape \(3, 1\) .*: a row of 1 number for each of the layer's 3 "
     r"neurons; got 3 rows of which row 0 is a number"),
    ("biases a row", good(biases=[[[0.0, 0.0, 0.0]], [[0.0]]]),
     r"biases\[0\] .* got shape \(1, 3\) \(transposed\?\)"),
    ("bias a scalar", good(biases=[[[0.0]] * 3, 0.5]), r"biases\[1\] .* got a number"),
    # values
    ("a string value", weights_with("0.5"), r"weights\[0\]\[1\]\[1\] is \"0\.5\", not a number"),
    ("a bool value", weights_with(True), r"weights\[0\]\[1\]\[1\] is true, not a number"),
    ("a null value", weights_with(None), r"weights\[0\]\[1\]\[1\] is null, not a number"),
    ("an object value", good(biases=[[[0.0], [{"b": 1}], [0.0]], [[0.0]]]),
     r"biases\[0\]\[1\]\[0\] is \{\"b\": 1\}, not a number"),
    ("NaN", weights_with(float("nan"), at=(1, 0, 2)),
     r"weights\[1\]\[0\]\[2\] is nan: the parameters must be finite \(NaN or infinity in a "
     r"network2 file means its training diverged\)"),
    ("Infinity", good(biases=[[[0.0], [0.0], [float("-inf")]], [[0.0]]]),
     r"biases\[0\]\[2\]\[0\] is -inf: the parameters must be finite"),
    ("overflowing float", weights_with(12345.5, at=(1, 0, 1)).replace("12345.5", "1e400"),
     r"weights\[1\]\[0\]\[1\] is inf: the parameters must be finite"),
    ("huge integer", good(weights=[W0, [[0.1, 10**400, 0.3]]]),
     r"weights\[1\] holds an integer too large for a float64"),
]


@pytest.mark.parametrize("content, match", [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_malformed_files_are_refused_naming_the_problem(tmp_path, content, match):
    path = tmp_path / "bad.json"
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match) as info:
        mio.load_network2(path)
    assert type(info.value) is ModelFileError and isinstance(info.value, ValueError)
    assert info.value.path == str(path) and str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)
    # no traceback of json's or numpy's chained to it
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)


def test_each_malformed_case_is_valid_but_for_its_problem(tmp_path):
    # The cases are built from good(); good() itself loads.
    path = tmp_path / "good.json"
    path.write_text(good())
    assert mio.load_network2(path).net.sizes == (2, 3, 1)
    path.write_text(good(weights=[W0, W1]))
    assert mio.load_network2(path).net.weights[1].ravel().tolist() == W1[0]


def test_missing_file_folder_and_wrong_path_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such network2 file") as info:
        mio.load_network2(tmp_path / "absent.json")
    assert info.value.filename == str(tmp_path / "absent.json")
    with pytest.raises(IsADirectoryError, match="a folder, not a network2 file"):
        mio.load_network2(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        mio.load_network2(3)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        mio.load_network2(fifo)


def test_files_over_the_size_limit_are_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text(good())
    size = path.stat().st_size
    monkeypatch.setattr(mlp._network2, "MAX_NETWORK2_BYTES", size)
    assert mio.load_network2(path).net.sizes == (2, 3, 1)  # exactly at the limit
    monkeypatch.setattr(mlp._network2, "MAX_NETWORK2_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=rf"larger than {size - 1:,} bytes, the most "
                       r"load_network2 reads.*network2\.load .*mlp\.MLP\.from_weights"):
        mio.load_network2(path)
    path.write_text("[" + " " * (2 * size) + "]")  # refused without being read
    with pytest.raises(ModelFileError, match="larger than"):
        mio.load_network2(path)
    assert mlp._network2.MAX_NETWORK2_BYTES == size - 1
    monkeypatch.undo()
    assert mlp._network2.MAX_NETWORK2_BYTES == 2**28


def test_the_api_is_in_mlp_io():
    assert {"load_network2", "Network2File"} <= set(mio.__all__)
    assert mio.load_network2 is mlp._network2.load_network2
    assert mio.Network2File._fields == ("net", "cost")
    assert set(mlp._network2.COSTS.values()) <= {"quadratic", "cross_entropy"}


def test_docstring_examples():
    result = doctest.testmod(mlp._network2, verbose=False)
    assert result.attempted > 5 and result.failed == 0
