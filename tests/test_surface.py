"""MLP's documented surface for mlp's own interfaces (mlp.io, mlp.dask): building a network
from a parameter vector, snapshots of the parameters and optimizer state, and applying a
summed gradient by the compiled epoch's own update rule. No module but network.py touches
MLP's underscore names."""

import ast
from pathlib import Path

import numpy as np
import pytest

import mlp
from mlp.options import StepOptions, check_options, STEP

SRC = Path(mlp.__file__).parent


def step_options(output="sigmoid", **given):
    return StepOptions.from_options(check_options(STEP, given, "test"), output)


def problem(seed=0, n=12):
    rng = np.random.default_rng(seed)
    net = mlp.MLP([5, 7, 3], init="normal", seed=seed)
    X = rng.uniform(-1, 1, (n, 5))
    Y = np.eye(3)[rng.integers(0, 3, n)]
    return net, X, Y


def test_from_params_copies_and_checks():
    net, _, _ = problem()
    twin = mlp.MLP.from_params(net.sizes, net.params)
    np.testing.assert_array_equal(twin.params, net.params)
    twin.params[0] += 1.0
    assert twin.params[0] != net.params[0]
    with pytest.raises(ValueError, match="params has 2 entries; sizes .* need 3"):
        mlp.MLP.from_params([2, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        mlp.MLP.from_params([1, 1], [np.nan, 0.0])
    with pytest.raises(ValueError, match="velocity has"):
        mlp.MLP.from_params([1, 1], [0.0, 0.0], {"velocity": np.zeros(3)})
    with pytest.raises(ValueError, match="unknown optimizer state"):
        mlp.MLP.from_params([1, 1], [0.0, 0.0], {"adam": np.zeros(2)})


@pytest.mark.parametrize("given", [
    {},
    {"l2": 3.0},
    {"momentum": 0.9},
    {"momentum": 0.6, "nesterov": True, "l2": 1.0, "cost": "cross_entropy"},
])
def test_apply_gradient_is_the_epochs_step(given):
    """One full-batch step of partial_fit, and the same step from the summed gradient."""
    net, X, Y = problem()
    n = len(X)
    opts = step_options(batch_size=n, eta=0.7, **given)
    for _ in range(3):  # momentum's velocity builds up over steps
        expected = net.copy()
        expected.restore(net.snapshot())
        expected.partial_fit(X, Y, batch_size=n, eta=0.7, shuffle=False, **given)
        dW, db = net.gradient(X, Y, cost=given.get("cost", "quadratic"))
        grad = np.concatenate([a.ravel() for pair in zip(dW, db) for a in pair]) * n
        net.prepare_optimizer(opts, fresh=False)
        net.apply_gradient(grad, n, 0.7, opts, n)
        np.testing.assert_allclose(net.params, expected.params, rtol=0, atol=1e-13)
        assert net.optimizer_state.keys() == expected.optimizer_state.keys()
        for key, value in expected.optimizer_state.items():
            np.testing.assert_allclose(net.optimizer_state[key], value, rtol=0, atol=1e-13)


def test_snapshot_restore_round_trip():
    net, X, Y = problem()
    net.fit(X, Y, epochs=2, momentum=0.5, eta=0.5, seed=0)
    snap = net.snapshot()
    assert set(snap.optimizer_state) == {"velocity"}
    net.partial_fit(X, Y, momentum=0.5, eta=0.5, seed=1)
    assert not np.array_equal(net.params, snap.params)
    net.restore(snap)
    np.testing.assert_array_equal(net.params, snap.params)
    np.testing.assert_array_equal(net.optimizer_state["velocity"],
                                  snap.optimizer_state["velocity"])
    net.fit(X, Y, epochs=1, eta=0.5, seed=0)      # fit without momentum: no state left
    assert net.optimizer_state == {}


def _private_names():
    net = mlp.MLP([2, 1])
    names = {n for n in vars(net) if n.startswith("_")}
    names |= {n for n in vars(mlp.MLP) if n.startswith("_") and not n.startswith("__")}
    return names


def test_no_module_outside_network_touches_mlp_underscore_names():
    names = _private_names()
    assert {"_params", "_velocity", "_carve", "_lock"} <= names
    offenders = []
    for path in sorted(SRC.glob("*.py")):
        if path.name == "network.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in names:
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "mlp.network":
                offenders += [f"{path.name}:{node.lineno} imports {a.name}"
                              for a in node.names if a.name.startswith("_")]
    assert not offenders, offenders
