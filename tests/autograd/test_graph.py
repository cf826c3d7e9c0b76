"""Graph export: seed 000's d·(b + c) with its values and gradients."""

import pytest

import descent


def test_dot_shows_values_ops_and_gradients():
    b = descent.tensor(2.0, requires_grad=True, name="b")
    c = descent.tensor(3.0, requires_grad=True, name="c")
    d = descent.tensor(4.0, requires_grad=True, name="d")
    f = d * (b + c)
    f.backward()
    dot = descent.to_dot(f, title="f = d(b + c)")
    assert dot.startswith("digraph descent {") and dot.rstrip().endswith("}")
    assert '{b | scalar | value 2 | grad 4}' in dot
    assert '{c | scalar | value 3 | grad 4}' in dot
    assert '{d | scalar | value 4 | grad 5}' in dot
    assert "{add | scalar | value 5}" in dot and "{mul | scalar | value 20}" in dot
    assert dot.count("shape=ellipse") == 2  # two ops
    assert dot.count("->") == 6             # 4 inputs into ops, 2 ops into results


def test_large_tensors_show_shape_not_values():
    x = descent.tensor([[0.0] * 10] * 10, requires_grad=True, name="x")
    dot = descent.to_dot(x.sum())
    assert "shape (10, 10)" in dot and "value [[" not in dot


def test_to_dot_needs_a_tensor():
    with pytest.raises(descent.DescentTypeError):
        descent.to_dot([1.0])
