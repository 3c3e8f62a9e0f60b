"""The MLP object: layout of the parameters, initialisation, copies."""

import numpy as np
import pytest

import mlp


def test_layout_one_buffer_with_views():
    net = mlp.MLP([3, 4, 2], seed=0)
    assert net.sizes == (3, 4, 2) and net.n_layers == 2
    assert [w.shape for w in net.weights] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    p = net.params
    assert p.ndim == 1 and p.dtype == np.float64 and p.flags.c_contiguous
    assert p.size == 3 * 4 + 4 + 4 * 2 + 2
    # [W1 row-major, b1, W2, b2]
    np.testing.assert_array_equal(p[:12].reshape(3, 4), net.weights[0])
    np.testing.assert_array_equal(p[12:16], net.biases[0])
    np.testing.assert_array_equal(p[16:24].reshape(4, 2), net.weights[1])
    np.testing.assert_array_equal(p[24:], net.biases[1])
    # Writing through a view changes the model.
    net.weights[1][2, 1] = 7.0
    assert p[16 + 2 * 2 + 1] == 7.0
    net.biases[0][...] = 0.0
    assert not p[12:16].any()
    net.params[:] = 0.0
    np.testing.assert_array_equal(net.predict(np.ones(3)), [0.5, 0.5])


def test_weight_index_is_input_then_output_neuron():
    # W[i, j] connects input i to output j: only input 1 feeds output 0 here.
    W = np.zeros((2, 3))
    W[1, 0] = 50.0
    net = mlp.MLP.from_weights([W], [np.zeros(3)])
    out = net.predict([0.0, 1.0])
    assert out[0] > 0.999 and out[1] == out[2] == 0.5


@pytest.mark.parametrize("init", ["normal", "scaled", "glorot"])
def test_initialisation_is_seeded(init):
    a = mlp.MLP([30, 20, 5], init=init, seed=11)
    b = mlp.MLP([30, 20, 5], init=init, seed=11)
    c = mlp.MLP([30, 20, 5], init=init, seed=12)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    g = np.random.default_rng(11)
    np.testing.assert_array_equal(mlp.MLP([30, 20, 5], init=init, seed=g).params, a.params)


def test_initialisation_schemes_have_their_distributions():
    n_in, n_out = 400, 300
    normal = mlp.MLP([n_in, n_out], init="normal", seed=0)
    scaled = mlp.MLP([n_in, n_out], init="scaled", seed=0)
    glorot = mlp.MLP([n_in, n_out], init="glorot", seed=0)
    assert normal.weights[0].std() == pytest.approx(1.0, rel=0.02)
    assert normal.biases[0].std() == pytest.approx(1.0, rel=0.15)
    assert scaled.weights[0].std() == pytest.approx(1 / np.sqrt(n_in), rel=0.02)
    assert scaled.biases[0].std() == pytest.approx(1.0, rel=0.15)
    bound = np.sqrt(2.0 / (n_in + n_out))
    assert np.abs(glorot.weights[0]).max() <= bound
    assert np.abs(glorot.weights[0]).max() > 0.99 * bound
    assert glorot.weights[0].std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert np.abs(glorot.biases[0]).max() <= bound
    for net in (normal, scaled, glorot):
        assert abs(net.weights[0].mean()) < 0.01


def test_default_init_is_scaled():
    np.testing.assert_array_equal(mlp.MLP([5, 3], seed=1).params,
                                  mlp.MLP([5, 3], init="scaled", seed=1).params)


def test_copy_and_from_weights_are_independent():
    net = mlp.MLP([3, 4, 2], seed=0)
    twin = net.copy()
    np.testing.assert_array_equal(twin.params, net.params)
    twin.params[0] += 1.0
    assert twin.params[0] != net.params[0]
    rebuilt = mlp.MLP.from_weights(net.weights, net.biases)
    np.testing.assert_array_equal(rebuilt.params, net.params)
    assert not np.shares_memory(rebuilt.params, net.params)


def test_weights_list_is_a_fresh_list():
    net = mlp.MLP([3, 2], seed=0)
    net.weights.append("junk")
    assert len(net.weights) == 1


def test_repr_and_version():
    assert repr(mlp.MLP([784, 30, 10], seed=0)) == "MLP(sizes=(784, 30, 10))"
    assert isinstance(mlp.__version__, str) and mlp.__version__.count(".") >= 2


def test_importing_mlp_imports_no_optional_dependency():
    import subprocess
    import sys

    code = ("import sys, mlp; bad = [m for m in ('sklearn', 'matplotlib', 'dask', 'torch') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pickle_and_deepcopy_round_trip_exactly():
    import copy
    import pickle

    net = mlp.MLP([5, 7, 3], seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (20, 5)), rng.integers(0, 3, 20)
    net.partial_fit(X, y, momentum=0.9, eta=0.5, shuffle=False)
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert twin.sizes == net.sizes
        np.testing.assert_array_equal(twin.params, net.params)
        assert not np.shares_memory(twin.params, net.params)
        # the weights are views into the twin's own buffer, and momentum carries on alike
        saved = twin.weights[0][0, 0]
        twin.weights[0][0, 0] = 42.0
        assert twin.params[0] == 42.0 and net.params[0] == saved
        twin.weights[0][0, 0] = saved
        twin.partial_fit(X, y, momentum=0.9, eta=0.5, shuffle=False)
        again = copy.deepcopy(net)
        again.partial_fit(X, y, momentum=0.9, eta=0.5, shuffle=False)
        np.testing.assert_array_equal(twin.params, again.params)
