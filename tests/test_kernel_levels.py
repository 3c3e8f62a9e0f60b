"""Kernel levels: decided once at import from the CPU and MLP_KERNELS, by mlp's own dispatch
(no ifuncs), and every level this machine has passes the kernel tests (test_math.py's tests
marked ``kernels``)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlp
from mlp import _core

ROOT = Path(__file__).resolve().parent.parent

# Every level, lowest first. kernel_levels() is a prefix of it on any machine: a level
# added to _kernels.h must be added here too (the test below says so), and so gets tested.
KNOWN_LEVELS = ("generic", "avx2", "avx512")


def run_python(code, level):
    """Run `code` in a fresh interpreter with MLP_KERNELS=level (None: unset)."""
    env = dict(os.environ)
    env.pop("MLP_KERNELS", None)
    if level is not None:
        env["MLP_KERNELS"] = level
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_kernel_level_is_one_this_machine_can_run():
    levels = _core.kernel_levels()
    assert levels == KNOWN_LEVELS[:len(levels)], "a new level? add it to KNOWN_LEVELS"
    assert levels[0] == "generic"
    assert mlp.kernel_level() == _core.kernel_level() in levels
    assert "kernel_level" in mlp.__all__


def test_level_is_read_once_at_import(monkeypatch):
    before = mlp.kernel_level()
    monkeypatch.setenv("MLP_KERNELS", "generic" if before != "generic" else "avx512")
    assert mlp.kernel_level() == before


@pytest.mark.parametrize("level", KNOWN_LEVELS)
def test_kernel_tests_pass_at_every_level(level):
    # The import-time level is what the normal run tests; here each other level this
    # machine has, and always "generic" (on a machine whose best it is, this runs the
    # kernel tests a second time, through MLP_KERNELS rather than by default).
    if level not in _core.kernel_levels():
        pytest.skip(f"this CPU or build cannot run the {level} kernels")
    if level == mlp.kernel_level() and level != "generic":
        pytest.skip(f"{level} is the level of this run")
    env = dict(os.environ, MLP_KERNELS=level)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "-m",
         "kernels", "tests/test_math.py", "tests/test_activations.py", "tests/test_adam.py"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # it ran at that level (that test asserts kernel_level() == MLP_KERNELS), and ran the
    # kernel tests, not an empty selection
    assert "PASSED tests/test_math.py::test_kernel_level_is_the_one_asked_for" in done.stdout
    assert "PASSED tests/test_math.py::test_single_sample_epochs_match" in done.stdout
    assert " failed" not in done.stdout and " passed" in done.stdout


def test_generic_level_is_selected_by_the_environment():
    done = run_python("import mlp; print(mlp.kernel_level())", "generic")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["generic"]
    assert done.stderr == ""


def test_empty_environment_variable_is_the_best_level():
    done = run_python("import mlp; print(mlp.kernel_level())", "")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [_core.kernel_levels()[-1]]


@pytest.mark.parametrize("value", ["avx9000", "AVX512", "plain", " generic"])
def test_unknown_level_fails_the_import_naming_the_valid_ones(value):
    done = run_python("import mlp", value)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: MLP_KERNELS=")
    assert repr(value) in last
    for level in KNOWN_LEVELS:
        assert repr(level) in last


def test_unavailable_level_falls_back_to_the_best_with_a_warning():
    if "avx512" in _core.kernel_levels():
        pytest.skip("this machine runs the avx512 kernels")
    code = ("import warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import mlp\n"
            "print(mlp.kernel_level())\n"
            "for w in caught:\n"
            "    print(w.category.__name__, w.message)\n")
    done = run_python(code, "avx512")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    best = _core.kernel_levels()[-1]
    assert lines[0] == best
    warned = [line for line in lines[1:] if line.startswith("RuntimeWarning")]
    assert len(warned) == 1
    assert "'avx512'" in warned[0] and f"using {best!r}" in warned[0]


def test_the_extension_needs_no_ifuncs():
    # musl's loader refuses IRELATIVE relocations (GNU ifuncs, which target_clones makes), so
    # the levels are mlp's own dispatch (_levels.h), and the extension must carry none
    readelf = shutil.which("readelf")
    if not sys.platform.startswith("linux") or readelf is None:
        pytest.skip("needs Linux and readelf")
    relocations = subprocess.run([readelf, "-rW", _core.__file__], capture_output=True,
                                 text=True, check=True).stdout
    assert "IRELATIV" not in relocations
