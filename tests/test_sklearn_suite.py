"""scikit-learn's own tests of its MLPs, run against mlp.sklearn.

The installed scikit-learn's sklearn/neural_network/tests/test_mlp.py is copied into a
temporary directory with its one import of MLPClassifier and MLPRegressor pointed at
mlp.sklearn, and run by its own pytest with warnings as errors. Every test must pass,
except EXCUSED: the tests that call scikit-learn's private methods. A test that does not
pass is run on the unmodified copy too, and fails this only if it passes there (so a
scikit-learn release with a failing or skipped test does not fail us). Tests that only read
or set private attributes, such as ``_optimizer.learning_rate`` or
``_no_improvement_count``, are not excused: mlp.sklearn provides those.
"""

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

import mlp  # noqa: E402
from _dropin import MODULE  # noqa: E402

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"

#: test function -> why it may fail for mlp.sklearn (it still runs, and is reported).
EXCUSED = {
    "test_gradient": (
        "compares a numerical gradient with the analytic one from scikit-learn's private "
        "MLPClassifier._loss_grad_lbfgs(packed, X, Y, sample_weight, activations, deltas, "
        "coef_grads, intercept_grads), which also fixes the private packed-parameter layout"
    ),
}

# The test file runs as a whole: a handful of tests or a failed collection means it did not.
MIN_TESTS = 50


def sklearn_test_file():
    path = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    assert path.is_file(), f"scikit-learn {sklearn.__version__} has no {path}"
    return path


def copy_for(directory, module):
    """test_mlp.py in directory, importing the estimators from module."""
    lines = sklearn_test_file().read_text().splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line == IMPORT]
    if len(found) != 1:
        pytest.fail(f"{sklearn_test_file()} has {len(found)} lines {IMPORT.strip()!r}, "
                    "not 1: update tests/test_sklearn_suite.py for this scikit-learn")
    lines[found[0]] = f"from {module} import MLPClassifier, MLPRegressor\n"
    directory.mkdir()
    (directory / "test_mlp.py").write_text("".join(lines))
    (directory / "pytest.ini").write_text("[pytest]\n")   # the rootdir: no outer config
    return directory


def environment():
    """This process's environment without pytest's own variables (PYTEST_ADDOPTS...)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def run(directory, tests=("test_mlp.py",)):
    """{test name: "passed", "skipped" or "failed"} of a pytest run of tests in directory,
    and its output."""
    # -p sklearn.conftest: the file's global_random_seed comes from scikit-learn's conftest
    # (SKLEARN_TESTS_GLOBAL_RANDOM_SEED chooses the seeds, 42 by default).
    command = [sys.executable, "-m", "pytest", *tests, "-q", "--tb=short",
               "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "sklearn.conftest",
               "-W", "error", "--junitxml=results.xml"]
    done = subprocess.run(command, cwd=directory, env=environment(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    report = directory / "results.xml"
    assert report.is_file(), f"no report (exit status {done.returncode}):\n{done.stdout}"
    return outcomes(ET.parse(report)), done.stdout


RANK = {"passed": 0, "skipped": 1, "failed": 2}


def outcomes(report):
    results = {}
    for case in report.iter("testcase"):
        tags = {child.tag for child in case}
        outcome = ("failed" if tags & {"failure", "error"} else
                   "skipped" if "skipped" in tags else "passed")
        name = case.get("name")     # a teardown error may report a test a second time
        if RANK[outcome] >= RANK[results.get(name, "passed")]:
            results[name] = outcome
    return results


def function(name):
    return name.split("[")[0]


def test_the_subprocess_imports_this_mlp(tmp_path):
    code = "import mlp; print(mlp.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment(),
                         capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == Path(mlp.__file__)


def test_scikit_learns_mlp_tests_pass(tmp_path):
    """Every test that scikit-learn passes passes, EXCUSED apart (see the docstring)."""
    began = time.perf_counter()
    ours, output = run(copy_for(tmp_path / "ours", MODULE))
    assert len(ours) > MIN_TESTS, output
    assert set(EXCUSED) <= {function(name) for name in ours}, "EXCUSED names no test"
    excused = {name: ours[name] for name in ours if function(name) in EXCUSED}
    print(f"{len(ours)} tests in {time.perf_counter() - began:.1f} s; excused: {excused}")
    suspects = [name for name, outcome in ours.items()
                if outcome != "passed" and function(name) not in EXCUSED]
    if not suspects:
        return
    theirs, _ = run(copy_for(tmp_path / "sklearn", "sklearn.neural_network"),
                    [f"test_mlp.py::{name}" for name in suspects])
    assert len(theirs) == len(suspects), f"{sorted(theirs)} != {sorted(suspects)}"
    failing = sorted(name for name in suspects if theirs[name] == "passed")
    assert not failing, f"{MODULE} fails {failing} of {sklearn_test_file()}:\n{output}"
