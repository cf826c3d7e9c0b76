"""The activations as compiled kernels: the forward pass (with the bias added in the same
pass over the layer's net inputs) and the backward pass, on one batch's block of units.

Each formula is the graph engine's (but for the sigmoid's: see :func:`sigmoid`), written
element by element
(``descent.autograd.ops.ACTIVATION_RULES`` and ``descent.autograd.functional``):

=============  ===================================  ======================================
code           forward                              backward (g: the incoming gradient)
=============  ===================================  ======================================
IDENTITY       z                                    g
STEP           1 if z > 0 else 0                    0
SIGMOID        1/(1 + e^(−z)), e^z/(1 + e^z) (z<0)  g · (o · (1 − o))
TANH           tanh z                               g · (1 − o · o)
RELU           max(z, 0)                            g · sign(o)
LEAKY_RELU     z if z > 0 else z · slope            g if z > 0 else g · slope
ELU            z if z > 0 else (e^z − 1) · α        g if z > 0 else (g · α) · e^z
SOFTMAX        e / Σe with e = exp(z − max z)       o · (g − Σ g · o), row by row
=============  ===================================  ======================================

The blocks are k × units numbers of a flat array, row-major from an offset (see
``descent.compiled.products``). One kernel per activation and direction, each a plain
loop: the batch loop picks one by its code (a kernel that branched over the codes itself
would pay for counting references to its arrays on every call: Numba cannot drop those
counts from a function with more than two branches).
Constants are taken in the arrays' own dtype (``z.dtype.type``), as NumPy takes a Python
number next to a float32 array, so that float32 stays float32 throughout.
"""

import math

import numpy as np

from descent.compiled.jit import kernel

IDENTITY, STEP, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTMAX = range(8)
U = np.uint64  # offsets and sizes, unsigned (see descent.compiled.products)
CODES = {"identity": IDENTITY, "step": STEP, "sigmoid": SIGMOID, "tanh": TANH,
         "relu": RELU, "leaky_relu": LEAKY_RELU, "elu": ELU, "softmax": SOFTMAX}

@kernel
def sigmoid(z, one):
    """σ(z) = 1/(1 + e^(−z)) for z >= 0 and e^z/(1 + e^z) below: one exponential of a
    number <= 0, so it never overflows (σ(±1000) is exactly 1 and 0).

    The one formula here that is not the graph engine's: ``ops._sigmoid`` takes
    exp(−logaddexp(0, −z)), three calls into the maths library instead of one, which
    alone would cost more than JAX's whole step on the notes' 3-2-1 network. The two
    agree to a few units in the last place (measured over [−90, 90]: float32 at most 11
    ulps apart, 0.25 on average, all in the tails; this one is the closer to the exact
    value: 3 ulps against 9, and in float64 2 against 32).
    """
    if z >= 0:
        return one / (one + math.exp(-z))
    e = math.exp(z)
    return e / (one + e)


@kernel
def add_bias(z, zo, bias, bo, rows, units):
    """z[r, c] += bias[c] for every row of the block (the bias at ``bias[bo:]``)."""
    zo, bo, rows, units = U(zo), U(bo), U(rows), U(units)
    for r in range(rows):
        row = zo + r * units
        for c in range(units):
            z[row + c] += bias[bo + c]


@kernel
def step_forward(z, zo, out, oo, size):
    zo, oo, size = U(zo), U(oo), U(size)
    zero, one = z.dtype.type(0.0), z.dtype.type(1.0)
    for i in range(size):
        out[oo + i] = one if z[zo + i] > zero else zero


@kernel
def sigmoid_forward(z, zo, out, oo, size):
    zo, oo, size = U(zo), U(oo), U(size)
    one = z.dtype.type(1.0)
    for i in range(size):
        out[oo + i] = sigmoid(z[zo + i], one)


@kernel
def tanh_forward(z, zo, out, oo, size):
    zo, oo, size = U(zo), U(oo), U(size)
    for i in range(size):
        out[oo + i] = math.tanh(z[zo + i])


@kernel
def relu_forward(z, zo, out, oo, size):
    zo, oo, size = U(zo), U(oo), U(size)
    zero = z.dtype.type(0.0)
    for i in range(size):
        v = z[zo + i]
        out[oo + i] = v if (v >= zero or v != v) else zero  # np.maximum keeps NaN


@kernel
def leaky_relu_forward(z, zo, out, oo, size, slope):
    zo, oo, size = U(zo), U(oo), U(size)
    zero, a = z.dtype.type(0.0), z.dtype.type(slope)
    for i in range(size):
        v = z[zo + i]
        out[oo + i] = v if v > zero else v * a


@kernel
def elu_forward(z, zo, out, oo, size, alpha):
    zo, oo, size = U(zo), U(oo), U(size)
    zero, one, a = z.dtype.type(0.0), z.dtype.type(1.0), z.dtype.type(alpha)
    for i in range(size):
        v = z[zo + i]
        out[oo + i] = v if v > zero else (math.exp(v) - one) * a


@kernel
def softmax_forward(z, zo, out, oo, rows, units):
    """e / Σe row by row, e = exp(z − max z) (the max of a row with NaN is NaN)."""
    zo, oo, rows, units = U(zo), U(oo), U(rows), U(units)
    zero = z.dtype.type(0.0)
    for r in range(rows):
        zr, orow = zo + r * units, oo + r * units
        top = z[zr]
        for c in range(U(1), units):
            v = z[zr + c]
            top = v if (v > top or v != v) else top
        total = zero
        for c in range(units):
            e = math.exp(z[zr + c] - top)
            out[orow + c] = e
            total += e
        for c in range(units):
            out[orow + c] = out[orow + c] / total


@kernel
def step_backward(g, go, size):
    go, size = U(go), U(size)
    zero = g.dtype.type(0.0)
    for i in range(size):
        g[go + i] = zero


@kernel
def sigmoid_backward(g, go, out, oo, size):
    go, oo, size = U(go), U(oo), U(size)
    one = g.dtype.type(1.0)
    for i in range(size):
        o = out[oo + i]
        g[go + i] = g[go + i] * (o * (one - o))


@kernel
def tanh_backward(g, go, out, oo, size):
    go, oo, size = U(go), U(oo), U(size)
    one = g.dtype.type(1.0)
    for i in range(size):
        o = out[oo + i]
        g[go + i] = g[go + i] * (one - o * o)


@kernel
def relu_backward(g, go, out, oo, size):
    """g · sign(o): o >= 0, so the sign is 1 or 0 (NaN for NaN)."""
    go, oo, size = U(go), U(oo), U(size)
    zero, one = g.dtype.type(0.0), g.dtype.type(1.0)
    for i in range(size):
        o = out[oo + i]
        g[go + i] = g[go + i] * (one if o > zero else o * zero)


@kernel
def leaky_relu_backward(g, go, z, zo, size, slope):
    go, zo, size = U(go), U(zo), U(size)
    zero, a = g.dtype.type(0.0), g.dtype.type(slope)
    for i in range(size):
        if not z[zo + i] > zero:
            g[go + i] = g[go + i] * a


@kernel
def elu_backward(g, go, z, zo, size, alpha):
    go, zo, size = U(go), U(zo), U(size)
    zero, a = g.dtype.type(0.0), g.dtype.type(alpha)
    for i in range(size):
        v = z[zo + i]
        if not v > zero:
            g[go + i] = (g[go + i] * a) * math.exp(v)


@kernel
def softmax_backward(g, go, out, oo, rows, units):
    """The Jacobian-vector product o · (g − Σ g·o), row by row."""
    go, oo, rows, units = U(go), U(oo), U(rows), U(units)
    zero = g.dtype.type(0.0)
    for r in range(rows):
        gr, orow = go + r * units, oo + r * units
        inner = zero
        for c in range(units):
            inner += g[gr + c] * out[orow + c]
        for c in range(units):
            g[gr + c] = out[orow + c] * (g[gr + c] - inner)
