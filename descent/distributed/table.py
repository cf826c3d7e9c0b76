"""``cli_train``: a table on a Dask cluster in, a model out — what ``descent train DATA
--dask ADDRESS`` (or ``--workers N``) runs.

It does what ``descent.tabular.fit_table`` does for a table in memory, by the same rules,
without bringing the table to the client:

1. The files are read as a Dask DataFrame, each partition by a worker.
2. The encoding is learned in one pass over the partitions in the table's order, by
   ``encoding.ColumnSummary`` and ``encoding.TargetSummary`` (the rules of
   ``TableEncoder.fit`` and of the streaming datasets): a chain of tasks on the
   workers, each taking the summaries so far and its partition, so only the summaries
   travel. Numeric columns are standardised with the training rows' mean and spread,
   other columns one-hot encoded over the categories of all rows; a regression target
   is standardised like the columns.
3. The validation rows are those ``descent.data.streaming.held_out`` picks by row
   position (the rows ``descent train --validation`` holds out of the same table when
   it streams it); each worker encodes its partitions and holds out its rows itself.
4. ``descent.distributed.train`` trains the network; the model carries the encoding, so
   ``descent predict`` and ``descent evaluate`` use it as they use any other.
"""

import contextlib
import functools
import glob
import os
from pathlib import Path

import numpy as np

from descent.autograd.backend import as_rng
from descent.data.encoding import (MAX_CATEGORIES, ColumnSummary, DataError, TableEncoder,
                                   TargetSummary, _values, feature_columns, missing_rows)
from descent.data.preprocessing import encode_labels
from descent.data.streaming import READERS, held_out
from descent.distributed.cluster import connect, local_client
from descent.distributed.driver import train
from descent.distributed.imports import require
from descent.distributed.partitions import Partitions
from descent.errors import DescentValueError
from descent.files.model import MAX_PARAMETERS
from descent.nn.layers import MLP
from descent.optim.optimizers import get_optimizer
from descent.tabular import (REGRESSION_LOSSES, _in_target_units, classification_head,
                             model_metadata)
from descent.training.stopping import EarlyStopping


def cli_train(data, target=None, *, address=None, workers=None, features=None, drop=(),
              task="auto", hidden=(64,), activation="relu", loss=None, optimizer="adam",
              lr=None, batch_size=None, epochs=100, validation=0.2, early_stopping=None,
              seed=0, dropna=False, progress=None, callbacks=(), checkpoint=None,
              checkpoint_every=1, resume=False, sync_every=None, threads=None, out=None):
    """Train an MLP on a table across a Dask cluster; return ``(model, history)``.

    Parameters
    ----------
    data : str or dask.dataframe.DataFrame
        A Parquet, CSV or TSV file, a folder of them or a glob (``"data/*.parquet"``); the
        workers read it, so on a cluster of several machines the path must name the same
        files on each. Or a Dask DataFrame.
    target : str, optional
        The column to predict (default: the last one).
    address : str, optional
        The Dask scheduler's address (``--dask tcp://host:8786``).
    workers : int, optional
        Instead: start a local cluster of this many worker processes (one thread each, on
        127.0.0.1, no dashboard) for the run.
    features, drop, task, hidden, activation, loss, optimizer, lr, batch_size, epochs,
    validation, early_stopping, seed, dropna, progress, callbacks, checkpoint,
    checkpoint_every, resume
        As in ``descent.tabular.fit_table``, except that the validation rows are those of
        ``descent.data.streaming.held_out`` (not stratified), and with ``dropna`` the row
        positions count the rows kept.
    sync_every, threads
        As in ``descent.distributed.train``.
    out : file, optional
        Where to say what is being trained on, once the data has been summarised.

    Returns
    -------
    (MLP, History)
        The model, with ``metadata`` as ``fit_table`` writes it, and the history
        (regression errors in the target's units).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DescentValueError(f"seed must be an integer >= 0 on a cluster, got {seed!r}")
    fraction = float(validation or 0.0)
    if early_stopping is not None and not fraction:
        raise DataError("early stopping watches the validation loss: it needs validation "
                        "rows (validation above 0)")
    with _cluster(address, workers) as (client, where):
        frame, described = _read(data)
        target = str(target if target is not None else frame.columns[-1])
        features = feature_columns(frame.columns, target, features, drop)
        columns = [*features, target]
        frame = frame[columns]
        if dropna:
            frame = frame.map_partitions(_complete_rows, columns)
        pieces = list(frame.to_delayed())
        summaries, target_summary, rows, held = _summarise_all(client, pieces, features,
                                                               target, fraction, seed)
        if rows == held:
            raise DataError(f"no training rows in {described}" + (
                "" if not rows else ": every row was held out; hold out a smaller fraction"))
        task = target_summary.task(task)
        encoder = TableEncoder.from_summaries(summaries)
        target_info = {"name": target, "task": task}
        if task == "classification":
            classes = target_summary.classes()
            loss = loss or "cross_entropy"
            outputs, output, train_task = classification_head(loss, len(classes))
            target_info["classes"] = classes.tolist()
            mean = scale = None
        else:
            target_summary.check_numbers()
            if (loss or "mse") not in REGRESSION_LOSSES:
                raise DataError(f"loss {loss!r} is for classification; a regression target "
                                f"takes {', '.join(REGRESSION_LOSSES)} (or --task "
                                "classification for class labels)")
            loss, classes, outputs, output, train_task = loss or "mse", None, 1, None, None
            mean = float(target_summary.moments.mean)
            scale = float(target_summary.moments.std) or 1.0
            target_info.update(mean=mean, scale=scale)
        sizes = [encoder.width, *hidden, outputs]
        parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
        if parameters > MAX_PARAMETERS:
            raise DataError(f"a network of layers {sizes} has {parameters:,} parameters, "
                            f"more than a model file holds ({MAX_PARAMETERS:,}); use "
                            "smaller --hidden layers")
        model = MLP(sizes, activation=activation, output=output, rng=as_rng(seed))
        description = (f"{described} ({rows:,} rows, {len(pieces)} partitions) on "
                       f"{where}")
        if out is not None:
            out.write(f"Training on {description}; target column {target!r}\n")
        convert = functools.partial(_encoded_piece, encoder=encoder, target=target,
                                    labels=target_summary, classes=classes, mean=mean,
                                    scale=scale)
        effective_batch = (None if batch_size == 0 else
                           batch_size or (32 if rows - held > 32 else None))
        optimizer_used = get_optimizer(optimizer, model.parameters(),
                                       **({} if lr is None else {"lr": lr}))
        history = train(
            model, Partitions(pieces, [None] * len(pieces), convert), None, client=client,
            loss=loss, optimizer=optimizer_used, task=train_task, batch_size=effective_batch,
            epochs=epochs, seed=int(seed),
            stop=[EarlyStopping(patience=early_stopping)] if early_stopping else [],
            validation=fraction or None, progress=progress, callbacks=callbacks,
            checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
            sync_every=sync_every, threads=threads)
    if task == "regression":
        _in_target_units(history, scale)
    model.metadata = model_metadata(
        encoder, target_info, history, loss=loss, optimizer=optimizer,
        optimizer_used=optimizer_used, rows=int(rows - held), validation_rows=int(held),
        batch_size=effective_batch or int(rows - held), validation=fraction,
        early_stopping=early_stopping, seed=int(seed), features=features, hidden=hidden,
        activation=activation)
    model.metadata["training"]["data"] = description
    return model, history


@contextlib.contextmanager
def _cluster(address, workers):
    """``(client, words for it)`` for a scheduler's address, or a local cluster of
    ``workers`` processes started (and stopped) here."""
    if (address is None) == (workers is None):
        raise DescentValueError("give the address of a Dask scheduler (--dask ADDRESS) or "
                                "a number of local workers (--workers N), one of them")
    if address is not None:
        with connect(address) as client:
            yield client, f"the Dask cluster at {address}"
        return
    with local_client(workers) as client:
        yield client, f"a local Dask cluster of {workers} worker process" + \
            ("es" if workers > 1 else "")


def _read(data):
    """The table as a Dask DataFrame, and words for it."""
    if hasattr(data, "npartitions") and hasattr(data, "columns"):
        return data, f"a Dask DataFrame of {data.npartitions} partitions"
    dd = require("dask.dataframe")
    path = str(data)
    files = sorted(glob.glob(os.path.join(path, "*")) if os.path.isdir(path)
                   else glob.glob(path))
    if not files:
        raise DataError(f"no data files match {path}")
    suffixes = sorted({Path(f).suffix.lower() for f in files})
    unknown = [s for s in suffixes if s not in READERS]
    if unknown or len(suffixes) > 1:
        raise DataError(f"cannot read {path}: " + (
            f"unsupported format {unknown[0] or '(none)'!r}; use one of "
            f"{', '.join(sorted(READERS))}" if unknown else
            f"it mixes formats ({', '.join(suffixes)}); give files of one kind"))
    files = [os.path.abspath(f) for f in files]  # (the workers may run elsewhere)
    separator = READERS[suffixes[0]]
    try:
        frame = dd.read_parquet(files) if separator is None else \
            dd.read_csv(files, sep=separator)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    return frame, path


def _complete_rows(frame, columns):
    """The rows of ``frame`` without a missing value in ``columns`` (``--dropna``)."""
    return frame[~missing_rows(frame, columns)]


def _summarise_all(client, pieces, features, target, fraction, seed):
    """The encoding's pass over the partitions, in order, as a chain of tasks; returns
    ``(column summaries, target summary, rows, held-out rows)``."""
    dask = require("dask")
    state = ([ColumnSummary(name, cap=MAX_CATEGORIES + 1) for name in features],
             TargetSummary(target), 0, 0)
    for number, piece in enumerate(pieces):
        state = dask.delayed(_summarise, pure=False)(state, piece, number, fraction, seed)
    return client.compute(state).result()


def _summarise(state, frame, number, fraction, seed):
    """One partition's values taken into the summaries (rows named in the whole table)."""
    summaries, target_summary, first, held_rows = state
    train_rows = ~held_out(np.arange(first, first + len(frame)), fraction, seed)
    where = functools.partial(_where, number, first)
    for summary in summaries:
        values = _values(frame, summary.name)
        summary.count(values, where)
        if summary.may_be_numeric:
            summary.measure(values[train_rows])
    values = _values(frame, target_summary.name)
    target_summary.count(values, where)
    target_summary.measure(values[train_rows])
    return summaries, target_summary, first + len(frame), held_rows + int((~train_rows).sum())


def _where(number, first, row):
    return f"data row {first + row} (counting from 0; row {row} of partition {number})"


def _encoded_piece(frame, _, encoder, target, labels, classes, mean, scale):
    """A partition encoded as the network takes it: the features' matrix and the class
    codes, or the standardised target."""
    X = encoder.check_representable(encoder.transform(frame), np.float32)
    values = _values(frame, target)
    if classes is not None:
        return X, encode_labels(labels.labels_of(values), classes)[0]
    return X, (values.astype(np.float64) - mean) / scale
