"""ONNX export: ONNX Runtime, given the raw table rows, predicts what ``descent predict``
predicts (float32, to 1e-5), for every activation, classification head and regression;
every graph passes ``onnx.checker``; bad input is refused before anything is written."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import descent
from descent import cli, nn
from descent.errors import DescentError, DescentTypeError, DescentValueError
from descent.interop import to_onnx
from descent.nn.activations import ACTIVATION_MODULES
from descent.nn.inspect import predict
from descent.tabular import encode_features, fit_table, predict_table

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ACTIVATIONS = sorted(ACTIVATION_MODULES)
TOLERANCE = 1e-5  # float32 outputs against descent's float64 post-processing


def _table(rows=90, seed=0):
    """Numbers (a float and an integer column), text and booleans, and three targets."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, rows)
    visits = rng.integers(0, 9, rows)
    city = rng.choice(["Oslo", "Rome", "Lima"], rows)
    member = rng.random(rows) < 0.4
    score = (age - 40) / 12 + 0.3 * visits - (city == "Rome") + member
    return pd.DataFrame({
        "age": age, "visits": visits, "city": city, "member": member,
        "bought": np.where(score > 0.8, "yes", "no"),
        "grade": np.digitize(score, [0.0, 1.5]),  # the integer classes 0, 1, 2
        "spend": 500 + 120 * score + rng.normal(0, 5, rows),
    })


TARGETS = {"binary": "bought", "multiclass": "grade", "regression": "spend"}


def _fit(frame, task, activation="relu", loss=None):
    others = [name for name in TARGETS.values() if name != TARGETS[task]]
    with warnings.catch_warnings():  # a step network cannot learn, and descent says so
        warnings.filterwarnings("ignore", "the network has a step activation")
        model, _ = fit_table(frame, TARGETS[task], drop=others, hidden=(6, 5),
                             activation=activation, loss=loss, epochs=3, progress=False)
    return model


def _session(proto):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(proto.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def _feeds(proto, frame):
    """The graph's inputs from raw table columns: [N, 1] numbers or text."""
    feeds = {}
    for value in proto.graph.input:
        column = frame[[value.name]]
        if value.type.tensor_type.elem_type == onnx.TensorProto.STRING:
            feeds[value.name] = column.astype(str).to_numpy(dtype=object)
        else:
            feeds[value.name] = column.to_numpy(dtype=np.float32)
    return feeds


def _run(proto, frame):
    session = _session(proto)
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, _feeds(proto, frame))))


def _assert_as_descent_predicts(model, frame):
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    outputs = _run(proto, frame)
    if model.metadata["target"]["task"] == "regression":
        assert list(outputs) == ["prediction"]
        np.testing.assert_allclose(outputs["prediction"], predict_table(model, frame),
                                   rtol=TOLERANCE)
        return
    assert list(outputs) == ["label", "probabilities"]
    assert outputs["probabilities"].dtype == np.float32
    np.testing.assert_allclose(outputs["probabilities"],
                               predict_table(model, frame, proba=True), atol=TOLERANCE)
    assert outputs["label"].tolist() == predict_table(model, frame).tolist()


@pytest.mark.parametrize("task", sorted(TARGETS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnxruntime_predicts_what_descent_predicts_for_every_activation(task, activation):
    frame = _table()
    _assert_as_descent_predicts(_fit(frame, task, activation), frame)


@pytest.mark.parametrize("task, loss", [
    ("binary", "cross_entropy"), ("binary", "nll"), ("binary", "bce"),
    ("binary", "binary_cross_entropy_with_logits"), ("binary", "mse"),
    ("multiclass", "nll"), ("multiclass", "mse"), ("regression", "mae")])
def test_every_output_head_gives_descents_probabilities(task, loss):
    """Scores (softmax, or a sigmoid of one score), a softmax or a sigmoid output."""
    frame = _table(seed=1)
    _assert_as_descent_predicts(_fit(frame, task, "tanh", loss), frame)


def test_labels_are_text_or_int64_as_the_classes_are():
    frame = _table()
    text, integers = (_run(to_onnx(_fit(frame, task)), frame)["label"]
                      for task in ("binary", "multiclass"))
    assert set(text.tolist()) <= {"no", "yes"} and text.dtype == object
    assert integers.dtype == np.int64 and set(integers.tolist()) <= {0, 1, 2}


def test_the_graph_takes_one_raw_column_each_and_records_the_target():
    proto = to_onnx(_fit(_table(), "multiclass"))
    inputs = {value.name: (value.type.tensor_type.elem_type,
                           [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim])
              for value in proto.graph.input}
    number, text = onnx.TensorProto.FLOAT, onnx.TensorProto.STRING
    assert inputs == {"age": (number, ["N", 1]), "visits": (number, ["N", 1]),
                      "city": (text, ["N", 1]), "member": (text, ["N", 1])}
    assert proto.opset_import[0].version >= 17 and proto.producer_name == "descent"
    properties = {p.key: p.value for p in proto.metadata_props}
    assert properties == {"descent.task": "classification", "descent.target": "grade",
                          "descent.classes": "[0, 1, 2]"}


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-6), ("float64", 1e-12)])
def test_a_network_without_a_table_has_one_matrix_input(dtype, tolerance):
    """Every activation in one network; ONNX Runtime computes in the network's dtype."""
    net = nn.MLP([4, *[5] * len(ACTIVATIONS), 3], activation=ACTIVATIONS, dropout=0.2,
                 dtype=dtype, rng=0)
    X = np.random.default_rng(1).normal(size=(32, 4)).astype(dtype)
    proto = to_onnx(net)
    assert [v.name for v in proto.graph.input] == ["input"]
    (output,) = _session(proto).run(None, {"input": X})
    assert output.dtype == dtype
    np.testing.assert_allclose(output, predict(net, X), rtol=tolerance, atol=tolerance)


def test_a_category_never_seen_in_training_is_a_row_of_zeros():
    """descent predict refuses it; the graph cannot raise, so it encodes no category."""
    frame = _table()
    model = _fit(frame, "regression")
    row = frame.iloc[:1].copy()
    known = encode_features(model, row)
    known[:, 2:5] = 0  # the one-hot block of city: age, visits, then Lima, Oslo, Rome
    row["city"] = "Paris"
    expected = predict(model, known)[0, 0] * model.metadata["target"]["scale"] \
        + model.metadata["target"]["mean"]
    np.testing.assert_allclose(_run(to_onnx(model), row)["prediction"], [expected],
                               rtol=TOLERANCE)


def test_outputs_step_aside_for_a_feature_column_of_the_same_name():
    frame = _table().rename(columns={"age": "label", "city": "probabilities"})
    model = _fit(frame, "binary")
    proto = to_onnx(model)
    assert [v.name for v in proto.graph.output] == ["label_1", "probabilities_1"]
    outputs = _run(proto, frame)
    assert outputs["label_1"].tolist() == predict_table(model, frame).tolist()


def test_the_file_is_written_once_atomically_and_the_same_model_gives_the_same_bytes(
        tmp_path):
    model = _fit(_table(), "binary")
    descent.save(model, tmp_path / "m.descent")
    to_onnx(model, tmp_path / "a.onnx")
    to_onnx(tmp_path / "m.descent", tmp_path / "b.onnx")  # a model file works too
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    onnx.checker.check_model(str(tmp_path / "a.onnx"), full_check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx", "m.descent"]


def test_the_command_line_export_serves_descent_predicts_rows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    frame = _table(rows=60)
    frame.drop(columns=["grade", "spend"]).to_csv("data.csv", index=False)
    assert cli.main(["train", "data.csv", "--epochs", "3", "--no-progress"]) == 0
    assert cli.main(["export", "model.descent", "-o", "model.onnx"]) == 0
    assert cli.main(["predict", "model.descent", "data.csv", "-o", "labels.csv"]) == 0
    assert cli.main(["predict", "model.descent", "data.csv", "--proba", "-o", "p.csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "Wrote model.onnx (ONNX opset 19): inputs age, visits, city, member; outputs label, "
        "probabilities")
    rows = pd.read_csv("data.csv")  # what a server would receive: the raw rows
    outputs = _run(onnx.load("model.onnx"), rows)
    assert outputs["label"].tolist() == pd.read_csv("labels.csv")["bought"].tolist()
    np.testing.assert_allclose(outputs["probabilities"], pd.read_csv("p.csv").to_numpy(),
                               atol=TOLERANCE)


class Square(nn.Module):
    def forward(self, x):
        return x * x


def test_a_layer_onnx_export_does_not_take_is_named_with_its_position(tmp_path):
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), Square()))
    with pytest.raises(DescentTypeError, match=r"layer 1\.1 is a Square, which the ONNX "
                                               r"export does not take; it takes .*Linear"):
        to_onnx(net, tmp_path / "m.onnx")
    with pytest.raises(DescentTypeError, match="descent model or the path"):
        to_onnx(np.eye(2))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_onnx_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(DescentError, match=r"pip install 'descent\[onnx\]'"):
        to_onnx(nn.MLP([2, 1], rng=0))


def test_paths_are_refused_before_anything_is_written(tmp_path):
    model = _fit(_table(), "binary")
    descent.save(model, tmp_path / "m.onnx")
    before = (tmp_path / "m.onnx").read_bytes()
    with pytest.raises(DescentValueError, match=r"must end in \.onnx, got '.*m\.txt'"):
        to_onnx(model, tmp_path / "m.txt")
    with pytest.raises(DescentValueError, match="would destroy the model"):
        to_onnx(tmp_path / "m.onnx", tmp_path / "m.onnx")
    with pytest.raises(DescentError, match="folder .* does not exist"):
        to_onnx(model, tmp_path / "nowhere" / "m.onnx")
    assert (tmp_path / "m.onnx").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


@pytest.mark.parametrize("arguments, message", [
    (["m.descent", "-o", "m.txt"], "the ONNX file must end in .onnx, got 'm.txt'; name it "
                                   "e.g. model.onnx"),
    (["model.onnx", "-o", "model.onnx"], "the ONNX file model.onnx is the model file "
                                         "model.onnx: writing it would destroy the model; "
                                         "choose another file name"),
    (["none.descent", "-o", "m.onnx"], "descent model file none.descent does not exist"),
])
def test_command_line_export_errors_are_one_line(tmp_path, monkeypatch, capsys, arguments,
                                                 message):
    monkeypatch.chdir(tmp_path)
    model = nn.MLP([2, 3, 1], rng=0)
    descent.save(model, "m.descent")
    descent.save(model, "model.onnx")
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert cli.main(["export", *arguments]) == 2
    assert capsys.readouterr().err == f"descent: error: {message}\n"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
