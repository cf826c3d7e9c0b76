"""Numba, when it is installed (``pip install 'descent[fast]'``): the one decorator every
kernel of the compiled path uses.

Without Numba the kernels stay plain Python functions that nothing calls: the package
still imports, and :func:`descent.compiled.supports` says why the compiled path is off.
"""

try:
    import numba
except ImportError:  # the optional extra is not installed
    numba = None

AVAILABLE = numba is not None
MISSING = "numba is not installed (pip install 'descent[fast]')"


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
