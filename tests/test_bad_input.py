"""The bad-input matrix (docs/errors.md): every wrong input meets a clear, specific error,
from the API and from the command line, before any work is done or any file written."""

import copy
import json
import os
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
    frame.assign(label=np.arange(20) % 3).to_csv(folder / "three.csv", index=False)
    regression = frame.assign(price=1000 + 300 * frame["a"]).drop(columns="label")
    regression.to_csv(folder / "reg.csv", index=False)
    regression.assign(price=regression["price"].where(np.arange(20) != 3)).to_csv(
        folder / "reg_nan.csv", index=False)
    regression.assign(price=regression["price"].astype(object).where(
        np.arange(20) != 3, "abc")).to_csv(folder / "reg_text.csv", index=False)
    (folder / "dup.csv").write_text((folder / "good.csv").read_text().replace(
        "a,b,c,label", "a,a,c,label", 1))
    (folder / "link.csv").symlink_to("good.csv")
    many = pd.DataFrame({"a": np.arange(60) * 0.5, "user": [f"user_{i:04d}" for i in range(60)],
                         "label": np.arange(60) % 2})
    many.to_csv(folder / "ids.csv", index=False)
    many.assign(a=many["a"].astype(object).where(np.arange(60) != 41, "12,5")).to_csv(
        folder / "stray.csv", index=False)
    os.mkfifo(folder / "pipe.csv")
    (folder / "latin1.json").write_bytes('{"layers": [1, 1], "name": "é"}'.encode("latin-1"))
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "digits.json").write_text('{"layers": [' + "9" * 5000 + ", 1]}")
    (folder / "huge_value.csv").write_text("a,b,c,label\n1e39,0,0,yes\n1,2,3,no\n")
    frame.assign(a=np.where(np.arange(20) < 2, [1e308, -1e308] * 10, frame["a"])).to_csv(
        folder / "huge_column.csv", index=False)
    spec = {"layers": [2, 2, 2], "activations": ["tanh", "softmax"], "loss": "cross_entropy",
            "weights": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, -0.6], [0.7, 0.8]]],
            "learning_rate": 0.5, "input": [1.0, 2.0], "target": [1]}
    for name, change in {"nan_lr": {"learning_rate": float("nan")},
                         "nan_input": {"input": [float("nan"), 1.0]},
                         "half_label": {"target": [0.5]},
                         "ragged_batch": {"input": [[1.0, 2.0], [1.0]], "target": [1, 0]},
                         "batch_targets": {"input": [[1.0, 2.0], [0.0, 1.0]],
                                           "target": [1, 0, 1]},
                         "lbfgs": {"optimizer": "lbfgs"},
                         "adam_beta": {"optimizer": {"name": "adam", "betas": [0.9, 2]}},
                         "optimizer_list": {"optimizer": ["adam"]},
                         "bogus_setting": {"optimizer": {"name": "adam", "amsgrad": True}},
                         "lr_setting": {"optimizer": {"name": "adam", "lr": 0.1}}}.items():
        (folder / f"{name}.json").write_text(json.dumps({**spec, **change}))
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "wide.json").write_text('{"layers": [100000, 100000, 1], "weights": [], '
                                      '"learning_rate": 1, "input": [], "target": []}')
    result = _cli(folder, "train", "good.csv", "--target", "label", "--epochs", "2",
                  "-o", "good.descent")
    assert result.returncode == 0, result.stderr
    result = _cli(folder, "train", "reg.csv", "--target", "price", "--epochs", "2",
                  "-o", "reg.descent", "--history", "history.csv", "--checkpoint", "run.ckpt")
    assert result.returncode == 0, result.stderr
    (folder / "damaged.ckpt").write_bytes((folder / "run.ckpt").read_bytes()[:-200])
    good = descent.load(folder / "good.descent")
    for name, change in MALFORMED_METADATA.items():
        metadata = copy.deepcopy(good.metadata)
        change(metadata)
        descent.save(good, folder / f"{name}.descent", metadata=metadata)
    return folder


MALFORMED_METADATA = {
    "target_text": lambda m: m.update(target="label"),
    "no_task": lambda m: m["target"].pop("task"),
    "one_class": lambda m: m["target"].update(classes=["no"]),
    "no_mean": lambda m: m["preprocessing"]["columns"][0].pop("mean"),
    "zero_scale": lambda m: m["preprocessing"]["columns"][1].update(scale=0.0),
}


def _contents(folder):
    """Every entry of ``folder``, with the bytes of its regular files."""
    return {p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else p.is_symlink())
            for p in folder.iterdir() if p.name != "pipe.csv"}


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
    ("batch size larger than the data", [*TRAIN, "good.csv", "--target", "label",
                                         "--batch-size", "500"],
     r"--batch-size 500 is larger than the \d+ training rows; use --batch-size 0"),
    ("unknown target column", [*TRAIN, "good.csv", "--target", "labels"],
     "no target column 'labels'; the columns are"),
    # a loss for the tasks it is offered for
    ("bce on three classes", [*TRAIN, "three.csv", "--target", "label", "--loss", "bce"],
     "loss 'bce' is for two classes; the target has 3: use cross_entropy"),
    ("cross-entropy on a regression target", [*TRAIN, "reg.csv", "--target", "price",
                                              "--loss", "cross_entropy"],
     "loss 'cross_entropy' is for classification; a regression target takes mse, sse, mae"),
    # outputs never destroy an input or each other
    ("model file over the data", ["train", "--epochs", "2", "--no-progress", "good.csv",
                                  "--target", "label", "-o", "good.csv"],
     "the model file good.csv is the data file good.csv: writing it would destroy the data"),
    ("model file through a link to the data", ["train", "--epochs", "2", "good.csv",
                                               "--target", "label", "-o", "link.csv"],
     "the model file link.csv is the data file good.csv"),
    ("model file over a device", [*TRAIN, "good.csv", "--target", "label", "-o",
                                  "/dev/null"],
     "cannot write the model file /dev/null: it is a character device, not a regular file"),
    ("model file over a folder", [*TRAIN, "good.csv", "--target", "label", "-o", "."],
     r"cannot write the model file \.: it is a folder"),
    ("checkpoint over the data", [*TRAIN, "good.csv", "--target", "label", "--checkpoint",
                                  "good.csv"], "the checkpoint good.csv is the data file"),
    ("checkpoint and model the same file", [*TRAIN, "good.csv", "--target", "label",
                                            "--checkpoint", "new.descent"],
     "the checkpoint and the model file are both new.descent"),
    ("predictions over the model", ["predict", "good.descent", "good.csv", "-o",
                                    "good.descent"],
     "the predictions file good.descent is the model file good.descent"),
    ("predictions over the data", ["predict", "good.descent", "good.csv", "-o", "good.csv"],
     "the predictions file good.csv is the data file good.csv"),
    # outputs are checked before training
    ("plot of an unknown format", [*TRAIN, "good.csv", "--target", "label", "--plot",
                                   "curves.xyz"],
     r"cannot write a picture to curves.xyz: .xyz is not an image format; use one of .*png"),
    ("history of an unknown format", [*TRAIN, "good.csv", "--target", "label", "--history",
                                      "h.txt"], "--history must end in .csv or .json"),
    # settings that cannot work
    ("early stopping without validation", [*TRAIN, "good.csv", "--target", "label",
                                           "--early-stopping", "3", "--validation", "0"],
     "--early-stopping watches the validation loss: it needs --validation above 0"),
    ("features and drop together", [*TRAIN, "good.csv", "--target", "label", "--features",
                                    "a,b", "--drop", "c"], "either --features or --drop"),
    ("a network too large for a model file", [*TRAIN, "good.csv", "--target", "label",
                                              "--hidden", "1000000000"],
     r"has 6,000,000,002 parameters, more than a model file holds \(268,435,456\)"),
    ("classification of a real-valued target", [*TRAIN, "reg.csv", "--target", "price",
                                                "--task", "classification"],
     r"classification needs class labels, but the target 'price' holds numbers with "
     r"fractions \(such as [\d.]+\); use --task regression"),
    # evaluation that cannot mean anything
    ("evaluation with missing targets", ["evaluate", "reg.descent", "reg_nan.csv"],
     r"the target column 'price' has 1 missing value\(s\), the first at data row 3"),
    ("a regression model on text targets", ["evaluate", "reg.descent", "reg_text.csv"],
     "this regression model predicts numbers, but the target column 'price' holds text "
     "such as 'abc'"),
    # model files whose stored description is malformed
    ("metadata: target is text", ["predict", "target_text.descent", "good.csv"],
     "the stored target description is malformed: it must be an object, got str"),
    ("metadata: no task", ["info", "no_task.descent"],
     "the stored target description is malformed: 'task' must be 'classification' or "
     "'regression', got None"),
    ("metadata: one class", ["evaluate", "one_class.descent", "good.csv"],
     r"'classes' must list two or more distinct labels, got \['no'\]"),
    ("metadata: a column without a mean", ["predict", "no_mean.descent", "good.csv"],
     r"the stored preprocessing is malformed: column 0 \('a'\)"),
    ("metadata: a scale of 0", ["predict", "zero_scale.descent", "good.csv"],
     r"column 1 \('b'\): 'scale' must be > 0, got 0.0"),
    # resuming continues the same run or says why not
    ("resume with another learning rate", [*TRAIN, "reg.csv", "--target", "price",
                                           "--checkpoint", "run.ckpt", "--resume", "--lr",
                                           "0.1"],
     r"run.ckpt: cannot resume from it: the checkpoint was written with lr 0.001, this run "
     r"asks for 0.1"),
    ("resume on other data", [*TRAIN, "reg_text.csv", "--target", "a", "--drop", "price",
                              "--checkpoint", "run.ckpt", "--resume"],
     r"run.ckpt: cannot resume from it: .*X"),
    ("resume from a damaged checkpoint", [*TRAIN, "reg.csv", "--target", "price",
                                          "--checkpoint", "damaged.ckpt", "--resume"],
     r"damaged.ckpt"),
    # divergence that stays finite
    ("Adam at lr 1e6", [*TRAIN, "good.csv", "--target", "label", "--lr", "1e6",
                        "--epochs", "30"],
     r"training diverged at epoch \d+, batch \d+: the epoch's mean loss reached .* with "
     r"learning rate 1e\+06"),
    ("SGD at lr 1e4", [*TRAIN, "good.csv", "--target", "label", "--lr", "1e4", "--optimizer",
                       "sgd", "--epochs", "30"],
     r"training diverged at epoch \d+, batch \d+: .* with learning rate 10000"),
    # tables that would explode
    ("a stray text value in a numeric column", [*TRAIN, "stray.csv", "--target", "label"],
     r"column 'a' is mostly numbers \(59 of 60 values\) but data row 41 \(counting from 0\) "
     r"holds '12,5'"),
    ("an identifier column", [*TRAIN, "ids.csv", "--target", "label"],
     r"column 'user' has 60 distinct values in 60 rows .*drop it \(--drop user\)"),
    ("an unknown column to drop", [*TRAIN, "ids.csv", "--target", "label", "--drop", "usr"],
     r"unknown column\(s\) \['usr'\] in the columns to drop; the columns are"),
    # numbers beyond what the network computes with
    ("a value beyond float32 at predict time", ["predict", "good.descent", "huge_value.csv"],
     r"column 'a', data row 0 \(counting from 0\): the value is too large for the "
     r"network's float32 numbers"),
    ("a column whose spread overflows", [*TRAIN, "huge_column.csv", "--target", "label"],
     r"column 'a' holds numbers so large \(up to 1e\+308\) that their mean or spread "
     r"overflows"),
    ("an explain spec with a NaN learning rate", ["explain", "--spec", "nan_lr.json"],
     r"spec field 'learning_rate': must be a finite number > 0, got nan"),
    ("an explain spec with a NaN input", ["explain", "--spec", "nan_input.json"],
     r"spec field 'input': must be finite numbers"),
    ("an explain spec with a class label of 0.5", ["explain", "--spec", "half_label.json"],
     r"spec field 'target': a class label must be a whole number in 0..1, got 0.5"),
    ("explain with 100 million steps", ["explain", "--spec", "spec.json", "--steps",
                                        "100000000"],
     r"steps must be from 1 to 10,000 \(each is written out\), got 100000000"),
    ("resume with fewer epochs than the checkpoint has", [
        "train", "reg.csv", "--target", "price", "--no-progress", "-o", "new.descent",
        "--checkpoint", "run.ckpt", "--resume", "--epochs", "1"],
     r"run.ckpt: the checkpoint has trained 2 epochs, more than this run's maximum of 1"),
    # files that are not what they should be
    ("duplicate column names", [*TRAIN, "dup.csv", "--target", "label"],
     "data file dup.csv has more than one column named 'a'"),
    ("a pipe as the data file", [*TRAIN, "pipe.csv", "--target", "label"],
     r"data file pipe.csv is not a regular file \(a device, pipe or socket\)"),
    ("a folder as the model file", ["info", "."], r"\. is a folder"),
    ("a device as the model file", ["info", "/dev/null"], "/dev/null is a character device"),
    ("a spec that is not UTF-8", ["explain", "--spec", "latin1.json"],
     r"spec file latin1.json is not UTF-8 text \(byte \d+ cannot be decoded\)"),
    ("a spec nested 100,000 deep", ["explain", "--spec", "deep.json"],
     "spec file deep.json nests lists or objects too deeply"),
    ("a spec with a 5,000-digit number", ["explain", "--spec", "digits.json"],
     "spec file digits.json holds a number of more than 4,300 digits"),
    ("a batch whose rows differ in length", ["explain", "--spec", "ragged_batch.json"],
     r"spec field 'input': the examples have different numbers of values \(1, 2\); each "
     r"needs 2"),
    ("a batch with a target too many", ["explain", "--spec", "batch_targets.json"],
     r"spec field 'target': expected one target per example \(2\), got 3"),
    ("explain with L-BFGS", ["explain", "--spec", "lbfgs.json"],
     r"explain writes out the steps of sgd, adagrad, rmsprop, adam, adamw \(optimisers that "
     r"update each weight on its own\); got optimizer 'lbfgs'"),
    ("an optimizer setting it does not have", ["explain", "--spec", "bogus_setting.json"],
     r"optimizer 'adam' has no setting 'amsgrad'; its settings are betas, eps, weight_decay"),
    ("a learning rate among the optimizer settings", ["explain", "--spec", "lr_setting.json"],
     "give the learning rate as learning_rate"),
    ("an Adam beta above 1", ["explain", "--spec", "adam_beta.json"], "beta2"),
    ("an optimizer that is a list", ["explain", "--spec", "optimizer_list.json"],
     r"spec field 'optimizer': must be a name"),
    ("explain with 99 digits", ["explain", "--example", "student-grade", "--digits", "99"],
     "--digits must be from 2 to 15, got 99"),
    ("the notes' rounding with other digits", ["explain", "--example", "student-grade",
                                               "--round-as-notes", "--digits", "6"],
     "--round-as-notes prints the digits the notes print; it cannot be combined with "
     "--digits"),
    ("standalone plain text", ["explain", "--example", "student-grade", "--standalone"],
     "--standalone makes a whole LaTeX, Beamer or HTML document; --format text has no "
     "standalone form"),
    ("beamer and markdown", ["explain", "--example", "student-grade", "--beamer", "--format",
                             "markdown"], "--beamer writes Beamer frames; it cannot be "
                                          "combined with --format markdown"),
    ("the notes' rounding of an example without a network", [
        "explain", "--example", "abc", "--round-as-notes"],
     r"--digits and --round-as-notes apply to the examples that trace a network"),
    ("a spec too large to explain", ["explain", "--spec", "wide.json"],
     r"spec field 'layers': \[100000, 100000, 1\] has 10,000,200,001 weights and biases"),
]


@pytest.mark.parametrize("row, args, message", CLI_ROWS, ids=[r[0] for r in CLI_ROWS])
def test_cli_bad_input(workspace, row, args, message):
    before = _contents(workspace)
    result = _cli(workspace, *args)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("descent: error:"), result.stderr
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, lines[0]), lines[0]
    assert _contents(workspace) == before  # nothing created, changed or removed


USAGE_ROWS = [
    ("--lr", "0", r"must be a finite number in \(0, inf\), got '0'"),
    ("--lr", "inf", r"must be a finite number in \(0, inf\), got 'inf'"),
    ("--lr", "nan", r"must be a finite number in \(0, inf\), got 'nan'"),
    ("--lr", "fast", r"expected a number, got 'fast'"),
    ("--epochs", "abc", r"expected a whole number, got 'abc'"),
    ("--epochs", "0", r"must be at least 1, got 0"),
    ("--batch-size", "-1", r"must be at least 0, got -1"),
    ("--validation", "1.5", r"must be a finite number in \[0, 1\), got '1.5'"),
    ("--hidden", "64,,32", r"hidden sizes must be positive integers separated by commas"),
    ("--hidden", "64,0", r"hidden sizes must be at least 1"),
    ("--early-stopping", "0", r"must be at least 1, got 0"),
    ("--drop", "a,,b", r"give column names separated by commas"),
]


@pytest.mark.parametrize("option, value, message", USAGE_ROWS,
                         ids=[f"{o} {v}" for o, v, _ in USAGE_ROWS])
def test_a_malformed_option_is_one_line_and_a_pointer_to_help(workspace, option, value,
                                                              message):
    before = _contents(workspace)
    result = _cli(workspace, *TRAIN, "good.csv", "--target", "label", option, value)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    import re

    assert re.fullmatch(rf"descent train: error: argument {option}: {message}.*", lines[0])
    assert lines[1] == "Try 'descent train --help' for more."
    assert _contents(workspace) == before


@pytest.mark.parametrize("option, value, valid", [("--activation", "sigmod", "sigmoid"),
                                                 ("--loss", "hinge", "cross_entropy"),
                                                 ("--optimizer", "adan", "adam")])
def test_cli_unknown_names_list_the_valid_ones(workspace, option, value, valid):
    result = _cli(workspace, *TRAIN, "good.csv", option, value)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert valid in result.stderr and "Traceback" not in result.stderr
