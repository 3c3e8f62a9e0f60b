import sys

import mlp
from Cython.Build import cythonize
from setuptools import Extension, setup

# OpenMP for the prange loop (gcc and clang on Linux; elsewhere the loop runs serially).
openmp = ["-fopenmp"] if sys.platform.startswith("linux") else []

extensions = [
    Extension("mlp_embed._demo", ["mlp_embed/_demo.pyx"],
              extra_compile_args=["-O2", *openmp], extra_link_args=openmp),
]

setup(ext_modules=cythonize(extensions, include_path=[mlp.get_include()],
                            compiler_directives={"language_level": 3}))
