"""The bad-input matrix (docs/errors.md): every wrong input meets a clear, specific error,
from the API and from the command line, before any work is done or any file written."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import descent
from descent import nn

X = np.random.default_rng(0).normal(size=(20, 3))
LABELS = np.arange(20) % 2


def _train(**changes):
    options = dict(model=nn.MLP([3, 4, 2], rng=0), X=X, y=LABELS, loss="cross_entropy",
                   epochs=2)
    options.update(changes)
    model, data, targets = options.pop("model"), options.pop("X"), options.pop("y")
    return descent.train(model, data, targets, **options)


# (row of docs/errors.md, API call, error class, message pattern)
API_ROWS = [
    ("NaN in data", lambda: _train(X=np.where(X > 1.5, np.nan, X)),
     descent.DescentValueError, r"NaN or infinite values \(first at row \d+, column \d+\)"),
    ("inf in data", lambda: _train(X=np.where(X > 1.5, np.inf, X)),
     descent.DescentValueError, "NaN or infinite"),
    ("wrong shape of X", lambda: _train(X=X.reshape(20, 3, 1)), descent.ShapeError,
     "must be 2-D"),
    ("wrong number of features", lambda: _train(X=X[:, :2]), descent.ShapeError,
     "shape"),
    ("strings where numbers are needed", lambda: _train(X=X.astype(str)),
     descent.DescentTypeError, "must hold numbers"),
    ("object array", lambda: _train(X=X.astype(object)), descent.DescentTypeError,
     "must hold numbers"),
    ("strings as regression targets", lambda: _train(y=LABELS.astype(str), loss="mse",
                                                     model=nn.Linear(3, 1)),
     descent.DescentTypeError, "regression targets must be numbers"),
    ("empty data", lambda: _train(X=X[:0], y=LABELS[:0]), descent.DescentValueError,
     "empty"),
    ("labels out of range", lambda: _train(y=LABELS + 5), descent.DescentValueError,
     r"labels must lie in 0\.\.1"),
    ("X/y length mismatch", lambda: _train(y=LABELS[:-1]), descent.ShapeError,
     "20 rows but y has 19"),
    ("lr <= 0", lambda: _train(optimizer="sgd", lr=0.0), descent.DescentValueError,
     r"lr must be in \(0, inf\), got 0\.0"),
    ("negative lr", lambda: descent.optim.Adam(nn.Linear(1, 1).parameters(), lr=-1),
     descent.DescentValueError, "got -1"),
    ("batch size larger than the data", lambda: _train(batch_size=50),
     descent.DescentValueError, "batch_size 50 is larger than the 20 training examples"),
    ("unknown activation", lambda: nn.MLP([3, 2], activation="sigmod"),
     descent.DescentValueError, "unknown activation 'sigmod'; choose one of .*sigmoid"),
    ("unknown loss", lambda: _train(loss="crossentropy"), descent.DescentValueError,
     "unknown loss 'crossentropy'; choose one of .*cross_entropy"),
    ("unknown optimiser", lambda: _train(optimizer="adan"), descent.DescentValueError,
     "unknown optimizer 'adan'; choose one of .*adam"),
]


@pytest.mark.parametrize("row, call, error, message", API_ROWS, ids=[r[0] for r in API_ROWS])
def test_api_bad_input(row, call, error, message):
    model_before = nn.MLP([3, 4, 2], rng=0).state_dict()
    with pytest.raises(error, match=message):
        call()
    # nothing was trained: a fresh identical model is unchanged
    for key, value in nn.MLP([3, 4, 2], rng=0).state_dict().items():
        np.testing.assert_array_equal(value, model_before[key])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-input")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = np.where(LABELS == 1, "yes", "no")
    frame.to_csv(folder / "good.csv", index=False)
    frame.assign(a=frame["a"].where(frame["a"] < 1.5, np.nan)).to_csv(folder / "nan.csv",
                                                                       index=False)
    frame.assign(a=np.where(frame["a"] > 1.5, np.inf, frame["a"])).to_csv(
        folder / "inf.csv", index=False)
    frame.drop(columns="c").to_csv(folder / "fewer.csv", index=False)
    frame.assign(label=frame["label"].astype(str)).to_csv(folder / "text_target.csv",
                                                          index=False)
    frame.iloc[:0].to_csv(folder / "empty.csv", index=False)
    frame.assign(label=np.where(LABELS == 1, "yes", "maybe")).to_csv(folder / "unseen.csv",
                                                                     index=False)
    frame.assign(a=["x"] * 20).to_csv(folder / "text_feature.csv", index=False)
    result = _cli(folder, "train", "good.csv", "--target", "label", "--epochs", "2",
                  "-o", "good.descent")
    assert result.returncode == 0, result.stderr
    return folder


def _cli(folder, *args):
    return subprocess.run([sys.executable, "-m", "descent.cli", *args], cwd=folder,
                          capture_output=True, text=True)


TRAIN = ("train", "--epochs", "2", "--no-progress", "-o", "new.descent")
CLI_ROWS = [
    ("NaN in data", [*TRAIN, "nan.csv", "--target", "label"],
     r"column 'a' has \d+ missing or infinite value\(s\), the first at data row \d+.*--dropna"),
    ("inf in data", [*TRAIN, "inf.csv", "--target", "label"], "missing or infinite"),
    ("wrong number of features", ["predict", "good.descent", "fewer.csv", "-o", "out.csv"],
     r"lacks the column\(s\) \['c'\]"),
    ("strings where numbers are needed", ["predict", "good.descent", "text_feature.csv",
                                          "-o", "out.csv"], "should hold numbers"),
    ("strings as regression targets", [*TRAIN, "text_target.csv", "--target", "label",
                                       "--task", "regression"], "regression needs numbers"),
    ("empty data", [*TRAIN, "empty.csv", "--target", "label"], "no rows"),
    ("labels out of range", ["evaluate", "good.descent", "unseen.csv"],
     r"classes the model never saw: \['maybe'\]"),
    ("lr <= 0", [*TRAIN, "good.csv", "--target", "label", "--lr", "0"],
     r"lr must be in \(0, inf\), got 0\.0"),
    ("batch size larger than the data", [*TRAIN, "good.csv", "--target", "label",
                                         "--batch-size", "500"], "larger than the"),
    ("unknown target column", [*TRAIN, "good.csv", "--target", "labels"],
     "no target column 'labels'; the columns are"),
]


@pytest.mark.parametrize("row, args, message", CLI_ROWS, ids=[r[0] for r in CLI_ROWS])
def test_cli_bad_input(workspace, row, args, message):
    before = sorted(p.name for p in workspace.iterdir())
    result = _cli(workspace, *args)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("descent: error:"), result.stderr
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, lines[0]), lines[0]
    assert sorted(p.name for p in workspace.iterdir()) == before


@pytest.mark.parametrize("option, value, valid", [("--activation", "sigmod", "sigmoid"),
                                                 ("--loss", "hinge", "cross_entropy"),
                                                 ("--optimizer", "adan", "adam")])
def test_cli_unknown_names_list_the_valid_ones(workspace, option, value, valid):
    result = _cli(workspace, *TRAIN, "good.csv", option, value)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert valid in result.stderr and "Traceback" not in result.stderr
