"""The playground's data: TensorFlow Playground's 2-D problems on the square [−6, 6]²,
descent's own (spirals, moons) scaled onto it, and tables uploaded as CSV.

Each generator takes the number of points, a noise level from 0 to 50 (per cent, as
TensorFlow Playground's slider) and a seed, and returns ``(X, y)``: points of shape
(n, 2) and integer class labels, or numbers for the regression planes.
"""

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from descent.data import datasets as descent_datasets
from descent.data.preprocessing import split_indices
from descent.errors import DescentValueError
from descent.playground.settings import (MAX_CLASSES, UPLOAD_BYTES, UPLOAD_COLUMNS,
                                         UPLOAD_ROWS)

DOMAIN = (-6.0, 6.0, -6.0, 6.0)  # x1 from, x1 to, x2 from, x2 to
RADIUS = 5.0


def _jitter(rng, n, noise):
    """Uniform noise on both coordinates, up to ``noise`` per cent of the radius."""
    return rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise / 100


def circle(n, noise, rng):
    """Half the points in a disc of radius 2.5 (class 1), half in the ring from 3.5 to 5
    around it (class 0); noise moves points, not labels."""
    inner = np.arange(n) < n // 2
    radius = np.where(inner, rng.uniform(0, 0.5, n), rng.uniform(0.7, 1.0, n)) * RADIUS
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return X + _jitter(rng, n, noise), inner.astype(np.intp)


def xor(n, noise, rng):
    """Uniform on [−5, 5]², kept 0.3 away from the axes; class 1 where x1·x2 > 0."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    labels = (X[:, 0] * X[:, 1] > 0).astype(np.intp)
    return X + _jitter(rng, n, noise), labels


def gauss(n, noise, rng, classes=2):
    """One Gaussian cloud per class, the centres on a circle of radius 2√2 (for two
    classes at (2, 2) and (−2, −2)); the variance grows from 0.5 to 4 with the noise."""
    labels = np.arange(n) % classes
    angle = np.pi / 4 + 2 * np.pi * labels / classes
    centres = 2 * math.sqrt(2) * np.column_stack([np.cos(angle), np.sin(angle)])
    std = math.sqrt(0.5 + 3.5 * noise / 50)
    return centres + rng.normal(0, std, (n, 2)), labels.astype(np.intp)


def spiral(n, noise, rng, classes=2):
    """descent's interleaved spirals (``descent.datasets.spirals``), one arm per class,
    scaled to radius 5."""
    X, labels = descent_datasets.spirals(n, n_classes=classes, noise=noise / 100,
                                         turns=0.8, seed=rng)
    return X * RADIUS, labels


def moons(n, noise, rng):
    """descent's two interleaving half circles (``descent.datasets.moons``), centred and
    scaled by 3."""
    X, labels = descent_datasets.moons(n, noise=noise / 250, seed=rng)
    return (X - [0.5, 0.25]) * 3, labels


def plane(n, noise, rng):
    """Regression: the plane (x1 + x2) / 10, read at points moved by the noise."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    moved = X + _jitter(rng, n, noise)
    return X, (moved[:, 0] + moved[:, 1]) / 10


# (x1, x2, sign) of the bumps of the regression surface "multigauss"
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def multigauss(n, noise, rng):
    """Regression: six Gaussian bumps of height ±1 and width 1.2, read at points moved
    by the noise."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    moved = X + _jitter(rng, n, noise)
    target = sum(sign * np.exp(-((moved[:, 0] - a) ** 2 + (moved[:, 1] - b) ** 2)
                               / (2 * 1.2 ** 2)) for a, b, sign in _BUMPS)
    return X, target


GENERATORS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
              "moons": moons, "plane": plane, "multigauss": multigauss}
TAKES_CLASSES = ("gauss", "spiral")


def generate(name, points, noise, seed, classes=2):
    """``(X, y)`` of a built-in data set (a key of ``GENERATORS``).

    Examples
    --------
    >>> X, y = generate("spiral", 300, 10, seed=0, classes=3)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    """
    rng = np.random.default_rng(seed)
    extra = {"classes": classes} if name in TAKES_CLASSES else {}
    X, y = GENERATORS[name](points, noise, rng, **extra)
    return X.astype(np.float64), y


def split(X, y, train_ratio, seed, classification):
    """``(train rows, test rows)``: ``train_ratio`` per cent of the points to train on,
    the rest held out to test (per class, for classification); all of them train when
    there are too few to hold any out."""
    if len(X) < 2:
        return np.arange(len(X)), np.arange(0)
    try:
        return split_indices(len(X), 1 - train_ratio / 100, y if classification else None,
                             seed)
    except DescentValueError:  # too few points to hold some out
        return np.arange(len(X)), np.arange(0)


# ----------------------------------------------------------------------- uploaded tables
@dataclass
class Table:
    """An uploaded CSV: column names and, per column, its cells (strings) and, where
    every cell is a finite number, the numbers."""

    names: list
    cells: list
    numbers: list

    def numeric(self):
        return [name for name, values in zip(self.names, self.numbers) if values is not None]

    def column(self, name, what):
        if name not in self.names:
            raise DescentValueError(f"{what} column {_short(name)} is not in the table; its "
                                    f"columns are {', '.join(map(_short, self.names))}")
        return self.names.index(name)


def _short(text, limit=30):
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_table(data):
    """Parse an uploaded CSV (bytes): comma, semicolon or tab separated, with a header
    row or without one (then the columns are named "column 1", ...).

    Raises ``DescentValueError`` for anything but UTF-8 text within the limits
    (``UPLOAD_BYTES``, ``UPLOAD_ROWS`` rows, ``UPLOAD_COLUMNS`` columns), rows of
    different lengths, empty cells, or fewer than two rows and two columns.
    """
    if len(data) > UPLOAD_BYTES:
        raise DescentValueError(f"the file has {len(data):,} bytes; the playground takes "
                                f"at most {UPLOAD_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DescentValueError(f"the file is not UTF-8 text (byte {error.start}); save it "
                                "as a UTF-8 CSV") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if len(rows) > UPLOAD_ROWS + 1:
        raise DescentValueError(f"the file has {len(rows):,} rows; the playground takes at "
                                f"most {UPLOAD_ROWS:,}")
    width = len(rows[0]) if rows else 0
    if width > UPLOAD_COLUMNS:
        raise DescentValueError(f"the file has {width} columns; the playground takes at most "
                                f"{UPLOAD_COLUMNS}")
    if width < 2 or len(rows) < 2:
        raise DescentValueError("the file needs at least two columns (two inputs, or one "
                                "and a label) and two rows")
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise DescentValueError(f"row {number} has {len(row)} cells, the first row has "
                                    f"{width}")
    header = any(_number(cell) is None for cell in rows[0]) and \
        any(_number(a) is None and _number(b) is not None for a, b in zip(rows[0], rows[1]))
    names = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(rows[0])] \
        if header else [f"column {i + 1}" for i in range(width)]
    if len(set(names)) != len(names):
        raise DescentValueError(f"the header names a column twice: {names}")
    body = rows[1:] if header else rows
    if not body:
        raise DescentValueError("the file has a header but no rows")
    cells = [[row[i].strip() for row in body] for i in range(width)]
    for name, column in zip(names, cells):
        if "" in column:
            raise DescentValueError(f"column {_short(name)} has an empty cell in row "
                                    f"{column.index('') + 1 + header}")
    numbers = []
    for column in cells:
        values = [_number(cell) for cell in column]
        numbers.append(None if None in values else np.array(values))
    return Table(names, cells, numbers)


def guess_columns(table):
    """The first two numeric columns as inputs and the last other column as the label."""
    numeric = table.numeric()
    if len(numeric) < 2:
        raise DescentValueError("the file needs two columns of numbers for the inputs; it "
                                f"has {len(numeric)}")
    rest = [name for name in table.names if name not in numeric[:2]]
    if not rest:
        raise DescentValueError("the file needs a third column with the labels (or "
                                "target values)")
    return {"x1": numeric[0], "x2": numeric[1], "label": rest[-1]}


@dataclass
class TableData:
    """Points from a table: inputs (standardised if asked), labels or targets, the task,
    the class names and the scaling applied (``mean``, ``scale``)."""

    X: np.ndarray
    y: np.ndarray
    problem: str
    classes: list
    mean: list
    scale: list
    names: list


def table_data(table, x1, x2, label, standardise=True):
    """The two input columns and the label column of ``table``.

    A label column of text, or of whole numbers with at most ``MAX_CLASSES`` distinct
    values, makes a classification problem (classes in sorted order); other numbers are
    regression targets.
    """
    columns = [table.column(x1, "the x1"), table.column(x2, "the x2")]
    if x1 == x2:
        raise DescentValueError("x1 and x2 must be two different columns")
    target = table.column(label, "the label")
    if target in columns:
        raise DescentValueError("the label column must not be an input column")
    for index in columns:
        if table.numbers[index] is None:
            bad = next(cell for cell in table.cells[index] if _number(cell) is None)
            raise DescentValueError(f"input column {_short(table.names[index])} must hold "
                                    f"numbers; it has {_short(bad)}")
    X = np.column_stack([table.numbers[i] for i in columns])
    mean, scale = np.zeros(2), np.ones(2)
    if standardise:
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        X = (X - mean) / scale
    values = table.numbers[target]
    whole = values is not None and np.all(np.mod(values, 1) == 0)
    distinct = sorted(set(table.cells[target]), key=lambda c: (_number(c) is None,
                                                               _number(c) or 0, c))
    if values is None or whole and len(distinct) <= MAX_CLASSES:
        if len(distinct) > MAX_CLASSES:
            raise DescentValueError(f"the label column {_short(label)} has {len(distinct)} "
                                    f"classes; the playground takes at most {MAX_CLASSES}")
        if len(distinct) < 2:
            raise DescentValueError(f"the label column {_short(label)} has one class only")
        code = {name: index for index, name in enumerate(distinct)}
        y = np.array([code[cell] for cell in table.cells[target]], dtype=np.intp)
        return TableData(X, y, "classification", distinct, mean.tolist(), scale.tolist(),
                         [x1, x2])
    return TableData(X, values.astype(np.float64), "regression", None, mean.tolist(),
                     scale.tolist(), [x1, x2])


def domain_of(X):
    """A square-ish view around uploaded points: their range and a tenth more."""
    if not len(X):
        return DOMAIN
    low, high = X.min(axis=0), X.max(axis=0)
    margin = np.maximum((high - low) * 0.1, 0.5)
    return (float(low[0] - margin[0]), float(high[0] + margin[0]),
            float(low[1] - margin[1]), float(high[1] + margin[1]))
