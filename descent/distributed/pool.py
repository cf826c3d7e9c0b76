"""The client's handle on the shards: where they live, calls to all of them answered in
shard order, and shards rebuilt when a worker is lost.

Each shard is a Dask actor (``descent.distributed.worker.Shard``) on a worker, built from
its block of partitions, which are computed on that worker so the rows start where they
are used. A call goes to every shard at once and the answers are taken in shard order,
whatever order they arrive in: that order is what makes the reduction deterministic.

A worker that dies takes its shards with it. The pool notices it on the next call,
rebuilds each lost shard on a worker that is still there — its partitions are computed
again from the collection's graph — brings it up to date (the setup calls it missed are
replayed), and repeats the call on it. Shards hold no training state, so nothing is lost.
"""

import logging
import time

from descent.distributed.worker import Shard
from descent.errors import DescentError

logger = logging.getLogger("descent.distributed")

RECOVERIES_PER_CALL = 3  # worker losses one call may survive before it gives up
WORKER_WAIT = 60.0  # seconds to wait for a worker when none is left


class WorkersLost(DescentError):
    """The cluster lost workers faster than the shards could be rebuilt, or has none."""


def worker_lost(error):
    """Whether ``error``, raised by a call to a shard, means its worker is gone (rather
    than an error of the call itself, which is raised as it is)."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    if isinstance(error, (CommClosedError, KilledWorker)):
        return True
    if type(error) is OSError:  # (not a subclass: FileNotFoundError is the data's fault)
        return True  # Dask's "Unable to contact Actor's worker"
    return isinstance(error, RuntimeError) and "Worker holding Actor was lost" in str(error)


class ShardPool:
    """Shards over ``partitions`` (a ``Partitions``), ``shards`` of them at most, on the
    workers of ``client``; ``setup`` is what every ``Shard`` gets."""

    def __init__(self, client, partitions, shards, setup):
        self.client, self.partitions, self.setup = client, partitions, setup
        self.blocks = partitions.blocks(shards)
        self.actors = [None] * len(self.blocks)
        self.futures = [None] * len(self.blocks)  # the actors live while these are held
        self.where = [None] * len(self.blocks)
        self.setup_calls = {}  # method -> per-shard arguments, replayed on a rebuilt shard

    def __len__(self):
        return len(self.blocks)

    def workers(self, excluded=()):
        """The addresses of the cluster's workers, in order, less ``excluded``; waits
        up to ``WORKER_WAIT`` seconds for one when there is none."""
        deadline = time.monotonic() + WORKER_WAIT
        while True:
            found = sorted(set(self.client.scheduler_info()["workers"]) - set(excluded))
            if found:
                return found
            if time.monotonic() > deadline:
                raise WorkersLost(f"the cluster has no workers left (waited {WORKER_WAIT:g} "
                                  "s); the last checkpoint, if any, can be resumed")
            time.sleep(0.1)

    def start(self):
        """Build every shard, shard k on the k-th worker (round robin); return their
        ``describe()`` answers in shard order."""
        workers = self.workers()
        pending = {k: self._submit(k, workers[k % len(workers)]) for k in range(len(self))}
        self._collect(pending)
        return self.call("describe")

    def _submit(self, k, worker):
        """Compute shard k's partitions on ``worker`` and submit its actor there."""
        numbers = self.blocks[k]
        xs = [self.partitions.x_pieces[p] for p in numbers]
        ys = [self.partitions.y_pieces[p] for p in numbers]
        given = [y for y in ys if y is not None]
        computed = self.client.compute(xs + given, workers=[worker],
                                       allow_other_workers=True)
        x_futures, y_futures = computed[:len(xs)], iter(computed[len(xs):])
        y_futures = [None if y is None else next(y_futures) for y in ys]
        return self.client.submit(Shard, numbers, x_futures, y_futures,
                                  self.partitions.convert, self.setup, actor=True,
                                  workers=[worker], allow_other_workers=True, pure=False)

    def _collect(self, pending):
        """Wait for the shards being built (``{k: future}``); rebuild those whose worker
        died meanwhile. An error of the shard itself (bad data) is raised, the lowest
        shard's first."""
        for attempt in range(RECOVERIES_PER_CALL + 1):
            lost = []
            for k, future in sorted(pending.items()):
                try:
                    self.actors[k] = future.result()
                except Exception as error:
                    if not worker_lost(error):
                        raise
                    lost.append(k)
                    continue
                self.futures[k] = future
                self.where[k] = next(iter(self.client.who_has(future)[future.key]), None)
            if not lost:
                return
            pending = self._resubmit(lost, attempt)
        self._give_up()

    def _resubmit(self, lost, attempt):
        if attempt == RECOVERIES_PER_CALL:
            self._give_up()
        dead = {self.where[k] for k in lost} - {None}
        workers = self.workers(excluded=dead)
        load = {w: sum(where == w for where in self.where) for w in workers}
        pending = {}
        for k in lost:
            worker = min(workers, key=lambda w: (load[w], w))
            load[worker] += 1
            logger.warning("lost shard %d (partitions %d-%d) with its worker %s; "
                           "rebuilding it on %s", k, self.blocks[k][0], self.blocks[k][-1],
                           self.where[k] or "(not yet placed)", worker)
            self.actors[k] = self.futures[k] = None
            pending[k] = self._submit(k, worker)
        return pending

    def _give_up(self):
        raise WorkersLost(f"the cluster lost workers more than {RECOVERIES_PER_CALL} times "
                          "in one step; the last checkpoint, if any, can be resumed")

    def remember(self, method, arguments):
        """Call ``method`` on every shard now (``arguments(k)`` gives shard k's), and
        again on any shard rebuilt later, before it is used."""
        self.setup_calls[method] = arguments
        return self.call(method, arguments=arguments)

    def call(self, method, *args, arguments=None):
        """``method`` on every shard at once (with ``args``, or ``arguments(k)`` for shard
        k); the answers in shard order. A shard lost with its worker is rebuilt, brought
        up to date, and asked again."""
        answers = {}
        todo = list(range(len(self)))
        for attempt in range(RECOVERIES_PER_CALL + 1):
            calls, lost = {}, []
            for k in todo:  # all sent before any answer is awaited
                calls[k] = self._send(k, method, args if arguments is None else arguments(k))
            for k in todo:
                try:
                    if isinstance(calls[k], Exception):
                        raise calls[k]
                    answers[k] = calls[k].result()
                except Exception as error:
                    if not worker_lost(error):
                        raise
                    lost.append(k)
            if not lost:
                return [answers[k] for k in range(len(self))]
            self._collect(self._resubmit(lost, attempt))
            self._replay(lost, until=method)
            todo = lost
        self._give_up()

    def _send(self, k, method, args):
        """Call ``method`` on shard k without waiting; the error instead of the call
        when the actor already knows its worker is gone."""
        try:
            return getattr(self.actors[k], method)(*args)
        except Exception as error:
            if not worker_lost(error):
                raise
            return error

    def _replay(self, shards, until):
        """Bring rebuilt ``shards`` up to date: the setup calls made before ``until``."""
        for method, arguments in self.setup_calls.items():
            if method == until:
                return
            for k in shards:
                getattr(self.actors[k], method)(*arguments(k)).result()

    def close(self):
        """Let the shards go (their actors end when no future holds them)."""
        self.actors = [None] * len(self)
        self.futures = [None] * len(self)
