"""The command line: the demo learns XOR; the console script is installed."""

import subprocess
import sys
from pathlib import Path

import pytest

import descent
from descent import cli


def test_demo_learns_xor(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "4/4 correct" in out
    losses = [float(line.split("E = ")[1]) for line in out.splitlines() if "E = " in line]
    assert losses[-1] < losses[0] / 10


def test_version_and_help():
    result = subprocess.run([sys.executable, "-m", "descent.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("descent ")
    assert (Path(sys.executable).parent / "descent").exists()  # the console script


def _run(*args):
    return subprocess.run([sys.executable, "-m", "descent.cli", *args], capture_output=True,
                          text=True)


def test_explain_list_and_example():
    listing = _run("explain", "--list")
    assert listing.returncode == 0 and "student-grade" in listing.stdout
    assert len(listing.stdout.splitlines()) == 11
    result = _run("explain", "--example", "student-grade", "--format", "markdown")
    assert result.returncode == 0 and "| $w_{46}$ | -0.3000 | -0.0435 | -0.2608 |" in result.stdout


def test_explain_spec_round_trip(tmp_path):
    import json

    from descent.teach.examples import STUDENT_GRADE

    spec = tmp_path / "grade.json"
    spec.write_text(json.dumps(STUDENT_GRADE))
    from_spec = _run("explain", "--spec", str(spec), "--format", "json", "--steps", "2")
    from_example = _run("explain", "--example", "student-grade", "--format", "json",
                        "--steps", "2")
    assert json.loads(from_spec.stdout)["steps"] == json.loads(from_example.stdout)["steps"]


def test_explain_errors_are_one_line_without_traceback(tmp_path):
    spec = tmp_path / "bad.json"
    spec.write_text('{"layers": [3, 2, 1], "weights": [], "learning_rate": 1, '
                    '"input": [1, 0, 1], "target": [1]}')
    result = _run("explain", "--spec", str(spec))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("descent: error: spec field 'weights': must have one "
                                     "entry per layer (2)")
    unknown = _run("explain", "--example", "nope")
    assert unknown.returncode == 2 and "student-grade" in unknown.stderr


def _table(folder, rows=60, seed=0, classes=2):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = np.array(["no", "yes", "maybe"])[
        (X[:, 0] > 0).astype(int) + (classes == 3) * (X[:, 1] > 1)]
    frame["price"] = 1000 + 300 * X[:, 0] + 20 * X[:, 2]
    frame.to_csv(folder / "data.csv", index=False)
    return folder / "data.csv"


def _in(folder, *args):
    return subprocess.run([sys.executable, "-m", "descent.cli", *args], cwd=folder,
                          capture_output=True, text=True)


TRAIN = ("train", "data.csv", "--epochs", "5", "--no-progress")


@pytest.mark.parametrize("loss", ["mse", "sse", "bce", "binary_cross_entropy_with_logits",
                                  "nll", "mae"])
def test_every_offered_loss_trains_a_classifier(tmp_path, loss):
    _table(tmp_path)
    result = _in(tmp_path, *TRAIN, "--target", "label", "--drop", "price", "--loss", loss)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout
    evaluation = _in(tmp_path, "evaluate", "model.descent", "data.csv")
    assert evaluation.returncode == 0 and "accuracy" in evaluation.stdout


def test_explain_a_spec_that_ends_in_softmax_shows_p_minus_t(tmp_path):
    import json

    spec = {"layers": [2, 2, 2], "activations": ["tanh", "softmax"],
            "weights": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, -0.6], [0.7, 0.8]]],
            "biases": [[0.1, -0.1], [0.0, 0.2]], "loss": "cross_entropy",
            "learning_rate": 0.5, "input": [1.0, 2.0], "target": [0.0, 1.0]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = _in(tmp_path, "explain", "--spec", "spec.json", "--format", "json")
    units = json.loads(result.stdout)["steps"][0]["units"]
    # p = softmax(0.833427, 0.374616) = (0.612732, 0.387268); e = p − t
    assert [round(u["activation"], 6) for u in units[-2:]] == [0.612732, 0.387268]
    assert [round(u["error"], 6) for u in units[-2:]] == [0.612732, -0.612732]


def test_dash_writes_the_model_and_the_predictions_to_standard_output(tmp_path):
    _table(tmp_path)
    trained = subprocess.run([sys.executable, "-m", "descent.cli", *TRAIN, "--target",
                              "label", "--drop", "price", "-o", "-"], cwd=tmp_path,
                             capture_output=True)
    assert trained.returncode == 0
    assert b"Model written to standard output" in trained.stderr
    (tmp_path / "piped.descent").write_bytes(trained.stdout)
    predicted = _in(tmp_path, "predict", "piped.descent", "data.csv", "-o", "-")
    assert predicted.returncode == 0
    assert predicted.stdout.splitlines()[0] == "label" and len(predicted.stdout.split()) == 61
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "piped.descent"]


def test_the_same_seed_writes_byte_identical_model_files(tmp_path):
    _table(tmp_path)
    for name in ("one.descent", "two.descent"):
        assert _in(tmp_path, *TRAIN, "--target", "label", "-o", name).returncode == 0
    assert (tmp_path / "one.descent").read_bytes() == (tmp_path / "two.descent").read_bytes()


def test_regression_reports_are_in_the_targets_units_and_info_shows_every_setting(tmp_path):
    import json

    _table(tmp_path)
    trained = _in(tmp_path, *TRAIN, "--target", "price", "--drop", "label", "--validation",
                  "0", "--lr", "0.01", "--batch-size", "8", "--seed", "3", "--history",
                  "h.json")
    assert trained.returncode == 0, trained.stderr
    model = descent.load(tmp_path / "model.descent")
    training, target = model.metadata["training"], model.metadata["target"]
    history = json.loads((tmp_path / "h.json").read_text())["columns"]
    # the loss is on the standardised target, the MSE in price units: MSE = loss · scale²
    assert history["mse"][-1] == pytest.approx(history["loss"][-1] * target["scale"] ** 2)
    assert training["final"]["mse"] == pytest.approx(history["mse"][-1])
    assert f"{training['final']['mse']:.4f}" in trained.stdout
    assert (training["lr"], training["batch_size"], training["seed"]) == (0.01, 8, 3)
    assert training["optimizer_options"]["betas"] == [0.9, 0.999]
    info = _in(tmp_path, "info", "model.descent").stdout
    assert f"the network predicts (y - {target['mean']:.6g}) / {target['scale']:.6g}" in info
    for setting in ("lr", "batch_size", "seed", "optimizer_options"):
        assert setting in info


def test_after_early_stopping_the_report_describes_the_saved_model(tmp_path):
    _table(tmp_path, rows=120)
    trained = _in(tmp_path, "train", "data.csv", "--target", "price", "--drop", "label",
                  "--epochs", "300", "--lr", "0.05", "--early-stopping", "3", "--no-progress",
                  "--history", "h.json")
    assert trained.returncode == 0, trained.stderr
    model = descent.load(tmp_path / "model.descent")
    training = model.metadata["training"]
    history = descent.History.read(tmp_path / "h.json")
    best = training["saved_epoch"]
    assert best == history.best_epoch < training["epochs"]
    assert f"The model written is epoch {best}'s" in trained.stdout
    assert training["final"]["val_loss"] == pytest.approx(min(history["val_loss"]))
    assert training["final"]["val_loss"] == pytest.approx(history["val_loss"][best - 1])


def test_an_internal_error_is_one_line_without_a_traceback_unless_debug(monkeypatch, capsys):
    def broken(args, out):
        raise RuntimeError("something descent did not expect")

    monkeypatch.setitem(cli.COMMANDS, "info", broken)
    assert cli.main(["info", "x.descent"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("descent: internal error: RuntimeError: something descent did not "
                          "expect. This is a bug in descent") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["info", "x.descent", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    _table(tmp_path)
    shell = subprocess.run(f"{sys.executable} -m descent.cli explain --example student-grade "
                           "--format json | head -c 10", shell=True, cwd=tmp_path,
                           capture_output=True, text=True)
    assert shell.stderr == "" and len(shell.stdout) == 10


def test_sigterm_during_training_leaves_no_temporary_file(tmp_path):
    import signal
    import time

    import numpy as np
    import pandas as pd

    rows = np.random.default_rng(0).normal(size=(4000, 3))
    pd.DataFrame(rows, columns=["a", "b", "y"]).to_csv(tmp_path / "big.csv", index=False)
    run = subprocess.Popen([sys.executable, "-m", "descent.cli", "train", "big.csv",
                            "--epochs", "100000", "--no-progress", "-o", "m.descent",
                            "--checkpoint", "run.ckpt"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "run.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and err.startswith("descent: interrupted"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "run.ckpt"]
