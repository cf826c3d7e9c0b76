"""descent.distributed.train on a real cluster (``client``: a LocalCluster of two worker
processes on 127.0.0.1, see conftest.py). Every distributed result is held to its
single-process twin, descent.train."""

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import descent
from descent import nn
from descent.training.callbacks import Callback
from descent.errors import DescentTypeError, DescentValueError, ShapeError
from descent.training.stopping import EarlyStopping

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

import descent.distributed  # noqa: E402  (after the skips: it needs nothing, dask does)

ROOT = Path(__file__).resolve().parents[2]
# float64 training on split batches: the shards' gradient sums are the batch's per-example
# gradients added in another grouping, so the updates differ from descent.train's by a
# few units in the last place (measured: about 1e-16 after 40 steps); weights and every
# recorded number must agree to 1e-12.
TOLERANCE = 1e-12


def classification_data(rows=300, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int) * (classes - 2)
    return X, y


def regression_data(rows=240, features=3, outputs=1, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    noise = 0.1 * rng.normal(size=(rows, outputs))
    y = np.tanh(X @ rng.normal(size=(features, outputs))) + noise
    return X, (y[:, 0] if outputs == 1 else y)


def chunked(values, chunks):
    return da.from_array(values, chunks=(chunks,) + values.shape[1:])


def mlp(sizes, **kwargs):
    return nn.MLP(sizes, activation="tanh", rng=0, dtype="float64", **kwargs)


def assert_same_training(model, history, twin, twin_history, tolerance=TOLERANCE):
    """The distributed run and descent.train's agree: weights, and every recorded number
    of every epoch (time aside), and why they stopped."""
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert np.max(np.abs(p.data - q.data)) <= tolerance, name
    assert len(history) == len(twin_history)
    assert history.stop_reason == twin_history.stop_reason
    for record, expected in zip(history.records, twin_history.records):
        assert record.keys() == expected.keys()
        for key, value in expected.items():
            if key == "time" or value is None:
                continue
            if isinstance(value, dict):
                for inner, number in value.items():
                    assert record[key][inner] == pytest.approx(number, rel=tolerance,
                                                               abs=tolerance), (key, inner)
            else:
                assert record[key] == pytest.approx(value, rel=tolerance, abs=tolerance), key


CASES = {
    "cross-entropy, Adam, mini-batches, uneven chunks": dict(
        data=classification_data, chunks=(100, 50, 90, 60), sizes=[4, 8, 3],
        options=dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=32)),
    "mse, SGD with momentum, full batch": dict(
        data=regression_data, chunks=80, sizes=[3, 6, 1],
        options=dict(loss="mse", optimizer=lambda params: descent.optim.SGD(
            params, lr=0.1, momentum=0.9))),
    "sse, two outputs, in order": dict(
        data=lambda: regression_data(outputs=2), chunks=70, sizes=[3, 5, 2],
        options=dict(loss="sse", optimizer="rmsprop", lr=0.01, batch_size=50,
                     shuffle=False)),
    "binary cross-entropy, sigmoid output, three shards": dict(
        data=lambda: classification_data(classes=2), chunks=100, sizes=[4, 6, 1],
        model=dict(output="sigmoid"), shards=3,
        options=dict(loss="binary_cross_entropy", optimizer="sgd", lr=0.5, batch_size=64)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_synchronous_training_is_descent_train(client, case):
    X, y = case["data"]()
    options = dict(case["options"], epochs=4, seed=5, progress=False)
    make_optimizer = options.pop("optimizer")
    runs = []
    for _ in range(2):
        model = mlp(case["sizes"], **case.get("model", {}))
        optimizer = make_optimizer(model.parameters()) if callable(make_optimizer) \
            else make_optimizer
        runs.append((model, optimizer))
    (twin, twin_optimizer), (model, optimizer) = runs
    twin_history = descent.train(twin, X, y, optimizer=twin_optimizer, **options)
    history = descent.distributed.train(
        model, chunked(X, case["chunks"]), chunked(y, case["chunks"]), client=client,
        optimizer=optimizer, shards=case.get("shards"), **options)
    assert_same_training(model, history, twin, twin_history)


def test_a_dataframe_with_text_labels_and_validation_data_is_descent_train(client):
    X, codes = classification_data(rows=240)
    labels = np.array(["low", "mid", "high"])[codes]
    frame = dd.from_pandas(pandas().DataFrame({**{f"x{i}": X[:, i] for i in range(4)},
                                               "label": labels}), npartitions=3)
    X_val, val_codes = classification_data(rows=60, seed=9)
    validation = (X_val, np.array(["low", "mid", "high"])[val_codes])
    options = dict(loss="cross_entropy", optimizer="adam", lr=0.02, batch_size=40, epochs=6,
                   seed=2, validation=validation, stop=EarlyStopping(patience=2),
                   progress=False)
    twin = mlp([4, 8, 3])
    twin_history = descent.train(twin, X, labels, **options)
    model = mlp([4, 8, 3])
    history = descent.distributed.train(model, frame, "label", client=client, **options)
    assert_same_training(model, history, twin, twin_history)
    assert list(history.classes) == ["high", "low", "mid"]


def test_float32_training_stays_within_float32_rounding(client):
    X, y = classification_data()
    options = dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=20, epochs=2,
                   seed=1, progress=False)
    twin = nn.MLP([4, 8, 3], activation="tanh", rng=0)
    model = nn.MLP([4, 8, 3], activation="tanh", rng=0)
    twin_history = descent.train(twin, X, y, **options)
    history = descent.distributed.train(model, chunked(X, 150), chunked(y, 150),
                                        client=client, **options)
    assert_same_training(model, history, twin, twin_history, tolerance=1e-5)


def test_local_sgd_over_one_shard_is_descent_train(client):
    """With one shard, H local steps on all of each batch's rows are the steps of
    single-process training: local SGD's machinery adds nothing of its own."""
    X, y = classification_data()
    options = dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=32, epochs=3,
                   seed=4, progress=False, diagnostics=False)
    twin, model = mlp([4, 8, 3]), mlp([4, 8, 3])
    twin_history = descent.train(twin, X, y, **options)
    history = descent.distributed.train(model, chunked(X, 100), chunked(y, 100),
                                        client=client, shards=1, sync_every=3, **options)
    assert_same_training(model, history, twin, twin_history)


def test_local_sgd_trains_and_repeats_itself_bit_for_bit(client):
    X, y = classification_data()
    options = dict(loss="cross_entropy", optimizer=lambda p: descent.optim.SGD(
        p, lr=0.2, momentum=0.5), batch_size=30, epochs=5, seed=3, progress=False,
        sync_every=4)
    runs = []
    for _ in range(2):
        model = mlp([4, 8, 3])
        history = descent.distributed.train(
            model, chunked(X, 75), chunked(y, 75), client=client,
            **{**options, "optimizer": options["optimizer"](model.parameters())})
        runs.append((model, history))
    (first, history), (second, again) = runs
    assert history["loss"] == again["loss"]
    for p, q in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert "grad_norm" not in history.last


def test_validation_held_out_on_the_workers_does_not_depend_on_the_shards(client):
    X, y = regression_data()
    options = dict(loss="mse", optimizer="adam", lr=0.01, batch_size=25, epochs=3, seed=8,
                   validation=0.25, progress=False)
    runs = []
    for shards in (1, 2):
        model = mlp([3, 6, 1])
        history = descent.distributed.train(model, chunked(X, 60), chunked(y, 60),
                                            client=client, shards=shards, **options)
        runs.append((model, history))
    (one, one_history), (two, two_history) = runs
    assert_same_training(two, two_history, one, one_history)
    assert {"val_loss", "val_mse", "val_mae", "val_r2"} <= two_history.last.keys()
    assert two_history.last["val_loss"] == pytest.approx(two_history.last["val_mse"])


class KillAWorker(Callback):
    """SIGKILL one worker process in the middle of an epoch, and wait until the
    scheduler has seen it go."""

    def __init__(self, client, epoch, batch):
        self.client, self.when = client, (epoch, batch)
        self.killed = None

    def on_batch_end(self, epoch, batch, loss):
        if (epoch, batch) != self.when:
            return
        address, pid = sorted(self.client.run(os.getpid).items())[0]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while address in self.client.scheduler_info()["workers"]:
            assert time.monotonic() < deadline, "the scheduler never saw the worker die"
            time.sleep(0.05)
        self.killed = address


def test_a_worker_killed_mid_epoch_costs_nothing(client, caplog):
    X, y = classification_data()
    options = dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=30, epochs=3,
                   seed=6, progress=False)
    steady = mlp([4, 8, 3])
    steady_history = descent.distributed.train(steady, chunked(X, 75), chunked(y, 75),
                                               client=client, **options)
    killer = KillAWorker(client, epoch=2, batch=4)
    model = mlp([4, 8, 3])
    with caplog.at_level(logging.WARNING, logger="descent.distributed"):
        history = descent.distributed.train(model, chunked(X, 75), chunked(y, 75),
                                            client=client, callbacks=killer, **options)
    assert killer.killed is not None
    assert any("lost shard" in r.getMessage() and r.name == "descent.distributed"
               for r in caplog.records)
    # the same shards, so the same sums in the same order: bit for bit
    assert history["loss"] == steady_history["loss"]
    for p, q in zip(model.parameters(), steady.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    twin = mlp([4, 8, 3])
    assert_same_training(model, history, twin, descent.train(twin, X, y, **options))


CLIENT_SCRIPT = """
import sys, time
import dask.array as da, numpy as np, distributed
import descent, descent.distributed
from descent.training.callbacks import Callback

class Slowly(Callback):
    def on_epoch_end(self, record):
        time.sleep(0.4)

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 4))
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
model = descent.nn.MLP([4, 8, 3], activation="tanh", rng=0, dtype="float64")
with distributed.Client(sys.argv[1]) as client:
    descent.distributed.train(
        model, da.from_array(X, chunks=(75, 4)), da.from_array(y, chunks=75),
        client=client, loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=30,
        epochs=8, seed=6, progress=False, checkpoint=sys.argv[2], callbacks=Slowly())
"""


def test_a_killed_client_resumes_from_its_checkpoint_with_nothing_lost(client, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    X, y = classification_data()
    options = dict(loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=30, epochs=8,
                   seed=6, progress=False)
    script = tmp_path / "client.py"
    script.write_text(textwrap.dedent(CLIENT_SCRIPT))
    process = subprocess.Popen([sys.executable, str(script), client.scheduler.address,
                                str(checkpoint)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while not checkpoint.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the client wrote no checkpoint"
            time.sleep(0.05)
        time.sleep(0.5)  # into the next epochs
    finally:
        process.kill()
        process.wait()
        process.stderr.close()

    class Start(Callback):
        def on_train_begin(self, history):
            self.done = len(history)

    start = Start()
    model = mlp([4, 8, 3])
    history = descent.distributed.train(model, chunked(X, 75), chunked(y, 75), client=client,
                                        checkpoint=checkpoint, resume=True, callbacks=start,
                                        **options)
    assert 1 <= start.done < 8  # killed mid-run; resumed from a checkpoint
    steady = mlp([4, 8, 3])
    steady_history = descent.distributed.train(steady, chunked(X, 75), chunked(y, 75),
                                               client=client, **options)
    assert [r["epoch"] for r in history.records] == list(range(1, 9))
    assert history["loss"] == steady_history["loss"]
    for p, q in zip(model.parameters(), steady.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_resuming_with_other_data_is_refused(client, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    X, y = classification_data()
    options = dict(loss="cross_entropy", batch_size=50, epochs=1, seed=0, progress=False,
                   checkpoint=checkpoint)
    descent.distributed.train(mlp([4, 8, 3]), chunked(X, 150), chunked(y, 150),
                              client=client, **options)
    X[7, 2] += 1.0
    with pytest.raises(descent.CheckpointError, match="X holds other values"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 150), chunked(y, 150),
                                  client=client, resume=True, **{**options, "epochs": 2})


def blas_threads(client):
    from threadpoolctl import threadpool_info

    return sorted({pool["num_threads"] for pools in client.run(threadpool_info).values()
                   for pool in pools if pool["user_api"] == "blas"})


def test_workers_set_their_blas_threads(client):
    X, y = classification_data(rows=100)
    for threads in (2, None):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 50), chunked(y, 50),
                                  client=client, loss="cross_entropy", epochs=1,
                                  progress=False, threads=threads)
        assert blas_threads(client) in ([], [threads or 1])  # (no BLAS: nothing to set)


def test_callbacks_see_every_batch(client):
    X, y = classification_data()

    class Count(Callback):
        batches = 0

        def on_batch_end(self, epoch, batch, loss):
            Count.batches += 1

    descent.distributed.train(mlp([4, 8, 3]), chunked(X, 100), chunked(y, 100),
                              client=client, loss="cross_entropy", batch_size=32, epochs=2,
                              seed=0, callbacks=Count(), progress=False, sync_every=3)
    assert Count.batches == 2 * 10  # ⌈300 / 32⌉ batches an epoch


# ---------------------------------------------------------------------------- bad input
def test_a_chunk_with_nan_is_named(client):
    X, y = classification_data()
    X[160, 1] = np.nan
    with pytest.raises(DescentValueError, match=r"partition 2 of X has 1 NaN .* row 10"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 75), chunked(y, 75),
                                  client=client, loss="cross_entropy", epochs=1,
                                  progress=False)


def test_mismatched_partitions_are_refused(client):
    X, y = classification_data()
    with pytest.raises(ShapeError, match=r"different row chunks .* y.rechunk"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 75), chunked(y, 100),
                                  client=client, loss="cross_entropy", progress=False)
    frame = dd.from_pandas(pandas().DataFrame(X), npartitions=3)
    labels = dd.from_pandas(pandas().Series(y), npartitions=2)
    with pytest.raises(ShapeError, match="X has 3 partitions but y has 2"):
        descent.distributed.train(mlp([4, 8, 3]), frame, labels, client=client,
                                  loss="cross_entropy", progress=False)


def test_partitions_of_different_rows_are_refused(client):
    X, y = classification_data()
    X_parts, y_parts = chunked(X, 150), da.from_array(y, chunks=((100, 200),))
    # a filter that keeps every row: Dask no longer knows the chunks' lengths
    X_unknown, y_unknown = X_parts[X_parts[:, 0] > -np.inf], y_parts[y_parts >= 0]
    with pytest.raises(ShapeError, match="partition 0 has 150 rows of X but 100 of y"):
        descent.distributed.train(mlp([4, 8, 3]), X_unknown, y_unknown, client=client,
                                  loss="cross_entropy", progress=False)


def test_other_inputs_are_clear_errors(client):
    X, y = classification_data()
    with pytest.raises(DescentTypeError, match="Dask array or Dask DataFrame.*from_array"):
        descent.distributed.train(mlp([4, 8, 3]), X, y, client=client)
    with pytest.raises(DescentValueError, match="L-BFGS"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 150), chunked(y, 150),
                                  client=client, optimizer="lbfgs")
    with pytest.raises(DescentValueError, match="integer seed"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 150), chunked(y, 150),
                                  client=client, validation=0.2)
    text = dd.from_pandas(pandas().DataFrame({"a": X[:, 0], "city": ["Oslo"] * 300,
                                              "y": y}), npartitions=2)
    with pytest.raises(DescentTypeError, match="'city' do not hold numbers"):
        descent.distributed.train(mlp([1, 8, 3]), text, "y", client=client,
                                  loss="cross_entropy", progress=False)
    with pytest.raises(DescentValueError, match="batch_size 400 is larger than the 300"):
        descent.distributed.train(mlp([4, 8, 3]), chunked(X, 150), chunked(y, 150),
                                  client=client, batch_size=400, progress=False)


def test_a_missing_dask_names_the_extra():
    from descent.distributed.imports import MissingDependency, require

    with pytest.raises(MissingDependency, match=r"pip install 'descent\[dask\]'"):
        require("dask_that_is_not_installed")


def pandas():
    return pytest.importorskip("pandas")
