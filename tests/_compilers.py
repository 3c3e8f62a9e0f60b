"""The C compiler the tests that build C use, and the skip when there is none (a machine
with Python but no compiler, such as the arm64 tree of scripts/arm64-suite.sh, or a wheel's
test environment)."""

import os
import shlex
import shutil

import pytest


def c_compiler():
    """$CC if set, else the first of cc, gcc, clang on PATH (None: none)."""
    if os.environ.get("CC"):
        return shlex.split(os.environ["CC"])
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def need_c_compiler():
    """The compiler, or skip the test: building extensions needs one."""
    compiler = c_compiler()
    if compiler is None:
        pytest.skip("no C compiler: set CC, or put cc, gcc or clang on PATH")
    return compiler
