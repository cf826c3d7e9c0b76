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
