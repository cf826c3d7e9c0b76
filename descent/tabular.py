"""Tables in, models out: what ``descent train``, ``evaluate`` and ``predict`` do, as
library functions.

``read_table`` reads CSV, TSV and Parquet (with pandas); ``fit_table`` encodes the
features (standardised numbers, one-hot categories), trains an MLP and stores the
preprocessing, class names and a training summary in ``model.metadata`` so that the model
file alone is enough to predict; ``predict_table`` and ``evaluate_table`` apply it.
``load_table`` reads a table whole when it fits in a memory budget, and otherwise gives a
``TableSource`` that ``fit_table``, ``evaluate_table`` and ``predict_blocks`` read a
block at a time (``descent.data.streaming``).
"""

from pathlib import Path

import numpy as np

from descent.training import metrics
from descent._version import __version__
from descent.autograd.backend import as_rng
from descent.data.preprocessing import encode_labels, split_indices
from descent.data.streaming import (DEFAULT_MEMORY_MB, READERS, TableDataset, TableSource,
                                    read_blocks)
from descent.data.encoding import (DataError, Moments, TableEncoder, TargetSummary,
                                   check_complete, feature_columns, missing_rows,
                                   table_labels)
from descent.files.archive import json_safe
from descent.files.model import MAX_PARAMETERS
from descent.optim.optimizers import get_optimizer
from descent.errors import DescentValueError
from descent.nn.layers import MLP, Linear
from descent.training.stopping import EarlyStopping
from descent.data.streaming import pandas_module as _pandas
from descent.nn.inspect import class_probabilities, predict
from descent.training.loop import r2_from_sums, train

__all__ = [
    "evaluate_table", "fit_table", "load_table", "predict_blocks", "predict_table",
    "read_table",
]


def read_table(path):
    """Read a CSV, TSV or Parquet file into a pandas DataFrame, with clear errors."""
    pandas = _pandas()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(f"cannot read {path}: unsupported format {suffix or '(none)'!r}; "
                        f"use one of {', '.join(sorted(READERS))}")
    if path.is_dir():
        raise DataError(f"data file {path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise DataError(f"data file {path} is not a regular file (a device, pipe or socket)")
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    try:
        if READERS[suffix] is None:
            import pyarrow.parquet

            names = pyarrow.parquet.read_schema(path).names
            frame = pandas.read_parquet(path)
        else:
            names = pandas.read_csv(path, sep=READERS[suffix], header=None, nrows=1,
                                    dtype=str, keep_default_na=False).iloc[0].tolist()
            frame = pandas.read_csv(path, sep=READERS[suffix])
    except pandas.errors.EmptyDataError:
        raise DataError(f"data file {path} is empty") from None
    except ImportError as error:
        raise DataError(f"cannot read {path}: {error}") from None
    except (OSError, ValueError, UnicodeDecodeError, pandas.errors.ParserError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read {path}: {reason}") from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"data file {path} has no rows or no columns")
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"data file {path} has more than one column named "
                        f"{', '.join(map(repr, repeated))}; give every column its own name")
    return frame


def load_table(path, memory=DEFAULT_MEMORY_MB):
    """The table at ``path`` (a CSV, TSV or Parquet file, a folder of them or a glob):
    a pandas DataFrame when reading it whole is estimated to fit in ``memory`` MB (for
    one file, what ``read_table`` gives), else a ``TableSource`` that ``fit_table``,
    ``evaluate_table`` and ``predict_blocks`` read a block at a time within the budget.
    """
    source = TableSource(path)
    if source.estimated_memory() > memory * 2 ** 20:
        return source
    return read_table(path) if len(source.parts) == 1 else source.read_all()


def fit_table(frame, target, *, task="auto", features=None, drop=(), hidden=(64,),
              activation="relu", loss=None, optimizer="adam", lr=None, batch_size=None,
              epochs=100, validation=0.2, early_stopping=None, seed=0, dropna=False,
              progress=None, callbacks=(), checkpoint=None, checkpoint_every=1,
              resume=False, memory=DEFAULT_MEMORY_MB):
    """Train an MLP on a table; return ``(model, history)``.

    ``target`` names the column to predict; the features are ``features`` (default:
    every other column) less ``drop``. ``task`` is ``"classification"``,
    ``"regression"`` or ``"auto"`` (from the target). ``batch_size`` None means 32
    examples, or all of them when there are fewer or the optimiser is ``"lbfgs"``; 0
    means all of them (batch gradient descent); a size larger than the training rows is
    an error.

    ``frame`` is a DataFrame, or a ``TableSource`` (``load_table`` gives one for a table
    too large for ``memory`` MB): that is read a block at a time (a ``TableDataset``)
    within the budget, its encoding learned in one streaming pass over the training
    rows, its validation rows held out by a hash of their position (``held_out``)
    rather than drawn at random; the rest is as for a DataFrame.

    After early stopping the model holds the best epoch's weights;
    ``model.metadata["training"]`` says which epoch that is (``saved_epoch``) and holds
    its metrics (``final``). Regression metrics (``mse``, ``mae``) in the history and
    the metadata are in the target's own units; ``loss`` is on the standardised target
    the network is trained on.
    """
    options = dict(hidden=hidden, activation=activation, loss=loss, optimizer=optimizer,
                   lr=lr, epochs=epochs, validation=validation,
                   early_stopping=early_stopping, seed=seed, progress=progress,
                   callbacks=callbacks, checkpoint=checkpoint,
                   checkpoint_every=checkpoint_every, resume=resume)
    if isinstance(frame, TableSource):
        return _fit_source(frame, target, task, features, drop, dropna, batch_size, memory,
                           options)
    features = feature_columns(frame.columns, target, features, drop)
    columns = [*features, target]
    if dropna:
        frame = frame[~missing_rows(frame, columns)]
        if len(frame) == 0:
            raise DataError("no rows are left after dropping those with missing values")
    targets = np.asarray(frame[target].to_numpy())
    check_complete(frame, columns)
    summary = TargetSummary(target)
    summary.count(targets)
    task = summary.task(task)
    stratify = None
    if task == "classification":
        summary.classes()  # whole numbers, two or more
        targets = table_labels(targets)
        stratify = targets
    else:
        summary.check_numbers()
    rng = as_rng(seed)
    if validation:
        keep, held = split_indices(len(frame), validation, stratify, rng)
    else:
        keep, held = np.arange(len(frame)), np.array([], dtype=np.intp)
    encoder = TableEncoder().fit(frame.iloc[keep], features, categories_from=frame)
    X = encoder.check_representable(encoder.transform(frame), np.float32)
    if task == "classification":
        y, classes = encode_labels(targets)
        target_info = {"name": target, "task": task, "classes": classes.tolist()}
    else:
        values = targets.astype(np.float64)
        mean, scale = float(values[keep].mean()), float(values[keep].std()) or 1.0
        y = (values - mean) / scale
        target_info = {"name": target, "task": task, "mean": mean, "scale": scale}
    effective_batch = _batch_for(batch_size, len(keep), options["optimizer"])
    return _fit_network((X[keep], y[keep]), (X[held], y[held]) if len(held) else None,
                        encoder, features, target_info, len(keep), len(held), rng,
                        effective_batch, **options)


def _batch_for(batch_size, rows, optimizer):
    """The batch size train() gets: None (all rows) for 0, and by default 32 (all rows
    when there are fewer, or for L-BFGS, a full-batch method as in scikit-learn)."""
    if batch_size == 0:
        return None
    if batch_size is not None and batch_size > rows:
        raise DataError(f"--batch-size {batch_size} is larger than the {rows} training rows; "
                        "use --batch-size 0 for batch gradient descent")
    full = rows <= 32 or (isinstance(optimizer, str) and optimizer.lower() == "lbfgs")
    return batch_size or (None if full else 32)


def _fit_source(source, target, task, features, drop, dropna, batch_size, memory, options):
    """``fit_table`` on a table read a block at a time (a ``TableDataset``)."""
    seed = options["seed"]
    rng = as_rng(seed)
    split_seed = int(seed) if isinstance(seed, (int, np.integer)) else \
        int(rng.integers(2 ** 32))
    data = TableDataset(source, target, features=features, drop=drop or None, task=task,
                        validation=options["validation"] or 0.0, seed=split_seed,
                        dropna=dropna, memory=memory, standardize_target=True)
    if data.task == "classification":
        target_info = {"name": data.target, "task": data.task,
                       "classes": data.classes.tolist()}
    else:
        target_info = {"name": data.target, "task": data.task, "mean": data.target_mean,
                       "scale": data.target_scale}
    effective_batch = _batch_for(batch_size, len(data), options["optimizer"])
    if effective_batch is None and not data.in_memory:
        raise DataError(f"batch gradient descent (--batch-size 0) needs all {len(data)} "
                        f"training rows at once, more than --memory {memory:g} MB holds; "
                        "use mini-batches (--batch-size 32) or raise --memory")
    held = 0 if data.validation is None else len(data.validation)
    model, history = _fit_network((data, None), None, data.encoder, data.features,
                                  target_info, len(data), held, rng, effective_batch,
                                  **options)
    model.metadata["training"]["memory_mb"] = memory
    return model, history


def _fit_network(data, validation_data, encoder, features, target_info, rows,
                 validation_rows, rng, batch_size, *, hidden, activation, loss, optimizer,
                 lr, epochs, validation, early_stopping, seed, progress, callbacks,
                 checkpoint, checkpoint_every, resume):
    """Build the MLP for an encoded table, train it on ``data`` (``(X, y)``, or a
    dataset and None) and describe the run in ``model.metadata``."""
    if target_info["task"] == "classification":
        loss = loss or "cross_entropy"
        outputs, output, train_task = classification_head(loss, len(target_info["classes"]))
    else:
        loss = loss or "mse"
        if loss not in REGRESSION_LOSSES:
            raise DataError(f"loss {loss!r} is for classification; a regression target "
                            f"takes {', '.join(REGRESSION_LOSSES)} (or --task "
                            "classification for class labels)")
        outputs, output, train_task = 1, None, None
    sizes = [encoder.width, *hidden, outputs]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if parameters > MAX_PARAMETERS:
        raise DataError(f"a network of layers {sizes} has {parameters:,} parameters, more "
                        f"than a model file holds ({MAX_PARAMETERS:,}); use smaller "
                        "--hidden layers")
    model = MLP(sizes, activation=activation, output=output, rng=rng)
    if early_stopping is not None and not validation_rows:
        raise DataError("early stopping watches the validation loss: it needs validation "
                        "rows (validation above 0)")
    stop = [EarlyStopping(patience=early_stopping)] if early_stopping is not None else []
    optimizer_used = get_optimizer(optimizer, model.parameters(),
                                   **({} if lr is None else {"lr": lr}))
    history = train(model, *data, loss=loss, optimizer=optimizer_used,
                    task=train_task, batch_size=batch_size,
                    epochs=epochs, seed=_shuffle_seed(seed, rng), stop=stop,
                    validation=validation_data,
                    progress=progress, callbacks=callbacks, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, resume=resume)
    if target_info["task"] == "regression":
        _in_target_units(history, target_info["scale"])
    model.metadata = model_metadata(
        encoder, target_info, history, loss=loss, optimizer=optimizer,
        optimizer_used=optimizer_used, rows=int(rows), validation_rows=int(validation_rows),
        batch_size=batch_size or int(rows), validation=validation or 0.0,
        early_stopping=early_stopping, seed=seed if isinstance(seed, int) else None,
        features=features, hidden=hidden, activation=activation)
    return model, history


def model_metadata(encoder, target_info, history, *, loss, optimizer, optimizer_used, rows,
                   validation_rows, batch_size, validation, early_stopping, seed, features,
                   hidden, activation):
    """What a model trained on a table stores about itself: its preprocessing, its target,
    and how it was trained, with the metrics of the epoch it keeps."""
    saved = next((r for r in history.records if r["epoch"] == history.best_epoch),
                 history.last)
    return {
        "preprocessing": encoder.to_dict(),
        "target": target_info,
        "training": {"descent_version": __version__, "rows": rows,
                     "validation_rows": validation_rows, "epochs": len(history),
                     "saved_epoch": saved.get("epoch"),
                     "stop_reason": history.stop_reason, "loss": loss,
                     "optimizer": optimizer if isinstance(optimizer, str)
                     else type(optimizer).__name__,
                     "optimizer_options": json_safe(optimizer_used.hyper),
                     "lr": optimizer_used.lr, "batch_size": batch_size,
                     "validation": validation, "early_stopping": early_stopping,
                     "seed": seed, "features": features,
                     "hidden": list(hidden), "activation": activation,
                     "final": {k: v for k, v in saved.items()
                               if isinstance(v, float) and k != "time"}},
    }


def _shuffle_seed(seed, rng):
    """The shuffling's seed: a seed given as a number is passed on as that number (so that
    a checkpoint records, and a refused resume names, the seed itself); a Generator goes
    on from where the split and the initial weights left it."""
    return int(seed) if isinstance(seed, (int, np.integer)) else rng


_TARGET_UNIT_METRICS = {"mse": 2, "val_mse": 2, "mae": 1, "val_mae": 1}


def _in_target_units(history, scale):
    """Rescale the squared and absolute errors of a regression history, recorded on the
    standardised target, to the target's units (R² is the same either way)."""
    for record in history.records:
        for name, power in _TARGET_UNIT_METRICS.items():
            if record.get(name) is not None:
                record[name] *= scale ** power


REGRESSION_LOSSES = ("mse", "sse", "mae")
_BINARY_ONLY = ("bce", "binary_cross_entropy", "binary_cross_entropy_with_logits")


def classification_head(loss, classes):
    """``(outputs, output activation, train task)`` of a network for ``classes`` classes
    trained with the loss named ``loss``.

    Cross-entropy and NLL: one score per class (NLL over a softmax output). Binary
    cross-entropy: two classes only, one sigmoid output (from the logits with
    ``..._with_logits``). Squared or absolute error, as the notes use them: one sigmoid
    output against 0/1 for two classes, else a softmax output against one-hot rows.
    """
    if loss in ("cross_entropy", "nll"):
        return classes, ("softmax" if loss == "nll" else None), "multiclass"
    if loss in _BINARY_ONLY:
        if classes != 2:
            raise DataError(f"loss {loss!r} is for two classes; the target has {classes}: "
                            "use cross_entropy")
        return 1, (None if loss.endswith("logits") else "sigmoid"), "binary"
    if loss in REGRESSION_LOSSES:
        return ((1, "sigmoid", "binary") if classes == 2
                else (classes, "softmax", "multiclass"))
    raise DataError(f"unknown loss {loss!r} for classification")


def _prepared(model, frame, where=None):
    encoder, target = table_metadata(model)
    X = encoder.transform(frame, where)
    return encoder.check_representable(X, model._input_dtype(), where), target


def table_metadata(model):
    """The stored preprocessing (a ``TableEncoder``) and target description of a model
    trained on a table, every field checked: a model file may be damaged or hostile.

    The target is ``{"name", "task"}`` with ``classes`` (two or more distinct labels, one
    per output) for classification, ``mean`` and ``scale`` (finite, scale > 0) for
    regression; the encoder's width must be the network's input width.
    """
    metadata = getattr(model, "metadata", None) or {}
    if not isinstance(metadata, dict) or "preprocessing" not in metadata \
            or "target" not in metadata:
        raise DescentValueError("this model has no table preprocessing stored; it was not "
                                "trained with 'descent train' or fit_table")
    encoder = TableEncoder.from_dict(metadata["preprocessing"])
    target = metadata["target"]
    if not isinstance(target, dict):
        raise _bad_target(f"it must be an object, got {type(target).__name__}")
    if not isinstance(target.get("name"), str):
        raise _bad_target(f"'name' must be text, got {target.get('name')!r}")
    task = target.get("task")
    if task not in ("classification", "regression"):
        raise _bad_target(f"'task' must be 'classification' or 'regression', got {task!r}")
    inputs, outputs = _widths(model)
    if task == "classification":
        classes = target.get("classes")
        if (not isinstance(classes, list) or len(classes) < 2
                or not all(isinstance(c, (str, int, bool)) for c in classes)
                or len({str(c) for c in classes}) != len(classes)):
            raise _bad_target(f"'classes' must list two or more distinct labels, got "
                              f"{classes!r}"[:200])
        if outputs not in (len(classes), 1 if len(classes) == 2 else len(classes)):
            raise _bad_target(f"{len(classes)} classes do not fit a network with {outputs} "
                              "outputs")
    else:
        for field in ("mean", "scale"):
            value = target.get(field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not np.isfinite(value) or (field == "scale" and value <= 0):
                raise _bad_target(f"{field!r} must be a finite number"
                                  f"{' > 0' if field == 'scale' else ''}, got {value!r}")
        if outputs != 1:
            raise _bad_target(f"a regression model has one output, this network {outputs}")
    if inputs is not None and encoder.width != inputs:
        raise DescentValueError(f"the stored preprocessing gives {encoder.width} features "
                                f"but the network takes {inputs}")
    return encoder, target


def _bad_target(problem):
    return DescentValueError(f"the stored target description is malformed: {problem}")


def _widths(model):
    """(inputs, outputs) of a network of Linear layers (inputs None if it has none)."""
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    if not linears:
        return None, None
    return linears[0].in_features, linears[-1].out_features


def encode_features(model, frame):
    """The feature matrix the model sees for ``frame`` (its stored preprocessing)."""
    return _prepared(model, frame)[0]


def predict_table(model, frame, proba=False, where=None):
    """Predictions for each row: class names (or probabilities) or numbers. ``where(row)``
    names the rows of a block of a larger table in messages."""
    X, target = _prepared(model, frame, where)
    if target["task"] == "regression":
        output = predict(model, X).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            values = output[:, 0] * target["scale"] + target["mean"]
        if not np.all(np.isfinite(values)):
            row = int(np.argmax(~np.isfinite(values)))
            named = where(row) if where else f"data row {row} (counting from 0)"
            raise DataError(f"the prediction for {named} is not a "
                            f"finite number (the stored target scale is "
                            f"{target['scale']:.3g}); the model file may be damaged")
        return values
    probabilities = class_probabilities(model, X)
    if proba:
        return probabilities
    return np.asarray(target["classes"], dtype=object)[probabilities.argmax(axis=1)]


def predict_blocks(model, source, proba=False, memory=DEFAULT_MEMORY_MB):
    """``predict_table`` of a table read a block at a time (a ``TableSource`` or a path)
    within ``memory`` MB: the predictions of each block in turn, in the table's order."""
    table_metadata(model)  # a model for tables, before any row is read
    for frame, where in read_blocks(source, memory):
        yield predict_table(model, frame, proba, where)


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _target_column(frame, target, use, where=None):
    """The target column of ``frame``, checked present and complete; ``use`` says what
    it is needed for (in the errors)."""
    name = target["name"]
    if name not in [str(c) for c in frame.columns]:
        raise DataError(f"the data has no target column {name!r} to {use}")
    missing = missing_rows(frame, [name])
    if missing.any():
        row = int(np.argmax(missing))
        first = where(row) if where else f"data row {row} (counting from 0)"
        raise DataError(f"the target column {name!r} has {int(missing.sum())} missing "
                        f"value(s){' in this block' if where else ''}, the first at {first}; "
                        f"every row needs a target to {use}: fill or drop them")
    return np.asarray(frame[name].to_numpy())


def _class_codes(truth, classes):
    """Class labels as indices into the model's stored ``classes``."""
    truth = table_labels(truth)
    lookup = {str(c): i for i, c in enumerate(classes)}
    unknown = sorted({str(t) for t in truth} - set(lookup))
    if unknown:
        raise DataError(f"the target column has classes the model never saw: {unknown[:5]}")
    return np.array([lookup[str(t)] for t in truth], dtype=np.intp)


def true_class_codes(model, frame):
    """The target column of ``frame`` as a classification model's class codes: 0 for its
    first stored class (``model.metadata["target"]["classes"]``), 1 for the next, ...

    Raises ``DataError`` when the column is missing, has missing values or holds a class
    the model never saw, and when the model is not a classifier.
    """
    _, target = _prepared(model, frame.iloc[:0])
    if target["task"] != "classification":
        raise DataError(f"this model predicts the number {target['name']!r} (regression); "
                        "class labels need a classification model")
    return _class_codes(_target_column(frame, target, "compare with"), target["classes"])


def evaluate_table(model, frame, memory=DEFAULT_MEMORY_MB):
    """Metrics of ``model`` on a table that includes the target column: a DataFrame, or
    a ``TableSource`` (see ``load_table``), read a block at a time within ``memory`` MB
    with the same metrics summed over the blocks."""
    if isinstance(frame, TableSource):
        return _evaluate_blocks(model, frame, memory)
    _, target = _prepared(model, frame.iloc[:0])
    truth = _target_column(frame, target, "evaluate against")
    _check_numeric_truth(target, truth)
    predictions = predict_table(model, frame)
    if target["task"] == "regression":
        return {"task": "regression", "rows": len(truth),
                "mse": metrics.mean_squared_error(truth, predictions),
                "mae": metrics.mean_absolute_error(truth, predictions),
                "r2": metrics.r2_score(truth, predictions)}
    classes = target["classes"]
    true_codes = _class_codes(truth, classes)
    predicted_codes = _class_codes(predictions, classes)
    precision, recall = metrics.precision_recall(true_codes, predicted_codes, len(classes))
    return {"task": "classification", "rows": len(truth), "classes": classes,
            "accuracy": metrics.accuracy(true_codes, predicted_codes),
            "error_rate": metrics.error_rate(true_codes, predicted_codes),
            "confusion_matrix": metrics.confusion_matrix(true_codes, predicted_codes,
                                                         len(classes)).tolist(),
            "precision": precision.tolist(), "recall": recall.tolist()}


def _check_numeric_truth(target, truth):
    if target["task"] == "regression" and truth.dtype.kind not in "iuf":
        example = next((v for v in truth if not _is_number(v)), truth[0])
        raise DataError(f"this regression model predicts numbers, but the target column "
                        f"{target['name']!r} holds text such as {str(example)[:60]!r}")


def _evaluate_blocks(model, source, memory):
    """``evaluate_table`` a block at a time: squared and absolute errors, the targets'
    moments and the confusion matrix are sums over the blocks."""
    _, target = table_metadata(model)
    regression = target["task"] == "regression"
    rows, squared, absolute, moments = 0, 0.0, 0.0, Moments()
    classes = target.get("classes")
    confusion = None if regression else np.zeros((len(classes), len(classes)), np.int64)
    for frame, where in read_blocks(source, memory):
        truth = _target_column(frame, target, "evaluate against", where)
        _check_numeric_truth(target, truth)
        predictions = predict_table(model, frame, where=where)
        rows += len(truth)
        if regression:
            error = truth.astype(np.float64) - predictions
            squared += float(np.dot(error, error))
            absolute += float(np.sum(np.abs(error)))
            moments.add(truth.astype(np.float64))
        else:
            confusion += metrics.confusion_matrix(_class_codes(truth, classes),
                                                  _class_codes(predictions, classes),
                                                  len(classes))
    if regression:
        return {"task": "regression", "rows": rows, "mse": squared / rows,
                "mae": absolute / rows, "r2": r2_from_sums(squared, moments.m2)}
    hits = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    accuracy = float(hits.sum() / rows)
    return {"task": "classification", "rows": rows, "classes": classes,
            "accuracy": accuracy, "error_rate": 1.0 - accuracy,
            "confusion_matrix": confusion.tolist(),
            "precision": precision.tolist(), "recall": recall.tolist()}
