"""Tables in, models out: what ``descent train``, ``evaluate`` and ``predict`` do, as
library functions.

``read_table`` reads CSV, TSV and Parquet (with pandas); ``fit_table`` encodes the
features (standardised numbers, one-hot categories), trains an MLP and stores the
preprocessing, class names and a training summary in ``model.metadata`` so that the model
file alone is enough to predict; ``predict_table`` and ``evaluate_table`` apply it.
"""

from pathlib import Path

import numpy as np

from descent.training import metrics
from descent._version import __version__
from descent.autograd.backend import as_rng
from descent.data.preprocessing import encode_labels, split_indices
from descent.data.encoding import TableEncoder, check_complete, feature_columns, missing_rows
from descent.files.archive import json_safe
from descent.files.model import MAX_PARAMETERS
from descent.optim.optimizers import get_optimizer
from descent.errors import DescentError, DescentValueError
from descent.nn.layers import MLP, Linear
from descent.training.stopping import EarlyStopping
from descent.nn.inspect import class_probabilities, predict
from descent.training.loop import train

READERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": ",", ".parquet": None,
           ".pq": None}
_CLASSIFICATION_MAX_INTEGER_CLASSES = 20


class DataError(DescentValueError):
    """A data file cannot be read or used."""


def _pandas():
    try:
        import pandas
    except ImportError:
        raise DescentError("reading data files needs pandas: pip install 'descent[cli]'") \
            from None
    return pandas


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


def infer_table_task(values):
    """``"classification"`` for text, booleans or few distinct integers; else regression."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return ("classification" if len(np.unique(values)) <= _CLASSIFICATION_MAX_INTEGER_CLASSES
                else "regression")
    return "regression" if values.dtype.kind == "f" else "classification"


def _labels(values):
    values = np.asarray(values)
    return values if values.dtype.kind in "iub" else values.astype(str)


def fit_table(frame, target, *, task="auto", features=None, drop=(), hidden=(64,),
              activation="relu", loss=None, optimizer="adam", lr=None, batch_size=None,
              epochs=100, validation=0.2, early_stopping=None, seed=0, dropna=False,
              progress=None, callbacks=(), checkpoint=None, checkpoint_every=1,
              resume=False):
    """Train an MLP on a table; return ``(model, history)``.

    ``target`` names the column to predict; the features are ``features`` (default:
    every other column) less ``drop``. ``task`` is ``"classification"``,
    ``"regression"`` or ``"auto"`` (from the target). ``batch_size`` None means 32
    examples, or all of them when there are fewer; 0 means all of them (batch gradient
    descent); a size larger than the training rows is an error.

    After early stopping the model holds the best epoch's weights;
    ``model.metadata["training"]`` says which epoch that is (``saved_epoch``) and holds
    its metrics (``final``). Regression metrics (``mse``, ``mae``) in the history and
    the metadata are in the target's own units; ``loss`` is on the standardised target
    the network is trained on.
    """
    features = feature_columns(frame.columns, target, features, drop)
    columns = [*features, target]
    if dropna:
        frame = frame[~missing_rows(frame, columns)]
        if len(frame) == 0:
            raise DataError("no rows are left after dropping those with missing values")
    targets = np.asarray(frame[target].to_numpy())
    check_complete(frame, columns)
    task = infer_table_task(targets) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise DataError(f"task must be 'classification', 'regression' or 'auto', got {task!r}")
    stratify = None
    if task == "classification":
        if targets.dtype.kind == "f" and not np.all(np.mod(targets, 1) == 0):
            example = targets[np.mod(targets, 1) != 0][0].item()
            raise DataError(f"classification needs class labels, but the target {target!r} "
                            f"holds numbers with fractions (such as {example:g}); use --task "
                            "regression to predict a number")
        targets = _labels(targets)
        classes = np.unique(targets)
        if len(classes) < 2:
            raise DataError(f"the target column {target!r} has a single class "
                            f"({classes[0].item()!r}); classification needs at least two")
        stratify = targets
    elif targets.dtype.kind not in "iuf":
        raise DataError(f"regression needs numbers in {target!r}, found values like "
                        f"{targets[0]!r}; use --task classification for labels")
    rng = as_rng(seed)
    if validation:
        keep, held = split_indices(len(frame), validation, stratify, rng)
    else:
        keep, held = np.arange(len(frame)), np.array([], dtype=np.intp)
    encoder = TableEncoder().fit(frame.iloc[keep], features, categories_from=frame)
    X = _representable(encoder.transform(frame), encoder, np.float32)
    target_info = {"name": target, "task": task}
    if task == "classification":
        codes, classes = encode_labels(targets)
        loss = loss or "cross_entropy"
        outputs, output, train_task = classification_head(loss, len(classes))
        y = codes
        target_info["classes"] = classes.tolist()
    else:
        loss = loss or "mse"
        if loss not in REGRESSION_LOSSES:
            raise DataError(f"loss {loss!r} is for classification; a regression target "
                            f"takes {', '.join(REGRESSION_LOSSES)} (or --task "
                            "classification for class labels)")
        values = targets.astype(np.float64)
        mean, scale = float(values[keep].mean()), float(values[keep].std()) or 1.0
        y, outputs, output, train_task = (values - mean) / scale, 1, None, None
        target_info.update(mean=mean, scale=scale)
    sizes = [X.shape[1], *hidden, outputs]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if parameters > MAX_PARAMETERS:
        raise DataError(f"a network of layers {sizes} has {parameters:,} parameters, more "
                        f"than a model file holds ({MAX_PARAMETERS:,}); use smaller "
                        "--hidden layers")
    model = MLP(sizes, activation=activation, output=output, rng=rng)
    if early_stopping is not None and not len(held):
        raise DataError("early stopping watches the validation loss: it needs validation "
                        "rows (validation above 0)")
    stop = [EarlyStopping(patience=early_stopping)] if early_stopping is not None else []
    effective_batch = (None if batch_size == 0
                       else batch_size or (32 if len(keep) > 32 else None))
    optimizer_used = get_optimizer(optimizer, model.parameters(),
                                   **({} if lr is None else {"lr": lr}))
    history = train(model, X[keep], y[keep], loss=loss, optimizer=optimizer_used,
                    task=train_task, batch_size=effective_batch,
                    epochs=epochs, seed=_shuffle_seed(seed, rng), stop=stop,
                    validation=(X[held], y[held]) if len(held) else None,
                    progress=progress, callbacks=callbacks, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, resume=resume)
    if task == "regression":
        _in_target_units(history, target_info["scale"])
    saved = next((r for r in history.records if r["epoch"] == history.best_epoch),
                 history.last)
    model.metadata = {
        "preprocessing": encoder.to_dict(),
        "target": target_info,
        "training": {"descent_version": __version__, "rows": int(len(keep)),
                     "validation_rows": int(len(held)), "epochs": len(history),
                     "saved_epoch": saved.get("epoch"),
                     "stop_reason": history.stop_reason, "loss": loss,
                     "optimizer": optimizer if isinstance(optimizer, str)
                     else type(optimizer).__name__,
                     "optimizer_options": json_safe(optimizer_used.hyper),
                     "lr": optimizer_used.lr,
                     "batch_size": effective_batch or int(len(keep)),
                     "validation": validation or 0.0, "early_stopping": early_stopping,
                     "seed": seed if isinstance(seed, int) else None,
                     "features": features,
                     "hidden": list(hidden), "activation": activation,
                     "final": {k: v for k, v in saved.items()
                               if isinstance(v, float) and k != "time"}},
    }
    return model, history


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


def _prepared(model, frame):
    encoder, target = table_metadata(model)
    return _representable(encoder.transform(frame), encoder, model._input_dtype()), target


def _representable(X, encoder, dtype):
    """``X``, checked to fit the network's float type once standardised (a value of 1e39
    is infinite in float32; one near 1e308 overflows the standardisation itself)."""
    limit = np.finfo(dtype).max
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~(np.abs(X) <= limit)
    if not bad.any():
        return X
    row, position = np.argwhere(bad)[0]
    ends = np.cumsum([1 if c["kind"] == "numeric" else len(c["categories"])
                      for c in encoder.columns])
    column = encoder.columns[int(np.searchsorted(ends, position, side="right"))]["name"]
    raise DataError(f"column {column!r}, data row {row} (counting from 0): the value is too "
                    f"large for the network's {np.dtype(dtype).name} numbers once "
                    f"standardised (beyond ±{limit:.3g}, or its column's spread overflows); "
                    "rescale the column or drop it")


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


def predict_table(model, frame, proba=False):
    """Predictions for each row: class names (or probabilities) or numbers."""
    X, target = _prepared(model, frame)
    if target["task"] == "regression":
        output = predict(model, X).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            values = output[:, 0] * target["scale"] + target["mean"]
        if not np.all(np.isfinite(values)):
            row = int(np.argmax(~np.isfinite(values)))
            raise DataError(f"the prediction for data row {row} (counting from 0) is not a "
                            f"finite number (the stored target scale is "
                            f"{target['scale']:.3g}); the model file may be damaged")
        return values
    probabilities = class_probabilities(model, X)
    if proba:
        return probabilities
    return np.asarray(target["classes"], dtype=object)[probabilities.argmax(axis=1)]


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _target_column(frame, target, use):
    """The target column of ``frame``, checked present and complete; ``use`` says what
    it is needed for (in the errors)."""
    name = target["name"]
    if name not in [str(c) for c in frame.columns]:
        raise DataError(f"the data has no target column {name!r} to {use}")
    missing = missing_rows(frame, [name])
    if missing.any():
        raise DataError(f"the target column {name!r} has {int(missing.sum())} missing "
                        f"value(s), the first at data row {int(np.argmax(missing))} (counting "
                        f"from 0); every row needs a target to {use}: fill or drop them")
    return np.asarray(frame[name].to_numpy())


def _class_codes(truth, classes):
    """Class labels as indices into the model's stored ``classes``."""
    truth = _labels(truth)
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


def evaluate_table(model, frame):
    """Metrics of ``model`` on a table that includes the target column."""
    _, target = _prepared(model, frame.iloc[:0])
    name = target["name"]
    truth = _target_column(frame, target, "evaluate against")
    if target["task"] == "regression" and truth.dtype.kind not in "iuf":
        example = next((v for v in truth if not _is_number(v)), truth[0])
        raise DataError(f"this regression model predicts numbers, but the target column "
                        f"{name!r} holds text such as {str(example)[:60]!r}")
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
