"""mlp: a small, fast, compiled sigmoid multilayer perceptron trained by backpropagation.

>>> import mlp
>>> net = mlp.MLP([64, 30, 10], seed=0)

The kernels live in the compiled module ``mlp._core`` (C-level API: ``mlp/_core.pxd``);
this package is the Python facade: shapes, initialisation, validation and training epochs.
"""

import os as _os

from mlp._version import __version__
from mlp.network import MLP, sigmoid
from mlp.training import HalveOnPlateau, History
from mlp import datasets, io
from mlp.io import ModelFileError, load

__all__ = ["MLP", "HalveOnPlateau", "History", "ModelFileError", "datasets", "get_include",
           "io", "load", "sigmoid", "__version__"]


def get_include() -> str:
    """The folder that holds the ``mlp`` package's ``.pxd`` files, for Cython's include path.

    Examples
    --------
    ``cythonize(extensions, include_path=[mlp.get_include()])`` lets an extension
    ``from mlp cimport _core`` wherever mlp is installed.
    """
    return _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
