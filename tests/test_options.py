"""The training toolkit: cross-entropy, L2, momentum, schedules, early stopping, callbacks,
validation splits and partial_fit, each checked against its definition."""

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
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, init="normal", seed=seed)
    X = rng.uniform(-1, 1, (n, sizes[0]))
    labels = rng.integers(0, sizes[-1], n)
    return net, X, labels, np.eye(sizes[-1])[labels]


def assert_params_equal(net, W, B, tol=1e-12):
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=tol, atol=tol)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=tol, atol=tol)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
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


def test_costs_match_their_formulas():
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


def test_partial_fit_twice_equals_two_epochs_of_fit():
    for options in ({}, {"momentum": 0.8, "l2": 1.0}, {"momentum": 0.6, "nesterov": True,
                                                        "cost": "cross_entropy"}):
        a, X, labels, _ = problem([4, 6, 3], n=25, seed=5)
        b = a.copy()
        a.partial_fit(X, labels, batch_size=4, eta=0.5, shuffle=False, **options)
        a.partial_fit(X, labels, batch_size=4, eta=0.5, shuffle=False, **options)
        b.fit(X, labels, epochs=2, batch_size=4, eta=0.5, shuffle=False, **options)
        np.testing.assert_array_equal(a.params, b.params)


def test_partial_fit_streams_chunks():
    # One epoch over the data in chunks (a multiple of the batch size) equals one fit epoch.
    a, X, labels, _ = problem([4, 6, 3], n=40, seed=6)
    b = a.copy()
    for k in range(0, 40, 8):
        history = a.partial_fit(X[k:k + 8], labels[k:k + 8], batch_size=4, eta=0.5,
                                shuffle=False, momentum=0.5)
        assert len(history) == 1
    b.fit(X, labels, epochs=1, batch_size=4, eta=0.5, shuffle=False, momentum=0.5)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-13, atol=1e-14)


def test_training_accuracy_is_measured_before_each_step():
    net, X, labels, _ = problem([4, 5, 3], n=30, seed=2)
    before = net.accuracy(X, labels)
    history = net.fit(X, labels, epochs=1, batch_size=30, eta=1.0)
    assert history[0]["accuracy"] == before
    assert "accuracy" not in net.fit(X, np.eye(3)[labels], epochs=1)[0]


def digits_split():
    from mlp.datasets import load_digits

    X, y = load_digits()
    X = X / 16
    order = np.random.default_rng(1).permutation(len(X))
    return X[order[:1000]], y[order[:1000]], X[order[1000:1400]], y[order[1000:1400]]


def test_early_stopping_restores_the_best_parameters():
    X, y, Xv, yv = digits_split()
    net = mlp.MLP([64, 20, 10], seed=0)
    snapshots = {}
    history = net.fit(X, y, epochs=60, batch_size=10, eta=8.0, seed=0,
                      validation_data=(Xv, yv), early_stopping=True, patience=3,
                      callbacks=lambda r: snapshots.__setitem__(r["epoch"], net.params.copy()))
    scores = history["val_accuracy"]
    best = history.best_epoch
    assert history.stop_reason == "early_stopping" and len(history) < 60
    assert scores[best - 1] == max(scores)
    assert all(s <= scores[best - 1] for s in scores[best:])
    assert len(history) == best + 3  # stopped after `patience` epochs without improvement
    np.testing.assert_array_equal(net.params, snapshots[best])
    assert net.accuracy(Xv, yv) == scores[best - 1]


def test_a_callback_stops_training():
    net, X, labels, _ = problem([4, 3], n=20)
    seen = []

    def stop_at_three(record):
        seen.append(record["epoch"])
        return record["epoch"] == 3

    history = net.fit(X, labels, epochs=10, callbacks=[stop_at_three, lambda r: None])
    assert len(history) == 3 and seen == [1, 2, 3] and history.stop_reason == "callback"


def test_schedules():
    X, y, Xv, yv = digits_split()
    net = mlp.MLP([64, 10], seed=0)
    history = net.fit(X, y, epochs=6, eta=2.0, schedule=lambda epoch: 1.0 / epoch)
    assert history["eta"] == [1.0, 0.5, 1 / 3, 0.25, 0.2, 1 / 6]
    # With eta too small to move the validation accuracy, "halve" with patience 1 halves
    # after every epoch past the first and stops when eta reaches eta/128.
    history = net.fit(X, y, epochs=50, eta=1e-13, validation_data=(Xv, yv),
                      schedule=mlp.HalveOnPlateau(patience=1))
    assert history["eta"] == [1e-13, 1e-13] + [1e-13 / 2**k for k in range(1, 7)]
    assert history.stop_reason == "schedule"
    with pytest.raises(ValueError, match="schedule"):
        net.fit(X, y, epochs=3, schedule=lambda epoch: -1.0)
    with pytest.raises(ValueError, match="schedule"):
        net.fit(X, y, epochs=3, schedule="cosine")


def test_a_failing_schedule_leaves_the_network_alone():
    net, X, labels, _ = problem([4, 3], n=20)
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"schedule\(3\)"):
        net.fit(X, labels, epochs=5, schedule=lambda e: 1.0 if e < 3 else float("nan"))
    np.testing.assert_array_equal(net.params, before)


def test_validation_split_holds_out_rows_with_the_seed():
    X, y, _, _ = digits_split()
    a, b = mlp.MLP([64, 10], seed=0), mlp.MLP([64, 10], seed=0)
    ha = a.fit(X, y, epochs=2, validation_split=0.2, seed=4)
    hb = b.fit(X, y, epochs=2, validation_split=0.2, seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert ha["val_accuracy"] == hb["val_accuracy"] and "val_cost" in ha[0]
    # The same split, given explicitly: 200 held out, chosen by the seed's first draw.
    perm = np.random.default_rng(4).permutation(1000)
    val, train = np.sort(perm[:200]), np.sort(perm[200:])
    c = mlp.MLP([64, 10], seed=0)
    rng = np.random.default_rng(4)
    rng.permutation(1000)
    hc = c.fit(X[train], y[train], epochs=2, seed=rng, validation_data=(X[val], y[val]))
    np.testing.assert_array_equal(c.params, a.params)
    assert hc["val_accuracy"] == ha["val_accuracy"]


@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"l2": -1.0}, ValueError, "l2"),
        ({"l2": float("inf")}, ValueError, "l2"),
        ({"momentum": 1.0}, ValueError, "momentum"),
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


def test_non_finite_rows_held_out_by_the_split_are_caught_before_training():
    net, X, labels, _ = problem([4, 3], n=50)
    perm = np.random.default_rng(7).permutation(50)
    X = X.copy()
    X[perm[0], 1] = np.nan  # the first row the split holds out
    before = net.params.copy()
    with pytest.raises(ValueError, match=rf"X contains NaN or infinity \(row {perm[0]}\)"):
        net.fit(X, labels, epochs=3, validation_split=0.2, seed=7)
    np.testing.assert_array_equal(net.params, before)
