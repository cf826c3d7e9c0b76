"""History: columns, last record, and export to dict, JSON and CSV."""

import csv
import io
import json
import math

import pytest

import descent
from descent import History


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _history():
    h = History()
    h.append({"epoch": 1, "loss": 0.5, "val_loss": float("nan"),
              "grad_norm": {"0.weight": 1.0, "0.bias": 0.25}})
    h.append({"epoch": 2, "loss": 0.25, "val_loss": 0.75,
              "grad_norm": {"0.weight": 0.5, "0.bias": float("inf")}})
    h.append({"epoch": 3, "loss": 0.125, "lr": 0.01,
              "grad_norm": {"0.weight": 0.25, "0.bias": 0.0}})
    h.stop_reason = "max_epochs"
    h.best_epoch = 3
    return h


def test_empty_history():
    h = History()
    assert len(h) == 0
    assert h.last == {}
    assert h["loss"] == []
    assert h.to_dict()["columns"] == {}
    assert "0 epochs" in repr(h)


def test_columns_len_and_last():
    h = _history()
    assert len(h) == 3
    assert h["epoch"] == [1, 2, 3]
    assert h["loss"] == [0.5, 0.25, 0.125]
    val = h["val_loss"]
    assert math.isnan(val[0]) and val[1:] == [0.75, None]
    assert h["lr"] == [None, None, 0.01]
    assert h["missing"] == [None, None, None]
    assert h["grad_norm"][0] == {"0.weight": 1.0, "0.bias": 0.25}
    assert h.last["epoch"] == 3 and h.last is h.records[-1]
    assert "3 epochs" in repr(h) and "0.125" in repr(h) and "max_epochs" in repr(h)


def test_to_dict():
    h = _history()
    h.classes = ("cat", "dog")
    data = h.to_dict()
    assert data["stop_reason"] == "max_epochs"
    assert data["best_epoch"] == 3
    assert data["classes"] == ["cat", "dog"]
    columns = data["columns"]
    assert list(columns) == ["epoch", "loss", "val_loss", "grad_norm", "lr"]
    assert columns["loss"] == [0.5, 0.25, 0.125]
    assert columns["lr"] == [None, None, 0.01]
    assert math.isnan(columns["val_loss"][0])
    assert columns["grad_norm"][1]["0.weight"] == 0.5


def test_to_dict_without_classes():
    assert _history().to_dict()["classes"] is None


def test_to_json_is_strict_json_with_nulls():
    text = _history().to_json()
    data = json.loads(text, parse_constant=_reject_constant)
    assert "NaN" not in text and "Infinity" not in text
    columns = data["columns"]
    assert columns["val_loss"] == [None, 0.75, None]
    assert columns["loss"] == [0.5, 0.25, 0.125]
    assert columns["grad_norm"][1] == {"0.weight": 0.5, "0.bias": None}
    assert columns["grad_norm"][0] == {"0.weight": 1.0, "0.bias": 0.25}
    assert data["stop_reason"] == "max_epochs" and data["best_epoch"] == 3


def test_to_json_does_not_change_records():
    h = _history()
    h.to_json()
    assert math.isnan(h.records[0]["val_loss"])
    assert math.isinf(h.records[1]["grad_norm"]["0.bias"])


def test_to_json_writes_file(tmp_path):
    h = _history()
    path = tmp_path / "history.json"
    text = h.to_json(path)
    assert path.read_text(encoding="utf-8") == text
    assert json.loads(path.read_text(encoding="utf-8"),
                      parse_constant=_reject_constant)["columns"]["epoch"] == [1, 2, 3]


def test_to_csv_header_and_rows():
    text = _history().to_csv()
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header == ["epoch", "loss", "val_loss", "grad_norm[0.weight]", "grad_norm[0.bias]",
                      "lr"]
    assert len(body) == 3
    table = [dict(zip(header, row)) for row in body]
    assert [r["epoch"] for r in table] == ["1", "2", "3"]
    assert [float(r["loss"]) for r in table] == [0.5, 0.25, 0.125]
    assert [float(r["grad_norm[0.weight]"]) for r in table] == [1.0, 0.5, 0.25]
    assert math.isnan(float(table[0]["val_loss"]))
    assert table[2]["val_loss"] == ""          # not recorded in epoch 3
    assert [r["lr"] for r in table] == ["", "", "0.01"]


def test_to_csv_writes_file(tmp_path):
    h = _history()
    path = tmp_path / "history.csv"
    text = h.to_csv(path)
    assert path.read_text(encoding="utf-8") == text
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(h)
    assert "grad_norm[0.weight]" in rows[0]
    assert rows[-1]["grad_norm[0.weight]"] == "0.25"


def test_to_csv_empty_history():
    assert History().to_csv().strip() == ""


def test_history_is_exported():
    assert descent.History is History


def _same(a, b):
    """Equal, with NaN equal to NaN (and 1 != 1.0 where the types differ)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _written_and_read(tmp_path, name):
    """The test history written to ``name`` and read back: (original, read, path)."""
    h = _history()
    path = tmp_path / name
    (h.to_csv if name.endswith(".csv") else h.to_json)(path)
    back = History.read(path)
    assert len(back) == 3
    assert back["epoch"] == [1, 2, 3]
    assert back["loss"] == [0.5, 0.25, 0.125]
    assert back["lr"] == [None, None, 0.01]
    return h, back, path


def test_read_round_trips_csv_files(tmp_path):
    h, back, path = _written_and_read(tmp_path, "history.csv")
    assert all(type(e) is int for e in back["epoch"])
    val = back["val_loss"]
    assert math.isnan(val[0]) and val[1:] == [0.75, None]     # NaN stays NaN, blank is None
    assert back["grad_norm"] == [{"0.weight": 1.0, "0.bias": 0.25},
                                 {"0.weight": 0.5, "0.bias": math.inf},
                                 {"0.weight": 0.25, "0.bias": 0.0}]
    for ours, theirs in zip(h.records, back.records):
        assert all(_same(value, theirs.get(key)) for key, value in ours.items()), theirs
    assert back.to_csv() == h.to_csv()                           # and back again
    assert History.read(str(path)).records[2] == back.records[2]


def test_read_round_trips_json_files(tmp_path):
    h, back, _ = _written_and_read(tmp_path, "history.json")
    assert back["val_loss"] == [None, 0.75, None]               # NaN was written as null
    assert back["grad_norm"] == [{"0.weight": 1.0, "0.bias": 0.25},
                                 {"0.weight": 0.5, "0.bias": None},
                                 {"0.weight": 0.25, "0.bias": 0.0}]
    assert back.stop_reason == "max_epochs" and back.best_epoch == 3
    assert back.to_json() == h.to_json()                         # and back again


def test_read_round_trips_a_real_training_history(tmp_path):
    X, y = descent.datasets.moons(80, seed=0)
    model = descent.nn.MLP([2, 8, 2], rng=0)
    h = descent.train(model, X, y, loss="cross_entropy", epochs=4, validation=0.25, seed=0,
                      progress=False)
    h.to_csv(tmp_path / "h.csv")
    h.to_json(tmp_path / "h.json")
    for name in ("h.csv", "h.json"):
        back = History.read(tmp_path / name)
        assert len(back) == len(h) == 4
        for ours, theirs in zip(h.records, back.records):
            assert set(theirs) == set(ours), name
            for key, value in ours.items():
                assert _same(value, theirs[key]), (name, key, value, theirs[key])
    assert History.read(tmp_path / "h.json").stop_reason == h.stop_reason


def test_read_of_an_empty_history_file(tmp_path):
    (tmp_path / "empty.csv").write_text("epoch,loss\n", encoding="utf-8")
    History().to_json(tmp_path / "empty.json")
    assert len(History.read(tmp_path / "empty.csv")) == 0
    assert len(History.read(tmp_path / "empty.json")) == 0


@pytest.mark.parametrize("classes", [["cat", "dog"], [0, 1, 2]], ids=["names", "integers"])
def test_read_round_trips_the_classes_of_a_json_file(tmp_path, classes):
    """to_json writes ``classes``; reading the file back must restore them, with their
    types (numpy integers from ``train`` included)."""
    import numpy as np

    h = _history()
    h.classes = np.array(classes)
    h.to_json(tmp_path / "history.json")
    back = History.read(tmp_path / "history.json")
    assert back.classes is not None and list(back.classes) == classes
    assert [type(c) for c in back.classes] == [type(c) for c in classes]


SVG = "{http://www.w3.org/2000/svg}"


def _long_history(epochs=30):
    h = History()
    for epoch in range(1, epochs + 1):
        h.append({"epoch": epoch, "loss": 1 / epoch, "val_loss": 2 / epoch,
                  "grad_norm": {"0.weight": 0.1}, "dead_fraction": None})
    h.stop_reason = f"reached the maximum of {epochs} epochs"
    return h


def _parse_html(h):
    """The table rows (cell texts) and the SVG element of ``h._repr_html_()``."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(h._repr_html_())
    rows = [["".join(cell.itertext()) for cell in row] for row in root.iter("tr")]
    return rows, root.find(f"{SVG}svg"), root.find("table/caption").text


def _points(svg, series):
    text = svg.find(f"{SVG}polyline[@class='{series}']").get("points")
    return [tuple(float(v) for v in pair.split(",")) for pair in text.split()]


def test_html_table_shows_first_and_last_epochs_of_a_long_history():
    rows, _, caption = _parse_html(_long_history(30))
    assert caption == "30 epochs; reached the maximum of 30 epochs"
    # nested grad_norm and the never-recorded dead_fraction are left out
    assert rows[0] == ["epoch", "loss", "val_loss"]
    body = rows[1:]
    assert len(body) == 5 + 1 + 5
    assert body[5] == ["⋮ 20 more epochs"]
    assert [row[0] for row in body[:5] + body[6:]] == [str(e) for e in [1, 2, 3, 4, 5,
                                                                        26, 27, 28, 29, 30]]
    assert body[2] == ["3", f"{1 / 3:.4g}", f"{2 / 3:.4g}"] == ["3", "0.3333", "0.6667"]
    assert body[-1] == ["30", "0.03333", "0.06667"]


def test_html_table_shows_every_epoch_of_a_short_history():
    h = _history()
    rows, svg, caption = _parse_html(h)
    assert caption == "3 epochs, best epoch 3; max_epochs"
    assert rows[0] == ["epoch", "loss", "val_loss", "lr"]
    assert rows[1:] == [["1", "0.5", "nan", ""], ["2", "0.25", "0.75", ""],
                        ["3", "0.125", "", "0.01"]]
    assert len(_points(svg, "loss")) == 3
    assert len(_points(svg, "val_loss")) == 1  # NaN and missing values are not drawn
    assert len(svg.findall(f"{SVG}circle")) == 1  # so the single point is marked


def test_loss_curve_has_one_point_per_epoch_going_down_as_the_loss_does():
    _, svg, _ = _parse_html(_long_history(30))
    width, height = float(svg.get("width")), float(svg.get("height"))
    for series in ("loss", "val_loss"):
        points = _points(svg, series)
        assert len(points) == 30
        xs, ys = zip(*points)
        assert list(xs) == sorted(xs) and len(set(xs)) == 30
        assert list(ys) == sorted(ys)  # SVG y grows downwards: falling loss, rising y
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    # val_loss = 2 · loss: its first point is the highest of the plot (smallest y)
    assert _points(svg, "val_loss")[0][1] < _points(svg, "loss")[0][1]
    x_ticks = [float(t.text) for t in svg.iter(f"{SVG}text") if t.get("class") == "x-tick"]
    y_ticks = [float(t.text) for t in svg.iter(f"{SVG}text") if t.get("class") == "y-tick"]
    assert x_ticks == [10, 20, 30] and len(y_ticks) >= 3
    assert min(y_ticks) >= 1 / 30 - 0.1 and max(y_ticks) <= 2 + 0.1
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") is None][-2:] == \
        ["loss", "val_loss"]  # the legend


def test_to_svg_writes_the_file(tmp_path):
    from xml.etree import ElementTree

    h = _long_history(4)
    text = h.to_svg(tmp_path / "loss.svg", width=200, height=120)
    assert (tmp_path / "loss.svg").read_text(encoding="utf-8") == text
    svg = ElementTree.fromstring(text)
    assert svg.get("width") == "200" and len(_points(svg, "loss")) == 4


def test_html_of_an_empty_history():
    assert History()._repr_html_() == "<p>History: 0 epochs</p>"
    assert "no loss recorded" in History().to_svg()


def test_html_of_a_trained_history():
    X, y = descent.datasets.truth_table("xor")
    model = descent.nn.MLP([2, 4, 2], activation="tanh", rng=0)
    h = descent.train(model, X, y, loss="cross_entropy", lr=0.5, epochs=11, seed=0,
                      validation=(X, y), progress=False)
    rows, svg, _ = _parse_html(h)
    header = rows[0]
    assert header[:2] == ["epoch", "loss"] and "val_loss" in header and "accuracy" in header
    assert "grad_norm" not in " ".join(header)
    loss = header.index("loss")
    assert len(rows) == 1 + 11  # 5 + 5 would leave out one epoch: all 11 are shown
    assert [row[loss] for row in rows[1:]] == [f"{v:.4g}" for v in h["loss"]]
    assert len(_points(svg, "loss")) == len(_points(svg, "val_loss")) == 11


def test_a_long_run_is_drawn_at_evenly_spaced_epochs():
    from descent.training.history import MAX_POINTS

    h = _long_history(3 * MAX_POINTS + 1)
    _, svg, _ = _parse_html(h)
    xs = [x for x, _ in _points(svg, "loss")]
    assert len(xs) == MAX_POINTS
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    # evenly spaced: gaps differ by at most one epoch (300 px / 1500 epochs = 0.2 px) and
    # the rounding of coordinates to 0.1 px
    assert max(gaps) - min(gaps) <= 0.2 + 0.1 + 1e-9
    assert xs[0] == float(svg.find(f"{SVG}g/{SVG}line").get("x1"))  # on the y axis
