"""Reaching a cluster: a scheduler's address, or a local cluster started for a run."""

import contextlib

from descent.distributed.imports import require
from descent.errors import DescentError, DescentValueError

# A scheduler serves a few HTTP routes (health, metrics) even without its dashboard, on
# port 8787 of every interface unless told otherwise (and warns when 8787 is taken): a
# local cluster keeps them on a free port of 127.0.0.1.
LOCAL_ONLY = {"scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}


@contextlib.contextmanager
def local_client(workers=2, *, scratch=None):
    """A ``distributed.Client`` of a new LocalCluster — ``workers`` processes of one
    thread each, on 127.0.0.1 only, no dashboard, scratch files in ``scratch`` (default:
    Dask's temporary directory) — closed with the cluster on leaving.

    Examples
    --------
    (needs a data file or a cluster, so shown rather than run)::

        with local_client(2) as client:
            descent.distributed.train(model, X, y, client=client)
    """
    distributed = require("distributed")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DescentValueError(f"workers must be a positive integer, got {workers!r}")
    with distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, local_directory=None if scratch is None else str(scratch),
            **LOCAL_ONLY) as cluster, distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def connect(address):
    """A ``distributed.Client`` of the scheduler at ``address``, closed on leaving; a
    scheduler that cannot be reached is a ``DescentError`` naming it."""
    distributed = require("distributed")
    try:
        client = distributed.Client(address, timeout=10)
    except (OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DescentError(f"cannot reach the Dask scheduler at {address}: {reason}") \
            from None
    with client:
        yield client
