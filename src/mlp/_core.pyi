# Type stubs for the Python boundary of the compiled core (see _core.pyx / _core.pxd).
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.intp]
_C = NDArray[np.intc]

C_API_VERSION: int
QUADRATIC: int
CROSS_ENTROPY: int
POISSON: int
SIGMOID: int
TANH: int
RELU: int
IDENTITY: int
SOFTMAX: int
EXP: int
SGD: int
ADAM: int

class ParamLock:
    def write(self) -> AbstractContextManager[Any]: ...
    def read(self) -> AbstractContextManager[Any]: ...

def n_params(sizes: _I) -> int: ...
def predict_work_size(sizes: _I, block: int) -> int: ...
def gradient_work_size(sizes: _I, block: int) -> int: ...
def epoch_work_size(sizes: _I, batch: int) -> int: ...
def sigmoid(x: _F) -> None: ...
def all_finite(x: _F) -> bool: ...
def kernel_level() -> str: ...
def kernel_levels() -> tuple[str, ...]: ...
def predict(
    params: _F,
    sizes: _I,
    activations: _C,
    x: _F,
    out: _F,
    work: _F,
    block: int,
    check_finite: bool = ...,
    lock: ParamLock | None = ...,
) -> int: ...
def gradient(
    params: _F,
    sizes: _I,
    activations: _C,
    x: _F,
    y: _F,
    out: _F,
    alpha: float,
    work: _F,
    block: int,
    cost: int = ...,
    lock: ParamLock | None = ...,
    *,
    sample_weight: _F | None = ...,
) -> float: ...
def train_epoch(
    params: _F,
    state: _F,
    sizes: _I,
    activations: _C,
    x: _F,
    y: _F,
    order: _I,
    batch: int,
    eta: float,
    work: _F,
    *,
    cost: int = ...,
    weight_decay: float = ...,
    momentum: float = ...,
    nesterov: bool = ...,
    optimizer: int = ...,
    beta1: float = ...,
    beta2: float = ...,
    epsilon: float = ...,
    t: int = ...,
    check_finite: bool = ...,
    lock: ParamLock | None = ...,
    batch_decay: float = ...,
    sample_weight: _F | None = ...,
) -> tuple[float, int, int, int, float]: ...
def apply_step(
    params: _F,
    state: _F,
    sizes: _I,
    grad: _F,
    m: int,
    eta: float,
    *,
    weight_decay: float = ...,
    momentum: float = ...,
    nesterov: bool = ...,
    optimizer: int = ...,
    beta1: float = ...,
    beta2: float = ...,
    epsilon: float = ...,
    t: int = ...,
    lock: ParamLock | None = ...,
) -> int: ...
