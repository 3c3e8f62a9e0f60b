"""The C-level API from a third-party extension: build examples/embed against the installed
mlp (its shipped .pxd files), import it, and check it computes what the Python API does."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import mlp

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "embed"


@pytest.fixture(scope="module")
def mlp_embed(tmp_path_factory):
    installed = Path(mlp.__file__).parent
    assert (installed / "_core.pxd").is_file() and (installed / "__init__.pxd").is_file(), (
        "the installed mlp does not ship its .pxd files")
    tmp = tmp_path_factory.mktemp("embed")
    source = tmp / "embed"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.so", "*.c"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--wheel-dir", str(tmp / "dist"), str(source)],
        capture_output=True, text=True, cwd=tmp, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp / "site"
    (wheel,) = (tmp / "dist").glob("*.whl")
    zipfile.ZipFile(wheel).extractall(site)
    sys.path.insert(0, str(site))
    try:
        import mlp_embed

        yield mlp_embed
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("mlp_embed")]:
            del sys.modules[name]


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    net = mlp.MLP([20, 15, 7, 5], seed=0)
    X = rng.uniform(0, 1, (1001, 20))
    Y = np.eye(5)[rng.integers(0, 5, 1001)]
    return net, X, Y


def flat(dW, db):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(dW, db)])


def test_predict_in_a_prange_loop(mlp_embed, problem):
    net, X, _ = problem
    for threads, chunk in [(1, 256), (2, 256), (2, 1), (2, 5000)]:
        out = mlp_embed.predict_parallel(net, X, n_threads=threads, chunk=chunk)
        np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-12)


def test_gradient(mlp_embed, problem):
    net, X, Y = problem
    np.testing.assert_allclose(mlp_embed.mean_gradient(net, X, Y), flat(*net.gradient(X, Y)),
                               rtol=1e-12, atol=1e-12)


def test_training_from_nogil_code_equals_fit(mlp_embed, problem):
    net, X, Y = problem
    a, b = net.copy(), net.copy()
    costs = mlp_embed.train_epochs(a, X, Y, 3, 16, 0.5)
    history = b.fit(X, Y, epochs=3, batch_size=16, eta=0.5, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs, history["cost"], rtol=1e-12)
    assert not np.array_equal(a.params, net.params)


def test_online_steps_equal_fit_with_batches_of_one(mlp_embed, problem):
    net, X, Y = problem
    a, b = net.copy(), net.copy()
    mlp_embed.train_online(a, X[:200], Y[:200], 0.3)
    b.fit(X[:200], Y[:200], epochs=1, batch_size=1, eta=0.3, shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)


def test_errors_come_back_as_status_codes(mlp_embed, problem):
    net, X, Y = problem
    with pytest.raises(ValueError, match="invalid chunk"):
        mlp_embed.predict_parallel(net, X, chunk=0)
    with pytest.raises(ValueError, match="invalid batch_size"):
        mlp_embed.train_epochs(net.copy(), X, Y, 1, 0, 0.5)


def test_cython_page_shows_the_files_the_test_builds():
    page = (ROOT / "docs" / "cython.md").read_text()
    for name in ["mlp_embed/_demo.pyx", "setup.py"]:
        source = (EXAMPLE / name).read_text()
        assert source.strip() in page, f"docs/cython.md does not show examples/embed/{name}"


def test_both_cimport_spellings_resolve(tmp_path):
    source = tmp_path / "spellings.pyx"
    source.write_text(
        "cimport mlp._core\n"
        "from mlp cimport _core\n"
        "cdef Py_ssize_t sizes[3]\n"
        "sizes[0] = 4; sizes[1] = 3; sizes[2] = 2\n"
        "assert mlp._core.mlp_n_params(sizes, 2) == _core.mlp_n_params(sizes, 2) == 23\n"
        "assert _core.MLP_C_API_VERSION == mlp._core.MLP_C_API_VERSION\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "cython", "-3", "-I", mlp.get_include(), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "spellings.c").stat().st_size > 0
