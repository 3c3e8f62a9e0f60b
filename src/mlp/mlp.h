/* mlp.h: mlp's C-level API for extensions written in C, C++ or any language that can call C.
 *
 *     #include "mlp/mlp.h"       with mlp.get_include() on the compiler's include path
 *
 *     PyMODINIT_FUNC PyInit_myext(void) {
 *         if (import_mlp() < 0) return NULL;      (once, in the module's init)
 *         ...
 *     }
 *
 * This header declares what mlp/_core.pxd declares for Cython, with the same names, values,
 * signatures and promises: read _core.pxd (or docs/cython.md) for what each function does.
 * The functions live in the installed mlp's compiled module mlp._core; import_mlp() fetches
 * their addresses from its capsule mlp._core._C_API, as numpy's import_array() does, and
 * refuses an mlp whose MLP_C_API_VERSION or struct layout differs from this header's.
 *
 * Layout. A network with L = n_layers >= 1 layers has sizes[0..L], input size first. All of
 * its parameters live in one contiguous double vector `params`, layer after layer:
 *     W_1 (sizes[0] x sizes[1], row-major), b_1 (sizes[1]), W_2 (sizes[1] x sizes[2]), b_2, ...
 * and layer l computes a_l = f_l(b_l + a_{l-1} @ W_l), a_0 = x, with f_l = activations[l-1]
 * (activations may be NULL: every layer a sigmoid, the seed's network). Samples are rows of
 * row-major double matrices. An mlp.MLP's `params` (float64), `sizes_array` (intp, that is
 * Py_ssize_t) and `activation_codes` (int) are exactly these buffers.
 *
 * Promises. Every function allocates nothing, keeps no state between calls, touches only
 * the buffers it is given and may be called without the GIL, from any number of threads, as
 * long as no buffer one call writes is read or written by another. The caller allocates
 * `work` (the *_work_size functions say how many doubles) and every other buffer.
 *
 * Errors. Functions returning int give MLP_OK (0) or a negative mlp_status and then have
 * written nothing; *_work_size and mlp_n_params return -1 for invalid sizes.
 *
 * An extension of several C files: define MLP_API_UNIQUE_SYMBOL to one name (the same in
 * every file) before including this header, and also MLP_NO_IMPORT in every file but the
 * one that calls import_mlp(), as with numpy's PY_ARRAY_UNIQUE_SYMBOL and NO_IMPORT_ARRAY.
 */
#ifndef MLP_MLP_H
#define MLP_MLP_H

#include <Python.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API; it grows by one whenever a declaration here changes in a way
 * that needs extensions compiled against it to be rebuilt. */
#define MLP_C_API_VERSION 3

enum mlp_status {
    MLP_OK = 0,
    MLP_ERR_SIZES = -1,      /* n_layers < 1, or a layer size outside [1, INT_MAX] */
    MLP_ERR_ROWS = -2,       /* a row count < 0, or a block, batch or m outside [1, INT_MAX] */
    MLP_ERR_ORDER = -3,      /* an index in `order` outside [0, rows) */
    MLP_ERR_OPTIONS = -4,    /* an mlp_train_options field out of range */
    MLP_ERR_ACTIVATION = -5  /* an activation a layer cannot have, or a cost that does not
                                go with the output */
};

enum mlp_activation {
    MLP_SIGMOID = 0,         /* hidden or output (the seed's) */
    MLP_TANH = 1,            /* hidden */
    MLP_RELU = 2,            /* hidden */
    MLP_IDENTITY = 3,        /* hidden or output (regression) */
    MLP_SOFTMAX = 4,         /* output only */
    MLP_EXP = 5              /* output only (Poisson regression) */
};

enum mlp_cost {
    MLP_QUADRATIC = 0,       /* C = 1/2 sum_j (a_j - y_j)^2 */
    MLP_CROSS_ENTROPY = 1,   /* sigmoid or softmax output */
    MLP_POISSON = 2          /* exp output: half the Poisson deviance */
};

enum mlp_optimizer {
    MLP_SGD = 0,             /* SGD, with momentum and Nesterov's momentum as options */
    MLP_ADAM = 1             /* Kingma and Ba's Adam */
};

/* A zero-initialised struct with eta set is the seed's plain SGD. */
typedef struct mlp_train_options {
    double eta;              /* learning rate, finite, > 0 */
    int cost;                /* an mlp_cost that goes with the output */
    double weight_decay;     /* L2 (network2's lambda/n), finite, >= 0 */
    double momentum;         /* SGD: in [0, 1]; Adam: 0 */
    int nesterov;            /* SGD: nonzero for Nesterov's momentum; Adam: 0 */
    int optimizer;           /* an mlp_optimizer */
    double beta1;            /* Adam: in [0, 1) */
    double beta2;            /* Adam: in [0, 1) */
    double epsilon;          /* Adam: finite, > 0 */
    double batch_decay;      /* L2 as scikit-learn's alpha, finite, >= 0 */
} mlp_train_options;

/* Each buffer laid out like params, zeros to start; NULL where the options don't use it. */
typedef struct mlp_optimizer_state {
    double *velocity;        /* SGD with momentum > 0 */
    double *m;               /* Adam: first moments */
    double *v;               /* Adam: second moments */
    long long t;             /* Adam: mini-batch steps taken so far */
} mlp_optimizer_state;

typedef struct mlp_epoch_stats {
    double cost;             /* sum of s_i C_i (the data term) */
    Py_ssize_t correct;      /* rows whose largest output is at their largest target */
    double penalty;          /* the batch_decay term */
} mlp_epoch_stats;

/* --- the functions' types (the functions themselves are the macros further down) ------ */

typedef Py_ssize_t (*mlp_n_params_fn)(const Py_ssize_t *sizes, Py_ssize_t n_layers);
typedef Py_ssize_t (*mlp_work_size_fn)(const Py_ssize_t *sizes, Py_ssize_t n_layers,
                                       Py_ssize_t block);
typedef void (*mlp_sigmoid_fn)(double *x, Py_ssize_t n);
typedef int (*mlp_predict_fn)(const double *params, const Py_ssize_t *sizes,
                              Py_ssize_t n_layers, const int *activations, const double *x,
                              Py_ssize_t n, double *out, double *work, Py_ssize_t block);
typedef int (*mlp_gradient_fn)(const double *params, const Py_ssize_t *sizes,
                               Py_ssize_t n_layers, const int *activations, const double *x,
                               const double *y, const double *weights, Py_ssize_t n, int cost,
                               double *out, double alpha, double *cost_sum, double *work,
                               Py_ssize_t block);
typedef int (*mlp_sgd_step_fn)(double *params, const Py_ssize_t *sizes, Py_ssize_t n_layers,
                               const int *activations, const double *x, const double *y,
                               Py_ssize_t m, double eta, double *cost, double *work);
typedef int (*mlp_sgd_epoch_fn)(double *params, const Py_ssize_t *sizes, Py_ssize_t n_layers,
                                const int *activations, const double *x, const double *y,
                                Py_ssize_t rows, const Py_ssize_t *order, Py_ssize_t n,
                                Py_ssize_t batch, double eta, double *cost, double *work);
typedef int (*mlp_train_epoch_fn)(double *params, mlp_optimizer_state *state,
                                  const Py_ssize_t *sizes, Py_ssize_t n_layers,
                                  const int *activations, const double *x, const double *y,
                                  const double *weights, Py_ssize_t rows,
                                  const Py_ssize_t *order, Py_ssize_t n, Py_ssize_t batch,
                                  const mlp_train_options *options, mlp_epoch_stats *stats,
                                  double *work);

/* --- the capsule's table: what mlp._core fills in (_capi.pxi) and import_mlp() reads --- */

enum mlp_api_slot {
    MLP_SLOT_VERSION = 0,    /* MLP_C_API_VERSION of the installed mlp, as an intptr_t */
    MLP_SLOT_LAYOUT,         /* const Py_ssize_t*: MLP_LAYOUT_LENGTH numbers, see below */
    MLP_SLOT_N_PARAMS,
    MLP_SLOT_PREDICT_WORK_SIZE,
    MLP_SLOT_GRADIENT_WORK_SIZE,
    MLP_SLOT_EPOCH_WORK_SIZE,
    MLP_SLOT_SIGMOID,
    MLP_SLOT_PREDICT,
    MLP_SLOT_GRADIENT,
    MLP_SLOT_SGD_STEP,
    MLP_SLOT_SGD_EPOCH,
    MLP_SLOT_TRAIN_EPOCH,
    MLP_N_SLOTS
};

/* The layout: every enum value, then each struct's size and its fields' offsets, in the
 * order declared above. import_mlp() refuses a table whose layout differs from this. */
#define MLP_LAYOUT_ENTRIES(X)                                                               \
    X(MLP_OK) X(MLP_ERR_SIZES) X(MLP_ERR_ROWS) X(MLP_ERR_ORDER) X(MLP_ERR_OPTIONS)          \
    X(MLP_ERR_ACTIVATION) X(MLP_SIGMOID) X(MLP_TANH) X(MLP_RELU) X(MLP_IDENTITY)            \
    X(MLP_SOFTMAX) X(MLP_EXP) X(MLP_QUADRATIC) X(MLP_CROSS_ENTROPY) X(MLP_POISSON)          \
    X(MLP_SGD) X(MLP_ADAM)                                                                   \
    X(sizeof(mlp_train_options)) X(offsetof(mlp_train_options, eta))                         \
    X(offsetof(mlp_train_options, cost)) X(offsetof(mlp_train_options, weight_decay))        \
    X(offsetof(mlp_train_options, momentum)) X(offsetof(mlp_train_options, nesterov))        \
    X(offsetof(mlp_train_options, optimizer)) X(offsetof(mlp_train_options, beta1))          \
    X(offsetof(mlp_train_options, beta2)) X(offsetof(mlp_train_options, epsilon))            \
    X(offsetof(mlp_train_options, batch_decay))                                              \
    X(sizeof(mlp_optimizer_state)) X(offsetof(mlp_optimizer_state, velocity))                \
    X(offsetof(mlp_optimizer_state, m)) X(offsetof(mlp_optimizer_state, v))                  \
    X(offsetof(mlp_optimizer_state, t))                                                      \
    X(sizeof(mlp_epoch_stats)) X(offsetof(mlp_epoch_stats, cost))                            \
    X(offsetof(mlp_epoch_stats, correct)) X(offsetof(mlp_epoch_stats, penalty))
#define MLP_LAYOUT_LENGTH 37

#ifndef MLP_CORE_BUILD   /* everything below is for extensions, not for mlp._core itself */

#if defined(MLP_API_UNIQUE_SYMBOL)
#define MLP_API MLP_API_UNIQUE_SYMBOL
#if defined(MLP_NO_IMPORT)
extern void **MLP_API;
#else
void **MLP_API = NULL;
#endif
#else
static void **MLP_API = NULL;
#endif

#define mlp_n_params (*(mlp_n_params_fn)MLP_API[MLP_SLOT_N_PARAMS])
#define mlp_predict_work_size (*(mlp_work_size_fn)MLP_API[MLP_SLOT_PREDICT_WORK_SIZE])
#define mlp_gradient_work_size (*(mlp_work_size_fn)MLP_API[MLP_SLOT_GRADIENT_WORK_SIZE])
#define mlp_epoch_work_size (*(mlp_work_size_fn)MLP_API[MLP_SLOT_EPOCH_WORK_SIZE])
#define mlp_sigmoid (*(mlp_sigmoid_fn)MLP_API[MLP_SLOT_SIGMOID])
#define mlp_predict (*(mlp_predict_fn)MLP_API[MLP_SLOT_PREDICT])
#define mlp_gradient (*(mlp_gradient_fn)MLP_API[MLP_SLOT_GRADIENT])
#define mlp_sgd_step (*(mlp_sgd_step_fn)MLP_API[MLP_SLOT_SGD_STEP])
#define mlp_sgd_epoch (*(mlp_sgd_epoch_fn)MLP_API[MLP_SLOT_SGD_EPOCH])
#define mlp_train_epoch (*(mlp_train_epoch_fn)MLP_API[MLP_SLOT_TRAIN_EPOCH])

#if !defined(MLP_NO_IMPORT)

/* The first entry where the installed mlp's layout differs from this header's, or -1. */
Py_LOCAL_INLINE(int) mlp_layout_differs_(const Py_ssize_t *theirs)
{
#define MLP_LAYOUT_VALUE_(value) (Py_ssize_t)(value),
    static const Py_ssize_t ours[MLP_LAYOUT_LENGTH] = {MLP_LAYOUT_ENTRIES(MLP_LAYOUT_VALUE_)};
#undef MLP_LAYOUT_VALUE_
    int i;
    if (theirs[0] != MLP_LAYOUT_LENGTH) return 0;
    for (i = 0; i < MLP_LAYOUT_LENGTH; i++)
        if (theirs[i + 1] != ours[i]) return i;
    return -1;
}

/* Binds the functions above to the installed mlp. Call it once, in the module's init:
 * 0 on success; -1 with a Python exception set (ImportError when mlp cannot be imported or
 * was built for another version of this API). */
Py_LOCAL_INLINE(int) import_mlp(void)
{
    PyObject *core, *capsule;
    void **table;
    Py_ssize_t version;
    int differs;

    core = PyImport_ImportModule("mlp._core");
    if (core == NULL) return -1;
    capsule = PyObject_GetAttrString(core, "_C_API");
    Py_DECREF(core);
    if (capsule == NULL) return -1;
    table = (void **)PyCapsule_GetPointer(capsule, "mlp._core._C_API");
    Py_DECREF(capsule);
    if (table == NULL) return -1;
    version = (Py_ssize_t)(intptr_t)table[MLP_SLOT_VERSION];
    if (version != MLP_C_API_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "this extension was compiled against mlp's C API version %d, but the "
                     "installed mlp has version %zd: rebuild the extension against the "
                     "installed mlp (mlp.get_include()), or install an mlp with version %d",
                     MLP_C_API_VERSION, version, MLP_C_API_VERSION);
        return -1;
    }
    differs = mlp_layout_differs_((const Py_ssize_t *)table[MLP_SLOT_LAYOUT]);
    if (differs >= 0) {
        PyErr_Format(PyExc_ImportError,
                     "mlp.h does not match the installed mlp's _core.pxd (layout entry %d "
                     "of mlp.h's MLP_LAYOUT_ENTRIES differs): rebuild the extension against "
                     "the installed mlp (mlp.get_include())", differs);
        return -1;
    }
    MLP_API = table;
    return 0;
}

#endif /* !MLP_NO_IMPORT */
#endif /* !MLP_CORE_BUILD */

#ifdef __cplusplus
}
#endif

#endif /* MLP_MLP_H */
