"""ONNX export: a trained network as an ONNX model, for onnxruntime and every other runtime
that reads ONNX.

``export(model, path)`` writes the forward pass of an ``mlp.MLP``, or of a fitted
``mlp.sklearn.MLPClassifier`` or ``MLPRegressor`` (scikit-learn's own two estimators too),
as one ONNX graph: per layer ``MatMul`` by ``W_l``, ``Add`` of ``b_l`` and the layer's
activation (``Sigmoid``, ``Tanh``, ``Relu``, nothing for identity, ``Softmax`` over the
last axis, ``Exp``), optionally preceded by the input scaling ``(X - offset) / scale``.
The graph's input is ``"X"``, of shape ``(N, sizes[0])`` with a dynamic batch dimension
``N``; its output is ``"Y"``:

- an ``MLP``: ``predict(X)``, shape ``(N, sizes[-1])``;
- a classifier: ``predict_proba(X)``, shape ``(N, n_classes)``; for two classes
  ``[1 - p, p]`` from the one logistic output, as scikit-learn computes it; for multilabel
  targets, one probability per label;
- a regressor: ``predict(X)``, shape ``(N, n_outputs)``, or ``(N,)`` for one output, as
  ``predict`` returns it.

The models use the default ONNX domain at opset ``OPSET`` (17) and IR version
``IR_VERSION`` (8), which onnxruntime 1.13 and later load.

onnx (>= 1.15) is an optional dependency of mlp: ``import mlp`` never imports it, and
importing this module without it raises ``ImportError`` saying how to install it
(``pip install "mlp-backprop[onnx]"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

_INSTALL_HINT = (
    "mlp.onnx needs onnx >= 1.15: install it with "
    'pip install "mlp-backprop[onnx]" (or pip install onnx)'
)

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as exc:  # not installed
    raise ImportError(_INSTALL_HINT, name="onnx") from exc

from mlp import io as model_io
from mlp._atomic import write_atomically
from mlp._version import __version__
from mlp.activations import HIDDEN, OUTPUTS
from mlp.network import MLP

__all__ = ["INPUT", "IR_VERSION", "OPSET", "OUTPUT", "export"]

#: The ONNX operator set the models use (the default domain).
OPSET = 17
#: The ONNX IR version of opset 17, which onnxruntime 1.13 and later load.
IR_VERSION = 8
#: The names of the graph's input and output.
INPUT, OUTPUT = "X", "Y"
#: The dtypes ``export`` writes: numpy's, and ONNX's element type.
DTYPES = {"float64": (np.float64, onnx.TensorProto.DOUBLE),
          "float32": (np.float32, onnx.TensorProto.FLOAT)}
#: Each unit's ONNX operator and its attributes; None for identity (no node).
OPERATORS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}),
    "identity": None, "softmax": ("Softmax", {"axis": -1}), "exp": ("Exp", {}),
}
#: scikit-learn's unit names that are not mlp's.
_SKLEARN_UNITS = {"logistic": "sigmoid"}


class _Network(NamedTuple):
    """What the graph computes: the layers' parameters and units, and what follows the
    output layer (``"none"``; ``"binary"``: ``[1 - p, p]``; ``"ravel"``: one column as 1-D)."""

    weights: Sequence[NDArray[Any]]
    biases: Sequence[NDArray[Any]]
    hidden: tuple[str, ...]
    output: str
    head: str
    source: str


class _Graph:
    """The nodes and initializers of a graph being built, in one dtype."""

    def __init__(self, dtype: str) -> None:
        self.dtype = DTYPES[dtype][0]
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, name: str, values: Any, dtype: Any = None) -> str:
        """An initializer ``name`` holding ``values`` (in the graph's dtype by default)."""
        array = np.ascontiguousarray(values, dtype=dtype or self.dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, **attributes: Any) -> str:
        """A node ``op`` of ``inputs``, named as its one output ``output``."""
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output,
                                           **attributes))
        return output


def export(model: Any, path: str | os.PathLike[str], *, dtype: Any = "float64",
           scaling: dict[str, Any] | None = None) -> onnx.ModelProto:
    """Write ``model``'s forward pass to ``path`` as an ONNX model, and return it.

    Parameters
    ----------
    model : MLP, or a fitted MLPClassifier or MLPRegressor
        An ``mlp.MLP``, or an estimator of ``mlp.sklearn`` (or scikit-learn's own
        ``MLPClassifier`` or ``MLPRegressor``), fitted.
    path : str or os.PathLike
        The ``.onnx`` file to write. It is written atomically: under a temporary name in
        the same folder, then renamed over ``path``.
    dtype : {"float64", "float32"}, default "float64"
        The element type of the input, the parameters and the output (a numpy dtype
        naming one of them is accepted too). ``"float32"`` rounds the parameters and
        computes in single precision.
    scaling : dict or None, default None
        An input scaling ``{"method", "offset", "scale"}`` with one offset and scale per
        input, as ``mlp.scaling.fit_scaling`` returns it and model files store it
        (``mlp.io.read_header(path)["scaling"]``): the graph then computes the network of
        ``(X - offset) / scale``, so that it takes raw inputs.

    Returns
    -------
    onnx.ModelProto
        The model written, checked by ``onnx.checker.check_model``. Its input ``"X"`` has
        shape ``(N, n_features)``; its output ``"Y"`` is ``predict(X)`` for an ``MLP``
        (shape ``(N, n_outputs)``), ``predict_proba(X)`` for a classifier (shape
        ``(N, n_classes)``, two columns for a binary one) and ``predict(X)`` for a
        regressor (shape ``(N, n_outputs)``, or ``(N,)`` for one output).

    Raises
    ------
    TypeError
        If ``model`` is none of the types above, or ``scaling`` is not a dict.
    ValueError
        If ``dtype`` is not float64 or float32, ``scaling`` is malformed or has not one
        entry per input, or the model has a unit ONNX export does not know.
        ``sklearn.exceptions.NotFittedError`` (a ``ValueError``) if an estimator is not
        fitted.
    OSError
        If ``path`` cannot be written (a folder, or in a folder that does not exist).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, mlp, mlp.onnx
    >>> net = mlp.MLP([4, 8, 3], activation="relu", output="softmax", seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model = mlp.onnx.export(net, os.path.join(folder, "net.onnx"))
    >>> [node.op_type for node in model.graph.node]
    ['MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Softmax']
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(model.SerializeToString(),
    ...                                        providers=["CPUExecutionProvider"])
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> Y, = session.run(["Y"], {"X": X})
    >>> Y.shape, bool(np.allclose(Y, net.predict(X), rtol=1e-12, atol=1e-12))
    ((5, 3), True)
    """
    network = _network(model)
    name = _check_dtype(dtype)
    n_inputs = network.weights[0].shape[0]
    if scaling is not None:
        scaling = model_io._check_scaling(scaling, n_inputs)
    proto = _model(network, name, scaling)
    onnx.checker.check_model(proto, full_check=True)
    _write_atomically(os.fspath(path), proto.SerializeToString())
    return proto


# --- what to export ----------------------------------------------------------------------

def _network(model: Any) -> _Network:
    """The layers, units and head of an ``MLP`` or a fitted estimator."""
    if isinstance(model, MLP):
        return _Network(model.weights, model.biases, model.activation, model.output,
                        "none", f"{model!r}.predict")
    kind = _estimator_kind(model)
    if kind is None:
        raise TypeError(
            "model must be an mlp.MLP or a fitted mlp.sklearn.MLPClassifier or "
            f"MLPRegressor, got {type(model).__module__}.{type(model).__qualname__}")
    return _estimator_network(model, kind)


def _estimator_kind(model: Any) -> str | None:
    """``"classifier"`` or ``"regressor"`` for scikit-learn's MLP estimators (mlp.sklearn's
    subclass them), else None. scikit-learn is not imported: an estimator's class has
    imported it already."""
    module = sys.modules.get("sklearn.neural_network")
    if module is None:
        return None
    if isinstance(model, module.MLPClassifier):
        return "classifier"
    if isinstance(model, module.MLPRegressor):
        return "regressor"
    return None


def _estimator_network(model: Any, kind: str) -> _Network:
    """A fitted estimator's network, with the head that makes its output
    ``predict_proba``'s (classifiers) or ``predict``'s (regressors)."""
    from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]

    check_is_fitted(model)
    hidden = _unit(model.activation, HIDDEN, "activation")
    output = _unit(model.out_activation_, OUTPUTS, "out_activation_")
    one_column = model.coefs_[-1].shape[1] == 1
    head = "none" if not one_column else "binary" if kind == "classifier" else "ravel"
    method = "predict_proba" if kind == "classifier" else "predict"
    return _Network(model.coefs_, model.intercepts_, (hidden,) * (len(model.coefs_) - 1),
                    output, head, f"{type(model).__name__}.{method}")


def _unit(name: Any, known: dict[str, Any], attribute: str) -> str:
    """scikit-learn's unit ``name`` in mlp's names, if mlp has it."""
    unit = _SKLEARN_UNITS.get(name, name)
    if unit not in known:
        raise ValueError(f"cannot export the estimator: its {attribute} {name!r} is not "
                         f"one of mlp's units ({', '.join(known)})")
    return str(unit)


def _check_dtype(dtype: Any) -> str:
    """``"float64"`` or ``"float32"``, from either name or numpy dtype."""
    try:
        name = "" if dtype is None else str(np.dtype(dtype).name)
    except TypeError:
        name = ""
    if name not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return name


# --- the graph ---------------------------------------------------------------------------

def _model(network: _Network, dtype: str, scaling: dict[str, Any] | None) -> onnx.ModelProto:
    """The ONNX model of ``network`` in ``dtype``, behind ``scaling`` if any."""
    graph = _Graph(dtype)
    value = INPUT
    if scaling is not None:
        value = graph.node("Sub", [value, graph.constant("offset", scaling["offset"])],
                           "X_centred")
        value = graph.node("Div", [value, graph.constant("scale", scaling["scale"])],
                           "X_scaled")
    units = [*network.hidden, network.output]
    for layer, (w, b, unit) in enumerate(zip(network.weights, network.biases, units), 1):
        value = _layer(graph, value, layer, w, b, unit)
    _head(graph, value, network.head)
    graph.nodes[-1].output[0] = OUTPUT
    n_in, n_out = network.weights[0].shape[0], network.weights[-1].shape[1]
    shape = {"none": ["N", n_out], "binary": ["N", 2], "ravel": ["N"]}[network.head]
    element = DTYPES[dtype][1]
    proto = helper.make_model(
        helper.make_graph(
            graph.nodes, "mlp", [helper.make_tensor_value_info(INPUT, element, ["N", n_in])],
            [helper.make_tensor_value_info(OUTPUT, element, shape)],
            initializer=graph.initializers,
            doc_string=f"{network.source} in {dtype}"
                       + (f", of inputs scaled by {scaling['method']}" if scaling else "")),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mlp",
        producer_version=__version__)
    proto.ir_version = IR_VERSION
    return proto


def _layer(graph: _Graph, value: str, layer: int, w: NDArray[Any], b: NDArray[Any],
           unit: str) -> str:
    """``unit(value @ W + b)``, for the layer numbered ``layer`` (from 1)."""
    product = graph.node("MatMul", [value, graph.constant(f"W{layer}", w)], f"z{layer}_matmul")
    value = graph.node("Add", [product, graph.constant(f"b{layer}", b)], f"z{layer}")
    if unit not in OPERATORS:
        raise ValueError(f"cannot export the unit {unit!r} of layer {layer}: ONNX export "
                         f"knows {', '.join(OPERATORS)}")
    operator = OPERATORS[unit]
    if operator is None:  # identity
        return value
    op, attributes = operator
    return graph.node(op, [value], f"a{layer}", **attributes)


def _head(graph: _Graph, value: str, head: str) -> str:
    """What follows the output layer: ``[1 - p, p]`` for a binary classifier's one
    column ``p``, the one column as 1-D for a regressor's ``predict``."""
    if head == "binary":
        rest = graph.node("Sub", [graph.constant("one", 1.0), value], "one_minus_p")
        return graph.node("Concat", [rest, value], "proba", axis=1)
    if head == "ravel":
        return graph.node("Squeeze", [value, graph.constant("axis1", [1], np.int64)],
                          "ravel")
    return value


# --- the file ----------------------------------------------------------------------------

def _write_atomically(target: str, data: bytes) -> None:
    write_atomically(target, lambda f: f.write(data), "write the ONNX model")
