"""What scikit-learn's math needs from the core, checked against the plain reference and
finite differences: row weights, an explicit row order, the per-mini-batch L2 term
(``alpha``), the exp output with the Poisson cost, and ``MLP.objective``."""

import numpy as np
import pytest

import _reference as ref
import mlp

SIZES = [4, 5, 3]


def problem(output="sigmoid", n=9, seed=0):
    rng = np.random.default_rng(seed)
    net = mlp.MLP(SIZES, activation="tanh", output=output, init="normal", seed=seed)
    X = rng.uniform(-1.0, 1.0, (n, SIZES[0]))
    if output == "softmax":
        Y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], n)]
    elif output == "exp":
        Y = rng.poisson(1.5, (n, SIZES[-1])).astype(float)   # zeros included
    else:
        Y = rng.uniform(0.0, 1.0, (n, SIZES[-1]))
    return net, X, Y, rng.uniform(0.2, 2.0, n)


def weighted_epoch(net, X, Y, w, order, batch, eta, cost, alpha):
    """One SGD epoch by the reference: per mini-batch, g = (sum s_i dC_i + alpha W) / S."""
    W, B = ref.to_lists(net.weights, net.biases)
    names = list(net.activation)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        S = float(sum(w[k] for k in idx))
        sW, sB = ref.zeros_like(W, B)
        for k in idx:
            dW, dB = ref.backprop_with(W, B, X[k], Y[k], cost, names, net.output)
            for l in range(len(W)):
                sW[l] = (np.asarray(sW[l]) + w[k] * np.asarray(dW[l])).tolist()
                sB[l] = (np.asarray(sB[l]) + w[k] * np.asarray(dB[l])).tolist()
        for l in range(len(W)):
            W[l] = (np.asarray(W[l]) - eta * (np.asarray(sW[l]) + alpha * np.asarray(W[l]))
                    / S).tolist()
            B[l] = (np.asarray(B[l]) - eta * np.asarray(sB[l]) / S).tolist()
    return W, B


@pytest.mark.kernels
@pytest.mark.parametrize("output, cost", [("sigmoid", "quadratic"),
                                          ("softmax", "cross_entropy"), ("exp", "poisson")])
@pytest.mark.parametrize("batch", [1, 4])
def test_weighted_epoch_with_alpha_matches_reference(output, cost, batch):
    net, X, Y, w = problem(output)
    order = np.array([3, 1, 4, 1, 5, 8, 2, 6, 0, 7])  # a row twice, in a given order
    W, B = weighted_epoch(net, X, Y, w, order.tolist(), batch, 0.3, cost, 0.05)
    net.partial_fit(X, Y, order=order, sample_weight=w, batch_size=batch, eta=0.3,
                    cost=cost, alpha=0.05)
    for got, want in zip(net.weights + net.biases, W + B):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.kernels
def test_the_record_counts_each_batch_by_its_rows_over_its_weights():
    net, X, Y, w = problem("softmax", n=8)
    before = net.copy()
    record = net.partial_fit(X, Y, sample_weight=w, batch_size=4, shuffle=False, eta=0.1,
                             alpha=0.5)[0]
    data = penalty = 0.0
    for idx in (range(0, 4), range(4, 8)):
        idx = list(idx)
        S = w[idx].sum()
        costs = [ref.sample_cost(*ref.to_lists(before.weights, before.biases), X[k], Y[k],
                                 None, list(before.activation), "softmax") for k in idx]
        data += len(idx) / S * np.dot(w[idx], costs)
        penalty += len(idx) * 0.5 / (2 * S) * sum(float(np.vdot(W, W))
                                                   for W in before.weights)
        before.partial_fit(X[idx], Y[idx], sample_weight=w[idx], batch_size=4,
                           shuffle=False, eta=0.1, alpha=0.5)
    assert record["cost"] == pytest.approx(data / 8, rel=1e-12)
    assert record["l2_penalty"] == pytest.approx(penalty / 8, rel=1e-12)


def test_unit_weights_and_no_alpha_change_nothing():
    net, X, Y, _ = problem()
    twin = net.copy()
    net.partial_fit(X, Y, shuffle=False, batch_size=3, eta=0.5)
    twin.partial_fit(X, Y, order=np.arange(len(X)), sample_weight=np.ones(len(X)),
                     batch_size=3, eta=0.5)
    np.testing.assert_allclose(twin.params, net.params, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("output, cost", [("identity", "quadratic"), ("exp", "poisson"),
                                          ("sigmoid", "cross_entropy")])
def test_objective_is_the_weighted_cost_and_its_gradient(output, cost):
    net, X, Y, w = problem(output)
    params = net.params + 0.01
    data, penalty, grad = net.objective(X, Y, params, cost=cost, l2=0.3, alpha=0.7,
                                        sample_weight=w)
    probe = mlp.MLP.from_params(net.sizes, params, activation=net.activation,
                                output=output)
    W, B = ref.to_lists(probe.weights, probe.biases)
    costs = [ref.sample_cost(W, B, x, y, cost, list(net.activation), output)
             for x, y in zip(X, Y)]
    squares = sum(float(np.vdot(Wl, Wl)) for Wl in probe.weights)
    assert data == pytest.approx(np.dot(w, costs) / w.sum(), rel=1e-12)
    assert penalty == pytest.approx((0.3 / (2 * len(X)) + 0.7 / (2 * w.sum())) * squares,
                                    rel=1e-12)
    h = 1e-6
    for k in range(0, params.size, 5):
        step = np.zeros_like(params)
        step[k] = h
        up = sum(net.objective(X, Y, params + step, cost=cost, l2=0.3, alpha=0.7,
                               sample_weight=w)[:2])
        down = sum(net.objective(X, Y, params - step, cost=cost, l2=0.3, alpha=0.7,
                                 sample_weight=w)[:2])
        assert grad[k] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8), k
    np.testing.assert_array_equal(probe.params, params)   # objective changed nothing
    assert not np.array_equal(net.params, params)


def test_poisson_is_the_exp_outputs_default_cost_and_only_cost():
    net, X, Y, _ = problem("exp")
    assert net.cost(X, Y) == pytest.approx(net.cost(X, Y, cost="poisson"))
    with pytest.raises(ValueError, match="does not go with a exp output"):
        net.cost(X, Y, cost="quadratic")
    with pytest.raises(ValueError, match="does not go with a sigmoid output"):
        mlp.MLP(SIZES).cost(X, Y, cost="poisson")
    with pytest.raises(ValueError, match="activation"):
        mlp.MLP(SIZES, activation="exp")


@pytest.mark.parametrize("kwargs, error, words", [
    ({"order": [0, 9]}, ValueError, "order holds indices outside"),
    ({"order": [0.5, 1.0]}, TypeError, "order must be a 1-D array of row indices"),
    ({"order": []}, ValueError, "order must hold at least one"),
    ({"sample_weight": [1.0, 2.0]}, ValueError, "sample_weight must be 1-D with one weight"),
    ({"sample_weight": [1.0, np.nan, 1.0]}, ValueError, "sample_weight contains NaN"),
    ({"alpha": -1.0}, ValueError, "alpha"),
])
def test_bad_order_weights_and_alpha_are_refused_before_training(kwargs, error, words):
    net, X, Y, _ = problem(n=3)
    before = net.params.copy()
    with pytest.raises(error, match=words):
        net.partial_fit(X, Y, **kwargs)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("batch", [1, 4])
def test_fit_with_weights_matches_the_reference_epoch_by_epoch(batch):
    """fit(sample_weight=...) over two epochs without shuffling: the reference's weighted
    epoch twice (and so partial_fit's)."""
    net, X, Y, w = problem("softmax")
    order = list(range(len(X)))
    W, B = ref.to_lists(net.weights, net.biases)
    for _ in range(2):
        twin = mlp.MLP.from_weights(W, B, activation=net.activation, output=net.output)
        W, B = weighted_epoch(twin, X, Y, w, order, batch, 0.3, "cross_entropy", 0.05)
    history = net.fit(X, Y, sample_weight=w, epochs=2, batch_size=batch, eta=0.3,
                      alpha=0.05, shuffle=False)
    assert len(history) == 2
    for got, want in zip(net.weights + net.biases, W + B):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_fit_holds_out_each_rows_weight_with_it():
    """validation_split sets the held-out rows' weights aside: the same run as training on
    the kept rows with their own weights (the split drawn as fit draws it)."""
    net, X, Y, w = problem("sigmoid", n=12)
    twin = mlp.MLP.from_weights(net.weights, net.biases, activation=net.activation)
    w[::3] = 50.0  # weights far from 1, so that a row paired with the wrong weight shows
    held = net.fit(X, Y, sample_weight=w, validation_split=0.25, seed=7, epochs=3,
                   batch_size=4, eta=0.2, shuffle=False)
    perm = np.random.default_rng(7).permutation(len(X))
    val, train = np.sort(perm[:3]), np.sort(perm[3:])
    kept = twin.fit(X[train], Y[train], sample_weight=w[train], epochs=3, batch_size=4,
                    eta=0.2, shuffle=False, validation_data=(X[val], Y[val]))
    np.testing.assert_array_equal(net.params, twin.params)
    assert [r["val_cost"] for r in held] == [r["val_cost"] for r in kept]


def test_fit_with_unit_weights_is_fit_without():
    net, X, Y, _ = problem("sigmoid")
    twin = mlp.MLP.from_weights(net.weights, net.biases, activation=net.activation)
    net.fit(X, Y, epochs=2, batch_size=4, eta=0.5, seed=3)
    twin.fit(X, Y, epochs=2, batch_size=4, eta=0.5, seed=3, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(twin.params, net.params, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("weights, words", [
    ([1.0, 2.0], "sample_weight must be 1-D with one weight per row of X"),
    ([1.0, np.inf, 1.0], "sample_weight contains"),
])
def test_fit_refuses_bad_weights_before_training(weights, words):
    net, X, Y, _ = problem(n=3)
    before = net.params.copy()
    with pytest.raises(ValueError, match=words):
        net.fit(X, Y, sample_weight=weights, epochs=1)
    np.testing.assert_array_equal(net.params, before)
