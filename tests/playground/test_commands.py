"""The page's messages are checked before a session sees them."""

import pytest

from descent.errors import DescentValueError
from descent.playground.commands import FIELDS, check


def test_every_message_type_takes_exactly_its_fields():
    assert check({"type": "play"}) == {"type": "play"}
    assert check({"type": "explain", "example": "batch"})["example"] == "batch"
    assert check({"type": "add_point", "x": 1, "y": -2.5, "label": 1})["x"] == 1.0
    assert set(FIELDS) >= {"configure", "play", "pause", "step", "reset", "set_weight"}


@pytest.mark.parametrize("message", [
    None, [], {"type": None}, {"type": "__init__"}, {"type": "play", "extra": 1},
    {"type": "add_point", "x": "1", "y": 0, "label": 0},
    {"type": "add_point", "x": 1e7, "y": 0, "label": 0},
    {"type": "set_weight", "layer": True, "from": 0, "to": 0, "value": 1},
    {"type": "set_weight", "layer": 1, "from": 17, "to": 0, "value": 1},
    {"type": "columns", "x1": "a" * 201, "x2": "b", "label": "c", "standardise": True},
    {"type": "columns", "x1": "a", "x2": "b", "label": "c", "standardise": 1},
    {"type": "configure", "settings": [1, 2]},
])
def test_malformed_messages_are_refused(message):
    with pytest.raises(DescentValueError):
        check(message)
