"""The array namespace, the default floating dtype and the random-number source.

Every array operation in descent goes through ``xp`` so that another array library with
NumPy's interface (CuPy) can be slotted in here without touching the ops.
"""

import numpy as np

from descent.errors import DescentValueError

__all__ = [
    "as_rng", "default_rng", "get_default_dtype", "manual_seed", "resolve_dtype",
    "set_default_dtype",
]

xp = np

_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}
_state = {"dtype": np.dtype(np.float32), "rng": np.random.default_rng()}


def get_default_dtype():
    """Return the dtype new tensors get when their data carries no float dtype."""
    return _state["dtype"]


def set_default_dtype(dtype):
    """Set the default floating dtype: ``"float32"`` (the default) or ``"float64"``.

    Examples
    --------
    >>> import descent
    >>> descent.set_default_dtype("float64")
    >>> descent.tensor([1.0]).dtype
    dtype('float64')
    >>> descent.set_default_dtype("float32")
    """
    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        name = repr(dtype)
    if name not in _FLOAT_DTYPES:
        raise DescentValueError(
            f"default dtype must be one of {sorted(_FLOAT_DTYPES)}, got {dtype!r}"
        )
    _state["dtype"] = np.dtype(_FLOAT_DTYPES[name])


def resolve_dtype(dtype):
    """Turn a user's dtype argument (None, a name or a NumPy dtype) into a float dtype."""
    if dtype is None:
        return _state["dtype"]
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DescentValueError(
            f"unknown dtype {dtype!r}; use one of {sorted(_FLOAT_DTYPES)}"
        ) from exc
    if resolved.name not in _FLOAT_DTYPES:
        raise DescentValueError(
            f"dtype must be one of {sorted(_FLOAT_DTYPES)}, got {resolved.name!r}"
        )
    return resolved


def manual_seed(seed):
    """Seed descent's global random generator (weight initialisation, shuffling, dropout).

    The same seed gives the same numbers, bit for bit, on the same machine.

    Examples
    --------
    >>> import descent
    >>> descent.manual_seed(0)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DescentValueError(f"seed must be a non-negative integer, got {seed!r}")
    _state["rng"] = np.random.default_rng(int(seed))


def default_rng():
    """The global ``numpy.random.Generator`` that ``manual_seed`` resets."""
    return _state["rng"]


def as_rng(seed=None):
    """Turn ``None`` (the global generator), an int seed or a Generator into a Generator."""
    if seed is None:
        return _state["rng"]
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DescentValueError(
            f"seed must be None, a non-negative integer or a numpy Generator, got {seed!r}"
        )
    return np.random.default_rng(int(seed))
