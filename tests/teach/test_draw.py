"""The network picture (the notes' student-grade network, seed 000/001) and ``draw``."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import descent
from descent.autograd.draw import draw_graph
from descent.teach.draw import MAX_LABELLED_INPUTS, draw, draw_network
from descent.teach.examples import STUDENT_GRADE
from descent.teach.explain import network_from_spec

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg, role=None):
    return [e.text for e in ET.fromstring(svg).iter(f"{SVG}text")
            if role is None or e.get("class") == role]


def _count(svg, tag, role):
    return sum(e.get("class") == role for e in ET.fromstring(svg).iter(f"{SVG}{tag}"))


def _student_grade():
    return network_from_spec(STUDENT_GRADE)[:3]


def test_the_student_grade_network_as_the_notes_draw_it():
    model, x, target = _student_grade()
    svg = draw(model, x, target).svg
    texts = _texts(svg)
    # x = (1, 0, 1): z4 = w14·1 + w24·0 + w34·1 + b4 = 0.2 + 0 - 0.5 - 0.4 = -0.7,
    # o4 = 1/(1 + e^0.7) = 0.332; z5 = -0.3 + 0 + 0.2 + 0.2 = 0.1, o5 = 0.525;
    # z6 = -0.3·0.332 - 0.2·0.525 + 0.1 = -0.105, o6 = 0.474;
    # e6 = (o6 - t6)·o6(1 - o6) = -0.526·0.474·0.526 = -0.131; E = ½(1 - 0.474)² = 0.138
    for expected in ("z4 = -0.7", "o4 = 0.332", "b4 = -0.4", "z5 = 0.1", "o5 = 0.525",
                     "z6 = -0.105", "o6 = 0.474", "e6 = -0.131", "x1 = 1", "x2 = 0",
                     "t6 = 1", "E = 0.138 (sse)"):
        assert expected in texts
    # the links carry the notes' weight names: w14 = 0.2 ... w56 = -0.2
    assert sorted(_texts(svg, "weight")) == sorted([
        "w14 = 0.2", "w15 = -0.3", "w24 = 0.4", "w25 = 0.1", "w34 = -0.5", "w35 = 0.2",
        "w46 = -0.3", "w56 = -0.2"])
    assert _count(svg, "polyline", "link") == 3 * 2 + 2 * 1
    assert _count(svg, "ellipse", "unit") == 6
    assert {"1", "2", "3", "4", "5", "6"} <= set(texts)
    assert _texts(svg, "heading") == ["inputs", "hidden (sigmoid)", "output (sigmoid)"]


def test_digits_give_the_notes_error_terms():
    model, x, target = _student_grade()
    texts = _texts(draw(model, x, target, digits=2).svg)
    # the notes print e5 = 0.0065 and e4 = 0.0087
    assert "e4 = 0.0087" in texts and "e5 = 0.0065" in texts


def test_without_an_example_only_weights_and_biases_are_shown():
    model, x, _ = _student_grade()
    texts = _texts(draw(model).svg)
    assert "b4 = -0.4" in texts and "w14 = 0.2" in _texts(draw(model).svg, "weight")
    assert not [t for t in _texts(draw(model).svg, "label") if t[0] in "zoeE"]
    forward = _texts(draw(model, x).svg)
    assert "o4 = 0.332" in forward and not [t for t in forward if t[:2] in ("e4", "E ")]


def test_drawing_leaves_the_model_as_it_was():
    model, x, target = _student_grade()
    first = model[0]
    first.weight.grad = np.ones_like(first.weight.data)
    weights = first.weight.data.copy()
    draw(model, x, target)
    assert np.array_equal(first.weight.grad, np.ones_like(weights))
    assert model[2].weight.grad is None
    assert np.array_equal(first.weight.data, weights)


def test_error_terms_reach_every_unit_when_the_weights_are_frozen():
    model, x, target = _student_grade()
    for parameter in model.parameters():
        parameter.requires_grad = False
    assert "e6 = -0.131" in _texts(draw(model, x, target).svg)


def test_a_class_label_target_for_softmax_outputs():
    model = descent.nn.MLP([2, 3], output="softmax", init="zeros", dtype="float64")
    svg = draw(model, [1.0, 2.0], [2], loss="cross_entropy").svg
    texts = _texts(svg)
    # zero weights: every o_k = 1/3; e_k = o_k - t_k = 1/3, 1/3, -2/3
    assert "t = class 2" in texts
    assert [t for t in texts if t.startswith("e")] == ["e3 = 0.333", "e4 = 0.333",
                                                       "e5 = -0.667"]
    assert "E = 1.099 (cross_entropy)" in texts  # ln 3


def test_wide_layers_are_drawn_without_weight_labels():
    model = descent.nn.MLP([MAX_LABELLED_INPUTS + 1, 2, 1], rng=0)
    svg = draw(model).svg
    assert len(_texts(svg, "weight")) == 2  # only the 2 -> 1 layer's
    assert not _texts(draw_network(model, weights=False).svg, "weight")


def test_save_the_network_as_png(tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    model, x, target = _student_grade()
    picture = draw(model, x, target, title="Student grade")
    path = picture.save(tmp_path / "network.png", scale=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib_image.imread(path).shape[:2] == (picture.height, picture.width)


def test_draw_dispatches_on_what_it_is_given():
    b = descent.tensor(2.0, requires_grad=True, name="b")
    f = b * b
    f.backward()
    assert draw(f).svg == draw_graph(f).svg
    assert "df/db = 4" in _texts(draw(f).svg)
    model, x, _ = _student_grade()
    with pytest.raises(descent.DescentValueError, match="for drawing a network"):
        draw(f, x)
    with pytest.raises(descent.DescentValueError, match="names label the leaves"):
        draw(model, names=model)
    with pytest.raises(descent.DescentTypeError, match=r"draw\(model\(x\), names=model\)"):
        draw(model[0])


def test_bad_networks_and_examples_are_refused():
    model, x, target = _student_grade()
    with pytest.raises(descent.DescentValueError, match="needs its example"):
        draw(model, target=target)
    with pytest.raises(descent.DescentValueError, match="the input has 2 values"):
        draw(model, [1.0, 0.0], target)
    with pytest.raises(descent.DescentValueError, match="the target has 2 values"):
        draw(model, x, [1.0, 0.0])
    with pytest.raises(descent.DescentValueError, match="at most 2,000"):
        draw(descent.nn.MLP([100, 30, 10]))
    with pytest.raises(descent.DescentTypeError):
        draw(descent.nn.Sequential(descent.nn.Linear(2, 2), descent.nn.Dropout(0.5)))
