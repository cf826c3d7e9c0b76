"""Checkpoints: everything needed to continue a training run exactly where it stopped.

A checkpoint holds the weights, the optimiser's state (momentum buffers, Adam's moments
and step counts, L-BFGS memory), the state of every random generator the run draws from
(shuffling, dropout, descent's global generator), the stopping criteria's counters, the
history so far and the epoch count. It is a safe archive (``descent.archive``) written
atomically, so a crash — even SIGKILL in the middle of writing — leaves the previous
checkpoint intact; resuming from it reproduces the uninterrupted run bit for bit.
"""

from pathlib import Path

import numpy as np

from descent.autograd import backend
from descent._version import __version__
from descent.files.archive import ArchiveError, ArchiveReader, pack, unpack, write_archive

FORMAT = "descent-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ArchiveError):
    """A checkpoint is missing, damaged, or does not fit this model and optimiser."""


def _generators(model, shuffle_rng):
    """Every random generator the run uses, by a stable name."""
    found = {"shuffle": shuffle_rng, "global": backend.default_rng()}
    for name, module in model.named_modules():
        rng = getattr(module, "rng", None)
        if isinstance(rng, np.random.Generator):
            found[f"module:{name}"] = rng
    return found


def save_checkpoint(path, model, optimizer, shuffle_rng, history, criteria, epoch):
    """Write the state of a training run after ``epoch`` epochs to ``path``."""
    arrays = {}
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "descent_version": __version__,
        "epoch": epoch,
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


def load_checkpoint(path, model, optimizer, shuffle_rng, history, criteria):
    """Restore a run saved by ``save_checkpoint``; return the number of epochs done.

    Everything is read and checked first; the model, optimiser, criteria, generators and
    history change only when the whole checkpoint fits this run.
    """
    with ArchiveReader(path, "descent checkpoint", CheckpointError) as reader:
        state = reader.checked_header(FORMAT, FORMAT_VERSION, "checkpoint")
        try:
            parts = _read(reader, state, model, optimizer, shuffle_rng, criteria)
        except CheckpointError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as error:
            raise reader.fail(f"it is damaged ({type(error).__name__}: {error})") from None
    values, optimizer_state, criteria_states, saved_history, generators, epoch = parts
    optimizer.load_state_dict(optimizer_state)
    for name, parameter in model.named_parameters():
        parameter.data[...] = values[name]
    for criterion, criterion_state in zip(criteria, criteria_states):
        criterion.load_state_dict(criterion_state)
    for rng, saved in generators:
        rng.bit_generator.state = saved
    history.records = list(saved_history.get("records", []))
    history.best_epoch = saved_history.get("best_epoch")
    history.stop_reason = saved_history.get("stop_reason")
    history.stopped_by = saved_history.get("stopped_by")
    return epoch


def _read(reader, state, model, optimizer, shuffle_rng, criteria):
    """Everything in the checkpoint, checked against this run; nothing is changed."""
    own = dict(model.named_parameters())
    saved = state["parameters"]
    if not isinstance(saved, dict) or set(saved) != set(own):
        raise reader.fail(f"its parameters do not match this model ({sorted(own)[:4]}...)")
    values = {}
    for name, parameter in own.items():
        description = saved[name]
        if (not isinstance(description, dict)
                or description.get("shape") != list(parameter.shape)
                or description.get("dtype") != parameter.dtype.name):
            raise reader.fail(f"parameter {name} does not fit this model "
                              f"(shape {list(parameter.shape)}, {parameter.dtype})")
        values[name] = unpack(description, reader)
    kind = state["optimizer"]["type"]
    if kind != type(optimizer).__name__:
        raise reader.fail(f"it was written by a {kind} optimiser, not a "
                          f"{type(optimizer).__name__}")
    optimizer_state = unpack(state["optimizer"]["state"], reader)
    if set(optimizer_state["hyper"]) != set(optimizer.hyper):
        raise reader.fail("its optimiser settings do not match this optimiser")
    optimizer_state["hyper"] = _restore_tuples(optimizer_state["hyper"])
    criteria_states = [unpack(c, reader) for c in state["criteria"]]
    if len(criteria_states) != len(criteria):
        raise reader.fail("it was written with different stopping criteria")
    saved_history = unpack(state["history"], reader)
    generators = _generators(model, shuffle_rng)
    saved_generators = state["generators"]
    if set(saved_generators) != set(generators):
        raise reader.fail("its random generators do not match this run")
    for name, rng in generators.items():  # a trial run: a bad state fails here
        np.random.Generator(type(rng.bit_generator)()).bit_generator.state = \
            saved_generators[name]
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise reader.fail(f"bad epoch count {epoch!r}")
    return (values, optimizer_state, criteria_states, saved_history,
            [(rng, saved_generators[name]) for name, rng in generators.items()], epoch)


def _restore_tuples(hyper):
    """JSON turns tuples such as Adam's betas into lists; turn them back."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}


class Checkpointing:
    """How ``train`` checkpoints: write to ``path`` every ``every`` epochs (and when
    training stops); with ``resume``, continue from ``path`` if it exists."""

    def __init__(self, path, every=1, resume=False):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise CheckpointError(f"checkpoint_every must be a positive integer, got {every!r}")
        self.path, self.every, self.resume = path, every, resume

    def restore(self, model, optimizer, shuffle_rng, history, criteria):
        """Load the checkpoint when resuming and one exists; return the epochs done."""
        if not (self.resume and Path(self.path).exists()):
            return 0
        return load_checkpoint(self.path, model, optimizer, shuffle_rng, history, criteria)

    def after_epoch(self, epoch, last, *run):
        """Save every ``every`` epochs, and after the last one (before any stopping
        criterion restores earlier weights, so the checkpoint is the run's true state)."""
        if last or epoch % self.every == 0:
            save_checkpoint(self.path, *run, epoch)
