"""mlp.sklearn: the scikit-learn estimators, checked by scikit-learn's own estimator checks
and in its tools (Pipeline, GridSearchCV, clone), and the optional-import behaviour."""

import doctest
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlp
from mlp.datasets import load_digits

try:
    import sklearn  # noqa: F401
except ImportError:
    HAVE_SKLEARN = False
else:
    HAVE_SKLEARN = True

needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")

if HAVE_SKLEARN:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.utils.estimator_checks import parametrize_with_checks

    import mlp.sklearn
    from mlp.sklearn import MLPClassifier, MLPRegressor

    # The defaults (30 epochs of mini-batches of 10): the whole suite takes well under a
    # second, and no check needs an exemption.
    @parametrize_with_checks([MLPClassifier(), MLPRegressor()])
    def test_sklearn_estimator_checks(estimator, check):
        check(estimator)

else:  # pragma: no cover - keeps the check suite visible as skipped

    @needs_sklearn
    def test_sklearn_estimator_checks():
        pass


# --- optional import ---------------------------------------------------------------------

BLOCKED_IMPORT = textwrap.dedent(
    """
    import sys
    sys.modules["sklearn"] = None          # as if scikit-learn were not installed
    import mlp
    assert "sklearn" not in [m.split(".")[0] for m in sys.modules if sys.modules[m]]
    try:
        import mlp.sklearn
    except ImportError as exc:
        print(type(exc).__name__, exc)
    else:
        raise SystemExit("mlp.sklearn imported without scikit-learn")
    """
)


def test_import_mlp_does_not_import_sklearn():
    code = ("import sys, mlp, mlp.datasets\n"
            "print(sorted(m for m, module in sys.modules.items()\n"
            "             if m.split('.')[0] == 'sklearn' and module is not None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_import_without_sklearn_says_how_to_install():
    out = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT], capture_output=True, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ImportError")
    assert 'pip install "mlp[sklearn]"' in out.stdout
    assert "scikit-learn" in out.stdout


# --- data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:450], order[450:]
    return X[train], y[train], X[test], y[test]


def smooth_problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 1))
    return X, np.sin(2 * np.pi * X[:, 0])


# --- the classifier ----------------------------------------------------------------------


@needs_sklearn
def test_classifier_digits_accuracy(digits):
    X, y, Xt, yt = digits
    clf = MLPClassifier(random_state=0).fit(X / 16, y)
    assert clf.score(Xt / 16, yt) >= 0.95
    assert clf.n_iter_ == 30 and len(clf.loss_curve_) == 30
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.n_features_in_ == 64 and clf.n_outputs_ == 10
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert isinstance(clf.net_, mlp.MLP) and clf.net_.sizes == (64, 30, 10)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


@needs_sklearn
def test_classifier_matches_mlp_fit(digits):
    """With the defaults the estimator is exactly MLP.fit on the labels."""
    X, y, Xt, _ = digits
    clf = MLPClassifier(random_state=3).fit(X / 16, y)
    rng = np.random.RandomState(3)
    net = mlp.MLP([64, 30, 10], seed=int(rng.randint(np.iinfo(np.int32).max)))
    net.fit(X / 16, y, seed=int(rng.randint(np.iinfo(np.int32).max)))
    np.testing.assert_array_equal(clf.net_.params, net.params)
    np.testing.assert_array_equal(clf.predict(Xt / 16),
                                  np.argmax(net.predict(Xt / 16), axis=1))


@needs_sklearn
def test_predict_proba_normalises_the_outputs(digits):
    X, y, Xt, _ = digits
    clf = MLPClassifier(epochs=5, random_state=0).fit(X / 16, y)
    proba = clf.predict_proba(Xt / 16)
    out = clf.net_.predict(Xt / 16)
    np.testing.assert_allclose(proba, out / out.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[np.argmax(proba, axis=1)],
                                  clf.predict(Xt / 16))


@needs_sklearn
def test_predict_proba_of_outputs_that_all_underflow_is_uniform():
    clf = MLPClassifier(epochs=1, random_state=0).fit([[0.0], [1.0]], [0, 1])
    clf.net_.params[...] = 0.0
    clf.intercepts_[-1][...] = -1e4          # every output sigmoid(-1e4) == 0.0
    proba = clf.predict_proba([[0.5], [0.2]])
    np.testing.assert_array_equal(proba, 0.5)
    np.testing.assert_array_equal(clf.predict([[0.5]]), [0])


@needs_sklearn
def test_binary_problems_have_one_output_unit_per_class():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (200, 2))
    y = np.where(X[:, 0] + X[:, 1] > 1, "yes", "no")
    clf = MLPClassifier(random_state=0).fit(X, y)
    assert [w.shape for w in clf.coefs_] == [(2, 30), (30, 2)]
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.predict_proba(X).shape == (200, 2)
    assert clf.score(X, y) > 0.9
    assert set(clf.predict(X)) <= {"no", "yes"}


@needs_sklearn
def test_one_class_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 classes.*only one class"):
        MLPClassifier().fit([[0.0], [1.0]], [4, 4])
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().partial_fit([[0.0]], [4], classes=[4])


@needs_sklearn
def test_classifier_refuses_continuous_targets():
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit([[0.0], [1.0], [2.0]], [0.5, 1.5, 0.25])


# --- the regressor -----------------------------------------------------------------------


@needs_sklearn
def test_regressor_learns_a_smooth_function():
    X, y = smooth_problem()
    reg = MLPRegressor(epochs=500, momentum=0.9, random_state=0).fit(X, y)
    grid = np.linspace(0.02, 0.98, 97).reshape(-1, 1)        # held-out points in between
    assert reg.score(grid, np.sin(2 * np.pi * grid[:, 0])) > 0.9
    pred = reg.predict(grid)
    assert pred.shape == (97,) and pred.dtype == np.float64
    assert reg.n_outputs_ == 1 and reg.n_iter_ == 500


@needs_sklearn
def test_regressor_maps_targets_onto_the_sigmoid_range():
    X, y = smooth_problem(n=50)
    y = 10.0 + 5.0 * y
    reg = MLPRegressor(epochs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.target_min_, [y.min()])
    np.testing.assert_allclose(reg.target_max_, [y.max()])
    low, high = mlp.sklearn.TARGET_RANGE
    scaled = reg._scale(y.reshape(-1, 1))
    np.testing.assert_allclose([scaled.min(), scaled.max()], [low, high])
    np.testing.assert_allclose(reg._unscale(scaled)[:, 0], y)
    # predictions are the network's outputs mapped back
    out = reg.net_.predict(X)[:, 0]
    expected = y.min() + (out - low) / (high - low) * np.ptp(y)
    np.testing.assert_allclose(reg.predict(X), expected)


@needs_sklearn
def test_regressor_multi_output_and_column_targets():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (300, 3))
    Y = np.c_[X.sum(axis=1), 100.0 * X[:, 2] ** 2, np.full(300, 7.0)]   # one constant
    reg = MLPRegressor(epochs=200, random_state=0).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (300, 3) and reg.n_outputs_ == 3
    assert [w.shape for w in reg.coefs_] == [(3, 30), (30, 3)]
    np.testing.assert_allclose(pred[:, 2], 7.0)             # the constant target, exactly
    assert reg.score(X, Y) > 0.9
    column = MLPRegressor(epochs=3, random_state=0).fit(X, Y[:, :1])
    flat = MLPRegressor(epochs=3, random_state=0).fit(X, Y[:, 0])
    assert column.predict(X).shape == (300, 1) and flat.predict(X).shape == (300,)
    np.testing.assert_allclose(column.predict(X)[:, 0], flat.predict(X))


# --- scikit-learn's tools ----------------------------------------------------------------


@needs_sklearn
def test_pipeline_with_min_max_scaler(digits):
    X, y, Xt, yt = digits           # raw pixels 0..16: the scaler maps them to [0, 1]
    model = make_pipeline(MinMaxScaler(), MLPClassifier(random_state=0)).fit(X, y)
    assert model.score(Xt, yt) >= 0.95
    reg = make_pipeline(MinMaxScaler(),
                        MLPRegressor(epochs=500, momentum=0.9, random_state=0))
    Xr, yr = smooth_problem()
    Xr = 100.0 * Xr - 30.0
    assert reg.fit(Xr, yr).score(Xr, yr) > 0.9


@needs_sklearn
def test_grid_search_picks_a_best(digits):
    X, y, Xt, yt = digits
    grid = {"eta": [0.05, 3.0], "hidden_layer_sizes": [(5,), (30,)]}
    search = GridSearchCV(MLPClassifier(epochs=10, random_state=0), grid, cv=3)
    search.fit(X[:600] / 16, y[:600])
    assert search.best_params_ == {"eta": 3.0, "hidden_layer_sizes": (30,)}
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_estimator_.score(Xt / 16, yt) > 0.9
    reg_search = GridSearchCV(
        MLPRegressor(epochs=50, random_state=0), {"eta": [0.5, 2.0]}, cv=3
    ).fit(*smooth_problem())
    assert reg_search.best_params_["eta"] in (0.5, 2.0)


@needs_sklearn
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor] if HAVE_SKLEARN else [])
def test_get_params_set_params_clone_round_trip(Estimator):
    params = dict(hidden_layer_sizes=(7, 5), epochs=4, batch_size=3, eta=0.7,
                  cost="cross_entropy", l2=0.5, momentum=0.8, nesterov=True, init="glorot",
                  schedule=mlp.HalveOnPlateau(patience=2), early_stopping=True,
                  validation_fraction=0.25, patience=3, shuffle=False, random_state=5,
                  verbose=False)
    est = Estimator(**params)
    assert est.get_params() == params
    copy = clone(est)
    assert copy is not est and copy.get_params().keys() == params.keys()
    assert {k: v for k, v in copy.get_params().items() if k != "schedule"} == {
        k: v for k, v in params.items() if k != "schedule"}
    assert repr(copy.schedule) == repr(params["schedule"])
    assert copy.set_params(eta=0.1, hidden_layer_sizes=(3,)) is copy
    assert copy.eta == 0.1 and copy.hidden_layer_sizes == (3,) and est.eta == 0.7
    defaults = Estimator().get_params()
    assert defaults["hidden_layer_sizes"] == (30,) and defaults["epochs"] == 30
    assert defaults["eta"] == (3.0 if Estimator is MLPClassifier else 1.0)
    # a fitted estimator's clone is unfitted
    X, y = smooth_problem(n=40)
    target = (y > 0).astype(int) if Estimator is MLPClassifier else y
    fitted = Estimator(epochs=2, random_state=0).fit(X, target)
    with pytest.raises(NotFittedError):
        clone(fitted).predict(X)


@needs_sklearn
@pytest.mark.parametrize(
    "hidden, shapes",
    [((30,), [(64, 30), (30, 10)]), ((20, 15), [(64, 20), (20, 15), (15, 10)]),
     (12, [(64, 12), (12, 10)]), ((), [(64, 10)])],
)
def test_coefs_shapes_and_views(digits, hidden, shapes):
    X, y, _, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=hidden, epochs=1, random_state=0).fit(X / 16, y)
    assert [w.shape for w in clf.coefs_] == shapes
    assert [b.shape for b in clf.intercepts_] == [(s[1],) for s in shapes]
    for W, b, W_net, b_net in zip(clf.coefs_, clf.intercepts_, clf.net_.weights,
                                  clf.net_.biases):
        assert np.shares_memory(W, clf.net_.params) and np.shares_memory(b, clf.net_.params)
        np.testing.assert_array_equal(W, W_net)
        np.testing.assert_array_equal(b, b_net)
    assert clf.hidden_layer_sizes == hidden           # the parameter is left as given


# --- partial_fit -------------------------------------------------------------------------


@needs_sklearn
def test_partial_fit_over_chunks(digits):
    X, y, Xt, yt = digits
    clf = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:10] / 16, y[:10])
    for epoch in range(10):
        for lo in range(0, len(X), 200):
            clf.partial_fit(X[lo:lo + 200] / 16, y[lo:lo + 200], classes=np.arange(10))
    assert clf.n_iter_ == 10 * 7 and len(clf.loss_curve_) == 70
    assert clf.score(Xt / 16, yt) >= 0.93
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X[:10] / 16, y[:10], classes=np.arange(11))
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X[:3] / 16, [0, 1, 12])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:3, :10] / 16, y[:3])
    # a first chunk may hold only some of the classes
    part = MLPClassifier(random_state=0)
    part.partial_fit(X[y < 2] / 16, y[y < 2], classes=range(10))
    assert part.predict_proba(Xt / 16).shape == (450, 10)


@needs_sklearn
def test_partial_fit_keeps_the_momentum(digits):
    """Two partial_fit calls equal fit(epochs=2) only if the velocity carries over."""
    X, y, _, _ = digits
    options = dict(momentum=0.9, eta=0.5, shuffle=False, random_state=4)
    fitted = MLPClassifier(epochs=2, **options).fit(X / 16, y)
    inc = MLPClassifier(**options).partial_fit(X / 16, y, classes=np.arange(10))
    inc.partial_fit(X / 16, y)
    np.testing.assert_allclose(inc.net_.params, fitted.net_.params, rtol=1e-12, atol=1e-12)
    assert inc.loss_curve_ == pytest.approx(fitted.loss_curve_, rel=1e-12)
    # partial_fit after fit continues that fit, momentum included
    three = MLPClassifier(epochs=3, **options).fit(X / 16, y)
    fitted.partial_fit(X / 16, y)
    np.testing.assert_allclose(fitted.net_.params, three.net_.params, rtol=1e-12,
                               atol=1e-12)


@needs_sklearn
def test_regressor_partial_fit():
    X, y = smooth_problem()
    reg = MLPRegressor(momentum=0.9, random_state=0)
    for _ in range(100):
        for lo in range(0, 300, 100):
            reg.partial_fit(X[lo:lo + 100], y[lo:lo + 100])
    assert reg.n_iter_ == 300 and reg.predict(X).shape == (300,)
    assert reg.score(X, y) > 0.9
    with pytest.raises(ValueError, match="targets per sample"):
        reg.partial_fit(X, np.c_[y, y])


@needs_sklearn
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor] if HAVE_SKLEARN else [])
def test_pickle_keeps_training_state(digits, Estimator):
    """Unpickled, the model predicts the same and partial_fit continues exactly as the
    original would, momentum included (coefs_ stay views of the network)."""
    X, y, Xt, _ = digits
    target = y if Estimator is MLPClassifier else X[:, 20] / 16
    est = Estimator(epochs=2, momentum=0.9, shuffle=False, random_state=0)
    est.fit(X / 16, target)
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.predict(Xt / 16), est.predict(Xt / 16))
    assert np.shares_memory(copy.coefs_[0], copy.net_.params)
    est.partial_fit(X / 16, target)
    copy.partial_fit(X / 16, target)
    np.testing.assert_array_equal(copy.net_.params, est.net_.params)
    np.testing.assert_array_equal(copy.coefs_[-1], est.coefs_[-1])


# --- options, validation and errors ------------------------------------------------------


@needs_sklearn
def test_early_stopping_records_validation_scores(digits):
    X, y, _, _ = digits
    clf = MLPClassifier(epochs=60, early_stopping=True, patience=3, random_state=0)
    clf.fit(X / 16, y)
    assert clf.n_iter_ < 60
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.validation_scores_[-1] <= clf.best_validation_score_
    Xr, yr = smooth_problem()
    reg = MLPRegressor(epochs=500, momentum=0.9, early_stopping=True, patience=20,
                       validation_fraction=0.2, random_state=0).fit(Xr, yr)
    assert reg.n_iter_ < 500 and len(reg.validation_scores_) == reg.n_iter_
    # R^2 scores; the lowest validation cost (what early stopping restores) is their best
    best = max(reg.validation_scores_)
    assert reg.best_validation_score_ == pytest.approx(best, abs=1e-12)
    assert reg.best_validation_score_ > 0.95
    assert reg.score(Xr, yr) > 0.95


@needs_sklearn
def test_halving_schedule_holds_out_validation_data(digits):
    X, y, _, _ = digits
    clf = MLPClassifier(epochs=40, schedule="halve", random_state=0).fit(X / 16, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    etas = MLPClassifier(epochs=3, schedule=lambda epoch: 3.0 / epoch, random_state=0)
    assert etas.fit(X / 16, y).validation_scores_ is None


@needs_sklearn
def test_same_random_state_same_model(digits):
    X, y, _, _ = digits
    a = MLPClassifier(epochs=3, random_state=7).fit(X / 16, y)
    b = MLPClassifier(epochs=3, random_state=7).fit(X / 16, y)
    c = MLPClassifier(epochs=3, random_state=8).fit(X / 16, y)
    np.testing.assert_array_equal(a.net_.params, b.net_.params)
    assert not np.array_equal(a.net_.params, c.net_.params)
    a.fit(X / 16, y)
    np.testing.assert_array_equal(a.net_.params, b.net_.params)


@needs_sklearn
@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(hidden_layer_sizes="30"), TypeError, "hidden_layer_sizes must be a sequence"),
        (dict(hidden_layer_sizes=(30, 0)), ValueError,
         r"hidden_layer_sizes\[1\] must be >= 1"),
        (dict(hidden_layer_sizes=(2.5,)), TypeError,
         r"hidden_layer_sizes\[0\] must be an int"),
        (dict(epochs=0), ValueError, "epochs must be >= 1"),
        (dict(epochs=2.0), TypeError, "epochs must be an int"),
        (dict(eta=-1.0), ValueError, "eta must be a finite number > 0"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(cost="hinge"), ValueError, "cost must be one of"),
        (dict(l2=-1.0), ValueError, "l2 must be in"),
        (dict(momentum=1.0), ValueError, "momentum must be in"),
        (dict(nesterov="yes"), TypeError, "nesterov must be True or False"),
        (dict(init="zeros"), ValueError, "init must be one of"),
        (dict(schedule="cosine"), ValueError, "schedule must be"),
        (dict(early_stopping="yes"), TypeError, "early_stopping must be True or False"),
        (dict(early_stopping=True, validation_fraction=1.5), ValueError,
         r"validation_fraction must be in \(0, 1\)"),
        (dict(early_stopping=True, patience=0), ValueError, "patience must be >= 1"),
        (dict(shuffle=None), TypeError, "shuffle must be True or False"),
        (dict(random_state="seed"), ValueError, "cannot be used to seed"),
    ],
)
def test_bad_parameters_raise_clear_errors_in_fit(params, error, match):
    X, y = smooth_problem(n=40)
    for est, target in ((MLPClassifier(**params), (y > 0).astype(int)),
                        (MLPRegressor(**params), y)):
        with pytest.raises(error, match=match):
            est.fit(X, target)
        with pytest.raises(NotFittedError):       # a failed fit leaves it unfitted
            est.predict(X)


@needs_sklearn
@pytest.mark.parametrize(
    "params, error, match",
    [(dict(eta=0.0), ValueError, "eta must be"), (dict(hidden_layer_sizes=(0,)), ValueError,
      "hidden_layer_sizes"), (dict(momentum=-0.5), ValueError, "momentum must be in"),
     (dict(random_state=-1), ValueError, "random_state|Seed")],
)
def test_bad_parameters_in_a_first_partial_fit_leave_it_unfitted(params, error, match):
    X, y = smooth_problem(n=40)
    for est, extra in ((MLPClassifier(**params), {"classes": [0, 1]}),
                       (MLPRegressor(**params), {})):
        target = (y > 0).astype(int) if extra else y
        with pytest.raises(error, match=match):
            est.partial_fit(X, target, **extra)
        with pytest.raises(NotFittedError):
            est.predict(X)


@needs_sklearn
def test_failed_refit_leaves_the_estimator_unfitted():
    X, y = smooth_problem(n=40)
    reg = MLPRegressor(epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="eta"):
        reg.set_params(eta=0.0).fit(X, y)
    with pytest.raises(NotFittedError):
        reg.predict(X)
    assert not hasattr(reg, "coefs_")


@needs_sklearn
def test_verbose_prints_each_epoch(capsys, digits):
    X, y, _, _ = digits
    clf = MLPClassifier(epochs=2, verbose=True, random_state=0).fit(X / 16, y)
    clf.partial_fit(X / 16, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/2")
    assert lines[2].startswith("partial_fit 3")


@needs_sklearn
def test_docstring_examples():
    result = doctest.testmod(mlp.sklearn, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
