"""A page's session, driven as the page drives it: training runs on the worker thread in
calls of descent.train, and every command lands between two epochs."""

import base64
import contextlib
import io

import numpy as np
import pytest

import descent
from descent.nn.inspect import class_probabilities, predict
from descent.playground import inputs_for
from descent.playground.views import grid


def _loss_falls_while_playing(page, epochs):
    first = page.recorder.wait(lambda m: m["epoch"] >= 1 and m["metrics"]["loss"] is not None)
    page.send({"type": "play"})
    later = page.recorder.wait(lambda m: m["epoch"] >= epochs, timeout=30)
    return first, later


def test_play_makes_the_epoch_rise_and_the_loss_fall_on_xor(page):
    page.configure(dataset="xor", hidden=[8, 8], activations=["tanh", "tanh"],
                   dropout=[0.0, 0.0], learning_rate=0.1)
    page.send({"type": "step"})
    first, later = _loss_falls_while_playing(page, 60)
    assert later["metrics"]["loss"] < first["metrics"]["loss"] * 0.5
    assert later["metrics"]["test_score"] > 0.9
    assert len(later["output"]["classes"]) > 0


def test_play_learns_a_three_class_spiral_with_softmax_and_cross_entropy(page):
    settings, _ = page.configure(dataset="spiral", classes=3, noise=0, hidden=[16, 16],
                                 activations=["relu", "relu"], dropout=[0.0, 0.0],
                                 optimizer="adam", learning_rate=0.01, batch_size=16)
    network = page.recorder.last("network")
    assert network["sizes"][-1] == 3 and network["activations"][-1] == "softmax"
    page.send({"type": "step"})
    first, later = _loss_falls_while_playing(page, 150)
    assert later["metrics"]["loss"] < first["metrics"]["loss"] * 0.6
    assert np.array(later["confusion"]).shape == (3, 3)


def test_pause_then_step_advance_exactly_one_epoch(page):
    page.send({"type": "play"})
    page.recorder.wait(lambda m: m["epoch"] >= 5)
    stopped = page.paused_at()
    mark = page.send({"type": "step"})
    stepped = page.recorder.wait(lambda m: not m["playing"] and m["epoch"] > stopped,
                                 after=mark)
    assert stepped["epoch"] == stopped + 1
    assert len(page.recorder.of("frame")[-1]["history"]) <= 1
    page.send({"type": "configure", "settings": {"noise": 0}})  # a command still answers
    assert page.frame()["epoch"] == stopped + 1
    mark = page.send({"type": "step"})
    assert page.recorder.wait(lambda m: m["epoch"] > stopped + 1, after=mark)["epoch"] \
        == stopped + 2


def test_a_learning_rate_change_keeps_the_weights_and_the_epoch(page):
    page.send({"type": "step"})
    page.recorder.wait(lambda m: m["epoch"] == 1)
    weights = page.frame()["weights"]
    settings, _ = page.configure(learning_rate=0.3)
    assert settings["learning_rate"] == 0.3 and page.session.optimizer.lr == 0.3
    assert page.frame()["epoch"] == 1 and page.frame()["weights"] == weights


def test_reset_draws_new_weights_at_epoch_zero(page):
    before = page.recorder.last("settings")["settings"]["init_seed"]
    page.send({"type": "step"})
    page.recorder.wait(lambda m: m["epoch"] == 1)
    mark = page.send({"type": "reset"})
    frame = page.recorder.wait(lambda m: True, after=mark)
    assert frame["epoch"] == 0 and not frame["playing"]
    assert page.recorder.last("settings")["settings"]["init_seed"] != before


def test_an_architecture_change_rebuilds_the_network(page):
    page.configure(hidden=[3, 5, 2], activations=["relu", "sigmoid", "elu"],
                   dropout=[0.0, 0.2, 0.0], features=["x1", "x2", "x1^2", "sin(x2)"])
    network = page.recorder.last("network")
    assert network["sizes"] == [4, 3, 5, 2, 2]
    assert network["activations"] == ["relu", "sigmoid", "elu", "softmax"]
    frame = page.frame()
    assert [np.shape(w) for w in frame["weights"]] == [(4, 3), (3, 5), (5, 2), (2, 2)]
    maps = np.frombuffer(base64.b64decode(frame["units"]["maps"]), np.uint8)
    assert maps.size == (4 + 3 + 5 + 2 + 2) * frame["units"]["size"] ** 2


@pytest.mark.parametrize("settings, message", [
    ({"hidden": [4] * 9, "activations": ["tanh"] * 9, "dropout": [0.0] * 9},
     "hidden must be a list of 0 to 8"),
    ({"hidden": [4, 100]}, "hidden[1] must be a whole number from 1 to 16"),
    ({"points": 10 ** 7}, "points must be a whole number from 10 to 2000"),
    ({"dataset": "../../etc/passwd"}, "dataset must be one of"),
    ({"learning_rate": 1e9}, "learning_rate must be a number from"),
    ({"learning_rate": float("nan")}, "learning_rate must be a number from"),
    ({"activations": ["__import__('os')", "tanh"]}, "activations[0] must be one of"),
    ({"features": []}, "features must be a list of 1 to 7"),
    ({"__class__": 1}, "unknown setting"),
    ({"dataset": "plane"}, "the plane data set is a regression problem"),
    ({"loss": "mae"}, "loss mae is not for classification"),
    ({"hidden": [4]}, "activations lists 2 entries; the network has 1 hidden layers"),
])
def test_hostile_settings_are_refused_and_nothing_changes(page, settings, message):
    before = dict(page.session.settings)
    mark = page.recorder.mark()
    with pytest.raises(descent.DescentValueError) as error:
        page.send({"type": "configure", "settings": settings})
    assert message in str(error.value)
    assert page.recorder.wait(lambda m: True, kind="error", after=mark)["message"] \
        == str(error.value)
    assert page.session.settings == before


@pytest.mark.parametrize("message, problem", [
    ({"type": "drop_tables"}, "unknown message type"),
    ({"type": "play", "now": True}, "a play message has the fields none"),
    ({"type": "set_weight", "layer": 1, "from": 0, "to": 0, "value": float("inf")},
     "value must be a number"),
    ({"type": "explain", "example": -1}, "example must be a whole number"),
    ("play", "unknown message type"),
])
def test_malformed_messages_are_refused(page, message, problem):
    with pytest.raises(descent.DescentValueError, match=problem):
        page.session.submit(message)


def test_a_weight_edit_out_of_the_network_is_refused(page):
    with pytest.raises(descent.DescentValueError, match="layer 1 has no weight from unit 5"):
        page.send({"type": "set_weight", "layer": 1, "from": 5, "to": 0, "value": 1.0})
    with pytest.raises(descent.DescentValueError, match="the network has layers 1 to 3"):
        page.send({"type": "set_bias", "layer": 7, "to": 0, "value": 1.0})


def test_editing_a_weight_changes_the_network_and_what_the_page_shows(page):
    mark = page.send({"type": "set_weight", "layer": 1, "from": 0, "to": 1, "value": 2.5})
    frame = page.recorder.wait(lambda m: True, after=mark)
    assert frame["weights"][0][0][1] == 2.5
    assert page.session.model[0].weight.data[0, 1] == 2.5
    assert frame["metrics"]["measured"] == "now"
    page.send({"type": "set_bias", "layer": 3, "to": 1, "value": -1.5})
    assert page.frame()["biases"][2][1] == -1.5


def test_clicked_points_join_the_training_set(page):
    page.configure(dataset="custom", classes=3)
    assert page.recorder.last("data")["train"] == []
    page.send({"type": "play"})
    assert "no training points" in page.recorder.wait(lambda m: True, kind="notice")["message"]
    for x, y, label in ((-3, -3, 0), (3, 3, 1), (3, -3, 2), (-3.5, -2.5, 0)):
        page.send({"type": "add_point", "x": x, "y": y, "label": label})
    assert len(page.recorder.last("data")["train"]) == 4
    with pytest.raises(descent.DescentValueError, match="the class must be a whole number"):
        page.send({"type": "add_point", "x": 0, "y": 0, "label": 3})
    with pytest.raises(descent.DescentValueError, match="outside the picture"):
        page.send({"type": "add_point", "x": 60, "y": 0, "label": 1})
    mark = page.send({"type": "step"})
    assert page.recorder.wait(lambda m: m["epoch"] == 1, after=mark)


CSV = b"""width;height;colour;kind
1.0;2.0;red;a
""" + b"".join(f"{x:.3f};{y:.3f};blue;{'b' if x * y > 0 else 'a'}\n".encode()
               for x, y in np.random.default_rng(0).uniform(-1, 1, (199, 2)))


def test_an_uploaded_csv_trains(page):
    answer = page.ask("upload", CSV)
    assert answer["picked"] == {"x1": "width", "x2": "height", "label": "kind",
                                "standardise": True}
    assert answer["columns"] == ["width", "height", "colour", "kind"]
    settings = page.recorder.last("settings")["settings"]
    assert settings["dataset"] == "csv" and settings["problem"] == "classification"
    data = page.recorder.last("data")
    assert data["classes"] == ["a", "b"] and len(data["train"]) + len(data["test"]) == 200
    page.configure(hidden=[8, 8], activations=["tanh", "tanh"], dropout=[0.0, 0.0],
                   learning_rate=0.3)
    page.send({"type": "step"})
    first, later = _loss_falls_while_playing(page, 40)
    assert later["metrics"]["loss"] < first["metrics"]["loss"]


def test_other_columns_of_a_wider_file_can_be_picked(page):
    page.ask("upload", b"a,b,c,t\n" + b"".join(
        f"{i},{i % 7},{i * 0.5},{i * 0.25}\n".encode() for i in range(50)))
    page.send({"type": "columns", "x1": "b", "x2": "c", "label": "t", "standardise": False})
    settings = page.recorder.last("settings")["settings"]
    assert settings["problem"] == "regression" and settings["loss"] == "mse"
    data = page.recorder.last("data")
    assert data["inputs"] == ["b", "c"] and data["classes"] is None
    with pytest.raises(descent.DescentValueError, match="the label column must not be an "):
        page.send({"type": "columns", "x1": "b", "x2": "c", "label": "c",
                   "standardise": False})


@pytest.mark.parametrize("data, problem", [
    (b"x" * (2 ** 20 + 1), "the playground takes at most 1,048,576"),
    (b"a,b,c\n" + b"1,2,3\n" * 6000, "the playground takes at most 5,000"),
    (b",".join([b"1"] * 65) + b"\n" + b",".join([b"1"] * 65), "at most 64"),
    (b"a,b,c\n1,2\n", "row 2 has 2 cells"),
    (b"a,b,c\n1,,3\n4,5,6\n", "column 'b' has an empty cell in row 2"),
    (b"\xff\xfe\x00", "not UTF-8 text"),
    (b"a,b\n1,2\n", "needs a third column"),
])
def test_bad_or_oversized_uploads_are_refused(page, data, problem):
    before = dict(page.session.settings)
    with pytest.raises(descent.DescentValueError, match=problem):
        page.ask("upload", data)
    assert page.session.settings == before


def test_a_saved_model_loads_with_descent_load_and_predicts_as_the_page_did(page, tmp_path):
    page.configure(dataset="xor", features=["x1", "x2", "x1*x2", "sin(x1)"],
                   hidden=[6, 4], activations=["tanh", "relu"], dropout=[0.2, 0.0])
    page.send({"type": "step"})
    page.recorder.wait(lambda m: m["epoch"] == 1)
    path = tmp_path / "page.descent"
    path.write_bytes(page.ask("save"))
    model = descent.load(path)
    stored = model.metadata["playground"]
    assert stored["features"] == ["x1", "x2", "x1*x2", "sin(x1)"]
    assert "takes the feature columns" in stored["note"]
    points = grid(page.session.domain, 100)
    on_page = page.frame()["output"]
    probabilities = class_probabilities(model, inputs_for(model, points))
    assert np.array_equal(np.frombuffer(base64.b64decode(on_page["classes"]),
                                        np.uint8), probabilities.argmax(axis=1))
    X = page.session.X_test
    assert np.allclose(predict(model, inputs_for(model, X)),
                       predict(page.session.model, page.session.F_test), atol=0)


def test_a_saved_model_of_an_uploaded_table_takes_its_own_columns(page, tmp_path):
    page.ask("upload", CSV)
    path = tmp_path / "table.descent"
    path.write_bytes(page.ask("save"))
    model = descent.load(path)
    raw = np.array([[0.5, -0.25], [-0.9, 0.8]])  # in the file's own units
    standardised = (raw - page.session.mean) / page.session.scale
    expected = predict(page.session.model, standardised.astype(np.float32))
    assert np.allclose(predict(model, inputs_for(model, raw)), expected, atol=1e-6)


def test_a_loaded_model_takes_over_the_page(page, tmp_path):
    net = descent.nn.Sequential(descent.nn.Linear(2, 5), descent.nn.ReLU(),
                                descent.nn.Dropout(0.1), descent.nn.Linear(5, 2),
                                descent.nn.Softmax())
    path = tmp_path / "mine.descent"
    descent.save(net, path)
    page.ask("load", path.read_bytes())
    settings = page.recorder.last("settings")["settings"]
    assert (settings["hidden"], settings["activations"], settings["dropout"]) == \
        ([5], ["relu"], [0.1])
    assert np.array_equal(page.session.model[0].weight.data, net[0].weight.data)
    wide = descent.nn.MLP([2, 3, 7], output="softmax")
    descent.save(wide, path)
    with pytest.raises(descent.DescentValueError, match="ends in 7 output"):
        page.ask("load", path.read_bytes())
    with pytest.raises(descent.ModelFileError):
        page.ask("load", b"PK\x03\x04 not a model")


def test_explain_step_shows_the_derivation_and_every_number(page):
    page.configure(hidden=[3], activations=["sigmoid"], dropout=[0.0], loss="mse")
    mark = page.send({"type": "explain", "example": 2})
    shown = page.recorder.wait(lambda m: True, kind="explanation", after=mark)
    assert "z3 = x1 · w13 + x2 · w23 + b3" in shown["text"]
    assert "e6 = " in shown["text"] and "w56 ← w56 - η · ∂E/∂w56" in shown["text"]
    units = {(u["layer"], u["index"]): u for u in shown["units"]}
    assert units[(2, 0)]["unit"] == 6 and units[(2, 0)]["e"] is not None
    x = page.session.F_train[2]
    assert units[(0, 1)]["o"] == pytest.approx(float(x[1]))
    weight = next(p for p in shown["parameters"] if p["kind"] == "weight"
                  and p["layer"] == 2 and p["from"] == 1 and p["to"] == 0)
    assert weight["name"] == "w46"  # from unit 4 (hidden unit 1) to unit 6
    assert weight["gradient"] == pytest.approx(units[(2, 0)]["e"] * units[(1, 1)]["o"],
                                               rel=1e-5)
    assert weight["new_value"] == pytest.approx(weight["value"] - 0.03 * weight["gradient"],
                                                rel=1e-5)
    assert np.array_equal(page.session.model[2].weight.data[1, 0],  # the page's is unchanged
                          np.float32(weight["value"]))


def test_explain_says_what_differs_from_the_training_step(page):
    page.configure(hidden=[2], activations=["tanh"], dropout=[0.3], optimizer="adam",
                   regularization="l2", regularization_rate=0.01, batch_size=4)
    mark = page.send({"type": "explain", "example": "batch"})
    shown = page.recorder.wait(lambda m: True, kind="explanation", after=mark)
    assert shown["examples"] == 4 and shown["rows"] == [0, 1, 2, 3]
    for words in ("Dropout is left out", "fresh optimiser state", "L2 penalty is left out",
                  "A batch of 4 examples"):
        assert words in shown["text"]


def test_the_spec_export_is_one_that_explain_reads(page, tmp_path):
    page.configure(dataset="spiral", classes=3, optimizer="momentum")
    spec = page.ask("spec")
    path = tmp_path / "spec.json"
    path.write_text(spec)
    from descent.cli import main
    out = io.StringIO()
    assert main(["explain", "--spec", str(path)], out=out) == 0
    assert "The update (sgd: lr 0.03, momentum 0.9)" in out.getvalue()


def test_the_python_export_rebuilds_and_trains_the_network(page):
    page.configure(dataset="gauss", hidden=[3], activations=["relu"], dropout=[0.1],
                   regularization="l1", regularization_rate=0.001, loss="mse",
                   early_stopping=5, max_epochs=20)
    script = page.ask("python")
    assert "descent.train(" in script and "nn.Dropout(0.1" in script
    namespace = {"__name__": "__export__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(script, "playground.py", "exec"), namespace)
    history = namespace["history"]
    assert 1 <= len(history) <= 20 and history.last["val_accuracy"] > 0.5
    assert [m.weight.shape for m in namespace["model"] if isinstance(m, descent.nn.Linear)] \
        == [(2, 3), (3, 1)]


def test_two_pages_train_at_once_without_upsetting_each_other(page):
    """descent's no_grad is one switch for the process: the sessions take turns."""
    from tests.playground.conftest import Page

    other = Page()
    try:
        other.configure(speed=0)  # as fast as it can: it must still let the other go
        for p in (page, other):
            p.send({"type": "play"})
        for p in (page, other):
            p.recorder.wait(lambda m: m["epoch"] >= 30, timeout=30)
        assert not page.recorder.of("error") and not other.recorder.of("error")
    finally:
        other.session.close()
        other.session.join(10)


def test_a_step_unit_is_explained_and_a_failing_run_leaves_the_session_working(page):
    page.configure(activations=["step", "tanh"])
    mark = page.send({"type": "play"})
    notice = page.recorder.wait(lambda m: True, kind="notice", after=mark)
    assert "No gradient passes through a step unit" in notice["message"]
    # the tests make warnings errors: descent.train's warning about step units stops the
    # run, and the page hears of it
    assert "step activation" in page.recorder.wait(lambda m: True, kind="error",
                                                   after=mark)["message"]
    settings, _ = page.configure(activations=["tanh", "tanh"])
    mark = page.send({"type": "step"})
    assert page.recorder.wait(lambda m: m["epoch"] == 1, after=mark)
