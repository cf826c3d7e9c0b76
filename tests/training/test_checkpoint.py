"""Checkpoint and resume: a run killed with SIGKILL and resumed ends with exactly the
weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import re
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


# ----------------------------------------------------------------------------- same run
X_BLOBS, Y_BLOBS = descent.datasets.blobs(60, centers=3, seed=0)


def _settings(**changes):
    """The arguments of a short run (SGD on three blobs), with ``changes``."""
    settings = dict(X=X_BLOBS, y=Y_BLOBS, hidden="relu", dtype="float32", loss="cross_entropy",
                    optimizer="sgd", lr=0.05, batch_size=10, shuffle=True, seed=4,
                    validation=0.2, epochs=3, stop=())
    settings.update(changes)
    return settings


def _train(path, resume=True, model=None, **changes):
    settings = _settings(**changes)
    hidden, dtype = settings.pop("hidden"), settings.pop("dtype")
    if model is None:
        model = nn.MLP([2, 8, 3], activation=hidden, dtype=dtype, rng=1)
    X, y = settings.pop("X"), settings.pop("y")
    history = descent.train(model, X, y, checkpoint=path, resume=resume, **settings)
    return model, history


@pytest.mark.parametrize("changes, message", [
    (dict(lr=0.1), "the checkpoint was written with lr 0.05, this run asks for 0.1"),
    (dict(X=X_BLOBS + 1e-3), "X holds other values than when the checkpoint was written"),
    (dict(y=(Y_BLOBS + 1) % 3), "y holds other values than when the checkpoint was written"),
    (dict(X=X_BLOBS[:50], y=Y_BLOBS[:50]), r"the checkpoint was written for X of shape "
                                           r"\(60, 2\), this run's has shape \(50, 2\); the "
                                           r"checkpoint was written for y of shape \(60,\)"),
    (dict(seed=5), "the checkpoint was written with seed 4, this run asks for 5"),
    (dict(batch_size=20), "the checkpoint was written with batch_size 10, this run asks for 20"),
    (dict(batch_size=None), "with batch_size 10, this run asks for None"),
    (dict(shuffle=False), "the checkpoint was written with shuffle True, this run asks for False"),
    (dict(validation=0.3), "the checkpoint was written with validation 0.2, this run asks for "
                           "0.3"),
    (dict(validation=(X_BLOBS[:10], Y_BLOBS[:10])),
     "the checkpoint was written without validation X, this run has some; the checkpoint was "
     "written without validation y, this run has some; the checkpoint was written with "
     "validation 0.2, this run asks for data"),
    (dict(hidden="tanh"), r"the checkpoint was written with layer 1 ReLU\(\), this run asks for "
                          r"Tanh\(\)"),
    (dict(dtype="float64"), r"the checkpoint was written with parameter 0.weight float32 "
                            r"\(2, 8\), this run asks for float64 \(2, 8\)"),
    (dict(loss="nll"), "the checkpoint was written with loss cross_entropy, this run asks for "
                       "nll_loss"),
    (dict(optimizer="adam"), "the checkpoint was written with optimizer SGD, this run asks for "
                             "Adam"),
    (dict(stop=descent.stopping.EarlyStopping(patience=5)),
     r"the checkpoint was written with stopping criteria \['MaxEpochs\(\)'\], this run asks "
     r"for \['MaxEpochs\(\)', \"EarlyStopping\(monitor='val_loss', mode='min'\)\"\]"),
    (dict(lr=0.2, batch_size=5), "with batch_size 10, this run asks for 5; the checkpoint "
                                 "was written with lr 0.05, this run asks for 0.2"),
])
def test_resume_refuses_a_different_run_naming_what_differs(tmp_path, changes, message):
    path = tmp_path / "c.ckpt"
    _train(path)
    written = path.read_bytes()
    with pytest.raises(CheckpointError, match=rf"c.ckpt: cannot resume from it: .*{message}"
                                              r".*Resume with the data and settings of the run "
                                              r"that wrote it, or start a new run"):
        _train(path, **changes)
    assert path.read_bytes() == written  # nothing trained, nothing written


def test_a_refused_resume_changes_nothing_in_the_model(tmp_path):
    path = tmp_path / "c.ckpt"
    _train(path)
    model = nn.MLP([2, 8, 3], rng=1)
    untrained = model.state_dict()
    with pytest.raises(CheckpointError, match="lr 0.05, this run asks for 0.1"):
        _train(path, model=model, lr=0.1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, untrained[name], err_msg=name)


def test_resume_may_change_epochs_limits_callbacks_progress_diagnostics_and_frequency(tmp_path):
    plateau = descent.stopping.LossPlateau(1e-12, 100)
    full, full_history = _train(tmp_path / "full.ckpt", resume=False, epochs=7, stop=plateau)
    path = tmp_path / "c.ckpt"
    _train(path, epochs=3, stop=descent.stopping.LossPlateau(1e-12, 100))

    class Count(descent.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, record):
            Count.epochs += 1

    resumed, history = _train(path, epochs=7, stop=descent.stopping.LossPlateau(1e-9, 50),
                              callbacks=[Count()], progress=False, diagnostics=False,
                              checkpoint_every=4)
    assert Count.epochs == 4 and history["loss"] == full_history["loss"]
    for a, b in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_resume_with_the_global_generator_does_not_compare_its_state(tmp_path):
    # seed=None draws from descent's global generator; a new process seeds it afresh,
    # and the checkpoint brings back its state, so the runs still agree bit for bit
    descent.manual_seed(0)
    full, _ = _train(tmp_path / "full.ckpt", resume=False, seed=None, validation=None,
                     epochs=6)
    descent.manual_seed(0)
    path = tmp_path / "c.ckpt"
    _train(path, seed=None, validation=None, epochs=3)
    descent.manual_seed(12345)
    resumed, history = _train(path, seed=None, validation=None, epochs=6)
    assert len(history) == 6
    for a, b in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_resume_refuses_a_validation_split_drawn_afresh_from_the_global_generator(tmp_path):
    descent.manual_seed(0)
    path = tmp_path / "c.ckpt"
    _train(path, seed=None, validation=0.2)
    descent.manual_seed(0)
    _train(path, seed=None, validation=0.2, epochs=4)  # the same rows held out
    descent.manual_seed(1)
    with pytest.raises(CheckpointError, match="validation X holds other values than when the "
                                              "checkpoint was written; validation y"):
        _train(path, seed=None, validation=0.2, epochs=5)


def test_resume_with_a_generator_compares_its_state(tmp_path):
    path = tmp_path / "c.ckpt"
    _train(path, seed=np.random.default_rng(8))
    _train(path, seed=np.random.default_rng(8), epochs=4)  # the same state: the same run
    with pytest.raises(CheckpointError, match=r"written with seed a Generator in state "
                                              r"[0-9a-f]{12}, this run asks for a Generator in "
                                              r"state [0-9a-f]{12}"):
        _train(path, seed=np.random.default_rng(9), epochs=5)


def test_cli_resume_refuses_other_options_or_data_and_may_train_longer(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    frame.iloc[:120].to_csv(tmp_path / "fewer.csv", index=False)

    def train(data, *options):
        return subprocess.run([sys.executable, "-m", "descent.cli", "train", data,
                               "--target", "target", "--no-progress", "--checkpoint",
                               "run.ckpt", "--resume", *options],
                              cwd=tmp_path, capture_output=True, text=True)

    assert train("iris.csv", "--epochs", "3").returncode == 0
    other_lr = train("iris.csv", "--epochs", "3", "--lr", "0.01")
    assert other_lr.returncode == 2
    assert "the checkpoint was written with lr 0.001, this run asks for 0.01" in other_lr.stderr
    assert other_lr.stderr.count("\n") == 1
    fewer = train("fewer.csv", "--epochs", "3")
    assert fewer.returncode == 2
    assert "the checkpoint was written for X of shape (120," in fewer.stderr
    longer = train("iris.csv", "--epochs", "5")
    assert longer.returncode == 0 and "Trained 5 epochs" in longer.stdout


# ----------------------------------------------------------------------------- tampering
def _rewrite(path, out, change=lambda header: None, arrays=None):
    """Copy the checkpoint ``path`` to ``out`` with ``change(header)`` applied to its
    JSON and the members of ``arrays`` ({name: ndarray}) replaced."""
    import io
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members["descent.json"])
    change(header)
    members["descent.json"] = json.dumps(header).encode()
    for name, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array)
        members[f"params/{name}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def _load_into_a_fresh_run(path):
    """load_checkpoint into the run of ``_run`` (SGD with momentum, LossPlateau), and
    check that a refusal changed nothing."""
    model = nn.MLP([2, 8, 3], dropout=0.2, rng=1)
    optimizer = descent.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = model.state_dict()
    try:
        return load_checkpoint(path, model, optimizer, np.random.default_rng(),
                               descent.History(), [descent.stopping.MaxEpochs(5),
                                                   descent.stopping.LossPlateau(1e-12, 100)])
    except CheckpointError:
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[key])
        assert optimizer.lr == 0.05 and optimizer.state[0] == {}
        raise


def _hyper(header):
    return header["optimizer"]["state"]["hyper"]


def _records(header):
    return header["history"]["records"]


OPTIMISER = r"its optimiser state does not fit: "
TAMPERS = {
    "lr -5": (lambda h: _hyper(h).update(lr=-5),
              OPTIMISER + r"lr must be in \[0, inf\), got -5$"),
    "lr text": (lambda h: _hyper(h).update(lr="fast"),
                OPTIMISER + r"lr must be a number, got 'fast'$"),
    "momentum": (lambda h: _hyper(h).update(momentum=1.5),
                 OPTIMISER + r"momentum must be in \[0, 1\), got 1.5$"),
    "extra setting": (lambda h: _hyper(h).update(betas=[0.9, 0.99]),
                      OPTIMISER + r"the optimiser settings must be lr, momentum, dampening, "
                                  r"nesterov, weight_decay; got \['betas', 'dampening'"),
    "state entry": (lambda h: h["optimizer"]["state"]["state"][0].update(exp_avg=1),
                    OPTIMISER + r"optimiser state of parameter 0 holds \['momentum_buffer', "
                                r"'exp_avg'\]; a SGD keeps \['momentum_buffer'\]$"),
    "state dtype": (lambda h: h["optimizer"]["state"]["state"][1]["momentum_buffer"].update(
        dtype="float64"), r"params/a5.npy has shape \(8,\) and dtype float32, expected "
                          r"\(8,\) and float64$"),
    "optimizer type": (lambda h: h["optimizer"].update(type="Adam"),
                       r"it was written by a 'Adam' optimiser, not a SGD$"),
    "epoch text": (lambda h: h.update(epoch="three"),
                   r"its epoch count 'three' is not an integer >= 0$"),
    "epoch bool": (lambda h: h.update(epoch=True), r"its epoch count True is not an integer"),
    "epoch negative": (lambda h: h.update(epoch=-1), r"its epoch count -1 is not"),
    "epoch beyond history": (lambda h: h.update(epoch=5),
                             r"its history holds 2 epochs, but it counts 5$"),
    "record loss": (lambda h: _records(h)[1].update(loss="low"),
                    r"history record 2: its loss 'low' is not a finite number$"),
    "record epoch": (lambda h: _records(h)[0].update(epoch=7),
                     r"history record 1: it is not the record of epoch 1$"),
    "record norm": (lambda h: _records(h)[0]["grad_norm"].update(x="big"),
                    r"history record 1: its 'grad_norm' is \{'0.weight': .*…, not a number$"),
    "record time": (lambda h: _records(h)[1].update(time=-3.0),
                    r"history record 2: its time -3.0 is not a number of seconds$"),
    "best epoch": (lambda h: h["history"].update(best_epoch=99),
                   r"its best epoch 99 is not an epoch in 1..2$"),
    "stop reason": (lambda h: h["history"].update(stop_reason="x", stopped_by="os.system"),
                    r"its stop reason 'x' \(from 'os.system'\) does not come from one of this "
                    r"run's stopping criteria$"),
    "history keys": (lambda h: h["history"].pop("best_epoch"),
                     r"its history must hold \['best_epoch', 'records', 'stop_reason', "
                     r"'stopped_by'\]$"),
    "criterion stale": (lambda h: h["criteria"][1].update(stale=-1),
                        r"LossPlateau's stale is -1: not an integer >= 0$"),
    "criterion best": (lambda h: h["criteria"][1].update(best="x"),
                       r"LossPlateau's best is 'x': not a number$"),
    "criterion key": (lambda h: h["criteria"][1].update(check=1),
                      r"the state of LossPlateau holds \['best', 'check', 'stale'\], not "
                      r"\['best', 'stale'\]$"),
    "criteria count": (lambda h: h["criteria"].pop(),
                       r"it was written with different stopping criteria$"),
    "generator names": (lambda h: h.update(generators={"x": 1}),
                        r"its random generators do not match this run$"),
    "generator negative": (lambda h: h["generators"]["shuffle"]["state"].update(inc=-1),
                           r"the state of random generator 'shuffle' is damaged$"),
    "generator kind": (lambda h: h["generators"]["global"].update(bit_generator="MT19937"),
                       r"the state of random generator 'global' is damaged$"),
    "generator text": (lambda h: h["generators"]["shuffle"].update(state="0"),
                       r"the state of random generator 'shuffle' is damaged$"),
    "format version": (lambda h: h.update(format_version=1),
                       r"checkpoint format version 1; this descent reads version 2$"),
    "too many bytes": (lambda h: h["optimizer"]["state"]["state"][0]["momentum_buffer"].update(
        shape=[1 << 20, 1 << 10]), r"its arrays declare 4,294,967,640 bytes, more than the "
                                   r"816 that this model, optimiser and stopping criteria "
                                   r"can need$"),
    "one array named many times": (
        lambda h: _records(h)[0].update(copies=[h["parameters"]["0.weight"]] * 10_000),
        # the weights (8·2 + 8 + 3·8 + 3 = 51 float32s, 204 bytes), a copy per criterion
        # and the momentum buffers: 4 × 204 = 816 bytes; 10,000 × 64 bytes declared
        r"its arrays declare 640,408 bytes, more than the 816 that"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_a_tampered_field_is_a_checkpoint_error_naming_it(tmp_path, name):
    change, message = TAMPERS[name]
    path = tmp_path / "c.ckpt"
    _run(2, path)
    bad = _rewrite(path, tmp_path / "bad.ckpt", change)
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(bad))}: {message}"):
        _load_into_a_fresh_run(bad)


@pytest.mark.parametrize("array, message", [
    (np.full((2, 8), np.nan, dtype=np.float32),
     "its parameters do not fit: parameter 0.weight has NaN or infinite values"),
    (np.zeros((2, 8), dtype=np.float64), r"params/a0.npy has shape \(2, 8\) and dtype float64, "
                                         r"expected \(2, 8\) and float32"),
])
def test_a_tampered_weight_is_a_checkpoint_error_naming_it(tmp_path, array, message):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    bad = _rewrite(path, tmp_path / "bad.ckpt", arrays={"a0": array})
    with pytest.raises(CheckpointError, match=message):
        _load_into_a_fresh_run(bad)


def test_a_tampered_optimiser_array_is_a_checkpoint_error_naming_it(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    bad = _rewrite(path, tmp_path / "bad.ckpt", arrays={"a5": np.full(8, np.inf, np.float32)})
    with pytest.raises(CheckpointError, match=r"its optimiser state does not fit: optimiser "
                                              r"state 'momentum_buffer' of parameter 1 has NaN "
                                              r"or infinite values$"):
        _load_into_a_fresh_run(bad)


def test_a_deeply_nested_header_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    bad = tmp_path / "bad.ckpt"
    _rewrite(path, bad)
    import zipfile

    nested = '{"format": "descent-checkpoint", "format_version": 2, "epoch": ' \
             + "[" * 100_000 + "]" * 100_000 + "}"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("descent.json", nested)
    with pytest.raises(CheckpointError, match="damaged"):
        _load_into_a_fresh_run(bad)


def test_no_checkpoint_may_declare_more_than_the_absolute_cap(tmp_path, monkeypatch):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    assert _load_into_a_fresh_run(path) == 2  # it fits this run ...
    monkeypatch.setattr(sys.modules["descent.training.checkpoint"], "_MAX_ARRAY_BYTES", 100)
    # the weights and the momentum buffers: 2 × 51 float32s
    with pytest.raises(CheckpointError, match=r"its arrays declare 408 bytes, more than the "
                                              r"100 that"):
        _load_into_a_fresh_run(path)  # ... but not a cap of 100 bytes


def test_resuming_with_a_tampered_learning_rate_refuses_before_training(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    _rewrite(path, path, lambda h: _hyper(h).update(lr=-5))
    with pytest.raises(CheckpointError, match=r"lr must be in \[0, inf\), got -5$"):
        _run(6, path, resume=True)


def test_a_checkpoint_without_a_run_description_is_not_resumed(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(2, path)
    _rewrite(path, path, lambda h: h.update(run={"data": [], "settings": {}}))
    with pytest.raises(CheckpointError, match="it does not say which data and settings it was "
                                              "written with"):
        _run(6, path, resume=True)


def _leaves(node, path=()):
    """Every path into nested JSON data, as tuples of keys and indices."""
    if path:
        yield path
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _leaves(value, (*path, key))


def test_any_field_replaced_by_junk_is_a_checkpoint_error_or_harmless(tmp_path):
    import json
    import zipfile

    path = tmp_path / "c.ckpt"
    _run(2, path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("descent.json"))
    refused, tried = 0, 0
    for leaf in _leaves({key: value for key, value in header.items() if key != "run"}):
        for junk in (None, "x", -1, True, [1, 2], {}):
            tried += 1
            def change(h, leaf=leaf, junk=junk):
                node = h
                for key in leaf[:-1]:
                    node = node[key]
                node[leaf[-1]] = junk

            bad = _rewrite(path, tmp_path / "bad.ckpt", change)
            try:
                _load_into_a_fresh_run(bad)
            except CheckpointError as error:
                assert "damaged (" not in str(error), (leaf, junk, str(error))
                refused += 1
    # what loads is junk that fits: a fresh optimiser state ({}), metrics of the history
    # (which training does not read) that are missing or negative, the descent version
    assert tried == 738 and refused == 669
