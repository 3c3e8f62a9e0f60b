"""mlp: a small, fast, compiled sigmoid multilayer perceptron trained by backpropagation.

>>> import mlp
>>> net = mlp.MLP([64, 30, 10], seed=0)

The kernels live in the compiled module ``mlp._core`` (C-level API: ``mlp/_core.pxd``);
this package is the Python facade: shapes, initialisation, validation and training epochs.
"""

from mlp._version import __version__
from mlp.network import MLP, sigmoid
from mlp.training import History

__all__ = ["MLP", "History", "sigmoid", "__version__"]
