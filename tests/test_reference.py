"""The per-sample reference (``_reference.py``) is itself right, so that the compiled
kernels can be checked against it: its gradient is the derivative of its own cost (central
finite differences) for every hidden activation and every (output, cost) pair, with and
without L2; for the seed's configuration it equals the seed's functions exactly; softmax is
a distribution and stable for huge inputs; each derivative, taken from the activation, is
the derivative of the activation; its epochs step by its own gradient; and an Adam step
worked by hand.

This file tests only the reference (and numpy, for the finite differences): it passes
whatever state mlp is in. mlp against the reference: ``test_math.py``,
``test_options.py``, ``test_activations.py``, ``test_adam.py``.
"""

import math

import numpy as np
import pytest

import _reference as ref

SIZES = [4, 5, 3, 3]
# Every hidden activation for both hidden layers, and two per-layer mixtures.
HIDDEN = list(ref.ACTIVATIONS) + [["relu", "tanh"], ("identity", "sigmoid")]


def hidden_id(activations):
    return activations if isinstance(activations, str) else "+".join(activations)


def pair_id(pair):
    return f"{pair[0]}-{pair[1]}"


def targets(rng, output, n, k):
    """Targets a cost is defined for: in [0, 1] for a sigmoid output, rows of
    probabilities (summing to 1, so that a - y is the gradient) for softmax, any real for
    identity."""
    if output == "softmax":
        return rng.dirichlet(np.ones(k), n)
    if output == "identity":
        return rng.uniform(-1.0, 1.0, (n, k))
    return rng.uniform(0.0, 1.0, (n, k))


def pre_activations(W, B, acts):
    """z^(l) of every layer, from the activations forward_with returned."""
    return [[B[l][j] + sum(W[l][i][j] * acts[l][i] for i in range(len(acts[l])))
             for j in range(len(B[l]))] for l in range(len(W))]


def problem(activations, output, cost, sizes=SIZES, n=6, seed=0, margin=1e-3):
    """(W, B, X, Y) as nested lists: weights N(0, 1/n_in), biases N(0, 1/4), inputs in
    [-1, 1). With relu hidden layers, the first seed from ``seed`` on whose every relu
    input is at least ``margin`` away from 0, so that the finite differences never cross
    the kink."""
    names = ref.hidden_activations(activations, len(sizes) - 2)
    while True:
        rng = np.random.default_rng(seed)
        W = [rng.normal(0.0, 1.0 / math.sqrt(a), (a, b)) for a, b in zip(sizes, sizes[1:])]
        B = [rng.normal(0.0, 0.5, b) for b in sizes[1:]]
        X = rng.uniform(-1.0, 1.0, (n, sizes[0]))
        Y = targets(rng, output, n, sizes[-1])
        W, B = ref.to_lists(W, B)
        X, Y = X.tolist(), Y.tolist()
        close = [abs(z) for x in X
                 for l, zl in enumerate(pre_activations(W, B, ref.forward_with(
                     W, B, x, names, output))[:-1]) if names[l] == "relu" for z in zl]
        if not close or min(close) >= margin:
            return W, B, X, Y
        seed += 1000


def parameters(W, B):
    """(container, index) of every parameter, in MLP.params order."""
    for Wl, bl in zip(W, B):
        for row in Wl:
            for j in range(len(row)):
                yield row, j
        for j in range(len(bl)):
            yield bl, j


# --- the gradient is the derivative of the cost ------------------------------------------

@pytest.mark.parametrize("l2", [0.0, 2.0])
@pytest.mark.parametrize("pair", ref.PAIRS, ids=pair_id)
@pytest.mark.parametrize("activations", HIDDEN, ids=hidden_id)
def test_gradient_is_the_finite_difference_of_the_cost(activations, pair, l2):
    output, cost = pair
    W, B, X, Y = problem(activations, output, cost)
    gW, gB = ref.gradient(W, B, X, Y, cost, l2, activations, output)
    analytic = ref.flat(gW, gB)
    # No layer's gradient is (nearly) zero: the check cannot pass trivially.
    for l in range(len(W)):
        assert max(abs(g) for row in gW[l] for g in row) > 1e-3, f"dW[{l}]"
        assert max(abs(g) for g in gB[l]) > 1e-3, f"db[{l}]"

    def f():
        return ref.mean_cost(W, B, X, Y, cost, l2, activations, output)

    # Five-point central differences: error O(h^4) from truncation, O(eps/h) from rounding,
    # both well below 1e-9 here.
    h = 1e-4
    numeric = []
    for box, k in parameters(W, B):
        saved = box[k]
        values = []
        for step in (2 * h, h, -h, -2 * h):
            box[k] = saved + step
            values.append(f())
        box[k] = saved
        numeric.append((-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)


def test_softmax_gradient_needs_targets_that_sum_to_one():
    # The output delta a - y of softmax + cross-entropy is the gradient of
    # C = -sum y ln a only when sum y = 1 (dC/dz_k = a_k sum_j y_j - y_k): the tests give
    # softmax probability rows or one-hot labels. Here, with y = 2 e_0, it is not.
    W, B, X, _ = problem("tanh", "softmax", "cross_entropy", sizes=[2, 3, 2], n=1)
    y = [[2.0, 0.0]]
    _, gB = ref.gradient(W, B, X, y, "cross_entropy", 0.0, "tanh", "softmax")
    a = ref.forward_with(W, B, X[0], "tanh", "softmax")[-1]
    assert gB[-1] == pytest.approx([a[0] - 2.0, a[1]], abs=1e-15)     # a - y
    assert gB[-1] != pytest.approx([2 * a[0] - 2.0, 2 * a[1]], abs=1e-3)  # the gradient


# --- the seed's configuration is the seed ------------------------------------------------

ARCHITECTURES = [[3, 2], [4, 5, 3], [3, 4, 5, 4, 2], [2, 3, 3, 3, 3, 2]]


@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_all_sigmoid_quadratic_is_the_seed_exactly(sizes):
    W, B, X, Y = problem("sigmoid", "sigmoid", "quadratic", sizes=sizes, n=7, seed=1)
    seed_ways = [{}, {"activations": "sigmoid", "output": "sigmoid"},
                 {"activations": ["sigmoid"] * (len(sizes) - 2), "output": "sigmoid"}]
    for kw in seed_ways:
        hidden, output = kw.get("activations"), kw.get("output", "sigmoid")
        for x, y in zip(X, Y):
            assert ref.forward_with(W, B, x, **kw) == ref.forward(W, B, x)
            assert ref.sample_cost(W, B, x, y, None, hidden, output) == ref.cost(W, B, x, y)
            assert ref.sample_cost(W, B, x, y, "quadratic", hidden, output) == \
                ref.cost(W, B, x, y)
            assert ref.backprop_with(W, B, x, y, None, hidden, output) == \
                ref.backprop(W, B, x, y)
            assert ref.backprop_with(W, B, x, y, "cross_entropy", hidden, output) == \
                ref.backprop(W, B, x, y, cost="cross_entropy")
            assert ref.sample_cost(W, B, x, y, "cross_entropy", hidden, output) == \
                pytest.approx(ref.cross_entropy(W, B, x, y), rel=1e-14)  # log1p vs log
        assert ref.gradient(W, B, X, Y, None, 0.0, hidden, output) == \
            ref.mean_gradient(W, B, X, Y)
        assert ref.mean_cost(W, B, X, Y, None, 0.0, hidden, output) == \
            pytest.approx(np.mean([ref.cost(W, B, x, y) for x, y in zip(X, Y)]), rel=1e-15)


# --- the epochs step by the reference's own gradient -------------------------------------

def step_by_gradient(W, B, X, Y, order, batch_size, eta, cost, l2, hidden, output, rule,
                     state):
    """One epoch stepped by ``ref.gradient`` of each mini-batch's rows (l2/n with n the
    whole epoch's rows, not the batch's), as numpy arrays: rule 'sgd', 'momentum' or
    'adam'."""
    n = len(order)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        gW, gB = ref.gradient(W, B, [X[k] for k in idx], [Y[k] for k in idx], cost, 0.0,
                              hidden, output)
        p = np.array(ref.flat(W, B))
        g = np.array(ref.flat(gW, gB)) + l2 / n * p * state["is_weight"]
        if rule == "sgd":
            p = p - eta * g
        elif rule == "momentum":
            state["v"] = 0.7 * state["v"] - eta * g
            p = p + state["v"]
        else:
            state["t"] += 1
            t = state["t"]
            state["m"] = 0.9 * state["m"] + 0.1 * g
            state["s"] = 0.999 * state["s"] + 0.001 * g * g
            alpha = eta * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            p = p - alpha * state["m"] / (np.sqrt(state["s"]) + 1e-8)
        it = iter(p.tolist())
        for box, k in parameters(W, B):
            box[k] = next(it)


@pytest.mark.parametrize("rule", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("pair", ref.PAIRS, ids=pair_id)
@pytest.mark.parametrize("activations", ["tanh", ["relu", "identity"]], ids=hidden_id)
def test_epochs_step_by_the_gradient(activations, pair, rule):
    output, cost = pair
    W, B, X, Y = problem(activations, output, cost, n=7, seed=3)
    W2, B2 = [[r[:] for r in Wl] for Wl in W], [b[:] for b in B]
    is_weight = np.array(ref.flat([[[1.0] * len(r) for r in Wl] for Wl in W],
                                  [[0.0] * len(b) for b in B]))
    size = is_weight.size
    state = {"is_weight": is_weight, "v": np.zeros(size), "m": np.zeros(size),
             "s": np.zeros(size), "t": 0}
    velocity = ref.zeros_like(W, B)
    adam = ref.adam_state(W, B)
    order = [6, 2, 0, 4, 1, 5, 3]
    eta = 0.05 if rule == "adam" else 0.3
    for _ in range(2):
        step_by_gradient(W2, B2, X, Y, order, 3, eta, cost, 1.5, activations, output, rule,
                         state)
        if rule == "adam":
            ref.adam_epoch(W, B, X, Y, order, 3, eta, cost, 1.5, None, 0.9, 0.999, 1e-8,
                           adam, activations, output)
        else:
            ref.sgd_epoch(W, B, X, Y, order, 3, eta, cost, 1.5, None,
                          0.7 if rule == "momentum" else 0.0, False, velocity, activations,
                          output)
    np.testing.assert_allclose(ref.flat(W, B), ref.flat(W2, B2), rtol=1e-13, atol=1e-14)
    assert ref.flat(W, B) != ref.flat(*problem(activations, output, cost, n=7, seed=3)[:2])
    if rule == "adam":
        assert adam["t"] == state["t"] == 6     # 3 batches (3, 3, 1 rows) x 2 epochs
        np.testing.assert_allclose(ref.flat(*adam["m"]), state["m"], rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(ref.flat(*adam["v"]), state["s"], rtol=1e-12,
                                   atol=1e-18)


def test_adam_hand_worked():
    # Network [1, 1] with an identity output and the quadratic cost; x = 0, so that only the
    # bias learns: a = b, C = 1/2 (b - y)^2, dC/db = b - y, dC/dW = (b - y) x = 0. y = 1,
    # b = 0 to start, W = 0.5; Adam with eta = 0.1 and the defaults b1 = 0.9, b2 = 0.999,
    # epsilon = 1e-8; two mini-batches of one sample each (one epoch, t = 1 then 2).
    W, B = [[[0.5]]], [[0.0]]
    state = ref.adam_state(W, B)
    ref.adam_epoch(W, B, [[0.0], [0.0]], [[1.0], [1.0]], [0, 1], 1, 0.1, "quadratic",
                   0.0, None, 0.9, 0.999, 1e-8, state, [], "identity")
    # Step 1: g = 0 - 1 = -1; m = 0.9*0 + 0.1*(-1) = -0.1; v = 0.999*0 + 0.001*1 = 0.001;
    #   alpha_1 = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = sqrt(0.001) = 0.0316227766;
    #   step = alpha_1 m / (sqrt v + eps) = 0.0316227766 * -0.1 / (0.0316227766 + 1e-8)
    #        = -0.1 * (1 - 3.162e-7) = -0.0999999684  (Adam's first step: eta, less eps);
    #   b = 0.0999999684.
    # Step 2: g = b - 1 = -0.9000000316;
    #   m = 0.9*(-0.1) + 0.1*(-0.9000000316) = -0.09 - 0.0900000032 = -0.1800000032;
    #   v = 0.999*0.001 + 0.001*0.9000000316^2 = 0.000999 + 0.0008100001 = 0.0018090001;
    #   alpha_2 = 0.1 * sqrt(1 - 0.999^2) / (1 - 0.9^2) = 0.1 * sqrt(0.001999) / 0.19
    #           = 0.1 * 0.0447101778 / 0.19 = 0.0235316725;
    #   step = 0.0235316725 * -0.1800000032 / (sqrt(0.0018090001) + 1e-8)
    #        = -0.0042357011 / 0.0425323513 = -0.0995877491;
    #   b = 0.0999999684 + 0.0995877491 = 0.1995877175.
    assert state["t"] == 2
    assert B[0][0] == pytest.approx(0.1995877175, abs=1e-10)
    assert state["m"][1][0][0] == pytest.approx(-0.1800000032, abs=1e-10)
    assert state["v"][1][0][0] == pytest.approx(0.0018090001, abs=1e-10)
    # The weight's gradient is 0 at every step: m = v = 0, and 0 / (0 + eps) moves nothing.
    assert W == [[[0.5]]]
    assert state["m"][0] == state["v"][0] == [[[0.0]]]


def test_adam_step_with_l2_decays_weights_not_biases():
    # [1, 1] identity output, x = 0: the cost's gradient is 0 for W, so g_W = l2/n W only.
    # l2 = 2, n = 2 rows: g_W = W = 0.5 at t = 1 (W has not moved before the first step).
    # m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025, alpha_1 = sqrt(0.001) (eta = 0.1);
    # step = sqrt(0.001) * 0.05 / (sqrt(0.00025) + 1e-8) = 0.1 * 0.0158113883 / 0.0158113983
    # = 0.0999999368: W = 0.4000000632 after one full-batch step; b moves as without l2.
    W, B = [[[0.5]]], [[0.0]]
    ref.adam_epoch(W, B, [[0.0], [0.0]], [[1.0], [1.0]], [0, 1], 2, 0.1, "quadratic",
                   2.0, None, 0.9, 0.999, 1e-8, None, [], "identity")
    assert W[0][0][0] == pytest.approx(0.4000000632, abs=1e-10)
    assert B[0][0] == pytest.approx(0.0999999684, abs=1e-10)


# --- the activations and softmax ---------------------------------------------------------

def test_derivatives_from_the_activation():
    # sigmoid: a = 1/2 -> 1/2 * 1/2; tanh: 1 - a^2; relu: [a > 0], 0 at a = 0 exactly;
    # identity: 1 wherever.
    assert ref.derivative("sigmoid", 0.5) == 0.25
    assert ref.derivative("tanh", 0.0) == 1.0
    assert ref.derivative("tanh", 0.5) == 0.75
    assert ref.derivative("tanh", -0.5) == 0.75
    assert ref.derivative("relu", 0.0) == 0.0
    assert ref.derivative("relu", 1e-300) == 1.0
    assert ref.derivative("relu", 2.5) == 1.0
    assert ref.derivative("identity", 0.0) == ref.derivative("identity", -7.0) == 1.0
    assert ref.activate("relu", -3.0) == 0.0 and ref.activate("relu", 3.0) == 3.0
    assert ref.activate("identity", -3.0) == -3.0
    # and each one is the derivative of its function, at points away from relu's kink
    for name in ref.ACTIVATIONS:
        for z in (-2.0, -0.3, 0.4, 1.7):
            h = 1e-5
            numeric = (ref.activate(name, z + h) - ref.activate(name, z - h)) / (2 * h)
            assert ref.derivative(name, ref.activate(name, z)) == \
                pytest.approx(numeric, rel=1e-9, abs=1e-12), (name, z)
    # tanh's from the activation is 1/cosh^2
    for z in (-1.3, 0.2, 2.0):
        assert ref.derivative("tanh", math.tanh(z)) == pytest.approx(1 / math.cosh(z) ** 2,
                                                                     rel=1e-14)
    # relu's derivative is 0 for every negative input, where a = 0
    assert ref.times_derivative("relu", 5.0, ref.activate("relu", -1e-12)) == 0.0


def test_sigmoid_saturates_without_overflow():
    assert ref.activate("sigmoid", -1e308) == 0.0
    assert ref.activate("sigmoid", -1000.0) == 0.0
    assert ref.activate("sigmoid", 1e308) == 1.0
    assert ref.activate("sigmoid", 0.0) == 0.5


def test_softmax_is_a_distribution_and_stable_for_huge_inputs():
    # e^k / (e + e^2 + e^3) for [1, 2, 3]
    e = [math.exp(1), math.exp(2), math.exp(3)]
    assert ref.softmax([1.0, 2.0, 3.0]) == pytest.approx([v / sum(e) for v in e], rel=1e-15)
    # shifting every input changes nothing
    assert ref.softmax([1001.0, 1002.0, 1003.0]) == \
        pytest.approx(ref.softmax([1.0, 2.0, 3.0]), rel=1e-12)
    rng = np.random.default_rng(0)
    for z in [[1000.0, 999.0, 0.0], [1e308, -1e308], [-1e308, -1e308, -1e308],
              [710.0, 0.0, -710.0], [0.0], *rng.normal(0, 30, (20, 7)).tolist()]:
        a = ref.softmax(z)
        assert all(0.0 <= v <= 1.0 for v in a) and all(math.isfinite(v) for v in a)
        assert abs(sum(a) - 1.0) <= 4 * ref.EPS
        assert a.index(max(a)) == z.index(max(z))
    assert ref.softmax([1e308, -1e308]) == [1.0, 0.0]
    assert ref.softmax([-1e308, -1e308, -1e308]) == [1 / 3] * 3
    assert ref.softmax([0.0]) == [1.0]         # one output unit: always 1
    # through a network with huge weights: finite, and a saturated output costs -ln(eps)
    aL = ref.forward_with([[[1e300, -1e300]]], [[0.0, 0.0]], [1.0], [], "softmax")[-1]
    assert aL == [1.0, 0.0]
    assert ref.output_cost(aL, [0.0, 1.0], "cross_entropy", "softmax") == \
        pytest.approx(-math.log(ref.EPS), rel=1e-15)
    assert ref.output_cost([0.0, 1.0], [0.0, 1.0], "cross_entropy", "sigmoid") == \
        pytest.approx(-2 * math.log1p(-ref.EPS), rel=1e-12, abs=1e-300)


def test_costs_from_their_formulas():
    # one sample, outputs a = [0.2, 0.7], targets y = [0, 1]
    a, y = [0.2, 0.7], [0.0, 1.0]
    # quadratic: 1/2 (0.2^2 + 0.3^2) = 1/2 (0.04 + 0.09) = 0.065
    for output in ("sigmoid", "identity"):
        assert ref.output_cost(a, y, "quadratic", output) == pytest.approx(0.065, rel=1e-15)
        assert ref.output_cost(a, y, None, output) == pytest.approx(0.065, rel=1e-15)
    # sigmoid cross-entropy: -(ln(1 - 0.2) + ln 0.7) = 0.2231435513 + 0.3566749439
    assert ref.output_cost(a, y, "cross_entropy", "sigmoid") == \
        pytest.approx(0.5798184953, rel=1e-9)
    # softmax cross-entropy: -ln 0.7 = 0.3566749439 (the other term has y = 0)
    assert ref.output_cost(a, y, "cross_entropy", "softmax") == \
        pytest.approx(0.3566749439, rel=1e-9)
    assert ref.output_cost(a, y, None, "softmax") == \
        ref.output_cost(a, y, "cross_entropy", "softmax")
    for output, cost in (("softmax", "quadratic"), ("identity", "cross_entropy")):
        with pytest.raises(ValueError):
            ref.output_cost(a, y, cost, output)
