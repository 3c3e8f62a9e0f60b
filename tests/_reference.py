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
"""

import math


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


def sgd_epoch(W, B, X, Y, order, batch_size, eta):
    """One epoch of the book's SGD, in place: for each mini-batch of m samples (consecutive
    in ``order``, the last one possibly shorter), w -= eta/m * sum dw, b -= eta/m * sum db.
    (train_epoch below with its defaults.)"""
    train_epoch(W, B, X, Y, order, batch_size, eta)


# --- the training toolkit's options, straight from their definitions -------------------

def cross_entropy(W, B, x, y):
    aL = forward(W, B, x)[-1]
    return -sum(t * math.log(a) + (1 - t) * math.log(1 - a) for a, t in zip(aL, y))


def train_epoch(W, B, X, Y, order, batch_size, eta, *, cost="quadratic", l2=0.0, n=None,
                momentum=0.0, nesterov=False, VW=None, VB=None):
    """One epoch with the toolkit's options, in place, one mini-batch at a time:
    g = 1/m sum grad (+ l2/n w for weights);
    momentum 0: w -= eta g  (that is w := (1 - eta l2/n) w - eta/m sum dw);
    momentum mu: v := mu v - eta g; w += v (Nesterov: w += mu v - eta g)."""
    n = len(order) if n is None else n
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        m = len(idx)
        sW = [[[0.0] * len(row) for row in Wl] for Wl in W]
        sB = [[0.0] * len(bl) for bl in B]
        for k in idx:
            dW, dB = backprop(W, B, X[k], Y[k], cost)
            for l in range(len(W)):
                for i in range(len(W[l])):
                    for j in range(len(W[l][i])):
                        sW[l][i][j] += dW[l][i][j]
                for j in range(len(B[l])):
                    sB[l][j] += dB[l][j]
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
