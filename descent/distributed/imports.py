"""Dask is optional: it is imported when a distributed run starts, and a missing install
is an error that says what to install."""

import importlib

from descent.errors import DescentError

INSTALL = "pip install 'descent[dask]'"


class MissingDependency(DescentError, ImportError):
    """A package that distributed training needs is not installed."""


def require(name):
    """The module ``name`` (``"distributed"``, ``"dask.array"``, ...), or a
    ``MissingDependency`` naming the extra that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise MissingDependency(
            f"distributed training needs {name.split('.')[0]} ({error.name or name} is "
            f"not installed): {INSTALL}") from None
