"""``descent.distributed.train``: data-parallel training on a Dask cluster.

The client runs the loop of ``descent.train`` — epochs, batches drawn by the same
``batches()`` from the same seed, the epoch's record, stopping criteria, callbacks, the
progress bar, checkpoints, divergence checks — and holds the model and the optimiser. The
data stays on the workers, in shards (``worker.Shard``), which run descent's forward and
backward passes on their rows of each batch and send back sums: gradients, the loss,
metric counts. The step is ``sync.synchronous_step`` (the result of ``descent.train``, to
rounding) or, with ``sync_every=H``, ``local.local_round`` (local SGD).
"""

import hashlib
import math
import time

import numpy as np

from descent.autograd.backend import as_rng
from descent.data.preprocessing import as_features, batches
from descent.distributed.imports import require
from descent.distributed.local import local_round
from descent.distributed.partitions import is_dask_collection, split
from descent.distributed.pool import ShardPool
from descent.distributed.reduce import add_sums
from descent.distributed.sync import synchronous_step
from descent.errors import DescentTypeError, DescentValueError, ShapeError
from descent.nn.inspect import dead_unit_fractions, output_activation
from descent.nn.layers import Sequential
from descent.nn.module import Module
from descent.optim.optimizers import LBFGS, get_optimizer
from descent.training.callbacks import Callback, ProgressBar, progress_wanted
from descent.training.checkpoint import (Checkpointing, describe_run,
                                         describe_seed)
from descent.training.history import History
from descent.training.loop import (_GROWTH, _LOSS_FLOOR, _SAME_SHAPE_LOSSES, _SAMPLE_ROWS,
                                   Targets, _check_monitors, _check_positive_int,
                                   _diverged, _grown, _instances, _norm, _output_width,
                                   _quick_norm, _untrained_loss, _warn_about_step_units,
                                   begin_epochs, data_loss, end_epoch, end_training,
                                   evaluate_model, loss_and_task, resume)
from descent.training.stopping import Criterion, MaxEpochs, WeightChange


def train(model, X, y, *, client=None, loss="mse", optimizer="sgd", lr=None, batch_size=None,
          epochs=100, shuffle=True, seed=None, stop=(), validation=None, callbacks=(),
          progress=None, classes=None, task=None, checkpoint=None, checkpoint_every=1,
          resume=False, diagnostics=True, sync_every=None, shards=None, threads=None,
          features=None):
    """Train ``model`` on Dask collections ``(X, y)`` across a cluster; return the
    ``History``.

    The options shared with ``descent.train`` mean what they mean there, and in
    synchronous mode (the default) the run is that of ``descent.train`` on the stacked
    arrays — the same batches for the same seed, the same updates to floating-point
    rounding, the same history.

    Parameters
    ----------
    model : Module
        Built on the client; every shard gets a replica.
    X : dask.array.Array or dask.dataframe.DataFrame
        The features, split into row partitions (a Dask array's row chunks); a worker
        reads each partition where it will be used.
    y : dask.array.Array, dask Series or DataFrame, or str
        The targets, split into the same partitions as ``X``; or the name of the target
        column of a DataFrame ``X``.
    client : distributed.Client, optional
        The cluster (default: the current client, ``distributed.get_client()``).
    loss, optimizer, lr, batch_size, epochs, shuffle, seed, stop, callbacks, progress,
    classes, task, checkpoint, checkpoint_every, resume, diagnostics
        As in ``descent.train``. L-BFGS is not offered (its line search would cost a
        round trip per evaluation). Local SGD records no ``grad_norm``. A checkpoint
        describes the data by its partitions' digests, so a resumed run needs the same
        data in the same partitions; it may run on a cluster of another size.
    validation : float or (X_val, y_val), optional
        A pair is scored on the client, in memory, as ``descent.train`` scores it (a Dask
        pair is computed first). A fraction is held out on the workers and scored there:
        the rows a streaming dataset holds out (``descent.data.streaming.held_out``, a
        hash of each row's position and the seed: about that fraction, not stratified,
        whatever the partitions); it needs an integer ``seed``.
    sync_every : int, optional
        None (default): synchronous — every batch's gradient sums are reduced and the
        client takes one step. H: local SGD — each shard takes H steps on its rows of H
        batches, then the client averages parameters and optimiser state (see
        ``descent.distributed.local``); H=1 averages after every step, which is not
        synchronous training.
    shards : int, optional
        How many pieces the rows are split into (default: the cluster's workers when
        training starts). Each is a contiguous block of partitions, held by one worker;
        the reduction adds the shards' sums in shard order, so the same shards give the
        same numbers bit for bit, wherever they run.
    threads : int, optional
        BLAS threads per worker, set explicitly with threadpoolctl (default: the worker's
        Dask threads).
    features : list of str, optional
        A DataFrame's feature columns (default: all but the target).

    Returns
    -------
    History
        Per-epoch records, as ``descent.train`` returns them.

    Raises
    ------
    TrainingDiverged, CheckpointError
        As ``descent.train``.
    WorkersLost
        When workers die faster than their shards can be rebuilt (a lost worker is
        otherwise survived: its shards are rebuilt elsewhere and the step repeated).

    Examples
    --------
    (needs a data file or a cluster, so shown rather than run)::

        import dask.array as da, descent, descent.distributed
        from distributed import Client, LocalCluster
        client = Client(LocalCluster(n_workers=2, processes=True))
        X = da.random.default_rng(0).normal(size=(10_000, 8), chunks=(5_000, 8))
        y = (X[:, 0] > 0).astype(int)
        model = descent.nn.MLP([8, 16, 2], rng=0)
        history = descent.distributed.train(model, X, y, client=client,
            loss="cross_entropy", optimizer="adam", batch_size=1_000, epochs=5,
            seed=0)
    """
    if not isinstance(model, Module):
        raise DescentTypeError(f"model must be a descent Module, got {type(model).__name__}")
    epochs = _check_positive_int("epochs", epochs)
    criteria = [MaxEpochs(epochs),
                *_instances(stop, Criterion, "stop", "a Criterion from descent.stopping "
                            "(such as EarlyStopping(patience=10))")]
    callbacks = _instances(callbacks, Callback, "callbacks",
                           "a Callback (a subclass of descent.callbacks.Callback)")
    _warn_about_step_units(model)
    batch_size = _check_positive_int("batch_size", batch_size, allow_none=True)
    sync_every = _check_positive_int("sync_every", sync_every, allow_none=True)
    shards = _check_positive_int("shards", shards, allow_none=True)
    threads = _check_positive_int("threads", threads, allow_none=True)
    loss_fn, task = loss_and_task(loss, task, model)
    if lr is not None and not isinstance(optimizer, str):
        raise DescentValueError("lr= is for an optimizer given by name; set the learning "
                                "rate on the optimiser instance instead")
    optimizer = get_optimizer(optimizer, model.parameters(),
                              **({} if lr is None else {"lr": lr}))
    if isinstance(optimizer, LBFGS):
        raise DescentValueError("L-BFGS does not run on a cluster (its line search evaluates "
                                "the loss many times a step); use descent.train, or 'adam'")
    fraction = _check_validation(validation, seed)
    seed_described = None if checkpoint is None else describe_seed(seed)  # before any draw
    checkpointing = None if checkpoint is None else \
        Checkpointing(checkpoint, checkpoint_every, resume)
    _check_monitors(criteria, validation is not None, task)
    client = _client(client)
    shards = shards or max(len(client.scheduler_info()["workers"]), 1)
    partitions = split(X, y, shards, features)
    one_hot = None
    if task == "multiclass" and data_loss(loss_fn) in _SAME_SHAPE_LOSSES:
        one_hot = len(classes) if classes is not None else _output_width(model)
    logits = True if task == "multilabel" and output_activation(model) != "sigmoid" else None
    pool = ShardPool(client, partitions, shards, {
        "model": model, "optimizer": optimizer, "loss": loss_fn, "threads": threads,
        "digests": checkpoint is not None})
    try:
        data = _prepare(pool, task, classes, one_hot, logits, fraction, seed)
        if batch_size is not None and batch_size > data.rows:
            raise DescentValueError(
                f"batch_size {batch_size} is larger than the {data.rows} training examples; "
                "use batch_size=None for batch gradient descent")
        held = None
        if isinstance(validation, (tuple, list)):
            X_val = as_features(_in_memory(validation[0]), "validation X")
            if X_val.shape[1] != data.columns:
                raise ShapeError(f"validation X has {X_val.shape[1]} columns, X has "
                                 f"{data.columns}")
            held = (X_val.astype(model._input_dtype(), copy=False),
                    Targets(_in_memory(validation[1]), task, data.classes, one_hot,
                            logits=logits))
        if progress_wanted(progress):
            callbacks.append(ProgressBar(epochs))
        if checkpointing is not None:
            checkpointing.run = _describe(model, optimizer, criteria, data, held, {
                "loss": getattr(loss_fn, "__name__", type(loss_fn).__name__), "task": task,
                "classes": None if data.classes is None else [str(c) for c in data.classes],
                "batch_size": batch_size, "shuffle": bool(shuffle), "seed": seed_described,
                "validation": fraction if fraction else None if held is None else "data",
                "distributed": "synchronous" if sync_every is None else
                f"local SGD over {len(pool)} shards, averaged every {sync_every} steps"})
        return _run(pool, model, data, held, loss_fn, optimizer, batch_size, shuffle,
                    as_rng(seed), criteria, callbacks, checkpointing, diagnostics,
                    sync_every)
    finally:
        pool.close()


def _check_validation(validation, seed):
    """The fraction to hold out on the workers (0.0 for none or a pair given)."""
    if validation is None:
        return 0.0
    if isinstance(validation, float):
        if not 0.0 < validation < 1.0:
            raise DescentValueError(f"validation must be a fraction in (0, 1), got "
                                    f"{validation!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise DescentValueError(
                "validation=<fraction> on a cluster needs an integer seed=, so that every "
                "shard (and a resumed run) holds out the same rows")
        return validation
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        return 0.0
    raise DescentValueError("validation must be a fraction such as 0.2 or a pair (X_val, "
                            f"y_val), got {type(validation).__name__}")


def _in_memory(values):
    return values.compute() if is_dask_collection(values) else values


def _client(client):
    distributed = require("distributed")
    if client is None:
        try:
            return distributed.get_client()
        except ValueError:
            raise DescentValueError(
                "no Dask client: pass client=distributed.Client(address), or start one "
                "(e.g. distributed.Client(distributed.LocalCluster(n_workers=2)))") from None
    if not isinstance(client, distributed.Client):
        raise DescentTypeError(f"client must be a distributed.Client, got "
                               f"{type(client).__name__}")
    return client


class _Data:
    """What the shards told the client about the data: rows, columns, classes, a sample
    of rows spread over it, its targets' sums of squares, digests."""


def _prepare(pool, task, classes, one_hot, logits, fraction, seed):
    """Build the shards, hold out the validation rows, encode the targets; return a
    ``_Data``."""
    described = pool.start()
    data = _Data()
    columns = {d["columns"] for d in described} - {None}
    if len(columns) > 1:
        raise ShapeError(f"X's partitions have different numbers of columns: "
                         f"{sorted(columns)}")
    data.columns = columns.pop() if columns else 0
    data.digests = [entry for d in described for entry in d["digests"]]
    # every row's position in the whole data, partition after partition
    starts = np.cumsum([0] + [rows for d in described for rows in d["rows"]])
    ends = np.cumsum([len(d["rows"]) for d in described])
    parts = pool.remember("split", lambda k: (starts[ends[k] - len(described[k]["rows"]):
                                                     ends[k]].tolist(), fraction, seed))
    data.rows = sum(train for train, _ in parts)
    data.validation_rows = sum(held for _, held in parts)
    if data.rows == 0:
        raise DescentValueError("X is empty: it has no rows to train on" if not starts[-1]
                                else "every row was held out for validation; hold out a "
                                "smaller fraction")
    if fraction and not data.validation_rows:
        raise DescentValueError(f"no row was held out for validation (validation="
                                f"{fraction:g} of {starts[-1]} rows); hold out a larger "
                                "fraction")
    labels = [label for d in described for label in (d["labels"] or [])]
    if classes is None and labels and task in ("multiclass", "binary"):
        classes = np.unique(np.asarray(labels))
    data.classes = None if classes is None else np.asarray(classes)
    firsts = np.cumsum([0] + [train for train, _ in parts])
    rows = np.linspace(0, data.rows - 1, min(data.rows, _SAMPLE_ROWS)).astype(np.intp)
    prepared = pool.remember("prepare", lambda k: (int(firsts[k]), task, data.classes,
                                                   one_hot, logits, rows))
    data.sample = np.concatenate([p["sample"][0] for p in prepared])
    data.sample_targets = np.concatenate([p["sample"][1] for p in prepared])
    data.width = prepared[0]["width"]
    data.task = task
    regression = task == "regression"
    data.squares = float(_squares([p["stats"] for p in prepared]).sum()) if regression \
        else 0.0
    data.val_squares = _squares([p["val_stats"] for p in prepared]) \
        if regression and data.validation_rows else None
    return data


def _squares(stats):
    """Per column, the sum of squared deviations from the mean of all the shards' rows,
    from each shard's (rows, means, sums of squared deviations)."""
    rows, mean, squares = 0, 0.0, 0.0
    for count, shard_mean, shard_squares in stats:
        if not count:
            continue
        delta, total = shard_mean - mean, rows + count
        squares = squares + shard_squares + delta * delta * (rows * count / total)
        mean = mean + delta * (count / total)
        rows = total
    return np.asarray(squares)


def _describe(model, optimizer, criteria, data, held, settings):
    """The run's description for its checkpoints, as ``describe_run`` gives it; the
    data described by its partitions' digests (each computed on its worker)."""
    run = describe_run(model, optimizer, criteria, {
        "validation X": None if held is None else held[0],
        "validation y": None if held is None else held[1].values}, settings)
    rows = data.rows + data.validation_rows
    for name, column in (("X", 0), ("y", 1)):
        combined = hashlib.sha256(" ".join(d[column] for d in data.digests).encode())
        run["data"][name] = {"shape": [rows, data.columns] if name == "X" else [rows],
                             "sha256": combined.hexdigest()}
    return run


def _metrics(task, width, sums, total_squares, prefix=""):
    """An epoch's loss and metrics from the shards' sums, as ``descent.train`` records
    them (training R² pools the columns, validation R² averages them, as there)."""
    count = sums["count"]
    record = {f"{prefix}loss": sums["loss"] / count}
    if task == "regression":
        record[f"{prefix}mse"] = sums["squared"] / (count * width)
        record[f"{prefix}mae"] = sums["absolute"] / (count * width)
        if prefix:
            columns, squares = np.asarray(sums["columns"]), np.asarray(total_squares)
            constant = np.where(columns == 0, 1.0, 0.0)
            scores = np.where(squares > 0, 1 - columns / np.where(squares > 0, squares, 1),
                              constant)
            record[f"{prefix}r2"] = float(scores.mean())
        else:
            record["r2"] = 1.0 - sums["squared"] / total_squares if total_squares > 0 else 0.0
    else:
        record[f"{prefix}accuracy"] = sums["correct"] / count
        record[f"{prefix}error_rate"] = 1.0 - record[f"{prefix}accuracy"]
    return record


def _run(pool, model, data, held, loss_fn, optimizer, batch_size, shuffle, rng, criteria,
         callbacks, checkpointing, diagnostics, sync_every):
    """The epochs, as ``descent.training.loop._run`` runs them, with the batches' work
    done by the shards."""
    history = History()
    history.engine = "graph"
    history.engine_reason = "the Dask workers run the graph engine on their shards"
    history.classes = data.classes
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    trainable = [p for _, p in named]
    watch_dead = diagnostics and isinstance(model, Sequential)
    watch_change = diagnostics or any(isinstance(c, WeightChange) for c in criteria)
    for criterion in criteria:
        criterion.on_train_begin(model)
    untrained = _untrained_loss(model, data.sample, data.sample_targets, loss_fn)
    limit = _GROWTH * max(untrained, _LOSS_FLOOR)
    epoch = resume(checkpointing, model, optimizer, rng, history, criteria)
    run = (model, optimizer, rng, history, criteria)
    start = begin_epochs(run, callbacks)
    with np.errstate(over="ignore", invalid="ignore"):
        while history.stop_reason is None:
            epoch += 1
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            before = [p.data.copy() for p in trainable]
            state = rng.bit_generator.state  # the shards draw the batches from it too
            count = sum(1 for _ in batches(data.rows, batch_size, shuffle, rng))
            pool.remember("begin_epoch", lambda k, state=state: (
                type(rng.bit_generator).__name__, state, data.rows, batch_size, shuffle))
            totals, first_over = [], None
            gradient_norms = [[] for _ in named]
            for first in range(0, count, sync_every or 1):
                if sync_every is None:
                    done, apply = [synchronous_step(pool, first, trainable, optimizer)], None
                else:
                    done, apply = local_round(pool, first, min(sync_every, count - first),
                                              trainable, optimizer)
                for batch, sums in enumerate(done, first):
                    value = sums["loss"] / sums["count"] if sums["count"] else math.nan
                    if not math.isfinite(value):
                        _diverged(history, epoch, batch, f"the loss became {value}",
                                  optimizer, named, before)
                    if value > limit and first_over is None:
                        first_over = batch
                    totals.append(sums)
                    if diagnostics and apply is None:
                        for norms, p in zip(gradient_norms, trainable):
                            if p.grad is not None:
                                norms.append(_quick_norm(p.grad))
                    for callback in callbacks:
                        callback.on_batch_end(epoch, batch, value)
                if apply is not None:
                    apply()
            sums = add_sums(totals)
            mean = sums["loss"] / sums["count"]
            if first_over is not None and mean > limit:
                _diverged(history, epoch, first_over, _grown(mean, untrained), optimizer,
                          named, before, restore=True)
            if not optimizer.parameters_finite():
                _diverged(history, epoch, count - 1, "the weights became NaN or infinite",
                          optimizer, named, before, restore=True)
            record = {"epoch": epoch, **_metrics(data.task, data.width, sums, data.squares)}
            if held is not None:
                record.update(evaluate_model(model, held[0], held[1], loss_fn, prefix="val_"))
            elif data.validation_rows:
                held_sums = add_sums(pool.call("evaluate", [p.data for p in trainable]))
                record.update(_metrics(data.task, data.width, held_sums, data.val_squares,
                                       prefix="val_"))
            record["lr"] = optimizer.lr
            if watch_change:
                for p, old in zip(trainable, before):
                    np.subtract(p.data, old, out=old)  # the epoch's change, in the copy
                record["weight_change"] = _norm(*before)
            if diagnostics and sync_every is None:
                record["grad_norm"] = {name: math.fsum(norms) / len(norms)
                                       for (name, _), norms in zip(named, gradient_norms)
                                       if norms}
            if watch_dead:
                fractions = dead_unit_fractions(model, data.sample)
                record["dead_fraction"] = float(np.mean(list(fractions.values()))) \
                    if fractions else None
            record["time"] = time.perf_counter() - start
            end_epoch(epoch, record, run, callbacks, checkpointing)
    return end_training(run, callbacks)
