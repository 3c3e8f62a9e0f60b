"""mlp: a small, fast, compiled sigmoid multilayer perceptron trained by backpropagation.

>>> import mlp
>>> net = mlp.MLP([64, 30, 10], seed=0)

The kernels live in the compiled module ``mlp._core`` (C-level API: ``mlp/_core.pxd``);
this package is the Python facade: shapes, initialisation, validation and training epochs.
"""

import os as _os

from mlp import _core
from mlp._version import __version__
from mlp.network import MLP, sigmoid
from mlp.training import HalveOnPlateau, History
from mlp import datasets, io
from mlp.io import ModelFileError, load

__all__ = ["MLP", "HalveOnPlateau", "History", "ModelFileError", "datasets", "get_include",
           "io", "kernel_level", "load", "sigmoid", "__version__"]


def get_include() -> str:
    """The folder that holds the ``mlp`` package's ``.pxd`` files, for Cython's include path.

    Examples
    --------
    ``cythonize(extensions, include_path=[mlp.get_include()])`` lets an extension
    ``from mlp cimport _core`` wherever mlp is installed.
    """
    return _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))


def kernel_level() -> str:
    """The kernel level in use: ``"generic"``, ``"avx2"`` or ``"avx512"``.

    Decided once, when mlp is imported: the best level this CPU and build can run, unless
    the environment variable ``MLP_KERNELS`` names a lower one (to compare or test the
    levels). An unknown ``MLP_KERNELS`` makes ``import mlp`` fail with a ``ValueError``
    that lists the valid values; a level above what the machine can run gives a
    ``RuntimeWarning`` and the best it can. All levels compute the same results up to
    rounding.

    Returns
    -------
    str
        ``"generic"``: plain loops and BLAS, on any CPU (on x86-64 the loops built for
        baseline x86-64, SSE2). ``"avx2"``: the same, with the loops built for AVX2 and
        FMA, on CPUs that have both. ``"avx512"``: the loops built for AVX-512 (F, BW, DQ,
        VL), and, in GCC builds for x86-64 Linux, the AVX-512 kernels for small products
        and the single-sample step. Levels above ``"generic"`` need a build by GCC 12 or
        later or Clang 14 or later for x86-64, outside Windows.

    Examples
    --------
    >>> import mlp
    >>> mlp.kernel_level() in ("generic", "avx2", "avx512")
    True

    ``MLP_KERNELS=generic python -c "import mlp; print(mlp.kernel_level())"`` prints
    ``generic`` on any machine.
    """
    return _core.kernel_level()
