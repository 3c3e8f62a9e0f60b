"""Adam (``optimizer="adam"``): its epochs against the per-sample reference
(``_reference.py``, checked in ``test_reference.py``) for every (output, cost) pair, with
and without L2, at batch sizes that take every kernel; against the algorithm written out
in numpy on a tiny problem; its state (m, v, t) carried across partial_fit, pickling and
copies, fresh in fit, and reported by optimizer_state; its options' checks and defaults,
and eta's default following the optimizer.

Not here: the activations and outputs under SGD (``test_activations.py``), momentum and
the other SGD options (``test_options.py``).
"""

import copy
import inspect
import math
import pickle

import numpy as np
import pytest

import _reference as ref
import mlp

pytestmark = pytest.mark.kernels

PAIRS = ref.PAIRS
# (sizes, hidden activations): widths that reach the kernels' branches, one or two hidden
# layers, a per-layer list.
CONFIGS = [([9, 30, 7], "sigmoid"), ([9, 33, 12, 7], ["tanh", "relu"]),
           ([20, 8, 5], "identity")]
BATCHES = (1, 3, 13)   # 17 rows: single rows, small batches, and beyond the small kernels
N = 17


def pair_id(pair):
    return f"{pair[0]}-{pair[1]}"


def config_id(config):
    sizes, hidden = config
    return "x".join(map(str, sizes)) + "-" + (hidden if isinstance(hidden, str)
                                              else "+".join(hidden))


def targets(rng, output, n, k):
    """In [0, 1] for a sigmoid output, probability rows for softmax, any real for
    identity."""
    if output == "softmax":
        return rng.dirichlet(np.ones(k), n)
    if output == "identity":
        return rng.uniform(-1.0, 1.0, (n, k))
    return rng.uniform(0.0, 1.0, (n, k))


def problem(sizes, hidden="sigmoid", output="sigmoid", n=N, seed=0):
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, activation=hidden, output=output, seed=seed)
    X = rng.uniform(-1.0, 1.0, (n, sizes[0]))
    return net, X, targets(rng, output, n, sizes[-1])


def each_kernel_set():
    """The kernel level this process runs (the test of every level, test_kernel_levels.py,
    runs these tests again at each level the machine has, through MLP_KERNELS)."""
    yield mlp.kernel_level()


def assert_state_equal(a, b):
    """Two optimizer_state dicts are equal, bit for bit."""
    assert set(a) == set(b)
    for key in a:
        if key == "t":
            assert a[key] == b[key]
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


ADAM = {"optimizer": "adam"}


# --- against the reference ---------------------------------------------------------------

@pytest.mark.parametrize("l2", [0.0, 2.0])
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_two_adam_epochs_match_reference(config, pair, l2):
    sizes, hidden = config
    output, cost = pair
    eta = 0.01
    for batch_size in BATCHES:
        net, X, Y = problem(sizes, hidden, output, seed=batch_size)
        start = net.params.copy()
        W, B = ref.to_lists(net.weights, net.biases)
        state = ref.adam_state(W, B)
        for _ in range(2):   # the second epoch carries on from the first's m, v and t
            ref.adam_epoch(W, B, X.tolist(), Y.tolist(), list(range(N)), batch_size, eta,
                           cost, l2, None, 0.9, 0.999, 1e-8, state, hidden, output)
        expected = np.array(ref.flat(W, B))
        assert np.abs(expected - start).max() > 1e-2   # it moved: no trivial pass
        for kernels in each_kernel_set():
            net.params[...] = start
            net.fit(X, Y, epochs=2, batch_size=batch_size, eta=eta, cost=cost, l2=l2,
                    shuffle=False, optimizer="adam")
            what = f"{kernels} batch {batch_size}"
            np.testing.assert_allclose(net.params, expected, rtol=1e-10, atol=1e-10,
                                       err_msg=what)
            got = net.optimizer_state
            assert got["t"] == state["t"] == 2 * math.ceil(N / batch_size), what
            np.testing.assert_allclose(got["m"], ref.flat(*state["m"]), rtol=1e-9,
                                       atol=1e-12, err_msg=what)
            np.testing.assert_allclose(got["v"], ref.flat(*state["v"]), rtol=1e-9,
                                       atol=1e-14, err_msg=what)


@pytest.mark.parametrize("options", [
    {"beta1": 0.5, "beta2": 0.9, "epsilon": 1e-3},
    {"beta1": 0.0, "beta2": 0.0, "epsilon": 1e-8},   # the lower ends of [0, 1)
    {"beta1": 0.99, "beta2": 0.9999, "epsilon": 1e-6, "l2": 1.0},
], ids=["mid", "zero", "high"])
def test_adam_hyperparameters_match_reference(options):
    sizes, hidden = [9, 33, 12, 7], ["relu", "tanh"]
    net, X, Y = problem(sizes, hidden, "softmax", seed=4)
    W, B = ref.to_lists(net.weights, net.biases)
    state = ref.adam_state(W, B)
    for _ in range(2):
        ref.adam_epoch(W, B, X.tolist(), Y.tolist(), list(range(N)), 3, 0.01, None,
                       options.get("l2", 0.0), None, options["beta1"], options["beta2"],
                       options["epsilon"], state, hidden, "softmax")
    net.fit(X, Y, epochs=2, batch_size=3, eta=0.01, shuffle=False, optimizer="adam",
            **options)
    np.testing.assert_allclose(net.params, ref.flat(W, B), rtol=1e-10, atol=1e-10)


def test_shuffled_adam_epochs_follow_the_seeds_permutation():
    sizes, hidden = [9, 30, 7], "tanh"
    net, X, _ = problem(sizes, hidden, "softmax", seed=5)
    labels = np.random.default_rng(5).integers(0, 7, N)
    W, B = ref.to_lists(net.weights, net.biases)
    state = ref.adam_state(W, B)
    rng = np.random.default_rng(42)
    order = np.arange(N)
    for _ in range(3):
        rng.shuffle(order)
        ref.adam_epoch(W, B, X.tolist(), np.eye(7)[labels].tolist(), order.tolist(), 4,
                       0.02, None, 0.0, None, 0.9, 0.999, 1e-8, state, hidden, "softmax")
    net.fit(X, labels, epochs=3, batch_size=4, eta=0.02, seed=42, optimizer="adam")
    np.testing.assert_allclose(net.params, ref.flat(W, B), rtol=1e-10, atol=1e-10)


# --- against the algorithm, inline -------------------------------------------------------

def numpy_output(z, output):
    if output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if output == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if output == "exp":
        return np.exp(z)
    return z


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_adam_is_the_algorithm_as_written(pair):
    # No hidden layer, so the gradient is one line: a = out(b + X W), delta = a - y
    # (times a (1 - a) for sigmoid + quadratic), g_W = X^T delta / m + l2/n W,
    # g_b = mean delta. Then, per mini-batch, Adam as written:
    # t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    # alpha_t = eta sqrt(1 - b2^t) / (1 - b1^t); theta -= alpha_t m / (sqrt(v) + eps).
    output, cost = pair
    net, X, Y = problem([3, 2], output=output, n=5, seed=8)
    W, b = net.weights[0].copy(), net.biases[0].copy()
    eta, b1, b2, eps, l2, n = 0.05, 0.8, 0.99, 1e-7, 0.5, 5
    mW, vW, mb, vb, t = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), \
        np.zeros_like(b), 0
    for _ in range(2):                        # two epochs of batches of 2, 2 and 1 rows
        for rows in (slice(0, 2), slice(2, 4), slice(4, 5)):
            x, y = X[rows], Y[rows]
            a = numpy_output(b + x @ W, output)
            delta = (a - y) * a * (1 - a) if pair == ("sigmoid", "quadratic") else a - y
            gW = x.T @ delta / len(x) + l2 / n * W
            gb = delta.mean(axis=0)
            t += 1
            alpha = eta * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            mW, mb = b1 * mW + (1 - b1) * gW, b1 * mb + (1 - b1) * gb
            vW, vb = b2 * vW + (1 - b2) * gW ** 2, b2 * vb + (1 - b2) * gb ** 2
            W = W - alpha * mW / (np.sqrt(vW) + eps)
            b = b - alpha * mb / (np.sqrt(vb) + eps)
    net.fit(X, Y, epochs=2, batch_size=2, eta=eta, cost=cost, l2=l2, shuffle=False,
            optimizer="adam", beta1=b1, beta2=b2, epsilon=eps)
    np.testing.assert_allclose(net.weights[0], W, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(net.biases[0], b, rtol=1e-12, atol=1e-13)
    state = net.optimizer_state
    assert state["t"] == t == 6
    np.testing.assert_allclose(state["m"], np.concatenate([mW.ravel(), mb]), rtol=1e-11,
                               atol=1e-14)
    np.testing.assert_allclose(state["v"], np.concatenate([vW.ravel(), vb]), rtol=1e-11,
                               atol=1e-16)


def test_first_adam_step_from_the_gradient():
    # From zero state, one full batch: m = (1 - b1) g, v = (1 - b2) g^2, and the step is
    # eta sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps), about eta sign(g) for |g| >> eps.
    net, X, Y = problem([9, 33, 12, 7], ["relu", "tanh"], "softmax", seed=9)
    dW, db = net.gradient(X, Y, l2=1.5)
    g = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
    before = net.params.copy()
    net.fit(X, Y, epochs=1, batch_size=N, eta=0.01, l2=1.5, optimizer="adam")
    state = net.optimizer_state
    assert state["t"] == 1
    np.testing.assert_allclose(state["m"], 0.1 * g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state["v"], 0.001 * g * g, rtol=1e-11, atol=1e-18)
    step = 0.01 * math.sqrt(0.001) / 0.1 * state["m"] / (np.sqrt(state["v"]) + 1e-8)
    np.testing.assert_allclose(net.params, before - step, rtol=1e-12, atol=1e-13)
    big = np.abs(g) > 1e-3      # there 1e-8 / (sqrt(0.001) |g|) < 3.2e-4
    assert big.sum() > g.size // 2
    np.testing.assert_allclose(np.abs(net.params - before)[big], 0.01, rtol=1e-3)


# --- the state ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"l2": 1.0, "cost": "cross_entropy"},
                                     {"beta1": 0.5, "epsilon": 1e-4}])
def test_partial_fit_twice_equals_two_epochs_of_fit(options):
    a, X, Y = problem([9, 33, 12, 7], ["tanh", "relu"], "sigmoid", n=25, seed=5)
    b = a.copy()
    for _ in range(2):
        a.partial_fit(X, Y, batch_size=4, eta=0.01, shuffle=False, optimizer="adam",
                      **options)
    b.fit(X, Y, epochs=2, batch_size=4, eta=0.01, shuffle=False, optimizer="adam",
          **options)
    np.testing.assert_array_equal(a.params, b.params)
    assert_state_equal(a.optimizer_state, b.optimizer_state)
    assert a.optimizer_state["t"] == 2 * 7   # 25 rows in batches of 4: 7 per pass


def test_state_carries_across_partial_fit_pickling_and_copies():
    net, X, Y = problem([9, 30, 7], "relu", "identity", seed=6)
    net.partial_fit(X, Y, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
    assert net.optimizer_state["t"] == 4
    # a network with the same parameters but no state steps differently: the state matters
    stateless = mlp.MLP.from_weights(net.weights, net.biases, activation="relu",
                                     output="identity")
    assert stateless.optimizer_state == {}
    stateless.partial_fit(X, Y, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
    twins = [pickle.loads(pickle.dumps(net)), copy.deepcopy(net), net.copy()]
    for twin in twins:
        assert_state_equal(twin.optimizer_state, net.optimizer_state)
    # net steps on; each twin then takes the same step from its own copy of the state
    net.partial_fit(X, Y, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
    assert net.optimizer_state["t"] == 8
    assert not np.array_equal(stateless.params, net.params)
    for twin in twins:
        twin.partial_fit(X, Y, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
        np.testing.assert_array_equal(twin.params, net.params)
        assert_state_equal(twin.optimizer_state, net.optimizer_state)


def test_state_starts_fresh_in_fit():
    net, X, Y = problem([9, 30, 7], "tanh", "softmax", seed=7)
    net.partial_fit(X, Y, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
    fresh = mlp.MLP.from_weights(net.weights, net.biases, activation="tanh",
                                 output="softmax")
    for model in (net, fresh):
        model.fit(X, Y, epochs=1, batch_size=5, eta=0.01, shuffle=False, optimizer="adam")
    np.testing.assert_array_equal(net.params, fresh.params)
    assert_state_equal(net.optimizer_state, fresh.optimizer_state)
    assert net.optimizer_state["t"] == 4


def test_optimizer_state_keys_shapes_and_copies():
    net, X, Y = problem([9, 33, 12, 7], ["relu", "tanh"], "sigmoid")
    assert net.optimizer_state == {}
    net.fit(X, Y, epochs=1, eta=0.1, momentum=0.9)
    state = net.optimizer_state
    assert set(state) == {"velocity"} and state["velocity"].shape == net.params.shape
    net.fit(X, Y, epochs=1, batch_size=5, optimizer="adam")
    state = net.optimizer_state
    assert set(state) == {"m", "v", "t"}
    for key in ("m", "v"):
        assert state[key].shape == net.params.shape and state[key].dtype == np.float64
        assert state[key].any()
    assert (state["v"] >= 0).all()
    assert type(state["t"]) is int and state["t"] == 4
    # a copy: changing it changes nothing
    state["m"][...] = 99.0
    state["t"] = 0
    assert not (net.optimizer_state["m"] == 99.0).any() and net.optimizer_state["t"] == 4


# --- options -----------------------------------------------------------------------------

@pytest.mark.parametrize("options, error, word", [
    ({"optimizer": "adam", "momentum": 0.9}, ValueError, "momentum"),
    ({"optimizer": "adam", "nesterov": True}, ValueError, "nesterov"),
    ({"optimizer": "adam", "beta1": 1.0}, ValueError, "beta1"),
    ({"optimizer": "adam", "beta1": -0.1}, ValueError, "beta1"),
    ({"optimizer": "adam", "beta2": -0.1}, ValueError, "beta2"),
    ({"optimizer": "adam", "beta2": 1.0}, ValueError, "beta2"),
    ({"optimizer": "adam", "epsilon": 0.0}, ValueError, "epsilon"),
    ({"optimizer": "adam", "epsilon": -1e-8}, ValueError, "epsilon"),
    ({"optimizer": "adam", "beta1": "high"}, TypeError, "beta1"),
    ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
    ({"optimizer": "Adam"}, ValueError, "optimizer"),
])
def test_bad_adam_options_are_rejected_before_training(options, error, word):
    net, X, Y = problem([4, 5, 3], n=10)
    before = net.params.copy()
    for method in (net.fit, net.partial_fit):
        with pytest.raises(error) as info:
            method(X, Y, **options)
        assert word in str(info.value)
        np.testing.assert_array_equal(net.params, before)
        assert net.optimizer_state == {}


def test_eta_default_follows_the_optimizer():
    for method in ("fit", "partial_fit"):
        assert inspect.signature(getattr(mlp.MLP, method)).parameters["eta"].default is None
    net, X, Y = problem([9, 30, 7], "tanh", "sigmoid")
    kw = {"batch_size": 4, "seed": 3}
    for optimizer, eta in (("adam", 0.001), ("sgd", 3.0)):
        a, b, c = net.copy(), net.copy(), net.copy()
        history = a.fit(X, Y, epochs=2, optimizer=optimizer, **kw)
        b.fit(X, Y, epochs=2, optimizer=optimizer, eta=eta, **kw)
        c.fit(X, Y, epochs=2, optimizer=optimizer, eta=None, **kw)
        np.testing.assert_array_equal(a.params, b.params)
        np.testing.assert_array_equal(a.params, c.params)
        assert history[0]["eta"] == eta
        assert not np.array_equal(a.params, net.params)
        a, b = net.copy(), net.copy()
        a.partial_fit(X, Y, optimizer=optimizer, **kw)
        b.partial_fit(X, Y, optimizer=optimizer, eta=eta, **kw)
        np.testing.assert_array_equal(a.params, b.params)
    # and without optimizer=, SGD's 3.0
    a, b = net.copy(), net.copy()
    a.fit(X, Y, epochs=1, **kw)
    b.fit(X, Y, epochs=1, eta=3.0, optimizer="sgd", **kw)
    np.testing.assert_array_equal(a.params, b.params)


def test_options_specify_the_optimizer():
    from mlp.options import OPTIONS

    for name, default in (("optimizer", "sgd"), ("beta1", 0.9), ("beta2", 0.999),
                          ("epsilon", 1e-8)):
        assert name in OPTIONS, name
        assert OPTIONS[name].default == default, name
        for method in ("fit", "partial_fit"):
            parameter = inspect.signature(getattr(mlp.MLP, method)).parameters[name]
            assert parameter.default == default, (method, name)


def test_moments_of_inputs_that_stay_zero_are_flushed_not_subnormal():
    """An input that is 0 after its first row leaves its weights' gradients 0: m decays by
    beta1 a step and would pass through the subnormals (slow arithmetic) after some 6,700
    steps; the core flushes it to 0 instead."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 1.0, (6900, 2))
    X[1:, 1] = 0.0
    y = rng.integers(0, 2, 6900)
    net = mlp.MLP([2, 3, 2], output="softmax", seed=0)
    net.fit(X, y, epochs=1, batch_size=1, optimizer="adam", shuffle=False)
    m = net.optimizer_state["m"]
    W1_row1 = m[3:6]                     # the first layer's weights from input 1
    tiny = np.finfo(np.float64).tiny
    assert np.all(W1_row1 == 0.0)
    assert not np.any((m != 0.0) & (np.abs(m) < tiny))
