"""The compiled path against the reference: every supported combination of activation,
loss, optimiser and batch mode, trained by ``EpochRunner`` and by the graph engine
(``descent.train``) from the same weights, on the same row order, gives the same numbers:
float64 to 1e-12, float32 to a few units in the last place per update — the weights, the
optimiser's state, and every number of each epoch's record."""

import contextlib

import numpy as np
import pytest

import descent
from descent.compiled import EpochRunner, epoch_order

from tests.compiled import combos

pytestmark = pytest.mark.skipif(not descent.compiled.AVAILABLE, reason="numba is not installed")

EPOCHS = 2
SEED = 3


def train_both(case, epochs=EPOCHS, seed=SEED):
    """The graph engine's history, the runner's results, both models and optimisers.

    Where the graph engine's training diverges (a loss that overflows: poisson through
    identity layers, say), the runner must stop at the same batch of the same epoch; the
    history then holds the epochs before it."""
    activation, (loss, output), optimizer, batch, dtype, dropout = case
    model, twin, X, y, prepared = combos.build(case)
    graph_optimizer = combos.make_optimizer(optimizer, model)
    warns = pytest.warns(UserWarning, match="step activation") if activation == "step" \
        else contextlib.nullcontext()
    try:
        with warns:
            history = descent.train(model, X, y, loss=loss, optimizer=graph_optimizer,
                                    batch_size=batch, epochs=epochs, seed=seed,
                                    progress=False)
        diverged = None
    except descent.TrainingDiverged as stopped:
        history, diverged = stopped.history, (stopped.epoch, stopped.batch)
    compiled_optimizer = combos.make_optimizer(optimizer, twin)
    runner = EpochRunner(twin, X, prepared, loss, compiled_optimizer, batch)
    rng = np.random.default_rng(seed)  # train() shuffles with default_rng(seed)
    results = []
    for epoch in range(1, epochs + 1):
        result = runner.run_epoch(epoch_order(len(X), batch, True, rng))
        if result.failed_batch is not None:
            assert (epoch, result.failed_batch + 1) == diverged
            return history, results, (model, graph_optimizer), (twin, compiled_optimizer)
        results.append(result)
    assert diverged is None, f"the graph engine diverged at {diverged}, the runner did not"
    return history, results, (model, graph_optimizer), (twin, compiled_optimizer)


def assert_same_records(history, results, width, dtype, **tol):
    """Each epoch's loss, metrics and gradient norms, as the loop would record them."""
    # the graph engine takes each gradient norm as a dot product in the parameters'
    # dtype, the kernel in float64: float32 norms agree to float32's precision
    norm_tol = tol if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for record, result in zip(history.records, results):
        np.testing.assert_allclose(result.loss, record["loss"], **tol)
        if "accuracy" in record:
            assert result.correct / result.count == record["accuracy"]
        else:
            np.testing.assert_allclose(result.squared / (result.count * width),
                                       record["mse"], **tol)
            np.testing.assert_allclose(result.absolute / (result.count * width),
                                       record["mae"], **tol)
        assert result.grad_norms.keys() == record["grad_norm"].keys()
        for name, norm in record["grad_norm"].items():
            np.testing.assert_allclose(result.grad_norms[name], norm, **norm_tol)


@pytest.mark.parametrize("case", list(combos.grid()), ids=combos.label)
def test_runner_equals_graph_engine(case):
    history, results, (model, graph_optimizer), (twin, compiled_optimizer) = \
        train_both(case)
    _, (loss, _), optimizer, batch, dtype, _ = case
    tol = combos.tolerances(dtype, combos.steps_of(batch, EPOCHS), optimizer)
    combos.assert_same_parameters(model, twin, **tol)
    combos.assert_same_state(graph_optimizer, compiled_optimizer, **tol)
    width = 1 if loss.startswith("binary") else 3
    assert_same_records(history, results, width, dtype, **tol)
    assert [r.batches for r in results] == [combos.steps_of(batch, 1)] * len(results)


@pytest.mark.parametrize("dtype", combos.DTYPES)
@pytest.mark.parametrize("batch", combos.BATCHES)
@pytest.mark.parametrize("optimizer", range(len(combos.OPTIMIZERS)))
def test_every_optimiser_in_every_batch_mode_and_dtype(optimizer, batch, dtype):
    case = ("tanh", ("cross_entropy", "softmax"), optimizer, batch, dtype, 0.0)
    history, results, (model, graph_optimizer), (twin, compiled_optimizer) = \
        train_both(case, epochs=3)
    tol = combos.tolerances(dtype, combos.steps_of(batch, 3), optimizer)
    combos.assert_same_parameters(model, twin, **tol)
    combos.assert_same_state(graph_optimizer, compiled_optimizer, **tol)
    assert_same_records(history, results, 3, dtype, **tol)


def test_float64_agrees_to_1e12_over_many_epochs():
    """Not only over two epochs: 40 epochs of mini-batch Adam on a ReLU network."""
    case = ("relu", ("cross_entropy", None), 6, 3, "float64", 0.0)
    history, results, (model, _), (twin, _) = train_both(case, epochs=40)
    combos.assert_same_parameters(model, twin, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([r.loss for r in results], history["loss"], rtol=1e-12)


def test_frozen_parameters_and_a_layer_without_bias():
    """A frozen first layer (and a Linear without bias) is left alone by both engines;
    the layers above it still learn the same."""
    def build():
        descent.manual_seed(0)
        net = descent.nn.Sequential(descent.nn.Linear(3, 4, rng=0), descent.nn.Tanh(),
                                    descent.nn.Linear(4, 2, bias=False, rng=1))
        net[0].weight.requires_grad = False
        return net

    X, y, prepared = combos.data("cross_entropy", 2)
    model, twin = build(), build()
    frozen = twin[0].weight.data.copy()
    history = descent.train(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.01,
                            batch_size=4, epochs=2, seed=1, progress=False)
    runner = EpochRunner(twin, X.astype(np.float32), prepared, "cross_entropy",
                         descent.optim.Adam(twin.parameters(), lr=0.01), 4)
    rng = np.random.default_rng(1)
    results = [runner.run_epoch(epoch_order(len(X), 4, True, rng)) for _ in range(2)]
    np.testing.assert_array_equal(twin[0].weight.data, frozen)
    combos.assert_same_parameters(model, twin, rtol=1e-5, atol=1e-6)
    assert results[-1].grad_norms.keys() == history.last["grad_norm"].keys()


@pytest.mark.parametrize("dtype", combos.DTYPES)
def test_plain_sgd_without_diagnostics_folds_its_steps_into_blas(dtype):
    """Plain SGD with no gradient norms asked for steps inside the backward pass, the
    weight step folded into BLAS's product (layers large enough for BLAS, as here): the
    same numbers, but for BLAS's rounding of its last multiply and add."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 40)).astype(dtype)
    y = rng.integers(0, 5, 100)
    model = descent.nn.MLP([40, 64, 32, 5], activation="relu", dtype=dtype, rng=0)
    twin = combos.copy.deepcopy(model)
    history = descent.train(model, X, y, loss="cross_entropy", optimizer="sgd", lr=0.05,
                            batch_size=32, epochs=3, seed=0, diagnostics=False,
                            progress=False)
    runner = EpochRunner(twin, X, y, "cross_entropy",
                         descent.optim.SGD(twin.parameters(), lr=0.05), 32,
                         diagnostics=False)
    rng = np.random.default_rng(0)
    results = [runner.run_epoch(epoch_order(len(X), 32, True, rng)) for _ in range(3)]
    tol = combos.tolerances(dtype, 12)
    combos.assert_same_parameters(model, twin, **tol)
    np.testing.assert_allclose([r.loss for r in results], history["loss"], **tol)
    for p, q in zip(model.parameters(), twin.parameters()):  # the last batch's gradient
        np.testing.assert_allclose(q.grad, p.grad, **tol)
