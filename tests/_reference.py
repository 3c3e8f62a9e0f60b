"""An independent, plain per-sample implementation of the seed, for the tests only.

It shares no code with mlp: scalar Python loops over nested lists, written straight from the
seed's equations (``../shared/seed``), one sample at a time. Slow, and meant to be: it is
the yardstick the compiled kernels are checked against.

    a_j^(l)   = sig(b_j^(l) + sum_i w_ij^(l) a_i^(l-1)),  a^(0) = x
    C         = 1/2 sum_j (a_j^(L) - y_j)^2
    db_j^(L)  = (a_j^(L) - y_j) a_j^(L) (1 - a_j^(L))
    db_j^(l)  = da_j^(l) a_j^(l) (1 - a_j^(l))            for l < L
    dw_ij^(l) = db_j^(l) a_i^(l-1)
    da_i^(l-1) = sum_j db_j^(l) w_ij^(l)

Beyond the sigmoid (``forward_with`` to ``adam_epoch``): hidden layer l has its own f_l,
the output its own g, every derivative taken from the activation:

    z_j^(l)   = b_j^(l) + sum_i w_ij^(l) a_i^(l-1)
    a^(l)     = f_l(z^(l)) for l < L,  a^(L) = g(z^(L))
    f         sigmoid 1/(1+e^-z), f' = a(1-a);  tanh, f' = 1 - a^2;
              relu max(z, 0), f' = [a > 0] (0 at a = 0);  identity z, f' = 1
    g         sigmoid;  softmax exp(z_j - max z) / sum_k exp(z_k - max z);  identity
    C         quadratic      1/2 sum_j (a_j - y_j)^2           (sigmoid or identity output)
              cross_entropy  -sum_j y_j ln a_j + (1-y_j) ln(1-a_j)   (sigmoid output)
                             -sum_j y_j ln a_j                       (softmax output)
              (a clipped to [eps, 1-eps], or [eps, 1] for softmax, in the logarithms)
    db^(L)    (a - y) a (1 - a) for sigmoid + quadratic, else a - y  (softmax: rows of y sum
              to 1, for this to be the gradient of C)
    db_j^(l)  = da_j^(l) f_l'(a_j^(l))                     for l < L
    cost      mean_k C_k + l2/(2n) sum W^2;  gradient: mean_k grad C_k + l2/n W (weights)

A mini-batch of m of n rows steps with g = 1/m sum grad C (+ l2/n W for weights):

    SGD       w -= eta g;  momentum: v := mu v - eta g, w += v (Nesterov: w += mu v - eta g)
    Adam      t += 1; m := b1 m + (1-b1) g; v := b2 v + (1-b2) g^2;
              alpha_t = eta sqrt(1 - b2^t) / (1 - b1^t);
              w -= alpha_t m / (sqrt(v) + epsilon)
"""
import math
import sys


def sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def to_lists(weights, biases):
    """Nested Python lists from arrays: W[l][i][j], B[l][j]."""
    return ([[list(map(float, row)) for row in W] for W in weights],
            [list(map(float, b)) for b in biases])


def forward(W, B, x):
    """All activations [a0 = x, a1, ..., aL] of one sample."""
    acts = [list(map(float, x))]
    for Wl, bl in zip(W, B):
        prev = acts[-1]
        acts.append([
            sig(bl[j] + sum(Wl[i][j] * prev[i] for i in range(len(prev))))
            for j in range(len(bl))
        ])
    return acts


def cost(W, B, x, y):
    aL = forward(W, B, x)[-1]
    return 0.5 * sum((a - t) ** 2 for a, t in zip(aL, y))


def backprop(W, B, x, y, cost="quadratic"):
    """(dW, dB) of one sample, as the seed derives them, for any depth L >= 1. With
    cost="cross_entropy" the output delta is a - y instead of (a - y) a (1 - a)."""
    acts = forward(W, B, x)
    L = len(W)
    dW = [None] * L
    dB = [None] * L
    aL = acts[L]
    if cost == "quadratic":
        db = [(aL[j] - y[j]) * aL[j] * (1.0 - aL[j]) for j in range(len(aL))]
    else:
        db = [aL[j] - y[j] for j in range(len(aL))]
    for l in range(L, 0, -1):          # layer l has weights W[l-1]
        prev = acts[l - 1]
        dB[l - 1] = db
        dW[l - 1] = [[db[j] * prev[i] for j in range(len(db))] for i in range(len(prev))]
        if l > 1:
            da = [sum(db[j] * W[l - 1][i][j] for j in range(len(db))) for i in range(len(prev))]
            db = [da[i] * prev[i] * (1.0 - prev[i]) for i in range(len(prev))]
    return dW, dB


def mean_gradient(W, B, X, Y):
    """Mean over samples of the per-sample gradients."""
    n = len(X)
    gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
    gB = [[0.0] * len(bl) for bl in B]
    for x, y in zip(X, Y):
        dW, dB = backprop(W, B, x, y)
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    gW[l][i][j] += dW[l][i][j] / n
            for j in range(len(B[l])):
                gB[l][j] += dB[l][j] / n
    return gW, gB


# --- the training toolkit's options, straight from their definitions -------------------

def cross_entropy(W, B, x, y):
    aL = forward(W, B, x)[-1]
    return -sum(t * math.log(a) + (1 - t) * math.log(1 - a) for a, t in zip(aL, y))


def train_epoch(W, B, X, Y, order, batch_size, eta, *, cost="quadratic", l2=0.0, n=None,
                momentum=0.0, nesterov=False, VW=None, VB=None):
    """One epoch of the seed's sigmoid network with the toolkit's options, in place:
    ``sgd_epoch`` (below) with its velocity given as VW, VB."""
    velocity = (VW, VB) if momentum else None
    sgd_epoch(W, B, X, Y, order, batch_size, eta, cost, l2, n, momentum, nesterov, velocity)


# --- beyond the sigmoid: hidden activations, softmax and identity outputs, Adam ----------
#
# Written again from the equations in the module docstring, not by calling the functions
# above: test_reference.py checks that, for the seed's configuration, they agree exactly.

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "softmax", "identity")
#: The (output, cost) pairs whose output delta is the one in the docstring.
PAIRS = (("sigmoid", "quadratic"), ("identity", "quadratic"),
         ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"), ("exp", "poisson"))
EPS = sys.float_info.epsilon


def default_cost(output):
    """The cost that ``cost=None`` means: cross-entropy for softmax, Poisson for exp, else
    quadratic."""
    return {"softmax": "cross_entropy", "exp": "poisson"}.get(output, "quadratic")


def hidden_activations(activations, n_hidden):
    """The list of hidden activation names: ``None`` is the seed's sigmoid, a name is the
    same for every hidden layer, a list/tuple names each of the ``n_hidden`` layers."""
    if activations is None:
        activations = "sigmoid"
    if isinstance(activations, str):
        names = [activations] * n_hidden
    else:
        names = list(activations)
    if len(names) != n_hidden or any(name not in ACTIVATIONS for name in names):
        raise ValueError(f"reference: bad activations {activations!r} for {n_hidden} "
                         "hidden layers")
    return names


def activate(name, z):
    """f(z) of one neuron."""
    if name == "sigmoid":
        try:
            return 1.0 / (1.0 + math.exp(-z))
        except OverflowError:     # e^-z beyond float range: z < -709
            return 0.0
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0.0 else 0.0
    if name == "identity":
        return z
    raise ValueError(f"reference: unknown activation {name!r}")


def times_derivative(name, g, a):
    """g f'(z), with f' taken from the activation a = f(z): a(1-a), 1-a^2, [a > 0], 1.
    (Sigmoid as (g a)(1 - a), the order of the seed's functions above.)"""
    if name == "sigmoid":
        return g * a * (1.0 - a)
    if name == "tanh":
        return g * (1.0 - a * a)
    if name == "relu":
        return g if a > 0.0 else 0.0
    if name == "identity":
        return g
    raise ValueError(f"reference: unknown activation {name!r}")


def derivative(name, a):
    """f'(z) from the activation a = f(z)."""
    return times_derivative(name, 1.0, a)


def softmax(z):
    """exp(z_j - max z) / sum_k exp(z_k - max z): no overflow for any finite z."""
    top = max(z)
    e = [math.exp(v - top) for v in z]
    s = sum(e)
    return [v / s for v in e]


def forward_with(W, B, x, activations=None, output="sigmoid"):
    """All activations [a0 = x, a1, ..., aL] of one sample, with the hidden ``activations``
    (see ``hidden_activations``) and the ``output`` layer's."""
    names = hidden_activations(activations, len(W) - 1)
    acts = [list(map(float, x))]
    for l, (Wl, bl) in enumerate(zip(W, B)):
        prev = acts[-1]
        z = [bl[j] + sum(Wl[i][j] * prev[i] for i in range(len(prev)))
             for j in range(len(bl))]
        if l < len(W) - 1:
            acts.append([activate(names[l], v) for v in z])
        elif output == "softmax":
            acts.append(softmax(z))
        elif output == "exp":
            acts.append([math.exp(v) for v in z])
        elif output in ("sigmoid", "identity"):
            acts.append([activate(output, v) for v in z])
        else:
            raise ValueError(f"reference: unknown output {output!r}")
    return acts


def check_pair(output, cost):
    """The cost to use: ``cost``, or the output's default if None; the pair must be in
    PAIRS."""
    cost = default_cost(output) if cost is None else cost
    if (output, cost) not in PAIRS:
        raise ValueError(f"reference: {output} output with {cost} cost is not defined")
    return cost


def output_cost(aL, y, cost=None, output="sigmoid"):
    """C of one sample from its output activations."""
    cost = check_pair(output, cost)
    if cost == "quadratic":
        return 0.5 * sum((a - t) ** 2 for a, t in zip(aL, y))
    if cost == "poisson":   # half the Poisson deviance, 0 ln 0 = 0
        return sum((t * math.log(t / a) if t else 0.0) - t + a for a, t in zip(aL, y))
    if output == "sigmoid":
        total = 0.0
        for a, t in zip(aL, y):
            a = min(max(a, EPS), 1.0 - EPS)
            total += t * math.log(a) + (1.0 - t) * math.log1p(-a)
        return -total
    return -sum(t * math.log(min(max(a, EPS), 1.0)) for a, t in zip(aL, y))


def sample_cost(W, B, x, y, cost=None, activations=None, output="sigmoid"):
    """C of one sample."""
    return output_cost(forward_with(W, B, x, activations, output)[-1], y, cost, output)


def mean_cost(W, B, X, Y, cost=None, l2=0.0, activations=None, output="sigmoid"):
    """mean_k C_k + l2/(2n) sum W^2 (weights only), n = len(X)."""
    n = len(X)
    total = sum(sample_cost(W, B, x, y, cost, activations, output) for x, y in zip(X, Y))
    squares = sum(w * w for Wl in W for row in Wl for w in row)
    return total / n + l2 / (2.0 * n) * squares


def backprop_with(W, B, x, y, cost=None, activations=None, output="sigmoid"):
    """(dW, dB) of one sample: the output delta of the (output, cost) pair, then back
    through each hidden layer with its derivative from the activation."""
    cost = check_pair(output, cost)
    names = hidden_activations(activations, len(W) - 1)
    acts = forward_with(W, B, x, names, output)
    L = len(W)
    dW = [None] * L
    dB = [None] * L
    aL = acts[L]
    if (output, cost) == ("sigmoid", "quadratic"):
        db = [(aL[j] - y[j]) * aL[j] * (1.0 - aL[j]) for j in range(len(aL))]
    else:
        db = [aL[j] - y[j] for j in range(len(aL))]
    for l in range(L, 0, -1):          # layer l has weights W[l-1]
        prev = acts[l - 1]
        dB[l - 1] = db
        dW[l - 1] = [[db[j] * prev[i] for j in range(len(db))] for i in range(len(prev))]
        if l > 1:
            da = [sum(db[j] * W[l - 1][i][j] for j in range(len(db))) for i in range(len(prev))]
            db = [times_derivative(names[l - 2], da[i], prev[i]) for i in range(len(prev))]
    return dW, dB


def zeros_like(W, B):
    """(ZW, ZB): nested lists of zeros shaped like W and B."""
    return [[[0.0] * len(row) for row in Wl] for Wl in W], [[0.0] * len(bl) for bl in B]


def gradient(W, B, X, Y, cost=None, l2=0.0, activations=None, output="sigmoid"):
    """(gW, gB): the gradient of ``mean_cost``, mean_k grad C_k + l2/n W for weights."""
    n = len(X)
    gW, gB = zeros_like(W, B)
    for x, y in zip(X, Y):
        dW, dB = backprop_with(W, B, x, y, cost, activations, output)
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    gW[l][i][j] += dW[l][i][j] / n
            for j in range(len(B[l])):
                gB[l][j] += dB[l][j] / n
    if l2:
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    gW[l][i][j] += l2 / n * W[l][i][j]
    return gW, gB


def batch_sums(W, B, X, Y, idx, cost, activations, output):
    """(sW, sB): the per-sample gradients summed over the rows ``idx``."""
    sW, sB = zeros_like(W, B)
    for k in idx:
        dW, dB = backprop_with(W, B, X[k], Y[k], cost, activations, output)
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    sW[l][i][j] += dW[l][i][j]
            for j in range(len(B[l])):
                sB[l][j] += dB[l][j]
    return sW, sB


def sgd_epoch(W, B, X, Y, order, batch_size, eta, cost=None, l2=0.0, n=None,
              momentum=0.0, nesterov=False, velocity=None, activations=None,
              output="sigmoid"):
    """One epoch of SGD, in place: for each mini-batch of m samples (consecutive in
    ``order``, the last one possibly shorter), g = 1/m sum grad C (+ l2/n w for weights,
    n = len(order) unless given), then w -= eta g; with momentum mu,
    v := mu v - eta g and w += v (Nesterov: w += mu v - eta g), ``velocity`` = (VW, VB)
    shaped like (W, B) (see ``zeros_like``) and updated in place. With the defaults, the
    book's SGD: w -= eta/m sum dw, b -= eta/m sum db."""
    n = len(order) if n is None else n
    if momentum:
        if velocity is None:
            raise ValueError("reference: momentum needs velocity=zeros_like(W, B)")
        VW, VB = velocity
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        m = len(idx)
        sW, sB = batch_sums(W, B, X, Y, idx, cost, activations, output)
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    g = sW[l][i][j] / m + l2 / n * W[l][i][j]
                    if momentum:
                        v = momentum * VW[l][i][j] - eta * g
                        VW[l][i][j] = v
                        W[l][i][j] += momentum * v - eta * g if nesterov else v
                    else:
                        W[l][i][j] -= eta * g
            for j in range(len(B[l])):
                g = sB[l][j] / m
                if momentum:
                    v = momentum * VB[l][j] - eta * g
                    VB[l][j] = v
                    B[l][j] += momentum * v - eta * g if nesterov else v
                else:
                    B[l][j] -= eta * g


def adam_state(W, B):
    """Adam's starting state: first and second moments (mW, mB) and (vW, vB) at zero,
    shaped like (W, B), and t = 0 steps."""
    return {"m": zeros_like(W, B), "v": zeros_like(W, B), "t": 0}


def adam_epoch(W, B, X, Y, order, batch_size, eta, cost=None, l2=0.0, n=None,
               beta1=0.9, beta2=0.999, epsilon=1e-8, state=None, activations=None,
               output="sigmoid"):
    """One epoch of Adam, in place (``state`` from ``adam_state``, updated in place and
    returned): for each mini-batch of m samples, g as in ``sgd_epoch``, then
    t += 1; m := b1 m + (1-b1) g; v := b2 v + (1-b2) g^2;
    alpha_t = eta sqrt(1 - b2^t)/(1 - b1^t); w -= alpha_t m / (sqrt(v) + epsilon)."""
    n = len(order) if n is None else n
    state = adam_state(W, B) if state is None else state
    (mW, mB), (vW, vB) = state["m"], state["v"]
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        size = len(idx)
        sW, sB = batch_sums(W, B, X, Y, idx, cost, activations, output)
        state["t"] += 1
        t = state["t"]
        alpha = eta * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
        for l in range(len(W)):
            for i in range(len(W[l])):
                for j in range(len(W[l][i])):
                    g = sW[l][i][j] / size + l2 / n * W[l][i][j]
                    mW[l][i][j] = beta1 * mW[l][i][j] + (1.0 - beta1) * g
                    vW[l][i][j] = beta2 * vW[l][i][j] + (1.0 - beta2) * g * g
                    W[l][i][j] -= alpha * mW[l][i][j] / (math.sqrt(vW[l][i][j]) + epsilon)
            for j in range(len(B[l])):
                g = sB[l][j] / size
                mB[l][j] = beta1 * mB[l][j] + (1.0 - beta1) * g
                vB[l][j] = beta2 * vB[l][j] + (1.0 - beta2) * g * g
                B[l][j] -= alpha * mB[l][j] / (math.sqrt(vB[l][j]) + epsilon)
    return state


def flat(W, B):
    """One list laid out like ``MLP.params``: W_1 row-major, b_1, W_2, b_2, ..."""
    out = []
    for Wl, bl in zip(W, B):
        for row in Wl:
            out.extend(row)
        out.extend(bl)
    return out
