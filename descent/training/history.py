"""``History``: what happened in each epoch of a training run, and why it stopped."""

import csv
import io
import json
import math
from html import escape

from descent.files.archive import json_safe
from descent.errors import DescentValueError


def _flatten(record):
    """One level of nesting becomes ``key[name]`` columns (e.g. per-layer gradient norms)."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for name, inner in value.items():
                flat[f"{key}[{name}]"] = inner
        else:
            flat[key] = value
    return flat


def _parse(text):
    if text in ("", None):
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text \
        else number


def _unflatten(row):
    """A CSV row back into a record: ``key[name]`` columns become a nested dict."""
    record = {}
    for key, text in row.items():
        value = _parse(text)
        if key.endswith("]") and "[" in key:
            outer, inner = key[:-1].split("[", 1)
            if value is not None:
                record.setdefault(outer, {})[inner] = value
        else:
            record[key] = value
    return record


def _plain_list(values):
    """Class labels as plain Python values (numpy integers stay integers in JSON)."""
    return [v.item() if hasattr(v, "item") else v for v in values]


class History:
    """Per-epoch records of a training run.

    ``history["loss"]`` is the list of training losses, one per epoch (``None`` where a
    value was not recorded); ``history.records`` holds the full dictionaries;
    ``history.stop_reason`` says which stopping criterion ended training.

    Record keys: ``epoch``, ``loss`` (mean over the epoch's batches), ``val_loss``,
    metrics (``accuracy``, ``error_rate`` or ``mse``, ``mae``, ``r2``, and ``val_``
    versions), ``lr``, ``weight_change`` (norm of the change of all weights over the
    epoch), ``grad_norm`` (per parameter, mean over the epoch's batches),
    ``dead_fraction`` (share of ReLU units inactive on 256 rows spread evenly over the
    training data) and ``time`` (seconds since training began).

    ``history.engine`` is the engine that trained (``"compiled"``: whole epochs in one
    Numba kernel, ``"graph"``: the graph engine, batch by batch) and
    ``history.engine_reason`` why it was chosen (for ``engine="auto"``, what kept the
    compiled path away).
    """

    def __init__(self):
        self.records = []
        self.stop_reason = None
        self.stopped_by = None
        self.classes = None
        self.best_epoch = None
        self.engine = None
        self.engine_reason = None

    def append(self, record):
        """Add an epoch's record (a dict with at least ``epoch``) at the end."""
        self.records.append(record)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, key):
        return [record.get(key) for record in self.records]

    def __repr__(self):
        last = self.records[-1] if self.records else {}
        return (f"History({len(self)} epochs, final loss {last.get('loss')}, "
                f"stop_reason={self.stop_reason!r}, engine={self.engine!r})")

    @property
    def last(self):
        """The last epoch's record (an empty dict before any epoch)."""
        return self.records[-1] if self.records else {}

    def to_dict(self):
        """Everything as plain Python data: columns by name, plus the stop reason and the
        engine that trained."""
        keys = list(dict.fromkeys(k for record in self.records for k in record))
        return {"stop_reason": self.stop_reason, "best_epoch": self.best_epoch,
                "classes": None if self.classes is None else _plain_list(self.classes),
                "engine": self.engine, "engine_reason": self.engine_reason,
                "columns": {key: self[key] for key in keys}}

    def to_json(self, path=None):
        """JSON text of ``to_dict()``; also written to ``path`` when given."""
        data = self.to_dict()
        data["columns"] = {k: [json_safe(v) for v in values]
                           for k, values in data["columns"].items()}
        text = json.dumps(data, indent=2, default=str)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    @classmethod
    def read(cls, path):
        """A History from a file written by ``to_json`` or ``to_csv``."""
        path = str(path)
        history = cls()
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                if path.endswith(".json"):
                    data = json.load(handle)
                    columns = data["columns"]
                    count = max((len(v) for v in columns.values()), default=0)
                    history.records = [{k: v[i] for k, v in columns.items()}
                                       for i in range(count)]
                    history.stop_reason = data.get("stop_reason")
                    history.best_epoch = data.get("best_epoch")
                    history.classes = data.get("classes")
                    history.engine = data.get("engine")
                    history.engine_reason = data.get("engine_reason")
                else:
                    history.records = [_unflatten(row) for row in csv.DictReader(handle)]
        except FileNotFoundError:
            raise DescentValueError(f"history file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError,
                AttributeError, csv.Error) as error:
            raise DescentValueError(f"{path} is not a history file written by descent "
                                    f"({type(error).__name__}: {error})") from None
        if any("epoch" not in record for record in history.records):
            raise DescentValueError(f"{path} is not a history file written by descent "
                                    "(no epoch column)")
        return history

    def to_csv(self, path=None):
        """CSV text with one row per epoch (nested values as ``key[name]`` columns)."""
        rows = [_flatten(record) for record in self.records]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(buffer.getvalue())
        return buffer.getvalue()

    def to_svg(self, path=None, width=360, height=220):
        """SVG text of the loss curves (training, and validation when recorded) by epoch,
        drawn without matplotlib; also written to ``path`` when given."""
        text = _loss_curves_svg(self, width, height)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    def _repr_html_(self):
        """Jupyter's view: the loss curves beside a table of the epochs (the first and
        last few of a long run)."""
        caption = f"{len(self)} epochs"
        if self.best_epoch is not None:
            caption += f", best epoch {self.best_epoch}"
        if self.stop_reason:
            caption += f"; {self.stop_reason}"
        if not self.records:
            return f"<p>History: {escape(caption)}</p>"
        return (f'<div style="display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start">'
                f"{self.to_svg()}{_epoch_table(self, caption)}</div>")


# ---------------------------------------------------------------- rich display in Jupyter
TABLE_HEAD, TABLE_TAIL = 5, 5   # a longer history shows its first and last epochs only
SERIES = (("loss", "#1f77b4"), ("val_loss", "#ff7f0e"))
MAX_POINTS = 500   # a longer run is drawn at this many evenly spaced epochs (~360 px wide)


def _number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _epoch_table(history, caption):
    """An HTML table of the epochs, one column per recorded value (nested values such
    as the per-parameter gradient norms are left to ``to_csv``, empty columns out)."""
    columns = [key for key in dict.fromkeys(k for r in history.records for k in r)
               if not any(isinstance(r.get(key), dict) for r in history.records)
               and any(r.get(key) is not None for r in history.records)]
    records = history.records
    skipped = len(records) - TABLE_HEAD - TABLE_TAIL
    shown = records if skipped <= 1 else records[:TABLE_HEAD] + [None] + records[-TABLE_TAIL:]
    rows = []
    for record in shown:
        if record is None:
            rows.append(f'<tr><td colspan="{len(columns)}" style="text-align:center">'
                        f"⋮ {skipped} more epochs</td></tr>")
        else:
            rows.append("<tr>" + "".join(f"<td>{_cell(record.get(key))}</td>"
                                         for key in columns) + "</tr>")
    header = "".join(f"<th>{escape(key)}</th>" for key in columns)
    return (f"<table><caption>{escape(caption)}</caption><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _ticks(low, high, count=4, integer=False):
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) in [low, high]."""
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, round(step))
    first = math.ceil(low / step - 1e-9)
    return [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]


def _loss_curves_svg(history, width, height):
    """One polyline per loss series, a point per epoch with a finite value (at most
    ``MAX_POINTS``), on axes with round tick labels, and a legend."""
    left, right, top, bottom = 48, 12, 24, 32   # the legend sits above the plot
    series = []
    for key, colour in SERIES:
        points = [(record.get("epoch", index + 1), record[key])
                  for index, record in enumerate(history.records) if _number(record.get(key))]
        if len(points) > MAX_POINTS:
            points = [points[round(i * (len(points) - 1) / (MAX_POINTS - 1))]
                      for i in range(MAX_POINTS)]
        if points:
            series.append((key, colour, points))
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">'),
             "<title>loss by epoch</title>"]
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">'
                     "no loss recorded</text></svg>")
        return "".join(parts)
    epochs = [e for _, _, points in series for e, _ in points]
    values = [v for _, _, points in series for _, v in points]
    x_low, x_high = min(epochs), max(epochs)
    if x_low == x_high:
        x_low, x_high = x_low - 1, x_high + 1
    y_low, y_high = min(values), max(values)
    pad = (y_high - y_low) * 0.05 or abs(y_high) * 0.1 or 1.0
    y_low, y_high = y_low - pad, y_high + pad

    def x_at(epoch):
        return left + (epoch - x_low) / (x_high - x_low) * (width - left - right)

    def y_at(value):
        return height - bottom - (value - y_low) / (y_high - y_low) * (height - top - bottom)

    base, edge = height - bottom, width - right
    parts.append(f'<g stroke="#444"><line x1="{left}" y1="{top}" x2="{left}" y2="{base}"/>'
                 f'<line x1="{left}" y1="{base}" x2="{edge}" y2="{base}"/></g>')
    for tick in _ticks(x_low, x_high, integer=True):
        x = x_at(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" '
                     f'stroke="#444"/><text class="x-tick" x="{x:.1f}" y="{base + 14}" '
                     f'text-anchor="middle">{tick:g}</text>')
    for tick in _ticks(y_low, y_high):
        y = y_at(tick)
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" '
                     f'stroke="#444"/><text class="y-tick" x="{left - 6}" y="{y + 3:.1f}" '
                     f'text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{(left + edge) / 2}" y="{height - 4}" text-anchor="middle">'
                 "epoch</text>")
    for row, (key, colour, points) in enumerate(series):
        drawn = " ".join(f"{x_at(e):.1f},{y_at(v):.1f}" for e, v in points)
        parts.append(f'<polyline class="{key}" points="{drawn}" fill="none" '
                     f'stroke="{colour}" stroke-width="1.5"/>')
        if len(points) == 1:
            parts.append(f'<circle cx="{x_at(points[0][0]):.1f}" cy="{y_at(points[0][1]):.1f}" '
                         f'r="2.5" fill="{colour}"/>')
        x = left + 80 * row
        parts.append(f'<line x1="{x}" y1="10" x2="{x + 14}" y2="10" stroke="{colour}" '
                     f'stroke-width="1.5"/><text x="{x + 18}" y="13">{key}</text>')
    parts.append("</svg>")
    return "".join(parts)
