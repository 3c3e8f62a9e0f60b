/* mlp_c_demo: calling mlp's compiled kernels from a plain C extension, through mlp.h.
 *
 * Buffers come in through Python's buffer protocol (numpy arrays, memoryviews, ...), so
 * the extension needs neither Cython nor numpy's C API. Every length a kernel relies on is
 * checked here first: a wrong buffer raises ValueError, it is never read out of bounds. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "mlp/mlp.h"

/* A C-contiguous buffer of `count` items of the C type with format `format` ("d": double,
 * "i": int, "n": Py_ssize_t), or NULL with a ValueError naming `name`. */
static int get_buffer(PyObject *obj, Py_buffer *view, char format, Py_ssize_t itemsize,
                      Py_ssize_t count, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    const char *f;
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    f = view->format ? view->format : "B";
    if (f[0] == '=' || f[0] == '@' || f[0] == '<') f++;   /* native order, native size */
    if (view->itemsize != itemsize || f[1] != '\0' ||
        !(f[0] == format || (format == 'n' && (f[0] == 'l' || f[0] == 'q')))) {
        PyErr_Format(PyExc_ValueError, "%s: expected items of format '%c' (%zd bytes), got "
                     "'%s' (%zd bytes)", name, format, itemsize, view->format, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    if (count >= 0 && view->len / itemsize != count) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", name, count,
                     view->len / itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* NULL with a ValueError naming the mlp_status unless status is MLP_OK. */
static PyObject *status_error(int status, const char *function)
{
    static const char *names[] = {"MLP_OK", "MLP_ERR_SIZES", "MLP_ERR_ROWS", "MLP_ERR_ORDER",
                                  "MLP_ERR_OPTIONS", "MLP_ERR_ACTIVATION"};
    const char *name = (status <= 0 && status >= MLP_ERR_ACTIVATION) ? names[-status] : "?";
    PyErr_Format(PyExc_ValueError, "%s failed: %s (%d)", function, name, status);
    return NULL;
}

/* The network's buffers: params, sizes and activations, checked against each other. */
typedef struct {
    Py_buffer params, sizes, units;
    Py_ssize_t n_layers, n_in, n_out;
} network;

static void release_network(network *net)
{
    if (net->params.obj) PyBuffer_Release(&net->params);
    if (net->sizes.obj) PyBuffer_Release(&net->sizes);
    if (net->units.obj) PyBuffer_Release(&net->units);
}

static int get_network(network *net, PyObject *params, PyObject *sizes, PyObject *units,
                       int writable)
{
    Py_ssize_t n;
    memset(net, 0, sizeof *net);
    if (get_buffer(sizes, &net->sizes, 'n', sizeof(Py_ssize_t), -1, 0, "sizes") < 0) return -1;
    net->n_layers = net->sizes.len / (Py_ssize_t)sizeof(Py_ssize_t) - 1;
    n = mlp_n_params((const Py_ssize_t *)net->sizes.buf, net->n_layers);
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "sizes: at least two layer sizes, each >= 1");
        release_network(net);
        return -1;
    }
    net->n_in = ((const Py_ssize_t *)net->sizes.buf)[0];
    net->n_out = ((const Py_ssize_t *)net->sizes.buf)[net->n_layers];
    if (get_buffer(params, &net->params, 'd', sizeof(double), n, writable, "params") < 0 ||
        get_buffer(units, &net->units, 'i', sizeof(int), net->n_layers, 0, "activations") < 0) {
        release_network(net);
        return -1;
    }
    return 0;
}

/* Rows of a (rows, cols) matrix buffer, or -1 with a ValueError. */
static Py_ssize_t matrix_rows(Py_buffer *view, Py_ssize_t cols, const char *name)
{
    Py_ssize_t items = view->len / (Py_ssize_t)sizeof(double);
    if (items % cols != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd values are not rows of %zd", name, items, cols);
        return -1;
    }
    return items / cols;
}

PyDoc_STRVAR(predict_doc, "predict(params, sizes, activations, x, out)\n\n"
             "out := the network's outputs for the rows of x (mlp_predict).");

static PyObject *predict(PyObject *self, PyObject *args)
{
    PyObject *p, *s, *u, *xo, *oo, *result = NULL;
    Py_buffer x = {0}, out = {0};
    network net;
    Py_ssize_t n, work_size, block = 256;
    double *work = NULL;
    int status;
    if (!PyArg_ParseTuple(args, "OOOOO", &p, &s, &u, &xo, &oo)) return NULL;
    if (get_network(&net, p, s, u, 0) < 0) return NULL;
    if (get_buffer(xo, &x, 'd', sizeof(double), -1, 0, "x") < 0) goto done;
    if ((n = matrix_rows(&x, net.n_in, "x")) < 0) goto done;
    if (get_buffer(oo, &out, 'd', sizeof(double), n * net.n_out, 1, "out") < 0) goto done;
    work_size = mlp_predict_work_size((const Py_ssize_t *)net.sizes.buf, net.n_layers, block);
    if (!(work = PyMem_RawMalloc((size_t)(work_size + 1) * sizeof(double)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    status = mlp_predict((const double *)net.params.buf, (const Py_ssize_t *)net.sizes.buf,
                         net.n_layers, (const int *)net.units.buf, (const double *)x.buf, n,
                         (double *)out.buf, work, block);
    Py_END_ALLOW_THREADS
    result = status == MLP_OK ? Py_NewRef(Py_None) : status_error(status, "mlp_predict");
done:
    PyMem_RawFree(work);
    if (x.obj) PyBuffer_Release(&x);
    if (out.obj) PyBuffer_Release(&out);
    release_network(&net);
    return result;
}

PyDoc_STRVAR(gradient_doc, "gradient(params, sizes, activations, x, y, cost, out) -> float\n\n"
             "out := the mean gradient of the cost (an mlp_cost) over the rows of x and y;\n"
             "returns the sum of the rows' costs (mlp_gradient).");

static PyObject *gradient(PyObject *self, PyObject *args)
{
    PyObject *p, *s, *u, *xo, *yo, *oo, *result = NULL;
    Py_buffer x = {0}, y = {0}, out = {0};
    network net;
    Py_ssize_t n, work_size, block = 64;
    double *work = NULL, cost_sum = 0.0;
    int cost, status;
    if (!PyArg_ParseTuple(args, "OOOOOiO", &p, &s, &u, &xo, &yo, &cost, &oo)) return NULL;
    if (get_network(&net, p, s, u, 0) < 0) return NULL;
    if (get_buffer(xo, &x, 'd', sizeof(double), -1, 0, "x") < 0) goto done;
    if ((n = matrix_rows(&x, net.n_in, "x")) < 0) goto done;
    if (get_buffer(yo, &y, 'd', sizeof(double), n * net.n_out, 0, "y") < 0) goto done;
    if (get_buffer(oo, &out, 'd', sizeof(double), net.params.len / (Py_ssize_t)sizeof(double),
                   1, "out") < 0) goto done;
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "x: no rows");
        goto done;
    }
    work_size = mlp_gradient_work_size((const Py_ssize_t *)net.sizes.buf, net.n_layers, block);
    if (!(work = PyMem_RawMalloc((size_t)(work_size + 1) * sizeof(double)))) {
        PyErr_NoMemory();
        goto done;
    }
    memset(out.buf, 0, (size_t)out.len);
    Py_BEGIN_ALLOW_THREADS
    status = mlp_gradient((const double *)net.params.buf, (const Py_ssize_t *)net.sizes.buf,
                          net.n_layers, (const int *)net.units.buf, (const double *)x.buf,
                          (const double *)y.buf, NULL, n, cost, (double *)out.buf,
                          1.0 / (double)n, &cost_sum, work, block);
    Py_END_ALLOW_THREADS
    result = status == MLP_OK ? PyFloat_FromDouble(cost_sum) : status_error(status,
                                                                             "mlp_gradient");
done:
    PyMem_RawFree(work);
    if (x.obj) PyBuffer_Release(&x);
    if (y.obj) PyBuffer_Release(&y);
    if (out.obj) PyBuffer_Release(&out);
    release_network(&net);
    return result;
}

PyDoc_STRVAR(train_epoch_doc,
             "train_epoch(params, sizes, activations, x, y, order, batch, eta, cost,\n"
             "            momentum=0.0, velocity=None) -> (float, int)\n\n"
             "One epoch of mini-batch SGD over the rows order of x and y, in place on params\n"
             "(mlp_train_epoch); velocity, laid out like params, carries momentum between\n"
             "calls. Returns the epoch's summed cost and its count of correct rows.");

static PyObject *train_epoch(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"params", "sizes", "activations", "x", "y", "order", "batch",
                               "eta", "cost", "momentum", "velocity", NULL};
    PyObject *p, *s, *u, *xo, *yo, *ro, *vo = Py_None, *result = NULL;
    Py_buffer x = {0}, y = {0}, order = {0}, velocity = {0};
    network net;
    Py_ssize_t rows, batch, work_size;
    double *work = NULL;
    mlp_train_options options;
    mlp_optimizer_state state;
    mlp_epoch_stats stats;
    int status;
    memset(&options, 0, sizeof options);
    memset(&state, 0, sizeof state);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOndi|dO", keywords, &p, &s, &u, &xo,
                                     &yo, &ro, &batch, &options.eta, &options.cost,
                                     &options.momentum, &vo))
        return NULL;
    if (get_network(&net, p, s, u, 1) < 0) return NULL;
    if (get_buffer(xo, &x, 'd', sizeof(double), -1, 0, "x") < 0) goto done;
    if ((rows = matrix_rows(&x, net.n_in, "x")) < 0) goto done;
    if (get_buffer(yo, &y, 'd', sizeof(double), rows * net.n_out, 0, "y") < 0) goto done;
    if (get_buffer(ro, &order, 'n', sizeof(Py_ssize_t), -1, 0, "order") < 0) goto done;
    if (vo != Py_None) {
        if (get_buffer(vo, &velocity, 'd', sizeof(double),
                       net.params.len / (Py_ssize_t)sizeof(double), 1, "velocity") < 0)
            goto done;
        state.velocity = (double *)velocity.buf;
    }
    work_size = mlp_epoch_work_size((const Py_ssize_t *)net.sizes.buf, net.n_layers, batch);
    if (work_size < 0) {
        PyErr_Format(PyExc_ValueError, "batch: must be in [1, INT_MAX], got %zd", batch);
        goto done;
    }
    if (!(work = PyMem_RawMalloc((size_t)(work_size + 1) * sizeof(double)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    status = mlp_train_epoch((double *)net.params.buf, &state, (const Py_ssize_t *)net.sizes.buf,
                             net.n_layers, (const int *)net.units.buf, (const double *)x.buf,
                             (const double *)y.buf, NULL, rows,
                             (const Py_ssize_t *)order.buf,
                             order.len / (Py_ssize_t)sizeof(Py_ssize_t), batch, &options,
                             &stats, work);
    Py_END_ALLOW_THREADS
    result = status == MLP_OK ? Py_BuildValue("(dn)", stats.cost, stats.correct)
                              : status_error(status, "mlp_train_epoch");
done:
    PyMem_RawFree(work);
    if (x.obj) PyBuffer_Release(&x);
    if (y.obj) PyBuffer_Release(&y);
    if (order.obj) PyBuffer_Release(&order);
    if (velocity.obj) PyBuffer_Release(&velocity);
    release_network(&net);
    return result;
}

static PyMethodDef methods[] = {
    {"predict", predict, METH_VARARGS, predict_doc},
    {"gradient", gradient, METH_VARARGS, gradient_doc},
    {"train_epoch", (PyCFunction)(void (*)(void))train_epoch, METH_VARARGS | METH_KEYWORDS,
     train_epoch_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mlp_c_demo", "mlp's kernels from plain C, through mlp/mlp.h.", -1,
    methods,
};

PyMODINIT_FUNC PyInit_mlp_c_demo(void)
{
    PyObject *m;
    if (import_mlp() < 0) return NULL;   /* binds mlp_predict & co., or raises ImportError */
    if (!(m = PyModule_Create(&module))) return NULL;
    if (PyModule_AddIntConstant(m, "C_API_VERSION", MLP_C_API_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "QUADRATIC", MLP_QUADRATIC) < 0 ||
        PyModule_AddIntConstant(m, "CROSS_ENTROPY", MLP_CROSS_ENTROPY) < 0 ||
        PyModule_AddIntConstant(m, "POISSON", MLP_POISSON) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
