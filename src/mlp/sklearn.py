"""scikit-learn estimators around ``mlp.MLP``: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's estimator rules, so they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score``, ``clone`` and the rest of scikit-learn, and pass its
``check_estimator``::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from mlp.sklearn import MLPClassifier

    model = make_pipeline(MinMaxScaler(), MLPClassifier(random_state=0)).fit(X, y)

scikit-learn is an optional dependency of mlp: ``import mlp`` never imports it, and
importing this module without it raises ``ImportError`` saying how to install it
(``pip install "mlp[sklearn]"``).

The networks are mlp's sigmoid networks: every unit, the outputs included, is a sigmoid,
so inputs are best scaled to about [0, 1] (for instance with ``MinMaxScaler``) and outputs
lie in (0, 1); see each class for how classes and regression targets are mapped onto them.
"""

# scikit-learn ships no type information: its names are typed Any here.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import inspect
import textwrap
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

_INSTALL_HINT = (
    'mlp.sklearn needs scikit-learn >= 1.6: install it with pip install "mlp[sklearn]" '
    "(or pip install scikit-learn)"
)

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # not installed, or older than 1.6 (no validate_data there)
    raise ImportError(_INSTALL_HINT, name="sklearn") from exc

from mlp._validation import check_fraction, check_hidden_layer_sizes, check_int
from mlp.network import MLP
from mlp.options import OPTIONS, STEP, parameters_doc
from mlp.training import History, needs_validation

__all__ = ["MLPClassifier", "MLPRegressor"]

Array = NDArray[np.float64]

#: MLPRegressor maps each target column's [min, max] seen in fit onto this interval of the
#: sigmoid output's range (0, 1).
TARGET_RANGE = (0.1, 0.9)

# Seeds drawn from the estimator's RandomState for mlp (which takes ints >= 0).
_SEED_BOUND = np.iinfo(np.int32).max

# Fitted attributes, dropped at the start of fit so that a fit that fails leaves the
# estimator unfitted rather than half-updated.
_FITTED = (
    "net_", "n_iter_", "loss_curve_", "loss_", "validation_scores_",
    "best_validation_score_", "n_outputs_", "classes_", "target_min_", "target_max_",
    "_rng", "_y_1d",
)


# --- the parameters: mlp's training options and the estimators' own ----------------------

#: The estimators' own parameters: name -> (default, numpydoc type, doc).
_OWN: dict[str, tuple[Any, str, str]] = {
    "hidden_layer_sizes": (
        (30,), "int or sequence of int",
        "Neurons in each hidden layer; an int is one hidden layer, ``()`` none (a single "
        "layer of sigmoid units)."),
    "init": (
        "scaled", '{"scaled", "normal", "glorot"}',
        "Initialisation: weights N(0, 1/n_in) and biases N(0, 1); all N(0, 1); or uniform "
        "in +-sqrt(2/(n_in + n_out)) (see ``mlp.MLP``)."),
    "validation_fraction": (
        0.1, "float in (0, 1)",
        "Fraction of the training data held out for early stopping or a plateau "
        "schedule."),
    "random_state": (
        None, "None, int or numpy.random.RandomState",
        "Seeds the initialisation, the validation hold-out and the shuffling; an int "
        "makes ``fit`` reproducible."),
}
#: The parameters, in the signature's order: the rest are training options of
#: ``mlp.options``, whose defaults, checks and docs the estimators use.
_PARAMETERS = ("hidden_layer_sizes", "epochs", "batch_size", "eta", "cost", "l2", "momentum",
               "nesterov", "init", "schedule", "early_stopping", "validation_fraction",
               "patience", "shuffle", "random_state", "verbose")


#: The estimators keep the book's explicit defaults where mlp.MLP's now follow the optimizer
#: and output (they train sigmoid networks by SGD).
_BOOK = {"eta": 3.0, "cost": "quadratic"}


def _default(name: str, overrides: dict[str, Any]) -> Any:
    if name in overrides:
        return overrides[name]
    return _OWN[name][0] if name in _OWN else OPTIONS[name].default


def _estimator_init(**overrides: Any) -> Any:
    """An ``__init__`` taking ``_PARAMETERS`` (with these defaults where given), which
    stores each under its own name and does nothing else, as scikit-learn requires
    (``get_params``, ``clone`` and ``check_estimator`` read the signature)."""
    kinds = {"hidden_layer_sizes": inspect.Parameter.POSITIONAL_OR_KEYWORD}
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, kinds.get(name, inspect.Parameter.KEYWORD_ONLY),
                             default=_default(name, overrides))
           for name in _PARAMETERS])

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name in _PARAMETERS:
            setattr(self, name, bound.arguments[name])

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


def _parameters_doc(**overrides: Any) -> str:
    """The numpydoc entries of ``_PARAMETERS``."""
    entries = []
    for name in _PARAMETERS:
        if name in _OWN:
            default, kind, doc = _OWN[name]
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            lines = [f"    {name} : {kind}, default {shown}"]
            lines += textwrap.wrap(doc, 88, initial_indent=" " * 8,
                                   subsequent_indent=" " * 8)
            entries.append("\n".join(lines))
        else:
            entries.append(parameters_doc([name], "    ", overrides))
    return "\n" + "\n".join(entries) + "\n"


def _seed(rng: np.random.RandomState) -> int:
    return int(rng.randint(_SEED_BOUND))


class _BaseMLP(BaseEstimator):  # type: ignore[misc, unused-ignore]
    """What the classifier and the regressor share: the network, its training options,
    fitting (with an optional validation hold-out) and partial fitting.

    Subclasses make their ``__init__`` with ``_estimator_init`` (scikit-learn reads the
    parameters from its signature) and define the target handling.
    """

    net_: MLP
    n_iter_: int
    loss_curve_: list[float]

    # --- hooks for the subclasses --------------------------------------------------------

    def _validation_scorer(
        self, net: MLP, X_val: Array, T_val: Array
    ) -> tuple[list[float], Any] | None:
        """``(scores, callback)``: a callback for ``MLP.fit`` that appends the validation
        score of each epoch to ``scores``; None when the history already holds it."""
        return None

    def _scores_from_history(self, history: History) -> list[float]:
        raise NotImplementedError

    def _best_epoch(self, history: History, scores: list[float]) -> int:
        """The epoch (from 1) mlp's monitor judges best when early stopping is off."""
        raise NotImplementedError

    # --- shared machinery ------------------------------------------------------------

    def _param(self, name: str) -> Any:
        """The value of the parameter ``name`` (set by ``__init__`` or ``set_params``)."""
        return getattr(self, name)

    def _layer_sizes(self, n_in: int, n_out: int) -> list[int]:
        hidden = check_hidden_layer_sizes(self._param("hidden_layer_sizes"))
        return [n_in, *hidden, n_out]

    def _step_options(self) -> dict[str, Any]:
        return {name: self._param(name) for name in STEP if name in _PARAMETERS}

    def _check_fit_params(self) -> None:
        """Check the parameters mlp does not check itself (it checks the rest, naming
        them the same way, before it trains)."""
        check_hidden_layer_sizes(self._param("hidden_layer_sizes"))
        check_int(self._param("epochs"), "epochs", 1)
        if self._holds_out():
            check_fraction(self._param("validation_fraction"), "validation_fraction")
        check_random_state(self._param("random_state"))

    def _holds_out(self) -> bool:
        """Whether ``fit`` holds out validation data (mlp checks ``early_stopping``)."""
        stopping = self._param("early_stopping")
        stopping = isinstance(stopping, (bool, np.bool_)) and stopping
        return bool(stopping) or needs_validation(self._param("schedule"))

    def _clear_fitted(self) -> None:
        for name in _FITTED:
            self.__dict__.pop(name, None)

    def _fit_network(
        self, X: Array, T: NDArray[Any], n_out: int, stratify: ArrayLike | None
    ) -> None:
        """Train a new network on inputs ``X`` and mlp targets ``T`` (class indices or
        scaled target rows), holding out ``validation_fraction`` when early stopping or
        a plateau schedule needs validation data; set the fitted attributes."""
        p = self.get_params(deep=False)
        rng = check_random_state(p["random_state"])
        net = MLP(self._layer_sizes(X.shape[1], n_out), init=p["init"], seed=_seed(rng))
        validate = self._holds_out()
        validation_data = None
        scorer = None
        if validate:
            X, X_val, T, T_val = train_test_split(
                X, T, test_size=p["validation_fraction"], random_state=rng,
                stratify=stratify,
            )
            validation_data = (X_val, T_val)
            scorer = self._validation_scorer(net, X_val, T_val)
        history = net.fit(
            X, T, epochs=check_int(p["epochs"], "epochs", 1), **self._step_options(),
            schedule=p["schedule"], validation_data=validation_data,
            early_stopping=p["early_stopping"], patience=p["patience"],
            callbacks=[scorer[1]] if scorer is not None else (),
            shuffle=p["shuffle"], seed=_seed(rng), verbose=bool(p["verbose"]),
        )
        self.net_ = net
        self._rng = rng  # later partial_fit calls shuffle with it
        self.n_iter_ = len(history)
        self.loss_curve_ = [self._loss(record) for record in history]
        self.loss_ = self.loss_curve_[-1]
        self.validation_scores_: list[float] | None = None
        self.best_validation_score_: float | None = None
        if validate:
            scores = scorer[0] if scorer is not None else self._scores_from_history(history)
            best = history.best_epoch or self._best_epoch(history, scores)
            self.validation_scores_ = scores
            self.best_validation_score_ = scores[best - 1]

    def _partial_fit_network(self, X: Array, T: NDArray[Any], n_out: int) -> None:
        """One epoch over ``X`` and mlp targets ``T``, on the current network or, when
        not fitted yet, on a new one with ``n_out`` outputs (kept only if the epoch
        succeeds)."""
        if self.__sklearn_is_fitted__():
            net, rng = self.net_, self._rng
            n_iter, curve = self.n_iter_, self.loss_curve_
        else:
            rng = check_random_state(self._param("random_state"))
            net = MLP(self._layer_sizes(X.shape[1], n_out), init=self._param("init"),
                      seed=_seed(rng))
            n_iter, curve = 0, []
            self.validation_scores_ = None
            self.best_validation_score_ = None
        history = net.partial_fit(
            X, T, **self._step_options(), shuffle=self._param("shuffle"), seed=_seed(rng)
        )
        self.net_, self._rng = net, rng
        self.n_iter_ = n_iter + 1
        self.loss_curve_ = [*curve, self._loss(history[-1])]
        self.loss_ = self.loss_curve_[-1]
        if self._param("verbose"):
            print(f"partial_fit {self.n_iter_}  cost {self.loss_:.5f}", flush=True)

    @staticmethod
    def _loss(record: dict[str, Any]) -> float:
        """The objective of an epoch: its mean training cost plus the L2 penalty."""
        return float(record["cost"] + record.get("l2_penalty", 0.0))

    def _outputs(self, X: ArrayLike) -> Array:
        """The network's output activations for ``X``, checked the scikit-learn way."""
        check_is_fitted(self)
        x = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        out: Array = self.net_.predict(x)
        return out

    @property
    def coefs_(self) -> list[Array]:
        """Weight matrices, ``coefs_[l]`` of shape ``(n_in, n_out)`` of layer ``l``:
        views into ``net_`` (writing to them changes the model)."""
        check_is_fitted(self)
        return self.net_.weights

    @property
    def intercepts_(self) -> list[Array]:
        """Bias vectors, ``intercepts_[l]`` of shape ``(n_out,)``: views into ``net_``."""
        check_is_fitted(self)
        return self.net_.biases

    def __sklearn_is_fitted__(self) -> bool:
        return "net_" in self.__dict__


_ATTRIBUTES_DOC = """
    coefs_ : list of ndarray
        ``coefs_[l]`` is the ``(n_in, n_out)`` weight matrix of layer ``l`` (scikit-learn's
        layout, which is also mlp's): views into ``net_``'s parameters.
    intercepts_ : list of ndarray
        ``intercepts_[l]`` is the bias vector of layer ``l``: views into ``net_``.
    net_ : mlp.MLP
        The trained network.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``, when ``X`` had string column names.
    n_outputs_ : int
        Output units of the network.
    n_iter_ : int
        Epochs run: by ``fit`` (fewer than ``epochs`` if stopped early), plus one per
        ``partial_fit`` call.
    loss_curve_ : list of float
        The training objective of each epoch: the mean cost of the training samples,
        each measured by the forward pass of its mini-batch before that mini-batch's
        step (mlp's ``History`` ``cost``), plus the L2 penalty at the end of the epoch.
    loss_ : float
        The last entry of ``loss_curve_``.
    validation_scores_ : list of float or None
        The {score_name} on the held-out data after each epoch, when ``fit`` held
        some out (early stopping or a plateau schedule); else None.
    best_validation_score_ : float or None
        The {score_name} of the best epoch (with early stopping, the epoch whose
        parameters were restored); None without a hold-out.
"""


def _doc(template: str, **values: str) -> str:
    return template.format(**values)


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc, unused-ignore]
    __doc__ = (
        """A classifier on mlp's sigmoid multilayer perceptron, trained by mini-batch SGD.

    The network has one sigmoid output unit per class, for binary problems too (two
    units), trained towards one-hot targets as in Nielsen's book: ``predict`` is the
    class of the largest output, and ``predict_proba`` the outputs normalised to sum to
    1 in each row (a score, not a calibrated probability). Inputs are best scaled to
    about [0, 1] (``MinMaxScaler``, or ``X / 16`` for 8x8 digits).

    Parameters
    ----------"""
        + _parameters_doc(**_BOOK)
        + """
    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted; output unit ``k`` stands for ``classes_[k]``."""
        + _doc(_ATTRIBUTES_DOC, score_name="accuracy")
        + """
    Notes
    -----
    ``fit`` needs samples of at least two classes. ``partial_fit`` needs ``classes`` on
    its first call (as scikit-learn's incremental classifiers do); each call is one
    epoch over the given samples.

    Examples
    --------
    >>> from mlp.datasets import load_digits
    >>> from mlp.sklearn import MLPClassifier
    >>> X, y = load_digits()
    >>> clf = MLPClassifier(random_state=0).fit(X[:1000] / 16, y[:1000])
    >>> clf.score(X[1000:] / 16, y[1000:]) > 0.9
    True
    """
    )

    __init__ = _estimator_init(**_BOOK)

    classes_: NDArray[Any]

    def _scores_from_history(self, history: History) -> list[float]:
        scores: list[float] = history["val_accuracy"]
        return scores

    def _best_epoch(self, history: History, scores: list[float]) -> int:
        return int(np.argmax(scores)) + 1

    def _encode(self, y: NDArray[Any]) -> NDArray[np.intp]:
        """Indices into ``classes_`` of the labels ``y``."""
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"y holds labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(np.asarray(y)[unknown]).tolist()}"
            )
        return index.astype(np.intp)

    @staticmethod
    def _check_classes(classes: NDArray[Any]) -> None:
        if len(classes) < 2:
            raise ValueError(
                f"MLPClassifier needs samples of at least 2 classes, but y has only one "
                f"class: {classes.tolist()}"
            )

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPClassifier:
        """Train a new network on ``X`` and the class labels ``y``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,)
            Class labels (numbers or strings), at least two distinct ones.

        Returns
        -------
        self
        """
        self._check_fit_params()
        self._clear_fitted()
        x, labels_in = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(labels_in)
        classes = np.unique(labels_in)
        self._check_classes(classes)
        self.classes_ = classes
        labels = self._encode(labels_in)
        self._fit_network(x, labels, len(classes), stratify=labels)
        self.n_outputs_ = len(classes)
        return self

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None
    ) -> MLPClassifier:
        """One epoch of SGD over ``X``, ``y``, continuing from the current network.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,)
            Class labels, each one of ``classes``.
        classes : array_like, shape (n_classes,), optional
            Every class the model will see; required on the first call (which creates
            the network), and if given later it must be the same.

        Returns
        -------
        self
        """
        first = not self.__sklearn_is_fitted__()
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        x, labels_in = validate_data(self, X, y, reset=first, dtype=np.float64, order="C")
        check_classification_targets(labels_in)
        if first:
            given = np.unique(np.asarray(classes))
            self._check_classes(given)
            self.classes_ = given
            self.n_outputs_ = len(given)
            labels = self._encode(labels_in)
        else:
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_
            ):
                raise ValueError(
                    f"classes={np.unique(np.asarray(classes)).tolist()} is not the same "
                    f"as on the first call to partial_fit or fit: {self.classes_.tolist()}"
                )
            labels = self._encode(labels_in)
        self._partial_fit_network(x, labels, len(self.classes_))
        return self

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The class of the largest output unit for each sample.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,)
            Labels from ``classes_``.
        """
        out = self._outputs(X)
        labels: NDArray[Any] = self.classes_[np.argmax(out, axis=1)]
        return labels

    def predict_proba(self, X: ArrayLike) -> Array:
        """The output activations normalised to sum to 1 per sample.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
            Column ``k`` is for ``classes_[k]``; the largest is at ``predict``'s class.
            A row whose outputs all underflowed to 0 is uniform.
        """
        out = self._outputs(X)
        total = out.sum(axis=1, keepdims=True)
        empty = total[:, 0] == 0.0
        total[empty] = 1.0
        proba: Array = out / total
        proba[empty] = 1.0 / out.shape[1]
        return proba


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc, unused-ignore]
    __doc__ = (
        """A regressor on mlp's sigmoid multilayer perceptron, trained by mini-batch SGD.

    The output units are sigmoids, with values in (0, 1), one per target. ``fit`` maps
    each target column linearly from its ``[min, max]`` onto ``[0.1, 0.9]``
    (``TARGET_RANGE``) and ``predict`` maps the outputs back. The margin keeps the
    targets away from the sigmoid's asymptotes, where its slope ``a(1 - a)`` vanishes
    and the extremes are learned slowly (fitting ``sin(2 pi x)`` for 300 epochs with
    momentum 0.9, the test R^2 was 0.87 mapping onto [0, 1] and 0.98 onto [0.1, 0.9]);
    the price is that predictions are bounded
    to ``[min - range/8, max + range/8]`` of the targets seen in ``fit`` (or in the first
    ``partial_fit`` call, which fixes the mapping). A constant target column maps to 0.5.
    Inputs are best scaled to about [0, 1] (``MinMaxScaler``).

    ``y`` may be 1-D (``predict`` returns 1-D) or 2-D, several targets at once
    (``predict`` returns 2-D).

    Parameters
    ----------"""
        + _parameters_doc(**{**_BOOK, "eta": 1.0})
        + """
    Attributes
    ----------
    target_min_, target_max_ : ndarray, shape (n_outputs,)
        The ``[min, max]`` of each target column that ``fit`` mapped onto
        ``TARGET_RANGE``."""
        + _doc(_ATTRIBUTES_DOC, score_name="R^2 score")
        + """
    Notes
    -----
    ``eta`` defaults to 1.0 rather than the classifier's 3.0. Mini-batch SGD leaves the
    parameters jittering around a minimum by an amount that grows with ``eta``; a
    classifier's ``argmax`` tolerates that, but a regressor's squared error counts it in
    full. Measured with the other defaults (30 epochs, inputs scaled to [0, 1]), the
    training R^2 after ``fit`` was 0.76 at ``eta=1.0`` and 0.67 at 3.0 on Friedman #1
    (750 samples), and 0.46 against 0.11 on scikit-learn's diabetes data (331 samples).
    Of ``eta`` in {0.3, 0.5, 1, 2, 3}, 1.0 gave the best or nearly the best test R^2 on
    Friedman #1 and on smooth synthetic targets; the small, noisy diabetes data did
    better still at 0.3 to 0.5, while longer training of smooth targets can afford a
    larger ``eta`` (or ``momentum``).

    Early stopping monitors the validation cost (which the R^2 score of a single target
    follows exactly); ``validation_scores_`` reports the R^2 score.

    Examples
    --------
    >>> import numpy as np
    >>> from mlp.sklearn import MLPRegressor
    >>> X = np.linspace(0, 1, 200).reshape(-1, 1)
    >>> y = np.sin(2 * np.pi * X[:, 0])
    >>> reg = MLPRegressor(epochs=500, momentum=0.9, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    >>> reg.predict(X[:3]).shape
    (3,)
    """
    )

    __init__ = _estimator_init(**{**_BOOK, "eta": 1.0})

    target_min_: Array
    target_max_: Array

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # 2-D y: one output unit per column
        return tags

    # --- the target mapping ----------------------------------------------------------

    def _scale(self, y: Array) -> Array:
        """Targets ``(n, n_outputs)`` onto the network's output range."""
        low, high = TARGET_RANGE
        span = self.target_max_ - self.target_min_
        factor = np.divide(high - low, span, out=np.zeros_like(span), where=span > 0)
        scaled = low + (y - self.target_min_) * factor
        scaled[:, span <= 0] = 0.5 * (low + high)
        return np.ascontiguousarray(scaled)

    def _unscale(self, out: Array) -> Array:
        low, high = TARGET_RANGE
        span = self.target_max_ - self.target_min_
        result: Array = self.target_min_ + (out - low) * (span / (high - low))
        return result

    def _validation_scorer(
        self, net: MLP, X_val: Array, T_val: Array
    ) -> tuple[list[float], Any]:
        scores: list[float] = []
        y_val = self._unscale(T_val)

        def score(record: dict[str, Any]) -> bool:
            scores.append(float(r2_score(y_val, self._unscale(net.predict(X_val)))))
            return False

        return scores, score

    def _best_epoch(self, history: History, scores: list[float]) -> int:
        return int(np.argmin(history["val_cost"])) + 1

    @staticmethod
    def _targets(y: NDArray[Any]) -> Array:
        """Validated targets as rows ``(n, n_outputs)``."""
        y2 = np.asarray(y, dtype=np.float64)
        return y2.reshape(-1, 1) if y2.ndim == 1 else y2

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """Train a new network on ``X`` and the targets ``y``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        self._check_fit_params()
        self._clear_fitted()
        x, targets = validate_data(
            self, X, y, dtype=np.float64, order="C", multi_output=True, y_numeric=True
        )
        y2 = self._targets(targets)
        self.target_min_ = y2.min(axis=0)
        self.target_max_ = y2.max(axis=0)
        self._fit_network(x, self._scale(y2), y2.shape[1], stratify=None)
        self.n_outputs_ = y2.shape[1]
        self._y_1d = np.ndim(targets) == 1
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """One epoch of SGD over ``X``, ``y``, continuing from the current network.

        The first call (on an unfitted estimator) creates the network and fixes the
        target mapping from this ``y``'s range.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        first = not self.__sklearn_is_fitted__()
        x, targets = validate_data(
            self, X, y, reset=first, dtype=np.float64, order="C", multi_output=True,
            y_numeric=True,
        )
        y2 = self._targets(targets)
        if first:
            self.target_min_ = y2.min(axis=0)
            self.target_max_ = y2.max(axis=0)
            self.n_outputs_ = y2.shape[1]
            self._y_1d = np.ndim(targets) == 1
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} targets per sample; the model was fitted with "
                f"{self.n_outputs_}"
            )
        self._partial_fit_network(x, self._scale(y2), y2.shape[1])
        return self

    def predict(self, X: ArrayLike) -> Array:
        """Predicted targets.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``fit`` was given a 1-D ``y``.
        """
        pred = self._unscale(self._outputs(X))
        return pred[:, 0] if self._y_1d else pred
