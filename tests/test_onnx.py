"""ONNX export (mlp.onnx and ``mlp export``): onnxruntime runs the exported graph of every
hidden unit with every output, of networks without hidden layers and deep mixed ones, of the
scikit-learn estimators and of command-line models, and its outputs equal ``predict``'s to
1e-12 in float64 and 1e-5 in float32; the files pass onnx's checker, are written atomically,
and every misuse raises an exception naming the problem. onnx stays optional."""

import doctest
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import mlp
from mlp import cli
from mlp.activations import HIDDEN, OUTPUTS
from mlp.scaling import apply_scaling, fit_scaling

ROOT = Path(__file__).resolve().parent.parent
#: The tolerance, relative and absolute, of onnxruntime's outputs against predict's.
TOL = {"float64": 1e-12, "float32": 1e-5}
each_dtype = pytest.mark.parametrize("dtype", list(TOL))
#: Each activation's node, None for identity (no node).
OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": None,
       "softmax": "Softmax", "exp": "Exp"}


@pytest.fixture(scope="module")
def mo():
    pytest.importorskip("onnx")
    import mlp.onnx

    return mlp.onnx


@pytest.fixture(scope="module")
def ort():
    return pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def onnx(mo):
    import onnx

    return onnx


def inputs(n_features, n=64, seed=0):
    """Rows in [-3, 3], and a few in [-8, 8] that saturate sigmoid and tanh, make ReLU
    units of both signs and spread softmax's inputs."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (n, n_features))
    X[:8] *= 8 / 3
    return X


def run(ort, model, X, dtype):
    """onnxruntime's ``Y`` for ``X`` (in ``dtype``) of a ModelProto or a file."""
    source = model if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    session = ort.InferenceSession(str(source) if isinstance(source, os.PathLike) else source,
                                   providers=["CPUExecutionProvider"])
    (Y,) = session.run(["Y"], {"X": np.ascontiguousarray(X, dtype=dtype)})
    return Y


def assert_equal_to(Y, expected, dtype):
    """Y equals expected to TOL[dtype], relative to the outputs' scale: in float32 an output
    near 0 that is a sum of terms of ~30 is only as exact as those terms (seen: 3e-5 off
    at -0.796 among outputs up to 31)."""
    assert Y.dtype == np.dtype(dtype)
    assert Y.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(Y, expected, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def op_types(model):
    return [node.op_type for node in model.graph.node]


def layer_ops(units):
    """The nodes of layers with these units, in order."""
    return [op for unit in units for op in ("MatMul", "Add", OPS[unit]) if op]


# --- MLP: every unit, every shape ----------------------------------------------------------

def test_every_unit_has_an_operator(mo):
    # a unit added to mlp without an ONNX operator fails here
    assert set(mo.OPERATORS) == set(HIDDEN) | set(OUTPUTS)


@each_dtype
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_every_hidden_unit_with_every_output(mo, ort, tmp_path, hidden, output, dtype):
    net = mlp.MLP([5, 7, 4], activation=hidden, output=output, seed=1)
    model = mo.export(net, tmp_path / "net.onnx", dtype=dtype)
    assert op_types(model) == layer_ops([hidden, output])
    X = inputs(5)
    assert_equal_to(run(ort, tmp_path / "net.onnx", X, dtype), net.predict(X), dtype)


@each_dtype
@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_network_without_hidden_layers(mo, ort, tmp_path, output, dtype):
    net = mlp.MLP([5, 3], output=output, seed=2)
    model = mo.export(net, tmp_path / "net.onnx", dtype=dtype)
    assert op_types(model) == layer_ops([output])
    X = inputs(5)
    assert_equal_to(run(ort, model, X, dtype), net.predict(X), dtype)


@each_dtype
def test_deep_network_with_mixed_units(mo, ort, tmp_path, dtype):
    hidden = ["relu", "tanh", "sigmoid", "identity", "relu"]
    net = mlp.MLP([6, 9, 8, 7, 6, 5, 4], activation=hidden, output="softmax", seed=3)
    model = mo.export(net, tmp_path / "deep.onnx", dtype=dtype)
    assert op_types(model) == layer_ops([*hidden, "softmax"])
    X = inputs(6, n=300)
    assert_equal_to(run(ort, model, X, dtype), net.predict(X), dtype)


def test_one_output_keeps_its_column(mo, ort, tmp_path):
    net = mlp.MLP([3, 4, 1], seed=4)
    model = mo.export(net, tmp_path / "one.onnx")
    X = inputs(3)
    Y = run(ort, model, X, "float64")
    assert Y.shape == (64, 1)
    assert_equal_to(Y, net.predict(X), "float64")


def test_parameters_are_stored_in_the_dtype(mo, tmp_path):
    from onnx import numpy_helper

    net = mlp.MLP([3, 4, 2], seed=5)
    for dtype in TOL:
        model = mo.export(net, tmp_path / f"{dtype}.onnx", dtype=dtype)
        stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        assert sorted(stored) == ["W1", "W2", "b1", "b2"]
        for layer, (w, b) in enumerate(zip(net.weights, net.biases), 1):
            assert stored[f"W{layer}"].dtype == np.dtype(dtype)
            np.testing.assert_array_equal(stored[f"W{layer}"], w.astype(dtype))
            np.testing.assert_array_equal(stored[f"b{layer}"], b.astype(dtype))


def test_numpy_dtypes_name_the_dtype(mo, tmp_path):
    net = mlp.MLP([3, 2], seed=0)
    for given, element in ((np.float32, 1), (np.dtype("float64"), 11), ("f4", 1)):
        model = mo.export(net, tmp_path / "net.onnx", dtype=given)
        assert model.graph.input[0].type.tensor_type.elem_type == element


def test_batch_dimension_is_dynamic(mo, ort, tmp_path):
    net = mlp.MLP([4, 6, 3], activation="tanh", output="softmax", seed=6)
    model = mo.export(net, tmp_path / "net.onnx")
    (dims,) = [i.type.tensor_type.shape.dim for i in model.graph.input]
    assert dims[0].dim_param == "N" and dims[1].dim_value == 4
    dims = model.graph.output[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 3
    for n in (1, 2, 1000):
        X = inputs(4, n=n, seed=n)
        assert_equal_to(run(ort, model, X, "float64"), net.predict(X), "float64")


# --- scaling -----------------------------------------------------------------------------

@each_dtype
@pytest.mark.parametrize("method", ["minmax", "standard"])
def test_scaling_is_applied_inside_the_graph(mo, ort, tmp_path, method, dtype):
    rng = np.random.default_rng(7)
    raw = rng.normal(50, [1, 10, 0.5, 4], (200, 4))  # far from the network's range
    scaling = fit_scaling(raw, method)
    net = mlp.MLP([4, 6, 3], activation="relu", output="softmax", seed=7)
    model = mo.export(net, tmp_path / "scaled.onnx", dtype=dtype, scaling=scaling)
    assert op_types(model)[:2] == ["Sub", "Div"]
    expected = net.predict(apply_scaling(raw, scaling))
    assert_equal_to(run(ort, model, raw, dtype), expected, dtype)
    # without the scaling, the same network gives other outputs for raw inputs
    assert not np.allclose(run(ort, mo.export(net, tmp_path / "raw.onnx", dtype=dtype), raw,
                               dtype), expected, atol=1e-3)


# --- the file ----------------------------------------------------------------------------

def test_the_file_reloads_and_passes_the_checker(mo, onnx, tmp_path):
    net = mlp.MLP([4, 5, 3], activation=["tanh"], output="softmax", seed=8)
    path = tmp_path / "net.onnx"
    model = mo.export(net, str(path), scaling=fit_scaling(inputs(4), "standard"))
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    onnx.checker.check_model(str(path), full_check=True)
    assert loaded.SerializeToString() == model.SerializeToString()
    assert loaded.ir_version == mo.IR_VERSION == 8
    assert [(o.domain, o.version) for o in loaded.opset_import] == [("", mo.OPSET)]
    assert mo.OPSET == 17
    assert loaded.producer_name == "mlp" and loaded.producer_version == mlp.__version__
    assert [i.name for i in loaded.graph.input] == ["X"]
    assert [o.name for o in loaded.graph.output] == ["Y"]
    assert loaded.graph.doc_string == (
        "MLP(sizes=(4, 5, 3), activation='tanh', output='softmax').predict in float64, of "
        "inputs scaled by standard")


def test_writing_replaces_the_file_and_leaves_no_temporary(mo, onnx, tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"old")
    model = mo.export(mlp.MLP([2, 3, 1], seed=0), path)
    assert path.read_bytes() == model.SerializeToString()
    assert os.listdir(tmp_path) == ["net.onnx"]


def test_a_failed_write_keeps_the_old_file(mo, tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError("not now")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="not now"):
        mo.export(mlp.MLP([2, 3, 1], seed=0), path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["net.onnx"]


def test_bad_paths(mo, tmp_path):
    net = mlp.MLP([2, 1], seed=0)
    with pytest.raises(IsADirectoryError, match="cannot write the ONNX model: the path is a "
                                                "folder"):
        mo.export(net, tmp_path)
    with pytest.raises(FileNotFoundError, match="cannot write the ONNX model: the folder "
                                                ".*absent.* does not exist"):
        mo.export(net, tmp_path / "absent" / "net.onnx")
    assert os.listdir(tmp_path) == []


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "int64", "double precision", None, 32])
def test_bad_dtype(mo, tmp_path, dtype):
    with pytest.raises(ValueError) as info:
        mo.export(mlp.MLP([2, 1], seed=0), tmp_path / "net.onnx", dtype=dtype)
    assert str(info.value) == f"dtype must be 'float64' or 'float32', got {dtype!r}"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("model, name", [
    (object(), "builtins.object"),
    ([np.ones((2, 1))], "builtins.list"),
    (mlp.History, "builtins.type"),
])
def test_unknown_model_type(mo, tmp_path, model, name):
    with pytest.raises(TypeError) as info:
        mo.export(model, tmp_path / "net.onnx")
    assert str(info.value) == ("model must be an mlp.MLP or a fitted "
                               f"mlp.sklearn.MLPClassifier or MLPRegressor, got {name}")


def test_other_scikit_learn_estimators_are_unknown(mo, tmp_path):
    linear_model = pytest.importorskip("sklearn.linear_model")
    model = linear_model.LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="got sklearn.linear_model._logistic."
                                        "LogisticRegression$"):
        mo.export(model, tmp_path / "net.onnx")


@pytest.mark.parametrize("scaling, error, message", [
    ({"method": "minmax", "offset": [0.0] * 4, "scale": [1.0] * 3}, ValueError,
     "scaling['offset'] must hold 3 numbers (one per input), got shape (4,)"),
    ({"method": "minmax", "offset": [0.0] * 3, "scale": [1.0] * 2}, ValueError,
     "scaling['scale'] must hold 3 numbers (one per input), got shape (2,)"),
    ({"method": "minmax", "offset": [0.0] * 3, "scale": [1.0, 0.0, 1.0]}, ValueError,
     "scaling['scale'][1] is 0: inputs cannot be divided by it"),
    ({"method": "standard", "offset": [0.0, np.nan, 0.0], "scale": [1.0] * 3}, ValueError,
     "scaling['offset'][1] is nan: it must be finite"),
    ({"offset": [0.0] * 3, "scale": [1.0] * 3}, ValueError,
     "scaling must have exactly the keys 'method', 'offset' and 'scale'; missing method"),
    ([[0.0] * 3, [1.0] * 3], TypeError,
     "scaling must be a dict {'method', 'offset', 'scale'}, got list"),
])
def test_bad_scaling(mo, tmp_path, scaling, error, message):
    with pytest.raises(error) as info:
        mo.export(mlp.MLP([3, 2], seed=0), tmp_path / "net.onnx", scaling=scaling)
    assert type(info.value) is error and str(info.value) == message
    assert os.listdir(tmp_path) == []


# --- scikit-learn estimators -------------------------------------------------------------

@pytest.fixture(scope="module")
def msk():
    pytest.importorskip("sklearn")
    import mlp.sklearn

    return mlp.sklearn


def fitted(estimator, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def targets(case, X):
    """The targets of each kind of problem, from the first features of X."""
    signal = X[:, 0] + 0.5 * X[:, 1]
    if case == "binary":
        return np.where(signal > 0, "yes", "no")
    if case == "multiclass":
        return np.digitize(signal, [-1.0, 0.0, 1.0])
    if case == "multilabel":
        return np.column_stack([signal > 0, X[:, 2] > 0, X[:, 3] > 1]).astype(int)
    if case == "one_output":
        return signal
    if case == "outputs":
        return np.column_stack([signal, X[:, 2] * X[:, 3], np.sin(X[:, 1])])
    return np.exp(0.3 * signal)  # poisson


#: (case, estimator class name, keywords, the output unit, the nodes after the output
#: layer's, the graph's output shape for 64 rows)
CASES = [
    ("binary", "MLPClassifier", {}, "sigmoid", ["Sub", "Concat"], (64, 2)),
    ("multiclass", "MLPClassifier", {}, "softmax", [], (64, 4)),
    ("multilabel", "MLPClassifier", {}, "sigmoid", [], (64, 3)),
    ("one_output", "MLPRegressor", {}, "identity", ["Squeeze"], (64,)),
    ("outputs", "MLPRegressor", {}, "identity", [], (64, 3)),
    ("poisson", "MLPRegressor", {"loss": "poisson"}, "exp", ["Squeeze"], (64,)),
]


@each_dtype
@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
@pytest.mark.parametrize("case, name, keywords, output, head, shape", CASES,
                         ids=[c[0] for c in CASES])
def test_estimators_export_predict_proba_and_predict(mo, msk, ort, tmp_path, case, name,
                                                     keywords, output, head, shape,
                                                     activation, dtype):
    X = inputs(4, n=64)
    estimator = fitted(getattr(msk, name)(hidden_layer_sizes=(6, 5), activation=activation,
                                          solver="lbfgs", max_iter=40, random_state=0,
                                          **keywords), X, targets(case, X))
    model = mo.export(estimator, tmp_path / "estimator.onnx", dtype=dtype)
    expected = (estimator.predict_proba(X) if name == "MLPClassifier"
                else estimator.predict(X))
    assert expected.shape == shape
    assert estimator.out_activation_ == {"sigmoid": "logistic"}.get(output, output)
    hidden = "sigmoid" if activation == "logistic" else activation
    assert op_types(model) == layer_ops([hidden, hidden, output]) + head
    assert_equal_to(run(ort, model, X, dtype), expected, dtype)


def test_binary_probabilities_are_one_minus_p_and_p(mo, msk, ort, tmp_path):
    X = inputs(4)
    clf = fitted(msk.MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30,
                                   random_state=0), X, targets("binary", X))
    model = mo.export(clf, tmp_path / "binary.onnx")
    assert op_types(model)[-3:] == ["Sigmoid", "Sub", "Concat"]
    Y = run(ort, model, X, "float64")
    np.testing.assert_array_equal(Y[:, 0], 1.0 - Y[:, 1])
    assert list(clf.classes_) == ["no", "yes"]  # column 1 is the probability of "yes"
    assert model.graph.doc_string == "MLPClassifier.predict_proba in float64"


def test_regressor_with_one_output_gives_a_vector(mo, msk, ort, tmp_path):
    X = inputs(4)
    reg = fitted(msk.MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30,
                                  random_state=0), X, targets("one_output", X))
    model = mo.export(reg, tmp_path / "reg.onnx")
    assert op_types(model)[-1] == "Squeeze"
    assert [d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim] == ["N"]
    assert run(ort, model, X[:1], "float64").shape == (1,)


@each_dtype
def test_estimator_with_scaling_and_float32_coefficients(mo, msk, ort, tmp_path, dtype):
    rng = np.random.default_rng(9)
    raw = rng.normal(20, 5, (64, 4))
    scaling = fit_scaling(raw, "standard")
    X = apply_scaling(raw, scaling)
    clf = fitted(msk.MLPClassifier(hidden_layer_sizes=(6,), activation="tanh",
                                   solver="adam", max_iter=20, random_state=0),
                 X.astype(np.float32), targets("multiclass", X))
    assert clf.coefs_[0].dtype == np.float32
    model = mo.export(clf, tmp_path / "clf.onnx", dtype=dtype, scaling=scaling)
    expected = clf.predict_proba(X.astype(dtype))
    assert_equal_to(run(ort, model, raw, dtype), expected, dtype)


def test_scikit_learns_own_estimators_export_too(mo, ort, tmp_path):
    neural_network = pytest.importorskip("sklearn.neural_network")
    X = inputs(4)
    clf = fitted(neural_network.MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs",
                                              max_iter=30, random_state=0),
                 X, targets("multiclass", X))
    model = mo.export(clf, tmp_path / "theirs.onnx")
    assert_equal_to(run(ort, model, X, "float64"), clf.predict_proba(X), "float64")


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_unfitted_estimators(mo, msk, tmp_path, name):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError) as info:
        mo.export(getattr(msk, name)(), tmp_path / "net.onnx")
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"This {name} instance is not fitted yet. Call 'fit'")
    assert os.listdir(tmp_path) == []


def test_estimator_with_a_unit_mlp_does_not_have(mo, msk, tmp_path):
    X = inputs(4)
    clf = fitted(msk.MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5,
                                   random_state=0), X, targets("binary", X))
    clf.activation = "softplus"  # as a later scikit-learn might have
    with pytest.raises(ValueError) as info:
        mo.export(clf, tmp_path / "net.onnx")
    assert str(info.value) == ("cannot export the estimator: its activation 'softplus' is "
                               "not one of mlp's units (sigmoid, tanh, relu, identity)")


# --- the command line --------------------------------------------------------------------

@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """Three classes in 4 unscaled features, as a CSV with a header, and the arrays."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 10, 10], [10, 0, 0, 10], [0, 10, 10, 0]], dtype=float)
    y = rng.integers(0, 3, 200)
    X = centers[y] + rng.normal(0, 1.5, (200, 4)) + 50
    body = "\n".join(",".join(f"{v:.4f}" for v in row) + f",{k}" for row, k in zip(X, y))
    (folder / "blobs.csv").write_text("f1,f2,f3,f4,label\n" + body + "\n")
    X = np.loadtxt(folder / "blobs.csv", delimiter=",", skiprows=1)[:, :4]
    return folder, X


@pytest.mark.parametrize("scale, train_args", [
    ("standard", []),
    ("minmax", ["--sizes", "4,6,5,3", "--activation", "relu,tanh", "--output", "softmax",
                "--optimizer", "adam", "--eta", "0.05"]),
    ("none", ["--output", "identity", "--cost", "quadratic", "--eta", "0.01"]),
])
def test_command_line_export_applies_the_stored_scaling(mo, ort, tmp_path, blobs, capsys,
                                                        scale, train_args):
    folder, X = blobs
    model = tmp_path / "m.npz"
    assert cli.main(["train", str(folder / "blobs.csv"), "--epochs", "3", "--scale", scale,
                     "--quiet", "--out", str(model), *train_args]) == 0
    net, header = mlp.load(model), mlp.io.read_header(model)
    expected = net.predict(apply_scaling(X, header["scaling"]))
    assert np.ptp(expected, axis=0).min() > 0.1  # a network that tells the rows apart
    capsys.readouterr()
    for dtype in TOL:
        out = tmp_path / f"m-{dtype}.onnx"
        assert cli.main(["export", str(model), str(out), "--dtype", dtype]) == 0
        printed = capsys.readouterr().out
        inside = ("no input scaling" if scale == "none"
                  else f"the model's {scale} input scaling is in the graph")
        assert printed == (f"wrote {out}: {net} in {dtype} (ONNX opset 17), input 'X' of "
                           f"shape (N, 4), output 'Y' of shape (N, {net.sizes[-1]}); "
                           f"{inside}\n")
        ops = [node.op_type for node in mo.onnx.load(str(out)).graph.node]
        assert (ops[:2] == ["Sub", "Div"]) == (scale != "none")
        assert_equal_to(run(ort, out, X, dtype), expected, dtype)  # raw inputs


def test_command_line_default_dtype_is_float64(mo, tmp_path, blobs, capsys):
    folder, _ = blobs
    model, out = tmp_path / "m.npz", tmp_path / "m.onnx"
    assert cli.main(["train", str(folder / "blobs.csv"), "--epochs", "1", "--quiet",
                     "--out", str(model)]) == 0
    assert cli.main(["export", str(model), str(out)]) == 0
    assert mo.onnx.load(str(out)).graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE


def command(*args, code=None):
    return subprocess.run([sys.executable, "-c", code or "import sys, mlp.cli; "
                           "sys.exit(mlp.cli.main(sys.argv[1:]))", *args],
                          capture_output=True, text=True, timeout=300)


def one_clear_line(result, status=2):
    assert result.returncode == status, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlp: "), result.stderr
    return lines[0]


def test_command_line_errors_give_one_line(mo, tmp_path, blobs):
    folder, _ = blobs
    model = tmp_path / "m.npz"
    assert cli.main(["train", str(folder / "blobs.csv"), "--epochs", "1", "--quiet",
                     "--out", str(model)]) == 0
    assert one_clear_line(command("export", str(tmp_path / "absent.npz"), "x.onnx")) == (
        f"mlp: error: [Errno 2] no such model file: '{tmp_path / 'absent.npz'}'")
    assert "argument --dtype: invalid choice: 'float16'" in one_clear_line(
        command("export", str(model), str(tmp_path / "m.onnx"), "--dtype", "float16"))
    assert "the following arguments are required: OUT.onnx" in one_clear_line(
        command("export", str(model)))
    assert "cannot write the ONNX model: the path is a folder" in one_clear_line(
        command("export", str(model), str(tmp_path)))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


BLOCKED = "import sys\nsys.modules['onnx'] = None  # as if onnx were not installed\n"


def test_command_line_without_onnx_says_what_to_install(tmp_path, blobs):
    folder, _ = blobs
    model = tmp_path / "m.npz"
    assert cli.main(["train", str(folder / "blobs.csv"), "--epochs", "1", "--quiet",
                     "--out", str(model)]) == 0
    code = BLOCKED + "import mlp.cli\nsys.exit(mlp.cli.main(sys.argv[1:]))"
    line = one_clear_line(command("export", str(model), str(tmp_path / "m.onnx"), code=code))
    assert line == ('mlp: error: mlp.onnx needs onnx >= 1.15: install it with pip install '
                    '"mlp-backprop[onnx]" (or pip install onnx)')
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


# --- onnx stays optional -----------------------------------------------------------------

def test_import_mlp_does_not_import_onnx():
    code = ("import sys, mlp, mlp.cli, mlp.io\n"
            "print(sorted(m for m, module in sys.modules.items()\n"
            "             if m.split('.')[0] in ('onnx', 'onnxruntime') and module))")
    assert command(code=code).stdout.strip() == "[]"


def test_import_without_onnx_says_how_to_install():
    code = BLOCKED + textwrap.dedent("""
        import mlp
        try:
            import mlp.onnx
        except ImportError as exc:
            print(type(exc).__name__, exc.name, exc)
        else:
            raise SystemExit("mlp.onnx imported without onnx")
        """)
    result = command(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ('ImportError onnx mlp.onnx needs onnx >= 1.15: install '
                                     'it with pip install "mlp-backprop[onnx]" (or pip '
                                     'install onnx)')


# --- the documented examples -------------------------------------------------------------

def test_docstring_examples(mo, ort):
    result = doctest.testmod(mo, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_the_pages_python_examples_run(mo, ort, msk, tmp_path, monkeypatch):
    page = (ROOT / "docs" / "onnx.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", page, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for block in blocks:
            exec(compile(block, "docs/onnx.md", "exec"), namespace)
    assert (tmp_path / "net.onnx").is_file()
