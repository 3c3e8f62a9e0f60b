"""The C-level API from a third-party extension: build examples/embed against the installed
mlp (its shipped .pxd files), import it, and check it computes what the Python API does."""

import os
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

import mlp
from _compilers import need_c_compiler

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "embed"


# The mlp this test imports: the example is built against it, and the subprocesses below
# import it, not whichever mlp the interpreter would find first.
INSTALLED = Path(mlp.__file__).parent


def with_path(*folders):
    """os.environ with folders first on PYTHONPATH, then the installed mlp's, for a
    subprocess."""
    paths = [*map(str, folders), str(INSTALLED.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


@pytest.fixture(scope="module")
def embed_site(tmp_path_factory):
    """A folder holding the example package, built as a wheel against the installed mlp."""
    assert (INSTALLED / "_core.pxd").is_file() and (INSTALLED / "__init__.pxd").is_file(), (
        "the installed mlp does not ship its .pxd files")
    need_c_compiler()
    tmp = tmp_path_factory.mktemp("embed")
    source = tmp / "embed"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.so", "*.c"))
    env = with_path()
    found = subprocess.run([sys.executable, "-c", "import mlp; print(mlp.get_include())"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert found.stdout.strip() == mlp.get_include(), found.stdout + found.stderr
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--wheel-dir", str(tmp / "dist"), str(source)],
        capture_output=True, text=True, cwd=tmp, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp / "site"
    (wheel,) = (tmp / "dist").glob("*.whl")
    zipfile.ZipFile(wheel).extractall(site)
    return site


@pytest.fixture(scope="module")
def mlp_embed(embed_site):
    sys.path.insert(0, str(embed_site))
    try:
        import mlp_embed

        yield mlp_embed
    finally:
        sys.path.remove(str(embed_site))
        for name in [m for m in sys.modules if m.startswith("mlp_embed")]:
            del sys.modules[name]


def data(n_in, n_out, rows=1001):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (rows, n_in)), np.eye(n_out)[rng.integers(0, n_out, rows)]


@pytest.fixture
def problem():
    return mlp.MLP([20, 15, 7, 5], seed=0), *data(20, 5)


# Hidden activations with the outputs they are checked with: each non-seed activation
# with each output, and the seed.
KINDS = [("relu", "softmax"), ("tanh", "softmax"), ("relu", "identity"),
         ("tanh", "identity"), (["relu", "tanh"], "sigmoid"), ("sigmoid", "sigmoid")]


def kind_id(kind):
    activation, output = kind
    hidden = "+".join(activation) if isinstance(activation, list) else activation
    return f"{hidden}-{output}"


@pytest.fixture(params=KINDS, ids=kind_id)
def each_kind(request):
    """The problem, with each network of KINDS."""
    activation, output = request.param
    return mlp.MLP([20, 15, 7, 5], activation=activation, output=output, seed=0), *data(20, 5)


def flat(dW, db):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])


def test_predict_in_a_prange_loop(mlp_embed, problem):
    net, X, _ = problem
    for threads, chunk in [(1, 256), (2, 256), (2, 1), (2, 5000)]:
        out = mlp_embed.predict_parallel(net, X, n_threads=threads, chunk=chunk)
        np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-12)


def test_predict_with_every_activation(mlp_embed, each_kind):
    net, X, _ = each_kind
    for threads, chunk in [(1, 256), (2, 7)]:
        out = mlp_embed.predict_parallel(net, X, n_threads=threads, chunk=chunk)
        np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-12)


def test_gradient(mlp_embed, problem):
    net, X, Y = problem
    np.testing.assert_allclose(mlp_embed.mean_gradient(net, X, Y), flat(*net.gradient(X, Y)),
                               rtol=1e-12, atol=1e-12)


def test_gradient_with_every_activation_and_the_outputs_own_cost(mlp_embed, each_kind):
    net, X, Y = each_kind
    np.testing.assert_allclose(mlp_embed.mean_gradient(net, X, Y), flat(*net.gradient(X, Y)),
                               rtol=1e-12, atol=1e-12)


def test_gradient_with_a_cost_given(mlp_embed, problem):
    net, X, Y = problem
    for code, name in [(mlp._core.CROSS_ENTROPY, "cross_entropy"),
                       (mlp._core.QUADRATIC, "quadratic")]:
        np.testing.assert_allclose(mlp_embed.mean_gradient(net, X, Y, cost=code),
                                   flat(*net.gradient(X, Y, cost=name)),
                                   rtol=1e-12, atol=1e-12)


def test_training_from_nogil_code_equals_fit(mlp_embed, problem):
    net, X, Y = problem
    a, b = net.copy(), net.copy()
    costs, state = mlp_embed.train_epochs(a, X, Y, 3, 16, 0.5)
    history = b.fit(X, Y, epochs=3, batch_size=16, eta=0.5, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs, history["cost"], rtol=1e-12)
    assert state == {} == b.optimizer_state
    assert not np.array_equal(a.params, net.params)


def test_zeroed_options_with_eta_are_the_seeds_sgd(mlp_embed, problem):
    # With no options, train_epochs passes a zero-initialised mlp_train_options with only
    # eta set (a sigmoid output's own cost is MLP_QUADRATIC, 0) and no state buffers: it
    # must train as fit does with every default but the shuffling (eta 3.0, batches of 10,
    # 30 epochs, the quadratic cost).
    net, X, Y = problem
    assert mlp._core.QUADRATIC == 0 == mlp._core.SGD
    a, b = net.copy(), net.copy()
    costs, state = mlp_embed.train_epochs(a, X, Y, 30, 10, 3.0)
    history = b.fit(X, Y, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs, history["cost"], rtol=1e-12)
    assert state == {}


def assert_same_state(state, expected):
    assert state.keys() == expected.keys()
    for key in state:
        np.testing.assert_allclose(state[key], expected[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("options", [
    {"optimizer": "adam", "eta": 0.01},
    {"optimizer": "adam", "eta": 0.003, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    {"momentum": 0.9, "eta": 0.05},
], ids=["adam", "adam-betas", "momentum"])
def test_optimizers_from_nogil_code_equal_fit(mlp_embed, each_kind, options):
    net, X, Y = each_kind
    a, b = net.copy(), net.copy()
    costs, state = mlp_embed.train_epochs(a, X, Y, 3, 16, **options)
    history = b.fit(X, Y, epochs=3, batch_size=16, shuffle=False, **options)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs, history["cost"], rtol=1e-12)
    assert_same_state(state, b.optimizer_state)
    if "m" in state:
        assert state["t"] == 3 * -(-len(X) // 16)
    assert not np.array_equal(a.params, net.params)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_with_a_cost_given_equals_fit(mlp_embed, problem, optimizer):
    net, X, Y = problem
    a, b = net.copy(), net.copy()
    costs, state = mlp_embed.train_epochs(a, X, Y, 2, 16, 0.01, optimizer=optimizer,
                                          cost=mlp._core.CROSS_ENTROPY)
    history = b.fit(X, Y, epochs=2, batch_size=16, eta=0.01, optimizer=optimizer,
                    cost="cross_entropy", shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs, history["cost"], rtol=1e-12)
    assert_same_state(state, b.optimizer_state)


def test_online_steps_equal_fit_with_batches_of_one(mlp_embed, problem):
    net, X, Y = problem
    a, b = net.copy(), net.copy()
    mlp_embed.train_online(a, X[:200], Y[:200], 0.3)
    b.fit(X[:200], Y[:200], epochs=1, batch_size=1, eta=0.3, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)


def test_online_steps_with_every_activation(mlp_embed, each_kind):
    net, X, Y = each_kind
    a, b = net.copy(), net.copy()
    mlp_embed.train_online(a, X[:200], Y[:200], 0.01)
    b.fit(X[:200], Y[:200], epochs=1, batch_size=1, eta=0.01, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)


def test_errors_come_back_as_status_codes(mlp_embed, problem):
    net, X, Y = problem
    with pytest.raises(ValueError, match="invalid chunk"):
        mlp_embed.predict_parallel(net, X, chunk=0)
    with pytest.raises(ValueError, match="invalid batch_size"):
        mlp_embed.train_epochs(net.copy(), X, Y, 1, 0, 0.5)


def with_codes(net, codes):
    """A stand-in for net with hand-made activation codes: the example reads only params,
    sizes_array and activation_codes."""
    return types.SimpleNamespace(params=net.params.copy(), sizes_array=net.sizes_array,
                                 activation_codes=np.array(codes, dtype=np.intc))


@pytest.mark.parametrize("codes", [
    [mlp._core.SOFTMAX, mlp._core.SIGMOID, mlp._core.SIGMOID],  # softmax: the output only
    [mlp._core.SIGMOID, mlp._core.TANH, mlp._core.RELU],        # ReLU, tanh: hidden only
    [mlp._core.SIGMOID, 7, mlp._core.SIGMOID],                  # no such activation
], ids=["softmax-hidden", "relu-output", "unknown"])
def test_a_bad_activation_comes_back_as_MLP_ERR_ACTIVATION(mlp_embed, problem, codes):
    net, X, Y = problem
    bad = with_codes(net, codes)
    before = bad.params.copy()
    calls = [lambda: mlp_embed.predict_parallel(bad, X),
             lambda: mlp_embed.mean_gradient(bad, X, Y),
             lambda: mlp_embed.train_epochs(bad, X, Y, 1, 16, 0.5),
             lambda: mlp_embed.train_epochs(bad, X, Y, 1, 16, 0.01, optimizer="adam"),
             lambda: mlp_embed.train_online(bad, X, Y, 0.5)]
    for call in calls:
        with pytest.raises(ValueError, match="MLP_ERR_ACTIVATION"):
            call()
    np.testing.assert_array_equal(bad.params, before)  # an error writes nothing


def test_a_cost_that_does_not_go_with_the_output_is_MLP_ERR_ACTIVATION(mlp_embed):
    X, Y = data(4, 3, rows=20)
    for output, cost in [("softmax", mlp._core.QUADRATIC),
                         ("identity", mlp._core.CROSS_ENTROPY)]:
        net = mlp.MLP([4, 5, 3], activation="relu", output=output, seed=0)
        with pytest.raises(ValueError, match="mlp_gradient failed: MLP_ERR_ACTIVATION"):
            mlp_embed.mean_gradient(net, X, Y, cost=cost)
        with pytest.raises(ValueError, match="mlp_train_epoch failed: MLP_ERR_ACTIVATION"):
            mlp_embed.train_epochs(net, X, Y, 1, 5, 0.1, cost=cost)


@pytest.mark.parametrize("options", [
    {"optimizer": "adam", "beta1": 1.0}, {"optimizer": "adam", "beta2": -0.1},
    {"optimizer": "adam", "epsilon": 0.0}, {"momentum": 1.5}, {"momentum": -0.5},
], ids=["beta1", "beta2", "epsilon", "momentum-over-1", "momentum-negative"])
def test_an_option_out_of_range_is_MLP_ERR_OPTIONS(mlp_embed, problem, options):
    net, X, Y = problem
    a = net.copy()
    with pytest.raises(ValueError, match="mlp_train_epoch failed: MLP_ERR_OPTIONS"):
        mlp_embed.train_epochs(a, X, Y, 1, 16, 0.01, **options)
    np.testing.assert_array_equal(a.params, net.params)


def test_the_example_refuses_another_c_api_version(embed_site):
    # The check runs at import, so each import is a fresh interpreter.
    def run(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=with_path(embed_site), timeout=120)

    version = mlp._core.C_API_VERSION
    ok = run("import mlp._core, mlp_embed; print(mlp._core.C_API_VERSION)")
    assert ok.returncode == 0 and ok.stdout.strip() == str(version), ok.stdout + ok.stderr
    for other in [version - 1, version + 1]:
        refused = run(f"import mlp._core; mlp._core.C_API_VERSION = {other}\n"
                      "import mlp_embed")
        assert refused.returncode != 0
        assert "ImportError: mlp's C API changed" in refused.stderr, refused.stderr


def test_cython_page_shows_the_files_the_test_builds():
    # included by the site (MyST's literalinclude), so what it shows is the file itself
    page = (ROOT / "docs" / "cython.md").read_text()
    for name in ["mlp_embed/_demo.pyx", "setup.py"]:
        assert f"```{{literalinclude}} ../examples/embed/{name}\n" in page, (
            f"docs/cython.md does not include examples/embed/{name}")


def test_both_cimport_spellings_resolve(tmp_path):
    pytest.importorskip("Cython")  # the test extra has it; a machine that only runs mlp may not
    source = tmp_path / "spellings.pyx"
    source.write_text(
        "cimport mlp._core\n"
        "from mlp cimport _core\n"
        "cdef Py_ssize_t sizes[3]\n"
        "sizes[0] = 4; sizes[1] = 3; sizes[2] = 2\n"
        "assert mlp._core.mlp_n_params(sizes, 2) == _core.mlp_n_params(sizes, 2) == 23\n"
        "assert _core.MLP_C_API_VERSION == mlp._core.MLP_C_API_VERSION == 2\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "cython", "-3", "-I", mlp.get_include(), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "spellings.c").stat().st_size > 0
