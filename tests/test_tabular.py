"""The command line on real tables: train, evaluate, predict and info in a subprocess on
scikit-learn's data sets written to CSV, TSV and Parquet files, and every error as one
line on stderr, exit status 2, and no file written.

The subprocesses of a fixture run a few at a time (each one mostly waits on imports).
"""

import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

import descent
from descent.tabular import predict_table, read_table

CLI = [sys.executable, "-m", "descent.cli"]
WORKERS = max(2, min(8, os.cpu_count() or 2))
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run_cli(args, cwd):
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def run_many(jobs):
    """``{name: (args, cwd)}`` -> ``{name: CompletedProcess}``, run concurrently."""
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(run_cli, args, cwd) for name, (args, cwd) in
                   jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def assert_ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def assert_clean_error(result):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("descent: error: "), result.stderr
    assert "\n" not in message, result.stderr
    return message


# ------------------------------------------------------------------ data
def _iris():
    bunch = datasets.load_iris()
    frame = pd.DataFrame(bunch.data, columns=IRIS_FEATURES)
    frame["species"] = np.asarray(bunch.target_names)[bunch.target]
    return frame


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Real data sets written to files; returns ``{name: path}``."""
    folder = tmp_path_factory.mktemp("data")
    paths = {}
    iris = _iris()
    paths["iris"] = folder / "iris.csv"
    iris.to_csv(paths["iris"], index=False)
    paths["iris_parquet"] = folder / "iris.parquet"
    iris.to_parquet(paths["iris_parquet"], index=False)

    wine = datasets.load_wine(as_frame=True).frame          # integer classes, last column
    paths["wine"] = folder / "wine.csv"
    wine.to_csv(paths["wine"], index=False)

    bunch = datasets.load_breast_cancer(as_frame=True)
    cancer = bunch.data.copy()
    cancer.insert(0, "diagnosis", np.asarray(bunch.target_names)[bunch.target])
    paths["cancer"] = folder / "cancer.csv"
    cancer.to_csv(paths["cancer"], index=False)

    diabetes = datasets.load_diabetes(as_frame=True).frame  # float target: regression
    paths["diabetes"] = folder / "diabetes.tsv"
    diabetes.to_csv(paths["diabetes"], sep="\t", index=False)

    rng = np.random.default_rng(0)
    colours = iris.copy()
    colours.insert(2, "colour", rng.choice(["red", "green", "blue"], len(colours)))
    paths["colours"] = folder / "colours.csv"
    colours.to_csv(paths["colours"], index=False)
    unseen = colours.copy()
    unseen.loc[7, "colour"] = "purple"
    paths["colours_unseen"] = folder / "colours_unseen.csv"
    unseen.to_csv(paths["colours_unseen"], index=False)

    # thirty categories that appear in one row each: some are bound to fall into the
    # held-out validation rows and nowhere else
    rare = iris.copy()
    rare.insert(0, "batch", [f"batch-{i}" if i % 5 == 0 else "common"
                             for i in range(len(rare))])
    paths["rare"] = folder / "rare.csv"
    rare.to_csv(paths["rare"], index=False)

    with_nan = iris.copy()
    with_nan.loc[120, "petal_length"] = np.nan
    paths["nan"] = folder / "nan.csv"
    with_nan.to_csv(paths["nan"], index=False)
    with_inf = iris.copy()
    with_inf["petal_width"] = with_inf["petal_width"].astype(object)
    with_inf.loc[33, "petal_width"] = "inf"
    paths["inf"] = folder / "inf.csv"
    with_inf.to_csv(paths["inf"], index=False)

    single = iris.copy()
    single["species"] = "setosa"
    paths["single"] = folder / "single.csv"
    single.to_csv(paths["single"], index=False)
    paths["features_only"] = folder / "features_only.csv"
    iris.drop(columns="species").to_csv(paths["features_only"], index=False)
    paths["missing_feature"] = folder / "missing_feature.csv"
    iris.drop(columns="petal_width").to_csv(paths["missing_feature"], index=False)
    text_numbers = iris.copy()
    text_numbers["sepal_length"] = text_numbers["sepal_length"].astype(object)
    text_numbers.loc[4, "sepal_length"] = "five point one"
    paths["text_numbers"] = folder / "text_numbers.csv"
    text_numbers.to_csv(paths["text_numbers"], index=False)

    paths["header_only"] = folder / "header_only.csv"
    paths["header_only"].write_text(",".join(iris.columns) + "\n", encoding="utf-8")
    paths["empty"] = folder / "empty.csv"
    paths["empty"].write_bytes(b"")
    paths["junk"] = folder / "junk.csv"
    paths["junk"].write_bytes(b"\x89PNG\r\n\x1a\n" + np.random.default_rng(1).bytes(4000))
    paths["folder"] = folder / "folder.csv"
    paths["folder"].mkdir()
    paths["xlsx"] = folder / "iris.xlsx"
    paths["xlsx"].write_bytes(paths["iris"].read_bytes())
    paths["missing"] = folder / "missing.csv"
    return paths


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    """Models trained by ``descent train`` in subprocesses; ``{name: (path, result)}``."""
    folder = tmp_path_factory.mktemp("models")
    common = ["--epochs", 30, "--no-progress"]
    jobs = {
        "iris": ["train", data["iris"], "--target", "species", "--lr", 0.01, *common],
        "iris_parquet": ["train", data["iris_parquet"], "--target", "species", "--lr", 0.01,
                         *common],
        "wine": ["train", data["wine"], *common],
        "cancer": ["train", data["cancer"], "--target", "diagnosis", *common],
        "diabetes": ["train", data["diabetes"], "--target", "target", *common],
        "colours": ["train", data["colours"], "--target", "species", "--lr", 0.01,
                    "--history", "colours_history.json", *common],
    }
    results = run_many({name: ([*args, "-o", f"{name}.descent"], folder)
                        for name, args in jobs.items()})
    return {name: (folder / f"{name}.descent", result) for name, result in results.items()}


def _model(models, name):
    path, result = models[name]
    assert_ok(result)
    assert path.is_file()
    return path


# ------------------------------------------------------------------ successful commands
CLASSIFIERS = ["iris", "iris_parquet", "wine", "cancer"]
PREDICTED = ["iris", "wine", "diabetes", "colours"]
DROPNA = ["nan"]


@pytest.fixture(scope="module")
def runs(data, models, tmp_path_factory):
    """Every command that should succeed, run concurrently, each in its own folder;
    ``{name: (result, folder)}``."""
    model = {name: _model(models, name) for name in models}
    jobs = {}
    for name in CLASSIFIERS:  # iris as a text report, the others as JSON
        jobs[f"evaluate-{name}"] = ["evaluate", model[name], data[name],
                                    *(["--format", "json"] if name != "iris" else [])]
    jobs["evaluate-diabetes"] = ["evaluate", model["diabetes"], data["diabetes"], "--format",
                                 "json"]
    for name in PREDICTED:
        jobs[f"predict-{name}"] = ["predict", model[name], data[name], "-o",
                                   "predictions.csv"]
    jobs["predict-stdout"] = ["predict", model["iris"], data["features_only"]]
    jobs["proba-iris"] = ["predict", model["iris"], data["iris"], "--proba", "-o",
                          "probabilities.csv"]
    for name in ("iris", "colours"):
        jobs[f"info-{name}"] = ["info", model[name]]
    jobs["train-rare-categories"] = ["train", data["rare"], "--target", "species", "--epochs",
                                     2, "--no-progress", "-o", "rare.descent"]
    jobs["train-nan-row"] = ["train", data["nan"], "--target", "species", "--epochs", 1,
                             "--no-progress", "-o", "model.descent"]
    for name in DROPNA:
        jobs[f"dropna-{name}"] = ["train", data[name], "--target", "species", "--epochs", 2,
                                  "--dropna", "--no-progress", "-o", "model.descent"]
    folders = {name: tmp_path_factory.mktemp(name) for name in jobs}
    results = run_many({name: (args, folders[name]) for name, args in jobs.items()})
    return {name: (results[name], folders[name]) for name in jobs}


def _success(runs, name):
    result, folder = runs[name]
    assert_ok(result)
    return result, folder


# ------------------------------------------------------------------ training works
@pytest.mark.parametrize("name, threshold", [
    ("iris", 0.9), ("iris_parquet", 0.9), ("wine", 0.9), ("cancer", 0.93),
], ids=["iris", "iris-parquet", "wine", "breast-cancer"])
def test_classification_accuracy_on_the_training_file(runs, data, name, threshold):
    result, folder = _success(runs, f"evaluate-{name}")
    if name == "iris":  # the text report
        for word in ("accuracy", "Confusion matrix", "precision", "recall", "setosa",
                     "versicolor", "virginica"):
            assert word in result.stdout
        accuracy = float(re.search(r"accuracy\s+([0-9.]+)", result.stdout).group(1))
        assert accuracy >= threshold
        return
    report = json.loads(result.stdout)
    assert report["task"] == "classification"
    assert report["rows"] == len(read_table(data[name]))
    assert report["accuracy"] >= threshold
    assert report["error_rate"] == pytest.approx(1 - report["accuracy"])
    matrix = np.array(report["confusion_matrix"])
    assert matrix.sum() == report["rows"]
    assert np.trace(matrix) == pytest.approx(report["accuracy"] * report["rows"])
    assert list(folder.iterdir()) == []


def test_train_output_reports_metrics(models):
    _, result = models["iris"]
    assert_ok(result)
    assert "target column 'species'" in result.stdout
    assert "accuracy" in result.stdout and "iris.descent" in result.stdout


def test_diabetes_regression_from_tsv(runs):
    result, _ = _success(runs, "evaluate-diabetes")
    report = json.loads(result.stdout)
    assert report["task"] == "regression" and report["rows"] == 442
    assert report["r2"] >= 0.4
    assert report["mse"] > 0 and report["mae"] > 0


def test_integer_classes_are_kept(models):
    metadata = descent.load(_model(models, "wine")).metadata
    assert metadata["target"] == {"name": "target", "task": "classification",
                                  "classes": [0, 1, 2]}


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize("name", PREDICTED)
def test_predict_file_equals_predict_table(runs, models, data, name):
    _, folder = _success(runs, f"predict-{name}")
    assert [p.name for p in folder.iterdir()] == ["predictions.csv"]
    written = pd.read_csv(folder / "predictions.csv")
    loaded = descent.load(_model(models, name))
    expected = predict_table(loaded, read_table(data[name]))
    target = loaded.metadata["target"]["name"]
    assert list(written.columns) == [target]
    assert len(written) == len(expected) == len(read_table(data[name]))
    if loaded.metadata["target"]["task"] == "regression":
        np.testing.assert_array_equal(written[target].to_numpy(), expected)
    else:
        assert written[target].tolist() == list(expected)


def test_predict_to_standard_output_without_the_target_column(runs, models, data):
    result, folder = _success(runs, "predict-stdout")
    assert list(folder.iterdir()) == []
    written = pd.read_csv(io.StringIO(result.stdout))
    expected = predict_table(descent.load(_model(models, "iris")), read_table(data["iris"]))
    assert written["species"].tolist() == list(expected)
    assert set(expected) <= {"setosa", "versicolor", "virginica"}


def test_predict_probabilities(runs, models, data):
    name = "iris"
    _, folder = _success(runs, f"proba-{name}")
    loaded = descent.load(_model(models, name))
    classes = loaded.metadata["target"]["classes"]
    frame = read_table(data[name])
    written = pd.read_csv(folder / "probabilities.csv")
    assert list(written.columns) == [f"p({c})" for c in classes]
    values = written.to_numpy()
    assert values.shape == (len(frame), len(classes))
    assert (values >= 0).all() and (values <= 1).all()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(values, predict_table(loaded, frame, proba=True))
    labels = predict_table(loaded, frame)
    assert [classes[i] for i in values.argmax(axis=1)] == list(labels)


# ------------------------------------------------------------------ info
def test_info_shows_architecture_preprocessing_and_classes(runs, models):
    result, folder = _success(runs, "info-iris")
    out = result.stdout
    assert "Linear" in out and "64" in out
    assert "classification" in out and "'species'" in out
    assert "['setosa', 'versicolor', 'virginica']" in out
    metadata = descent.load(_model(models, "iris")).metadata
    assert [c["name"] for c in metadata["preprocessing"]["columns"]] == IRIS_FEATURES
    for column in metadata["preprocessing"]["columns"]:
        assert column["name"] in out
        assert f"{column['mean']:.4g}" in out and f"{column['scale']:.4g}" in out
    assert "numeric" in out
    assert "stop_reason" in out and "val_accuracy" in out
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------ categorical columns
def test_categorical_column_is_one_hot_encoded(runs, models):
    loaded = descent.load(_model(models, "colours"))
    columns = {c["name"]: c for c in loaded.metadata["preprocessing"]["columns"]}
    assert columns["colour"] == {"name": "colour", "kind": "categorical",
                                 "categories": ["blue", "green", "red"]}
    assert columns["sepal_length"]["kind"] == "numeric"
    assert loaded[0].in_features == 4 + 3
    info, _ = _success(runs, "info-colours")
    assert "categorical" in info.stdout and "one-hot over 3 values" in info.stdout


def test_training_history_file_is_written(models):
    path, result = models["colours"]
    assert_ok(result)
    history = descent.History.read(path.parent / "colours_history.json")
    assert len(history) == 30 and history["epoch"] == list(range(1, 31))


def test_category_in_validation_rows_only_does_not_break_training(runs):
    """A category present in the training file must not be an error just because the
    random validation split put all of its rows into the held-out part."""
    _, folder = _success(runs, "train-rare-categories")
    assert (folder / "rare.descent").is_file()


# ------------------------------------------------------------------ missing values
def test_missing_value_error_names_the_row_of_the_file(runs):
    """nan.csv has its only missing value in data row 120 (0-based; row 121 counting from
    1, line 122 of the file). The message must name that row, whichever numbering it uses,
    not a position inside the shuffled training split."""
    result, folder = runs["train-nan-row"]
    message = assert_clean_error(result)
    assert "'petal_length'" in message
    rows = [int(n) for n in re.findall(r"row (\d+)", message)]
    assert rows and rows[0] in (120, 121, 122), message
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", DROPNA)
def test_dropna_drops_rows_with_missing_values(runs, name):
    _, folder = _success(runs, f"dropna-{name}")
    training = descent.load(folder / "model.descent").metadata["training"]
    assert training["rows"] + training["validation_rows"] == 149

# ------------------------------------------------------------------ errors
def _error_cases(data, models):
    iris = _model(models, "iris")
    colours = _model(models, "colours")
    diabetes = _model(models, "diabetes")
    train_outputs = ["-o", "model.descent", "--history", "history.csv", "--plot", "loss.png"]
    quick = ["--epochs", 2, "--no-progress"]

    def train(name, *extra):
        return ["train", data[name], *extra, *quick, *train_outputs]

    return {
        # (arguments, words the message must contain)
        "train-missing-data-file": (train("missing", "--target", "species"),
                                    ["missing.csv", "does not exist"]),
        "train-binary-junk-csv": (train("junk", "--target", "species"), ["junk.csv"]),
        "train-directory": (train("folder", "--target", "species"), ["folder.csv"]),
        "train-unknown-target": (train("iris", "--target", "kind"),
                                 ["'kind'", *IRIS_FEATURES, "species"]),
        "train-header-only": (train("header_only", "--target", "species"),
                              ["header_only.csv"]),
        "train-empty-file": (train("empty", "--target", "species"), ["empty.csv", "empty"]),
        "train-labels-as-regression": (train("iris", "--target", "species", "--task",
                                             "regression"), ["species", "setosa"]),
        "train-nan-feature": (train("nan", "--target", "species"),
                              ["'petal_length'", "row", "--dropna"]),
        "train-inf-feature": (train("inf", "--target", "species"),
                              ["'petal_width'", "row", "--dropna"]),
        "train-single-class": (train("single", "--target", "species"),
                               ["single class", "setosa"]),
        "train-xlsx": (train("xlsx", "--target", "species"), [".xlsx", "unsupported"]),
        "train-output-folder-missing": (
            ["train", data["iris"], "--target", "species", *quick, "-o",
             "missing/model.descent"], ["missing", "does not exist"]),
        "train-output-is-a-folder": (
            ["train", data["iris"], "--target", "species", *quick, "-o", "existing"],
            ["existing", "folder"]),
        "evaluate-missing-target-column": (["evaluate", iris, data["features_only"]],
                                           ["'species'"]),
        "predict-missing-feature-column": (
            ["predict", iris, data["missing_feature"], "-o", "p.csv"], ["petal_width"]),
        "predict-text-in-numeric-column": (
            ["predict", iris, data["text_numbers"], "-o", "p.csv"], ["'sepal_length'"]),
        "predict-unseen-category": (
            ["predict", colours, data["colours_unseen"], "-o", "p.csv"],
            ["'colour'", "purple", "row 7"]),
        "predict-output-folder-missing": (
            ["predict", iris, data["iris"], "-o", "missing/p.csv"],
            ["missing", "does not exist"]),
        "predict-output-is-a-folder": (["predict", iris, data["iris"], "-o", "existing"],
                                       ["existing", "folder"]),
        "predict-proba-of-regression": (
            ["predict", diabetes, data["diabetes"], "--proba", "-o", "p.csv"], ["--proba"]),
    }


@pytest.fixture(scope="module")
def error_runs(data, models, tmp_path_factory):
    cases = _error_cases(data, models)
    jobs, folders = {}, {}
    for name, (args, _) in cases.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / "existing").mkdir()
        folders[name] = folder
        jobs[name] = (args, folder)
    results = run_many(jobs)
    return {name: (results[name], folders[name], cases[name][1]) for name in cases}


ERROR_CASES = [
    "train-missing-data-file", "train-binary-junk-csv", "train-directory",
    "train-unknown-target", "train-header-only", "train-empty-file",
    "train-labels-as-regression", "train-nan-feature", "train-inf-feature",
    "train-single-class", "train-xlsx", "train-output-folder-missing",
    "train-output-is-a-folder", "evaluate-missing-target-column",
    "predict-missing-feature-column", "predict-text-in-numeric-column",
    "predict-unseen-category", "predict-output-folder-missing",
    "predict-output-is-a-folder", "predict-proba-of-regression",
]


def test_error_case_list_is_complete(error_runs):
    assert sorted(ERROR_CASES) == sorted(error_runs)


@pytest.mark.parametrize("name", ERROR_CASES)
def test_error_is_one_line_exit_2_and_writes_nothing(error_runs, name):
    result, folder, words = error_runs[name]
    message = assert_clean_error(result)
    for word in words:
        assert word in message, (word, message)
    # nothing written: the working folder holds only the empty folder put there
    assert sorted(p.name for p in folder.iterdir()) == ["existing"]
    assert list((folder / "existing").iterdir()) == []
