"""Checkpoint and resume: a run killed with SIGKILL and resumed ends with exactly the
weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import descent
from descent import nn
from descent.training.checkpoint import CheckpointError, load_checkpoint

SCRIPT = textwrap.dedent("""
    import sys, time
    import descent
    from descent import nn

    checkpoint, output, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
    X, y = descent.datasets.spirals(150, n_classes=3, noise=0.1, seed=1)
    model = nn.MLP([2, 32, 32, 3], dropout=0.1, rng=3)
    optimizer = descent.optim.Adam(model.parameters(), lr=0.01)

    class Slow(descent.callbacks.Callback):
        def on_epoch_end(self, record):
            time.sleep(pause)

    descent.train(model, X, y, loss="cross_entropy", optimizer=optimizer, batch_size=16,
                  epochs=12, seed=11, validation=0.2, callbacks=[Slow()],
                  checkpoint=checkpoint if checkpoint != "-" else None, resume=True)
    descent.save(model, output)
""")


def _start(tmp_path, checkpoint, output, pause):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(checkpoint), str(output),
                             str(pause)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _epochs_in(checkpoint):
    model = nn.MLP([2, 32, 32, 3], dropout=0.1, rng=3)
    optimizer = descent.optim.Adam(model.parameters(), lr=0.01)
    return load_checkpoint(checkpoint, model, optimizer, np.random.default_rng(),
                           descent.History(), [descent.stopping.MaxEpochs(12)])


def test_killed_run_resumes_to_the_same_weights_bit_for_bit(tmp_path):
    reference = tmp_path / "reference.descent"
    assert _start(tmp_path, "-", reference, 0.0).wait(timeout=120) == 0

    checkpoint, resumed = tmp_path / "run.ckpt", tmp_path / "resumed.descent"
    process = _start(tmp_path, checkpoint, resumed, 0.3)
    deadline = time.time() + 60
    while time.time() < deadline:
        if checkpoint.exists() and _epochs_in(checkpoint) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL and not resumed.exists()
    done = _epochs_in(checkpoint)
    assert 3 <= done < 12
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []

    assert _start(tmp_path, checkpoint, resumed, 0.0).wait(timeout=120) == 0
    first, second = descent.load(reference), descent.load(resumed)
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def _run(epochs, checkpoint=None, resume=False, optimizer="sgd", every=1):
    X, y = descent.datasets.blobs(60, centers=3, seed=0)
    model = nn.MLP([2, 8, 3], dropout=0.2, rng=1)
    options = {"sgd": lambda p: descent.optim.SGD(p, lr=0.05, momentum=0.9),
               "lbfgs": lambda p: descent.optim.LBFGS(p, lr=0.5, max_iter=3)}
    history = descent.train(model, X, y, loss="cross_entropy",
                            optimizer=options[optimizer](model.parameters()),
                            batch_size=None if optimizer == "lbfgs" else 10, epochs=epochs,
                            seed=4, checkpoint=checkpoint, checkpoint_every=every,
                            resume=resume, stop=[descent.stopping.LossPlateau(1e-12, 100)])
    return model, history


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_resume_in_process_matches_an_uninterrupted_run(tmp_path, optimizer):
    full, full_history = _run(8, optimizer=optimizer)
    path = tmp_path / "c.ckpt"
    _run(3, path, optimizer=optimizer)
    resumed, history = _run(8, path, resume=True, optimizer=optimizer)
    assert history["loss"] == full_history["loss"] and len(history) == 8
    for a, b in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_resume_without_a_checkpoint_starts_fresh_and_a_finished_run_stays_finished(tmp_path):
    path = tmp_path / "c.ckpt"
    _, history = _run(3, path, resume=True)
    assert len(history) == 3 and path.exists()
    model, again = _run(3, path, resume=True)
    assert len(again) == 3 and again.stop_reason.startswith("reached the maximum of 3")


def test_checkpoint_every_n_epochs(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(5, path, every=2)
    assert _epochs_after(path) == 5  # the last epoch is always saved


def _epochs_after(path):
    model = nn.MLP([2, 8, 3], dropout=0.2, rng=1)
    return load_checkpoint(path, model, descent.optim.SGD(model.parameters(), lr=0.05,
                                                          momentum=0.9),
                           np.random.default_rng(), descent.History(),
                           [descent.stopping.MaxEpochs(5),
                            descent.stopping.LossPlateau(1e-12, 100)])


def test_checkpoint_that_does_not_fit_is_a_clear_error(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    other = nn.MLP([2, 9, 3], rng=1)
    with pytest.raises(CheckpointError, match="do not match this model|does not fit"):
        load_checkpoint(path, other, descent.optim.SGD(other.parameters(), lr=0.1),
                        np.random.default_rng(), descent.History(), [])
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        _run(4, path, resume=True)
    with pytest.raises(CheckpointError, match="positive integer"):
        _run(2, tmp_path / "x.ckpt", every=0)


def test_cli_checkpoint_and_resume(tmp_path):
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True).frame
    data.to_csv(tmp_path / "iris.csv", index=False)
    command = [sys.executable, "-m", "descent.cli", "train", "iris.csv", "--target", "target",
               "--epochs", "6", "--no-progress", "--checkpoint", "run.ckpt", "--resume"]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "run.ckpt").exists()
    missing = subprocess.run(command[:-3] + ["--resume"], cwd=tmp_path, capture_output=True,
                             text=True)
    assert missing.returncode == 2 and "--resume needs --checkpoint" in missing.stderr


def test_tampered_checkpoint_is_a_checkpoint_error_and_changes_nothing(tmp_path):
    import json
    import zipfile

    path = tmp_path / "c.ckpt"
    _run(2, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members["descent.json"])
    for tamper in ({"optimizer": "SGD"}, {"epoch": "three"}, {"generators": {"x": 1}}):
        bad = tmp_path / "bad.ckpt"
        with zipfile.ZipFile(bad, "w") as archive:
            for name, data in members.items():
                if name == "descent.json":
                    data = json.dumps({**header, **tamper}).encode()
                archive.writestr(name, data)
        model = nn.MLP([2, 8, 3], dropout=0.2, rng=1)
        before = model.state_dict()
        with pytest.raises(CheckpointError):
            load_checkpoint(bad, model, descent.optim.SGD(model.parameters(), lr=0.05,
                                                          momentum=0.9),
                            np.random.default_rng(), descent.History(),
                            [descent.stopping.MaxEpochs(5),
                             descent.stopping.LossPlateau(1e-12, 100)])
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[key])


def test_a_run_stopped_early_stays_stopped_when_resumed(tmp_path):
    X, y = descent.datasets.blobs(60, centers=3, seed=0)
    path = tmp_path / "c.ckpt"

    def run():
        model = nn.MLP([2, 8, 3], rng=1)
        return descent.train(model, X, y, loss="cross_entropy", optimizer="sgd", lr=0.1,
                             epochs=200, seed=4, checkpoint=path, resume=True,
                             stop=[descent.stopping.ErrorRate(0.2)])

    first = run()
    assert first.stop_reason.startswith("error_rate") and len(first) < 200
    again = run()
    assert len(again) == len(first) and again.stop_reason == first.stop_reason
