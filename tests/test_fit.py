"""fit's training loop and its bookkeeping: determinism and seeds, sample order and
shuffling, an epoch split over kernel calls, zero epochs, the History records and verbose
output, progress, interrupts, validation data and validation_split, early stopping,
callbacks, learning-rate schedules, and learning the digits.

Not here: what one step computes under each option (cross-entropy, L2, momentum, Nesterov
against the per-sample reference; gradients and costs; the training figures measured before
each step; partial_fit) and the rejection of bad option values: ``test_options.py``. The
seed's plain SGD against the reference: ``test_math.py``; bad data: ``test_inputs.py``.
"""

import numpy as np
import pytest

import mlp
from mlp.datasets import load_digits


@pytest.fixture(scope="module")
def scaled_digits():
    """The bundled digits (1,797 images), pixels scaled to [0, 1]."""
    X, y = load_digits()
    return X / 16.0, y


@pytest.fixture(scope="module")
def digits(scaled_digits):
    """(X, y, X_test, y_test): 1,347 training and 450 test images, a seed-0 split."""
    X, y = scaled_digits
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:450], order[450:]
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def digits_split(scaled_digits):
    """(X, y, X_val, y_val): 1,000 training and 400 validation images, a seed-1 split."""
    X, y = scaled_digits
    order = np.random.default_rng(1).permutation(len(X))
    return X[order[:1000]], y[order[:1000]], X[order[1000:1400]], y[order[1000:1400]]


def small_problem(seed=0, n=40):
    """(X, labels): n samples of 5 features in [0, 1), 3 classes."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 5)), rng.integers(0, 3, n)


def problem(sizes, n=10, seed=0):
    """(net, X, labels, one-hot labels): a normal-initialised network and n samples in
    [-1, 1) (as in test_options.py)."""
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, init="normal", seed=seed)
    X = rng.uniform(-1, 1, (n, sizes[0]))
    labels = rng.integers(0, sizes[-1], n)
    return net, X, labels, np.eye(sizes[-1])[labels]


# --- seeds, order and kernel calls -------------------------------------------------------

def test_same_seed_same_bits():
    X, y = small_problem()
    a, b = mlp.MLP([5, 6, 3], seed=1), mlp.MLP([5, 6, 3], seed=1)
    ha = a.fit(X, y, epochs=4, batch_size=7, eta=1.0, seed=9)
    hb = b.fit(X, y, epochs=4, batch_size=7, eta=1.0, seed=9)
    np.testing.assert_array_equal(a.params, b.params)
    assert ha["cost"] == hb["cost"]
    c = mlp.MLP([5, 6, 3], seed=1)
    c.fit(X, y, epochs=4, batch_size=7, eta=1.0, seed=10)
    assert not np.array_equal(a.params, c.params)


def test_shuffle_false_is_the_given_order():
    X, y = small_problem()
    a, b = mlp.MLP([5, 6, 3], seed=1), mlp.MLP([5, 6, 3], seed=1)
    a.fit(X, y, epochs=2, batch_size=8, shuffle=False, seed=1)
    b.fit(X, y, epochs=2, batch_size=8, shuffle=False, seed=2)
    np.testing.assert_array_equal(a.params, b.params)
    c = mlp.MLP([5, 6, 3], seed=1)
    c.fit(X, y, epochs=2, batch_size=8, shuffle=True, seed=1)
    assert not np.array_equal(a.params, c.params)


def test_a_batch_larger_than_the_data_is_one_full_batch_step():
    # batch_size > n is full-batch gradient descent: one step of -eta * mean gradient.
    X, y = small_problem(n=30)
    net = mlp.MLP([5, 4, 3], seed=2)
    dW, db = net.gradient(X, y)
    expected = net.params - 0.5 * np.concatenate(
        [np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
    net.fit(X, y, epochs=1, batch_size=1000, eta=0.5, shuffle=False)
    np.testing.assert_allclose(net.params, expected, rtol=1e-13, atol=1e-15)


def test_epoch_is_split_into_segments_without_changing_results(monkeypatch):
    # fit hands the epoch to the kernel in segments (to honour Ctrl-C); force tiny ones.
    from mlp import network

    X, y = small_problem(n=50)
    a, b = mlp.MLP([5, 4, 3], seed=3), mlp.MLP([5, 4, 3], seed=3)
    a.fit(X, y, epochs=2, batch_size=4, seed=0)
    monkeypatch.setattr(network, "_SEGMENT_FLOPS", 1.0)
    b.fit(X, y, epochs=2, batch_size=4, seed=0)
    np.testing.assert_array_equal(a.params, b.params)


def test_zero_epochs_trains_nothing():
    X, y = small_problem()
    net = mlp.MLP([5, 3], seed=0)
    before = net.params.copy()
    history = net.fit(X, y, epochs=0)
    assert len(history) == 0
    np.testing.assert_array_equal(net.params, before)


# --- history, progress and interrupts ----------------------------------------------------

def test_history_records_and_verbose_lines(capsys):
    X, y = small_problem()
    net = mlp.MLP([5, 6, 3], seed=0)
    history = net.fit(X[:30], y[:30], epochs=3, batch_size=5, eta=2.0, seed=0,
                      validation_data=(X[30:], y[30:]), verbose=True)
    assert len(history) == 3 and [r["epoch"] for r in history] == [1, 2, 3]
    assert set(history[0]) == {"epoch", "cost", "accuracy", "eta", "seconds", "val_cost",
                               "val_accuracy"}
    assert history["eta"] == [2.0] * 3
    assert all(s >= 0 for s in history["seconds"])
    # After training, the reported validation figures are the network's.
    assert history[-1]["val_cost"] == pytest.approx(net.cost(X[30:], y[30:]), rel=1e-12)
    assert history[-1]["val_accuracy"] == net.accuracy(X[30:], y[30:])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_accuracy" in lines[0]
    assert "3 epochs" in repr(history)
    with pytest.raises(KeyError, match="records have"):
        history["l2_penalty"]


def test_progress_reports_each_segment(monkeypatch):
    from mlp import network

    monkeypatch.setattr(network, "_SEGMENT_FLOPS", 1.0)  # one kernel call per mini-batch
    X, y = small_problem(n=23)
    calls = []
    mlp.MLP([5, 4, 3], seed=0).fit(X, y, epochs=2, batch_size=5, seed=0,
                                   progress=lambda *a: calls.append(a))
    assert [c[:3] for c in calls] == [(e, d, 23) for e in (1, 2) for d in (5, 10, 15, 20, 23)]
    assert all(np.isfinite(c[3]) and c[3] > 0 for c in calls)
    with pytest.raises(TypeError, match="progress"):
        mlp.MLP([5, 3]).fit(X, y, progress=3)


def test_interrupt_keeps_the_last_complete_mini_batch(monkeypatch):
    # Ctrl-C arrives between kernel calls; simulate it from the progress hook.
    from mlp import network

    monkeypatch.setattr(network, "_SEGMENT_FLOPS", 1.0)
    X, y = small_problem(n=40)
    net = mlp.MLP([5, 4, 3], seed=0)
    reference = net.copy()

    def interrupt(epoch, done, total, cost):
        if epoch == 2 and done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, y, epochs=5, batch_size=10, shuffle=False, progress=interrupt)
    history = info.value.history
    assert len(history) == 1 and history.stop_reason == "interrupted"
    # Epoch 1, then the first two mini-batches of epoch 2.
    reference.fit(X, y, epochs=1, batch_size=10, shuffle=False)
    reference.fit(X[:20], y[:20], epochs=1, batch_size=10, shuffle=False)
    np.testing.assert_array_equal(net.params, reference.params)


# --- validation --------------------------------------------------------------------------

def test_validation_accuracy_only_for_class_targets():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, 1, (20, 4)), rng.uniform(0, 1, (20, 2))
    history = mlp.MLP([4, 2], seed=0).fit(X, Y, epochs=1, validation_data=(X, Y))
    assert "val_cost" in history[0] and "val_accuracy" not in history[0]
    onehot = np.eye(2)[rng.integers(0, 2, 20)]
    history = mlp.MLP([4, 2], seed=0).fit(X, Y, epochs=1, validation_data=(X, onehot))
    assert "val_accuracy" in history[0]


def test_validation_split_holds_out_rows_with_the_seed(digits_split):
    X, y, _, _ = digits_split
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


def test_non_finite_rows_held_out_by_the_split_are_caught_before_training():
    net, X, labels, _ = problem([4, 3], n=50)
    perm = np.random.default_rng(7).permutation(50)
    X = X.copy()
    X[perm[0], 1] = np.nan  # the first row the split holds out
    before = net.params.copy()
    with pytest.raises(ValueError, match=rf"X contains NaN or infinity \(row {perm[0]}\)"):
        net.fit(X, labels, epochs=3, validation_split=0.2, seed=7)
    np.testing.assert_array_equal(net.params, before)


# --- early stopping, callbacks and schedules ---------------------------------------------

def test_early_stopping_restores_the_best_parameters(digits_split):
    X, y, Xv, yv = digits_split
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


def test_schedules_set_each_epochs_eta_and_bad_ones_raise(digits_split):
    X, y, Xv, yv = digits_split
    net = mlp.MLP([64, 10], seed=0)
    history = net.fit(X, y, epochs=6, eta=2.0, schedule=lambda epoch: 1.0 / epoch)
    assert history["eta"] == [1.0, 0.5, 1 / 3, 0.25, 0.2, 1 / 6]
    # With eta too small to move the validation accuracy, HalveOnPlateau(patience=1) halves
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


# --- learning ----------------------------------------------------------------------------

def test_learns_the_digits(digits):
    X, y, X_test, y_test = digits
    net = mlp.MLP([64, 30, 10], seed=0)
    history = net.fit(X, y, epochs=30, batch_size=10, eta=3.0, seed=0)
    assert history["cost"][-1] < history["cost"][0] / 3
    accuracy = net.accuracy(X_test, y_test)
    assert accuracy >= 0.96, accuracy
    assert np.isfinite(net.params).all()
