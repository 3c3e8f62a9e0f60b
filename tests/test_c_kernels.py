"""The C-level kernel test (tests/c/test_kernels.c), built with this machine's C compiler and
run at every kernel level the build and CPU can run, so that the normal suite checks the
kernels of src/mlp's headers against their plain reference directly, not only through
mlp._core. scripts/c-kernel-tests.sh runs the same program built with gcc, clang, musl
and for aarch64."""

import shlex
import subprocess
from pathlib import Path

import pytest

from _compilers import need_c_compiler

pytestmark = pytest.mark.kernels

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "c" / "test_kernels.c"
HEADERS = ROOT / "src" / "mlp"


@pytest.fixture(scope="module")
def test_program(tmp_path_factory):
    compiler = need_c_compiler()
    if not (HEADERS / "_kernels.h").is_file() or not SOURCE.is_file():
        pytest.skip(f"no kernel headers in {HEADERS} or no {SOURCE}: a source tree is needed")
    exe = tmp_path_factory.mktemp("c-kernels") / "test_kernels"
    # the extension's own optimisation flags (setup.py), so that the loops tested are its
    command = [*compiler, "-O3", "-fno-math-errno", "-fno-trapping-math", "-std=c99",
               "-Wall", "-Wextra", f"-I{HEADERS}",
               f"-I{SOURCE.parent}", str(SOURCE), "-o", str(exe), "-lm"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stderr[-5000:]}"
    return exe


def run(exe, *args):
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900)


def test_kernels_agree_with_the_reference_at_every_level(test_program):
    levels = run(test_program, "--levels")
    assert levels.returncode == 0, levels.stderr
    names = levels.stdout.split()
    assert names and names[0] == "generic", levels.stdout
    for level in names:
        done = run(test_program, level)
        assert done.returncode == 0, f"level {level}:\n{done.stdout}\n{done.stderr[-5000:]}"
        assert f"ok [{level}]:" in done.stdout
        assert done.stderr == ""


def test_an_unknown_level_is_refused(test_program):
    done = run(test_program, "avx9000")
    assert done.returncode == 2
    assert "usage:" in done.stderr and done.stdout == ""
