# mlp's Cython declarations. The C-level API is in mlp/_core.pxd:
#
#     from mlp cimport _core
#     cimport mlp._core
#
# Pass mlp.get_include() to cythonize's include_path if Cython cannot find mlp on its own.
