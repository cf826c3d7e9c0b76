"""The worker's side: a ``Shard`` holds some partitions' rows and a replica of the model,
and runs descent's own forward and backward passes on them.

A shard lives on one Dask worker as an actor, next to its data. It never updates the
client's model: in synchronous mode it returns, for the rows of a global batch that it
holds, the *sum* of the per-example gradients (and of the loss and the metrics' counts);
the client adds the shards' sums up in a fixed order and takes the optimiser step. In
local-SGD mode it takes optimiser steps on its own rows for a few batches, starting from
the parameters and optimiser state the client sends, and returns where it got to.

It keeps no training state between calls beyond the epoch's batch order, so a shard
lost with its worker is rebuilt from its partitions and the last call is repeated:
nothing is lost.
"""

import ctypes

import numpy as np

from descent.autograd.tensor import no_grad
from descent.data.preprocessing import as_features, batches
from descent.data.streaming import held_out
from descent.errors import DescentTypeError, ShapeError
from descent.training.checkpoint import _digest as digest
from descent.training.loop import Targets

# Rows that go through the network at once: a batch larger than this is done in blocks
# whose gradient sums add up, so a shard's memory does not grow with its batch share
# (a 784-256-256-10 network holds about 17 KB of activations and error terms per row).
BLOCK_ROWS = 8_192
# What each call adds up over its rows (a regression's also per output column: "columns")
SUMS = ("loss", "count", "correct", "squared", "absolute")


def set_blas_threads(threads):
    """Give every BLAS and OpenMP pool of this process ``threads`` threads (Dask's nanny
    sets 1 through the environment before the worker starts; this says it explicitly).
    The limit holds until the process ends."""
    from descent.distributed.imports import require

    return require("threadpoolctl").threadpool_limits(limits=threads)


# Dask's nanny starts a worker with MALLOC_TRIM_THRESHOLD_=65536 (to hand memory back to
# the system soon), and a threshold set so also pins glibc's mmap threshold at 128 KiB:
# every array of a batch's forward and backward pass is then a fresh mmap that the kernel
# zeroes, and training ran twice as slowly (measured: 784-256-256-10, 128 rows a step,
# 57 ms instead of 27 for 16 steps). A shard raises both thresholds (glibc's mallopt;
# elsewhere nothing changes): arrays up to 32 MiB come from the heap, which keeps up to
# 128 MiB it no longer uses.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
_TRIM_BYTES, _MMAP_BYTES = 128 << 20, 32 << 20


def tune_allocator():
    """Raise glibc's mmap and trim thresholds for this process (see above); whether it
    could."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES))


def worker_threads():
    """The threads Dask gave the worker this code runs on."""
    from descent.distributed.imports import require

    return require("distributed").get_worker().state.nthreads


def _features(X, name):
    """``X`` checked as ``descent.train`` checks its features; a partition may be empty."""
    X = np.asarray(X)
    if X.ndim == 2 and len(X) == 0 and X.dtype.kind in "biuf":
        return X
    return as_features(X, name)


def _column_stats(values):
    """(rows, column means, column sums of squared deviations) of ``values`` (rows, k),
    for combining into the total sum of squares that R² needs (Chan et al.'s update)."""
    rows = len(values)
    if rows == 0:
        return 0, np.zeros(values.shape[1]), np.zeros(values.shape[1])
    mean = values.mean(axis=0)
    centred = values - mean
    return rows, mean, (centred * centred).sum(axis=0)


class Shard:
    """Some partitions' rows, and the model, loss and optimiser replicas that train on them.

    Parameters
    ----------
    partitions : list of int
        The global numbers of the partitions, in order (a contiguous block).
    x_pieces, y_pieces : list
        Their contents, as Dask delivers them (NumPy chunks, pandas partitions).
    convert : callable
        ``convert(x_piece, y_piece) -> (X, y)`` as NumPy arrays.
    setup : dict
        ``model`` and ``optimizer`` (pickled together, so the replica optimiser holds the
        replica's parameters), ``loss`` (the loss function), ``threads`` (BLAS threads;
        None: the worker's), ``digests`` (whether to hash the data for checkpoints).

    Building one sets up its worker process for training: its BLAS threads
    (``set_blas_threads``) and its memory allocator (``tune_allocator``).
    """

    def __init__(self, partitions, x_pieces, y_pieces, convert, setup):
        threads = setup["threads"] or worker_threads()
        self._threads = set_blas_threads(threads)
        tune_allocator()
        self.model, self.optimizer = setup["model"], setup["optimizer"]
        self.loss_fn = setup["loss"]
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        dtype = self.model._input_dtype()
        self.pieces = []
        self.summary = {"rows": [], "columns": None, "digests": [], "labels": None}
        for number, x_piece, y_piece in zip(partitions, x_pieces, y_pieces):
            X, y = convert(x_piece, y_piece)
            X = _features(X, f"partition {number} of X")
            y = np.asarray(y)
            if y.ndim == 0 or len(y) != len(X):
                raise ShapeError(
                    f"partition {number} has {len(X)} rows of X but "
                    f"{y.size if y.ndim == 0 else len(y)} of y: X and y must be split into "
                    "partitions of the same rows (rechunk y to X's chunks, or take both "
                    "from one DataFrame)")
            columns = self.summary["columns"]
            if columns is not None and X.shape[1] != columns:
                raise ShapeError(f"partition {number} of X has {X.shape[1]} columns, the "
                                 f"ones before it {columns}")
            self.summary["columns"] = X.shape[1]
            if setup["digests"]:
                self.summary["digests"].append([digest(X), digest(y)])
            self.pieces.append((X.astype(dtype, copy=False), y))
            self.summary["rows"].append(len(X))
        labels = [np.unique(y) for _, y in self.pieces if y.dtype.kind not in "biuf"]
        if labels:
            self.summary["labels"] = np.unique(np.concatenate(labels)).tolist()
        self.targets = self.val_targets = self.epoch = None

    def describe(self):
        """What the client needs to know first: rows and columns of each partition, the
        data's digests, the distinct labels (for text labels)."""
        return self.summary

    def split(self, offsets, fraction, seed):
        """Hold out validation rows — ``descent.data.streaming.held_out`` of each row's
        position in the whole data (its partition's ``offsets`` entry on), the rows a
        streaming dataset of the same table holds out — and keep the rest for training,
        in order; returns ``(training rows, validation rows)``."""
        xs, ys, val_xs, val_ys = [], [], [], []
        for offset, (X, y) in zip(offsets, self.pieces):
            held = held_out(np.arange(offset, offset + len(X)), fraction, seed)
            kept = ~held
            xs.append(X if kept.all() else X[kept])
            ys.append(y if kept.all() else y[kept])
            val_xs.append(X[held])
            val_ys.append(y[held])
        self.pieces = None  # (the rows live on in X and X_val)
        self.X = xs[0] if len(xs) == 1 else np.concatenate(xs)
        self.y = ys[0] if len(ys) == 1 else np.concatenate(ys)
        self.X_val = np.concatenate(val_xs) if fraction else None
        self.y_val = np.concatenate(val_ys) if fraction else None
        return len(self.X), 0 if self.X_val is None else len(self.X_val)

    def prepare(self, first_row, task, classes, one_hot, logits, sample_rows):
        """Encode the targets, given the global number of this shard's first training
        row and what the whole data set decided (the classes, one-hot width); return the
        sample rows it holds (for the client's checks) and its targets' statistics."""
        self.first_row = first_row
        self.targets = Targets(self.y, task, classes, one_hot, logits=logits)
        self.val_targets = None if self.X_val is None else \
            Targets(self.y_val, task, self.targets.classes, one_hot, logits=logits)
        mine = sample_rows[(sample_rows >= first_row)
                           & (sample_rows < first_row + len(self.X))] - first_row
        regression = task == "regression"
        return {
            "sample": (self.X.take(mine, axis=0), self.targets.subset(mine)),
            "width": self.targets.values.shape[1] if self.targets.values.ndim > 1 else 1,
            "stats": _column_stats(self.targets.values) if regression else None,
            "val_stats": _column_stats(self.val_targets.values)
            if regression and self.val_targets is not None else None,
        }

    def begin_epoch(self, generator, state, total, batch_size, shuffle):
        """Draw the epoch's batches as ``descent.train`` does — ``batches()`` on a
        generator in the client's state — and keep, for each batch, the positions of the
        rows this shard holds, in the batch's order."""
        rng = np.random.Generator(getattr(np.random, generator)())
        rng.bit_generator.state = state
        drawn = list(batches(total, batch_size, shuffle, rng))
        order = np.concatenate(drawn) - self.first_row
        here = (order >= 0) & (order < len(self.X))
        ends = np.cumsum([len(index) for index in drawn])
        self.epoch = (order[here], np.concatenate([[0], np.cumsum(here)[ends - 1]]))

    def _rows(self, batch):
        positions, bounds = self.epoch
        return positions[bounds[batch]:bounds[batch + 1]]

    def _set(self, params):
        for p, value in zip(self.trainable, params):
            p.data[...] = value

    def gradient(self, batch, params):
        """Synchronous mode: the sums over this shard's rows of batch ``batch`` at the
        parameters ``params`` — loss, rows, metric counts, and the per-example gradients
        (None when it holds none of the batch's rows, or the loss is not finite)."""
        self._set(params)
        with np.errstate(over="ignore", invalid="ignore"):
            sums, grads = self._gradient_sums(self._rows(batch))
        return sums, grads

    def _gradient_sums(self, rows):
        sums = dict.fromkeys(SUMS, 0.0)
        grads = None
        self.model.train()
        for start in range(0, len(rows), BLOCK_ROWS):
            block = rows[start:start + BLOCK_ROWS]
            xb, yb = self.X.take(block, axis=0), self.targets.subset(block)
            for p in self.trainable:
                p.grad = None
            output = self.model(xb)
            loss = self.loss_fn(output, yb)
            value = loss.item()
            self._add(sums, self.targets, value, output.data, yb)
            if not np.isfinite(value):
                return sums, None
            (loss * len(block)).backward()  # the mean's gradient times the rows: a sum
            if grads is None:
                grads = [p.grad for p in self.trainable]
                continue
            for index, p in enumerate(self.trainable):
                if p.grad is not None:  # (None: a parameter the loss does not reach)
                    grads[index] = p.grad if grads[index] is None else grads[index] + p.grad
        return sums, grads

    @staticmethod
    def _add(sums, targets, value, output, target):
        """Add one block's loss (``value``, its mean), rows and metric counts to ``sums``,
        as ``descent.train`` counts them for an epoch."""
        rows = len(target)
        sums["loss"] += value * rows
        sums["count"] += rows
        if targets.task == "regression":
            error = output.reshape(target.shape) - target
            squares = (error * error).reshape(rows, -1).sum(axis=0)  # per output column
            sums["columns"] = squares if "columns" not in sums else sums["columns"] + squares
            sums["squared"] += float(np.dot(error.reshape(-1), error.reshape(-1)))
            sums["absolute"] += float(np.abs(error).sum())
        else:
            sums["correct"] += int(np.count_nonzero(targets.correct(output, target)))

    def local_round(self, first_batch, count, params, optimizer_state):
        """Local-SGD mode: from ``params`` and ``optimizer_state``, take one optimiser
        step per batch ``first_batch .. first_batch + count - 1`` on this shard's rows of
        it (the mean gradient over them); return each batch's sums, the rows used, and
        the parameters and optimiser state reached (None when no rows were used)."""
        self._set(params)
        self.optimizer.load_state_dict(optimizer_state)
        done, used = [], 0
        with np.errstate(over="ignore", invalid="ignore"):
            for batch in range(first_batch, first_batch + count):
                rows = self._rows(batch)
                sums, grads = self._gradient_sums(rows)
                done.append(sums)
                if grads is None:  # no rows here, or a loss that is not finite
                    if len(rows):
                        break
                    continue
                for p, grad in zip(self.trainable, grads):
                    p.grad = None if grad is None else grad / len(rows)
                self.optimizer.step()
                used += len(rows)
        if not used:
            return done, 0, None, None
        return done, used, [p.data for p in self.trainable], self.optimizer.state_dict()

    def evaluate(self, params):
        """The sums over this shard's held-out rows at ``params``, in evaluation mode and
        without a graph (as ``descent.train`` scores validation data)."""
        self._set(params)
        sums = dict.fromkeys(SUMS, 0.0)
        self.model.eval()
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, len(self.X_val), BLOCK_ROWS):
                xb = self.X_val[start:start + BLOCK_ROWS]
                yb = self.val_targets.values[start:start + BLOCK_ROWS]
                output = self.model(xb)
                self._add(sums, self.val_targets, self.loss_fn(output, yb).item(),
                          output.data, yb)
        self.model.train()
        return sums


def array_piece(x, y):
    """A Dask array's chunks as they are."""
    return np.asarray(x), np.asarray(y)


def frame_piece(frame, y, target, features):
    """A DataFrame partition's feature columns (all but ``target``, or ``features``) as a
    matrix, and its target: the column ``target``, or the Series partition ``y``."""
    columns = features if features is not None else \
        [c for c in frame.columns if target is None or c != target]
    chosen = frame[columns]
    text = [str(c) for c, kind in chosen.dtypes.items() if kind.kind not in "biuf"]
    if text:
        raise DescentTypeError(
            f"feature column(s) {', '.join(map(repr, text))} do not hold numbers; encode "
            "them first (descent.distributed.cli_train one-hot encodes text columns) or "
            "drop them")
    values = frame[target] if y is None else y
    return chosen.to_numpy(), np.asarray(values.to_numpy())
