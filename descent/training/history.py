"""``History``: what happened in each epoch of a training run, and why it stopped."""

import csv
import io
import json

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
    epoch), ``grad_norm`` (per parameter, after the epoch's last batch),
    ``dead_fraction`` (share of ReLU units inactive on 256 rows spread evenly over the
    training data) and ``time`` (seconds since training began).
    """

    def __init__(self):
        self.records = []
        self.stop_reason = None
        self.stopped_by = None
        self.classes = None
        self.best_epoch = None

    def append(self, record):
        self.records.append(record)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, key):
        return [record.get(key) for record in self.records]

    def __repr__(self):
        last = self.records[-1] if self.records else {}
        return (f"History({len(self)} epochs, final loss {last.get('loss')}, "
                f"stop_reason={self.stop_reason!r})")

    @property
    def last(self):
        """The last epoch's record (an empty dict before any epoch)."""
        return self.records[-1] if self.records else {}

    def to_dict(self):
        """Everything as plain Python data: columns by name, plus the stop reason."""
        keys = list(dict.fromkeys(k for record in self.records for k in record))
        return {"stop_reason": self.stop_reason, "best_epoch": self.best_epoch,
                "classes": None if self.classes is None else _plain_list(self.classes),
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
