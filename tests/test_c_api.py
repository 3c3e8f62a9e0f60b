"""The C API for extensions not written in Cython (mlp/mlp.h): build examples/c_api (plain C)
and examples/cpp_api (C++, pybind11) against the installed mlp, import them, and check they
compute what the Python API does; import_mlp()'s refusals; the header against _core.pxd."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

import mlp
from _compilers import need_c_compiler
from mlp import _core

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = Path(mlp.__file__).parent
HEADER = INSTALLED / "mlp.h"


def with_path(*folders):
    """os.environ with folders first on PYTHONPATH, then the installed mlp's."""
    paths = [*map(str, folders), str(INSTALLED.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def build(example, tmp):
    """examples/<example> built as a wheel against the installed mlp, unpacked: its folder."""
    need_c_compiler()
    source = tmp / example
    shutil.copytree(ROOT / "examples" / example, source,
                    ignore=shutil.ignore_patterns("build", "*.so", "*.egg-info"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--wheel-dir", str(tmp / "dist"), str(source)],
        capture_output=True, text=True, cwd=tmp, env=with_path(), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp / "site"
    for wheel in (tmp / "dist").glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(site)
    return site


@pytest.fixture(scope="module")
def c_site(tmp_path_factory):
    assert HEADER.is_file(), "the installed mlp does not ship mlp/mlp.h"
    return build("c_api", tmp_path_factory.mktemp("c_api"))


@pytest.fixture(scope="module")
def cpp_site(tmp_path_factory):
    pytest.importorskip("pybind11")
    return build("cpp_api", tmp_path_factory.mktemp("cpp_api"))


def imported(site, name):
    sys.path.insert(0, str(site))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(site))


@pytest.fixture(scope="module")
def c_demo(c_site):
    return imported(c_site, "mlp_c_demo")


@pytest.fixture(scope="module")
def cpp_demo(cpp_site):
    return imported(cpp_site, "mlp_cpp_demo")


def data(n_in, n_out, rows=203, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (rows, n_in)), np.eye(n_out)[rng.integers(0, n_out, rows)]


# (hidden activations, output): every hidden activation and output, with the cost to train
NETWORKS = [
    ((), "sigmoid"),
    (("sigmoid",), "sigmoid"),
    (("tanh", "relu"), "softmax"),
    (("relu",), "identity"),
    (("identity", "tanh"), "exp"),
]


def network(hidden, output, seed=1):
    sizes = [9, *[7 + i for i in range(len(hidden))], 4]
    activation = list(hidden) if hidden else "sigmoid"
    return mlp.MLP(sizes, activation=activation, output=output, seed=seed)


def cost_of(net):
    return {"softmax": "cross_entropy", "exp": "poisson"}.get(net.output, "quadratic")


CODES = {"quadratic": _core.QUADRATIC, "cross_entropy": _core.CROSS_ENTROPY,
         "poisson": _core.POISSON}


# --- plain C ---------------------------------------------------------------------------

@pytest.mark.parametrize(("hidden", "output"), NETWORKS)
def test_c_predict_equals_predict(c_demo, hidden, output):
    net = network(hidden, output)
    X, _ = data(9, 4)
    out = np.full((len(X), 4), np.nan)
    assert c_demo.predict(net.params, net.sizes_array, net.activation_codes, X, out) is None
    np.testing.assert_allclose(out, net.predict(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("hidden", "output"), NETWORKS)
def test_c_gradient_equals_objective(c_demo, hidden, output):
    net = network(hidden, output)
    X, Y = data(9, 4)
    grad = np.full_like(net.params, np.nan)
    cost = cost_of(net)
    total = c_demo.gradient(net.params, net.sizes_array, net.activation_codes, X, Y,
                            CODES[cost], grad)
    data_term, _, expected = net.objective(X, Y, cost=cost)
    assert total / len(X) == pytest.approx(data_term, rel=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-12)
    assert np.abs(grad).max() > 1e-6  # a gradient that is all zeros would pass the above


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize(("hidden", "output"), NETWORKS[1:4])
def test_c_training_equals_partial_fit(c_demo, hidden, output, momentum):
    net = network(hidden, output)
    ours = net.copy()
    X, Y = data(9, 4)
    cost = cost_of(net)
    params = net.params.copy()
    velocity = np.zeros_like(params) if momentum else None
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(len(X)).astype(np.intp)
        total, correct = c_demo.train_epoch(params, net.sizes_array, net.activation_codes, X,
                                            Y, order, 10, 0.5, CODES[cost],
                                            momentum=momentum, velocity=velocity)
        ours.partial_fit(X, Y, batch_size=10, eta=0.5, cost=cost, momentum=momentum,
                         order=order)
        assert 0 <= correct <= len(X) and np.isfinite(total)
    np.testing.assert_allclose(params, ours.params, rtol=0, atol=1e-12)
    assert np.abs(params - net.params).max() > 1e-3  # it trained


def test_c_errors_are_value_errors(c_demo):
    net = network(("tanh",), "softmax")
    X, Y = data(9, 4, rows=12)
    out = np.empty((12, 4))
    args = (net.params, net.sizes_array, net.activation_codes)
    with pytest.raises(ValueError, match=r"x: 96 values are not rows of 9"):
        c_demo.predict(*args, X[:, :-1].copy(), out)
    with pytest.raises(ValueError, match=r"out: expected 48 items, got 44"):
        c_demo.predict(*args, X, out[:-1])
    with pytest.raises(ValueError, match=r"x: expected items of format 'd'"):
        c_demo.predict(*args, X.astype(np.float32), out)
    with pytest.raises(ValueError, match=r"params: expected 102 items"):
        c_demo.predict(net.params[:-1], net.sizes_array, net.activation_codes, X, out)
    with pytest.raises(ValueError, match=r"mlp_predict failed: MLP_ERR_ACTIVATION \(-5\)"):
        c_demo.predict(net.params, net.sizes_array, np.array([4, 4], np.intc), X, out)
    with pytest.raises(ValueError, match=r"mlp_gradient failed: MLP_ERR_ACTIVATION"):
        c_demo.gradient(*args, X, Y, _core.POISSON, np.empty_like(net.params))
    params = net.params.copy()
    bad = np.array([0, 12], np.intp)
    with pytest.raises(ValueError, match=r"mlp_train_epoch failed: MLP_ERR_ORDER \(-3\)"):
        c_demo.train_epoch(params, net.sizes_array, net.activation_codes, X, Y, bad, 10, 0.5,
                           _core.CROSS_ENTROPY)
    with pytest.raises(ValueError, match=r"mlp_train_epoch failed: MLP_ERR_OPTIONS \(-4\)"):
        c_demo.train_epoch(params, net.sizes_array, net.activation_codes, X, Y,
                           np.arange(12, dtype=np.intp), 10, -1.0, _core.CROSS_ENTROPY)
    np.testing.assert_array_equal(params, net.params)  # a refused call wrote nothing
    params.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only"):
        c_demo.train_epoch(params, net.sizes_array, net.activation_codes, X, Y, bad, 10, 0.5,
                           _core.CROSS_ENTROPY)


def test_c_constants_are_the_cores(c_demo):
    assert c_demo.C_API_VERSION == _core.C_API_VERSION
    assert (c_demo.QUADRATIC, c_demo.CROSS_ENTROPY, c_demo.POISSON) == (
        _core.QUADRATIC, _core.CROSS_ENTROPY, _core.POISSON)


# --- C++ (pybind11) --------------------------------------------------------------------

@pytest.mark.parametrize(("hidden", "output"), NETWORKS)
def test_cpp_predict_and_gradient(cpp_demo, hidden, output):
    net = network(hidden, output)
    X, Y = data(9, 4)
    np.testing.assert_allclose(cpp_demo.predict(net, X), net.predict(X), rtol=0, atol=1e-12)
    cost = cost_of(net)
    mean, grad = cpp_demo.gradient(net, X, Y, CODES[cost])
    data_term, _, expected = net.objective(X, Y, cost=cost)
    assert mean == pytest.approx(data_term, rel=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("hidden", "output"), NETWORKS[1:4])
def test_cpp_adam_equals_partial_fit(cpp_demo, hidden, output):
    net = network(hidden, output)
    ours = net.copy()
    X, Y = data(9, 4)
    cost = cost_of(net)
    order = np.random.default_rng(5).permutation(len(X)).astype(np.intp)
    before = net.params.copy()
    costs = cpp_demo.fit_adam(net, X, Y, order, 3, 16, 0.01, CODES[cost])
    for _ in range(3):
        history = ours.partial_fit(X, Y, batch_size=16, eta=0.01, cost=cost, optimizer="adam",
                                   order=order)
    np.testing.assert_allclose(net.params, ours.params, rtol=0, atol=1e-12)
    assert np.abs(net.params - before).max() > 1e-3
    assert costs[0] > costs[-1]
    assert costs[-1] == pytest.approx(history["cost"][-1], rel=1e-9)


def test_cpp_errors(cpp_demo):
    net = network(("relu",), "sigmoid")
    X, Y = data(9, 4, rows=5)
    with pytest.raises(ValueError, match="X: expected a matrix of 9 columns"):
        cpp_demo.predict(net, X[:, :3])
    with pytest.raises(ValueError, match="mlp_gradient failed with mlp_status -5"):
        cpp_demo.gradient(net, X, Y, _core.POISSON)


# --- import_mlp() ----------------------------------------------------------------------

FAKE_CORE = """
import ctypes, sys, types
version, layout_entry, name = {version}, {layout_entry}, {name!r}
from mlp import _core as real
new = ctypes.pythonapi.PyCapsule_New
new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
get = ctypes.pythonapi.PyCapsule_GetPointer
get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
table = ctypes.cast(get(real._C_API, b"mlp._core._C_API"), ctypes.POINTER(ctypes.c_void_p))
layout = ctypes.cast(table[1], ctypes.POINTER(ctypes.c_ssize_t))
fake_layout = (ctypes.c_ssize_t * 38)(*[layout[i] for i in range(38)])
if layout_entry >= 0:
    fake_layout[layout_entry + 1] += 8
fake = (ctypes.c_void_p * 12)(*[table[i] for i in range(12)])
fake[0], fake[1] = version, ctypes.addressof(fake_layout)
module = types.ModuleType("mlp._core")
module.name = ctypes.create_string_buffer(name.encode())  # must outlive the capsule
module._C_API = new(ctypes.addressof(fake), module.name, None) if name else 42
sys.modules["mlp._core"] = module
import mlp_c_demo
"""


@pytest.mark.parametrize(("version", "entry", "name", "message"), [
    (_core.C_API_VERSION - 1, -1, "mlp._core._C_API",
     rf"compiled against mlp's C API version {_core.C_API_VERSION}, but the installed mlp has "
     rf"version {_core.C_API_VERSION - 1}: rebuild the extension"),
    (_core.C_API_VERSION, 20, "mlp._core._C_API",
     r"mlp.h does not match the installed mlp's _core.pxd \(layout entry 20 of"),
    (_core.C_API_VERSION, -1, "another.capsule", r"PyCapsule_GetPointer called with incorrect"),
    (_core.C_API_VERSION, -1, "", r"PyCapsule_GetPointer called with invalid PyCapsule"),
])
def test_import_mlp_refuses(c_site, version, entry, name, message):
    code = FAKE_CORE.format(version=version, layout_entry=entry, name=name)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=with_path(c_site), timeout=120)
    assert result.returncode == 1
    assert re.search(message, result.stderr), result.stderr


def test_import_mlp_accepts_the_real_table(c_site):
    code = FAKE_CORE.format(version=_core.C_API_VERSION, layout_entry=-1,
                            name="mlp._core._C_API") + "\nprint('imported')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=with_path(c_site), timeout=120)
    assert result.stdout.strip() == "imported", result.stderr


def test_import_mlp_without_mlp(c_site, tmp_path):
    code = "import sys; sys.modules['mlp._core'] = None; import mlp_c_demo"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=with_path(c_site), timeout=120)
    assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr, result.stderr


# --- the header against _core.pxd ------------------------------------------------------

def test_header_declares_every_function_and_constant_of_the_pxd():
    pxd = (INSTALLED / "_core.pxd").read_text()
    header = HEADER.read_text()
    functions = re.findall(r"^cdef \w[\w ]*?\b(mlp_\w+)\(", pxd, re.M)
    assert len(functions) == 10
    for name in functions:
        assert re.search(rf"^#define {name} \(\*\(mlp_\w+_fn\)MLP_API\[MLP_SLOT_", header,
                         re.M), name
    constants = re.findall(r"^    (MLP_\w+) = (-?\d+)", pxd, re.M)
    assert len(constants) == 18
    layout = header[header.index("#define MLP_LAYOUT_ENTRIES"):]
    for name, value in constants:
        assert re.search(rf"\b{name} = {value}\b|#define {name} {value}\b", header), name
        if name != "MLP_C_API_VERSION":
            assert f"X({name})" in layout, name
    for struct in re.findall(r"^cdef struct (\w+):", pxd, re.M):
        fields = re.findall(r"^    \S[^#\n]*?\**(\w+)\s*(?:#|$)",
                            pxd.split(f"cdef struct {struct}:")[1].split("\n\n")[0], re.M)
        for field in fields:
            assert f"offsetof({struct}, {field})" in layout, (struct, field)


def compile_header(compiler, flags, sources, tmp_path, shared=False):
    cmd = [compiler, *flags, f"-I{sysconfig.get_paths()['include']}",
           f"-I{INSTALLED.parent}", *map(str, sources)]
    cmd += ["-shared", "-fPIC", "-o", str(tmp_path / "out.so")] if shared else ["-fsyntax-only"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, " ".join(cmd) + "\n" + result.stderr


STRICT = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]


@pytest.mark.parametrize(("compiler", "flags"), [
    ("cc", ["-std=c99", *STRICT]),
    ("cc", ["-std=c11", *STRICT, "-Wmissing-prototypes"]),
    ("c++", ["-std=c++11", *STRICT, "-x", "c++"]),
    ("c++", ["-std=c++20", *STRICT, "-x", "c++"]),
])
def test_header_compiles_cleanly(tmp_path, compiler, flags):
    if shutil.which(compiler) is None or shutil.which("nm") is None:
        pytest.skip(f"no {compiler}")
    source = tmp_path / "use.c"
    source.write_text('#include "mlp/mlp.h"\n'
                      "int use(void);\n"
                      "int use(void) { return import_mlp() < 0 ? -1 : (int)mlp_n_params(0, 0); }\n")
    compile_header(compiler, flags, [source], tmp_path)


def test_header_in_an_extension_of_several_files(tmp_path):
    """MLP_API_UNIQUE_SYMBOL and MLP_NO_IMPORT: one table shared by every file, defined once."""
    if shutil.which("cc") is None:
        pytest.skip("no cc")
    unique = "#define MLP_API_UNIQUE_SYMBOL my_ext_mlp_api\n"
    (tmp_path / "a.c").write_text(unique + '#include "mlp/mlp.h"\n'
                                  "int bind(void);\nint bind(void) { return import_mlp(); }\n")
    (tmp_path / "b.c").write_text(unique + "#define MLP_NO_IMPORT\n" + '#include "mlp/mlp.h"\n'
                                  "Py_ssize_t count(const Py_ssize_t *s);\n"
                                  "Py_ssize_t count(const Py_ssize_t *s) "
                                  "{ return mlp_n_params(s, 1); }\n")
    compile_header("cc", ["-std=c99", *STRICT], [tmp_path / "a.c", tmp_path / "b.c"],
                   tmp_path, shared=True)
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(tmp_path / "out.so")],
                             capture_output=True, text=True).stdout
    assert re.search(r"\bmy_ext_mlp_api\b", symbols), symbols


def test_the_docs_show_the_tested_files():
    """docs/c-api.md includes the examples this file builds and runs (MyST's
    literalinclude: the site shows the files themselves, whole and in excerpts), and
    copies none of them."""
    page = (ROOT / "docs" / "c-api.md").read_text()
    for name in ["c_api/mlp_c_demo.c", "c_api/setup.py", "cpp_api/mlp_cpp_demo.cpp"]:
        assert f"```{{literalinclude}} ../examples/{name}\n" in page, name
    assert not re.findall(r"```(c|cpp)\n", page)
