"""Partitions: the rows of Dask collections as numbered pieces, and which shard holds which.

``X`` and ``y`` are split into row partitions — a Dask array's row chunks, a Dask
DataFrame's partitions — and partition ``p`` of ``X`` must hold the same rows as partition
``p`` of ``y``. The rows are numbered globally in partition order, as if the pieces were
stacked: that numbering is the one ``descent.train`` would see for the stacked arrays, so
the same seed draws the same batches. Each shard gets a contiguous block of partitions.
"""

import functools

import numpy as np

from descent.distributed.imports import require
from descent.distributed.worker import array_piece, frame_piece
from descent.errors import DescentTypeError, DescentValueError, ShapeError


class Partitions:
    """The pieces of ``X`` and ``y`` as Dask delayed objects, and how a worker turns a
    pair of them into NumPy arrays (``convert(x_piece, y_piece) -> (X, y)``).

    ``lengths`` are the rows of each partition where Dask knows them (a Dask array's
    chunks), else None (a DataFrame's: the shards count them).
    """

    def __init__(self, x_pieces, y_pieces, convert, lengths=None):
        if len(x_pieces) != len(y_pieces):
            raise ShapeError(f"X has {len(x_pieces)} partitions but y has {len(y_pieces)}: "
                             "X and y must be split into partitions of the same rows")
        self.x_pieces, self.y_pieces, self.convert = x_pieces, y_pieces, convert
        self.lengths = lengths

    def __len__(self):
        return len(self.x_pieces)

    def blocks(self, shards):
        """Contiguous blocks of partition numbers, one per shard (fewer when there are
        fewer partitions), balanced by rows where the rows are known."""
        count = len(self)
        shards = min(shards, count)
        weights = np.ones(count) if self.lengths is None else np.asarray(self.lengths, float)
        cumulative = np.cumsum(weights)
        bounds = [0]
        for k in range(1, shards):
            cut = int(np.argmin(np.abs(cumulative - cumulative[-1] * k / shards))) + 1
            bounds.append(min(max(cut, bounds[-1] + 1), count - (shards - k)))
        bounds.append(count)
        return [list(range(a, b)) for a, b in zip(bounds, bounds[1:])]


def is_dask_collection(value):
    """Whether ``value`` is a Dask collection (without importing Dask when it is not)."""
    dask = require("dask") if type(value).__module__.startswith("dask") else None
    return dask is not None and dask.is_dask_collection(value)


def _is_frame(value):
    return hasattr(value, "npartitions") and hasattr(value, "columns")


def split(X, y, shards, features=None):
    """``Partitions`` of ``X`` and ``y``.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame
        The features, rows by columns.
    y : dask.array.Array, dask.dataframe.Series or DataFrame, or str
        The targets, split like ``X``; or the name of ``X``'s target column (a
        DataFrame's).
    shards : int
        The shards the rows will be spread over: a Dask array with fewer row chunks is
        rechunked into this many.
    features : list of str, optional
        A DataFrame's feature columns (default: every column but the target).

    ``X`` may also be ``Partitions`` already (``y`` None): a face that reads and encodes
    tables itself (``descent.distributed.cli_train``) hands its partitions over so.
    """
    if isinstance(X, Partitions) and y is None:
        return X
    if not is_dask_collection(X):
        raise DescentTypeError(
            f"X must be a Dask array or Dask DataFrame, got {type(X).__name__}; for data "
            "in memory use descent.train, or wrap it: dask.array.from_array(X, "
            "chunks=(rows_per_worker, -1))")
    if _is_frame(X):
        return _split_frame(X, y, features)
    if features is not None:
        raise DescentValueError("features= picks a DataFrame's columns; X is a Dask array")
    if isinstance(y, str) or not is_dask_collection(y):
        raise DescentTypeError(
            f"with X a Dask array, y must be a Dask array split into the same row chunks, "
            f"got {type(y).__name__}")
    return _split_arrays(X, y, shards)


def _split_arrays(X, y, shards):
    if X.ndim not in (1, 2):
        raise ShapeError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    if y.ndim not in (1, 2):
        raise ShapeError(f"y must be 1-D or 2-D (one row per example), got {y.ndim}-D")
    if X.ndim == 2 and X.numblocks[1] > 1:
        X = X.rechunk({1: -1})  # a worker needs whole rows
    if y.ndim == 2 and y.numblocks[1] > 1:
        y = y.rechunk({1: -1})
    known = not any(np.isnan(X.chunks[0])) and not any(np.isnan(y.chunks[0]))
    if known and X.shape[0] != y.shape[0]:
        raise ShapeError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if known and X.chunks[0] != y.chunks[0]:
        raise ShapeError(
            f"X and y are split into different row chunks (X: {_shown(X.chunks[0])}, y: "
            f"{_shown(y.chunks[0])}): partition p of X must hold the rows of partition p "
            "of y. Rechunk one like the other: y = y.rechunk({0: X.chunks[0]})")
    if known and X.numblocks[0] < shards <= X.shape[0]:
        rows = _even(X.shape[0], shards)  # one chunk per shard at least
        X, y = X.rechunk({0: rows}), y.rechunk({0: rows})
    x_pieces = list(X.to_delayed().reshape(-1))
    y_pieces = list(y.to_delayed().reshape(-1))
    lengths = [int(n) for n in X.chunks[0]] if known else None
    return Partitions(x_pieces, y_pieces, array_piece, lengths)


def _split_frame(X, y, features):
    if isinstance(y, str):
        if y not in X.columns:
            raise DescentValueError(f"the target column {y!r} is not in X; its columns: "
                                    f"{_shown(list(X.columns))}")
        pieces = list(X.to_delayed())
        return Partitions(pieces, [None] * len(pieces),
                          functools.partial(frame_piece, target=y, features=features))
    if not is_dask_collection(y) or not hasattr(y, "npartitions"):
        raise DescentTypeError(
            "with X a Dask DataFrame, y must be the name of its target column or a Dask "
            f"Series or DataFrame with the same partitions, got {type(y).__name__}")
    if y.npartitions != X.npartitions:
        raise ShapeError(f"X has {X.npartitions} partitions but y has {y.npartitions}: "
                         "partition p of X must hold the rows of partition p of y")
    return Partitions(list(X.to_delayed()), list(y.to_delayed()),
                      functools.partial(frame_piece, target=None, features=features))


def _even(total, parts):
    """``total`` rows in ``parts`` chunks whose sizes differ by at most one."""
    size, extra = divmod(total, parts)
    return tuple(size + (k < extra) for k in range(parts))


def _shown(values, limit=8):
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return f"({shown}{', …' if len(values) > limit else ''})"
