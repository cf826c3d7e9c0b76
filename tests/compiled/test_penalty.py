"""A ``Penalized`` loss (scikit-learn's alpha, the playground's L1/L2) on the compiled
path: the same history, weights and optimiser state as the graph engine's, for every
elementwise optimiser, batch mode and dtype; and the estimators take the compiled path."""

import functools
import itertools
import warnings

import numpy as np
import pytest

import descent
import descent.compiled
import descent.sklearn as estimators
from descent import nn
from descent.training.loop import train

from tests.compiled import combos
from tests.compiled.test_train_engine import assert_same_history

pytestmark = pytest.mark.skipif(not descent.compiled.AVAILABLE, reason="numba is not installed")

# (rates, what is penalised): the weights, or every parameter with one frozen
PENALTIES = [
    (dict(l2=0.05), "weights"),
    (dict(l1=0.01), "weights"),
    (dict(l2=0.03, l1=0.005), "weights"),
    (dict(l2=0.5, per_example=True), "weights"),
    (dict(l2=0.05, l1=0.01), "all, one frozen"),
]
LOSSES = [("cross_entropy", "softmax"), ("mse", None)]
CASES = list(itertools.product(range(len(PENALTIES)), LOSSES, range(len(combos.OPTIMIZERS)),
                               combos.BATCHES))


def _run(case, engine):
    penalty, (loss, output), optimizer, batch = case
    rates, which = PENALTIES[penalty]
    dtype = combos.DTYPES[(penalty + optimizer) % 2]
    net = nn.MLP([combos.FEATURES, 5, 3], activation=["tanh", "relu"][optimizer % 2],
                 output=output, dtype=dtype, rng=0)
    if which == "weights":
        penalised = [p for name, p in net.named_parameters() if name.endswith("weight")]
    else:
        net[0].bias.requires_grad = False
        penalised = list(net.parameters())
    X, y, _ = combos.data("cross_entropy", 3)  # class labels (one-hot rows for mse)
    opt = combos.make_optimizer(optimizer, net)
    history = descent.train(net, X.astype(dtype), y, loss=descent.losses.Penalized(
        loss, penalised, **rates), optimizer=opt, batch_size=batch, epochs=2, seed=1,
        task="multiclass" if loss == "mse" else None, classes=[0, 1, 2], engine=engine,
        progress=False)
    return history, net, opt, dtype


@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
def test_a_penalized_loss_trains_alike_on_both_engines(case):
    graph, model, graph_opt, dtype = _run(case, "graph")
    compiled, twin, compiled_opt, _ = _run(case, "compiled")
    assert (graph.engine, compiled.engine) == ("graph", "compiled")
    assert "penalty" in compiled.engine_reason
    tol = combos.tolerances(dtype, combos.steps_of(case[3], 2), case[2])
    assert_same_history(graph, compiled, **tol)
    combos.assert_same_parameters(model, twin, **tol)
    combos.assert_same_state(graph_opt, compiled_opt, **tol)


def test_a_penalty_outside_the_network_is_refused_and_unsupported():
    X, y = descent.datasets.truth_table("xor")
    net = nn.MLP([2, 4, 2], rng=0)
    other = descent.tensor(np.ones(3), requires_grad=True)
    loss = descent.losses.Penalized("cross_entropy", [net[0].weight, other], l2=0.1)
    with pytest.raises(descent.DescentValueError, match=r"parameters\[1\], which is not"):
        descent.train(net, X, y, loss=loss, epochs=2, progress=False)
    ok, why = descent.compiled.supports(net, loss, descent.optim.SGD(net.parameters(), lr=0.1))
    assert not ok and "other than the network's" in why
    with pytest.raises(descent.DescentTypeError, match="not on plain arrays"):
        descent.losses.Penalized("mse", [np.ones(3)], l2=0.1)


def test_a_shared_layer_and_an_instance_callback_keep_the_graph_engine():
    shared = nn.Linear(4, 4, rng=0)
    net = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), shared, nn.Tanh(), shared,
                        nn.Tanh(), nn.Linear(4, 2, rng=0))
    ok, why = descent.compiled.supports(net, "cross_entropy",
                                        descent.optim.SGD(net.parameters(), lr=0.1))
    assert not ok and "more than once" in why
    counted = []
    watcher = descent.callbacks.Callback()
    watcher.on_batch_end = lambda epoch, batch, loss: counted.append(batch)
    X, y = descent.datasets.truth_table("xor")
    history = descent.train(nn.MLP([2, 4, 2], rng=0), X, y, loss="cross_entropy",
                            batch_size=2, epochs=2, callbacks=[watcher], progress=False)
    assert history.engine == "graph" and counted == [0, 1, 0, 1]


@pytest.mark.parametrize("options", [{}, dict(solver="sgd", momentum=0.5),
                                     dict(solver="sgd", learning_rate="invscaling"),
                                     dict(early_stopping=True)], ids=str)
def test_the_estimators_take_the_compiled_path_with_the_graph_engines_numbers(
        options, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)

    def fit(engine):
        monkeypatch.setattr(estimators, "train", functools.partial(train, engine=engine))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (ConvergenceWarning after 8 iterations)
            return estimators.MLPClassifier((7,), max_iter=8, random_state=0,
                                            **options).fit(X, y)

    graph, compiled = fit("graph"), fit("compiled")
    automatic = estimators.MLPClassifier((7,), max_iter=1, random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automatic.fit(X, y)
    assert automatic.engine_ == "compiled" and "L2 penalty" in automatic.engine_reason_
    np.testing.assert_allclose(compiled.loss_curve_, graph.loss_curve_, rtol=1e-12)
    for ours, theirs in zip(graph.coefs_ + graph.intercepts_,
                            compiled.coefs_ + compiled.intercepts_):
        np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-12)


def test_resuming_with_other_penalty_settings_is_refused(tmp_path):
    X, y = descent.datasets.truth_table("xor")

    def run(epochs, **rates):
        net = nn.MLP([2, 4, 2], rng=0)
        loss = descent.losses.Penalized("cross_entropy", [net[0].weight], **rates)
        return descent.train(net, X, y, loss=loss, epochs=epochs, seed=0, progress=False,
                             checkpoint=tmp_path / "run.ckpt", resume=True)

    run(2, l2=1e-3)
    assert len(run(4, l2=1e-3)) == 4
    with pytest.raises(descent.CheckpointError, match="l2 0.001, this run asks for 0.5"):
        run(6, l2=0.5)
