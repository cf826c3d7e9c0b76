"""Each stopping criterion fires when it should, and only then."""

import numpy as np
import pytest

import descent
from descent import nn
from descent.data.datasets import truth_table
from descent.training.stopping import (EarlyStopping, ErrorRate, LossPlateau, MaxEpochs, MaxTime,
                              WeightChange)


def _records(key, values):
    return [{"epoch": i + 1, key: v, "time": float(i)} for i, v in enumerate(values)]


def _first_firing(criterion, records, model=None):
    criterion.on_train_begin(model)
    for record in records:
        reason = criterion.check(record, model)
        if reason:
            return record["epoch"], reason
    return None, None


def test_max_epochs():
    assert _first_firing(MaxEpochs(3), _records("loss", [1, 1, 1, 1]))[0] == 3


def test_max_time():
    assert _first_firing(MaxTime(2.5), _records("loss", [1, 1, 1, 1, 1]))[0] == 4


def test_weight_change():
    epoch, reason = _first_firing(WeightChange(1e-3),
                                  _records("weight_change", [1.0, 0.1, 1e-3, 5e-4]))
    assert epoch == 4 and "below" in reason


def test_loss_plateau_counts_consecutive_epochs_without_improvement():
    losses = [1.0, 0.9, 0.89995, 0.8999, 0.8, 0.79999, 0.79998, 0.79997]
    epoch, reason = _first_firing(LossPlateau(tol=1e-3, patience=3), _records("loss", losses))
    assert epoch == 8 and "3 epochs" in reason


def test_error_rate_threshold():
    assert _first_firing(ErrorRate(0.05), _records("error_rate", [0.5, 0.1, 0.05]))[0] == 3
    assert _first_firing(ErrorRate(0.0), _records("error_rate", [0.5, 0.01]))[0] is None


def test_early_stopping_patience_and_mode():
    values = [1.0, 0.8, 0.85, 0.81, 0.9]
    epoch, reason = _first_firing(EarlyStopping(patience=3, restore_best=False),
                                  _records("val_loss", values))
    assert epoch == 5 and "epoch 2" in reason
    accuracies = [0.5, 0.7, 0.6, 0.65]
    assert _first_firing(EarlyStopping("val_accuracy", patience=2, restore_best=False),
                         _records("val_accuracy", accuracies))[0] == 4


def test_early_stopping_restores_the_best_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] > 0).astype(int)
    X_val = rng.normal(size=(40, 5))
    y_val = rng.integers(0, 2, size=40)  # noise: validation loss rises as the net overfits
    model = nn.MLP([5, 64, 2], rng=0)
    stopper = EarlyStopping(patience=5)
    snapshots = {}

    class Snap(descent.callbacks.Callback):
        def on_epoch_end(self, record):
            snapshots[record["epoch"]] = model.state_dict()

    history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.05,
                            epochs=200, validation=(X_val, y_val), stop=stopper,
                            callbacks=[Snap()])
    assert "did not improve" in history.stop_reason
    best = int(np.argmin(history["val_loss"])) + 1
    assert history.best_epoch == best < len(history)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[best][key])


def test_missing_monitored_value_is_a_clear_error():
    X, y = truth_table("and")
    with pytest.raises(descent.DescentValueError, match="give train\\(\\) validation data"):
        descent.train(nn.Linear(2, 1), X, y, epochs=2, stop=EarlyStopping())
    with pytest.raises(descent.DescentValueError, match="classification loss"):
        descent.train(nn.Linear(2, 1), X, y, epochs=2, stop=ErrorRate(0.1))


def test_error_rate_stops_training_early_in_train():
    X, y = truth_table("or")
    history = descent.train(nn.MLP([2, 2], rng=0), X, y.astype(int), loss="cross_entropy",
                            lr=1.0, epochs=500, stop=[ErrorRate(0.0)])
    assert history.stop_reason.startswith("error_rate 0 reached")
    assert len(history) < 500


@pytest.mark.parametrize("make", [lambda: MaxEpochs(0), lambda: LossPlateau(patience=0),
                                  lambda: WeightChange(-1), lambda: EarlyStopping(mode="up")])
def test_bad_criterion_arguments(make):
    with pytest.raises(descent.DescentValueError):
        make()
