"""Checkpoints: everything needed to continue a training run exactly where it stopped.

A checkpoint holds the weights, the optimiser's state (momentum buffers, Adam's moments
and step counts, L-BFGS memory), the state of every random generator the run draws from
(shuffling, dropout, descent's global generator), the stopping criteria's counters, the
history so far and the epoch count. It is a safe archive (``descent.archive``) written
atomically, so a crash — even SIGKILL in the middle of writing — leaves the previous
checkpoint intact; resuming from it reproduces the uninterrupted run bit for bit.

It also describes the run that wrote it (``describe_run``): the data by content (shape
and SHA-256) and every setting that shapes the run. Resuming compares that description
with the new run's and refuses, naming each difference, to continue another run.

Reading one is as strict as reading a model file: every field is checked for type and
range before anything changes, the arrays it declares may not add up to more than this
model and optimiser can need, and any problem is a ``CheckpointError`` naming the field.
"""

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from descent.autograd import backend
from descent._version import __version__
from descent.errors import DescentValueError
from descent.files.archive import ArchiveError, ArchiveReader, pack, unpack, write_archive

FORMAT = "descent-checkpoint"
FORMAT_VERSION = 2  # 2: the run's description, strict checks on reading
# The most bytes of arrays any checkpoint may declare: four float64 copies of the
# largest model a model file may hold (2**28 numbers).
_MAX_ARRAY_BYTES = 4 * 8 * (1 << 28)
_SHOWN_CHARACTERS = 80  # of a value quoted in a message
_MISSING = "(none)"


class CheckpointError(ArchiveError):
    """A checkpoint is missing, damaged, or does not fit this model and optimiser."""


# ------------------------------------------------------------------ the run's description
def describe_seed(seed):
    """The ``seed`` of ``train`` as a checkpoint records it, before the run draws from it.

    An int stays as it is; a ``numpy.random.Generator`` is recorded by its state (a
    SHA-256 prefix); None — descent's global generator — stays None: its state is not
    compared, because a new process seeds it afresh (the checkpoint restores it).
    """
    rng = backend.as_rng(seed)  # checks the seed
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        state = json.dumps(rng.bit_generator.state, sort_keys=True,
                           default=lambda array: array.tolist())  # (MT19937 has one)
        return f"a Generator in state {hashlib.sha256(state.encode()).hexdigest()[:12]}"
    return int(seed)


def describe_run(model, optimizer, criteria, data, settings):
    """What makes a training run this run, as plain JSON data: a checkpoint records it,
    and resuming refuses a checkpoint whose run differs.

    Parameters
    ----------
    model : Module
        Described by its type, each layer (type and settings, e.g. ``ReLU()``,
        ``Dropout(p=0.1)``) and each parameter (dtype, shape, frozen or not).
    optimizer : Optimizer
        Its type and hyper-parameters, as the run starts.
    criteria : sequence of Criterion
        Their kinds and what they monitor; not their limits (epochs, patience, ...),
        which a resumed run may change.
    data : dict
        Arrays (or None) by the name messages use (``"X"``, ``"validation y"``), each
        described by its shape and the SHA-256 of its contents.
    settings : dict
        Every other setting that shapes the run, by name (JSON values).

    Returns
    -------
    dict
        ``{"data": {...}, "settings": {...}}``, as it reads back from a file.
    """
    described = {
        "data": {name: None if array is None else {"shape": list(array.shape),
                                                   "sha256": _digest(array)}
                 for name, array in data.items()},
        "settings": {**settings,
                     "optimizer": {"type": type(optimizer).__name__, **optimizer.hyper},
                     "model": _describe_model(model),
                     "stopping criteria": [_describe_criterion(c) for c in criteria]},
    }
    return json.loads(json.dumps(described))  # tuples become lists, as in the file


def _digest(array):
    """SHA-256 of an array's dtype, shape and contents (object arrays as text)."""
    array = np.ascontiguousarray(array)
    if array.dtype == object:
        array = array.astype(str)
    digest = hashlib.sha256(f"{array.dtype.str} {array.shape}".encode())
    digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def _describe_model(model):
    described = {"type": type(model).__name__}
    for name, module in model.named_modules():
        if name:
            described[f"layer {name}"] = f"{type(module).__name__}({module.extra_repr()})"
    for name, parameter in model.named_parameters():
        described[f"parameter {name}"] = (f"{parameter.dtype} {tuple(parameter.shape)}"
                                          + ("" if parameter.requires_grad else ", frozen"))
    return described


def _describe_criterion(criterion):
    watched = (f"{key}={getattr(criterion, key)!r}" for key in ("monitor", "mode")
               if hasattr(criterion, key))
    return f"{type(criterion).__name__}({', '.join(watched)})"


def _check_same_run(reader, saved, run):
    """Refuse to resume a different run, naming every difference."""
    if not _has_the_form_of(saved, run):
        raise reader.fail("it does not say which data and settings it was written with "
                          "(it is damaged, or was saved without a run description)")
    differences = _differences(saved, run)
    if differences:
        raise reader.fail(
            f"cannot resume from it: {'; '.join(differences)}. Resume with the data and "
            "settings of the run that wrote it, or start a new run (another checkpoint "
            "path, or resume=False; on the command line, without --resume)")


def _has_the_form_of(saved, run):
    """Whether ``saved`` (read from a file) is a run description like ``run``: the same
    data names, each None or a shape and a digest, and the same settings."""
    if not isinstance(saved, dict) or saved.keys() != run.keys():
        return False
    data, settings = saved["data"], saved["settings"]
    if not (isinstance(data, dict) and data.keys() == run["data"].keys()
            and isinstance(settings, dict) and settings.keys() == run["settings"].keys()):
        return False
    for entry in data.values():
        if entry is not None and not (
                isinstance(entry, dict) and entry.keys() == {"shape", "sha256"}
                and isinstance(entry["shape"], list) and isinstance(entry["sha256"], str)):
            return False
    return all(isinstance(settings[key], dict) for key, value in run["settings"].items()
               if isinstance(value, dict))


def _differences(saved, run):
    """Sentences naming each way ``run`` differs from the ``saved`` run."""
    found = []
    for name, now in run["data"].items():
        then = saved["data"][name]
        if then == now:
            continue
        if then is None or now is None:
            found.append(f"the checkpoint was written {'without' if then is None else 'with'}"
                         f" {name}, this run has {'none' if now is None else 'some'}")
        elif then["shape"] != now["shape"]:
            found.append(f"the checkpoint was written for {name} of shape "
                         f"{_shown(tuple(then['shape']))}, this run's has shape "
                         f"{tuple(now['shape'])}")
        else:
            found.append(f"{name} holds other values than when the checkpoint was written")
    for key, now in run["settings"].items():
        then = saved["settings"][key]
        if not isinstance(now, dict):
            if then != now:
                found.append(_changed(key, then, now))
        elif then.get("type") != now["type"]:  # another optimiser or model altogether
            found.append(_changed(key, then.get("type", _MISSING), now["type"]))
        else:
            found.extend(_changed(inner, then.get(inner, _MISSING), now.get(inner, _MISSING))
                         for inner in {**now, **then}
                         if then.get(inner, _MISSING) != now.get(inner, _MISSING))
    return found


def _changed(name, then, now):
    return (f"the checkpoint was written with {name} {_shown(then, quoted=False)}, this run "
            f"asks for {_shown(now, quoted=False)}")


def _shown(value, quoted=True):
    """``repr(value)`` (a string as it is, unless ``quoted``), cut short: values in
    messages may come from a damaged file."""
    text = value if isinstance(value, str) and not quoted else repr(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "…"


# ------------------------------------------------------------------ saving
def _generators(model, shuffle_rng):
    """Every random generator the run uses, by a stable name."""
    found = {"shuffle": shuffle_rng, "global": backend.default_rng()}
    for name, module in model.named_modules():
        rng = getattr(module, "rng", None)
        if isinstance(rng, np.random.Generator):
            found[f"module:{name}"] = rng
    return found


def save_checkpoint(path, model, optimizer, shuffle_rng, history, criteria, epoch, run=None):
    """Write the state of a training run after ``epoch`` epochs to ``path``.

    ``criteria`` are the stopping criteria (their ``state_dict()`` is saved); ``run`` is
    the run's description (``describe_run``).
    """
    arrays = {}
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "descent_version": __version__,
        "epoch": epoch,
        "run": run,
        "parameters": pack({name: p.data for name, p in model.named_parameters()}, arrays),
        "optimizer": {"type": type(optimizer).__name__,
                      "state": pack(optimizer.state_dict(), arrays)},
        "generators": {name: rng.bit_generator.state
                       for name, rng in _generators(model, shuffle_rng).items()},
        "criteria": [pack(criterion.state_dict(), arrays) for criterion in criteria],
        "history": pack({"records": history.records, "best_epoch": history.best_epoch,
                         "stop_reason": history.stop_reason,
                         "stopped_by": getattr(history, "stopped_by", None)}, arrays),
    }
    write_archive(path, state, arrays)


# ------------------------------------------------------------------ loading
def load_checkpoint(path, model, optimizer, shuffle_rng, history, criteria, run=None):
    """Restore a run saved by ``save_checkpoint``; return the number of epochs done.

    Everything is read and checked first; the model, optimiser, criteria, generators and
    history change only when the whole checkpoint fits this run. With ``run`` (this
    run's ``describe_run``), a checkpoint written by a different run is refused.

    Raises
    ------
    CheckpointError
        Naming what is wrong: the field that is damaged or does not fit, or each
        difference between the run that wrote it and ``run``.
    """
    with ArchiveReader(path, "descent checkpoint", CheckpointError) as reader:
        try:
            state = reader.checked_header(FORMAT, FORMAT_VERSION, "checkpoint")
            parts = _read(reader, state, model, optimizer, shuffle_rng, criteria, run)
        except CheckpointError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError, IndexError,
                RecursionError) as error:  # what the checks below did not foresee
            raise reader.fail(f"it is damaged ({type(error).__name__}: {error})") from None
    values, optimizer_state, criteria_states, saved_history, generators, epoch = parts
    optimizer.load_state_dict(optimizer_state)
    for name, parameter in model.named_parameters():
        parameter.data[...] = values[name]
    for criterion, criterion_state in zip(criteria, criteria_states):
        criterion.load_state_dict(criterion_state)
    for rng, saved in generators:
        rng.bit_generator.state = saved
    history.records = saved_history["records"]
    history.best_epoch = saved_history["best_epoch"]
    history.stop_reason = saved_history["stop_reason"]
    history.stopped_by = saved_history["stopped_by"]
    return epoch


def _read(reader, state, model, optimizer, shuffle_rng, criteria, run):
    """Everything in the checkpoint, checked against this run; nothing is changed."""
    epoch = state.get("epoch")
    if type(epoch) is not int or epoch < 0:  # JSON true and 3.0 are not epoch counts
        raise reader.fail(f"its epoch count {_shown(epoch)} is not an integer >= 0")
    if run is not None:
        _check_same_run(reader, state.get("run"), run)
    declared = _declared_bytes([state.get(key) for key in
                                ("parameters", "optimizer", "criteria", "history")], reader)
    limit = _array_byte_limit(model, optimizer, criteria)
    if declared > limit:
        raise reader.fail(f"its arrays declare {declared:,} bytes, more than the {limit:,} "
                          "that this model, optimiser and stopping criteria can need")
    values = unpack(state.get("parameters"), reader)
    problem = _weights_problem(values, model)
    if problem:
        raise reader.fail(f"its parameters do not fit: {problem}")
    optimizer_state = _read_optimizer(reader, state.get("optimizer"), optimizer)
    saved_criteria = state.get("criteria")
    if not isinstance(saved_criteria, list) or len(saved_criteria) != len(criteria):
        raise reader.fail("it was written with different stopping criteria")
    criteria_states = [_checked_counters(reader, unpack(saved, reader), criterion, model,
                                         epoch)
                       for saved, criterion in zip(saved_criteria, criteria)]
    saved_history = _checked_history(reader, unpack(state.get("history"), reader), epoch,
                                     criteria)
    generators = _read_generators(reader, state.get("generators"), model, shuffle_rng)
    return values, optimizer_state, criteria_states, saved_history, generators, epoch


def _declared_bytes(data, reader):
    """The bytes that the array descriptions in ``data`` (dicts with a ``shape`` and a
    ``dtype``, as ``pack`` writes them) declare, each time one is named: what unpacking
    ``data`` could allocate. A description without a list of integers >= 0 for a shape
    (JSON true is not one) or without a dtype's name is refused."""
    if isinstance(data, list):
        return sum(_declared_bytes(item, reader) for item in data)
    if not isinstance(data, dict):
        return 0
    if "shape" not in data or "dtype" not in data:
        return sum(_declared_bytes(value, reader) for value in data.values())
    shape, dtype = data["shape"], data["dtype"]
    try:
        itemsize = np.dtype(dtype).itemsize if isinstance(dtype, str) else None
    except TypeError:  # not a dtype's name
        itemsize = None
    if itemsize is None or not (isinstance(shape, list)
                                and all(type(n) is int and n >= 0 for n in shape)):
        raise reader.fail(f"it holds a bad array description {_shown(data)}")
    return math.prod(shape) * itemsize


def _array_byte_limit(model, optimizer, criteria):
    """The most bytes of arrays a checkpoint of this run can hold: the weights, a copy
    for each criterion (EarlyStopping keeps the best weights) and the optimiser's
    state; never more than ``_MAX_ARRAY_BYTES``."""
    weights = sum(p.data.nbytes for p in model.parameters())
    return min(weights * (1 + len(criteria)) + optimizer.max_state_bytes(),
               _MAX_ARRAY_BYTES)


def _weights_problem(values, model):
    """What keeps ``values`` from being this model's weights (by name), or None."""
    own = dict(model.named_parameters())
    if not isinstance(values, dict) or set(values) != set(own):
        return f"they do not match this model's ({', '.join(sorted(own)[:4])}, ...)"
    for name, parameter in own.items():
        value = values[name]
        if not (isinstance(value, np.ndarray) and value.shape == parameter.shape
                and value.dtype == parameter.dtype):
            return (f"parameter {name} does not fit this model (shape "
                    f"{list(parameter.shape)}, {parameter.dtype})")
        if not np.all(np.isfinite(value)):
            return f"parameter {name} has NaN or infinite values"
    return None


def _read_optimizer(reader, saved, optimizer):
    kind = saved.get("type") if isinstance(saved, dict) else None
    if kind != type(optimizer).__name__:
        raise reader.fail(f"it was written by a {_shown(kind)} optimiser, not a "
                          f"{type(optimizer).__name__}")
    optimizer_state = unpack(saved.get("state"), reader)
    try:
        return optimizer.checked_state(optimizer_state)
    except DescentValueError as error:
        raise reader.fail(f"its optimiser state does not fit: {error}") from None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Why a value is not of a kind of ``Criterion.state_kinds``, or None.
_KIND_PROBLEMS = {
    "count": lambda value, model, epoch: None if type(value) is int and value >= 0
    else "not an integer >= 0",
    "number": lambda value, model, epoch: None if _is_number(value) and value == value
    else "not a number",
    "epoch": lambda value, model, epoch: None if type(value) is int and 1 <= value <= epoch
    else f"not an epoch in 1..{epoch}",
    "weights": lambda value, model, epoch: _weights_problem(value, model),
}


def _checked_counters(reader, state, criterion, model, epoch):
    """A criterion's saved counters, checked against its ``state_kinds``."""
    name = type(criterion).__name__
    expected = criterion.state_kinds.keys() or criterion.state_dict().keys()
    if not isinstance(state, dict) or state.keys() != expected:
        found = sorted(state) if isinstance(state, dict) else _shown(state)
        raise reader.fail(f"the state of {name} holds {found}, not {sorted(expected)}")
    for key, value in state.items():
        kind = criterion.state_kinds.get(key)
        if kind is None:  # not declared: a plain value, passed on as it is
            problem = None if value is None or isinstance(value, (bool, int, float, str)) \
                else "not a plain value"
        elif value is None and kind.endswith(" or None"):
            problem = None
        else:
            problem = _KIND_PROBLEMS[kind.removesuffix(" or None")](value, model, epoch)
        if problem:
            raise reader.fail(f"{name}'s {key} is {_shown(value)}: {problem}")
    return state


def _checked_history(reader, saved, epoch, criteria):
    """The saved history: a record per epoch done, of numbers; the best epoch one of
    them; a stop reason only with the name of one of this run's criteria."""
    keys = {"records", "best_epoch", "stop_reason", "stopped_by"}
    if not isinstance(saved, dict) or saved.keys() != keys:
        raise reader.fail(f"its history must hold {sorted(keys)}")
    records = saved["records"]
    if not isinstance(records, list) or len(records) != epoch:
        found = len(records) if isinstance(records, list) else "no"
        raise reader.fail(f"its history holds {found} epochs, but it counts {epoch}")
    for number, record in enumerate(records, 1):
        problem = _record_problem(record, number)
        if problem:
            raise reader.fail(f"history record {number}: {problem}")
    best = saved["best_epoch"]
    if best is not None and (type(best) is not int or not 1 <= best <= epoch):
        raise reader.fail(f"its best epoch {_shown(best)} is not an epoch in 1..{epoch}")
    reason, stopped_by = saved["stop_reason"], saved["stopped_by"]
    names = {type(criterion).__name__ for criterion in criteria}
    if not (reason is stopped_by is None
            or (isinstance(reason, str) and isinstance(stopped_by, str) and stopped_by in names)):
        raise reader.fail(f"its stop reason {_shown(reason)} (from {_shown(stopped_by)}) "
                          "does not come from one of this run's stopping criteria")
    return saved


def _record_problem(record, number):
    """What is wrong with the history record of epoch ``number``, or None."""
    if not isinstance(record, dict) or type(record.get("epoch")) is not int \
            or record["epoch"] != number:
        return f"it is not the record of epoch {number}"
    loss = record.get("loss")
    if not (_is_number(loss) and math.isfinite(loss)):
        return f"its loss {_shown(loss)} is not a finite number"
    seconds = record.get("time", 0.0)
    if not (_is_number(seconds) and 0 <= seconds < math.inf):
        return f"its time {_shown(seconds)} is not a number of seconds"
    for key, value in record.items():
        values = value.values() if isinstance(value, dict) else [value]
        if not all(v is None or _is_number(v) for v in values):
            return f"its {key!r} is {_shown(value)}, not a number"
    return None


def _read_generators(reader, saved, model, shuffle_rng):
    """(generator, saved state) for every generator of this run, each state well-formed."""
    generators = _generators(model, shuffle_rng)
    if not isinstance(saved, dict) or saved.keys() != generators.keys():
        raise reader.fail("its random generators do not match this run")
    for name, rng in generators.items():
        fits = _has_the_form_of_state(saved[name], rng.bit_generator.state)
        if fits:
            try:  # a trial run of numpy's own checks, on a generator nobody uses
                np.random.Generator(type(rng.bit_generator)()).bit_generator.state = \
                    saved[name]
            except (TypeError, ValueError, KeyError, OverflowError):
                fits = False
        if not fits:
            raise reader.fail(f"the state of random generator {name!r} is damaged")
    return [(rng, saved[name]) for name, rng in generators.items()]


def _has_the_form_of_state(saved, live):
    """Whether ``saved`` has the form of the generator state ``live``: the same keys, the
    same names, and integers >= 0 of at most 128 bits where it has integers."""
    if isinstance(live, dict):
        return isinstance(saved, dict) and saved.keys() == live.keys() and all(
            _has_the_form_of_state(saved[key], live[key]) for key in live)
    if isinstance(live, str):
        return saved == live
    return type(saved) is int and type(live) is int and 0 <= saved < 1 << 128


class Checkpointing:
    """How ``train`` checkpoints: write to ``path`` every ``every`` epochs (and when
    training stops); with ``resume``, continue from ``path`` if it exists and was
    written by the run that ``run`` (``describe_run``) describes."""

    def __init__(self, path, every=1, resume=False, run=None):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise CheckpointError(f"checkpoint_every must be a positive integer, got {every!r}")
        self.path, self.every, self.resume, self.run = path, every, resume, run

    def restore(self, model, optimizer, shuffle_rng, history, criteria):
        """Load the checkpoint when resuming and one exists; return the epochs done."""
        if not (self.resume and Path(self.path).exists()):
            return 0
        return load_checkpoint(self.path, model, optimizer, shuffle_rng, history, criteria,
                               run=self.run)

    def after_epoch(self, epoch, last, *state):
        """Save every ``every`` epochs, and after the last one (before any stopping
        criterion restores earlier weights, so the checkpoint is the run's true state)."""
        if last or epoch % self.every == 0:
            save_checkpoint(self.path, *state, epoch, run=self.run)
