"""Matrix products for the compiled path: BLAS for the large ones, loops for the small.

Every matrix lives in a flat array, row-major from an offset (the kernels pass
``(array, offset)`` pairs, never views: a view costs tens of nanoseconds to make, as
much as a whole step of the notes' 3-2-1 network). A large product runs as
``np.dot(a, b, out)`` on views made for it: inside a Numba kernel that calls the BLAS
SciPy ships (``sgemm``/``dgemm``), with transposed operands passed as they are (no copy)
and the result written into ``out``. A BLAS call costs about a microsecond however small
the matrices are, so products of fewer than ``BLAS_MIN`` multiply-adds run as loops.
Each product has a loop kernel and a BLAS kernel, and the batch loop picks one
(:func:`blas_pays`): a kernel that could make views pays for counting references to its
arrays on every call, even when it takes the loop.

The loop kernels take every offset and size as an unsigned integer (``U``): an array
index that might be negative makes Numba wrap it around at every access, which keeps the
compiler from vectorising the loop (measured: ten times slower on a 128 × 256 block).
The same holds for every kernel of the compiled path.
"""

import numpy as np

from descent.compiled.blas import gemm
from descent.compiled.jit import kernel

# Multiply-adds below which a loop beats a BLAS call (measured on the notes' 3-2-1
# network, XOR and the digits network: a call costs about as much as a few thousand).
BLAS_MIN = 4096
U = np.uint64  # offsets and sizes as unsigned numbers: see below


@kernel
def blas_pays(rows, inner, units):
    """Whether a product of rows × inner × units multiply-adds goes to BLAS."""
    return rows * inner * units >= BLAS_MIN


@kernel
def _matrix(flat, offset, rows, cols):
    """Rows × cols numbers of ``flat`` from ``offset`` on, as a C-ordered matrix view."""
    return flat[offset:offset + rows * cols].reshape((rows, cols))


@kernel
def forward_product_blas(a, ao, w, wo, z, zo, rows, inner, units):
    """:func:`forward_product` through BLAS (views of the flat arrays)."""
    np.dot(_matrix(a, ao, rows, inner), _matrix(w, wo, inner, units),
           _matrix(z, zo, rows, units))


@kernel
def forward_product(a, ao, w, wo, z, zo, rows, inner, units):
    """z = a @ w: the batch's net inputs (rows × units) from its inputs (rows × inner)
    and the weights (inner × units)."""
    ao, wo, zo, rows, inner, units = U(ao), U(wo), U(zo), U(rows), U(inner), U(units)
    zero = z.dtype.type(0.0)
    for r in range(rows):
        out = zo + r * units
        for j in range(units):
            z[out + j] = zero
        for i in range(inner):
            x = a[ao + r * inner + i]
            row = wo + i * units
            for j in range(units):
                z[out + j] += x * w[row + j]


@kernel
def weight_gradient_blas(a, ao, g, go, gw, gwo, rows, inner, units):
    """:func:`weight_gradient` through BLAS (views of the flat arrays)."""
    np.dot(_matrix(a, ao, rows, inner).T, _matrix(g, go, rows, units),
           _matrix(gw, gwo, inner, units))


@kernel
def weight_step_blas(a, ao, g, go, w, wo, rows, inner, units, rate):
    """w ← w − rate·(aᵀ @ g) in one BLAS call: plain SGD's update folded into the weight
    gradient's product (BLAS's ``β = 1`` adds it to w as it goes; the gradient itself is
    never written). The same step as the gradient and then the update, but for
    rounding: BLAS may fuse the last multiply and add."""
    one = w.dtype.type(1.0)
    gemm(ord("n"), ord("t"), units, inner, rows, -rate, g[go:], units, a[ao:], inner, one,
         w[wo:], units)


@kernel
def weight_gradient(a, ao, g, go, gw, gwo, rows, inner, units):
    """gw = aᵀ @ g: the weights' gradient (inner × units) from the batch's inputs
    (rows × inner) and its error terms (rows × units)."""
    ao, go, gwo, rows, inner, units = U(ao), U(go), U(gwo), U(rows), U(inner), U(units)
    zero = gw.dtype.type(0.0)
    for i in range(inner):
        out = gwo + i * units
        for j in range(units):
            gw[out + j] = zero
        for r in range(rows):
            x = a[ao + r * inner + i]
            row = go + r * units
            for j in range(units):
                gw[out + j] += x * g[row + j]


@kernel
def input_gradient_blas(g, go, w, wo, gi, gio, rows, inner, units):
    """:func:`input_gradient` through BLAS (views of the flat arrays)."""
    np.dot(_matrix(g, go, rows, units), _matrix(w, wo, inner, units).T,
           _matrix(gi, gio, rows, inner))


@kernel
def input_gradient(g, go, w, wo, gi, gio, rows, inner, units):
    """gi = g @ wᵀ: the gradient at the layer's inputs (rows × inner) from its error
    terms (rows × units) and the weights (inner × units)."""
    go, wo, gio, rows, inner, units = U(go), U(wo), U(gio), U(rows), U(inner), U(units)
    zero = gi.dtype.type(0.0)
    for r in range(rows):
        row = go + r * units
        for i in range(inner):
            total = zero
            weights = wo + i * units
            for j in range(units):
                total += g[row + j] * w[weights + j]
            gi[gio + r * inner + i] = total


@kernel
def column_sums(g, go, rows, units, out, oo):
    """out[j] = Σ_r g[r, j]: a bias gradient (for one row, that row itself)."""
    go, rows, units, oo = U(go), U(rows), U(units), U(oo)
    for j in range(units):
        out[oo + j] = g[go + j]
    for r in range(U(1), rows):
        row = go + r * units
        for j in range(units):
            out[oo + j] += g[row + j]
