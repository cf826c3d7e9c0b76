"""The version of descent, in one place."""

__version__ = "0.1.0"
