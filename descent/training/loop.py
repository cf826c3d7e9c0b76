"""The training loop: forward pass, loss, backward pass, update — repeated until a
stopping criterion is met (seeds 000–004).

``batch_size=None`` is batch gradient descent (all examples per update), ``1`` is
stochastic gradient descent, ``k`` is mini-batch gradient descent. Every update uses the
mean gradient over its batch, because the losses average over examples.

Training that diverges stops with ``TrainingDiverged``, naming the epoch, the batch and
the learning rate: a batch whose loss is NaN or infinite (the model keeps its last finite
weights); an epoch whose mean loss exceeds 10⁴ times the untrained network's loss and
10⁴ itself (a loss that starts near 0 may grow a lot and still be small); or weights
that became NaN or infinite. In the last two cases the model gets back the weights it
had when that epoch began.
"""

import contextlib
import functools
import inspect
import math
import time
import warnings
from typing import NamedTuple

import numpy as np

from descent import compiled
from descent import losses as losses_module
from descent.losses.penalty import Penalized
from descent.autograd.backend import as_rng
from descent.training.callbacks import Callback, ProgressBar, progress_wanted
from descent.training.checkpoint import (CheckpointError, Checkpointing, describe_run,
                                         describe_seed)
from descent.data.encoding import Moments
from descent.data.preprocessing import as_features, batches, encode_labels, split_indices
from descent.data.streaming import Dataset
from descent.errors import DescentTypeError, DescentValueError, ShapeError
from descent.training.history import History
from descent.training.metrics import r2_score
from descent.nn.activations import Step
from descent.nn.inspect import dead_unit_fractions, output_activation
from descent.nn.layers import Linear, Sequential
from descent.nn.module import Module
from descent.optim.optimizers import LBFGS, get_optimizer
from descent.training.stopping import Criterion, MaxEpochs, TrainingDiverged, WeightChange
from descent.autograd.tensor import no_grad

# losses that compare outputs with targets of the same shape: class labels become
# one-hot rows for them
_SAME_SHAPE_LOSSES = (losses_module.mse, losses_module.sse, losses_module.mae)
_CLASSIFICATION_LOSSES = {losses_module.cross_entropy: "multiclass",
                          losses_module.nll_loss: "multiclass",
                          losses_module.binary_cross_entropy: "binary"}
# Rows the per-epoch dead-unit check and the untrained network's loss look at: spread
# evenly over the training data (so that data sorted by class is sampled from every
# class), few enough that they cost a small share of an epoch even on small data sets.
_SAMPLE_ROWS = 256
# Divergence that stays finite: an epoch's mean loss more than _GROWTH times the
# untrained network's (and than _GROWTH × _LOSS_FLOOR). Ordinary training, even at a high
# learning rate, stays within a few times its start; ten-thousandfold is no longer
# training. The floor keeps a loss that starts near 0 (1e-8, a regression already close
# to its targets) free to grow to, say, 1e-3.
_GROWTH = 1e4
_LOSS_FLOOR = 1.0
_NORM_BLOCK = 65_536  # elements squared in float64 at a time
_EVALUATION_ROWS = 4_096  # rows of a dataset's validation part in one forward pass
_TOTALS_ELEMENTS = 4_096  # batch results buffered before the epoch's sums take them in


TASKS = ("regression", "multiclass", "binary", "binary_logits", "multilabel")
ENGINES = ("auto", "compiled", "graph")


def infer_task(loss_fn):
    """The task a loss function implies: ``"multiclass"``, ``"binary"`` (probability
    outputs), ``"binary_logits"`` (logit outputs) or ``"regression"``; a ``Penalized``
    loss's is its data loss's."""
    loss_fn = data_loss(loss_fn)
    if loss_fn is losses_module.binary_cross_entropy_with_logits:
        return "binary_logits"
    return _CLASSIFICATION_LOSSES.get(loss_fn, "regression")


def data_loss(loss_fn):
    """The loss that compares outputs with targets: a ``Penalized`` loss's own."""
    return loss_fn.loss if isinstance(loss_fn, Penalized) else loss_fn


class Targets:
    """Training targets in the form the loss wants, and how to read predictions back.

    ``one_hot`` gives multi-class targets as one-hot rows of ``one_hot`` columns (for a
    loss that compares outputs with targets of their own shape, such as squared error on
    a softmax output) instead of class codes.
    """

    def __init__(self, y, task, classes=None, one_hot=None, sample_weight=None,
                 logits=None):
        self.logits = task in ("binary_logits", "multilabel") if logits is None else logits
        task = "binary" if task == "binary_logits" else task
        self.task, self.one_hot = task, one_hot
        y = np.asarray(y)
        self.weights = _sample_weights(sample_weight, len(y))
        self.classes = None
        if task not in ("multilabel", "regression"):
            _, self.classes = _class_codes(y, classes)
        self.values = self.encode(y)

    def encode(self, y):
        """Targets ``y`` (all of them, or a batch of a ``Dataset``'s) in the form the loss
        wants: numbers as float64 columns, class labels as codes (``self.classes``'
        order), one-hot rows or a 0/1 column."""
        y = np.asarray(y)
        if self.task == "multilabel":
            values = y.reshape(len(y), -1).astype(np.float64)
            if not np.all((values == 0) | (values == 1)):
                raise DescentValueError("multilabel targets must be an indicator matrix of "
                                        "0s and 1s, one column per label")
            return values
        if self.task == "regression":
            if y.dtype == object or y.dtype.kind not in "biuf":
                raise DescentTypeError(
                    f"regression targets must be numbers, got dtype {y.dtype}; for class "
                    "labels use a classification loss such as 'cross_entropy'"
                )
            values = y.reshape(len(y), -1).astype(np.float64)
            if not np.all(np.isfinite(values)):
                raise DescentValueError("y has NaN or infinite values; drop or fill them")
            return values
        codes, _ = _class_codes(y, self.classes)
        if self.task == "binary":
            if codes.size and codes.max() > 1:
                raise DescentValueError(
                    f"binary cross-entropy needs labels 0 and 1 (or two class names), y has "
                    f"{np.unique(codes).tolist()[:10]}; use loss='cross_entropy' for more "
                    "classes"
                )
            return codes.reshape(-1, 1).astype(np.float64)
        if self.one_hot:
            if codes.size and codes.max() >= self.one_hot:
                raise DescentValueError(f"class labels must lie in 0..{self.one_hot - 1} for "
                                        f"{self.one_hot} outputs; got {codes.max()}")
            return np.eye(self.one_hot)[codes]
        return codes

    def subset(self, index):
        return self.values if index is None else self.values.take(index, axis=0)

    def weight_subset(self, index):
        """The sample weights of the rows ``index`` (None without weights)."""
        if self.weights is None or index is None:
            return self.weights
        return self.weights.take(index)

    def correct(self, output, target):
        """Per example, whether the network's outputs (scores, probabilities or logits)
        pick the class of ``target`` (a subset of ``values``)."""
        if self.task == "multiclass":
            truth = target.argmax(axis=-1) if target.ndim == output.ndim else target
            return output.argmax(axis=-1) == truth
        threshold = 0.0 if self.logits else 0.5
        hits = (output.reshape(target.shape) > threshold) == (target > 0.5)
        return hits.all(axis=1) if self.task == "multilabel" else hits  # every label right


def _sample_weights(sample_weight, rows):
    """Sample weights as float64 (rows,), checked: finite, >= 0, not all 0; or None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (rows,):
        raise ShapeError(f"sample_weight has shape {weights.shape}; it needs one weight per "
                         f"example, shape ({rows},)")
    if rows and not (np.all(np.isfinite(weights)) and weights.min() >= 0
                     and weights.sum() > 0):
        raise DescentValueError("sample_weight must be finite numbers >= 0, not all 0")
    return weights


def _class_codes(y, classes):
    """Integer labels are class indices as they are (a label of 7 means output unit 7);
    other labels (strings, …) are numbered in sorted order. Returns (codes, classes)."""
    if classes is None and y.dtype.kind in "biuf":
        if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            raise DescentValueError("class labels must be whole numbers or names; got "
                                    f"values like {y[np.mod(y, 1) != 0][0]!r}")
        codes = y.astype(np.intp).reshape(-1)
        if codes.size and codes.min() < 0:
            raise DescentValueError(f"class labels must be >= 0, got {codes.min()}")
        return codes, None
    return encode_labels(y, classes)


def _output_width(model):
    """The number of outputs of a network that ends in dense layers (for one-hot
    targets), from its last ``Linear``."""
    widths = [m.out_features for m in model.modules() if isinstance(m, Linear)]
    if not widths:
        raise DescentValueError("one-hot class targets need the number of classes: pass "
                                "classes=[...] or a network with Linear layers")
    return widths[-1]


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DescentValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _prepare_validation(validation, X, y, task, seed, weights=None):
    """Return ``(X_train, y_train, X_val, y_val, training weights)`` from a fraction or
    explicit data."""
    if validation is None:
        return X, y, None, None, weights
    if isinstance(validation, float):
        labels = y if task not in ("regression", "multilabel") else None
        keep, held = split_indices(len(X), validation, labels, as_rng(seed))
        return (X[keep], y[keep], X[held], y[held],
                None if weights is None else weights[keep])
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        X_val = as_features(validation[0], "validation X")
        if X_val.shape[1] != X.shape[1]:
            raise ShapeError(f"validation X has {X_val.shape[1]} columns, X has {X.shape[1]}")
        return X, y, X_val, np.asarray(validation[1]), weights
    raise DescentValueError(
        "validation must be a fraction such as 0.2 or a pair (X_val, y_val), "
        f"got {type(validation).__name__}"
    )


class _EpochTotals:
    """Running sums over an epoch's batches, turned into the epoch's training metrics.

    Each batch leaves its predicted labels (classification) or errors (regression) in
    a buffer, and the buffer is added up once it holds ``_TOTALS_ELEMENTS`` values: a
    few NumPy calls per chunk of batches instead of per batch.
    """

    def __init__(self, targets):
        self.targets = targets
        self.regression = targets.task == "regression"
        self.count = self.loss = self.correct = self.squared = self.absolute = 0.0
        self._pending, self._elements = [], 0

    def add(self, loss_value, output, target, size):
        self.count += size
        self.loss += loss_value * size
        if self.regression:
            self._pending.append(output.reshape(target.shape) - target)
        else:
            self._pending.append(self.targets.correct(output, target))
        self._elements += target.size
        if self._elements >= _TOTALS_ELEMENTS:
            self._add_pending()

    def take(self, result):
        """The sums of an epoch the compiled engine trained (an ``EpochResult``)."""
        self.count, self.loss = result.count, result.loss_sum
        self.correct, self.squared, self.absolute = (result.correct, result.squared,
                                                     result.absolute)

    def _add_pending(self):
        if not self._pending:
            return
        if self.regression:
            error = np.concatenate([e.reshape(-1) for e in self._pending])
            self.squared += float(np.dot(error, error))
            self.absolute += float(np.add.reduce(np.abs(error)))
        else:
            self.correct += int(np.count_nonzero(np.concatenate(self._pending, axis=None)))
        self._pending, self._elements = [], 0

    def metrics(self, total_sum_of_squares):
        self._add_pending()
        record = {"loss": self.loss / self.count}
        if self.targets.task == "regression":
            width = self.targets.values.shape[1]
            record["mse"] = self.squared / (self.count * width)
            record["mae"] = self.absolute / (self.count * width)
            record["r2"] = (1.0 - self.squared / total_sum_of_squares
                            if total_sum_of_squares > 0 else 0.0)
        else:
            record["accuracy"] = self.correct / self.count
            record["error_rate"] = 1.0 - record["accuracy"]
        return record


def _evaluate(model, X, target_values, loss_fn):
    """The loss of ``model`` on ``X`` and its outputs, in evaluation mode, without a graph."""
    was_training = model.training
    model.eval()
    with no_grad():
        output = model(X)
        loss = loss_fn(output, target_values).item()
    model.train(was_training)
    return loss, output.data


def evaluate_model(model, X, targets, loss_fn, prefix=""):
    """Loss and metrics of ``model`` on ``X`` (in evaluation mode, no graph)."""
    loss, out = _evaluate(model, X, targets.values, loss_fn)
    record = {f"{prefix}loss": loss}
    if targets.task == "regression":
        error = out.reshape(targets.values.shape) - targets.values
        record[f"{prefix}mse"] = float(np.mean(error * error))
        record[f"{prefix}mae"] = float(np.mean(np.abs(error)))
        record[f"{prefix}r2"] = r2_score(targets.values, out.reshape(targets.values.shape))
    else:
        record[f"{prefix}accuracy"] = float(np.mean(targets.correct(out, targets.values)))
        record[f"{prefix}error_rate"] = 1.0 - record[f"{prefix}accuracy"]
    return record


def train(model, X, y=None, *, loss="mse", optimizer="sgd", lr=None, batch_size=None,
          epochs=100, shuffle=True, seed=None, stop=(), validation=None, callbacks=(),
          progress=None, classes=None, task=None, checkpoint=None, checkpoint_every=1,
          resume=False, diagnostics=True, sample_weight=None, engine="auto"):
    """Train ``model`` on ``(X, y)`` by gradient descent; return the ``History``.

    Parameters
    ----------
    model : Module
        Any descent module (e.g. ``nn.MLP``).
    X : array_like, shape (n_samples, n_features), or Dataset
        Finite numbers; or a ``descent.data.Dataset`` (``ParquetDataset``,
        ``CSVDataset``, ``NpyDataset``) that reads its rows a block at a time, in place
        of ``X`` and ``y``: each epoch takes its batches from ``dataset.batches`` (blocks
        in a random order, rows shuffled within a buffer; the same seed gives the same
        batches), its held-out rows (``dataset.validation``) are the validation data,
        and memory stays within the dataset's budget. On a dataset whose rows all fit
        in its buffer, training equals training on the same rows as arrays with
        ``engine="graph"``, bit for bit (a dataset trains on the graph engine). It needs
        mini-batches (``batch_size``) unless every row fits.
    y : array_like
        Targets: numbers for regression, class labels (integers or strings) for a
        classification loss (``"cross_entropy"``, ``"nll"``: labels 0..k−1 by sorted
        order; ``"binary_cross_entropy"`` and ``"..._with_logits"``: two classes).
        None when ``X`` is a dataset.
    loss : str or callable
        A name from ``descent.losses.LOSSES`` or any ``loss(prediction, target)``
        returning a scalar tensor (averaged over the batch, so updates use the mean
        gradient).
    optimizer : str or Optimizer
        An instance, or a name (``"sgd"``, ``"adam"``, …) created with ``lr``.
    lr : float, optional
        The learning rate for an optimiser given by name (its default otherwise).
    batch_size : int or None
        None: batch gradient descent; 1: stochastic; k: mini-batches of k.
    epochs : int
        The maximum number of passes over the data.
    shuffle : bool
        Reshuffle the examples every epoch (mini-batch and stochastic modes).
    seed : int or numpy.random.Generator, optional
        Source of the shuffling and of the validation split; the same seed (and the
        same initial weights) gives the same history, bit for bit. Dropout layers draw
        from their own ``rng`` (``nn.MLP(..., dropout=p, rng=0)`` gives them one), or
        from descent's global generator (``descent.manual_seed``).
    stop : Criterion or list of Criterion
        Extra stopping criteria (``descent.stopping``); the first that fires wins.
    validation : float or (X_val, y_val) or Dataset, optional
        A fraction of the data to hold out (stratified for classification), or data.
        With a dataset, its own held-out rows by default (give the fraction to the
        dataset: its statistics come from the training rows alone).
    callbacks : Callback or list of Callback
        Subclasses of ``descent.callbacks.Callback``.
    progress : bool or None
        A tqdm progress bar; None shows one when writing to a terminal.
    classes : sequence, optional
        The class labels in order, when ``y`` does not contain every class.
    task : str, optional
        ``"regression"``, ``"multiclass"``, ``"binary"``, ``"binary_logits"`` or
        ``"multilabel"`` (``y`` an indicator matrix of 0/1, one column per label; accuracy
        counts rows with every label right); by default it follows from the loss. Give it
        with a custom loss function for classification, so that labels are encoded and
        accuracy is recorded.
    checkpoint : path, optional
        Write a checkpoint here every ``checkpoint_every`` epochs (default 1) and when
        training stops (atomically: a crash leaves the previous one).
    resume : bool
        Continue from ``checkpoint`` if it exists: weights, optimiser state, random
        generators, history and epoch count, so the result equals an uninterrupted run
        bit for bit. Build the model and optimiser as for the original run: a checkpoint
        records the run that wrote it, and one written by a different run is refused
        with a ``CheckpointError`` naming each difference, before any training. It must
        be the same data (``X``, ``y`` and validation data, by content), loss, task and
        classes, optimiser and hyper-parameters (the starting ``lr`` included; a
        schedule's later rate comes from the checkpoint), ``batch_size``, ``shuffle``,
        ``seed`` (an int, or a Generator in the same state; with None, descent's global
        generator, restored from the checkpoint), ``validation``, model (layers,
        activations, parameter shapes, dtypes, frozen parameters) and the kinds of
        stopping criteria and what they monitor. What may change: ``epochs``, the
        criteria's limits (patience, tolerances, thresholds, time), ``callbacks``,
        ``progress``, ``diagnostics`` and ``checkpoint_every``.
    diagnostics : bool
        Record ``weight_change``, ``grad_norm`` (each parameter's gradient norm, averaged
        over the epoch's batches) and ``dead_fraction`` every epoch (default). ``False``
        skips them and their cost (norms over every parameter after every batch and a
        forward pass on 256 rows per epoch, a few per cent of training a small network);
        ``weight_change`` is still recorded when a ``WeightChange`` criterion needs it.
    sample_weight : array_like, shape (n_samples,), optional
        One weight >= 0 per example: each batch's loss is Σ w_i ℓ_i / Σ w_i over its
        examples (the loss gets ``sample_weight=``; every loss in ``descent.losses``
        takes it). Held-out validation rows are scored unweighted.
    engine : {"auto", "compiled", "graph"}
        Who trains. ``"graph"``: the graph engine, batch by batch (any model, loss and
        optimiser). ``"compiled"``: whole epochs in one Numba kernel
        (``pip install 'descent[fast]'``), for a ``Sequential``/``MLP`` of ``Linear``
        layers with elementwise activations and dropout, a built-in loss (penalised
        or not: ``descent.losses.Penalized``), and SGD, AdaGrad, RMSProp, Adam or
        AdamW, on arrays in memory without sample weights or a callback that watches
        every batch — with the graph engine's numbers (float64
        to about 1e-12, float32 to a few ulps per step); anything else is a
        ``DescentValueError`` saying what. ``"auto"`` (default): the compiled engine
        where it can train the run, else the graph engine. ``history.engine`` and
        ``history.engine_reason`` say which ran and why.

    Returns
    -------
    History
        Per-epoch records; ``history.stop_reason`` says why training ended.

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN or infinite, an epoch's mean loss exceeds 10⁴ times
        the untrained network's (and 10⁴), or the weights become NaN or infinite; see
        ``descent.training.loop``.
    CheckpointError
        When resuming from a damaged checkpoint or one written by a different run.

    Warns
    -----
    UserWarning
        Once per call, when the model has a ``Step`` activation: no gradient passes
        through it (its derivative is 0 almost everywhere), so the layers below it never
        learn.

    Examples
    --------
    >>> import descent
    >>> X, y = descent.datasets.truth_table("xor")
    >>> model = descent.nn.MLP([2, 4, 2], activation="tanh", rng=0)
    >>> history = descent.train(model, X, y, loss="cross_entropy", optimizer="sgd",
    ...                         lr=0.5, epochs=500, seed=0)
    >>> history.last["accuracy"], history.stop_reason
    (1.0, 'reached the maximum of 500 epochs')
    """
    if not isinstance(model, Module):
        raise DescentTypeError(f"model must be a descent Module, got {type(model).__name__}")
    epochs = _check_positive_int("epochs", epochs)
    if engine not in ENGINES:
        raise DescentValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    criteria = [MaxEpochs(epochs),
                *_instances(stop, Criterion, "stop", "a Criterion from descent.stopping "
                            "(such as EarlyStopping(patience=10))")]
    callbacks = _instances(callbacks, Callback, "callbacks",
                           "a Callback (a subclass of descent.callbacks.Callback)")
    _warn_about_step_units(model)
    streamed = isinstance(X, Dataset)
    if streamed:
        _check_dataset_options(X, y, validation, sample_weight, batch_size)
    elif y is None:
        raise DescentTypeError("train(model, X, y) needs the targets y beside X (or a "
                               "Dataset, which holds both, in place of X)")
    else:
        X = as_features(X)
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(X):
            raise ShapeError(f"X has {len(X)} rows but y has "
                             f"{y.size if y.ndim == 0 else len(y)}")
    batch_size = _check_positive_int("batch_size", batch_size, allow_none=True)
    loss_fn, task = loss_and_task(loss, task, model)
    weights = None if streamed else _sample_weights(sample_weight, len(X))
    if weights is not None and not _takes_sample_weight(loss_fn):
        raise DescentTypeError("sample_weight= needs a loss that takes sample_weight= (every "
                               "loss in descent.losses does); this loss function does not")
    seed_described = None if checkpoint is None else describe_seed(seed)  # before any draw
    if streamed:
        dataset = X
        validation = dataset.validation if validation is None else validation
        given = {"dataset": np.frombuffer(dataset.fingerprint().encode(), dtype=np.uint8)}
        X_val = y_val = None
        if isinstance(validation, Dataset):
            given["validation dataset"] = np.frombuffer(validation.fingerprint().encode(),
                                                        dtype=np.uint8)
        elif validation is not None:
            X_val, y_val = as_features(validation[0], "validation X"), np.asarray(validation[1])
            if X_val.shape[1] != dataset.n_features:
                raise ShapeError(f"validation X has {X_val.shape[1]} columns, the dataset "
                                 f"{dataset.n_features}")
        held_out, rows = False, len(dataset)
    else:
        given = {"X": X, "y": y, **({} if weights is None else {"sample_weight": weights})}
        X, y, X_val, y_val, weights = _prepare_validation(validation, X, y, task, seed,
                                                          weights)
        held_out, rows = isinstance(validation, float), len(X)
    # Validation data given is described by its content, and so is a fraction drawn from
    # the global generator (seed=None: it differs from process to process); a fraction
    # held out by a seed follows from the seed and the data.
    by_content = not held_out or seed is None
    given.update({"validation X": X_val if by_content else None,
                  "validation y": y_val if by_content else None})
    if batch_size is not None and batch_size > rows:
        raise DescentValueError(
            f"batch_size {batch_size} is larger than the {rows} training examples; use "
            "batch_size=None for batch gradient descent"
        )
    one_hot = None
    if task == "multiclass" and data_loss(loss_fn) in _SAME_SHAPE_LOSSES:
        one_hot = len(classes) if classes is not None else _output_width(model)
    logits = True if task == "multilabel" and output_activation(model) != "sigmoid" else None
    dtype = model._input_dtype()
    if streamed:
        sample_X, sample_y = dataset.sample()
        targets = Targets(sample_y, task, classes, one_hot, logits=logits)
        feed = _Stream(dataset, targets, dtype, sample_X)
    else:
        targets = Targets(y, task, classes, one_hot, weights, logits=logits)
        feed = _Arrays(X.astype(dtype, copy=False), targets)
    if X_val is not None:
        val_targets = Targets(y_val, task, targets.classes, one_hot, logits=logits)
        checked = _ArrayValidation(X_val.astype(dtype, copy=False), val_targets)
    elif streamed and validation is not None:
        checked = _StreamValidation(validation, targets, dtype)
    else:
        checked = None
    if lr is not None and not isinstance(optimizer, str):
        raise DescentValueError("lr= is for an optimizer given by name; set the learning "
                                "rate on the optimiser instance instead")
    optimizer = get_optimizer(optimizer, model.parameters(),
                              **({} if lr is None else {"lr": lr}))
    _check_monitors(criteria, checked is not None, task)
    if progress_wanted(progress):
        callbacks.append(ProgressBar(epochs))
    checkpointing = None
    if checkpoint is not None:
        described = ("dataset" if isinstance(validation, Dataset) else validation if held_out
                     else None if X_val is None else "data")
        run = describe_run(model, optimizer, criteria, given, {
            "loss": getattr(loss_fn, "__name__", type(loss_fn).__name__), "task": task,
            "classes": None if targets.classes is None else [str(c) for c in targets.classes],
            "batch_size": batch_size, "shuffle": bool(shuffle), "seed": seed_described,
            "validation": described, **_penalty_described(loss_fn, model)})
        checkpointing = Checkpointing(checkpoint, checkpoint_every, resume, run)
    history_classes = targets.classes if targets.classes is not None or not streamed \
        else dataset.classes
    chosen = _choose_engine(engine, model, feed, loss_fn, optimizer, batch_size, callbacks,
                            diagnostics)
    return _run(model, feed, checked, history_classes, loss_fn, optimizer, batch_size,
                shuffle, as_rng(seed), criteria, callbacks, checkpointing, diagnostics,
                chosen)


def loss_and_task(loss, task, model):
    """The loss function (``loss`` by name or as it is, a ``Penalized`` one checked) and
    the task: ``task`` checked, or the one the loss implies; ``"binary_logits"`` on a
    sigmoid output is ``"binary"`` (the loss works from the logits, the outputs are
    probabilities)."""
    loss_fn = losses_module.get_loss(loss)
    _check_penalty(loss_fn, model)
    if task is None:
        task = infer_task(loss_fn)
    elif task not in TASKS:
        raise DescentValueError(f"task must be one of {TASKS}, got {task!r}")
    if task == "binary_logits" and output_activation(model) == "sigmoid":
        task = "binary"
    return loss_fn, task


def _check_penalty(loss_fn, model):
    """A ``Penalized`` loss penalises parameters of the model (a penalty on anything else
    is a constant that trains nothing: a mistake)."""
    if not isinstance(loss_fn, Penalized):
        return
    ours = {id(p) for p in model.parameters()}
    strangers = [index for index, w in enumerate(loss_fn.parameters) if id(w) not in ours]
    if strangers:
        raise DescentValueError(
            f"the Penalized loss penalises parameters[{strangers[0]}], which is not one of "
            "the model's parameters: a penalty on it would be a constant that trains "
            "nothing (build the Penalized loss from this model's parameters)")


def _penalty_described(loss_fn, model):
    """A ``Penalized`` loss's rates and the parameters it penalises (by name), for the
    checkpoint's description of the run; nothing for another loss."""
    if not isinstance(loss_fn, Penalized):
        return {}
    names = {id(p): name for name, p in model.named_parameters()}
    return {"penalty": {"type": "Penalized", "l2": loss_fn.l2, "l1": loss_fn.l1,
                        "per_example": loss_fn.per_example,
                        "parameters": [names[id(w)] for w in loss_fn.parameters]}}


def _check_dataset_options(dataset, y, validation, sample_weight, batch_size):
    """Refuse, before any work, the options a ``Dataset`` does not go with."""
    if y is not None:
        raise DescentTypeError("y comes from the dataset: call train(model, dataset, ...) "
                               "without y")
    if sample_weight is not None:
        raise DescentValueError("sample_weight= is for X and y given as arrays; a dataset "
                                "has no per-row weights")
    if isinstance(validation, float):
        raise DescentValueError(
            "a dataset holds out its own validation rows, and learns its statistics from "
            "the other rows: give the fraction to the dataset (e.g. ParquetDataset(path, "
            f"target, validation={validation})), not to train")
    if validation is not None and not isinstance(validation, Dataset) and not (
            isinstance(validation, (tuple, list)) and len(validation) == 2):
        raise DescentValueError("validation must be a Dataset or a pair (X_val, y_val) when "
                                f"training on a dataset, got {type(validation).__name__}")
    if batch_size is None and not dataset.in_memory:
        raise DescentValueError(
            f"batch gradient descent needs all {len(dataset)} training rows in one batch, "
            "more than the dataset's memory budget holds; use mini-batches (batch_size=32) "
            "or a larger budget (memory=)")


class _Arrays:
    """Training rows in memory: batches by index into X (``descent.data.batches``)."""

    def __init__(self, X, targets):
        self.X, self.targets = X, targets

    def __len__(self):
        return len(self.X)

    def sample(self):
        """Rows spread evenly over the data, for the dead-unit check and the untrained
        loss (data sorted by class is sampled from every class)."""
        rows = np.linspace(0, len(self.X) - 1, min(len(self.X), _SAMPLE_ROWS)).astype(np.intp)
        return self.X.take(rows, axis=0), self.targets.subset(rows)

    def total_sum_of_squares(self):
        if self.targets.task != "regression":
            return 0.0
        centred = self.targets.values - self.targets.values.mean(axis=0)
        return float(np.sum(centred * centred))

    def epoch(self, batch_size, shuffle, rng):
        """``(X, targets, weights)`` of each batch of one epoch."""
        X, targets = self.X, self.targets
        for index in batches(len(X), batch_size, shuffle, rng):
            full = len(index) == len(X) and batch_size is None
            subset = None if full else index
            xb = X if full else X.take(index, axis=0)  # (take: less overhead than X[index])
            yield xb, targets.subset(subset), targets.weight_subset(subset)


class _Stream:
    """Training rows of a ``Dataset``: its batches, their targets encoded as they come."""

    def __init__(self, dataset, targets, dtype, sample_X):
        self.dataset, self.targets, self.dtype = dataset, targets, dtype
        self._sample = (sample_X.astype(dtype), targets.values)

    def __len__(self):
        return len(self.dataset)

    def sample(self):
        return self._sample

    def total_sum_of_squares(self):
        return self.dataset.target_sum_of_squares() if self.targets.task == "regression" \
            else 0.0

    def epoch(self, batch_size, shuffle, rng):
        for xb, yb in self.dataset.batches(batch_size, shuffle, rng, self.dtype):
            yield xb, self.targets.encode(yb), None


class _ArrayValidation:
    def __init__(self, X, targets):
        self.X, self.targets = X, targets

    def evaluate(self, model, loss_fn):
        return evaluate_model(model, self.X, self.targets, loss_fn, prefix="val_")


class _StreamValidation:
    """The metrics of ``evaluate_model`` over a dataset's rows, a block at a time: the
    loss and error sums weighted by rows, R² from the targets' moments."""

    def __init__(self, dataset, targets, dtype):
        self.dataset, self.targets, self.dtype = dataset, targets, dtype

    def evaluate(self, model, loss_fn):
        regression = self.targets.task == "regression"
        count, loss_sum, correct, squared, absolute = 0, 0.0, 0, 0.0, 0.0
        moments = Moments()
        was_training = model.training
        model.eval()
        with no_grad():
            for xb, yb in _pieces(self.dataset.blocks(self.dtype), _EVALUATION_ROWS):
                values = self.targets.encode(yb)
                output = model(xb)
                loss_sum += loss_fn(output, values).item() * len(xb)
                count += len(xb)
                if regression:
                    error = output.data.reshape(values.shape) - values
                    squared = squared + (error * error).sum(axis=0)
                    absolute = absolute + np.abs(error).sum(axis=0)
                    moments.add(values)
                else:
                    correct += int(np.count_nonzero(self.targets.correct(output.data,
                                                                         values)))
        model.train(was_training)
        record = {"val_loss": loss_sum / count}
        if regression:
            record["val_mse"] = float(np.sum(squared)) / (count * len(squared))
            record["val_mae"] = float(np.sum(absolute)) / (count * len(squared))
            record["val_r2"] = r2_from_sums(squared, moments.m2)
        else:
            record["val_accuracy"] = correct / count
            record["val_error_rate"] = 1.0 - record["val_accuracy"]
        return record


def _pieces(blocks, size):
    """The rows of ``blocks`` (``(X, y)`` pairs) in pieces of ``size`` rows, the last
    one smaller: sums over the pieces then depend on the rows alone, not on how a dataset
    happened to cut them into blocks."""
    rest = None
    for X, y in blocks:
        if rest is not None:
            need = size - len(rest[0])
            X_head, y_head = (np.concatenate([rest[0], X[:need]]),
                              np.concatenate([rest[1], y[:need]]))
            if len(X_head) < size:
                rest = (X_head, y_head)
                continue
            yield X_head, y_head
            X, y = X[need:], y[need:]
        whole = len(X) - len(X) % size
        for start in range(0, whole, size):
            yield X[start:start + size], y[start:start + size]
        rest = (X[whole:], y[whole:])
    if rest is not None and len(rest[0]):
        yield rest


def r2_from_sums(ss_res, ss_tot):
    """R² from per-column sums of squared errors and of squared deviations of the
    targets, as ``metrics.r2_score`` computes it on the arrays (averaged over the columns;
    a constant target scores 1 for a perfect fit, else 0)."""
    ss_res, ss_tot = np.atleast_1d(ss_res), np.atleast_1d(ss_tot)
    constant = np.where(ss_res == 0, 1.0, 0.0)
    scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), constant)
    return float(scores.mean())


def end_epoch(epoch, record, run, callbacks, checkpointing):
    """An epoch's record into the history, the callbacks told, the criteria asked whether
    to stop, and the checkpoint written when due. ``run`` is (model, optimizer, rng,
    history, criteria)."""
    model, _, _, history, criteria = run
    history.append(record)
    for callback in callbacks:
        callback.on_epoch_end(record)
    for criterion in criteria:
        reason = criterion.check(record, model)
        if reason is not None:
            history.stop_reason = reason
            history.stopped_by = type(criterion).__name__
            break
    if checkpointing is not None:
        checkpointing.after_epoch(epoch, history.stop_reason is not None, *run)


def begin_epochs(run, callbacks):
    """The callbacks told that training begins and the model in training mode; returns
    the clock's start (earlier by the time a resumed run had already trained). ``run``
    is (model, optimizer, rng, history, criteria)."""
    model, _, _, history, _ = run
    for callback in callbacks:
        callback.on_train_begin(history)
    model.train()
    return time.perf_counter() - history.last.get("time", 0.0)


def end_training(run, callbacks):
    """The criteria and callbacks told that training ended; the history, with the best
    epoch a criterion kept."""
    model, _, _, history, criteria = run
    for criterion in criteria:
        criterion.on_train_end(model)
        history.best_epoch = getattr(criterion, "best_epoch", history.best_epoch)
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def resume(checkpointing, model, optimizer, rng, history, criteria):
    """The epochs a run has done: 0, or those of its checkpoint, whose weights, optimiser
    state, random generator, history and criteria come back. A finished run may be given
    more epochs; a checkpoint past this run's maximum is refused."""
    if checkpointing is None:
        return 0
    epoch = checkpointing.restore(model, optimizer, rng, history, criteria)
    if history.stopped_by == "MaxEpochs":
        history.stop_reason = history.stopped_by = None
    if epoch > criteria[0].epochs:
        raise CheckpointError(
            f"{checkpointing.path}: the checkpoint has trained {epoch} epochs, more than "
            f"this run's maximum of {criteria[0].epochs}; ask for at least {epoch} epochs "
            "to continue it")
    if epoch == criteria[0].epochs:
        history.stop_reason = criteria[0].check({"epoch": epoch}, model)
    return epoch


def _choose_engine(engine, model, feed, loss_fn, optimizer, batch_size, callbacks,
                   diagnostics):
    """``(runner, engine, reason)``: what makes the compiled engine's ``EpochRunner``
    (None for the graph engine; made once the run's other arrays are gone, so that
    they and its buffers are not in memory together), the engine's name and why it
    trains this run."""
    if engine == "graph":
        return None, "graph", "engine='graph' was asked for"
    if isinstance(feed, _Arrays):
        targets = feed.targets
        ok, reason = compiled.supports(model, loss_fn, optimizer, targets.values,
                                       sample_weight=targets.weights, callbacks=callbacks)
    else:
        ok, reason = False, "its rows stream from a dataset"
    if not ok:
        if engine == "compiled":
            def refuse():  # after the untrained loss: bad targets get the graph's words
                raise DescentValueError(f"engine='compiled' cannot train this run: "
                                        f"{reason}; use engine='auto' or 'graph'")
            return refuse, "compiled", reason
        return None, "graph", f"the compiled engine cannot train this run: {reason}"
    runner = functools.partial(compiled.EpochRunner, model, feed.X, targets.values, loss_fn,
                               optimizer, batch_size, task=targets.task,
                               logits=targets.logits, diagnostics=diagnostics)
    return runner, "compiled", reason


def _run(model, feed, validation, classes, loss_fn, optimizer, batch_size, shuffle, rng,
         criteria, callbacks, checkpointing, diagnostics, chosen):
    make_runner, engine, engine_reason = chosen
    history = History()
    history.classes = classes
    history.engine, history.engine_reason = engine, engine_reason
    targets = feed.targets
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    watch_dead = diagnostics and isinstance(model, Sequential)
    watch_change = diagnostics or any(isinstance(c, WeightChange) for c in criteria)
    # rows spread evenly over the data, for the dead-unit check and the untrained loss
    sample, sample_targets = feed.sample()
    total_sum_of_squares = feed.total_sum_of_squares()
    for criterion in criteria:
        criterion.on_train_begin(model)
    # measured before a checkpoint's weights come back: a resumed run has the limit of
    # the run it continues (whose model was built the same way)
    # (NumPy's work between compiled epochs wakes no BLAS threads: descent.compiled.threads)
    between = contextlib.nullcontext if make_runner is None else compiled.numpy_on_one_thread
    with between():
        untrained = _untrained_loss(model, sample, sample_targets, loss_fn)
    limit = _GROWTH * max(untrained, _LOSS_FLOOR)
    if not watch_dead:
        sample = None  # (the dead-unit check is all that needs them again)
    runner = None if make_runner is None else make_runner()
    epoch = resume(checkpointing, model, optimizer, rng, history, criteria)
    run = (model, optimizer, rng, history, criteria)
    start = begin_epochs(run, callbacks)
    context = _Context(model, history, feed, named, loss_fn, optimizer, batch_size, shuffle,
                       rng, limit, untrained, diagnostics, watch_change, callbacks)
    # Overflow may happen quietly: a non-finite loss or weights are caught and reported
    # as TrainingDiverged, with the epoch, batch and learning rate.
    with np.errstate(over="ignore", invalid="ignore"):
        while history.stop_reason is None:
            epoch += 1
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            totals = _EpochTotals(targets)
            if runner is None:
                change, gradient_norms = _graph_epoch(context, epoch, totals)
            else:
                change, gradient_norms = _compiled_epoch(context, epoch, totals, runner)
            record = {"epoch": epoch, **totals.metrics(total_sum_of_squares)}
            if validation is not None:
                with between():
                    record.update(validation.evaluate(model, loss_fn))
            record["lr"] = optimizer.lr
            if watch_change:
                record["weight_change"] = change
            if diagnostics:  # the mean over the epoch's batches, not the last batch's
                record["grad_norm"] = gradient_norms
            if watch_dead:
                with between():
                    fractions = dead_unit_fractions(model, sample)
                record["dead_fraction"] = float(np.mean(list(fractions.values()))) \
                    if fractions else None
            record["time"] = time.perf_counter() - start
            end_epoch(epoch, record, run, callbacks, checkpointing)
    return end_training(run, callbacks)


class _Context(NamedTuple):
    """What every epoch of a run works with."""
    model: Module
    history: History
    feed: object  # _Arrays or _Stream
    named: list  # the trainable parameters, (name, parameter)
    loss_fn: object
    optimizer: object
    batch_size: int
    shuffle: bool
    rng: np.random.Generator
    limit: float  # the divergence limit on a batch's loss
    untrained: float  # the untrained network's loss
    diagnostics: bool
    watch_change: bool
    callbacks: list


def _graph_epoch(context, epoch, totals):
    """One epoch on the graph engine, batch by batch, into ``totals``; returns the
    epoch's weight change (None unless watched) and each parameter's gradient norm
    averaged over the batches (empty without diagnostics). Divergence stops it with
    ``TrainingDiverged``."""
    history, named, optimizer = context.history, context.named, context.optimizer
    before = [p.data.copy() for _, p in named]
    norms = [[] for _ in named]  # each batch's, per parameter
    first_over = None  # the first batch whose loss is past the divergence limit
    feed = context.feed.epoch(context.batch_size, context.shuffle, context.rng)
    for batch, (xb, yb, wb) in enumerate(feed):
        value, output = _step(context.model, xb, yb, context.loss_fn, optimizer, wb)
        if not math.isfinite(value):
            _diverged(history, epoch, batch, f"the loss became {value}", optimizer, named,
                      before)
        if value > context.limit and first_over is None:
            first_over = batch
        totals.add(value, output, yb, len(xb))
        if context.diagnostics:
            for batch_norms, (_, p) in zip(norms, named):
                if p.grad is not None:
                    batch_norms.append(_quick_norm(p.grad))
        for callback in context.callbacks:
            callback.on_batch_end(epoch, batch, value)
    mean = totals.loss / totals.count
    if first_over is not None and mean > context.limit:
        _diverged(history, epoch, first_over, _grown(mean, context.untrained), optimizer,
                  named, before, restore=True)
    if not optimizer.parameters_finite():
        _diverged(history, epoch, batch, "the weights became NaN or infinite", optimizer,
                  named, before, restore=True)
    change = None
    if context.watch_change:
        for (_, p), old in zip(named, before):
            np.subtract(p.data, old, out=old)  # the epoch's change, in the copy
        change = _norm(*before)
    return change, {name: math.fsum(batch_norms) / len(batch_norms)
                    for (name, _), batch_norms in zip(named, norms) if batch_norms}


def _compiled_epoch(context, epoch, totals, runner):
    """``_graph_epoch`` in one call of the compiled engine's kernel. The runner holds
    the epoch's new weights until they pass the divergence checks (the model keeps
    the epoch's start meanwhile: no copy of it is needed to restore it)."""
    history, named, optimizer = context.history, context.named, context.optimizer
    result = runner.run_epoch(runner.order(context.shuffle, context.rng), context.limit,
                              hold=True)
    totals.take(result)
    finite = runner.held_finite()
    if result.failed_batch is not None:
        if finite:
            runner.commit()  # the updates before the batch whose loss is not finite
        _diverged(history, epoch, result.failed_batch,
                  f"the loss became {result.failed_value}", optimizer, named, None,
                  restore=not finite)
    mean = totals.loss / totals.count
    if result.first_over is not None and mean > context.limit:
        _diverged(history, epoch, result.first_over, _grown(mean, context.untrained),
                  optimizer, named, None, restore=True)
    if not finite:
        _diverged(history, epoch, result.batches - 1, "the weights became NaN or infinite",
                  optimizer, named, None, restore=True)
    change = runner.held_change() if context.watch_change else None
    runner.commit()
    return change, result.grad_norms


def _warn_about_step_units(model):
    """Warn that gradient descent cannot train through a step activation: its derivative
    is 0 wherever it is defined, so every layer below one gets a gradient of 0."""
    steps = [name for name, module in model.named_modules() if isinstance(module, Step)]
    if steps and any(p.requires_grad for p in model.parameters()):
        where = f"layer {steps[0]!r}" if len(steps) == 1 else \
            f"layers {', '.join(repr(name) for name in steps)}"
        warnings.warn(
            f"the network has a step activation ({where}): its derivative is 0 almost "
            "everywhere, so no gradient passes through it and the layers below it never "
            "learn; use sigmoid, tanh or relu for gradient descent (descent.train_perceptron "
            "trains a single step unit with the perceptron rule)", UserWarning, stacklevel=3)


def _check_monitors(criteria, validated, task):
    """Fail before training when a criterion watches a value this run will not record."""
    for criterion in criteria:
        monitor = getattr(criterion, "monitor", "")
        if monitor.startswith("val_") and not validated:
            raise DescentValueError(
                f"{type(criterion).__name__} monitors {monitor!r}, which needs validation "
                "data: give train() validation data (validation=0.2 or (X_val, y_val))")
        classification = monitor.removeprefix("val_") in ("accuracy", "error_rate")
        if classification and task == "regression":
            raise DescentValueError(
                f"{type(criterion).__name__} monitors {monitor!r}, which needs a "
                "classification loss such as cross_entropy")


def _norm(*arrays):
    """Euclidean norm of all the arrays together, in float64 (no float32 overflow), a
    block at a time (a float64 copy of a large array would cost memory)."""
    total = 0.0
    for array in arrays:
        flat = array.reshape(-1)
        for start in range(0, flat.size, _NORM_BLOCK):
            block = flat[start:start + _NORM_BLOCK].astype(np.float64, copy=False)
            total += float(np.dot(block, block))
    return math.sqrt(total)


def _quick_norm(array):
    """The Euclidean norm of one array, as a dot product in its own dtype (after every
    batch, so it must be cheap; float32 is precise to about 1e-7 here), or as ``_norm``
    when that overflows."""
    flat = array.reshape(-1)
    norm = math.sqrt(float(np.dot(flat, flat)))
    return norm if math.isfinite(norm) else _norm(array)


def _takes_sample_weight(loss_fn):
    try:
        # (not following functools.wraps: the weighted loss has the keyword, the loss it
        # wraps has not)
        parameters = inspect.signature(loss_fn, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):  # a callable whose signature Python cannot tell
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


def _step(model, xb, yb, loss_fn, optimizer, wb=None):
    """One update; returns the batch loss (before the update) and the batch output.
    ``wb`` are the batch's sample weights (None: unweighted)."""
    if wb is not None:
        loss_fn = functools.partial(loss_fn, sample_weight=wb)
    if isinstance(optimizer, LBFGS):
        state = {}

        def closure():
            optimizer.zero_grad()
            output = model(xb)
            state.setdefault("output", output)  # the output that goes with the loss
            loss = loss_fn(output, yb)
            loss.backward()
            return loss

        value = optimizer.step(closure).item()
        return value, state["output"].data
    optimizer.zero_grad()
    output = model(xb)
    loss = loss_fn(output, yb)
    value, out = loss.item(), output.data
    if math.isfinite(value):
        loss.backward()
        del loss, output  # free the graph's arrays before the update needs memory
        optimizer.step()
    return value, out


def _untrained_loss(model, X, target_values, loss_fn):
    """The loss of the model as it comes to training, the yardstick of divergence that
    stays finite (an epoch's mean loss more than ``_GROWTH`` times it, or than
    ``_GROWTH × _LOSS_FLOOR``, has diverged). A loss that is already NaN or infinite sets
    no limit (inf): the first batch will report it."""
    with np.errstate(over="ignore", invalid="ignore"):
        loss, _ = _evaluate(model, X, target_values, loss_fn)
    return loss if math.isfinite(loss) else math.inf


def _grown(mean, untrained):
    """Why an epoch whose mean loss is ``mean`` diverged, in words."""
    floor = f" (counted as {_LOSS_FLOOR:g})" if untrained < _LOSS_FLOOR else ""
    return (f"the epoch's mean loss reached {mean:.4g}, more than {_GROWTH:g} times the "
            f"untrained network's {untrained:.4g}{floor}")


def _diverged(history, epoch, batch, problem, optimizer, named, before, restore=False):
    """Stop with ``TrainingDiverged``. With ``restore`` (a loss that grew, weights that
    overflowed) the model gets back the weights it had when the epoch began; otherwise
    (a non-finite loss, whose update was skipped) it keeps its weights unless they are
    no longer finite."""
    restore = restore or not all(np.all(np.isfinite(p.data)) for _, p in named)
    if restore and before is not None:  # (None: the model has them already)
        for (_, p), old in zip(named, before):
            p.data[...] = old
    kept = f"its weights from the start of epoch {epoch}" if restore else \
        "its last finite weights"
    lr = optimizer.lr
    history.stop_reason = f"diverged at epoch {epoch}, batch {batch + 1}"
    raise TrainingDiverged(
        f"training diverged at epoch {epoch}, batch {batch + 1}: {problem} with learning "
        f"rate {lr:g}. Try a smaller learning rate (e.g. lr={lr / 10:g}) or standardise the "
        f"inputs; the model keeps {kept}.",
        history=history, epoch=epoch, batch=batch + 1,
    )


def _instances(value, kind, name, what):
    """``value`` — one ``kind``, a list or tuple of them, or None — as a list; anything
    else is a ``DescentTypeError`` naming it and ``what`` is expected."""
    if value is None:
        return []
    if isinstance(value, kind):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise DescentTypeError(f"{name} must be {what} or a list of them, got "
                               f"{_described(value, kind)}")
    for index, item in enumerate(value):
        if not isinstance(item, kind):
            raise DescentTypeError(f"{name}[{index}] is {_described(item, kind)}, not {what}")
    return list(value)


def _described(value, kind):
    if isinstance(value, type) and issubclass(value, kind):
        return f"the class {value.__name__} itself (pass an instance: {value.__name__}(...))"
    text = repr(value)
    return f"the {type(value).__name__} {text if len(text) <= 60 else text[:60] + '…'}"
