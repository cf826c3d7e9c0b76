"""Finite differences: the lecture's slope table, and gradcheck catching a wrong rule."""

from xml.etree import ElementTree

import numpy as np
import pytest

import descent
from descent.autograd.tensor import make_node


def quadratic(x):
    return 2 - 3 * x + 4 * x ** 2


@pytest.mark.parametrize("x, h, expected", [
    # seed 000: f(x) = 2 - 3x + 4x², slopes (f(x+h) - f(x)) / h = f'(x) + 4h
    (2.0, 0.01, 13.04), (2.0, 0.001, 13.004), (2.0, 0.0001, 13.0004),
    (-1.0, 0.01, -10.96), (-1.0, 0.001, -10.996), (-1.0, 0.0001, -10.9996),
])
def test_lecture_slope_table(x, h, expected):
    assert descent.slope(quadratic, x, h) == pytest.approx(expected, abs=5e-9)


def test_central_difference_is_exact_for_a_quadratic():
    assert descent.slope(quadratic, 2.0, 0.1, method="central") == pytest.approx(13.0)


def test_slope_works_on_tensor_functions():
    assert descent.slope(lambda x: descent.tensor(x, dtype="float64").exp(), 0.0, 1e-6,
                         method="central") == pytest.approx(1.0)


def test_slope_rejects_a_zero_step_and_unknown_method():
    with pytest.raises(descent.DescentValueError, match="non-zero"):
        descent.slope(quadratic, 1.0, 0.0)
    with pytest.raises(descent.DescentValueError, match="forward"):
        descent.slope(quadratic, 1.0, 0.1, method="backward")


def test_toy_example_2_gradient():
    # f = a + bc at (1, -2, 3): df/da = 1, df/db = c = 3, df/dc = b = -2
    a, b, c = (descent.tensor(v, requires_grad=True) for v in (1.0, -2.0, 3.0))
    f = a + b * c
    assert f.item() == -5.0
    f.backward()
    assert (a.grad, b.grad, c.grad) == (1.0, 3.0, -2.0)
    # one step with learning rate 0.01: 0.99, -2.03, 3.02 and f = -5.14 (rounded)
    stepped = [t.data - 0.01 * t.grad for t in (a, b, c)]
    np.testing.assert_allclose(stepped, [0.99, -2.03, 3.02], rtol=1e-6)
    assert stepped[0] + stepped[1] * stepped[2] == pytest.approx(-5.14, abs=0.005)


def test_gradcheck_reports_a_wrong_backward_rule():
    def wrong_square(a):
        return make_node(a.data ** 2, (a,), lambda g: (g * a.data,), "sq")

    report = descent.gradcheck(wrong_square, [1.0, 2.0, 3.0])
    assert not report.ok
    assert report.worst_index == (2,)
    assert report.analytic == pytest.approx(report.numeric / 2, rel=1e-3)
    assert "FAILED" in str(report) and "index (2,)" in str(report)
    with pytest.raises(descent.GradientError, match="FAILED"):
        descent.gradcheck(wrong_square, [1.0, 2.0], raise_on_failure=True)


def test_gradcheck_passes_on_a_composite():
    report = descent.gradcheck(lambda w, x: (x @ w).tanh().sum(), [[0.5], [-1.0]],
                               [[1.0, 2.0]])
    assert report.ok and "passed" in str(report)


def _table(markup):
    """The caption and the (what, value) rows of the HTML Jupyter shows for a report."""
    table = ElementTree.fromstring(markup)
    rows = {row.find("th").text: row.find("td").text for row in table.iter("tr")}
    return table.find("caption"), rows


def test_gradcheck_report_shows_as_a_table_in_jupyter():
    def wrong_square(a):
        return make_node(a.data ** 2, (a,), lambda g: (g * a.data,), "sq")

    report = descent.gradcheck(wrong_square, [1.0, 2.0, 3.0])
    caption, rows = _table(report._repr_html_())
    assert caption.text == "gradcheck FAILED" and "red" in caption.get("style")
    # d(a²)/da = 2a, the wrong rule gives a: at a = 3 (the worst) numeric = 2 · analytic
    # (both times gradcheck's random weight on that output element)
    assert rows["worst mismatch"] == "input 0, index (2,)"
    analytic = float(rows["analytic (backward)"])
    numeric = float(rows["numeric (central differences)"])
    assert analytic == pytest.approx(report.analytic, rel=1e-9)
    assert numeric == pytest.approx(2 * analytic, rel=1e-6)
    assert float(rows["abs error"]) == pytest.approx(numeric - analytic, rel=1e-2)
    assert rows["tolerance"] == "atol=1e-06, rtol=0.0001"
    markdown = report._repr_markdown_().splitlines()
    assert markdown[0] == "**gradcheck FAILED**"
    assert "| worst mismatch | input 0, index (2,) |" in markdown
    assert f"| analytic (backward) | {rows['analytic (backward)']} |" in markdown


def test_passed_gradcheck_shows_green():
    report = descent.gradcheck(lambda a, b: a * b + a.exp(), [1.0, 2.0], [3.0, -1.0])
    caption, rows = _table(report._repr_html_())
    assert caption.text == "gradcheck passed" and "green" in caption.get("style")
    assert float(rows["abs error"]) == pytest.approx(report.max_abs_error, rel=1e-2)
    assert len(rows) == 6
