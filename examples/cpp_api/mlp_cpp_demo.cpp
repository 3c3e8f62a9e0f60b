// mlp_cpp_demo: calling mlp's compiled kernels from C++ (pybind11), through mlp.h.
//
// An mlp.MLP is used as it is: its params, sizes_array and activation_codes are exactly the
// buffers the C API takes, so the extension reads them without copying.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mlp/mlp.h"

namespace py = pybind11;

using doubles = py::array_t<double, py::array::c_style>;

namespace {

// A ValueError naming the mlp_status unless status is MLP_OK.
void check(int status, const char *function) {
    if (status != MLP_OK)
        throw py::value_error(std::string(function) + " failed with mlp_status " +
                              std::to_string(status));
}

// The network's buffers, borrowed from an mlp.MLP and checked against each other.
struct Network {
    doubles params;
    py::array_t<Py_ssize_t, py::array::c_style> sizes;
    py::array_t<int, py::array::c_style> units;
    Py_ssize_t n_layers;

    explicit Network(const py::object &net)
        : params(net.attr("params").cast<doubles>()),
          sizes(net.attr("sizes_array")
                    .cast<py::array_t<Py_ssize_t, py::array::c_style>>()),
          units(net.attr("activation_codes").cast<py::array_t<int, py::array::c_style>>()),
          n_layers(static_cast<Py_ssize_t>(sizes.size()) - 1) {
        if (mlp_n_params(sizes.data(), n_layers) != static_cast<Py_ssize_t>(params.size()) ||
            units.size() != n_layers)
            throw py::value_error("net: params, sizes_array and activation_codes disagree");
    }
    Py_ssize_t n_in() const { return sizes.at(0); }
    Py_ssize_t n_out() const { return sizes.at(n_layers); }
};

// A (rows, cols) matrix, or a ValueError naming it.
void check_matrix(const doubles &a, Py_ssize_t cols, const char *name) {
    if (a.ndim() != 2 || a.shape(1) != cols)
        throw py::value_error(std::string(name) + ": expected a matrix of " +
                              std::to_string(cols) + " columns");
}

// net.predict(X), computed by mlp_predict.
doubles predict(const py::object &net_obj, const doubles &X) {
    Network net(net_obj);
    check_matrix(X, net.n_in(), "X");
    const Py_ssize_t n = X.shape(0), block = 256;
    doubles out({n, net.n_out()});
    std::vector<double> work(mlp_predict_work_size(net.sizes.data(), net.n_layers, block) + 1);
    int status;
    {
        py::gil_scoped_release unlocked;
        status = mlp_predict(net.params.data(), net.sizes.data(), net.n_layers,
                             net.units.data(), X.data(), n, out.mutable_data(), work.data(),
                             block);
    }
    check(status, "mlp_predict");
    return out;
}

// (mean cost, mean gradient laid out like params) of the rows of X and Y, by mlp_gradient.
py::tuple gradient(const py::object &net_obj, const doubles &X, const doubles &Y, int cost) {
    Network net(net_obj);
    check_matrix(X, net.n_in(), "X");
    check_matrix(Y, net.n_out(), "Y");
    const Py_ssize_t n = X.shape(0), block = 64;
    if (Y.shape(0) != n || n == 0)
        throw py::value_error("X and Y: the same number of rows, at least one");
    doubles grad(net.params.size());
    std::fill(grad.mutable_data(), grad.mutable_data() + grad.size(), 0.0);
    std::vector<double> work(mlp_gradient_work_size(net.sizes.data(), net.n_layers, block) + 1);
    double cost_sum = 0.0;
    int status;
    {
        py::gil_scoped_release unlocked;
        status = mlp_gradient(net.params.data(), net.sizes.data(), net.n_layers,
                              net.units.data(), X.data(), Y.data(), nullptr, n, cost,
                              grad.mutable_data(), 1.0 / static_cast<double>(n), &cost_sum,
                              work.data(), block);
    }
    check(status, "mlp_gradient");
    return py::make_tuple(cost_sum / static_cast<double>(n), grad);
}

// Trains net in place: `epochs` epochs of Adam over the rows `order` of X and Y each
// (mlp_train_epoch), the moments carried from epoch to epoch. Returns each epoch's cost.
std::vector<double> fit_adam(py::object net_obj, const doubles &X, const doubles &Y,
                             py::array_t<Py_ssize_t, py::array::c_style> order, int epochs,
                             Py_ssize_t batch, double eta, int cost) {
    Network net(net_obj);
    if (!net.params.is(net_obj.attr("params")))  // a converted copy would train in vain
        throw py::value_error("net.params: not a C-contiguous float64 array");
    check_matrix(X, net.n_in(), "X");
    check_matrix(Y, net.n_out(), "Y");
    if (Y.shape(0) != X.shape(0)) throw py::value_error("X and Y: the same number of rows");
    const Py_ssize_t work_size = mlp_epoch_work_size(net.sizes.data(), net.n_layers, batch);
    if (work_size < 0) throw py::value_error("batch: must be in [1, INT_MAX]");
    std::vector<double> work(work_size + 1), m(net.params.size()), v(net.params.size());
    mlp_train_options options{};
    options.eta = eta;
    options.cost = cost;
    options.optimizer = MLP_ADAM;
    options.beta1 = 0.9;
    options.beta2 = 0.999;
    options.epsilon = 1e-8;
    mlp_optimizer_state state{};
    state.m = m.data();
    state.v = v.data();
    std::vector<double> costs;
    for (int e = 0; e < epochs; e++) {
        mlp_epoch_stats stats{};
        int status;
        {
            py::gil_scoped_release unlocked;
            status = mlp_train_epoch(net.params.mutable_data(), &state, net.sizes.data(),
                                     net.n_layers, net.units.data(), X.data(), Y.data(),
                                     nullptr, X.shape(0), order.data(), order.size(), batch,
                                     &options, &stats, work.data());
        }
        check(status, "mlp_train_epoch");
        costs.push_back(stats.cost / static_cast<double>(order.size()));
    }
    return costs;
}

}  // namespace

PYBIND11_MODULE(mlp_cpp_demo, m) {
    if (import_mlp() < 0) throw py::error_already_set();  // binds mlp_predict & co.
    m.doc() = "mlp's kernels from C++, through mlp/mlp.h";
    m.attr("C_API_VERSION") = MLP_C_API_VERSION;
    m.attr("QUADRATIC") = static_cast<int>(MLP_QUADRATIC);
    m.attr("CROSS_ENTROPY") = static_cast<int>(MLP_CROSS_ENTROPY);
    m.def("predict", &predict, py::arg("net"), py::arg("X"),
          "net.predict(X), computed by mlp_predict");
    m.def("gradient", &gradient, py::arg("net"), py::arg("X"), py::arg("Y"), py::arg("cost"),
          "(mean cost, mean gradient laid out like net.params), by mlp_gradient");
    m.def("fit_adam", &fit_adam, py::arg("net"), py::arg("X"), py::arg("Y"), py::arg("order"),
          py::arg("epochs"), py::arg("batch"), py::arg("eta"), py::arg("cost"),
          "epochs of Adam over the rows `order`, in place on net.params; each epoch's cost");
}
