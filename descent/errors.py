"""descent's own exception classes: every error descent raises on purpose is one of these."""


class DescentError(Exception):
    """Base class of every error descent raises on purpose."""


class DescentValueError(DescentError, ValueError):
    """An argument has the right type but a value descent cannot use."""


class DescentTypeError(DescentError, TypeError):
    """An argument has a type descent cannot use."""


class ShapeError(DescentValueError):
    """Array shapes do not fit together."""


class GradientError(DescentError, RuntimeError):
    """A backward pass was asked for something it cannot do."""


def lookup(table, key, kind, alternative=""):
    """``table[key]``, or a ``DescentValueError`` that lists the valid names.

    ``alternative`` ends the message with what else may be passed (e.g. a callable).
    """
    try:
        return table[key]
    except (KeyError, TypeError):
        raise DescentValueError(
            f"unknown {kind} {key!r}; choose one of {', '.join(sorted(table))}{alternative}"
        ) from None
