"""Numba, when it is installed (``pip install 'descent[fast]'``): the one decorator every
kernel of the compiled path uses.

Without Numba (or SciPy, whose BLAS Numba calls) the kernels stay plain Python functions
that nothing calls: the package still imports, and :func:`descent.compiled.supports`
says why the compiled path is off.
"""

try:
    import numba
    # the kernels' matrix products: Numba calls the BLAS SciPy ships, and without SciPy
    # the first product aborts the process
    import scipy.linalg.cython_blas  # noqa: F401
except ImportError as missing:  # the optional extra is not installed
    numba = None
    MISSING = (f"{(missing.name or 'numba').split('.')[0]} is not installed "
               "(pip install 'descent[fast]')")
else:  # (what the reason says should the path be switched off: AVAILABLE False)
    MISSING = "numba is not installed (pip install 'descent[fast]')"

AVAILABLE = numba is not None


def kernel(function=None, *, inline=False):
    """Compile ``function`` in nopython mode, cached on disk (a second process loads the
    machine code instead of compiling again), with NumPy's floating-point semantics
    (division by zero gives inf or NaN, as the graph engine's arrays do, instead of
    raising). ``inline=True`` (``@kernel(inline=True)``) copies the function into each
    caller: no call, and no reference counting of the arrays it is given."""
    if function is None:
        return lambda f: kernel(f, inline=inline)
    if numba is None:
        return function
    return numba.njit(cache=True, nogil=True, error_model="numpy",
                      inline="always" if inline else "never")(function)
