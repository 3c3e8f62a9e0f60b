"""Hidden activations (sigmoid, tanh, relu, identity, one per layer if wished) and output
layers (sigmoid, softmax, identity) against the per-sample reference (``_reference.py``,
itself checked in ``test_reference.py``): predict, cost and gradient for every activation
and every (output, cost) pair, two epochs of fit at batch sizes that take every kernel,
finite differences of MLP.gradient; how a network reports, rebuilds, pickles and copies
its choice; the rejection of every invalid choice; and that the default network is still
the seed's.

Not here: Adam (``test_adam.py``); the seed's sigmoid network on its own
(``test_math.py``) and its options (``test_options.py``).
"""

import copy
import math
import pickle

import numpy as np
import pytest

import _reference as ref
import mlp

pytestmark = pytest.mark.kernels

HIDDEN = ["sigmoid", "tanh", "relu", "identity", "mixed"]
PAIRS = ref.PAIRS
# Widths that reach the kernels' branches: whole vectors and tails, more than one chunk,
# two hidden layers, a wide input.
SIZES = [[9, 30, 7], [9, 33, 12, 7], [20, 8, 5]]
# Batch sizes for 17 rows: single rows, small batches (up to 12 rows take their own
# kernels) with a short last batch, and 13 rows (beyond them) then 4.
BATCHES = (1, 3, 13)
N = 17


def pair_id(pair):
    return f"{pair[0]}-{pair[1]}"


def sizes_id(sizes):
    return "x".join(map(str, sizes))


def hidden_for(name, sizes):
    """The ``activation=`` argument: a name, or for "mixed" a list with a different name per
    hidden layer (relu, tanh, identity, sigmoid, ...)."""
    if name != "mixed":
        return name
    cycle = ["relu", "tanh", "identity", "sigmoid"]
    return [cycle[l % 4] for l in range(len(sizes) - 2)]


def targets(rng, output, n, k):
    """Targets the cost is defined for: in [0, 1] for a sigmoid output, probability rows
    (summing to 1, so that a - y is the gradient) for softmax, any real for identity, counts
    (zeros included) for exp, the Poisson output."""
    if output == "softmax":
        return rng.dirichlet(np.ones(k), n)
    if output == "exp":
        return rng.poisson(1.0, (n, k)).astype(float)
    if output == "identity":
        return rng.uniform(-1.0, 1.0, (n, k))
    return rng.uniform(0.0, 1.0, (n, k))


def problem(sizes, hidden, output, n=N, seed=0):
    """(net, X, Y): the default initialisation (weights N(0, 1/n_in), biases N(0, 1)),
    so that no layer saturates, inputs in [-1, 1) and targets for ``output``."""
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, activation=hidden_for(hidden, sizes), output=output, seed=seed)
    X = rng.uniform(-1.0, 1.0, (n, sizes[0]))
    return net, X, targets(rng, output, n, sizes[-1])


def each_kernel_set():
    """The kernel level this process runs (the test of every level, test_kernel_levels.py,
    runs these tests again at each level the machine has, through MLP_KERNELS)."""
    yield mlp.kernel_level()


def assert_params_equal(net, W, B, tol, what=""):
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=tol, atol=tol,
                                   err_msg=f"{what} W[{l}]")
        np.testing.assert_allclose(net.biases[l], B[l], rtol=tol, atol=tol,
                                   err_msg=f"{what} b[{l}]")


def one_hot(labels, k):
    return np.eye(k)[labels]


# --- against the reference ---------------------------------------------------------------

@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("sizes", SIZES, ids=sizes_id)
def test_predict_cost_and_gradient_match_reference(sizes, hidden, pair):
    output, cost = pair
    net, X, Y = problem(sizes, hidden, output)
    act = hidden_for(hidden, sizes)
    W, B = ref.to_lists(net.weights, net.biases)
    expected = np.array([ref.forward_with(W, B, x, act, output)[-1] for x in X])
    gradients = {(n, l2): ref.gradient(W, B, X[:n].tolist(), Y[:n].tolist(), cost, l2, act,
                                       output)
                 for n in (1, 12, N) for l2 in (0.0, 1.5)}
    costs = {l2: ref.mean_cost(W, B, X.tolist(), Y.tolist(), cost, l2, act, output)
             for l2 in (0.0, 1.5)}
    for kernels in each_kernel_set():
        np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12, atol=1e-12,
                                   err_msg=kernels)
        for k in (0, N - 1):   # one row: the single-sample kernels
            np.testing.assert_allclose(net.predict(X[k]), expected[k], rtol=1e-12,
                                       atol=1e-12, err_msg=kernels)
            np.testing.assert_allclose(net.predict(X[k:k + 1])[0], expected[k], rtol=1e-12,
                                       atol=1e-12, err_msg=kernels)
        for l2, value in costs.items():
            assert net.cost(X, Y, cost=cost, l2=l2) == pytest.approx(value, rel=1e-12,
                                                                      abs=1e-12), kernels
        for (n, l2), (gW, gB) in gradients.items():
            dW, db = net.gradient(X[:n], Y[:n], cost=cost, l2=l2)
            for l in range(len(W)):
                np.testing.assert_allclose(dW[l], gW[l], rtol=1e-12, atol=1e-12,
                                           err_msg=f"{kernels} n={n} l2={l2} dW[{l}]")
                np.testing.assert_allclose(db[l], gB[l], rtol=1e-12, atol=1e-12,
                                           err_msg=f"{kernels} n={n} l2={l2} db[{l}]")


SGD_OPTIONS = [{}, {"l2": 2.0}, {"momentum": 0.8, "l2": 1.0},
               {"momentum": 0.6, "nesterov": True}]


@pytest.mark.parametrize("options", SGD_OPTIONS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "sgd")
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("sizes", SIZES, ids=sizes_id)
def test_two_epochs_of_fit_match_reference(sizes, hidden, pair, options):
    output, cost = pair
    act = hidden_for(hidden, sizes)
    # identity and exp outputs have no squashing (exp after identity layers grows fastest)
    eta = {"identity": 0.02, "exp": 0.005}.get(output, 0.1)
    for batch_size in BATCHES:
        net, X, Y = problem(sizes, hidden, output, seed=batch_size)
        start = net.params.copy()
        W, B = ref.to_lists(net.weights, net.biases)
        velocity = ref.zeros_like(W, B)
        for _ in range(2):   # the second epoch starts from the first's velocity
            ref.sgd_epoch(W, B, X.tolist(), Y.tolist(), list(range(N)), batch_size, eta,
                          cost, options.get("l2", 0.0), None, options.get("momentum", 0.0),
                          options.get("nesterov", False), velocity, act, output)
        # the epochs moved the parameters (the comparison cannot pass trivially) and kept
        # them well-scaled (the tolerance is absolute as well as relative)
        moved = np.abs(np.array(ref.flat(W, B)) - start)
        assert 1e-3 < moved.max() < 5.0, moved.max()
        for kernels in each_kernel_set():
            net.params[...] = start
            net.fit(X, Y, epochs=2, batch_size=batch_size, eta=eta, cost=cost,
                    shuffle=False, **options)
            assert_params_equal(net, W, B, 1e-10, f"{kernels} batch {batch_size}")


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_shuffled_epochs_with_labels_match_reference(hidden, pair):
    # fit permutes the indices with numpy's Generator(seed).shuffle once per epoch, and
    # one-hot encodes class labels, whatever the output.
    output, cost = pair
    sizes = [9, 33, 12, 7]
    net, X, _ = problem(sizes, hidden, output, seed=5)
    labels = np.random.default_rng(5).integers(0, 7, N)
    W, B = ref.to_lists(net.weights, net.biases)
    rng = np.random.default_rng(42)
    order = np.arange(N)
    eta = 0.02 if output in ("identity", "exp") else 0.2
    for _ in range(2):
        rng.shuffle(order)
        ref.sgd_epoch(W, B, X.tolist(), one_hot(labels, 7).tolist(), order.tolist(), 4,
                      eta, cost, 0.0, None, 0.0, False, None, hidden_for(hidden, sizes),
                      output)
    assert np.abs(np.array(ref.flat(W, B)) - net.params).max() < 5.0   # well-scaled
    net.fit(X, labels, epochs=2, batch_size=4, eta=eta, cost=cost, seed=42)
    assert_params_equal(net, W, B, 1e-10)


# --- finite differences ------------------------------------------------------------------

def relu_margin(net, X):
    """The smallest |z| over the relu layers' inputs (inf if none): the finite differences
    must not cross the kink."""
    W, B = ref.to_lists(net.weights, net.biases)
    smallest = math.inf
    for x in X:
        acts = ref.forward_with(W, B, x, list(net.activation), net.output)
        for l, name in enumerate(net.activation):
            if name == "relu":
                z = np.asarray(B[l]) + np.asarray(acts[l]) @ np.asarray(W[l])
                smallest = min(smallest, float(np.abs(z).min()))
    return smallest


@pytest.mark.parametrize("l2", [0.0, 0.8])
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_matches_central_finite_differences(hidden, pair, l2):
    output, cost = pair
    sizes = [4, 5, 3, 3]
    seed = 6
    net, X, Y = problem(sizes, hidden, output, n=6, seed=seed)
    while relu_margin(net, X) < 1e-4:   # the first seed from 6 on that keeps off the kink
        seed += 1000
        net, X, Y = problem(sizes, hidden, output, n=6, seed=seed)
    dW, db = net.gradient(X, Y, cost=cost, l2=l2)
    # Guard against a check that passes trivially: every layer's gradient is substantial.
    for l in range(len(dW)):
        assert np.abs(dW[l]).max() > 1e-6 and np.abs(db[l]).max() > 1e-6, f"layer {l}"
    analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
    h = 1e-6
    numeric = np.empty_like(net.params)
    for k in range(net.params.size):
        saved = net.params[k]
        net.params[k] = saved + h
        up = net.cost(X, Y, cost=cost, l2=l2)
        net.params[k] = saved - h
        down = net.cost(X, Y, cost=cost, l2=l2)
        net.params[k] = saved
        numeric[k] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_relu_derivative_is_zero_where_the_activation_is_zero():
    # Hidden unit 0 has z = 0 exactly for every input (no weights, no bias): a = 0, and
    # the derivative from the activation, [a > 0], is 0 - not 1/2, not 1. Unit 1 is dead
    # (z <= -99). Neither passes any gradient to its weights or bias; unit 2 does.
    W1 = np.zeros((2, 3))
    W1[:, 2] = [0.5, -0.25]
    b1 = np.array([0.0, -100.0, 0.3])
    net = mlp.MLP.from_weights([W1, np.array([[1.0], [2.0], [-1.5]])], [b1, [0.1]],
                               activation="relu", output="identity")
    X = np.array([[0.3, -0.7], [1.0, 0.2], [-0.5, 0.9]])
    Y = np.array([[2.0], [-1.0], [0.5]])
    dW, db = net.gradient(X, Y)
    assert dW[0][:, :2].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert db[0][:2].tolist() == [0.0, 0.0]
    assert np.abs(dW[0][:, 2]).min() > 0 and db[0][2] != 0
    np.testing.assert_allclose(dW[1][:2, 0], [0.0, 0.0], atol=0)   # a = 0 for both units


# --- reporting, rebuilding, pickling ------------------------------------------------------

def test_activation_and_output_are_reported():
    net = mlp.MLP([3, 4, 5, 2], seed=0)
    assert net.activation == ("sigmoid", "sigmoid") and net.output == "sigmoid"
    assert mlp.MLP([3, 4, 5, 2], activation="relu", seed=0).activation == ("relu", "relu")
    for given in (["relu", "tanh"], ("relu", "tanh")):
        net = mlp.MLP([3, 4, 5, 2], activation=given, output="softmax", seed=0)
        assert net.activation == ("relu", "tanh") and isinstance(net.activation, tuple)
        assert net.output == "softmax"
    # no hidden layer: no hidden activation, whatever the name (or an empty list)
    assert mlp.MLP([3, 2], activation="tanh", seed=0).activation == ()
    assert mlp.MLP([3, 2], activation=[], seed=0).activation == ()
    assert mlp.MLP([3, 2], output="identity", seed=0).output == "identity"
    # with a scheme given, the choice does not change the initialisation; "auto" (the
    # default) gives layers of ReLU units He's scaling (weights N(0, 2/n_in), biases 0)
    chosen = mlp.MLP([3, 4, 5, 2], activation=["relu", "tanh"], output="identity",
                     init="scaled", seed=3)
    np.testing.assert_array_equal(chosen.params, mlp.MLP([3, 4, 5, 2], seed=3).params)
    auto = mlp.MLP([3, 4, 5, 2], activation=["relu", "tanh"], seed=3)
    he = np.random.default_rng(3).standard_normal((3, 4)) * np.sqrt(2.0 / 3)
    np.testing.assert_array_equal(auto.weights[0], he)
    np.testing.assert_array_equal(auto.biases[0], np.zeros(4))


def test_from_weights_takes_and_reports_the_choice():
    net, X, _ = problem([9, 33, 12, 7], "mixed", "softmax")
    twin = mlp.MLP.from_weights(net.weights, net.biases, activation=net.activation,
                                output=net.output)
    assert twin.activation == net.activation == ("relu", "tanh")
    assert twin.output == "softmax"
    np.testing.assert_array_equal(twin.predict(X), net.predict(X))
    plain = mlp.MLP.from_weights(net.weights, net.biases)
    assert plain.activation == ("sigmoid", "sigmoid") and plain.output == "sigmoid"
    assert mlp.MLP.from_weights(net.weights, net.biases, activation="tanh").activation == \
        ("tanh", "tanh")
    with pytest.raises(ValueError, match="activation"):
        mlp.MLP.from_weights(net.weights, net.biases, activation=["relu"])
    with pytest.raises(ValueError, match="output"):
        mlp.MLP.from_weights(net.weights, net.biases, output="tanh")


def test_pickle_deepcopy_and_copy_keep_the_choice():
    net, X, Y = problem([9, 33, 12, 7], "mixed", "identity")
    net.partial_fit(X, Y, eta=0.05, momentum=0.5, shuffle=False)
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), net.copy()):
        assert twin.activation == net.activation == ("relu", "tanh")
        assert twin.output == net.output == "identity"
        np.testing.assert_array_equal(twin.predict(X), net.predict(X))
        for a, b in zip(twin.gradient(X, Y)[0], net.gradient(X, Y)[0]):
            np.testing.assert_array_equal(a, b)
        again = net.copy()
        again.restore(net.snapshot())   # the same parameters and velocity as net
        twin.restore(net.snapshot())
        twin.partial_fit(X, Y, eta=0.05, momentum=0.5, shuffle=False)
        again.partial_fit(X, Y, eta=0.05, momentum=0.5, shuffle=False)
        np.testing.assert_array_equal(twin.params, again.params)


# --- invalid choices ---------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, word", [
    ({"activation": "softmax"}, "activation"),     # an output, not a hidden activation
    ({"activation": "bogus"}, "activation"),
    ({"activation": "Relu"}, "activation"),
    ({"activation": ["relu"]}, "activation"),      # two hidden layers, one name
    ({"activation": ["relu", "tanh", "relu"]}, "activation"),
    ({"activation": ["relu", "softmax"]}, "activation"),
    ({"activation": ["relu", "bogus"]}, "activation"),
    ({"output": "tanh"}, "output"),
    ({"output": "relu"}, "output"),
    ({"output": "bogus"}, "output"),
])
def test_invalid_activation_or_output_is_rejected(kwargs, word):
    with pytest.raises(ValueError, match=word):
        mlp.MLP([3, 4, 5, 2], **kwargs)
    with pytest.raises(ValueError, match=word):
        mlp.MLP.from_weights([np.zeros((3, 4)), np.zeros((4, 5)), np.zeros((5, 2))],
                             [np.zeros(4), np.zeros(5), np.zeros(2)], **kwargs)


@pytest.mark.parametrize("kwargs, word", [
    ({"activation": 3}, "activation"),
    ({"activation": None}, "activation"),
    ({"activation": ["relu", 3]}, "activation"),
    ({"output": None}, "output"),
    ({"output": ["sigmoid"]}, "output"),
])
def test_activation_or_output_of_the_wrong_type_is_rejected(kwargs, word):
    mlp.MLP([3, 4, 5, 2], activation="relu", output="identity")   # the keywords exist
    with pytest.raises((TypeError, ValueError), match=word):
        mlp.MLP([3, 4, 5, 2], **kwargs)


@pytest.mark.parametrize("output, cost", [("softmax", "quadratic"),
                                          ("identity", "cross_entropy")])
def test_invalid_output_and_cost_pairs_are_rejected(output, cost):
    net, X, Y = problem([4, 5, 3], "tanh", output, n=6)
    before = net.params.copy()
    calls = [lambda: net.cost(X, Y, cost=cost), lambda: net.gradient(X, Y, cost=cost),
             lambda: net.fit(X, Y, epochs=1, cost=cost),
             lambda: net.partial_fit(X, Y, cost=cost)]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        # the message names the argument and the pairs that work
        message = str(info.value)
        for word in ("cost", "sigmoid", "identity", "softmax", "quadratic", "cross_entropy"):
            assert word in message, message
    np.testing.assert_array_equal(net.params, before)


def test_softmax_with_one_output_unit_is_allowed():
    # softmax of a single z is exp(0) / exp(0) = 1: the output is 1 for every input, its
    # cross-entropy against y = 1 is -ln 1 = 0, and its delta a - y = 0.
    net = mlp.MLP([3, 4, 1], output="softmax", seed=0)
    X = np.random.default_rng(0).uniform(-1, 1, (5, 3))
    assert net.predict(X).tolist() == [[1.0]] * 5
    assert net.cost(X, np.ones((5, 1))) == 0.0
    assert all(not g.any() for g in net.gradient(X, np.ones((5, 1)))[0])


# --- costs follow the output -------------------------------------------------------------

@pytest.mark.parametrize("output", ref.OUTPUTS)
def test_default_cost_follows_the_output(output):
    net, X, Y = problem([9, 30, 7], "tanh", output)
    cost = ref.default_cost(output)
    assert net.cost(X, Y) == net.cost(X, Y, cost=cost)
    assert net.cost(X, Y, cost=None, l2=0.5) == net.cost(X, Y, cost=cost, l2=0.5)
    for a, b in zip(net.gradient(X, Y)[0] + net.gradient(X, Y)[1],
                    net.gradient(X, Y, cost=cost)[0] + net.gradient(X, Y, cost=cost)[1]):
        np.testing.assert_array_equal(a, b)
    twin = net.copy()
    history = net.fit(X, Y, epochs=2, batch_size=5, eta=0.1, shuffle=False)
    twin.fit(X, Y, epochs=2, batch_size=5, eta=0.1, cost=cost, shuffle=False)
    np.testing.assert_array_equal(net.params, twin.params)
    assert np.isfinite(history[-1]["cost"])


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_recorded_costs_are_the_outputs_costs(pair):
    # One full batch: the recorded cost is the cost of the parameters before the step,
    # the validation cost that of the parameters after it; both the (output, cost) pair's.
    output, cost = pair
    net, X, Y = problem([9, 30, 7], "relu", output, n=20)
    before = net.cost(X[:15], Y[:15], cost=cost)
    history = net.fit(X[:15], Y[:15], epochs=1, batch_size=15, eta=0.1, cost=cost,
                      validation_data=(X[15:], Y[15:]))
    assert history[0]["cost"] == pytest.approx(before, rel=1e-12)
    assert history[0]["val_cost"] == pytest.approx(net.cost(X[15:], Y[15:], cost=cost),
                                                   rel=1e-12)


@pytest.mark.parametrize("output", ref.OUTPUTS)
def test_labels_are_one_hot_for_every_output(output):
    net, X, _ = problem([9, 30, 7], "tanh", output)
    labels = np.random.default_rng(1).integers(0, 7, N)
    cost = ref.default_cost(output)
    assert net.cost(X, labels, cost=cost) == net.cost(X, one_hot(labels, 7), cost=cost)
    a, b = net.copy(), net.copy()
    a.fit(X, labels, epochs=1, batch_size=4, eta=0.1, shuffle=False)
    history = b.fit(X, one_hot(labels, 7), epochs=1, batch_size=4, eta=0.1, shuffle=False)
    np.testing.assert_array_equal(a.params, b.params)
    assert "accuracy" not in history[0]


def test_softmax_output_is_stable_for_huge_inputs():
    # z = +-1e300: exp(z - max z) is exp(0) = 1 and exp(-2e300) = 0, never inf (pytest
    # turns any numpy warning into an error); a saturated cross-entropy stays finite.
    net = mlp.MLP.from_weights([np.array([[1e300, -1e300, 0.0]])], [np.zeros(3)],
                               output="softmax")
    out = net.predict([[1.0], [-1.0], [0.0]])
    assert out.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]
    value = net.cost([[1.0]], [[0.0, 1.0, 0.0]])
    assert np.isfinite(value) and value > 30    # at least -ln(eps)
    rng = np.random.default_rng(0)
    net = mlp.MLP([5, 30, 10], activation="identity", output="softmax", seed=0)
    net.params[...] *= 50.0
    out = net.predict(rng.uniform(-1, 1, (40, 5)))
    assert np.isfinite(out).all() and (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-14)


# --- the default network is the seed's ---------------------------------------------------

def test_default_network_is_the_seed_bit_for_bit():
    sizes = [9, 33, 12, 7]
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (N, 9)), rng.uniform(0, 1, (N, 7))
    default = mlp.MLP(sizes, seed=1)
    explicit = [mlp.MLP(sizes, activation="sigmoid", output="sigmoid", seed=1),
                mlp.MLP(sizes, activation=["sigmoid", "sigmoid"], output="sigmoid", seed=1),
                mlp.MLP.from_weights(default.weights, default.biases, activation="sigmoid",
                                     output="sigmoid")]
    for net in explicit:
        np.testing.assert_array_equal(net.params, default.params)
        np.testing.assert_array_equal(net.predict(X), default.predict(X))
        np.testing.assert_array_equal(net.predict(X[0]), default.predict(X[0]))
        for cost in (None, "quadratic"):
            assert net.cost(X, Y, cost=cost) == default.cost(X, Y)
            for a, b in zip(net.gradient(X, Y, cost=cost)[0], default.gradient(X, Y)[0]):
                np.testing.assert_array_equal(a, b)
    for batch_size in BATCHES:
        nets = [default.copy()] + [net.copy() for net in explicit]
        nets[0].fit(X, Y, epochs=2, batch_size=batch_size, eta=2.5, shuffle=False)
        for net in nets[1:]:
            net.fit(X, Y, epochs=2, batch_size=batch_size, eta=2.5, cost="quadratic",
                    shuffle=False)
            np.testing.assert_array_equal(net.params, nets[0].params)
        # and the seed's reference (as test_math.py compares it)
        W, B = ref.to_lists(default.weights, default.biases)
        for _ in range(2):
            ref.sgd_epoch(W, B, X.tolist(), Y.tolist(), list(range(N)), batch_size, 2.5)
        assert_params_equal(nets[0], W, B, 1e-11)


def test_hand_worked_example_with_the_choice_spelled_out():
    # test_math.py's example, bit for bit, with the seed's choice given explicitly.
    # Network [1, 1, 1]: W1 = 1, b1 = -1, W2 = 2, b2 = -1; sample x = 1, y = 1.
    net = mlp.MLP.from_weights([[[1.0]], [[2.0]]], [[-1.0], [-1.0]],
                               activation=["sigmoid"], output="sigmoid")
    # Forward: z1 = -1 + 1*1 = 0, a1 = sig(0) = 0.5; z2 = -1 + 2*0.5 = 0, a2 = 0.5.
    assert net.predict([1.0]).tolist() == [0.5]
    # Cost: C = 1/2 (0.5 - 1)^2 = 0.125.
    assert net.cost([[1.0]], [[1.0]], cost="quadratic") == 0.125
    # db2 = (a2 - y) a2 (1 - a2) = -0.125; dW2 = db2 a1 = -0.0625;
    # da1 = db2 W2 = -0.25; db1 = da1 a1 (1 - a1) = -0.0625; dW1 = db1 x = -0.0625.
    dW, db = net.gradient([[1.0]], [[1.0]])
    assert [w.tolist() for w in dW] == [[[-0.0625]], [[-0.0625]]]
    assert [b.tolist() for b in db] == [[-0.0625], [-0.125]]
    net.fit([[1.0]], [[1.0]], epochs=1, batch_size=1, eta=1.0)
    assert net.params.tolist() == [1.0625, -0.9375, 2.0625, -0.875]


def test_hand_worked_example_tanh_and_identity():
    # Network [1, 1, 1], tanh hidden, identity output: W1 = 1, b1 = 0, W2 = 2, b2 = 0.5;
    # sample x = 0, y = 1.
    net = mlp.MLP.from_weights([[[1.0]], [[2.0]]], [[0.0], [0.5]], activation="tanh",
                               output="identity")
    # Forward: z1 = 0, a1 = tanh 0 = 0; a2 = z2 = 0.5 + 2*0 = 0.5.
    assert net.predict([0.0]).tolist() == [0.5]
    # C = 1/2 (0.5 - 1)^2 = 0.125 (quadratic, the default for an identity output).
    assert net.cost([[0.0]], [[1.0]]) == 0.125
    # db2 = a2 - y = -0.5; dW2 = db2 a1 = 0; da1 = db2 W2 = -1;
    # db1 = da1 (1 - a1^2) = -1; dW1 = db1 x = 0.
    dW, db = net.gradient([[0.0]], [[1.0]])
    assert [w.tolist() for w in dW] == [[[0.0]], [[0.0]]]
    assert [b.tolist() for b in db] == [[-1.0], [-0.5]]


def test_tanh_and_softmax_are_accurate_to_a_few_ulp_everywhere():
    """The compiled tanh keeps its relative accuracy near 0 (where 1 - e^-2z would lose it)
    and saturates cleanly; softmax keeps tiny probabilities (no 1 + expm1 shortcut)."""
    net = mlp.MLP.from_weights([np.ones((1, 1)), np.ones((1, 1))], [np.zeros(1), np.zeros(1)],
                               activation="tanh", output="identity")
    z = np.concatenate([-np.logspace(-300, 1.5, 400), [0.0], np.logspace(-300, 1.5, 400),
                        [-40.0, 40.0, -1e308, 1e308]])
    got = net.predict(z[:, None])[:, 0]
    np.testing.assert_allclose(got, np.tanh(z), rtol=4e-16, atol=0)
    soft = mlp.MLP.from_weights([np.array([[1.0, 0.0, 0.0]])], [np.zeros(3)],
                                output="softmax")
    for t in (0.0, 1.0, 30.0, 700.0):
        p = soft.predict([t])
        want = np.exp(np.array([t, 0.0, 0.0]) - t)
        np.testing.assert_allclose(p, want / want.sum(), rtol=4e-16, atol=0)
