"""Each step option against its definition: cross-entropy, L2, momentum and Nesterov epochs
against the per-sample reference (``_reference.py``), their gradients against finite
differences and their costs against the formulas, saturated cross-entropy, the training
cost and accuracy measured before each step, partial_fit (its equivalence to fit, and
streaming), and the rejection of bad values of any fit option.

Not here: the training loop around the steps (seeds, order, kernel-call segments, History,
progress, interrupts, validation, early stopping, callbacks, schedules): ``test_fit.py``.
The seed's plain SGD (quadratic cost, no options) against the reference: ``test_math.py``.
"""

import numpy as np
import pytest

import _reference as ref
import mlp

OPTIONS = [
    {"cost": "cross_entropy"},
    {"l2": 5.0},
    {"momentum": 0.9},
    {"momentum": 0.7, "nesterov": True},
    {"cost": "cross_entropy", "l2": 2.0, "momentum": 0.5, "nesterov": True},
]


def problem(sizes, n=10, seed=0):
    """(net, X, labels, one-hot labels): a normal-initialised network and n samples in
    [-1, 1)."""
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, init="normal", seed=seed)
    X = rng.uniform(-1, 1, (n, sizes[0]))
    labels = rng.integers(0, sizes[-1], n)
    return net, X, labels, np.eye(sizes[-1])[labels]


def assert_params_equal(net, W, B, tol=1e-12):
    """The network's parameters equal the reference's nested lists W, B to tol."""
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=tol, atol=tol)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=tol, atol=tol)


# --- steps against their definitions -----------------------------------------------------

@pytest.mark.parametrize("options", OPTIONS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("sizes", [[4, 3], [4, 5, 4, 3]])
@pytest.mark.parametrize("batch_size", [1, 3])   # 10 samples: 3 leaves a short last batch
def test_two_epochs_equal_the_per_sample_reference(options, sizes, batch_size):
    net, X, labels, Y = problem(sizes)
    W, B = ref.to_lists(net.weights, net.biases)
    VW = [[[0.0] * len(r) for r in Wl] for Wl in W]
    VB = [[0.0] * len(b) for b in B]
    for _ in range(2):  # the second epoch starts from the first's velocity
        ref.train_epoch(W, B, X, Y, list(range(10)), batch_size, 0.8, VW=VW, VB=VB, **options)
    net.fit(X, labels, epochs=2, batch_size=batch_size, eta=0.8, shuffle=False, **options)
    assert_params_equal(net, W, B)


@pytest.mark.parametrize("sizes", [[3, 4], [3, 5, 4, 2]])
def test_cross_entropy_and_l2_gradients_match_finite_differences(sizes):
    net, X, labels, _ = problem(sizes, n=7, seed=3)
    for options in ({"cost": "cross_entropy"}, {"l2": 3.0},
                    {"cost": "cross_entropy", "l2": 0.5}):
        dW, db = net.gradient(X, labels, **options)
        analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
        assert all(np.abs(g).max() > 1e-6 for g in dW + db)
        numeric = np.empty_like(analytic)
        h = 1e-6
        for k in range(net.params.size):
            saved = net.params[k]
            net.params[k] = saved + h
            up = net.cost(X, labels, **options)
            net.params[k] = saved - h
            down = net.cost(X, labels, **options)
            net.params[k] = saved
            numeric[k] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_cross_entropy_and_l2_costs_match_their_formulas():
    net, X, labels, Y = problem([4, 5, 3], n=6)
    W, B = ref.to_lists(net.weights, net.biases)
    expected = np.mean([ref.cross_entropy(W, B, x, y) for x, y in zip(X, Y)])
    assert net.cost(X, labels, cost="cross_entropy") == pytest.approx(expected, rel=1e-12)
    penalty = 2.5 / (2 * 6) * sum(float(np.sum(w**2)) for w in net.weights)
    assert net.cost(X, labels, l2=2.5) == pytest.approx(net.cost(X, labels) + penalty,
                                                        rel=1e-13)


def test_cross_entropy_of_saturated_outputs_is_finite():
    net = mlp.MLP.from_weights([np.full((2, 2), 1e3)], [np.zeros(2)])
    X = np.array([[1.0, 1.0]])
    assert net.predict(X).tolist() == [[1.0, 1.0]]
    value = net.cost(X, [[0.0, 1.0]], cost="cross_entropy")
    assert np.isfinite(value) and value > 30  # -ln(eps) for the wrong output
    history = net.fit(X, [[0.0, 1.0]], epochs=1, batch_size=1, eta=0.1, cost="cross_entropy")
    assert np.isfinite(history[0]["cost"]) and np.isfinite(net.params).all()


# --- the training figures of a step ------------------------------------------------------

def test_training_cost_is_measured_before_each_step():
    # One full batch: the recorded cost is the cost of the parameters before the step.
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (40, 5)), rng.integers(0, 3, 40)
    net = mlp.MLP([5, 3], seed=0)
    before = net.cost(X, y)
    history = net.fit(X, y, epochs=1, batch_size=len(X), eta=1.0)
    assert history[0]["cost"] == pytest.approx(before, rel=1e-12)


def test_training_accuracy_is_measured_before_each_step():
    net, X, labels, _ = problem([4, 5, 3], n=30, seed=2)
    before = net.accuracy(X, labels)
    history = net.fit(X, labels, epochs=1, batch_size=30, eta=1.0)
    assert history[0]["accuracy"] == before
    assert "accuracy" not in net.fit(X, np.eye(3)[labels], epochs=1)[0]


# --- partial_fit -------------------------------------------------------------------------

def test_partial_fit_twice_equals_two_epochs_of_fit():
    for options in ({}, {"momentum": 0.8, "l2": 1.0}, {"momentum": 0.6, "nesterov": True,
                                                        "cost": "cross_entropy"}):
        a, X, labels, _ = problem([4, 6, 3], n=25, seed=5)
        b = a.copy()
        a.partial_fit(X, labels, batch_size=4, eta=0.5, shuffle=False, **options)
        a.partial_fit(X, labels, batch_size=4, eta=0.5, shuffle=False, **options)
        b.fit(X, labels, epochs=2, batch_size=4, eta=0.5, shuffle=False, **options)
        np.testing.assert_array_equal(a.params, b.params)


def test_partial_fit_over_chunks_equals_one_fit_epoch():
    # One epoch over the data in chunks (a multiple of the batch size) equals one fit epoch.
    a, X, labels, _ = problem([4, 6, 3], n=40, seed=6)
    b = a.copy()
    for k in range(0, 40, 8):
        history = a.partial_fit(X[k:k + 8], labels[k:k + 8], batch_size=4, eta=0.5,
                                shuffle=False, momentum=0.5)
        assert len(history) == 1
    b.fit(X, labels, epochs=1, batch_size=4, eta=0.5, shuffle=False, momentum=0.5)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-13, atol=1e-14)


# --- bad option values -------------------------------------------------------------------

@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"l2": -1.0}, ValueError, "l2"),
        ({"l2": float("inf")}, ValueError, "l2"),
        ({"momentum": 1.5}, ValueError, "momentum"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"momentum": "high"}, TypeError, "momentum"),
        ({"nesterov": 1}, TypeError, "nesterov"),
        ({"cost": "hinge"}, ValueError, "cost"),
        ({"schedule": 3}, TypeError, "schedule"),
        ({"early_stopping": True}, ValueError, "validation data"),
        ({"schedule": "halve"}, ValueError, "validation data"),
        ({"patience": 0}, ValueError, "patience"),
        ({"callbacks": [print, 3]}, TypeError, "callbacks[1]"),
        ({"validation_split": 0.0}, ValueError, "validation_split"),
        ({"validation_split": 1.0}, ValueError, "validation_split"),
        ({"validation_split": 0.999}, ValueError, "at least one sample"),
        ({"validation_split": "half"}, TypeError, "validation_split"),
        ({"validation_split": 0.5, "validation_data": ([[0.0] * 4], [0])}, ValueError,
         "not both"),
    ],
)
def test_bad_options_are_rejected_before_training(options, error, words):
    net, X, labels, _ = problem([4, 3], n=20)
    before = net.params.copy()
    with pytest.raises(error) as info:
        net.fit(X, labels, epochs=2, **options)
    assert words in str(info.value)
    np.testing.assert_array_equal(net.params, before)
    if "validation" not in str(options) and "schedule" not in options and \
            "early_stopping" not in options and "patience" not in options and \
            "callbacks" not in options:
        with pytest.raises(error):
            net.partial_fit(X, labels, **options)
        np.testing.assert_array_equal(net.params, before)
