"""mlp_cpp_demo: a C++ extension (pybind11) that calls mlp's kernels through mlp/mlp.h."""

import mlp
from pybind11.setup_helpers import Pybind11Extension
from setuptools import setup

setup(ext_modules=[Pybind11Extension("mlp_cpp_demo", ["mlp_cpp_demo.cpp"],
                                     include_dirs=[mlp.get_include()], cxx_std=17)])
