"""The messages the page sends over its WebSocket, checked before they reach a session.

Each message is a JSON object with a ``type`` and exactly the fields that type takes;
``check`` returns it with its values checked for kind and rough range, or raises
``DescentValueError``. What depends on the network (which layer, which unit) is checked
by the session against the network it has.
"""

import math

from descent.errors import DescentValueError
from descent.playground.settings import MAX_HIDDEN_LAYERS, MAX_UNITS, UPLOAD_ROWS

MAX_MESSAGE = 64 * 1024  # characters: settings and clicks are small
_LARGEST = 1e6  # coordinates, weights and targets the page may send


def _index(high):
    def check(name, value):
        if type(value) is not int or not 0 <= value <= high:
            raise DescentValueError(f"{name} must be a whole number from 0 to {high}, got "
                                    f"{value!r}"[:120])
        return value
    return check


def _finite(name, value):
    if type(value) not in (int, float) or not (math.isfinite(value)
                                               and abs(value) <= _LARGEST):
        raise DescentValueError(f"{name} must be a number between -{_LARGEST:g} and "
                                f"{_LARGEST:g}, got {value!r}"[:120])
    return float(value)


def _example(name, value):
    if value == "batch":
        return value
    return _index(UPLOAD_ROWS + 10_000)(name, value)


def _text(name, value):
    if not isinstance(value, str) or len(value) > 200:
        raise DescentValueError(f"{name} must be a column name (text of at most 200 "
                                "characters)")
    return value


def _flag(name, value):
    if type(value) is not bool:
        raise DescentValueError(f"{name} must be true or false, got {value!r}"[:120])
    return value


def _settings(name, value):
    if not isinstance(value, dict):
        raise DescentValueError(f"{name} must be an object of settings")
    return value  # checked in full by descent.playground.settings.validate


FIELDS = {
    "configure": {"settings": _settings},
    "play": {}, "pause": {}, "step": {}, "reset": {},
    "add_point": {"x": _finite, "y": _finite, "label": _finite},
    "set_weight": {"layer": _index(MAX_HIDDEN_LAYERS + 1), "from": _index(MAX_UNITS),
                   "to": _index(MAX_UNITS), "value": _finite},
    "set_bias": {"layer": _index(MAX_HIDDEN_LAYERS + 1), "to": _index(MAX_UNITS),
                 "value": _finite},
    "explain": {"example": _example},
    "columns": {"x1": _text, "x2": _text, "label": _text, "standardise": _flag},
}


def check(message):
    """The page's ``message`` (a decoded JSON value), checked.

    Examples
    --------
    >>> check({"type": "set_bias", "layer": 1, "to": 0, "value": 0.5})["value"]
    0.5
    >>> check({"type": "set_bias", "layer": 1, "to": 0, "value": 1e300})
    Traceback (most recent call last):
    ...
    descent.errors.DescentValueError: value must be a number between -1e+06 and 1e+06, got 1e+300
    """
    if not isinstance(message, dict) or message.get("type") not in FIELDS:
        kind = message.get("type") if isinstance(message, dict) else None
        raise DescentValueError(f"unknown message type {kind!r}"[:80] + "; the types are "
                                + ", ".join(FIELDS))
    fields = FIELDS[message["type"]]
    given = set(message) - {"type"}
    if given != set(fields):
        raise DescentValueError(f"a {message['type']} message has the fields "
                                f"{sorted(fields) or 'none'}; got {sorted(map(str, given))}"[:200])
    return {"type": message["type"],
            **{name: test(name, message[name]) for name, test in fields.items()}}
