"""Pictures of a tensor's graph: seed 000's f = d·(b + c) drawn, laid out and saved."""

import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import descent
from descent.autograd.draw import (
    MAX_DRAWN_TENSORS,
    Picture,
    draw_graph,
    format_number,
    layered_layout,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg):
    return ET.fromstring(svg)


def _texts(svg):
    return [element.text for element in _parse(svg).iter(f"{SVG}text")]


def _elements(svg, tag, role):
    return [e for e in _parse(svg).iter(f"{SVG}{tag}") if e.get("class") == role]


def _points(element):
    return [tuple(map(float, p.split(","))) for p in element.get("points").split()]


def _notes_graph():
    b, c, d = (descent.tensor(v, requires_grad=True, name=n) for v, n in
               ((2.0, "b"), (3.0, "c"), (4.0, "d")))
    f = d * (b + c)
    return f


def test_the_notes_graph_shows_values_gradients_and_every_edge():
    f = _notes_graph()
    f.backward()
    svg = draw_graph(f, title="f = d(b + c)").svg
    texts = _texts(svg)
    # forward: z = b + c = 5, f = d z = 20; backward: df/dd = z = 5, df/db = df/dc = d = 4
    for expected in ("value = 2", "value = 3", "value = 4", "value = 5", "value = 20",
                     "df/db = 4", "df/dc = 4", "df/dd = 5", "df/df = 1", "f = d(b + c)"):
        assert expected in texts
    assert len(_elements(svg, "rect", "tensor")) == 5    # b, c, d, b + c, f
    assert len(_elements(svg, "ellipse", "op")) == 2     # + and *
    assert {"+", "*"} == {e.text for e in _elements(svg, "text", "op-label")}
    # an edge per parent of each op (4) and one from each op to its result (2)
    assert len(_elements(svg, "polyline", "edge")) == 6
    assert len(_elements(svg, "polygon", "arrowhead")) == 6


def test_arrows_run_forward_from_box_to_op_to_box():
    f = _notes_graph()
    picture = draw_graph(f)
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")),
              float(r.get("height"))) for r in _elements(picture.svg, "rect", "tensor")]
    ops = [(float(e.get("cx")), float(e.get("cy")), float(e.get("rx")), float(e.get("ry")))
           for e in _elements(picture.svg, "ellipse", "op")]
    heads = _elements(picture.svg, "polygon", "arrowhead")
    for line, head in zip(_elements(picture.svg, "polyline", "edge"), heads, strict=True):
        (x0, y0), tip = _points(line)[0], _points(head)[0]
        assert tip[0] > x0  # left to right, the way of the forward pass
        starts_on_box = any(abs(x0 - (x + w)) < 0.2 and y <= y0 <= y + h
                            for x, y, w, h in boxes)
        starts_on_op = any(abs(x0 - (cx + rx)) < 0.2 and abs(y0 - cy) < 0.2
                           for cx, cy, rx, ry in ops)
        ends_on_op = any(abs(((tip[0] - cx) / rx) ** 2 + ((tip[1] - cy) / ry) ** 2 - 1) < 0.05
                         for cx, cy, rx, ry in ops)
        ends_on_box = any(abs(tip[0] - x) < 0.2 and y <= tip[1] <= y + h
                          for x, y, w, h in boxes)
        assert (starts_on_box and ends_on_op) or (starts_on_op and ends_on_box)


def test_no_gradients_are_shown_before_backward():
    texts = _texts(draw_graph(_notes_graph()).svg)
    assert "value = 20" in texts
    assert not [t for t in texts if t.startswith(("df/", "grad"))]


def test_a_named_output_names_its_derivatives():
    f = _notes_graph()
    f.name = "E"
    f.backward()
    texts = _texts(draw_graph(f).svg)
    assert "dE/dE = 1" in texts and "dE/db = 4" in texts


def test_a_model_names_its_parameters():
    model = descent.nn.MLP([3, 2, 1], activation="sigmoid", output="sigmoid", rng=0)
    x = descent.tensor([[1.0, 0.0, 1.0]])
    loss = descent.losses.get_loss("sse")(model(x), [[1.0]])
    loss.backward()
    for names in (model, dict(model.named_parameters())):
        texts = _texts(draw_graph(loss, names=names).svg)
        assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= set(texts)
        grad = model[0].bias.grad
        assert (f"df/d(0.bias) = [{format_number(grad[0])}, {format_number(grad[1])}]"
                in texts)
    with pytest.raises(descent.DescentTypeError, match="dict of name -> tensor"):
        draw_graph(loss, names=[model[0].weight])
    with pytest.raises(descent.DescentTypeError, match="not a tensor"):
        draw_graph(loss, names={"w": 1.0})


def test_small_arrays_in_full_large_ones_by_shape_and_a_few_numbers():
    w = descent.tensor([[1.0, -0.5], [0.25, 2.0]], requires_grad=True, name="w")
    big = descent.tensor(np.arange(100.0).reshape(10, 10), requires_grad=True, name="big")
    texts = _texts(draw_graph(w.sum() + big.sum()).svg)
    assert "value = [[   1, -0.5]," in texts and "         [0.25,    2]]" in texts
    assert "shape (10, 10)" in texts
    assert "value = [0, 1, 2, …]" in texts and "        min 0, max 99" in texts


def test_numbers_as_the_notes_print_them():
    assert format_number(20.0) == "20"
    assert format_number(-0.7) == "-0.7"
    assert format_number(0.33181) == "0.332"
    assert format_number(0.0086976) == "0.0087" == format_number(0.0086976, 2)
    assert format_number(-0.0) == "0" and format_number(0) == "0"
    assert format_number(1.23456, 2) == "1.23"
    assert format_number(2.5e7) == "2.5e+07" and format_number(float("nan")) == "nan"


def test_text_is_escaped_and_the_svg_is_valid_xml():
    t = descent.tensor(1.0, requires_grad=True, name='<a & "b">\x01')
    (t * 2).backward()
    picture = draw_graph(t * 2)
    texts = _texts(picture.svg)  # parses
    assert '<a & "b">\ufffd' in texts
    root = _parse(picture._repr_svg_())
    assert (root.get("width"), root.get("height")) == (str(picture.width),
                                                       str(picture.height))


def test_a_leaf_alone_is_one_box():
    picture = draw_graph(descent.tensor(3.0, name="x"))
    assert _texts(picture.svg) == ["x", "value = 3"]
    assert isinstance(picture, Picture) and "Picture" in repr(picture)


def test_save_svg_and_png(tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    f = _notes_graph()
    f.backward()
    picture = draw_graph(f)
    svg_path = picture.save(tmp_path / "graph.svg")
    assert "df/df = 1" in _texts(svg_path.read_text(encoding="utf-8"))
    png_path = picture.save(tmp_path / "graph.PNG", scale=1)
    data = png_path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    pixels = matplotlib_image.imread(png_path)
    assert pixels.shape[:2] == (picture.height, picture.width)
    assert pixels.min() < 0.5  # something dark is drawn on the white page
    assert sorted(os.listdir(tmp_path)) == ["graph.PNG", "graph.svg"]  # no temporary left


def test_saving_replaces_a_file_atomically_and_keeps_its_mode(tmp_path):
    path = tmp_path / "graph.svg"
    path.write_text("old")
    path.chmod(0o640)
    draw_graph(_notes_graph()).save(path)
    assert path.read_text(encoding="utf-8").startswith("<svg")
    assert (path.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["graph.svg"]


@pytest.mark.parametrize("name", ["graph.pdf", "graph", "graph.svg.txt"])
def test_a_bad_suffix_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(descent.DescentValueError, match=r"\.svg or \.png"):
        draw_graph(_notes_graph()).save(tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_or_a_folder_target_is_refused(tmp_path):
    picture = draw_graph(_notes_graph())
    with pytest.raises(descent.DescentValueError, match="does not exist"):
        picture.save(tmp_path / "missing" / "graph.svg")
    (tmp_path / "graph.svg").mkdir()
    with pytest.raises(descent.DescentValueError, match="a folder"):
        picture.save(tmp_path / "graph.svg")
    assert os.listdir(tmp_path) == ["graph.svg"]


def test_png_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(descent.DescentError, match="pip install matplotlib"):
        draw_graph(_notes_graph()).save(tmp_path / "graph.png")
    assert os.listdir(tmp_path) == []


def test_a_1000_deep_chain_draws_without_recursion():
    x = descent.tensor(0.5, requires_grad=True, name="x")
    w = descent.tensor(1.001, requires_grad=True, name="w")
    y = x
    for _ in range(1000):
        y = y * w  # w feeds every op: long edges, drawn straight past the bend budget
    y.backward()
    picture = draw_graph(y)
    assert len(_elements(picture.svg, "polyline", "edge")) == 3000  # 2 in, 1 out per op
    assert picture.width > 100_000 > 10 * picture.height
    with pytest.raises(descent.DescentValueError, match="save it as .svg"):
        picture.png()


def test_graphs_above_the_limit_are_refused():
    y = descent.tensor(1.0, requires_grad=True)
    for _ in range(MAX_DRAWN_TENSORS):
        y = -y
    with pytest.raises(descent.DescentValueError, match="at most 2,000"):
        draw_graph(y)
    with pytest.raises(descent.DescentValueError, match="at most 10 "):
        draw_graph(y, max_tensors=10)


def test_bad_arguments():
    with pytest.raises(descent.DescentTypeError, match="needs a Tensor"):
        draw_graph([1.0])
    with pytest.raises(descent.DescentValueError, match="digits"):
        draw_graph(_notes_graph(), digits=-1)
    with pytest.raises(descent.DescentValueError, match="scale"):
        draw_graph(_notes_graph()).png(scale=0)


def _crossings(centres, edges):
    count = 0
    for a, (u, v) in enumerate(edges):
        for p, q in edges[a + 1:]:
            same_columns = (centres[u][0] == centres[p][0] and centres[v][0] == centres[q][0])
            if same_columns and (centres[u][1] - centres[p][1]) * (
                    centres[v][1] - centres[q][1]) < 0:
                count += 1
    return count


def test_layout_layers_by_longest_path_and_orders_against_crossings():
    # 0 -> 5, 1 -> 4, 2 -> 3: in the order given, every pair of edges crosses
    sizes = [(20.0, 10.0)] * 6
    edges = [(0, 5), (1, 4), (2, 3), (3, 6), (4, 6), (5, 6)]
    centres, routes, width, height = layered_layout(sizes + [(20.0, 10.0)], edges)
    assert _crossings(centres, edges) == 0
    assert len({x for x, _ in centres[:3]}) == 1 and centres[0][0] < centres[3][0]
    assert all(route == [] for route in routes)
    assert width > 0 and height > 0


def test_layout_bends_long_edges_through_each_column_and_moves_sources_right():
    # 0 -> 1 -> 2 -> 3 and 0 -> 3: the long edge bends twice; 4 feeds only 3, so it sits
    # in the column just before 3, not with the first inputs
    sizes = [(30.0, 20.0)] * 5
    edges = [(0, 1), (1, 2), (2, 3), (0, 3), (4, 3)]
    centres, routes, _, _ = layered_layout(sizes, edges)
    assert len(routes[3]) == 2
    xs = sorted({x for x, _ in centres})
    assert [centres[n][0] for n in range(4)] == xs and centres[4][0] == centres[2][0]
    for x, y in routes[3]:  # a bend never sits on a box
        assert all(abs(x - cx) > 15 or abs(y - cy) > 10 for cx, cy in centres)
