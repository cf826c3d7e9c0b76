"""The training loop: the three kinds of gradient descent, tasks, validation, callbacks,
divergence, and reproducibility."""

import sys

import numpy as np
import pytest

import descent
from descent import nn
from descent.training.callbacks import Callback
from descent.data.datasets import blobs, spirals, truth_table


def test_mlp_learns_xor_with_batch_gradient_descent():
    X, y = truth_table("xor")
    model = nn.MLP([2, 4, 1], activation="sigmoid", output="sigmoid", rng=0)
    history = descent.train(model, X, y, loss="binary_cross_entropy", optimizer="sgd",
                            lr=2.0, batch_size=None, epochs=2000)
    assert history.last["accuracy"] == 1.0
    with descent.no_grad():
        predictions = (model(X).data[:, 0] > 0.5).astype(float)
    np.testing.assert_array_equal(predictions, y)
    assert history["loss"][-1] < history["loss"][0] / 10


def test_three_spirals_reach_95_percent():
    X, y = spirals(300, n_classes=3, noise=0.1, seed=0)
    model = nn.MLP([2, 64, 64, 3], activation="relu", rng=0)
    history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.01,
                            batch_size=32, epochs=150, seed=0)
    assert history.last["accuracy"] >= 0.95


def _curve(batch_size, seed=0):
    X, y = spirals(120, n_classes=2, noise=0.1, seed=1)
    model = nn.MLP([2, 16, 2], activation="tanh", rng=seed)
    return np.array(descent.train(model, X, y, loss="cross_entropy", optimizer="sgd",
                                  lr=0.05, batch_size=batch_size, epochs=30, seed=seed)["loss"])


def test_batch_stochastic_and_minibatch_curves_differ_and_stochastic_bounces_most():
    batch, minibatch, stochastic = _curve(None), _curve(16), _curve(1)
    assert not np.allclose(batch, minibatch) and not np.allclose(minibatch, stochastic)
    # more updates per epoch: both descend faster than batch gradient descent
    assert stochastic[-1] < batch[-1] and minibatch[-1] < batch[-1]
    # noisiness: the loss of single-example updates, recorded per batch, varies most
    losses = {}
    for size in (None, 16, 1):
        recorder = _BatchLosses()
        X, y = spirals(120, n_classes=2, noise=0.1, seed=1)
        descent.train(nn.MLP([2, 16, 2], activation="tanh", rng=0), X, y,
                      loss="cross_entropy", lr=0.05, batch_size=size, epochs=5, seed=0,
                      callbacks=[recorder])
        losses[size] = np.std(np.diff(recorder.values)) if len(recorder.values) > 1 else 0
    assert losses[1] > losses[16] > losses[None]


class _BatchLosses(Callback):
    def __init__(self):
        self.values = []

    def on_batch_end(self, epoch, batch, loss):
        self.values.append(loss)


def test_update_uses_the_mean_gradient_over_the_batch():
    # Batch gradient descent on y = w·x (one weight, no bias), mse loss: the update is
    # w ← w − lr · mean(2(wx − y)x). With x = (1, 2), y = (2, 4), w = 0, lr = 0.1:
    # mean(2(0 − 2)·1, 2(0 − 4)·2) = mean(−4, −16) = −10, so w becomes 1.0.
    model = nn.Linear(1, 1, bias=False, init="zeros", dtype="float64")
    descent.train(model, [[1.0], [2.0]], [2.0, 4.0], loss="mse", lr=0.1, epochs=1)
    assert model.weight.data[0, 0] == pytest.approx(1.0)


def test_currency_example_learns_the_constant():
    # shekels = dollars × constant (seed 000): one weight, no bias
    rng = np.random.default_rng(0)
    dollars = rng.uniform(1, 100, size=(50, 1))
    shekels = dollars[:, 0] * 3.7
    model = nn.Linear(1, 1, bias=False, dtype="float64", rng=0)
    X = dollars / 100  # scaled inputs keep the step size sensible
    history = descent.train(model, X, shekels, loss="mse", optimizer="sgd", lr=0.5,
                            epochs=300, stop=descent.stopping.WeightChange(1e-10))
    assert model.weight.data[0, 0] / 100 == pytest.approx(3.7, rel=1e-6)
    assert "weight change" in history.stop_reason


def test_string_labels_and_classes():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array(["low", "low", "high", "high"])
    model = nn.MLP([1, 2], rng=0)
    history = descent.train(model, X, y, loss="cross_entropy", lr=0.5, epochs=200)
    assert history.classes.tolist() == ["high", "low"]
    assert history.last["accuracy"] == 1.0


def test_regression_metrics_recorded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    history = descent.train(nn.Linear(3, 1), X, y, loss="mse", optimizer="adam", lr=0.05,
                            epochs=200, validation=0.2, seed=0)
    record = history.last
    assert record["r2"] > 0.99 and record["val_r2"] > 0.99
    assert record["mse"] == pytest.approx(record["loss"], rel=0.2)
    assert {"mae", "val_mse", "val_mae", "lr", "weight_change", "grad_norm", "time"} <= set(record)


def test_validation_fraction_is_stratified_and_explicit_data_works():
    X, y = spirals(100, n_classes=2, seed=0)
    history = descent.train(nn.MLP([2, 8, 2], rng=0), X, y, loss="cross_entropy",
                            epochs=3, validation=0.2, seed=0)
    assert history.last["val_accuracy"] is not None
    history = descent.train(nn.MLP([2, 8, 2], rng=0), X[:80], y[:80], loss="cross_entropy",
                            epochs=3, validation=(X[80:], y[80:]))
    assert "val_loss" in history.last


def test_same_seed_same_history_bit_for_bit():
    def run():
        X, y = spirals(90, n_classes=3, seed=2)
        model = nn.MLP([2, 16, 3], dropout=0.2, rng=5)
        history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam",
                                lr=0.01, batch_size=8, epochs=5, seed=7, validation=0.2)
        return history["loss"], history["val_loss"], model.state_dict()

    first, second = run(), run()
    assert first[0] == second[0] and first[1] == second[1]
    for key in first[2]:
        np.testing.assert_array_equal(first[2][key], second[2][key])


def test_divergence_stops_with_a_clear_error_and_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2)) * 100
    y = X.sum(axis=1) * 100
    model = nn.MLP([2, 8, 1], rng=0)
    with pytest.raises(descent.stopping.TrainingDiverged,
                       match=r"epoch \d+, batch \d+.*learning rate 10.*smaller") as info:
        descent.train(model, X, y, loss="mse", lr=10.0, epochs=50)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert info.value.history.stop_reason.startswith("diverged")


def test_adam_at_a_huge_learning_rate_diverges_in_the_first_epoch_with_its_first_weights():
    # The loss stays finite (about 2e12 over the first epoch, then falling to ~1e5):
    # only its growth over the untrained network's loss (0.56) gives it away.
    X, y = descent.datasets.moons(200, seed=0)
    model = nn.MLP([2, 16, 2], rng=0)
    start = model.state_dict()
    with pytest.raises(descent.TrainingDiverged,
                       match=r"epoch 1, batch 2: the epoch's mean loss reached 2\.247e\+12, "
                             r"more than 10000 times the untrained network's 0\.5614 "
                             r"\(counted as 1\) with learning rate 1e\+06.*start of epoch 1"
                       ) as info:
        descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e6,
                      batch_size=16, epochs=20, seed=0)
    assert (info.value.epoch, info.value.batch) == (1, 2)
    assert len(info.value.history) == 0
    assert info.value.history.stop_reason == "diverged at epoch 1, batch 2"
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, start[name], err_msg=name)


def test_sgd_whose_loss_stays_finite_but_huge_diverges_keeping_the_last_good_epoch():
    # tanh units saturate, so the loss stays finite (about 1e4 every epoch) at lr 1e4;
    # the second epoch's mean passes 10^4 × the untrained loss of 1.092
    X, y = blobs(90, centers=3, seed=3)

    def run(model, epochs):
        return descent.train(model, X, y, loss="cross_entropy", optimizer="sgd", lr=1e4,
                             batch_size=16, epochs=epochs, seed=0)

    after_one = nn.MLP([2, 8, 3], activation="tanh", rng=1)
    first = run(after_one, 1)
    assert 1e4 < first.last["loss"] < 1.092e4  # high, but not yet 10^4 times its start
    model = nn.MLP([2, 8, 3], activation="tanh", rng=1)
    with pytest.raises(descent.TrainingDiverged, match=r"epoch 2, batch 1: .*reached "
                       r"1\.262e\+04.*untrained network's 1\.092 with learning rate 10000"
                       ) as info:
        run(model, 5)
    assert info.value.history["loss"] == first["loss"]
    # the weights it had when epoch 2 began: those of the one-epoch run
    for (name, value), kept in zip(model.named_parameters(), after_one.parameters()):
        np.testing.assert_array_equal(value.data, kept.data, err_msg=name)


def test_weights_that_overflow_at_an_epochs_last_step_are_put_back():
    # One float32 weight: w·10 should be 1000, so the gradient is 2(10w − 1000)·10 ≈ −2e4
    # and the step lr·2e4 = 2e41 overflows float32 in the epoch's only update; the loss
    # of that epoch (before the update) is still finite.
    model = nn.Linear(1, 1, rng=0)
    start = model.state_dict()
    with pytest.raises(descent.TrainingDiverged,
                       match=r"epoch 1, batch 1: the weights became NaN or infinite with "
                             r"learning rate 1e\+37.*start of epoch 1"):
        descent.train(model, [[10.0]], [1000.0], loss="mse", optimizer="sgd", lr=1e37,
                      epochs=3)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, start[name], err_msg=name)


class _ScaledLoss:
    """mse times a factor that a callback sets for each epoch: a loss whose course the
    test decides (the untrained network's loss is measured with the factor 1)."""

    def __init__(self, factors):
        self.factors, self.factor = factors, 1.0

    def __call__(self, output, target):
        return descent.losses.mse(output, target) * self.factor

    def callback(self):
        scaled = self

        class SetFactor(Callback):
            def on_epoch_begin(self, epoch):
                scaled.factor = scaled.factors[epoch - 1]

        return SetFactor()


def _scaled_run(factors, target):
    # a zero network: its mse is target², and a learning rate of 1e-300 keeps it so
    loss = _ScaledLoss(factors)
    model = nn.Linear(1, 1, init="zeros", dtype="float64")
    history = descent.train(model, [[1.0]], [target], loss=loss, lr=1e-300,
                            epochs=len(factors), callbacks=[loss.callback()])
    return history, model


def test_a_loss_that_rises_less_than_ten_thousandfold_and_falls_again_is_not_divergence():
    history, _ = _scaled_run([1, 100, 9_000, 10, 1], target=10.0)  # untrained mse 100
    assert history["loss"] == pytest.approx([100, 1e4, 9e5, 1e3, 100], rel=1e-9)
    assert history.stop_reason == "reached the maximum of 5 epochs"


def test_a_loss_past_ten_thousand_times_its_start_is_divergence():
    with pytest.raises(descent.TrainingDiverged,
                       match=r"epoch 3, batch 1: the epoch's mean loss reached 1\.1e\+06, "
                             r"more than 10000 times the untrained network's 100 with") as info:
        _scaled_run([1, 100, 11_000, 1], target=10.0)
    assert info.value.history["loss"] == pytest.approx([100, 1e4], rel=1e-9)


def test_a_loss_that_starts_near_zero_may_grow_until_it_passes_ten_thousand():
    # untrained mse (1e-4)² = 1e-8: growing 1e5-fold to 1e-3 is not divergence, and
    # neither is 1e4 (the floor: 10^4 × 1); 2e4 is
    history, _ = _scaled_run([1, 1e5, 1e12], target=1e-4)
    assert history["loss"] == pytest.approx([1e-8, 1e-3, 1e4], rel=1e-9)
    with pytest.raises(descent.TrainingDiverged,
                       match=r"epoch 3, batch 1: the epoch's mean loss reached 2e\+04, more "
                             r"than 10000 times the untrained network's 1e-08 \(counted as 1\)"):
        _scaled_run([1, 1e5, 2e12], target=1e-4)


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.3), ("sgd", 3.0), ("rmsprop", 0.1),
                                           ("adagrad", 1.0)])
def test_high_but_workable_learning_rates_train_to_the_end(optimizer, lr):
    X, y = descent.datasets.moons(200, seed=0)
    model = nn.MLP([2, 16, 2], rng=0)
    history = descent.train(model, X, y, loss="cross_entropy", optimizer=optimizer, lr=lr,
                            batch_size=16, epochs=30, seed=0)
    assert history.stop_reason == "reached the maximum of 30 epochs"
    assert history.last["loss"] < history["loss"][0]


@pytest.mark.parametrize("stop, message", [
    ("x", r"stop must be a Criterion from descent.stopping \(such as "
          r"EarlyStopping\(patience=10\)\) or a list of them, got the str 'x'"),
    (5, r"stop must be a Criterion .* got the int 5"),
    ([descent.stopping.MaxTime(5), "patience"], r"stop\[1\] is the str 'patience', not a "
                                                r"Criterion from descent.stopping"),
    (descent.stopping.EarlyStopping, r"got the class EarlyStopping itself \(pass an "
                                     r"instance: EarlyStopping\(...\)\)"),
])
def test_stop_that_is_not_a_criterion_is_a_type_error_naming_it(stop, message):
    X, y = truth_table("and")
    model = nn.Linear(2, 1, rng=0)
    before = model.weight.data.copy()
    with pytest.raises(descent.DescentTypeError, match=message):
        descent.train(model, X, y, epochs=3, stop=stop)
    np.testing.assert_array_equal(model.weight.data, before)


@pytest.mark.parametrize("callbacks, message", [
    ("progress", r"callbacks must be a Callback \(a subclass of "
                 r"descent.callbacks.Callback\) or a list of them, got the str 'progress'"),
    ([_BatchLosses(), print], r"callbacks\[1\] is the builtin_function_or_method "
                              r"<built-in function print>, not a Callback"),
])
def test_callbacks_that_are_not_callbacks_are_a_type_error_naming_them(callbacks, message):
    X, y = truth_table("and")
    with pytest.raises(descent.DescentTypeError, match=message):
        descent.train(nn.Linear(2, 1), X, y, epochs=3, callbacks=callbacks)


def test_one_criterion_or_callback_needs_no_list():
    X, y = truth_table("and")
    recorder = _BatchLosses()
    history = descent.train(nn.Linear(2, 1, rng=0), X, y, epochs=50, callbacks=recorder,
                            stop=descent.stopping.LossPlateau(tol=1.0, patience=2))
    assert len(history) == 3 and len(recorder.values) == 3
    assert history.stop_reason == "loss improved by less than 1 for 2 epochs"


def test_callbacks_are_called_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, history):
            events.append("begin")

        def on_epoch_begin(self, epoch):
            events.append(f"epoch {epoch}")

        def on_batch_end(self, epoch, batch, loss):
            events.append("batch")

        def on_epoch_end(self, record):
            events.append(f"end {record['epoch']}")

        def on_train_end(self, history):
            events.append("done")

    X, y = truth_table("and")
    descent.train(nn.Linear(2, 1), X, y, epochs=2, batch_size=2, shuffle=False,
                  callbacks=[Recorder()])
    assert events == ["begin", "epoch 1", "batch", "batch", "end 1", "epoch 2", "batch",
                      "batch", "end 2", "done"]


def test_progress_bar_writes_to_its_stream(capsys):
    X, y = truth_table("or")
    descent.train(nn.Linear(2, 1), X, y, epochs=3, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_lbfgs_full_batch_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    model = nn.MLP([2, 16, 1], activation="tanh", dtype="float64", rng=0)
    history = descent.train(model, X, y, loss="mse", optimizer="lbfgs", lr=1.0, epochs=10)
    assert history.last["loss"] < history["loss"][0] / 20


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(batch_size=100), "larger than the 4 training examples"),
    (dict(loss="hinge"), "unknown loss 'hinge'.*cross_entropy"),
    (dict(optimizer="adamm"), "unknown optimizer 'adamm'.*adam"),
    (dict(lr=0.0), r"lr must be in \(0"),
    (dict(validation="half"), "validation must be a fraction"),
])
def test_bad_arguments(kwargs, message):
    X, y = truth_table("and")
    with pytest.raises(descent.DescentError, match=message):
        descent.train(nn.Linear(2, 1), X, y, **kwargs)


def test_bad_data():
    with pytest.raises(descent.ShapeError, match="4 rows but y has 3"):
        descent.train(nn.Linear(2, 1), np.ones((4, 2)), np.ones(3))
    with pytest.raises(descent.DescentValueError, match="NaN"):
        descent.train(nn.Linear(2, 1), [[1.0, np.nan]], [1.0])
    with pytest.raises(descent.DescentValueError, match="labels must lie in 0..1"):
        descent.train(nn.MLP([2, 2]), np.ones((3, 2)), [0, 1, 2], loss="cross_entropy")
    with pytest.raises(descent.DescentTypeError, match="regression targets must be numbers"):
        descent.train(nn.Linear(2, 1), np.ones((2, 2)), ["a", "b"], loss="mse")
    with pytest.raises(descent.DescentValueError, match="labels 0 and 1"):
        descent.train(nn.Linear(2, 1), np.ones((3, 2)), [0, 1, 2], loss="bce")


def test_lr_with_an_optimiser_instance_is_an_error():
    X, y = truth_table("and")
    model = nn.Linear(2, 1)
    with pytest.raises(descent.DescentValueError, match="lr= is for an optimizer given by"):
        descent.train(model, X, y, optimizer=descent.optim.SGD(model.parameters(), lr=0.1),
                      lr=5.0)


def test_unrecorded_monitor_fails_before_any_training():
    X, y = truth_table("and")
    model = nn.Linear(2, 1, rng=0)
    before = model.weight.data.copy()
    with pytest.raises(descent.DescentValueError, match="needs validation data"):
        descent.train(model, X, y, epochs=3, stop=descent.stopping.EarlyStopping())
    np.testing.assert_array_equal(model.weight.data, before)


def test_weight_change_and_gradient_norms_are_exact_for_arrays_larger_than_a_block(monkeypatch):
    monkeypatch.setattr(sys.modules["descent.training.loop"], "_NORM_BLOCK", 7)
    X = np.random.default_rng(2).normal(size=(30, 4))
    model = descent.nn.MLP([4, 9, 1], rng=2)
    start = [p.data.astype(np.float64) for p in model.parameters()]
    history = descent.train(model, X, X.sum(axis=1), loss="mse", epochs=1, lr=0.05)
    change = np.sqrt(sum(np.sum((p.data - s) ** 2) for p, s in zip(model.parameters(), start)))
    assert history.last["weight_change"] == pytest.approx(change, rel=1e-6)
    # one batch per epoch: the epoch's mean gradient norm is that batch's (float32 dot)
    assert history.last["grad_norm"]["0.weight"] == pytest.approx(
        np.linalg.norm(model[0].weight.grad.astype(np.float64)), rel=1e-6)


def _spiral_run(**kwargs):
    X, y = spirals(60, n_classes=3, noise=0.1, seed=3)
    model = nn.MLP([2, 12, 3], rng=4)
    history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.02,
                            batch_size=7, epochs=4, seed=1, **kwargs)
    return history, model


def test_epoch_metrics_are_the_same_when_added_up_in_chunks(monkeypatch):
    whole, _ = _spiral_run()
    monkeypatch.setattr(sys.modules["descent.training.loop"], "_TOTALS_ELEMENTS", 5)
    chunked, _ = _spiral_run()
    assert chunked["accuracy"] == whole["accuracy"]
    assert chunked["loss"] == whole["loss"]
    # a count of whole examples out of 60
    assert whole.last["accuracy"] * 60 == pytest.approx(round(whole.last["accuracy"] * 60))


def test_regression_metrics_are_the_same_when_added_up_in_chunks(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([X.sum(axis=1), X[:, 0] - X[:, 2]])

    def run():
        model = nn.Linear(3, 2, rng=0)
        return descent.train(model, X, Y, loss="mse", optimizer="sgd", lr=0.05,
                             batch_size=6, epochs=3, seed=0)

    whole = run()
    monkeypatch.setattr(sys.modules["descent.training.loop"], "_TOTALS_ELEMENTS", 4)
    chunked = run()
    assert chunked["mse"] == pytest.approx(whole["mse"], rel=1e-12)
    assert chunked["mae"] == pytest.approx(whole["mae"], rel=1e-12)
    # the epoch's mse is its batch losses' mean, weighted by batch size (float32 sums)
    assert whole.last["mse"] == pytest.approx(whole.last["loss"], rel=1e-6)


def test_diagnostics_off_records_none_of_them_and_trains_the_same():
    on, model_on = _spiral_run()
    off, model_off = _spiral_run(diagnostics=False)
    assert off["loss"] == on["loss"] and off["accuracy"] == on["accuracy"]
    for key, value in model_on.state_dict().items():
        np.testing.assert_array_equal(model_off.state_dict()[key], value)
    assert {"weight_change", "grad_norm", "dead_fraction"} <= set(on.last)
    assert not {"weight_change", "grad_norm", "dead_fraction"} & set(off.last)


def test_diagnostics_off_still_records_the_weight_change_a_criterion_needs():
    on, _ = _spiral_run(stop=descent.stopping.WeightChange(tol=1e-9))
    off, _ = _spiral_run(stop=descent.stopping.WeightChange(tol=1e-9), diagnostics=False)
    assert off["weight_change"] == on["weight_change"]
    assert all(change > 0 for change in off["weight_change"])
    assert "grad_norm" not in off.last


@pytest.mark.parametrize("output, loss, scores_loss", [
    ("softmax", "cross_entropy", "cross_entropy"),
    ("softmax", "nll", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy", "binary_cross_entropy_with_logits"),
    ("sigmoid", "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits"),
])
def test_a_network_ending_in_probabilities_trains_as_the_same_network_on_scores(
        output, loss, scores_loss):
    """The loss sees the network's probabilities: training the taught network (ending in
    softmax or sigmoid) is training the same weights with the loss on the logits."""
    X, y = blobs(90, centers=3 if output == "softmax" else 2, seed=3)
    outputs = 3 if output == "softmax" else 1
    with_output = nn.MLP([2, 8, outputs], activation="tanh", output=output, rng=1)
    on_scores = nn.MLP([2, 8, outputs], activation="tanh", rng=1)
    runs = [descent.train(net, X, y, loss=chosen, optimizer="adam", lr=0.05, epochs=15,
                          batch_size=16, seed=0, validation=0.2)
            for net, chosen in ((with_output, loss), (on_scores, scores_loss))]
    untimed = [[{k: v for k, v in record.items() if k != "time"} for record in run.records]
               for run in runs]
    assert untimed[0] == untimed[1]
    assert runs[0].last["accuracy"] > 0.6
    for a, b in zip(with_output.parameters(), on_scores.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_squared_error_on_class_labels_uses_one_hot_rows_and_records_accuracy():
    X, y = blobs(120, centers=3, seed=0)
    model = nn.MLP([2, 16, 3], activation="tanh", output="softmax", rng=0)
    history = descent.train(model, X, y, loss="mse", task="multiclass", optimizer="adam",
                            lr=0.05, epochs=30, seed=0, validation=(X, y))
    with descent.no_grad():
        p = model(X).data
    one_hot = np.eye(3)[y]
    assert history.last["val_loss"] == pytest.approx(np.mean((p - one_hot) ** 2), rel=1e-5)
    assert history.last["val_accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))
    assert history.last["val_accuracy"] > 0.9


def test_gradient_norms_are_the_mean_over_the_epochs_batches():
    # y = Xw + b from w = (0, 0), b = 0, mse, sgd with lr 0.1, batches of 2 in order.
    # Batch 1, rows (1, 0) and (0, 1), targets 1 and 2: outputs 0, 0, errors (-1, -2);
    # dL/dout = 2·error / 2 = (-1, -2), so grad w = Xᵀ(-1, -2) = (-1, -2), |grad w| = √5,
    # grad b = -3, |grad b| = 3. The update: w = (0.1, 0.2), b = 0.3.
    # Batch 2, rows (1, 1) and (2, 1), targets 3 and 4: outputs 0.6 and 0.7, errors
    # (-2.4, -3.3) = dL/dout; grad w = (-2.4 - 6.6, -2.4 - 3.3) = (-9, -5.7),
    # |grad w| = √113.49, grad b = -5.7.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    model = nn.Linear(2, 1, dtype="float64", init="zeros")
    history = descent.train(model, X, y, loss="mse", optimizer="sgd", lr=0.1, batch_size=2,
                            shuffle=False, epochs=1)
    np.testing.assert_allclose(model.weight.data[:, 0], [0.1 + 0.9, 0.2 + 0.57])
    norms = history.last["grad_norm"]
    assert norms["weight"] == pytest.approx((np.sqrt(5) + np.sqrt(113.49)) / 2, rel=1e-12)
    assert norms["bias"] == pytest.approx((3 + 5.7) / 2, rel=1e-12)
    # not the last batch's alone
    assert norms["weight"] != pytest.approx(np.sqrt(113.49))


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Linear(2, 3, rng=0), nn.Step(), nn.Linear(3, 1, rng=0)),
    lambda: nn.MLP([2, 3, 1], activation="step", rng=0),
])
def test_training_through_a_step_unit_warns_once(build):
    X, y = truth_table("and")
    model = build()
    first = model[0].weight.data.copy()
    with pytest.warns(UserWarning, match=r"step activation \(layer '1'\): its derivative is "
                      r"0 almost everywhere.*layers below it never learn") as caught:
        descent.train(model, X, y, loss="mse", optimizer="sgd", lr=0.5, epochs=5)
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller of train
    np.testing.assert_array_equal(model[0].weight.data, first)  # it did not learn


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "binary_cross_entropy_with_logits"])
def test_a_weight_of_two_counts_an_example_twice(loss):
    """Each batch's loss is Σ w_i ℓ_i / Σ w_i: in batch descent, weighting the first
    example 2 trains exactly as that example given twice (to rounding)."""
    X, y = descent.datasets.truth_table("xor")
    if loss == "mse":
        y = y.astype(float)
    width = 2 if loss == "cross_entropy" else 1

    def run(X, y, weights=None):
        net = nn.MLP([2, 3, width], activation="tanh", rng=0, dtype="float64")
        history = descent.train(net, X, y, loss=loss, lr=0.3, epochs=5, shuffle=False,
                                sample_weight=weights, progress=False)
        return history, net

    weighted, net = run(X, y, np.array([2.0, 1.0, 1.0, 1.0]))
    repeated, twin = run(np.vstack([X[:1], X]), np.concatenate([y[:1], y]))
    assert weighted.engine == "graph" and "sample weights" in weighted.engine_reason
    np.testing.assert_allclose(weighted["loss"], repeated["loss"], rtol=1e-12)
    for p, q in zip(net.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)
