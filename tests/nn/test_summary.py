"""Parameter counts and summaries."""

import copy
import pickle
from xml.etree import ElementTree

from descent import nn


def test_summary_and_count():
    text = nn.summary(nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax"))
    first_layer = text.splitlines()[1].split()
    assert first_layer == ["0:", "Linear(2", "→", "1024)", "(n,", "1024)", "3072"]
    assert "total parameters: 529411" in text


def _html_rows(markup):
    """The cells of each table row, from the HTML Jupyter shows."""
    table = ElementTree.fromstring(markup)
    return [["".join(cell.itertext()) for cell in row] for row in table.iter("tr")]


def test_summary_is_still_the_text_and_shows_as_a_table_in_jupyter():
    model = nn.MLP([3, 2, 1], "sigmoid", "sigmoid")
    model[2].weight.requires_grad = False  # w46, w56 frozen: 2 of the 11 parameters
    shown = nn.summary(model)
    assert isinstance(shown, str)
    assert str(shown).splitlines() == [
        "layer              output shape   parameters",
        "0: Linear(3 → 2)   (n, 2)         8",
        "1: Sigmoid         (n, 2)         0",
        "2: Linear(2 → 1)   (n, 1)         3",
        "3: Sigmoid         (n, 1)         0",
        "total parameters: 11 (trainable: 9)",
    ]
    assert _html_rows(shown._repr_html_()) == [
        ["layer", "output shape", "parameters"],
        ["0: Linear(3 → 2)", "(n, 2)", "8"], ["1: Sigmoid", "(n, 2)", "0"],
        ["2: Linear(2 → 1)", "(n, 1)", "3"], ["3: Sigmoid", "(n, 1)", "0"],
        ["total parameters: 11 (trainable: 9)"],
    ]
    markdown = shown._repr_markdown_().splitlines()
    assert markdown[:3] == ["| layer | output shape | parameters |", "|---|---|---:|",
                            "| 0: Linear(3 → 2) | (n, 2) | 8 |"]
    assert markdown[-1] == "**total parameters: 11** (trainable: 9)"


def test_summary_of_a_large_network_groups_thousands_in_jupyter():
    shown = nn.summary(nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax"))
    rows = _html_rows(shown._repr_html_())
    assert len(rows) == 1 + 6 + 1  # header, three dense layers and their activations, total
    assert rows[3] == ["2: Linear(1024 → 512)", "(n, 512)", "524,800"]
    assert rows[-1] == ["total parameters: 529,411 (trainable: 529,411)"]
    assert shown.total == 529411 and [row[2] for row in shown.layers][::2] == [3072, 524800,
                                                                              1539]


def test_summary_survives_copy_and_pickle():
    shown = nn.summary(nn.MLP([3, 2, 1], "sigmoid", "sigmoid"))
    for again in (copy.deepcopy(shown), pickle.loads(pickle.dumps(shown))):
        assert again == shown and again._repr_html_() == shown._repr_html_()
