"""Turning a table of mixed columns into the numbers a network takes, and back.

Numeric columns are standardised (mean 0, standard deviation 1, fitted on the training
data); text, boolean and other categorical columns are one-hot encoded with the
categories seen in training. The fitted state is plain JSON data, so it can live inside
a model file. Works on any table with ``columns`` and ``frame[name]`` (pandas).
"""

import numpy as np

from descent.errors import DescentValueError, ShapeError


def _is_numeric(values):
    return values.dtype.kind in "iuf"


def _missing(values):
    if values.dtype.kind == "f":
        return ~np.isfinite(values)
    if values.dtype == object:
        return np.array([v is None or (isinstance(v, float) and not np.isfinite(v))
                         for v in values], dtype=bool)
    return np.zeros(len(values), dtype=bool)


def missing_rows(frame, columns):
    """Boolean mask of rows with a NaN, infinite or empty value in any of ``columns``."""
    mask = np.zeros(len(frame), dtype=bool)
    for name in columns:
        mask |= _missing(np.asarray(frame[name].to_numpy()))
    return mask


def check_complete(frame, columns):
    """Raise, naming the column and the data row, if any value is missing or infinite."""
    for name in columns:
        _check_finite(np.asarray(frame[name].to_numpy()), name,
                      "fill them, or drop those rows (--dropna)")


class TableEncoder:
    """Fit on training columns; ``transform`` gives a float matrix for the network."""

    def fit(self, frame, columns, categories_from=None):
        """Learn the statistics of ``frame``'s ``columns``.

        Categories are taken from ``categories_from`` when given (e.g. all rows, so that
        a category met only in the validation rows can still be encoded); the numeric
        statistics always come from ``frame`` alone (the training rows).
        """
        if not columns:
            raise DescentValueError("there are no feature columns left to train on")
        source = frame if categories_from is None else categories_from
        self.columns = []
        for name in columns:
            values = np.asarray(frame[name].to_numpy())
            _check_finite(values, name)
            if _is_numeric(values):
                values = values.astype(np.float64)
                std = float(values.std())
                self.columns.append({"name": str(name), "kind": "numeric",
                                     "mean": float(values.mean()),
                                     "scale": std if std > 0 else 1.0})
            else:
                categories = sorted({str(v) for v in source[name].to_numpy()})
                self.columns.append({"name": str(name), "kind": "categorical",
                                     "categories": categories})
        return self

    def transform(self, frame):
        present = {str(c) for c in frame.columns}
        absent = [c["name"] for c in self.columns if c["name"] not in present]
        if absent:
            raise ShapeError(f"the data lacks the column(s) {absent} that the model was "
                             "trained on")
        blocks = []
        for column in self.columns:
            values = np.asarray(frame[column["name"]].to_numpy())
            _check_finite(values, column["name"])
            if column["kind"] == "numeric":
                if not _is_numeric(values):
                    raise DescentValueError(
                        f"column {column['name']!r} should hold numbers (as in training), "
                        f"found values like {values[0]!r}")
                blocks.append(((values.astype(np.float64) - column["mean"])
                               / column["scale"])[:, None])
            else:
                blocks.append(self._one_hot(values, column))
        return np.hstack(blocks)

    @staticmethod
    def _one_hot(values, column):
        categories = column["categories"]
        index = {c: i for i, c in enumerate(categories)}
        codes = np.empty(len(values), dtype=np.intp)
        for row, value in enumerate(values):
            code = index.get(str(value))
            if code is None:
                raise DescentValueError(
                    f"column {column['name']!r}, row {row}: the value {str(value)!r} was not "
                    f"seen in training (known: {categories[:10]})")
            codes[row] = code
        out = np.zeros((len(values), len(categories)))
        out[np.arange(len(values)), codes] = 1.0
        return out

    def to_dict(self):
        return {"columns": self.columns}

    @classmethod
    def from_dict(cls, data):
        encoder = cls()
        columns = data.get("columns") if isinstance(data, dict) else None
        if not isinstance(columns, list) or not all(map(_well_formed, columns)):
            raise DescentValueError("the stored preprocessing is malformed")
        encoder.columns = columns
        return encoder


def _well_formed(column):
    if not isinstance(column, dict) or not isinstance(column.get("name"), str):
        return False
    if column.get("kind") == "numeric":
        return all(isinstance(column.get(k), (int, float)) and not isinstance(column.get(k), bool)
                   for k in ("mean", "scale")) and column["scale"] != 0
    return (column.get("kind") == "categorical" and isinstance(column.get("categories"), list)
            and all(isinstance(c, str) for c in column["categories"]))


def _check_finite(values, name, remedy="fill them or remove those rows"):
    bad = _missing(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DescentValueError(
            f"column {name!r} has {int(bad.sum())} missing or infinite value(s), the first "
            f"at data row {row} (counting from 0); {remedy}")
