"""The compiled kernels compute exactly the seed's math.

Checked three independent ways: against a plain per-sample implementation written from the
seed (``_reference.py``), against central finite differences of the cost, and on a tiny
example worked by hand.
"""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _reference as ref
import mlp
from mlp import _core

ARCHITECTURES = [
    [3, 2],              # L = 1: no hidden layer
    [4, 5, 3],           # L = 2
    [3, 4, 5, 4, 2],     # L = 4
    [2, 3, 3, 3, 3, 2],  # L = 5
]


def make_problem(sizes, n, seed, *, labels=False):
    rng = np.random.default_rng(seed)
    net = mlp.MLP(sizes, init="normal", seed=seed)
    X = rng.uniform(-1.0, 1.0, (n, sizes[0]))
    if labels:
        Y = rng.integers(0, sizes[-1], n)
    else:
        Y = rng.uniform(0.0, 1.0, (n, sizes[-1]))
    return net, X, Y


def one_hot(labels, k):
    Y = np.zeros((len(labels), k))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


# Tests marked `kernels` check results that depend on which kernel the chooser (_kernels.h)
# picks. The normal run checks the level chosen at import; tests/test_kernel_levels.py runs
# them again at every other level this machine has (MLP_KERNELS=<level> pytest -m kernels).

@pytest.mark.kernels
def test_kernel_level_is_the_one_asked_for():
    # MLP_KERNELS names the level (the subprocesses of test_kernel_levels.py set it);
    # unset, the best this CPU and build can run.
    levels = _core.kernel_levels()
    assert mlp.kernel_level() == (os.environ.get("MLP_KERNELS") or levels[-1])
    assert mlp.kernel_level() in levels


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_predict_and_cost_match_reference(sizes):
    net, X, Y = make_problem(sizes, 7, seed=1)
    W, B = ref.to_lists(net.weights, net.biases)
    expected = np.array([ref.forward(W, B, x)[-1] for x in X])
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(net.predict(X[3]), expected[3], rtol=1e-13, atol=1e-14)
    expected_cost = np.mean([ref.cost(W, B, x, y) for x, y in zip(X, Y)])
    assert net.cost(X, Y) == pytest.approx(expected_cost, rel=1e-12, abs=1e-15)


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_gradient_matches_reference(sizes):
    net, X, Y = make_problem(sizes, 9, seed=2)
    W, B = ref.to_lists(net.weights, net.biases)
    gW, gB = ref.mean_gradient(W, B, X, Y)
    dW, db = net.gradient(X, Y)
    assert len(dW) == len(db) == len(sizes) - 1
    for l in range(len(dW)):
        assert dW[l].shape == net.weights[l].shape and db[l].shape == net.biases[l].shape
        np.testing.assert_allclose(dW[l], gW[l], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(db[l], gB[l], rtol=1e-11, atol=1e-14)


@pytest.mark.kernels
def test_gradient_over_many_blocks_matches_one_block():
    # 2,500 rows run through the kernel in blocks of 1,024: the sum must not depend on it.
    net, X, Y = make_problem([5, 6, 3], 2500, seed=3)
    dW, db = net.gradient(X, Y)
    dW_parts = [net.gradient(X[k : k + 500], Y[k : k + 500])[0] for k in range(0, 2500, 500)]
    for l in range(2):
        np.testing.assert_allclose(dW[l], np.mean([p[l] for p in dW_parts], axis=0),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", ARCHITECTURES)
@pytest.mark.parametrize("batch_size", [1, 3, 4])  # 10 samples: 3 and 4 leave a short batch
def test_one_epoch_of_fit_matches_reference(sizes, batch_size):
    net, X, Y = make_problem(sizes, 10, seed=4)
    W, B = ref.to_lists(net.weights, net.biases)
    order = list(range(10))
    ref.sgd_epoch(W, B, X, Y, order, batch_size, eta=2.5)
    net.fit(X, Y, epochs=1, batch_size=batch_size, eta=2.5, shuffle=False)
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=1e-12, atol=1e-13)


@pytest.mark.kernels
def test_shuffled_epochs_follow_the_permutation_of_the_seed():
    # fit permutes indices in place with numpy's Generator(seed).shuffle, once per epoch.
    sizes = [3, 4, 2]
    net, X, labels = make_problem(sizes, 11, seed=5, labels=True)
    W, B = ref.to_lists(net.weights, net.biases)
    rng = np.random.default_rng(42)
    order = np.arange(11)
    for _ in range(3):
        rng.shuffle(order)
        ref.sgd_epoch(W, B, X, one_hot(labels, 2), list(order), 4, eta=1.5)
    net.fit(X, labels, epochs=3, batch_size=4, eta=1.5, seed=42)
    for l in range(2):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=1e-12, atol=1e-13)


@pytest.mark.kernels
@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
    n=st.integers(1, 12),
    batch_size=st.integers(1, 14),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_architectures_match_reference(sizes, n, batch_size, seed):
    net, X, Y = make_problem(sizes, n, seed)
    W, B = ref.to_lists(net.weights, net.biases)
    expected = np.array([ref.forward(W, B, x)[-1] for x in X])
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12, atol=1e-14)
    ref.sgd_epoch(W, B, X, Y, list(range(n)), batch_size, eta=0.7)
    net.fit(X, Y, epochs=1, batch_size=batch_size, eta=0.7, shuffle=False)
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=1e-11, atol=1e-13)


# First-layer widths that reach every branch of the single-sample kernels: in _avx512.h,
# flat blocks of 8, 4 and 2 rows, permuted (n < 8) and blended lanes, strided chunks with and
# without a tail, and more than one chunk; in _avx2.h, passes of 1 to 8 vectors whose last
# holds 1, 2, 3 or 4 columns, and more than one pass (n > 32); and both sides of the
# chooser's width thresholds (_kernels.h: MLPK_AVX512_FLAT_WIDTH_LIMIT,
# MLPK_AVX512_NARROW_WIDTH, MLPK_AVX512_ROW_MAX_WIDTH).
KERNEL_WIDTHS = [1, 3, 6, 8, 10, 13, 24, 30, 31, 33, 40, 100, 129, 136, 300]


@pytest.mark.kernels
@pytest.mark.parametrize("l2", [0.0, 3.0])
@pytest.mark.parametrize("n1", KERNEL_WIDTHS)
def test_single_sample_epochs_match_reference_at_every_width(n1, l2):
    # 19 inputs: blocks of 8, 4 or 2 rows leave 3 or 1 rows over; the first 8 inputs are
    # zero in every sample, so with l2 = 0 whole blocks are skipped, and a third of the rest
    # are zero too.
    sizes = [19, n1, 3]
    net, X, Y = make_problem(sizes, 5, seed=n1)
    X[:, :8] = 0.0
    X[np.random.default_rng(n1).random(X.shape) < 1 / 3] = 0.0
    W, B = ref.to_lists(net.weights, net.biases)
    ref.train_epoch(W, B, X, Y, list(range(5)), 1, 1.3, l2=l2)
    net.fit(X, Y, epochs=1, batch_size=1, eta=1.3, l2=l2, shuffle=False)
    for l in range(len(W)):
        np.testing.assert_allclose(net.weights[l], W[l], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(net.biases[l], B[l], rtol=1e-12, atol=1e-13)


def one_row_at_a_time(net, X, Y, **options):
    """net trained on the rows of X in order, one partial_fit call per row: every step
    then runs alone, its first-layer sums through W_1 as it is (no fused or two-row pass)."""
    for i in range(len(X)):
        net.partial_fit(X[i:i + 1], Y[i:i + 1], batch_size=1, shuffle=False, **options)


@pytest.mark.kernels
@pytest.mark.parametrize("n1", [1, 5, 13, 16, 30, 100])
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7])
def test_single_sample_epochs_match_one_step_at_a_time(rows, n1):
    # The avx2 level's epoch goes two rows per pass over W_1 (_epoch1_pairs, _kernels.h's
    # pair chooser), the second row's sums corrected algebraically: an even or odd number
    # of rows, and a pair at the end or a row alone, must all agree with separate steps.
    net, X, Y = make_problem([23, n1, 4], rows, seed=rows * n1)
    X[:, :5] = 0.0
    alone = net.copy()
    net.fit(X, Y, epochs=1, batch_size=1, eta=1.1, shuffle=False)
    one_row_at_a_time(alone, X, Y, eta=1.1)
    np.testing.assert_allclose(net.params, alone.params, rtol=1e-12, atol=1e-13)
    assert not np.array_equal(net.params, make_problem([23, n1, 4], rows, rows * n1)[0].params)


@pytest.mark.kernels
@pytest.mark.parametrize("huge", [[1], [2], [1, 4], [0, 3]])
def test_single_sample_epochs_with_overflowing_sums_match_one_step_at_a_time(huge):
    # Rows of 1e307 overflow their first-layer sums: the first row of a pair has them redone
    # overflow-free (_finite_sums); the second, whose sums come from the correction, has
    # the first row's update applied before they are redone (_epoch1_pairs' rare path).
    net, X, Y = make_problem([30, 20, 3], 6, seed=len(huge))
    X[huge] = 1e307
    alone = net.copy()
    net.fit(X, Y, epochs=1, batch_size=1, eta=0.7, shuffle=False)
    one_row_at_a_time(alone, X, Y, eta=0.7)
    assert np.isfinite(net.params).all()
    np.testing.assert_allclose(net.params, alone.params, rtol=1e-12, atol=1e-13)


SMALL_BATCH_OPTIONS = [{}, {"l2": 3.0}, {"momentum": 0.8, "l2": 1.0},
                       {"momentum": 0.6, "nesterov": True}]


@pytest.mark.kernels
@pytest.mark.parametrize("options", SMALL_BATCH_OPTIONS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "sgd")
@pytest.mark.parametrize("sizes", [[1, 5, 3], [9, 8, 10], [9, 30, 20], [3, 33, 7],
                                   [9, 100, 24], [2, 15, 1]])
def test_small_batch_epochs_match_reference(sizes, options):
    # Mini-batches of up to 12 rows take the AVX-512 or AVX2 forward and update kernels
    # (_avx512.h, _avx2.h), writing W in place (plain SGD) or a gradient buffer (momentum);
    # 13 rows are beyond them (_kernels.h: MLPK_AVX512_COMBINE_MAX_ROWS,
    # MLPK_AVX2_COMBINE_MAX_ROWS and the update's), and single rows take their own. Widths
    # cover whole vectors, a tail alone, a whole vector and a tail, and layers so small that
    # no row of W holds a whole vector.
    for batch_size in (1, 2, 5, 10, 12, 13):
        net, X, Y = make_problem(sizes, 15, seed=batch_size)
        W, B = ref.to_lists(net.weights, net.biases)
        VW = [[[0.0] * len(r) for r in Wl] for Wl in W]
        VB = [[0.0] * len(b) for b in B]
        ref.train_epoch(W, B, X, Y, list(range(15)), batch_size, 0.9, VW=VW, VB=VB,
                        **options)
        net.fit(X, Y, epochs=1, batch_size=batch_size, eta=0.9, shuffle=False, **options)
        for l in range(len(W)):
            np.testing.assert_allclose(net.weights[l], W[l], rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(net.biases[l], B[l], rtol=1e-12, atol=1e-13)
        # the trained weights agree to 1e-12; the outputs through them, to 1e-11
        expected = np.array([ref.forward(W, B, x)[-1] for x in X])
        np.testing.assert_allclose(net.predict(X), expected, rtol=1e-11, atol=1e-13)
        for k in (0, 14):   # one row at a time: another kernel for wide layers
            np.testing.assert_allclose(net.predict(X[k:k + 1])[0], expected[k],
                                       rtol=1e-11, atol=1e-13)


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", [[9, 8, 10], [9, 30, 20], [9, 100, 24]])
def test_small_batch_gradients_match_reference(sizes):
    # gradient() of up to 12 rows: the update kernel writing a fresh buffer (beta = 0)
    net, X, Y = make_problem(sizes, 12, seed=7)
    W, B = ref.to_lists(net.weights, net.biases)
    for n in (1, 5, 12):
        gW, gB = ref.mean_gradient(W, B, X[:n], Y[:n])
        dW, db = net.gradient(X[:n], Y[:n])
        for l in range(len(W)):
            np.testing.assert_allclose(dW[l], gW[l], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(db[l], gB[l], rtol=1e-12, atol=1e-14)


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", ARCHITECTURES + [[6, 8, 8, 8, 8, 8, 8, 3]])
def test_gradient_matches_central_finite_differences(sizes):
    net, X, Y = make_problem(sizes, 6, seed=6)
    dW, db = net.gradient(X, Y)
    analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])
    # Guard against a check that passes trivially: every layer's gradient is substantial.
    for l in range(len(dW)):
        assert np.abs(dW[l]).max() > 1e-6 and np.abs(db[l]).max() > 1e-6, f"layer {l}"
    h = 1e-6
    numeric = np.empty_like(net.params)
    for k in range(net.params.size):
        saved = net.params[k]
        net.params[k] = saved + h
        up = net.cost(X, Y)
        net.params[k] = saved - h
        down = net.cost(X, Y)
        net.params[k] = saved
        numeric[k] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_label_targets_are_one_hot():
    net, X, labels = make_problem([4, 3, 5], 8, seed=7, labels=True)
    assert net.cost(X, labels) == net.cost(X, one_hot(labels, 5))
    for a, b in zip(net.gradient(X, labels)[0], net.gradient(X, one_hot(labels, 5))[0]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.kernels
def test_hand_worked_example():
    # Network [1, 1, 1]: W1 = 1, b1 = -1, W2 = 2, b2 = -1; sample x = 1, y = 1.
    net = mlp.MLP.from_weights([[[1.0]], [[2.0]]], [[-1.0], [-1.0]])
    # Forward: z1 = -1 + 1*1 = 0, a1 = sig(0) = 0.5; z2 = -1 + 2*0.5 = 0, a2 = 0.5.
    assert net.predict([1.0]).tolist() == [0.5]
    # Cost: C = 1/2 (0.5 - 1)^2 = 0.125.
    assert net.cost([[1.0]], [[1.0]]) == 0.125
    # Output delta: db2 = (a2 - y) a2 (1 - a2) = -0.5 * 0.5 * 0.5 = -0.125; dW2 = db2 a1 = -0.0625.
    # Back: da1 = db2 W2 = -0.25; db1 = da1 a1 (1 - a1) = -0.0625; dW1 = db1 x = -0.0625.
    dW, db = net.gradient([[1.0]], [[1.0]])
    assert [w.tolist() for w in dW] == [[[-0.0625]], [[-0.0625]]]
    assert [b.tolist() for b in db] == [[-0.0625], [-0.125]]
    # One SGD step, eta = 1, m = 1: W1 = 1.0625, b1 = -0.9375, W2 = 2.0625, b2 = -0.875.
    net.fit([[1.0]], [[1.0]], epochs=1, batch_size=1, eta=1.0)
    assert net.params.tolist() == [1.0625, -0.9375, 2.0625, -0.875]


def test_sigmoid_is_stable_at_the_extremes():
    z = np.array([-1e308, -1000.0, -745.2, -709.8, -40.0, -1e-300, 0.0, 1e-300,
                  40.0, 709.8, 745.2, 1000.0, 1e308])
    s = mlp.sigmoid(z)  # pytest turns any numpy warning into an error
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
    assert s[0] == 0.0 and s[-1] == 1.0 and s[6] == 0.5
    assert np.all(np.diff(s) >= 0)
    # Away from the extremes it is 1/(1+e^-z) to rounding, and sig(-z) = 1 - sig(z).
    mid = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(mlp.sigmoid(mid), 1 / (1 + np.exp(-mid)), rtol=1e-15)
    np.testing.assert_allclose(mlp.sigmoid(-mid), 1 - mlp.sigmoid(mid), rtol=0, atol=2.5e-16)
    assert mlp.sigmoid([[1e308]]).shape == (1, 1)
    assert mlp.sigmoid(3).shape == ()


@pytest.mark.kernels
def test_saturated_network_outputs_stay_finite():
    net = mlp.MLP.from_weights([np.full((3, 2), 1e300)], [np.zeros(2)])
    out = net.predict([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    assert out.tolist() == [[1.0, 1.0], [0.0, 0.0]]
