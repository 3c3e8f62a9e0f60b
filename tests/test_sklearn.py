"""mlp.sklearn is a drop-in for scikit-learn's MLPClassifier and MLPRegressor: the same
parameters, defaults and errors; scikit-learn's estimator checks pass; it works in
scikit-learn's tools (Pipeline, GridSearchCV, clone, pickle); and ``import mlp`` does not
need scikit-learn. (That it fits scikit-learn's models: test_sklearn_equivalence.py;
scikit-learn's own tests of its MLPs: test_sklearn_suite.py.)"""

import inspect
import os
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

try:
    import sklearn  # noqa: F401
except ImportError:
    HAVE_SKLEARN = False
else:
    HAVE_SKLEARN = True

needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")

if HAVE_SKLEARN:
    from sklearn import neural_network as sk
    from sklearn.base import clone
    from sklearn.datasets import load_digits
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.utils.estimator_checks import parametrize_with_checks

    from _dropin import estimators

    MLPClassifier, MLPRegressor = estimators()
    PAIRS = [pytest.param(MLPClassifier, sk.MLPClassifier, id="classifier"),
             pytest.param(MLPRegressor, sk.MLPRegressor, id="regressor")]
    OURS = [pytest.param(MLPClassifier, id="classifier"),
            pytest.param(MLPRegressor, id="regressor")]

    # The defaults (100 units, up to 200 epochs) take the checks ~25 s; these ~5 s, and
    # with them (as with the defaults) scikit-learn's own classes pass every check.
    SMALL = dict(hidden_layer_sizes=(20,), max_iter=30, learning_rate_init=0.02)

    @pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
    @parametrize_with_checks([MLPClassifier(**SMALL), MLPRegressor(**SMALL)])
    def test_sklearn_estimator_checks(estimator, check):
        check(estimator)

else:  # pragma: no cover - keeps the check suite visible as skipped
    PAIRS = OURS = []

    @needs_sklearn
    def test_sklearn_estimator_checks():
        pass

#: Each test so marked runs for (ours, scikit-learn's) classifiers, then regressors.
each_pair = pytest.mark.parametrize("Ours, Theirs", PAIRS)
each_estimator = pytest.mark.parametrize("Ours", OURS)
# (without scikit-learn, the filter's category cannot be imported: the tests skip instead)
no_convergence_warnings = needs_sklearn if not HAVE_SKLEARN else pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")


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
    assert 'pip install "mlp-backprop[sklearn]"' in out.stdout
    assert "scikit-learn" in out.stdout


# --- data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits scaled to [0, 1]: X, X_test, y, y_test (600 to train on)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, train_size=600, random_state=0)


def small_problem(classifier, n=40):
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, (n, 3))
    y = X.sum(axis=1)
    return X, (y > 1.5).astype(int) if classifier else y


# --- the parameters ----------------------------------------------------------------------


def signature(Estimator):
    return [(p.name, p.kind, p.default)
            for p in inspect.signature(Estimator).parameters.values()]


@needs_sklearn
@each_pair
def test_parameters_are_scikit_learns(Ours, Theirs):
    """The same constructor (names, order, which are positional, defaults); __init__ stores
    the same attributes (the classifier's loss="log_loss", not a parameter, included)."""
    assert signature(Ours) == signature(Theirs)
    assert Ours().get_params() == Theirs().get_params()
    assert vars(Ours()) == vars(Theirs())


NON_DEFAULTS = dict(
    hidden_layer_sizes=(7, 5), activation="tanh", solver="sgd", alpha=0.5, batch_size=3,
    learning_rate="invscaling", learning_rate_init=0.1, power_t=0.25, max_iter=4,
    shuffle=False, random_state=5, tol=1e-3, verbose=True, warm_start=True, momentum=0.8,
    nesterovs_momentum=False, early_stopping=True, validation_fraction=0.25, beta_1=0.5,
    beta_2=0.9, epsilon=1e-6, n_iter_no_change=3, max_fun=100,
)


@needs_sklearn
@each_pair
@no_convergence_warnings
def test_get_params_set_params_clone_round_trip(Ours, Theirs):
    params = {**NON_DEFAULTS, **({"loss": "poisson"} if Theirs is sk.MLPRegressor else {})}
    assert params.keys() == Theirs().get_params().keys()       # every parameter set here
    est = Ours(**params)
    assert est.get_params() == params
    copy = clone(est)
    assert copy is not est and copy.get_params() == params
    assert copy.set_params(alpha=1.0, hidden_layer_sizes=(3,)) is copy
    assert (copy.alpha, copy.hidden_layer_sizes, est.alpha) == (1.0, (3,), 0.5)
    X, y = small_problem(Theirs is sk.MLPClassifier)
    with pytest.raises(NotFittedError):
        clone(est.fit(X, y)).predict(X)          # a fitted estimator's clone is unfitted


BAD = [
    dict(activation="bogus"), dict(solver="x"), dict(alpha=-1), dict(momentum=2),
    dict(batch_size=0), dict(learning_rate_init=0), dict(hidden_layer_sizes=[0]),
    dict(hidden_layer_sizes=(3, -1)), dict(validation_fraction=1.0),
    dict(n_iter_no_change=0), dict(learning_rate="optimal"), dict(max_iter=0),
    dict(beta_1=1.0), dict(epsilon=0.0), dict(shuffle="yes"), dict(random_state="seed"),
    dict(tol=-1.0), dict(max_fun=0), dict(loss="hinge"),
]
FITTED = ("coefs_", "intercepts_", "n_iter_", "classes_", "n_features_in_", "loss_")


def error_of(Estimator, params, method, classifier):
    """(type, message) of what Estimator(**params).method(X, y) raises, and the fitted
    attributes it leaves (none if the constructor raised)."""
    X, y = small_problem(classifier)
    extra = {"classes": [0, 1]} if classifier and method == "partial_fit" else {}
    est = None
    with pytest.raises(Exception) as error:
        est = Estimator(**params)
        getattr(est, method)(X, y, **extra)
    return error.type, str(error.value), [name for name in FITTED if hasattr(est, name)]


@needs_sklearn
@each_pair
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("params", BAD, ids=[repr(p)[1:-1] for p in BAD])
def test_bad_parameters_raise_scikit_learns_errors(Ours, Theirs, method, params):
    """The same exception type and message, and (as scikit-learn) nothing fitted. (The
    classifier has no loss: a TypeError from its constructor.)"""
    classifier = Theirs is sk.MLPClassifier
    theirs = error_of(Theirs, params, method, classifier)
    assert error_of(Ours, params, method, classifier) == theirs


@needs_sklearn
@each_estimator
@no_convergence_warnings
def test_failed_refit_keeps_the_fitted_model(Ours):
    """As scikit-learn's: a fit that refuses its parameters changes nothing."""
    X, y = small_problem(Ours is MLPClassifier)
    est = Ours(max_iter=5, random_state=0).fit(X, y)
    before = est.predict(X)
    for name, bad in ("alpha", -1), ("hidden_layer_sizes", [0]):
        good = est.get_params()[name]
        with pytest.raises(ValueError):
            est.set_params(**{name: bad}).fit(X, y)
        np.testing.assert_array_equal(est.predict(X), before)
        est.set_params(**{name: good})


# --- methods -----------------------------------------------------------------------------


@needs_sklearn
@each_pair
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_partial_fit_is_there_where_scikit_learns_is(Ours, Theirs, solver):
    assert hasattr(Ours(solver=solver), "partial_fit") == hasattr(Theirs(solver=solver),
                                                                  "partial_fit")


@needs_sklearn
@no_convergence_warnings
def test_partial_fit_with_lbfgs():
    """The classifier has none (scikit-learn's AttributeError); the regressor has one, and
    each call is a whole L-BFGS fit of up to max_iter iterations."""
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError) as theirs:
        sk.MLPClassifier(solver="lbfgs").partial_fit  # noqa: B018
    with pytest.raises(AttributeError, match=f"^{re.escape(str(theirs.value))}$"):
        MLPClassifier(solver="lbfgs").partial_fit  # noqa: B018
    X, y = small_problem(classifier=False)
    reg = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0).partial_fit(X, y)
    assert reg.n_iter_ == 5


@needs_sklearn
@each_pair
def test_methods_before_fit_raise_not_fitted_error(Ours, Theirs):
    X, y = small_problem(Theirs is sk.MLPClassifier)
    for method in ("predict", "predict_proba", "predict_log_proba", "score"):
        assert hasattr(Ours(), method) == hasattr(Theirs(), method), method
        if hasattr(Theirs(), method):
            args = (X, y) if method == "score" else (X,)
            with pytest.raises(NotFittedError) as theirs:
                getattr(Theirs(), method)(*args)
            with pytest.raises(NotFittedError, match=f"^{re.escape(str(theirs.value))}$"):
                getattr(Ours(), method)(*args)


@needs_sklearn
def test_first_partial_fit_of_the_classifier_needs_classes():
    X, y = small_problem(classifier=True)
    with pytest.raises(ValueError) as theirs:
        sk.MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match=f"^{re.escape(str(theirs.value))}$"):
        MLPClassifier().partial_fit(X, y)


# --- on the digits -----------------------------------------------------------------------


@needs_sklearn
@no_convergence_warnings
def test_digits_accuracy_with_the_defaults_is_scikit_learns(digits):
    X, Xt, y, yt = digits
    ours = MLPClassifier(random_state=0).fit(X, y).score(Xt, yt)
    theirs = sk.MLPClassifier(random_state=0).fit(X, y).score(Xt, yt)
    assert ours > 0.95 and abs(ours - theirs) <= 0.01


def expit(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@needs_sklearn
def test_the_seeds_network_is_plain_sgd_of_sigmoid_units(digits):
    """The seed's network, sigmoid hidden units trained by plain mini-batch SGD, is
    MLPClassifier(activation="logistic", solver="sgd", momentum=0): a step moves each
    parameter by -learning_rate_init times the gradient of the (L2-penalised) log-loss."""
    X, _, y, _ = digits
    clf = MLPClassifier((30,), activation="logistic", solver="sgd", momentum=0, alpha=0.1,
                        learning_rate_init=0.5, batch_size=len(X), random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    (W, V), (b, c), n = clf.coefs_, clf.intercepts_, len(X)
    H = expit(X @ W + b)
    P = softmax(H @ V + c)
    dz = P - np.eye(10)[y]
    dh = dz @ V.T * H * (1 - H)
    expected = [W - 0.5 * (X.T @ dh + 0.1 * W) / n, V - 0.5 * (H.T @ dz + 0.1 * V) / n,
                b - 0.5 * dh.mean(axis=0), c - 0.5 * dz.mean(axis=0)]
    loss = -np.log(P[np.arange(n), y]).mean() + 0.05 * (np.sum(W**2) + np.sum(V**2)) / n
    clf.partial_fit(X, y)
    for actual, desired in zip(clf.coefs_ + clf.intercepts_, expected):
        np.testing.assert_allclose(actual, desired, rtol=1e-10, atol=1e-12)
    assert clf.loss_ == pytest.approx(loss, rel=1e-10)
    assert clf.out_activation_ == "softmax"


@needs_sklearn
@no_convergence_warnings
def test_the_seeds_network_learns_the_digits(digits):
    X, Xt, y, yt = digits
    clf = MLPClassifier((30,), activation="logistic", solver="sgd", momentum=0, alpha=0,
                        learning_rate_init=0.5, batch_size=10, max_iter=10, random_state=0)
    assert clf.fit(X, y).score(Xt, yt) > 0.9


# --- scikit-learn's tools ----------------------------------------------------------------

FAST = dict(hidden_layer_sizes=(30,), max_iter=30, learning_rate_init=0.01, random_state=0)


@needs_sklearn
@no_convergence_warnings
def test_pipeline_with_min_max_scaler(digits):
    X, Xt, y, yt = digits
    X, Xt = 16 * X, 16 * Xt                    # raw pixels 0..16: the scaler maps them
    model = make_pipeline(MinMaxScaler(), MLPClassifier(**FAST)).fit(X, y)
    assert model.score(Xt, yt) > 0.93
    scaler = MinMaxScaler().fit(X)
    alone = MLPClassifier(**FAST).fit(scaler.transform(X), y)
    np.testing.assert_array_equal(model.predict(Xt), alone.predict(scaler.transform(Xt)))
    x = np.linspace(0, 1, 200).reshape(-1, 1)
    X, y = 100 * x - 30, np.sin(2 * np.pi * x[:, 0])
    reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0)
    assert make_pipeline(MinMaxScaler(), reg).fit(X, y).score(X, y) > 0.9


@needs_sklearn
@no_convergence_warnings
def test_grid_search_is_scikit_learns(digits):
    X, _, y, _ = digits
    grid = {"alpha": [1e-4, 3.0], "hidden_layer_sizes": [(5,), (30,)]}
    ours, theirs = (GridSearchCV(Estimator(**FAST), grid, cv=3).fit(X[:300], y[:300])
                    for Estimator in (MLPClassifier, sk.MLPClassifier))
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"])
    assert type(ours.best_estimator_) is MLPClassifier


@needs_sklearn
@each_estimator
@no_convergence_warnings
def test_pickle_keeps_the_training_state(Ours, digits):
    """Unpickled, the model predicts the same, and partial_fit goes on exactly as the
    original's (the momentum included)."""
    X, Xt, y, _ = digits
    target = y if Ours is MLPClassifier else X[:, 20]
    est = Ours(hidden_layer_sizes=(20,), solver="sgd", max_iter=3, random_state=0)
    est.fit(X, target)
    copy = pickle.loads(pickle.dumps(est))
    assert type(copy) is Ours
    np.testing.assert_array_equal(copy.predict(Xt), est.predict(Xt))
    est.partial_fit(X, target)
    copy.partial_fit(X, target)
    for mine, original in zip(copy.coefs_ + copy.intercepts_, est.coefs_ + est.intercepts_):
        np.testing.assert_array_equal(mine, original)
    assert copy.loss_curve_ == est.loss_curve_
