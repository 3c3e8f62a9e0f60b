"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained and run by mlp's compiled
core: change ``from sklearn.neural_network import MLPClassifier`` to
``from mlp.sklearn import MLPClassifier`` and the rest stays the same, only faster::

    from mlp.sklearn import MLPClassifier

    clf = MLPClassifier(random_state=0).fit(X, y)   # scikit-learn's defaults and math

The classes are scikit-learn's own, subclassed: the constructor, the parameter checks, the
target encoding, the initialisation and every draw from ``random_state`` (initial weights,
validation split, shuffles), the stopping rules, warm starts and the fitted attributes are
scikit-learn's code. What runs in mlp instead is the arithmetic: each epoch of ``sgd`` and
``adam`` is one call of ``mlp.MLP.partial_fit`` over scikit-learn's shuffled order, with
scikit-learn's losses, L2 term (``alpha``), sample weights and updates; ``lbfgs`` runs
scipy's L-BFGS-B on ``mlp.MLP.objective``; ``predict`` and ``predict_proba`` run the
compiled forward pass. For the same ``random_state`` the fitted model equals
scikit-learn's to rounding.

scikit-learn (>= 1.7) is an optional dependency of mlp: ``import mlp`` never imports it, and
importing this module without it raises ``ImportError`` saying how to install it
(``pip install "mlp-backprop[sklearn]"``).
"""

# scikit-learn ships no type information: its names are typed Any here.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

_INSTALL_HINT = (
    "mlp.sklearn needs scikit-learn >= 1.7: install it with "
    'pip install "mlp-backprop[sklearn]" (or pip install scikit-learn)'
)

try:
    import scipy.optimize
    import scipy.sparse
    from sklearn import neural_network as _sk
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
    from sklearn.model_selection import train_test_split
    from sklearn.utils import gen_batches, shuffle
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
    from sklearn.utils.optimize import _check_optimize_result
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # not installed, or older than 1.7
    raise ImportError(_INSTALL_HINT, name="sklearn") from exc

if "sample_weight" not in inspect.signature(BaseMultilayerPerceptron._fit_stochastic).parameters:
    raise ImportError(_INSTALL_HINT, name="sklearn")  # 1.6: no sample weights yet

from mlp.network import MLP

__all__ = ["MLPClassifier", "MLPRegressor"]

Array = NDArray[np.float64]

#: scikit-learn's unit names -> mlp's.
_UNITS = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "identity": "identity",
          "softmax": "softmax", "exp": "exp"}
#: The cost each output trains with: scikit-learn's losses in mlp's names.
_COSTS = {"sigmoid": "cross_entropy", "softmax": "cross_entropy", "identity": "quadratic",
          "exp": "poisson"}
#: Rows densified at a time from a sparse X (times its columns: about 4 MB of float64).
_DENSE_ELEMENTS = 1 << 19


class _CoreMLP:
    """What both estimators run in mlp instead of scikit-learn's NumPy code. A mixin placed
    before scikit-learn's class: it overrides only the private steps that compute."""

    # --- the network ---------------------------------------------------------------

    def _units(self: Any) -> tuple[str, str]:
        return _UNITS[self.activation], _UNITS[self.out_activation_]

    def _core_net(self: Any) -> MLP:
        """The mlp network holding ``coefs_`` and ``intercepts_``. While they are views of
        its parameters (after our own fits), it is reused with its optimizer state; if
        they were replaced (or are float32), it is rebuilt from them, keeping that state."""
        net: MLP | None = getattr(self, "_mlp_net", None)
        hidden, output = self._units()
        if (net is not None and all(unit == hidden for unit in net.activation)
                and net.output == output and len(net.weights) == len(self.coefs_)
                and all(a is b for a, b in zip(self.coefs_, net.weights))
                and all(a is b for a, b in zip(self.intercepts_, net.biases))):
            return net
        state = net.optimizer_state if net is not None else {}
        fresh = MLP.from_weights(self.coefs_, self.intercepts_, activation=hidden,
                                 output=output)
        if state and len(state.get("velocity", state.get("m", ()))) == fresh.params.size:
            fresh = MLP.from_params(fresh.sizes, fresh.params, state, activation=hidden,
                                    output=output)
        self._mlp_net = fresh
        return fresh

    def _expose(self: Any, net: MLP, dtype: Any) -> None:
        """``coefs_`` and ``intercepts_`` from ``net``: views of its parameters in float64
        (so that setting an entry is seen by ``predict``), copies in another dtype."""
        self._mlp_net = net
        if dtype == np.float64:
            self.coefs_, self.intercepts_ = net.weights, net.biases
        else:
            self.coefs_ = [w.astype(dtype) for w in net.weights]
            self.intercepts_ = [b.astype(dtype) for b in net.biases]

    def _forward_pass_fast(self: Any, X: Any, check_input: bool = True) -> NDArray[Any]:
        """The output layer's activations, by the compiled forward pass."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        net = self._core_net()
        out = np.concatenate([net.predict(chunk).reshape(chunk.shape[0], -1)
                              for chunk in _dense_chunks(X)])
        # the dtype NumPy's X @ coefs_ would have (float32 for float32 X and coefs_)
        return out.astype(np.result_type(X.dtype, self.coefs_[0].dtype), copy=False)

    # --- lbfgs ---------------------------------------------------------------------

    def _fit_lbfgs(self: Any, X: Any, y: NDArray[Any], sample_weight: Any, activations: Any,
                   deltas: Any, coef_grads: Any, intercept_grads: Any,
                   layer_units: Any) -> None:
        """scipy's L-BFGS-B, as scikit-learn calls it, on the loss and gradient of
        ``mlp.MLP.objective``. The variables are in scikit-learn's order (every weight
        matrix, then every bias vector), so that scipy takes the same steps."""
        net = self._core_net()
        X = _float64(X)
        order = _sklearn_order(net)
        back = np.argsort(order)
        Y, sw = np.asarray(y, dtype=np.float64), sample_weight
        verbose = self.verbose is True or self.verbose >= 1

        def loss_and_grad(packed: Array) -> tuple[float, Array]:
            loss, grad = self._objective(net, X, Y, sw, packed[back])
            return loss, grad[order]

        result = scipy.optimize.minimize(
            loss_and_grad, net.params[order], method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol,
                     **_get_additional_lbfgs_options_dict("iprint", 1 if verbose else -1)})
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = result.fun
        net.params[...] = result.x[back]
        self._expose(net, np.float64)  # scipy's float64, whatever X's dtype, as there

    def _objective(self: Any, net: MLP, X: Any, Y: Array, sw: Any,
                   params: Array) -> tuple[float, Array]:
        """scikit-learn's loss and gradient at ``params``, summed over dense chunks of X:
        each chunk's terms weigh by its share of the weight sum (alpha's too)."""
        total = float(X.shape[0] if sw is None else np.sum(sw))
        loss, grad = 0.0, np.zeros_like(params)
        for lo, chunk in _dense_chunks(X, starts=True):
            rows = slice(lo, lo + chunk.shape[0])
            w = None if sw is None else sw[rows]
            share = (chunk.shape[0] if w is None else float(np.sum(w))) / total
            data, penalty, g = net.objective(chunk, Y[rows], params, cost=self._cost(),
                                             alpha=self.alpha * share, sample_weight=w)
            loss += share * (data / self._loss_divisor(Y) + penalty)
            grad += share * g
        return loss, grad

    def _cost(self: Any) -> str:
        return _COSTS[_UNITS[self.out_activation_]]

    def _loss_divisor(self: Any, Y: NDArray[Any]) -> int:
        """scikit-learn's squared error is a mean over the outputs; its other losses sum."""
        return Y.shape[1] if self._cost() == "quadratic" else 1

    # --- sgd and adam --------------------------------------------------------------

    def _fit_stochastic(self: Any, X: Any, y: NDArray[Any], sample_weight: Any,
                        activations: Any, deltas: Any, coef_grads: Any,
                        intercept_grads: Any, layer_units: Any, incremental: bool) -> None:
        """scikit-learn's epoch loop, each epoch one pass of the compiled core."""
        fresh = not incremental or not hasattr(self, "_optimizer")
        if fresh:
            self._optimizer = self._new_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_train, y_train, sw_train, validation = self._hold_out(X, y, sample_weight)
        X_train = _float64(X_train)
        n_samples = X_train.shape[0]
        batch_size = self._batch_size(n_samples)
        net = self._core_net()
        if fresh:
            net = MLP.from_params(net.sizes, net.params, activation=net.activation,
                                  output=net.output)
        self._expose(net, np.float64)
        Y = np.asarray(y_train, dtype=np.float64)
        sample_idx = np.arange(n_samples, dtype=int)
        try:
            self.n_iter_ = 0  # scikit-learn's count restarts at every call
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                self._train_epoch(net, X_train, Y, sw_train, sample_idx, batch_size)
                if self._after_epoch(n_samples, validation, incremental):
                    break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts
        if X.dtype != np.float64:
            self.coefs_ = [c.astype(X.dtype) for c in self.coefs_]
            self.intercepts_ = [b.astype(X.dtype) for b in self.intercepts_]

    def _new_optimizer(self: Any) -> Any:
        """scikit-learn's optimizer object, for its learning-rate bookkeeping only (the
        schedules, ``trigger_stopping``); the steps' state lives in the mlp network."""
        if self.solver == "sgd":
            return SGDOptimizer([], self.learning_rate_init, self.learning_rate,
                                self.momentum, self.nesterovs_momentum, self.power_t)
        return AdamOptimizer([], self.learning_rate_init, self.beta_1, self.beta_2,
                             self.epsilon)

    def _hold_out(self: Any, X: Any, y: NDArray[Any],
               sample_weight: Any) -> tuple[Any, NDArray[Any], Any, Any]:
        """scikit-learn's validation hold-out for early stopping, by the same draw."""
        if not self.early_stopping:
            return X, y, sample_weight, None
        stratify = y if (self._is_classifier() and self.n_outputs_ == 1) else None
        parts = (X, y) if sample_weight is None else (X, y, sample_weight)
        split = train_test_split(*parts, random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, y_train, y_val = split[:4]
        sw_train, sw_val = (None, None) if sample_weight is None else split[4:]
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        if self._is_classifier():
            y_val = self._label_binarizer.inverse_transform(y_val)
        return X_train, y_train, sw_train, (X_val, y_val, sw_val)

    def _batch_size(self: Any, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _train_epoch(self: Any, net: MLP, X: Any, Y: Array, sw: Any, order: NDArray[Any],
               batch_size: int) -> None:
        """One epoch over the rows ``order``; sets ``loss_``, scikit-learn's mean over the
        mini-batches of their losses (each counted by its rows)."""
        adam = self.solver == "adam"
        eta = self.learning_rate_init if adam else self._optimizer.learning_rate
        options = dict(batch_size=batch_size, eta=eta, cost=self._cost(),
                       optimizer=self.solver, alpha=self.alpha, beta1=self.beta_1,
                       beta2=self.beta_2, epsilon=self.epsilon)
        if not adam:
            options.update(momentum=self.momentum, nesterov=self.nesterovs_momentum)
        data = penalty = 0.0
        try:
            for rows, chunk, y_chunk, w_chunk in _batched_chunks(X, Y, sw, order, batch_size):
                record = net.partial_fit(chunk, y_chunk, order=rows, sample_weight=w_chunk,
                                         **options)[0]
                data += record["cost"] * len(rows)
                penalty += record.get("l2_penalty", 0.0) * len(rows)
        except FloatingPointError:
            # Diverged (mlp restored the epoch's start): go on as scikit-learn does, with
            # non-finite parameters, so that early stopping keeps its best and fit
            # otherwise ends with scikit-learn's "non-finite parameter weights" error.
            net.params[...] = np.nan
            self.loss_ = np.nan
            return
        self.loss_ = (data / self._loss_divisor(Y) + penalty) / X.shape[0]
        if adam:
            t = net.optimizer_state["t"]
            self._optimizer.t = t
            self._optimizer.learning_rate = (self.learning_rate_init
                                             * np.sqrt(1 - self.beta_2**t)
                                             / (1 - self.beta_1**t))

    def _after_epoch(self: Any, n_samples: int, validation: Any, incremental: bool) -> bool:
        """scikit-learn's bookkeeping after an epoch; True to stop."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        X_val, y_val, sw_val = validation if validation is not None else (None,) * 3
        self._update_no_improvement_count(self.early_stopping, X_val, y_val, sw_val)
        self._optimizer.iteration_ends(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            what = ("Validation score did not improve more than tol=%f for %d consecutive "
                    "epochs." if self.early_stopping else
                    "Training loss did not improve more than tol=%f for %d consecutive "
                    "epochs.")
            if self._optimizer.trigger_stopping(what % (self.tol, self.n_iter_no_change),
                                                self.verbose):
                return True
            self._no_improvement_count = 0
        if incremental:
            return True
        if self.n_iter_ == self.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                          "optimization hasn't converged yet." % self.max_iter,
                          ConvergenceWarning)
        return False

    def _is_classifier(self: Any) -> bool:
        return isinstance(self, _sk.MLPClassifier)


def _float64(X: Any) -> Any:
    """A dense X as C-contiguous float64 (once per fit, not per epoch); sparse X as it is."""
    return X if scipy.sparse.issparse(X) else np.ascontiguousarray(X, dtype=np.float64)


def _sklearn_order(net: MLP) -> NDArray[np.intp]:
    """Indices into ``net.params`` in scikit-learn's packing: all weights, then biases."""
    index = np.arange(net.params.size)
    weights, biases = [], []
    start = 0
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]):
        weights.append(index[start : start + n_in * n_out])
        start += n_in * n_out
        biases.append(index[start : start + n_out])
        start += n_out
    return np.concatenate(weights + biases)


def _dense_chunks(X: Any, starts: bool = False) -> Any:
    """X itself when dense; a sparse X as dense blocks of consecutive rows."""
    if not scipy.sparse.issparse(X):
        yield (0, X) if starts else X
        return
    step = max(1, _DENSE_ELEMENTS // max(1, X.shape[1]))
    for lo in range(0, X.shape[0], step):
        block = X[lo : lo + step].toarray()
        yield (lo, block) if starts else block


def _batched_chunks(X: Any, Y: Array, sw: Any, order: NDArray[Any], batch_size: int) -> Any:
    """``(rows, X, Y, weights)`` for the epoch's calls: dense X once, with ``order``; a
    sparse X as dense blocks of whole mini-batches, their rows gathered in order."""
    if not scipy.sparse.issparse(X):
        yield order, X, Y, sw
        return
    per_block = max(1, _DENSE_ELEMENTS // max(1, X.shape[1] * batch_size))
    batches = list(gen_batches(len(order), batch_size))
    for k in range(0, len(batches), per_block):
        group = batches[k : k + per_block]
        idx = order[group[0].start : group[-1].stop]
        yield (np.arange(len(idx)), X[idx].toarray(), Y[idx],
               None if sw is None else sw[idx])


class MLPClassifier(_CoreMLP, _sk.MLPClassifier):  # type: ignore[misc]
    __doc__ = (
        "scikit-learn's ``MLPClassifier`` on mlp's compiled core: the same parameters, "
        "attributes and methods, the same model for the same ``random_state``, several "
        "times faster (see ``mlp.sklearn``).\n\n"
        "scikit-learn's documentation follows.\n\n" + (_sk.MLPClassifier.__doc__ or ""))


class MLPRegressor(_CoreMLP, _sk.MLPRegressor):  # type: ignore[misc]
    __doc__ = (
        "scikit-learn's ``MLPRegressor`` on mlp's compiled core: the same parameters, "
        "attributes and methods, the same model for the same ``random_state``, several "
        "times faster (see ``mlp.sklearn``).\n\n"
        "scikit-learn's documentation follows.\n\n" + (_sk.MLPRegressor.__doc__ or ""))
