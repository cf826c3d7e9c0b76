"""The elementwise optimisers as compiled kernels: one update of one parameter, element by
element, in one pass over memory.

Each kernel is the line-by-line formula of its update function in
``descent.optim.optimizers`` (``sgd_update``, ``adagrad_update``, ``rmsprop_update``,
``adam_update``) for one element at a time, with the same roundings: every
hyper-parameter arrives already rounded to the parameter's dtype (``h``, as NumPy rounds
a Python float next to a float32 array), and what depends on the step count (Adam's bias
corrections, AdaGrad's decayed rate) is worked out in float64 from the float64 settings
``h64``, then rounded, as the update functions do. ``fresh`` says the state does not exist
yet (the update functions' first step creates it). :func:`sum_of_squares` gives Σ g², for
the gradient's norm.

A parameter is ``p[at:at + size]``, its gradient ``g[at:at + size]`` and each state array
``s[k:k + size]`` from its own offset ``k`` (flat arrays, no views: see
``descent.compiled.products``).

``h`` and ``h64`` hold, by optimiser (:func:`settings`, in this order; what the update
functions test with ``if x:`` is tested on the float64 value, which a tiny setting does
not round to 0):

- SGD: lr, momentum, 1 − dampening, weight_decay, nesterov (1 or 0), dampening
- AdaGrad: lr, lr_decay, weight_decay, initial_accumulator_value, eps
- RMSProp: lr, alpha, 1 − alpha, eps, weight_decay, momentum, centered (1 or 0)
- Adam, AdamW: lr, beta1, 1 − beta1, beta2, 1 − beta2, eps, weight_decay,
  1 − lr·weight_decay, decoupled (1 or 0)
"""

import math

import numpy as np

from descent.compiled.jit import kernel

SGD, ADAGRAD, RMSPROP, ADAM = range(4)
U = np.uint64  # offsets and sizes, unsigned (see descent.compiled.products)


def settings(code, hyper):
    """The float64 settings vector ``h64`` of an optimiser's ``hyper`` dict (the dtype
    one is this, rounded)."""
    if code == SGD:
        return [hyper["lr"], hyper["momentum"], 1 - hyper["dampening"],
                hyper["weight_decay"], float(hyper["nesterov"]), hyper["dampening"]]
    if code == ADAGRAD:
        return [hyper["lr"], hyper["lr_decay"], hyper["weight_decay"],
                hyper["initial_accumulator_value"], hyper["eps"]]
    if code == RMSPROP:
        return [hyper["lr"], hyper["alpha"], 1 - hyper["alpha"], hyper["eps"],
                hyper["weight_decay"], hyper["momentum"], float(hyper["centered"])]
    beta1, beta2 = hyper["betas"]
    return [hyper["lr"], beta1, 1 - beta1, beta2, 1 - beta2, hyper["eps"],
            hyper["weight_decay"], 1 - hyper["lr"] * hyper["weight_decay"],
            float(hyper["decoupled"])]


@kernel
def sgd(p, g, s, at, size, b0, fresh, h, h64):
    """``sgd_update``: weight decay, momentum (the buffer starts as the first gradient),
    dampening, Nesterov, then p ← p − lr·direction."""
    at, size, b0 = U(at), U(size), U(b0)
    lr, momentum, keep, decay = h[0], h[1], h[2], h[3]
    moving, decayed = h64[1] != 0, h64[3] != 0
    nesterov, damped = h64[4] != 0, h64[5] != 0
    for i in range(at, at + size):
        grad = g[i]
        if decayed:
            grad = grad + decay * p[i]
        if moving:
            j = b0 + i - at
            if fresh:
                b = grad
            elif damped:
                b = s[j] * momentum + grad * keep
            else:
                b = s[j] * momentum + grad
            s[j] = b
            grad = b * momentum + grad if nesterov else b
        p[i] = p[i] - grad * lr


@kernel
def adagrad(p, g, s, at, size, t0, fresh, step, h, h64):
    """``adagrad_update``: G ← G + g², then
    p ← p − (lr / (1 + (t − 1)·lr_decay)) · g/(√G + ε)."""
    at, size, t0 = U(at), U(size), U(t0)
    dt = p.dtype.type
    decay, start, eps = h[2], h[3], h[4]
    decayed = h64[2] != 0
    rate = dt(h64[0] / (1 + (step - 1) * h64[1]))
    for i in range(at, at + size):
        grad = g[i]
        if decayed:
            grad = grad + decay * p[i]
        j = t0 + i - at
        acc = (start if fresh else s[j]) + grad * grad
        s[j] = acc
        p[i] = p[i] - (grad / (math.sqrt(acc) + eps)) * rate


@kernel
def rmsprop(p, g, s, at, size, v0, m0, b0, fresh, fresh_avg, fresh_buffer, h, h64):
    """``rmsprop_update``: v ← αv + (1 − α)g², optionally centred (√(v − ḡ²)) and with
    momentum, then p ← p − lr·g/(√v + ε) (or the momentum buffer's step). Each state
    array starts at 0 where its ``fresh`` flag says it does not exist yet."""
    at, size, v0, m0, b0 = U(at), U(size), U(v0), U(m0), U(b0)
    dt = p.dtype.type
    zero = dt(0.0)
    lr, alpha, rest, eps, decay = h[0], h[1], h[2], h[3], h[4]
    momentum = h[5]
    decayed, moving, centered = h64[4] != 0, h64[5] != 0, h64[6] != 0
    for i in range(at, at + size):
        grad = g[i]
        if decayed:
            grad = grad + decay * p[i]
        j = i - at
        v = (zero if fresh else s[v0 + j]) * alpha + (grad * grad) * rest
        s[v0 + j] = v
        if centered:
            m = (zero if fresh_avg else s[m0 + j]) * alpha + rest * grad
            s[m0 + j] = m
            denominator = math.sqrt(v - m * m) + eps
        else:
            denominator = math.sqrt(v) + eps
        if moving:
            b = (zero if fresh_buffer else s[b0 + j]) * momentum + grad / denominator
            s[b0 + j] = b
            p[i] = p[i] - b * lr
        else:
            p[i] = p[i] - (grad / denominator) * lr


@kernel
def adam(p, g, s, at, size, m0, v0, fresh, step, h, h64):
    """``adam_update`` (AdamW when decoupled): m ← β₁m + (1 − β₁)g,
    v ← β₂v + (1 − β₂)g²,
    p ← p − (lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)) · m/(√v + ε·√(1 − β₂ᵗ))."""
    at, size, m0, v0 = U(at), U(size), U(m0), U(v0)
    dt = p.dtype.type
    zero = dt(0.0)
    beta1, rest1, beta2, rest2 = h[1], h[2], h[3], h[4]
    decay, shrink = h[6], h[7]
    decayed, decoupled = h64[6] != 0, h64[8] != 0
    # 1 − βᵗ as the update function has it: Python's float power is C's pow()
    correction1 = 1 - math.pow(h64[1], float(step))
    root2 = math.sqrt(1 - math.pow(h64[3], float(step)))
    eps = dt(h64[5] * root2)
    rate = dt(h64[0] * root2 / correction1)
    for i in range(at, at + size):
        grad = g[i]
        w = p[i]
        if decayed:
            if decoupled:
                w = w * shrink
            else:
                grad = grad + decay * w
        j = i - at
        m = (zero if fresh else s[m0 + j]) * beta1 + grad * rest1
        v = (zero if fresh else s[v0 + j]) * beta2 + (grad * grad) * rest2
        s[m0 + j] = m
        s[v0 + j] = v
        p[i] = w - (m / (math.sqrt(v) + eps)) * rate


@kernel
def sum_of_squares(g, at, size):
    """Σ g² over ``g[at:at + size]``, as the training loop takes a gradient's norm: a dot
    product in the gradient's own dtype (BLAS), and in float64 where that overflows."""
    part = g[at:at + size]
    total = np.dot(part, part)
    if math.isfinite(total):
        return np.float64(total)
    exact = 0.0
    for i in range(part.shape[0]):
        x = np.float64(part[i])
        exact += x * x
    return exact
