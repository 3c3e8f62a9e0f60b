"""mlp_c_demo: a plain C extension that calls mlp's kernels through mlp/mlp.h."""

import mlp
from setuptools import Extension, setup

setup(ext_modules=[Extension("mlp_c_demo", ["mlp_c_demo.c"],
                             include_dirs=[mlp.get_include()])])
