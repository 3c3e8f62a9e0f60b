"""Build the compiled core. Everything else about the package lives in pyproject.toml.

Environment switches (read at build time):
    MLP_DEBUG=1   compile with Cython's boundscheck, wraparound and initializedcheck on,
                  and without optimisation, for debugging the kernels.
    MLP_NATIVE=1  add -march=native (a local build only: such a binary may not run on
                  another x86-64 machine, so wheels are never built with it).
    MLP_SANITIZE=address
                  compile and link with AddressSanitizer (see scripts/sanitize.sh, which
                  runs the test suite under it).
"""

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MLP_DEBUG", "") == "1"
NATIVE = os.environ.get("MLP_NATIVE", "") == "1"
SANITIZE = os.environ.get("MLP_SANITIZE", "")

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
    if NATIVE:
        compile_args.append("-march=native")
    if SANITIZE:
        compile_args += [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-g"]
        link_args += [f"-fsanitize={SANITIZE}"]

extensions = [
    Extension("mlp._core", ["src/mlp/_core.pyx"], include_dirs=["src/mlp"],
              extra_compile_args=compile_args, extra_link_args=link_args),
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
