"""Build the compiled core. Everything else about the package lives in pyproject.toml.

Environment switches (read at build time):
    MLP_DEBUG=1   compile with Cython's boundscheck, wraparound and initializedcheck on,
                  and without optimisation, for debugging the kernels.
    MLP_NATIVE=1  add -march=native (a local build only: such a binary may not run on
                  another x86-64 machine, so wheels are never built with it).
    MLP_SANITIZE=address,undefined
                  compile and link with these sanitizers (a comma list: address,
                  undefined, or both); with undefined (UndefinedBehaviorSanitizer) any
                  report aborts, so that a test run cannot pass over one. See
                  scripts/sanitize.sh, which runs the test suite under both.
"""

import glob
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MLP_DEBUG", "") == "1"
NATIVE = os.environ.get("MLP_NATIVE", "") == "1"
SANITIZE = [s.strip() for s in os.environ.get("MLP_SANITIZE", "").split(",") if s.strip()]

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

compile_args, link_args = [], []
if sys.platform != "win32":
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
    # mlp never reads errno: without this, sqrt (Adam's step) keeps a libm call for the
    # errno of a negative argument and its loop cannot vectorize
    compile_args.append("-fno-math-errno")
    # mlp never reads the floating-point exception flags: without this, GCC will not turn
    # the sigmoid's selects (and Adam's flush of tiny moments) into vector blends for
    # baseline x86-64 (SSE2) and aarch64 (NEON), and those loops stay scalar. Values are
    # unchanged: only which operations may raise a flag is.
    compile_args.append("-fno-trapping-math")
    if NATIVE:
        compile_args.append("-march=native")
    if SANITIZE:
        sanitizers = ",".join(SANITIZE)
        compile_args += [f"-fsanitize={sanitizers}", "-fno-omit-frame-pointer", "-g"]
        if "undefined" in SANITIZE:
            compile_args.append("-fno-sanitize-recover=undefined")
        link_args += [f"-fsanitize={sanitizers}"]

extensions = [
    # depends: a change to a kernel header or an included .pxi rebuilds the extension
    Extension("mlp._core", ["src/mlp/_core.pyx"], include_dirs=["src/mlp"],
              depends=sorted(glob.glob("src/mlp/*.h") + glob.glob("src/mlp/*.pxi")),
              extra_compile_args=compile_args, extra_link_args=link_args),
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
