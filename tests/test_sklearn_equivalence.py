"""mlp.sklearn's estimators fit the model scikit-learn's fit: for the same parameters and
random_state they draw the same initial coefficients, mini-batches and validation split, so
that every fitted attribute, prediction, warning and line of verbose output is
scikit-learn's, to rounding. One table of cases (CASES) covers the solvers, activations,
targets and options; assert_same_fit compares a pair of fitted estimators."""

import contextlib
import copy
import functools
import io
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.base import is_classifier  # noqa: E402
from sklearn.datasets import load_digits, make_multilabel_classification  # noqa: E402
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, scale  # noqa: E402

from _dropin import estimators  # noqa: E402

C, R = estimators()         # the MLPClassifier and MLPRegressor under test
THEIRS = {C: sk.MLPClassifier, R: sk.MLPRegressor}

# (rtol, atol) by dtype. scikit-learn against itself needs 0: its fits are deterministic.
TOLERANCE = {np.dtype(np.float64): (1e-7, 1e-9), np.dtype(np.float32): (1e-4, 1e-6)}


# --- data --------------------------------------------------------------------------------


def digits(n_class, n):
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return MinMaxScaler().fit_transform(X[:n]), y[:n]


def poisson(n=200):
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, (n, 4))
    return X, rng.poisson(np.exp(X @ [0.5, -0.3, 0.8, 0.2] + 0.5)).astype(float)


def multilabel():
    X, Y = make_multilabel_classification(n_samples=150, n_features=10, n_classes=3,
                                          random_state=0)
    return MinMaxScaler().fit_transform(X), Y


def labelled(n_class, names, dtype=None):
    X, y = digits(n_class, 200)
    return X, np.array(names, dtype)[y]


def regression(n_targets=1):
    X, y = make_regression(n_samples=200, n_features=6, n_targets=n_targets, noise=5.0,
                           random_state=n_targets)
    return X, scale(y)


DATA = {
    "binary": lambda: digits(2, 200),
    "multiclass": lambda: digits(3, 200),
    "multiclass300": lambda: digits(3, 300),     # > 200 rows: batch_size="auto" is 200
    "multilabel": multilabel,
    "strings": lambda: labelled(3, ["ant", "bee", "cat"]),
    "objects": lambda: labelled(2, ["no", "yes"], object),
    "column": lambda: labelled(2, [[0], [1]]),                # y of shape (n, 1)
    "regression": regression,
    "multioutput": lambda: regression(n_targets=3),
    "regression-column": lambda: (regression()[0], regression()[1].reshape(-1, 1)),
    "poisson": poisson,
}
FORMS = {"": lambda X: X, "float32": lambda X: X.astype(np.float32),
         "float32-values": lambda X: X.astype(np.float32).astype(np.float64),
         "csr": sp.csr_matrix, "csr_array": sp.csr_array}


@functools.cache
def data(key):
    """X, y of DATA[name] for key "name" or "name:form" (X in another FORMS)."""
    name, _, form = key.partition(":")
    X, y = DATA[name]()
    return FORMS[form](X), y


# --- what is done with the estimator ----------------------------------------------------


def weights(n):
    return np.random.RandomState(1).randint(0, 4, n).astype(float)   # zeros included


def partial_kwargs(est, y):
    if not is_classifier(est):
        return {}
    return {"classes": np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)}


def fit(est, X, y):
    est.fit(X, y)


def refit(est, X, y):
    """Fit, then fit again for 7 iterations (warm_start decides whether it continues)."""
    est.fit(X, y)
    est.set_params(max_iter=7).fit(X, y)


def weighted(est, X, y):
    est.fit(X, y, sample_weight=weights(X.shape[0]))


def chunked(est, X, y, order=None, sample_weight=None):
    """partial_fit: three passes over three chunks, classes given on each call."""
    order = np.arange(X.shape[0]) if order is None else order
    for _ in range(3):
        for chunk in np.array_split(order, 3):
            extra = {} if sample_weight is None else {"sample_weight": sample_weight[chunk]}
            est.partial_fit(X[chunk], y[chunk], **partial_kwargs(est, y), **extra)


def chunked_by_label(est, X, y):
    """partial_fit on chunks sorted by label: the first lacks most classes."""
    chunked(est, X, y, order=np.argsort(y, kind="stable"))


def chunked_weighted(est, X, y):
    chunked(est, X, y, sample_weight=weights(X.shape[0]))


def fit_then_partial_fit(est, X, y):
    est.fit(X, y)
    est.partial_fit(X, y)
    est.partial_fit(X[:50], y[:50])


def run(Estimator, params, procedure, key):
    """The fitted estimator, its warnings (category, message) and its printed output."""
    X, y = data(key)
    est = Estimator(**copy.deepcopy(params))     # a RandomState is copied, not shared
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        procedure(est, X, y)
    return est, [(w.category, str(w.message)) for w in caught], out.getvalue()


# --- the comparison ----------------------------------------------------------------------

EXACT = ("n_features_in_", "n_iter_", "n_layers_", "n_outputs_", "out_activation_", "t_")
NUMBERS = ("loss_", "best_loss_", "best_validation_score_", "loss_curve_",
           "validation_scores_")
LAYERS = ("coefs_", "intercepts_")
LABELS = ("classes_", "feature_names_in_")
PREDICTIONS = ("predict", "predict_proba", "predict_log_proba")


def assert_close(actual, desired, dtype, name):
    rtol, atol = TOLERANCE[np.dtype(dtype)]
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, err_msg=name)


def assert_same_arrays(actual, desired, dtype, name):
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert (actual.dtype, actual.shape) == (desired.dtype, desired.shape), name
    if desired.dtype.kind in "fc":
        assert_close(actual, desired, dtype, name)
    else:
        np.testing.assert_array_equal(actual, desired, err_msg=name)


def assert_same_fit(ours, theirs, X, y):
    """ours has theirs' fitted attributes (the same ones, equal), and predicts the same."""
    for name in EXACT + NUMBERS + LAYERS + LABELS:
        assert hasattr(ours, name) == hasattr(theirs, name), name
    dtype = X.dtype                 # float32 input: float32 arithmetic, looser tolerance
    for name in (n for n in EXACT if hasattr(theirs, n)):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in (n for n in NUMBERS if hasattr(theirs, n)):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None, type(a) is list) == (b is None, type(b) is list), name
        if b is not None:
            assert_close(a, b, dtype, name)
    for name in (n for n in LAYERS if hasattr(theirs, n)):
        assert len(getattr(ours, name)) == len(getattr(theirs, name)), name
        for i, (a, b) in enumerate(zip(getattr(ours, name), getattr(theirs, name))):
            assert_same_arrays(a, b, dtype, f"{name}[{i}]")
    for name in (n for n in LABELS if hasattr(theirs, n)):
        assert_same_arrays(getattr(ours, name), getattr(theirs, name), dtype, name)
    for method in (m for m in PREDICTIONS if hasattr(theirs, m)):
        assert_same_arrays(getattr(ours, method)(X), getattr(theirs, method)(X), dtype,
                           method)
    assert_close(ours.score(X, y), theirs.score(X, y), dtype, "score")


# --- the cases ---------------------------------------------------------------------------

BASE = dict(hidden_layer_sizes=(8,), batch_size=50, max_iter=15, random_state=0)
SOLVERS = ("sgd", "adam", "lbfgs")
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
TARGETS = ((C, "binary"), (C, "multilabel"), (R, "regression"), (R, "multioutput"))
STOPS = dict(tol=0.05, n_iter_no_change=2)        # stops before max_iter
EARLY = dict(early_stopping=True, validation_fraction=0.2, max_iter=30)

CASES = [  # id, estimator, data, procedure, parameters (over BASE)
    *[(f"{s}-{a}", C, "multiclass", fit, dict(solver=s, activation=a))
      for s in SOLVERS for a in ACTIVATIONS],
    *[(f"{s}-{d}", E, d, fit, dict(solver=s)) for s in SOLVERS for E, d in TARGETS],
    *[(f"{s}-poisson", R, "poisson", fit, dict(solver=s, loss="poisson"))
      for s in SOLVERS],
    ("poisson-tanh", R, "poisson", fit, dict(loss="poisson", activation="tanh")),
    ("regression-logistic", R, "regression", fit, dict(activation="logistic")),
    ("regression-tanh-sgd", R, "regression", fit, dict(solver="sgd", activation="tanh")),
    ("two-hidden-layers", C, "multiclass", fit, dict(hidden_layer_sizes=(8, 5))),
    ("hidden-int", R, "regression", fit, dict(hidden_layer_sizes=5, solver="lbfgs")),
    ("alpha", C, "multiclass", fit, dict(alpha=1.0)),
    ("random-state-instance", C, "multiclass", fit,
     dict(random_state=np.random.RandomState(3))),
    ("adam-betas", C, "multiclass", fit, dict(beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
    ("tol-stops-sgd", C, "multiclass", fit, dict(solver="sgd", **STOPS)),
    ("tol-stops-adam", R, "regression", fit, STOPS),
    ("lbfgs-max-fun", C, "multiclass", fit, dict(solver="lbfgs", max_fun=10)),
    ("lbfgs-tol", R, "regression", fit, dict(solver="lbfgs", tol=1e-1)),
    # early stopping
    ("early-stopping-adam", C, "multiclass", fit, dict(**EARLY, **STOPS)),
    ("early-stopping-sgd", R, "regression", fit, dict(solver="sgd", **EARLY)),
    ("early-stopping-multilabel", C, "multilabel", fit, EARLY),
    ("early-stopping-strings", C, "strings", fit, dict(**EARLY, **STOPS)),
    ("early-stopping-poisson", R, "poisson", fit, dict(loss="poisson", **EARLY)),
    ("early-stopping-weighted", R, "regression", weighted, dict(**EARLY, **STOPS)),
    ("early-stopping-float32", C, "binary:float32", fit, dict(solver="sgd", **EARLY)),
    ("early-stopping-lbfgs", C, "multiclass", fit, dict(solver="lbfgs", **EARLY)),
    # fit twice
    ("refit", C, "multiclass", refit, {}),
    ("warm-start-sgd", C, "multiclass", refit, dict(solver="sgd", warm_start=True)),
    ("warm-start-adam", R, "regression", refit, dict(warm_start=True)),
    ("warm-start-lbfgs", C, "multiclass", refit, dict(solver="lbfgs", warm_start=True)),
    ("warm-start-early-stopping", C, "multiclass", refit, dict(warm_start=True, **EARLY)),
    ("warm-start-stops", R, "regression", refit, dict(warm_start=True, **STOPS)),
    # partial_fit
    ("partial-fit-sgd", C, "multiclass", chunked, dict(solver="sgd")),
    ("partial-fit-by-label", C, "multiclass", chunked_by_label, {}),
    ("partial-fit-multilabel", C, "multilabel", chunked, {}),
    ("partial-fit-strings", C, "strings", chunked, dict(solver="sgd")),
    ("partial-fit-regressor", R, "multioutput", chunked, dict(solver="sgd")),
    ("partial-fit-lbfgs-regressor", R, "regression", chunked, dict(solver="lbfgs")),
    ("partial-fit-weighted", C, "binary", chunked_weighted, dict(solver="sgd")),
    ("partial-fit-after-fit", C, "multiclass", fit_then_partial_fit, {}),
    ("partial-fit-after-fit-sgd", R, "regression", fit_then_partial_fit,
     dict(solver="sgd")),
    # sample_weight
    ("weighted-sgd", C, "multiclass", weighted, dict(solver="sgd")),
    ("weighted-adam", C, "multilabel", weighted, {}),
    ("weighted-lbfgs", R, "regression", weighted, dict(solver="lbfgs")),
    ("weighted-poisson", R, "poisson", weighted, dict(loss="poisson")),
    # learning rate schedules and momentum (sgd)
    ("constant", C, "multiclass", fit, dict(solver="sgd", learning_rate="constant")),
    ("invscaling", C, "multiclass", fit,
     dict(solver="sgd", learning_rate="invscaling", power_t=0.25, learning_rate_init=0.5)),
    ("adaptive", C, "multiclass", fit,
     dict(solver="sgd", learning_rate="adaptive", max_iter=40, **STOPS)),
    ("adaptive-early-stopping", C, "multiclass", fit,
     dict(solver="sgd", learning_rate="adaptive", **EARLY, **STOPS)),
    ("momentum-0", C, "multiclass", fit, dict(solver="sgd", momentum=0.0)),
    ("momentum-1", C, "multiclass", fit, dict(solver="sgd", momentum=1.0)),
    ("nesterov-off", C, "multiclass", fit,
     dict(solver="sgd", momentum=0.5, nesterovs_momentum=False)),
    ("nesterov-on", R, "regression", fit, dict(solver="sgd", momentum=0.5)),
    # batches and shuffling
    ("batch-16", C, "multiclass", fit, dict(solver="sgd", batch_size=16)),
    ("batch-1", R, "regression", fit, dict(solver="sgd", batch_size=1, max_iter=3)),
    ("batch-auto", C, "multiclass", fit, dict(solver="sgd", batch_size="auto")),
    ("batch-auto-300", C, "multiclass300", fit, dict(batch_size="auto")),
    ("batch-199", C, "multiclass300", fit, dict(batch_size=199)),
    ("batch-larger-than-n", C, "multiclass", fit, dict(batch_size=500)),
    ("no-shuffle-sgd", C, "multiclass", fit, dict(solver="sgd", shuffle=False)),
    ("no-shuffle-adam", R, "regression", fit, dict(shuffle=False, batch_size=32)),
    # verbose output
    ("verbose-adaptive", C, "multiclass", fit,
     dict(solver="sgd", learning_rate="adaptive", verbose=True, max_iter=40, **STOPS)),
    ("verbose-early-stopping", R, "regression", fit, dict(verbose=True, **EARLY)),
    # labels and inputs
    ("strings", C, "strings", fit, {}),
    ("objects", C, "objects", fit, dict(solver="sgd")),
    ("column-classifier", C, "column", fit, {}),
    ("column-regressor", R, "regression-column", fit, {}),
    ("float32-adam", C, "multiclass:float32", fit, {}),
    ("float32-partial-fit", R, "regression:float32", chunked, {}),
    ("csr-sgd", C, "multiclass:csr", fit, dict(solver="sgd")),
    ("csr-no-shuffle", C, "binary:csr", fit, dict(shuffle=False)),
    ("csr-array-lbfgs", R, "regression:csr_array", fit, dict(solver="lbfgs")),
    ("csr-partial-fit", C, "multiclass:csr_array", chunked, {}),
]


@pytest.mark.parametrize("Ours, key, procedure, params", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_fit_is_scikit_learns(Ours, key, procedure, params):
    params = {**BASE, **params}
    ours, our_warnings, our_output = run(Ours, params, procedure, key)
    theirs, their_warnings, their_output = run(THEIRS[Ours], params, procedure, key)
    assert our_warnings == their_warnings
    assert our_output == their_output
    assert_same_fit(ours, theirs, *data(key))


@pytest.mark.parametrize("Ours", [C, R], ids=["classifier", "regressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning_where_scikit_learn_warns(Ours, solver):
    """Stopped by max_iter: scikit-learn's ConvergenceWarning; converged: no warning."""
    X, y = data("multiclass" if Ours is C else "regression")
    stopped = {**BASE, "solver": solver, "max_iter": 3}
    with pytest.warns(ConvergenceWarning) as theirs:
        THEIRS[Ours](**stopped).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=f"^{re.escape(str(theirs[0].message))}$"):
        Ours(**stopped).fit(X, y)
    converged = {**BASE, "solver": solver, "max_iter": 50, "tol": 0.5,
                 "n_iter_no_change": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for Estimator in Ours, THEIRS[Ours]:
            assert Estimator(**converged).fit(X, y).n_iter_ < 50


def test_float32_lbfgs_is_as_close_as_scikit_learns_own_float64_fit():
    """scikit-learn's L-BFGS on float32 X takes some steps in float32 arithmetic (scipy
    evaluates at the float32 start), mlp's in float64; L-BFGS then amplifies the rounding.
    So ours must be as close to scikit-learn's float32 fit as scikit-learn's own fit of the
    same numbers in float64 is (measured here: 6.5e-6 and 6.9e-6 in the predictions; ours
    is 2.5e-6 from that float64 fit)."""
    X, y = data("regression:float32")
    params = {**BASE, "solver": "lbfgs"}
    ours = run(R, params, fit, "regression:float32")[0]
    theirs = run(sk.MLPRegressor, params, fit, "regression:float32")[0]
    theirs64 = run(sk.MLPRegressor, params, fit, "regression:float32-values")[0]
    spread = np.abs(theirs64.predict(X) - theirs.predict(X)).max()
    assert 0 < np.abs(ours.predict(X) - theirs.predict(X)).max() <= 2 * spread
    assert [c.dtype for c in ours.coefs_] == [c.dtype for c in theirs.coefs_]
    assert ours.n_iter_ == theirs.n_iter_
