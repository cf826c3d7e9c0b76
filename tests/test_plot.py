"""Plots: loss curves, gradient norms and decision regions are written as real PNG files;
bad input is a clear descent error; ``descent plot`` draws history files and models."""

import json
import subprocess
import sys
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import descent
from descent import History, nn, plot
from descent.tabular import fit_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLI = [sys.executable, "-m", "descent.cli"]


def assert_png(path, min_bytes=5_000):
    from matplotlib import image

    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0  # not a blank canvas


@pytest.fixture(scope="module")
def trained():
    X, y = descent.datasets.moons(120, noise=0.15, seed=0)
    model = nn.MLP([2, 16, 2], activation="tanh", rng=0)
    with np.errstate(all="ignore"):
        history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam",
                                lr=0.02, epochs=8, validation=0.25, seed=0, progress=False)
    return model, history, X, y


# ------------------------------------------------------------------ library functions
def test_plot_history_writes_a_png(trained, tmp_path):
    _, history, _, _ = trained
    path = plot.plot_history(history, tmp_path / "loss.png")
    assert path == tmp_path / "loss.png"
    assert_png(path)
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_plot_history_accepts_a_string_path(trained, tmp_path):
    _, history, _, _ = trained
    assert_png(plot.plot_history(history, str(tmp_path / "loss.png")))


def test_plot_history_of_a_regression_without_validation(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    with np.errstate(all="ignore"):
        history = descent.train(nn.MLP([3, 8, 1], rng=0), X, y, loss="mse", epochs=4,
                                seed=0, progress=False)
    assert all(v is None for v in history["val_loss"])
    assert_png(plot.plot_history(history, tmp_path / "regression.png"))


def test_plot_history_with_a_single_epoch(tmp_path):
    history = History()
    history.append({"epoch": 1, "loss": 0.7})
    assert_png(plot.plot_history(history, tmp_path / "one.png"), min_bytes=2_000)


def test_plot_gradient_norms_writes_a_png(trained, tmp_path):
    _, history, _, _ = trained
    assert set(history.last["grad_norm"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert_png(plot.plot_gradient_norms(history, tmp_path / "gradients.png"))


def test_plot_gradient_norms_with_a_zero_norm(tmp_path):
    history = History()
    history.append({"epoch": 1, "loss": 1.0, "grad_norm": {"w": 0.0, "b": 1e-3}})
    history.append({"epoch": 2, "loss": 0.5, "grad_norm": {"w": 1e-8, "b": 2e-3}})
    assert_png(plot.plot_gradient_norms(history, tmp_path / "gradients.png"),
               min_bytes=2_000)


def test_plot_decision_boundary_writes_a_png(trained, tmp_path):
    model, _, X, y = trained
    path = plot.plot_decision_boundary(model, X, y.ravel(), tmp_path / "regions.png",
                                       resolution=60)
    assert_png(path)


def test_plot_decision_boundary_of_a_single_output_model(tmp_path):
    X, y = descent.datasets.circles(80, seed=1)
    model = nn.MLP([2, 6, 1], activation="tanh", output="sigmoid", rng=0)
    assert_png(plot.plot_decision_boundary(model, X, y.ravel(), tmp_path / "regions.png",
                                           resolution=40))


# ------------------------------------------------------------------ what the figures show
def _legend_texts(axis):
    return [text.get_text() for text in axis.get_legend().get_texts()]


def test_every_plot_returns_a_figure_without_a_path(trained):
    from matplotlib._pylab_helpers import Gcf
    from matplotlib.figure import Figure

    model, history, X, y = trained
    flow = descent.diagnostics.gradient_flow(model, X, np.eye(2)[y])
    open_before = Gcf.get_num_fig_managers()
    figures = [plot.plot_history(history), plot.plot_gradient_norms(history),
               plot.plot_gradient_flow(flow),
               plot.plot_decision_boundary(model, X, y, resolution=20)]
    for figure in figures:
        assert isinstance(figure, Figure)
        png = figure._repr_png_()  # what a notebook shows
        assert png[:8] == PNG_MAGIC and len(png) > 5_000
    assert Gcf.get_num_fig_managers() == open_before  # pyplot's figure list untouched


def test_a_notebook_displays_the_figure_as_a_png(trained):
    formatters = pytest.importorskip("IPython.core.formatters")
    _, history, _, _ = trained
    shown, _ = formatters.DisplayFormatter().format(plot.plot_history(history))
    assert shown["image/png"][:8] == PNG_MAGIC


def test_decision_boundary_colours_points_by_their_true_class(trained):
    from matplotlib.colors import to_rgba

    model, _, X, y = trained
    with descent.no_grad():
        predicted = model(X).data.argmax(axis=1)
    wrong = predicted != y
    figure = plot.plot_decision_boundary(model, X, y, resolution=30,
                                         feature_names=["length", "width"],
                                         class_names=["left", "right"])
    axis = figure.axes[0]
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("length", "width")
    assert _legend_texts(axis) == ["left", "right", f"misclassified ({wrong.sum()})"]
    assert axis.get_legend().get_title().get_text() == "true class"
    points = {c.get_label(): c for c in axis.collections if c.get_label() in ("left", "right")}
    colours = []
    for code, name in enumerate(["left", "right"]):
        np.testing.assert_array_equal(points[name].get_offsets(), X[y == code])
        colours.append(tuple(points[name].get_facecolors()[0]))
    assert colours[0] != colours[1]
    # the background under a class's points is drawn in the same colour as that class
    mesh = next(c for c in axis.collections if c.get_array() is not None
                and c.get_array().ndim == 2)
    assert [tuple(mesh.cmap(mesh.norm(k))[:3]) for k in (0, 1)] == [c[:3] for c in colours]
    ring = next(c for c in axis.collections if c.get_label().startswith("misclassified"))
    np.testing.assert_array_equal(ring.get_offsets(), X[wrong])
    assert tuple(ring.get_edgecolors()[0]) == to_rgba("#d62728")
    assert f"accuracy {np.mean(predicted == y):.1%} ({wrong.sum()} of {len(y)} " \
        "misclassified)" in axis.get_title()


def test_decision_boundary_of_a_bad_model_shows_its_mistakes():
    # a model that predicts class 1 everywhere: every class-0 point is marked wrong
    X, y = descent.datasets.blobs(40, centers=2, seed=0)
    model = nn.Linear(2, 2, init="zeros")
    model.bias.data[:] = [0.0, 1.0]
    figure = plot.plot_decision_boundary(model, X, y, resolution=20)
    axis = figure.axes[0]
    ring = next(c for c in axis.collections if c.get_label().startswith("misclassified"))
    np.testing.assert_array_equal(ring.get_offsets(), X[y == 0])
    assert f"accuracy {np.mean(y == 1):.1%}" in axis.get_title()
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("feature 1", "feature 2")
    assert _legend_texts(axis) == ["0", "1", f"misclassified ({np.sum(y == 0)})"]


def test_decision_boundary_draws_in_the_units_of_x_and_encodes_for_the_model(trained):
    # the model was trained on X; the picture shows X · 10 + 100, and encode undoes that
    model, _, X, y = trained
    shown = X * 10 + 100
    plain = plot.plot_decision_boundary(model, X, y, resolution=25).axes[0]
    scaled = plot.plot_decision_boundary(model, shown, y, resolution=25,
                                         encode=lambda points: (points - 100) / 10).axes[0]
    assert scaled.get_title() == plain.get_title()
    low, high = scaled.get_xlim()
    assert low < shown[:, 0].min() < shown[:, 0].max() < high and low > 50


def test_decision_boundary_takes_labels_by_name():
    X, y = descent.datasets.blobs(30, centers=2, seed=1)
    names = np.where(y == 1, "dog", "cat")
    model = nn.MLP([2, 4, 2], rng=0)
    by_name = plot.plot_decision_boundary(model, X, names, resolution=10,
                                          class_names=["cat", "dog"]).axes[0]
    by_code = plot.plot_decision_boundary(model, X, y, resolution=10,
                                          class_names=["cat", "dog"]).axes[0]
    assert by_name.get_title() == by_code.get_title()
    assert _legend_texts(by_name)[:2] == ["cat", "dog"]
    with pytest.raises(descent.DescentValueError, match=r"\['cow'\] are not among"):
        plot.plot_decision_boundary(model, X, np.where(y == 1, "dog", "cow"),
                                    class_names=["cat", "dog"])


def _sigmoid_history(layers=12, epochs=3):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 6)), rng.normal(size=32)
    model = nn.MLP([6] + [8] * (layers - 1) + [1], activation="sigmoid", rng=0)
    return descent.train(model, X, y, loss="mse", optimizer="sgd", lr=0.1, batch_size=8,
                         epochs=epochs, seed=0)


def test_gradient_norms_are_one_line_per_layer_first_to_last():
    from matplotlib.colors import to_rgb

    history = _sigmoid_history()
    axis = plot.plot_gradient_norms(history).axes[0]
    names = [f"{2 * i}.weight" for i in range(12)]  # Linear layers sit at 0, 2, 4, ...
    lines = axis.get_lines()
    assert [line.get_label() for line in lines] == [f"{i + 1}: {n}" for i, n in
                                                    enumerate(names)]
    assert _legend_texts(axis) == [line.get_label() for line in lines]
    for line, name in zip(lines, names):
        np.testing.assert_allclose(line.get_ydata(),
                                   [r["grad_norm"][name] for r in history.records])
    assert axis.get_yscale() == "log"
    # a sequential colour map (viridis): each line lighter than the one before
    lightness = [np.dot(to_rgb(line.get_color()), [0.2126, 0.7152, 0.0722]) for line in lines]
    assert all(a < b for a, b in zip(lightness, lightness[1:]))
    # vanishing: the first layer's gradient lies far below the last's
    assert lines[0].get_ydata()[-1] < 1e-3 * lines[-1].get_ydata()[-1]


def test_gradient_flow_is_one_point_per_layer_in_order():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 1))
    flows = {act: descent.diagnostics.gradient_flow(
        nn.MLP([5] + [6] * 11 + [1], activation=act, rng=0), X, y) for act in ("sigmoid",
                                                                             "relu")}
    axis = plot.plot_gradient_flow(flows["sigmoid"]).axes[0]
    (line,) = axis.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 13))
    np.testing.assert_array_equal(line.get_ydata(), flows["sigmoid"].norms)
    assert [t.get_text() for t in axis.get_xticklabels()] == [
        f"{i + 1}\n{2 * i}.weight" for i in range(12)]
    assert axis.get_yscale() == "log"
    assert f"first / last = {flows['sigmoid'].ratio:.1e}" in axis.get_title()
    both = plot.plot_gradient_flow(flows).axes[0]
    assert _legend_texts(both) == [f"{act} (first / last {flows[act].ratio:.1e})"
                                   for act in ("sigmoid", "relu")]


def test_gradient_flow_bad_input():
    with pytest.raises(descent.DescentTypeError, match="gradient_flow"):
        plot.plot_gradient_flow({"a": [1.0, 2.0]})
    with pytest.raises(descent.DescentValueError, match="no layers"):
        plot.plot_gradient_flow(descent.diagnostics.GradientFlow([], []))


def test_plot_decision_boundary_leaves_the_model_usable(trained, tmp_path):
    model, _, X, _ = trained
    before = model(X).data.copy()
    plot.plot_decision_boundary(model, X, np.zeros(len(X)), tmp_path / "r.png",
                                resolution=20)
    assert np.array_equal(model(X).data, before)


# ------------------------------------------------------------------ errors
def test_history_without_epochs_is_an_error(tmp_path):
    with pytest.raises(descent.DescentValueError, match="no epochs"):
        plot.plot_history(History(), tmp_path / "loss.png")
    with pytest.raises(descent.DescentValueError, match="gradient norms"):
        plot.plot_gradient_norms(History(), tmp_path / "gradients.png")
    assert list(tmp_path.iterdir()) == []


def test_history_without_gradient_norms_is_an_error(tmp_path):
    history = History()
    history.append({"epoch": 1, "loss": 0.5})
    with pytest.raises(descent.DescentValueError, match="gradient norms"):
        plot.plot_gradient_norms(history, tmp_path / "gradients.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape", [(30, 3), (30, 1), (30,), (2, 2, 2)])
def test_decision_boundary_needs_two_features(tmp_path, shape):
    model = nn.MLP([3, 4, 2], rng=0)
    with pytest.raises(descent.ShapeError, match="two features"):
        plot.plot_decision_boundary(model, np.zeros(shape), np.zeros(shape[0]),
                                    tmp_path / "regions.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_an_error(trained, tmp_path):
    model, history, X, y = trained
    target = tmp_path / "missing" / "plot.png"
    for draw in (lambda: plot.plot_history(history, target),
                 lambda: plot.plot_gradient_norms(history, target),
                 lambda: plot.plot_decision_boundary(model, X, y.ravel(), target,
                                                     resolution=10)):
        with pytest.raises(descent.DescentError, match="does not exist"):
            draw()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ the command line
def _run(args, cwd):
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def cli_runs(trained, tmp_path_factory):
    """``descent plot`` runs (concurrently), each in its own folder."""
    _, history, _, _ = trained
    inputs = tmp_path_factory.mktemp("inputs")
    history.to_csv(inputs / "history.csv")
    history.to_json(inputs / "history.json")
    (inputs / "empty.csv").write_text("epoch,loss\n", encoding="utf-8")
    (inputs / "broken.json").write_text("{not json", encoding="utf-8")
    (inputs / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (inputs / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)

    X, y = descent.datasets.moons(100, noise=0.1, seed=2)
    labels = np.where(y.ravel() > 0, "upper", "lower")
    points = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "label": labels})
    points.to_csv(inputs / "points.csv", index=False)
    with np.errstate(all="ignore"):
        model, _ = fit_table(points, "label", hidden=(8,), epochs=5, progress=False)
    descent.save(model, inputs / "moons.descent")
    mixed = pd.DataFrame({"x1": X[:, 0], "side": np.where(X[:, 1] > 0, "top", "bottom"),
                          "label": labels})
    mixed.to_csv(inputs / "mixed.csv", index=False)
    with np.errstate(all="ignore"):
        model, _ = fit_table(mixed, "label", hidden=(4,), epochs=2, progress=False)
    descent.save(model, inputs / "mixed.descent")

    jobs = {
        "csv-loss": ["plot", inputs / "history.csv", "-o", "loss.png"],
        "json-gradients": ["plot", inputs / "history.json", "-o", "gradients.png",
                           "--kind", "gradients"],
        "boundary": ["plot", inputs / "moons.descent", "--boundary", inputs / "points.csv",
                     "-o", "regions.png"],
        "error-output-folder-missing": ["plot", inputs / "history.csv", "-o",
                                        "missing/loss.png"],
        "error-empty-history": ["plot", inputs / "empty.csv", "-o", "loss.png"],
        "error-missing-history": ["plot", inputs / "nowhere.csv", "-o", "loss.png"],
        "error-broken-json": ["plot", inputs / "broken.json", "-o", "loss.png"],
        "error-json-not-an-object": ["plot", inputs / "list.json", "-o", "loss.png"],
        "error-binary-history": ["plot", inputs / "binary.csv", "-o", "loss.png"],
        "error-boundary-categorical-feature": [
            "plot", inputs / "mixed.descent", "--boundary", inputs / "mixed.csv", "-o",
            "regions.png"],
    }
    folders = {name: tmp_path_factory.mktemp(name) for name in jobs}
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(_run, args, folders[name])
                   for name, args in jobs.items()}
        return {name: (futures[name].result(), folders[name]) for name in jobs}


@pytest.mark.parametrize("name, image", [
    ("csv-loss", "loss.png"), ("json-gradients", "gradients.png"),
    ("boundary", "regions.png"),
])
def test_cli_plot_writes_a_png(cli_runs, name, image):
    result, folder = cli_runs[name]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {image}"
    assert [p.name for p in folder.iterdir()] == [image]
    assert_png(folder / image)


@pytest.mark.parametrize("name, words", [
    ("error-output-folder-missing", ["missing", "does not exist"]),
    ("error-empty-history", ["no epochs"]),
    ("error-missing-history", ["nowhere.csv"]),
    ("error-broken-json", ["broken.json"]),
    ("error-json-not-an-object", ["list.json"]),
    ("error-binary-history", ["binary.csv"]),
    ("error-boundary-categorical-feature", ["mixed.descent"]),
])
def test_cli_plot_errors_are_one_line_and_write_nothing(cli_runs, name, words):
    result, folder = cli_runs[name]
    assert result.returncode == 2, (result.returncode, result.stderr[-1500:])
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("descent: error: ") and "\n" not in message
    for word in words:
        assert word in message, (word, message)
    assert list(folder.iterdir()) == []


def test_history_files_used_by_the_cli_round_trip(trained, tmp_path):
    _, history, _, _ = trained
    history.to_json(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    assert data["columns"]["epoch"] == list(range(1, len(history) + 1))


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A badly trained model (one epoch, two hidden units) of animals measured in cm and
    kg, its data file, and models that cannot draw regions: a regression, one feature."""
    folder = tmp_path_factory.mktemp("measured")
    X, y = descent.datasets.moons(120, noise=0.2, seed=4)
    frame = pd.DataFrame({"height_cm": 170 + 10 * X[:, 0], "weight_kg": 70 + 15 * X[:, 1],
                          "species": np.where(y.ravel() > 0, "upper", "lower")})
    frame.to_csv(folder / "animals.csv", index=False)
    with np.errstate(all="ignore"):
        model, _ = fit_table(frame, "species", hidden=(2,), epochs=1, lr=1e-4,
                             progress=False)
        regression, _ = fit_table(frame.assign(age=np.arange(len(frame)) % 9), "age",
                                  features=["height_cm", "weight_kg"], hidden=(2,),
                                  epochs=1, task="regression", progress=False)
        one_feature, _ = fit_table(frame, "species", features=["height_cm"], hidden=(2,),
                                   epochs=1, progress=False)
    descent.save(model, folder / "animals.descent")
    descent.save(regression, folder / "age.descent")
    descent.save(one_feature, folder / "height.descent")
    frame.drop(columns="species").to_csv(folder / "unlabelled.csv", index=False)
    return folder, frame, model


def test_cli_boundary_colours_by_true_class_in_the_columns_units(measured, monkeypatch,
                                                                  tmp_path):
    import io

    from descent.cli import main
    from descent.tabular import evaluate_table

    folder, frame, model = measured
    drawn, original = [], plot.plot_decision_boundary

    def drawing(model, X, y, path, **options):  # the figure the command writes
        drawn.append(original(model, X, y, None, resolution=40, **options))
        return original(model, X, y, path, resolution=40, **options)

    monkeypatch.setattr(plot, "plot_decision_boundary", drawing)
    out = io.StringIO()
    image = tmp_path / "regions.png"
    assert main(["plot", str(folder / "animals.descent"), "--boundary",
                 str(folder / "animals.csv"), "-o", str(image)], out=out) == 0
    assert out.getvalue() == f"wrote {image}\n"
    assert_png(image)
    axis = drawn[0].axes[0]
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("height_cm", "weight_kg")
    score = evaluate_table(model, frame)["accuracy"]
    wrong = round((1 - score) * len(frame))
    assert 0 < wrong and _legend_texts(axis) == ["lower", "upper", f"misclassified ({wrong})"]
    assert f"accuracy {score:.1%} ({wrong} of {len(frame)} misclassified)" in axis.get_title()
    for name in ("lower", "upper"):  # the true labels, in centimetres and kilograms
        (points,) = [c for c in axis.collections if c.get_label() == name]
        np.testing.assert_allclose(points.get_offsets(), frame.loc[
            frame["species"] == name, ["height_cm", "weight_kg"]].to_numpy())


@pytest.mark.parametrize("model, data, words", [
    ("height.descent", "animals.csv", ["two numeric features", "1 feature(s)"]),
    ("age.descent", "animals.csv", ["decision regions", "predicts the number 'age'"]),
    ("animals.descent", "unlabelled.csv", ["no target column 'species'"]),
])
def test_cli_boundary_errors(measured, tmp_path, capsys, model, data, words):
    from descent.cli import main

    folder, _, _ = measured
    assert main(["plot", str(folder / model), "--boundary", str(folder / data), "-o",
                 str(tmp_path / "regions.png")]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("descent: error: ") and "\n" not in message
    for word in words:
        assert word in message
    assert list(tmp_path.iterdir()) == []
