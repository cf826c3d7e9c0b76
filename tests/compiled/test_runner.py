"""``EpochRunner`` and ``supports``: what the compiled path takes and refuses (and says
why), the row order, the state it leaves behind (so that checkpoints, resuming and a
later graph-engine epoch work unchanged), divergence, dropout's random numbers, and the
metrics of every task."""

import copy

import numpy as np
import pytest

import descent
from descent import nn
from descent.compiled import EpochRunner, epoch_order, supports
from descent.compiled import jit, runner as runner_module
from descent.data.preprocessing import batches

from tests.compiled import combos

pytestmark = pytest.mark.skipif(not descent.compiled.AVAILABLE, reason="numba is not installed")


def _net(dtype="float32", **options):
    return nn.MLP([3, 5, 2], activation="tanh", dtype=dtype, rng=0, **options)


def _data(dtype="float32", rows=11):
    rng = np.random.default_rng(0)
    return rng.standard_normal((rows, 3)).astype(dtype), rng.integers(0, 2, rows)


# ----------------------------------------------------------------------------- supports
class _Watcher(descent.callbacks.Callback):
    def on_batch_end(self, epoch, batch, loss):
        pass


class _Quiet(descent.callbacks.Callback):
    def on_epoch_end(self, record):
        pass


def test_supports_says_what_runs():
    net = _net()
    ok, why = supports(net, "cross_entropy", descent.optim.Adam(net.parameters()))
    assert ok and "3-5-2" in why and "cross_entropy" in why and "Adam" in why
    assert supports(net, "mse", descent.optim.SGD(net.parameters(), lr=0.1),
                    callbacks=[_Quiet()])[0]


@pytest.mark.parametrize("change, reason", [
    (dict(loss=lambda p, t: descent.losses.mse(p, t)), "not one of the built-in losses"),
    (dict(optimizer="lbfgs"), "not one of SGD"),
    (dict(optimizer="subset"), "exactly the model's parameters"),
    (dict(sample_weight=np.ones(11)), "sample weights"),
    (dict(callbacks=[_Watcher()]), "_Watcher watches every batch"),
    (dict(model=nn.Sequential(nn.Linear(3, 4), nn.Softmax(), nn.Linear(4, 2))),
     "softmax is compiled only over the classes"),
    (dict(model=nn.Sequential(nn.Sequential(nn.Linear(3, 2)))), "not a Linear, Dropout"),
    (dict(model=nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.ReLU())),
     "does not directly follow a Linear"),
    (dict(model=nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))),
     "dropout on the network's output"),
    (dict(model=nn.MLP([3, 2], output="sigmoid", rng=0)), "cross_entropy on a sigmoid output"),
    (dict(model=nn.MLP([3, 2], output="softmax", rng=0), loss="binary_cross_entropy"),
     "on a softmax output"),
    (dict(y=np.array([0, 1, 2] * 3 + [0, 1])), "labels outside 0..1"),
    (dict(y=np.eye(2)[np.arange(11) % 2]), "probability targets"),
    (dict(loss="poisson", y=-np.ones((11, 2))), "negative targets"),
    (dict(model=nn.Sequential(nn.Linear(3, 4, dtype="float64"), nn.Linear(4, 2))),
     "more than one float type"),
    (dict(model=nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 2, dtype="float64"))),
     "dropout on the inputs of a float64 network"),
])
def test_supports_refuses_what_the_kernels_do_not_have_and_says_why(change, reason):
    model = change.get("model", _net())
    optimizer = {"lbfgs": descent.optim.LBFGS(model.parameters()),
                 "subset": descent.optim.SGD(list(model.parameters())[:1], lr=0.1)}.get(
        change.get("optimizer"), descent.optim.SGD(model.parameters(), lr=0.1))
    y = change.get("y", np.arange(11) % 2)
    ok, why = supports(model, change.get("loss", "cross_entropy"), optimizer, y,
                       sample_weight=change.get("sample_weight"),
                       callbacks=change.get("callbacks", ()))
    assert not ok and reason in why, why
    with pytest.raises(descent.DescentValueError, match="the compiled engine cannot"):
        if "sample_weight" not in change and "callbacks" not in change:
            EpochRunner(model, _data()[0], y,
                        change.get("loss", "cross_entropy"), optimizer)
        else:
            raise descent.DescentValueError("the compiled engine cannot (checked above)")


def test_without_numba_nothing_is_supported(monkeypatch):
    monkeypatch.setattr(jit, "AVAILABLE", False)
    net = _net()
    ok, why = supports(net, "mse", descent.optim.SGD(net.parameters(), lr=0.1))
    assert not ok and "pip install 'descent[fast]'" in why


def test_x_must_be_a_matrix_of_numbers():
    net = _net("float64")
    with pytest.raises(descent.DescentValueError, match="2-D array of numbers"):
        EpochRunner(net, _data("float32")[0][0], _data()[1], "cross_entropy",
                    descent.optim.SGD(net.parameters(), lr=0.1))


# ----------------------------------------------------------------------------- order
@pytest.mark.parametrize("n, batch_size, shuffle", [(11, None, True), (11, 11, True),
                                                    (11, 20, True), (11, 3, True),
                                                    (11, 1, True), (11, 3, False)])
def test_epoch_order_is_the_order_batches_walks(n, batch_size, shuffle):
    one, two = np.random.default_rng(5), np.random.default_rng(5)
    walked = np.concatenate(list(batches(n, batch_size, shuffle, one)))
    np.testing.assert_array_equal(epoch_order(n, batch_size, shuffle, two), walked)
    assert one.bit_generator.state == two.bit_generator.state  # the same draws


# ----------------------------------------------------------------------------- state
def _pair(optimizer="Adam", **options):
    """A model, its twin, an optimiser for each and a runner for the twin."""
    X, y = _data()
    model = _net(**options)
    twin = copy.deepcopy(model)
    make = {"Adam": lambda m: descent.optim.Adam(m.parameters(), lr=0.01),
            "SGD": lambda m: descent.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)}[optimizer]
    ours, theirs = make(model), make(twin)
    return X, y, model, ours, twin, theirs, EpochRunner(twin, X, y, "cross_entropy", theirs, 4)


def test_the_optimiser_state_and_gradients_are_left_as_the_graph_engine_leaves_them():
    X, y, model, ours, twin, theirs, runner = _pair()
    descent.train(model, X, y, loss="cross_entropy", optimizer=ours, batch_size=4,
                  epochs=2, seed=0, progress=False)
    rng = np.random.default_rng(0)
    for _ in range(2):
        runner.run_epoch(epoch_order(len(X), 4, True, rng))
    combos.assert_same_state(ours, theirs, **combos.tolerances("float32", 6, 6))
    assert theirs.state[0]["step"] == 6
    for p, q in zip(model.parameters(), twin.parameters()):  # the last batch's gradient
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-5, atol=1e-6)
    held = theirs.state[0]["exp_avg"]
    runner.run_epoch(epoch_order(len(X), 4, True, rng))
    assert theirs.state[0]["exp_avg"] is held  # views of the runner's state, kept current
    assert not np.shares_memory(twin[0].weight.data, runner.theta)  # the model's own array


def test_a_graph_engine_epoch_continues_a_compiled_one():
    """Engines can take turns: the state each leaves is what the other reads."""
    X, y, model, ours, twin, theirs, runner = _pair("SGD")
    descent.train(model, X, y, loss="cross_entropy", optimizer=ours, batch_size=4,
                  epochs=3, seed=0, progress=False)
    rng = np.random.default_rng(0)
    for _ in range(2):
        runner.run_epoch(epoch_order(len(X), 4, True, rng))
    graph = descent.train(twin, X, y, loss="cross_entropy", optimizer=theirs, batch_size=4,
                          epochs=1, seed=rng, progress=False)
    assert graph.last["epoch"] == 1
    combos.assert_same_parameters(model, twin, **combos.tolerances("float32", 9))
    combos.assert_same_state(ours, theirs, **combos.tolerances("float32", 9))


def test_a_resumed_run_equals_an_uninterrupted_one_bit_for_bit():
    """Stop after one epoch, keep what a checkpoint keeps (weights, optimiser state,
    generators), build everything afresh from it, go on: the same bits as going on."""
    X, y = _data()

    def start():
        net = _net(dropout=0.3)
        optimizer = descent.optim.Adam(net.parameters(), lr=0.01)
        return net, optimizer, EpochRunner(net, X, y, "cross_entropy", optimizer, 4)

    net, optimizer, runner = start()
    rng = np.random.default_rng(7)
    whole = [runner.run_epoch(epoch_order(len(X), 4, True, rng)).loss for _ in range(3)]

    first, first_opt, first_runner = start()
    rng = np.random.default_rng(7)
    first_runner.run_epoch(epoch_order(len(X), 4, True, rng))
    saved = (first.state_dict(), first_opt.state_dict(), rng.bit_generator.state,
             [m.rng.bit_generator.state for m in first if isinstance(m, nn.Dropout)])

    again, again_opt, _ = start()
    again.load_state_dict(saved[0])
    again_opt.load_state_dict(saved[1])
    rng = np.random.default_rng()
    rng.bit_generator.state = saved[2]
    for module, state in zip((m for m in again if isinstance(m, nn.Dropout)), saved[3]):
        module.rng.bit_generator.state = state
    again_runner = EpochRunner(again, X, y, "cross_entropy", again_opt, 4)
    rest = [again_runner.run_epoch(epoch_order(len(X), 4, True, rng)).loss
            for _ in range(2)]
    assert rest == whole[1:]
    for p, q in zip(net.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    for a, b in zip(optimizer.state, again_opt.state):
        np.testing.assert_array_equal(a["exp_avg_sq"], b["exp_avg_sq"])
        assert a["step"] == b["step"] == 9


def test_run_epochs_equals_epoch_after_epoch():
    X, y, _, _, twin, _, runner = _pair()
    _, _, _, _, other, _, other_runner = _pair()
    orders = [epoch_order(len(X), 4, True, np.random.default_rng(e)) for e in range(3)]
    losses = runner.run_epochs(orders)
    assert list(losses) == [other_runner.run_epoch(o).loss for o in orders]
    for p, q in zip(twin.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_in_order_batches_read_the_rows_in_place_with_the_same_numbers():
    """shuffle=False: the batches are slices of X, read where they lie (no gather)."""
    X, y, model, ours, twin, _, runner = _pair()
    descent.train(model, X, y, loss="cross_entropy", optimizer=ours, batch_size=4,
                  epochs=2, shuffle=False, progress=False)
    for _ in range(2):
        runner.run_epoch(epoch_order(len(X), 4, shuffle=False))
    assert runner._xbuf is None
    combos.assert_same_parameters(model, twin, **combos.tolerances("float32", 6, 6))


def test_without_diagnostics_no_norms_and_the_same_weights():
    X, y, _, _, twin, theirs, _ = _pair()
    _, _, _, _, other, other_opt, with_norms = _pair()
    quiet = EpochRunner(twin, X, y, "cross_entropy", theirs, 4, diagnostics=False)
    order = epoch_order(len(X), 4, True, np.random.default_rng(0))
    assert quiet.run_epoch(order).grad_norms == {}
    assert set(with_norms.run_epoch(order).grad_norms) == {"0.weight", "0.bias",
                                                            "2.weight", "2.bias"}
    for p, q in zip(twin.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


# ----------------------------------------------------------------------------- dropout
def test_dropout_from_the_global_generator_draws_what_the_graph_engine_draws():
    X, y = _data("float32")
    model = nn.Sequential(nn.Dropout(0.2), nn.Linear(3, 6, rng=0), nn.ReLU(),
                          nn.Dropout(0.4), nn.Linear(6, 2, rng=1))
    twin = copy.deepcopy(model)
    descent.manual_seed(11)
    descent.train(model, X, y, loss="cross_entropy", optimizer="sgd", lr=0.1, batch_size=3,
                  epochs=2, seed=4, progress=False)
    after = descent.autograd.backend.default_rng().bit_generator.state
    descent.manual_seed(11)
    runner = EpochRunner(twin, X, y, "cross_entropy",
                         descent.optim.SGD(twin.parameters(), lr=0.1), 3)
    rng = np.random.default_rng(4)
    for _ in range(2):
        runner.run_epoch(epoch_order(len(X), 3, True, rng))
    assert descent.autograd.backend.default_rng().bit_generator.state == after
    combos.assert_same_parameters(model, twin, **combos.tolerances("float32", 8))


def test_dropout_numbers_are_drawn_in_pieces_for_long_epochs(monkeypatch):
    """An epoch whose dropout numbers do not fit the buffer runs in several kernel calls,
    with the same numbers."""
    X, y = _data("float64", rows=40)
    model = _net("float64", dropout=0.5)
    twin = copy.deepcopy(model)
    order = epoch_order(len(X), 2, True, np.random.default_rng(0))
    whole = EpochRunner(model, X, y, "cross_entropy",
                        descent.optim.SGD(model.parameters(), lr=0.1), 2).run_epoch(order)
    monkeypatch.setattr(runner_module, "_UNIFORMS_PER_CALL", 25)
    pieces = EpochRunner(twin, X, y, "cross_entropy",
                         descent.optim.SGD(twin.parameters(), lr=0.1), 2)
    assert pieces._rows_per_call == 4
    assert pieces.run_epoch(order).loss == whole.loss
    combos.assert_same_parameters(model, twin, rtol=0, atol=0)


# ----------------------------------------------------------------------------- divergence
def test_a_loss_that_overflows_stops_before_its_update_where_the_graph_engine_stops():
    X, y = _data("float64")
    model = nn.MLP([3, 4, 2], activation="identity", dtype="float64", rng=0)
    twin = copy.deepcopy(model)
    with pytest.raises(descent.TrainingDiverged) as stopped:
        descent.train(model, X * 10, np.abs(X[:, :2]), loss="poisson", optimizer="sgd",
                      lr=5.0, batch_size=2, epochs=5, seed=0, progress=False)
    runner = EpochRunner(twin, X * 10, np.abs(X[:, :2]), "poisson",
                         descent.optim.SGD(twin.parameters(), lr=5.0), 2)
    rng = np.random.default_rng(0)
    for epoch in range(1, 6):
        result = runner.run_epoch(epoch_order(len(X), 2, True, rng))
        if result.failed_batch is not None:
            break
    assert (epoch, result.failed_batch + 1) == (stopped.value.epoch, stopped.value.batch)
    assert not np.isfinite(result.failed_value) and result.batches == result.failed_batch
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)


def test_the_first_batch_over_the_limit_is_reported():
    X, y, _, _, _, _, runner = _pair()
    order = epoch_order(len(X), 4, True, np.random.default_rng(0))
    assert runner.run_epoch(order, limit=0.0).first_over == 0
    assert runner.run_epoch(order).first_over is None


def test_bce_on_outputs_outside_0_1_is_the_graph_engines_error_after_the_same_batches():
    X, y = _data("float64")
    model = nn.MLP([3, 4, 1], activation="tanh", dtype="float64", rng=0)
    for p in model.parameters():
        p.data *= 0.1
    model[-1].bias.data[...] = 0.5  # probabilities at first, then no longer
    twin = copy.deepcopy(model)
    with pytest.raises(descent.DescentValueError) as graph:
        descent.train(model, X, y, loss="binary_cross_entropy", optimizer="sgd", lr=20.0,
                      batch_size=3, epochs=5, seed=0, progress=False)
    runner = EpochRunner(twin, X, y.reshape(-1, 1).astype(float), "binary_cross_entropy",
                         descent.optim.SGD(twin.parameters(), lr=20.0), 3)
    rng = np.random.default_rng(0)
    with pytest.raises(descent.DescentValueError) as compiled:
        for _ in range(5):
            runner.run_epoch(epoch_order(len(X), 3, True, rng))
    assert str(compiled.value) == str(graph.value)
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)


def test_bce_on_probabilities_in_range_trains_as_the_graph_engine():
    X, y = _data("float64")
    model = nn.MLP([3, 4, 1], activation="tanh", dtype="float64", rng=0)
    for p in model.parameters():
        p.data *= 0.1
    model[-1].bias.data[...] = 0.5
    twin = copy.deepcopy(model)
    history = descent.train(model, X, y, loss="binary_cross_entropy", optimizer="sgd",
                            lr=0.1, batch_size=3, epochs=2, seed=0, progress=False)
    runner = EpochRunner(twin, X, y.reshape(-1, 1).astype(float), "binary_cross_entropy",
                         descent.optim.SGD(twin.parameters(), lr=0.1), 3)
    rng = np.random.default_rng(0)
    results = [runner.run_epoch(epoch_order(len(X), 3, True, rng)) for _ in range(2)]
    np.testing.assert_allclose([r.loss for r in results], history["loss"], rtol=1e-12)
    assert [r.correct / r.count for r in results] == history["accuracy"]
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- metrics
def test_accuracy_of_one_hot_targets_and_of_multilabel_logits():
    X, labels = _data("float64")
    # mse on a softmax output: train() makes the labels one-hot rows
    model = nn.MLP([3, 4, 2], activation="relu", output="softmax", dtype="float64", rng=0)
    twin = copy.deepcopy(model)
    history = descent.train(model, X, labels, loss="mse", optimizer="adam", lr=0.05,
                            batch_size=3, epochs=3, seed=0, task="multiclass",
                            progress=False)
    runner = EpochRunner(twin, X, np.eye(2)[labels], "mse",
                         descent.optim.Adam(twin.parameters(), lr=0.05), 3, task="multiclass")
    rng = np.random.default_rng(0)
    results = [runner.run_epoch(epoch_order(len(X), 3, True, rng)) for _ in range(3)]
    assert [r.correct / r.count for r in results] == history["accuracy"]
    # multi-label: an indicator matrix, logits, every label of a row right
    indicators = (X[:, :2] > 0).astype(float)
    model = nn.MLP([3, 4, 2], activation="tanh", dtype="float64", rng=0)
    twin = copy.deepcopy(model)
    history = descent.train(model, X, indicators, loss="binary_cross_entropy_with_logits",
                            optimizer="adam", lr=0.05, batch_size=3, epochs=3, seed=0,
                            task="multilabel", progress=False)
    runner = EpochRunner(twin, X, indicators, "binary_cross_entropy_with_logits",
                         descent.optim.Adam(twin.parameters(), lr=0.05), 3,
                         task="multilabel", logits=True)
    rng = np.random.default_rng(0)
    results = [runner.run_epoch(epoch_order(len(X), 3, True, rng)) for _ in range(3)]
    assert [r.correct / r.count for r in results] == history["accuracy"]
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)
