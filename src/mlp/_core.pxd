# mlp._core — the public C-level API of mlp's compiled kernels.
#
#     from mlp cimport _core        (or: cimport mlp._core)
#
# Layout. A network with L = n_layers >= 1 layers has sizes[0..L], input size first. All of
# its parameters live in one contiguous float64 vector `params`, layer after layer:
#     W_1 (sizes[0] x sizes[1], row-major), b_1 (sizes[1]), W_2 (sizes[1] x sizes[2]), b_2, ...
# W_l[i, j] connects input neuron i to output neuron j, so layer l computes
#     a_l = f_l(b_l + a_{l-1} @ W_l),   a_0 = x,
# with f_l the activation activations[l-1] (an mlp_activation; activations may be NULL:
# every layer a sigmoid, sig(z) = 1/(1+exp(-z)), the seed's network). The cost of one sample
# is an mlp_cost; the seed's is C = 1/2 sum_j (a_L[j] - y[j])^2. Samples are rows of
# row-major (C-contiguous) float64 matrices. An MLP's `params` (float64), `sizes_array`
# (intp, i.e. Py_ssize_t) and `activation_codes` (int) are exactly these buffers.
#
# Promises. Every function is `noexcept nogil`, allocates nothing, keeps no state between
# calls and touches only the buffers it is given: it is reentrant, and calls may run
# concurrently from any number of threads as long as no buffer one of them writes is read
# or written by another. The caller allocates `work` (the *_work_size functions say how
# many doubles) and every other buffer at the documented size, aligned for its type.
#
# Errors. Functions returning int give MLP_OK (0) or a negative mlp_status and then have
# written nothing; *_work_size and mlp_n_params return -1 for invalid sizes.

cdef enum:
    # The version of this API. It grows by one whenever a declaration here changes in a
    # way that needs extensions compiled against it to be rebuilt. 2: activations, costs
    # for every output, Adam. 3: sample weights, scikit-learn's L2 (batch_decay), the
    # exp output with the Poisson cost, momentum up to 1.
    MLP_C_API_VERSION = 3

cdef enum mlp_status:
    MLP_OK = 0
    MLP_ERR_SIZES = -1      # n_layers < 1, or a layer size outside [1, INT_MAX]
    MLP_ERR_ROWS = -2       # a row count < 0, or a block, batch or m outside [1, INT_MAX]
    MLP_ERR_ORDER = -3      # an index in `order` outside [0, rows)
    MLP_ERR_OPTIONS = -4    # an mlp_train_options field out of range (see mlp_train_epoch)
    MLP_ERR_ACTIVATION = -5 # an activation code that a layer cannot have, or a cost that
                            # does not go with the output (see mlp_cost)

cdef enum mlp_activation:
    MLP_SIGMOID = 0         # a = 1/(1+exp(-z)), da/dz = a(1-a): hidden or output (the seed's)
    MLP_TANH = 1            # a = tanh(z), da/dz = 1-a^2: hidden layers
    MLP_RELU = 2            # a = max(z, 0), da/dz = [a > 0]: hidden layers
    MLP_IDENTITY = 3        # a = z, da/dz = 1: hidden or output (regression)
    MLP_SOFTMAX = 4         # a_j = exp(z_j - max z) / sum_k exp(z_k - max z): output only
    MLP_EXP = 5             # a = exp(z): output only (Poisson regression, a log link)

cdef enum mlp_cost:
    MLP_QUADRATIC = 0       # C = 1/2 sum_j (a_j - y_j)^2; with a sigmoid output the output
                            # delta is (a - y) a (1 - a), with an identity output a - y
    MLP_CROSS_ENTROPY = 1   # sigmoid output: C = -sum_j y_j ln a_j + (1 - y_j) ln(1 - a_j);
                            # softmax output: C = -sum_j y_j ln a_j; the delta is a - y.
                            # (a is clipped to [eps, 1 - eps] in the logarithms.)
    MLP_POISSON = 2         # exp output: half the Poisson deviance,
                            # C = sum_j y_j ln(y_j / a_j) - y_j + a_j (0 ln 0 = 0); delta a - y

cdef enum mlp_optimizer:
    MLP_SGD = 0             # SGD, with momentum and Nesterov's momentum as options
    MLP_ADAM = 1            # Kingma and Ba's Adam

# How mlp_train_epoch steps. A zero-initialised struct with eta set is the seed's plain SGD
# (its cost, MLP_QUADRATIC, goes with sigmoid and identity outputs; set MLP_CROSS_ENTROPY for
# a softmax output, or use mlp_sgd_epoch, which takes the output's own cost).
cdef struct mlp_train_options:
    double eta              # learning rate, finite, > 0
    int cost                # an mlp_cost that goes with the output
    double weight_decay     # L2: the cost gains weight_decay/2 sum W^2 (network2's lambda/n);
                            # finite, >= 0; biases are not decayed
    double momentum         # SGD: mu in [0, 1]; 0 is plain SGD. Adam: 0
    int nesterov            # SGD: nonzero for Nesterov's momentum (no effect when momentum
                            # is 0). Adam: 0
    int optimizer           # an mlp_optimizer
    double beta1            # Adam: decay of the first moment, in [0, 1)
    double beta2            # Adam: decay of the second moment, in [0, 1)
    double epsilon          # Adam: added to sqrt(v), finite, > 0
    double batch_decay      # L2 as scikit-learn's alpha: a mini-batch's gradient gains
                            # batch_decay/S W, S the sum of its rows' weights (without
                            # weights: its row count), and its cost batch_decay/(2S) sum W^2;
                            # finite, >= 0; biases are not decayed. Adds to weight_decay.

# What the optimizer carries from mini-batch to mini-batch and call to call, each buffer
# laid out like params and zeros to start. NULL buffers are those the options don't use.
cdef struct mlp_optimizer_state:
    double* velocity        # SGD with momentum > 0: v
    double* m               # Adam: first moments
    double* v               # Adam: second moments
    long long t             # Adam: mini-batch steps taken so far (0 to start)

# What an epoch measured, over its n rows, each before its mini-batch's step. A mini-batch
# of m rows with weights s_i (all 1 without weights) and S = sum s_i counts m/S times its
# weighted sums: without weights, plain sums over the rows.
cdef struct mlp_epoch_stats:
    double cost             # sum of s_i C_i (the data term, without the L2 term)
    Py_ssize_t correct      # rows whose largest output is at their largest target (unweighted)
    double penalty          # sum over mini-batches of m batch_decay/(2S) sum W^2 (the
                            # batch_decay term; 0 when batch_decay is 0)

# --- sizes ---------------------------------------------------------------------------

# sum_l sizes[l-1]*sizes[l] + sizes[l]: the length of `params`; -1 for invalid sizes.
cdef Py_ssize_t mlp_n_params(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil

# Doubles of `work` that mlp_predict needs with blocks of `block` rows (block >= 1).
cdef Py_ssize_t mlp_predict_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                      Py_ssize_t block) noexcept nogil

# Doubles of `work` that mlp_gradient needs with blocks of `block` rows, and that
# mlp_sgd_step needs for a batch of `block` rows (block >= 1).
cdef Py_ssize_t mlp_gradient_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                       Py_ssize_t block) noexcept nogil

# Doubles of `work` that mlp_sgd_epoch and mlp_train_epoch need with mini-batches of
# `batch` rows (batch >= 1).
cdef Py_ssize_t mlp_epoch_work_size(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                    Py_ssize_t batch) noexcept nogil

# --- kernels -------------------------------------------------------------------------

# x[k] := sig(x[k]), in place; finite for every finite input. x: (n,).
cdef void mlp_sigmoid(double* x, Py_ssize_t n) noexcept nogil

# out := a_L(x), the output activations, computed `block` rows at a time.
# params: (mlp_n_params); activations: (n_layers) or NULL; x: (n, sizes[0]);
# out: (n, sizes[L]); work: (mlp_predict_work_size(sizes, n_layers, block)).
# n >= 0, 1 <= block <= INT_MAX.
cdef int mlp_predict(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                     const int* activations, const double* x, Py_ssize_t n, double* out,
                     double* work, Py_ssize_t block) noexcept nogil

# out := out + alpha * sum over the n rows of s_i dC_i/dparams (alpha = 1/n: the mean
# gradient) for the cost `cost` (an mlp_cost); *cost_sum := sum over the rows of s_i C_i
# (may be NULL); s_i = weights[i], or 1 when weights is NULL.
# Computed `block` rows at a time. params, out: (mlp_n_params), distinct; activations:
# (n_layers) or NULL; x: (n, sizes[0]); y: (n, sizes[L]); weights: (n) or NULL;
# work: (mlp_gradient_work_size(sizes, n_layers, block)). n >= 0, 1 <= block <= INT_MAX.
cdef int mlp_gradient(const double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* activations, const double* x, const double* y,
                      const double* weights, Py_ssize_t n, int cost, double* out,
                      double alpha, double* cost_sum, double* work,
                      Py_ssize_t block) noexcept nogil

# One SGD step on a batch of m rows with the output's own cost (quadratic, or cross-entropy
# for a softmax output): params -= eta/m * sum over the rows of dC/dparams;
# *cost := sum over the rows of C before the step (cost may be NULL).
# params: (mlp_n_params); activations: (n_layers) or NULL; x: (m, sizes[0]);
# y: (m, sizes[L]); work: (mlp_gradient_work_size(sizes, n_layers, m)). 1 <= m <= INT_MAX.
cdef int mlp_sgd_step(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                      const int* activations, const double* x, const double* y,
                      Py_ssize_t m, double eta, double* cost, double* work) noexcept nogil

# One epoch of mini-batch SGD over the rows order[0..n) of x and y: consecutive
# mini-batches of `batch` rows (the last may be shorter), each an mlp_sgd_step.
# *cost := sum over the n rows of C, each before its mini-batch's step (may be NULL).
# params: (mlp_n_params); activations: (n_layers) or NULL; x: (rows, sizes[0]);
# y: (rows, sizes[L]); order: (n,) indices in [0, rows), checked before anything is
# written; work: (mlp_epoch_work_size(sizes, n_layers, batch)). n >= 0,
# 1 <= batch <= INT_MAX.
cdef int mlp_sgd_epoch(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                       const int* activations, const double* x, const double* y,
                       Py_ssize_t rows, const Py_ssize_t* order, Py_ssize_t n,
                       Py_ssize_t batch, double eta, double* cost,
                       double* work) noexcept nogil

# mlp_sgd_epoch with the options of `options` and optional row weights s_i = weights[row]
# (weights: (rows) or NULL, all 1). A mini-batch of m rows with S = sum s_i and gradient
# g = 1/S sum_rows s_i dC_i/dparams + (weight_decay + batch_decay/S) W (weights; biases: no
# decay term) steps
#     SGD, momentum == 0:  params -= eta g
#     SGD, momentum  > 0:  v := momentum v - eta g;  params += v
#                          (nesterov: params += momentum v - eta g, with the new v)
#     Adam:                t += 1;  m := beta1 m + (1 - beta1) g;  v := beta2 v + (1 - beta2) g^2;
#                          params -= eta sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + epsilon)
# state: the buffers the options use (velocity with momentum; m, v and t with Adam), carried
# across calls; may be NULL for plain SGD. stats (may be NULL) := what the epoch measured.
# Returns MLP_ERR_OPTIONS for an option out of range (or a state buffer missing),
# MLP_ERR_ACTIVATION for activations or a cost that do not go together, and otherwise as
# mlp_sgd_epoch.
cdef int mlp_train_epoch(double* params, mlp_optimizer_state* state,
                         const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         const int* activations, const double* x, const double* y,
                         const double* weights, Py_ssize_t rows, const Py_ssize_t* order,
                         Py_ssize_t n, Py_ssize_t batch, const mlp_train_options* options,
                         mlp_epoch_stats* stats, double* work) noexcept nogil
