# The C API for extensions not written in Cython (mlp.h), included by _core.pyx.
#
# mlp.h's import_mlp() reads the capsule _C_API: a table of MLP_N_SLOTS pointers, the C API
# version and the layout first, then the functions of _core.pxd in mlp.h's slot order. The
# layout (every enum value of _core.pxd, each struct's size and its fields' offsets) is
# computed here from _core.pxd's declarations and compared by import_mlp() with mlp.h's own,
# so a header that drifts from _core.pxd is refused at import, never misread.

from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport intptr_t

cdef extern from *:
    """
    #define MLP_CORE_BUILD 1
    #include "mlp.h"
    """
    enum:
        MLP_SLOT_VERSION
        MLP_SLOT_LAYOUT
        MLP_SLOT_N_PARAMS
        MLP_SLOT_PREDICT_WORK_SIZE
        MLP_SLOT_GRADIENT_WORK_SIZE
        MLP_SLOT_EPOCH_WORK_SIZE
        MLP_SLOT_SIGMOID
        MLP_SLOT_PREDICT
        MLP_SLOT_GRADIENT
        MLP_SLOT_SGD_STEP
        MLP_SLOT_SGD_EPOCH
        MLP_SLOT_TRAIN_EPOCH
        MLP_N_SLOTS
        MLP_LAYOUT_LENGTH

cdef void* _c_api_table[MLP_N_SLOTS]
cdef Py_ssize_t _c_api_layout[1 + MLP_LAYOUT_LENGTH]


cdef inline Py_ssize_t _offset(const void* field, const void* base) noexcept:
    return <const char*>field - <const char*>base


cdef list _layout():
    """_core.pxd's enum values, struct sizes and field offsets, in mlp.h's order."""
    cdef mlp_train_options o
    cdef mlp_optimizer_state s
    cdef mlp_epoch_stats e
    return [
        MLP_OK, MLP_ERR_SIZES, MLP_ERR_ROWS, MLP_ERR_ORDER, MLP_ERR_OPTIONS,
        MLP_ERR_ACTIVATION, MLP_SIGMOID, MLP_TANH, MLP_RELU, MLP_IDENTITY, MLP_SOFTMAX,
        MLP_EXP, MLP_QUADRATIC, MLP_CROSS_ENTROPY, MLP_POISSON, MLP_SGD, MLP_ADAM,
        sizeof(mlp_train_options), _offset(&o.eta, &o), _offset(&o.cost, &o),
        _offset(&o.weight_decay, &o), _offset(&o.momentum, &o), _offset(&o.nesterov, &o),
        _offset(&o.optimizer, &o), _offset(&o.beta1, &o), _offset(&o.beta2, &o),
        _offset(&o.epsilon, &o), _offset(&o.batch_decay, &o),
        sizeof(mlp_optimizer_state), _offset(&s.velocity, &s), _offset(&s.m, &s),
        _offset(&s.v, &s), _offset(&s.t, &s),
        sizeof(mlp_epoch_stats), _offset(&e.cost, &e), _offset(&e.correct, &e),
        _offset(&e.penalty, &e),
    ]


cdef object _c_api_capsule():
    layout = _layout()
    if len(layout) != MLP_LAYOUT_LENGTH:
        raise ImportError(f"mlp._core: the C API layout has {len(layout)} entries, mlp.h "
                          f"expects {MLP_LAYOUT_LENGTH}")
    _c_api_layout[0] = MLP_LAYOUT_LENGTH
    for i, value in enumerate(layout):
        _c_api_layout[i + 1] = value
    _c_api_table[MLP_SLOT_VERSION] = <void*><intptr_t>MLP_C_API_VERSION
    _c_api_table[MLP_SLOT_LAYOUT] = <void*>_c_api_layout
    _c_api_table[MLP_SLOT_N_PARAMS] = <void*>mlp_n_params
    _c_api_table[MLP_SLOT_PREDICT_WORK_SIZE] = <void*>mlp_predict_work_size
    _c_api_table[MLP_SLOT_GRADIENT_WORK_SIZE] = <void*>mlp_gradient_work_size
    _c_api_table[MLP_SLOT_EPOCH_WORK_SIZE] = <void*>mlp_epoch_work_size
    _c_api_table[MLP_SLOT_SIGMOID] = <void*>mlp_sigmoid
    _c_api_table[MLP_SLOT_PREDICT] = <void*>mlp_predict
    _c_api_table[MLP_SLOT_GRADIENT] = <void*>mlp_gradient
    _c_api_table[MLP_SLOT_SGD_STEP] = <void*>mlp_sgd_step
    _c_api_table[MLP_SLOT_SGD_EPOCH] = <void*>mlp_sgd_epoch
    _c_api_table[MLP_SLOT_TRAIN_EPOCH] = <void*>mlp_train_epoch
    # The name is a C string literal: it must outlive the capsule, which lives forever.
    return PyCapsule_New(<void*>_c_api_table, _CAPSULE_NAME, NULL)


cdef extern from *:
    const char* _CAPSULE_NAME "\"mlp._core._C_API\""


# The capsule mlp.h's import_mlp() binds to (see docs/c-api.md).
_C_API = _c_api_capsule()
