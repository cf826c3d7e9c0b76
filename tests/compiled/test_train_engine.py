"""``descent.train(..., engine=...)``: "compiled" runs whole epochs in the Numba kernel,
"graph" the reference engine, "auto" (the default) the compiled one where it can. The two
give the same history — every record, the stopping criteria's decisions, checkpoints
and resuming — and the history says which engine ran and why."""

import contextlib
import inspect

import numpy as np
import pytest

import descent
import descent.compiled
from descent import nn

from tests.compiled import combos

pytestmark = pytest.mark.skipif(not descent.compiled.AVAILABLE, reason="numba is not installed")

# The record keys compared (all but the wall-clock time).
COMPARED = ("loss", "accuracy", "error_rate", "mse", "mae", "r2", "val_loss",
            "val_accuracy", "val_error_rate", "val_mse", "val_mae", "val_r2", "lr",
            "weight_change", "dead_fraction")


def _train(case, engine, epochs=2, **options):
    activation, (loss, output), optimizer, batch, dtype, dropout = case
    model, _, X, y, _ = combos.build(case)
    opt = combos.make_optimizer(optimizer, model)
    warns = pytest.warns(UserWarning, match="step activation") if activation == "step" \
        else contextlib.nullcontext()
    with warns:
        try:
            history = descent.train(model, X, y, loss=loss, optimizer=opt, batch_size=batch,
                                    epochs=epochs, seed=3, progress=False, engine=engine,
                                    **options)
        except descent.TrainingDiverged as stopped:
            history = stopped
    return history, model, opt


def assert_same_history(graph, compiled, **tol):
    assert len(graph.records) == len(compiled.records)
    assert graph.stop_reason == compiled.stop_reason
    assert graph.best_epoch == compiled.best_epoch
    for ours, theirs in zip(graph.records, compiled.records):
        assert ours.keys() == theirs.keys()
        assert ours["epoch"] == theirs["epoch"]
        for key in COMPARED:
            if ours.get(key) is not None:
                np.testing.assert_allclose(theirs[key], ours[key], err_msg=key, **tol)
        for name, norm in ours.get("grad_norm", {}).items():
            np.testing.assert_allclose(theirs["grad_norm"][name], norm, rtol=1e-5,
                                       atol=1e-6)


@pytest.mark.parametrize("case", [c for i, c in enumerate(combos.grid()) if i % 7 == 0],
                         ids=combos.label)
def test_compiled_engine_gives_the_graph_engines_history(case):
    graph, model, graph_opt = _train(case, "graph")
    compiled, twin, compiled_opt = _train(case, "compiled")
    if isinstance(graph, descent.TrainingDiverged):
        assert str(compiled) == str(graph)
        return
    _, _, optimizer, batch, dtype, _ = case
    tol = combos.tolerances(dtype, combos.steps_of(batch, 2), optimizer)
    assert_same_history(graph, compiled, **tol)
    combos.assert_same_parameters(model, twin, **tol)
    combos.assert_same_state(graph_opt, compiled_opt, **tol)
    assert (graph.engine, compiled.engine) == ("graph", "compiled")


def test_auto_takes_the_compiled_engine_where_it_can_and_says_why_not():
    X, y = descent.datasets.truth_table("xor")
    net = nn.MLP([2, 4, 2], activation="tanh", rng=0)
    history = descent.train(net, X, y, loss="cross_entropy", lr=0.5, epochs=3, seed=0,
                            progress=False)
    assert history.engine == "compiled" and "2-4-2" in history.engine_reason
    lbfgs = descent.train(nn.MLP([2, 4, 2], rng=0), X, y, loss="cross_entropy",
                          optimizer="lbfgs", epochs=2, progress=False)
    assert lbfgs.engine == "graph" and "LBFGS" in lbfgs.engine_reason
    own = descent.train(nn.MLP([2, 4, 1], rng=0), X, y, epochs=2, progress=False,
                        loss=lambda p, t: ((p - t) ** 2).mean())
    assert own.engine == "graph" and "built-in losses" in own.engine_reason
    asked = descent.train(nn.MLP([2, 4, 2], rng=0), X, y, loss="cross_entropy", epochs=2,
                          engine="graph", progress=False)
    assert asked.engine == "graph"


def test_engine_compiled_on_what_it_cannot_run_is_an_error_that_says_why():
    X, y = descent.datasets.truth_table("xor")
    with pytest.raises(descent.DescentValueError, match="LBFGS"):
        descent.train(nn.MLP([2, 4, 2], rng=0), X, y, loss="cross_entropy",
                      optimizer="lbfgs", epochs=2, engine="compiled", progress=False)
    with pytest.raises(descent.DescentValueError, match="engine must be one of"):
        descent.train(nn.MLP([2, 4, 2], rng=0), X, y, engine="fast", progress=False)


def test_stopping_criteria_validation_and_a_schedule_decide_alike():
    X, y = descent.datasets.spirals(120, n_classes=3, noise=0.1, seed=0)

    class Schedule(descent.callbacks.Callback):
        def __init__(self, optimizer):
            self.schedule = descent.schedules.StepLR(optimizer, step_size=3, gamma=0.5)

        def on_epoch_end(self, record):
            self.schedule.step()

    def run(engine):
        net = nn.MLP([2, 16, 3], activation="relu", rng=0, dtype="float64")
        optimizer = descent.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
        history = descent.train(
            net, X, y, loss="cross_entropy", optimizer=optimizer, batch_size=16, epochs=40,
            seed=0, validation=0.25, engine=engine, callbacks=[Schedule(optimizer)],
            stop=[descent.stopping.EarlyStopping(patience=4),
                  descent.stopping.LossPlateau(tol=1e-3, patience=5)], progress=False)
        return history, net

    (graph, model), (compiled, twin) = run("graph"), run("compiled")
    assert compiled.engine == "compiled"
    assert_same_history(graph, compiled, rtol=1e-12, atol=1e-12)
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)  # restored best


def test_a_resumed_compiled_run_equals_an_uninterrupted_one_bit_for_bit(tmp_path):
    X, y = descent.datasets.spirals(90, n_classes=3, noise=0.1, seed=1)

    def run(epochs, checkpoint=None, resume=False):
        net = nn.MLP([2, 12, 3], activation="tanh", dropout=0.2, rng=0)
        history = descent.train(net, X, y, loss="cross_entropy", optimizer="adam", lr=0.01,
                                batch_size=8, epochs=epochs, seed=2, checkpoint=checkpoint,
                                resume=resume, engine="compiled", progress=False)
        return history, net

    whole, net = run(6)
    path = tmp_path / "run.ckpt"
    run(3, path)
    resumed, again = run(6, path, resume=True)
    assert resumed.engine == "compiled"
    assert resumed["loss"] == whole["loss"]
    for p, q in zip(net.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("scale, loss, lr, batch, problem", [
    (30, "poisson", 3.0, 4, "the loss became inf"),  # the model keeps the last finite
    (3, "mse", 1.5, None, "the epoch's mean loss reached"),  # back to the epoch's start
])
def test_divergence_is_reported_as_the_graph_engine_reports_it(scale, loss, lr, batch,
                                                                problem):
    X, y = descent.datasets.spirals(60, n_classes=2, noise=0.1, seed=0)

    def run(engine):
        net = nn.MLP([2, 8, 1], activation="identity", rng=0, dtype="float64")
        with pytest.raises(descent.TrainingDiverged) as stopped:
            descent.train(net, X * scale, y.astype(float), loss=loss, lr=lr,
                          batch_size=batch, epochs=20, seed=0, engine=engine,
                          progress=False)
        return stopped.value, net

    (graph, model), (compiled, twin) = run("graph"), run("compiled")
    assert problem in str(graph)
    assert str(compiled) == str(graph)
    assert (compiled.epoch, compiled.batch) == (graph.epoch, graph.batch)
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)


def test_explain_stays_on_the_graph_engine():
    assert "engine" not in inspect.signature(descent.explain).parameters
