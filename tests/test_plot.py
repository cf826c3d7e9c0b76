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
